//! The browser bundle's first-load budget, per page. Each page's HTML names everything a first
//! visit downloads before the page is interactive: the main JS and wasm (`HydrationScripts`)
//! and the lazily loaded chunks of that page (`<link rel="preload">` from the split manifest).
//! This test loads every page as the person who uses it, adds up those files' sizes as built
//! (raw, and the gzip and brotli files `.ci/build` made), prints the table, and fails when a
//! page's first load or the whole bundle grows more than 5 % past its ceiling. On the way it
//! checks that no page loads and sends its data twice (`pages::repeated_resources`).
//! `bash .ci/bundle-report` builds the bundle and runs this test with its table shown.

mod support;

use std::{collections::BTreeSet, path::Path};
use support::{
    PASSWORD, TestApp,
    pages::{PAGES, Who},
};

/// The goal (issue 16): brotli bytes a first visit to any page downloads (wasm + JS), and the
/// whole app. Printed beside what each page weighs; not yet met (see the README).
const FIRST_LOAD_GOAL: u64 = 200 * 1024;
const TOTAL_GOAL: u64 = 600 * 1024;
/// What each area's pages weigh today (brotli KB, rounded up; set again on 2026-12-06), by
/// path prefix: a ratchet,
/// so the test fails when a page grows more than `TOLERANCE_PERCENT` past it. Lower a
/// number when a page gets lighter.
const CEILINGS_KB: &[(&str, u64)] = &[
    // Raised on 2026-12-07 from 641 (the pages had grown to 663 within the tolerance): the
    // payouts' two-person rule (each waiting payout with approve, reject and cancel, the
    // decided ones, the row's waiting mark) brought them to 684, in a staff-only area.
    ("/finance", 684),
    ("/moderation", 481),
    // Raised on 2026-12-07 from 579: the password step of a role grant added 19 KB (its view,
    // two effects and the grant's own action), a price taken for closing a privilege hole in
    // a staff-only area; lightening it is left to do. Raised again the same day from 619:
    // the Topics page and the platform currency (PRODUCT's admin list) added 32 KB, to a
    // staff-only area that no advertiser downloads.
    ("/admin", 652),
    ("/reports", 463),
    ("/shared", 463),
    ("/campaigns", 785),
    ("/targeting", 785),
    ("/channels", 785),
    ("/account", 598),
    ("/notifications", 598),
    ("/balance", 598),
    ("/billing", 598),
    ("/security", 598),
];
/// The dashboard (in the account area).
const DASHBOARD_CEILING_KB: u64 = 598;
/// The public pages (sign-in, sign-up, invitations, documents).
const PUBLIC_CEILING_KB: u64 = 436;
/// Raised on 2026-12-07 from 1,796 (the app had grown to 1,869 within the tolerance): the
/// Topics page and the platform currency brought it to 1,902; that evening the payouts'
/// two-person rule and a delivery key's password to 1,923.
const TOTAL_CEILING_KB: u64 = 1923;

fn ceiling(path: &str) -> u64 {
    let kb = if path == "/" {
        DASHBOARD_CEILING_KB
    } else {
        CEILINGS_KB
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix))
            .map_or(PUBLIC_CEILING_KB, |(_, kb)| *kb)
    };
    kb * 1024
}
/// How far over a budget a build may go before this fails.
const TOLERANCE_PERCENT: u64 = 5;

#[derive(Clone, Copy, Default)]
struct Size {
    raw: u64,
    gzip: u64,
    brotli: u64,
}

impl std::ops::AddAssign for Size {
    fn add_assign(&mut self, other: Self) {
        self.raw += other.raw;
        self.gzip += other.gzip;
        self.brotli += other.brotli;
    }
}

/// A built file's size as stored and as its build-time `.gz`/`.br` siblings.
fn size_of(pkg: &Path, name: &str) -> Size {
    let len = |path: &Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e} (built by .ci/build)", path.display()))
            .len()
    };
    Size {
        raw: len(&pkg.join(name)),
        gzip: len(&pkg.join(format!("{name}.gz"))),
        brotli: len(&pkg.join(format!("{name}.br"))),
    }
}

/// The `/pkg/…` scripts and wasm files a page's HTML makes the browser fetch (the stylesheet
/// is counted apart).
fn fetched_by(html: &str) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    for (at, _) in html.match_indices("/pkg/") {
        let name: String = html[at + 5..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .collect();
        if name.ends_with(".wasm") || name.ends_with(".js") {
            files.insert(name);
        }
    }
    files
}

/// One line of the printed table.
fn row(label: &str, files: usize, size: Size) {
    println!(
        "{label:<34} {files:>6} {:>10} {:>10} {:>10}",
        kb(size.raw),
        kb(size.gzip),
        kb(size.brotli)
    );
}

fn kb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1024.0)
}

#[tokio::test]
async fn every_page_first_load_and_the_whole_bundle_stay_within_budget() {
    the_page_list_covers_every_route();
    let site = support::site_root();
    let files = app::bundle::BundleFiles::find(&site)
        .unwrap_or_else(|e| panic!("{e} (bash .ci/bundle-report builds it)"));
    let pkg = site.join("pkg");
    let db = migrations::db::fresh_sqlite().await.expect("database");
    let app = support::spawn_on("sqlite", db, false).await;
    let visitor = app.client();
    let advertiser = app.client();
    assert!(
        advertiser
            .sign_up("owner@bundle.test", PASSWORD)
            .await
            .status
            .is_success()
    );
    let staff = signed_in_staff(&app).await;

    let staff_only = staff_only_chunks(&site);
    assert!(
        !staff_only.is_empty(),
        "the split manifest names no staff-only chunk: the check below could not fail"
    );
    let mut over = Vec::new();
    let mut seen = BTreeSet::new();
    println!(
        "\n{:<34} {:>6} {:>10} {:>10} {:>10}",
        "page (first visit)", "files", "raw KB", "gzip KB", "brotli KB"
    );
    for (path, who) in PAGES {
        let client = match who {
            Who::Visitor => &visitor,
            Who::Advertiser => &advertiser,
            Who::Moderator | Who::Finance | Who::Admin => &staff,
        };
        let response = client.get(path).await;
        assert!(
            !response.status().is_redirection(),
            "{path} as {who:?}: redirected to {:?}",
            response.headers().get("location")
        );
        let html = response.text().await.expect("page");
        let repeated = support::pages::repeated_resources(&html);
        assert!(
            repeated.is_empty(),
            "{path} ({who:?}) loaded and sent the same data more than once: {repeated:?}"
        );
        let fetched = fetched_by(&html);
        assert!(
            fetched.contains(&files.wasm) && fetched.contains(&files.js),
            "{path}: the page does not load the main bundle ({fetched:?})"
        );
        if matches!(who, Who::Visitor | Who::Advertiser) {
            let leaked: Vec<&String> = fetched.intersection(&staff_only).collect();
            assert!(
                leaked.is_empty(),
                "{path} ({who:?}) downloads staff-only code: {leaked:?}"
            );
        }
        let mut total = Size::default();
        for name in &fetched {
            total += size_of(&pkg, name);
        }
        seen.extend(fetched.iter().cloned());
        row(path, fetched.len(), total);
        if total.brotli * 100 > ceiling(path) * (100 + TOLERANCE_PERCENT) {
            over.push(format!(
                "{path}: first load {} KB brotli, ceiling {} KB",
                kb(total.brotli),
                kb(ceiling(path))
            ));
        }
    }

    // The whole app: every script and wasm file the build made, whether a page named it or not.
    let mut whole = Size::default();
    let mut chunks = 0;
    for entry in std::fs::read_dir(&pkg).expect("pkg") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".wasm") || name.ends_with(".js") {
            whole += size_of(&pkg, &name);
            chunks += 1;
        }
    }
    let css = size_of(&pkg, &files.css);
    let main = size_of(&pkg, &files.wasm);
    row("main wasm alone", 1, main);
    row("whole app (every chunk)", chunks, whole);
    row("stylesheet (every page)", 1, css);
    println!(
        "bundle first_load_goal_kb={} total_goal_kb={} tolerance={}% pages={} chunks_named={}",
        kb(FIRST_LOAD_GOAL),
        kb(TOTAL_GOAL),
        TOLERANCE_PERCENT,
        PAGES.len(),
        seen.len()
    );
    if whole.brotli * 100 > TOTAL_CEILING_KB * 1024 * (100 + TOLERANCE_PERCENT) {
        over.push(format!(
            "whole app: {} KB brotli, ceiling {} KB",
            kb(whole.brotli),
            TOTAL_CEILING_KB
        ));
    }
    assert!(over.is_empty(), "over budget:\n{}", over.join("\n"));
}

/// The chunks only staff pages (moderation, finance, administration) load: the split
/// manifest (named in the site's hash file) lists each lazily loaded area's chunks.
fn staff_only_chunks(site: &Path) -> BTreeSet<String> {
    let hashes = std::fs::read_to_string(site.join(app::bundle::HASH_FILE)).expect("hash file");
    let manifest = hashes
        .lines()
        .find_map(|l| l.strip_prefix("manifest:"))
        .map(|h| format!("__wasm_split_manifest.{}.json", h.trim()))
        .expect("a split build names its manifest");
    let manifest: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_str(
        &std::fs::read_to_string(site.join("pkg").join(&manifest)).expect("manifest"),
    )
    .expect("manifest json");
    let staff = |area: &str| {
        ["moderation_pages", "finance_pages", "admin_pages"]
            .iter()
            .any(|s| area.starts_with(s))
    };
    let chunks = |want_staff: bool| -> BTreeSet<String> {
        manifest
            .iter()
            .filter(|(area, _)| staff(area) == want_staff)
            .flat_map(|(_, chunks)| chunks.iter().map(|c| format!("{c}.wasm")))
            .collect()
    };
    chunks(true).difference(&chunks(false)).cloned().collect()
}

/// Every route of the table has a page in the list (checked before any server runs: making
/// the route list renders the app with data loading switched off process-wide).
fn the_page_list_covers_every_route() {
    let missing: Vec<String> = server::router::route_list()
        .iter()
        .map(|r| r.path().to_owned())
        .filter(|route| {
            !PAGES
                .iter()
                .any(|(page, _)| support::pages::matches(route, page))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "routes with no page in support/pages.rs: {missing:?}"
    );
}

/// One user with every staff role, so each staff page renders its own code.
async fn signed_in_staff(app: &TestApp) -> support::Client {
    let email = "staff@bundle.test";
    let staff = app.client();
    assert!(staff.sign_up(email, PASSWORD).await.status.is_success());
    for role in ["admin", "moderator", "finance"] {
        support::grant_staff(app, email, role).await;
    }
    staff
}
