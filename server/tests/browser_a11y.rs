//! Every page, opened in headless Chromium by the person who uses it over the demo data (so
//! lists, charts and badges have content): it hydrates, logs nothing at warning level or
//! above, and axe-core (injected into the page) finds no serious or critical violation of
//! WCAG 2.1 A/AA — wide and light, at phone width, and in dark mode. A new page is checked by
//! adding it to `support/pages.rs`, which the bundle test keeps complete.

mod support;

use fantoccini::Client;
use serde_json::Value;
use support::{
    browser::{self, console_problems, hydrated, prefer_dark, sign_in_as},
    pages::{PAGES, Who},
};

/// axe-core's browser build: `.ci/tools.sh` installs it with npm (`HERALD_AXE` overrides).
fn axe_source() -> String {
    let path = std::env::var("HERALD_AXE").map_or_else(
        |_| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/herald/tools/node_modules/axe-core/axe.min.js")
        },
        std::path::PathBuf::from,
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (`source .ci/tools.sh` installs axe-core)",
            path.display()
        )
    })
}

/// Serious and critical violations on the open page, one line each with the elements involved.
async fn axe_violations(client: &Client, axe: &str) -> Vec<String> {
    client.execute(axe, vec![]).await.expect("inject axe-core");
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag',
                 values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
               .then(r => done(r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — '
                     + (n.failureSummary || '').replace(/\\s+/g, ' ')) }))))
               .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));",
            vec![],
        )
        .await
        .expect("run axe-core");
    found
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let nodes: Vec<&str> = v["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            format!(
                "{} ({}): {} — {}",
                v["id"].as_str().unwrap_or_default(),
                v["impact"].as_str().unwrap_or_default(),
                v["help"].as_str().unwrap_or_default(),
                nodes.join(" | ")
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_hydrates_quietly_and_has_no_serious_accessibility_violation() {
    let axe = axe_source();
    let site = support::site_root();
    if let Err(e) = app::bundle::BundleFiles::find(&site) {
        panic!("{e} (bash .ci/test builds it)");
    }
    let db = migrations::db::fresh_sqlite().await.expect("database");
    let logins = server::seed::populate(&db, 2_000, 7)
        .await
        .expect("demo data")
        .logins;
    let password = |email: &str| {
        logins
            .iter()
            .find(|l| l.email == email)
            .map(|l| l.password.clone())
            .unwrap_or_else(|| panic!("no demo login {email}"))
    };
    let app = support::spawn_on("sqlite", db, false).await;
    let base = app.url("");
    let driver = browser::start_driver().await;

    let mut problems = Vec::new();
    let mut checked = 0;
    for (who, email) in [
        (Who::Visitor, None),
        (Who::Advertiser, Some("advertiser@herald.local")),
        (Who::Moderator, Some("moderator@herald.local")),
        (Who::Finance, Some("finance@herald.local")),
        (Who::Admin, Some("admin@herald.local")),
    ] {
        // A browser of its own per person: nothing cached or signed in from the one before.
        let client = browser::browser(&driver).await;
        if let Some(email) = email {
            sign_in_as(&app, &client, email, &password(email)).await;
        }
        let _ = console_problems(&client).await;
        for (path, _) in PAGES.iter().filter(|(_, w)| *w == who) {
            client
                .goto(&format!("{base}{path}"))
                .await
                .unwrap_or_else(|e| panic!("open {path}: {e}"));
            hydrated(&client).await;
            // The page asked for, not the sign-in page or another one it redirected to.
            let at = client.current_url().await.expect("the page's address");
            if at.path() != *path {
                problems.push(format!("{path} as {who:?}: landed on {at}"));
            }
            for (view, width, dark) in [
                ("wide", 1280, false),
                ("phone", 390, false),
                ("dark", 1280, true),
            ] {
                client
                    .set_window_size(width, 900)
                    .await
                    .expect("window size");
                prefer_dark(&client, dark).await;
                // Buttons fade their colours (120 ms): check the settled page.
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                for violation in axe_violations(&client, &axe).await {
                    problems.push(format!("{path} as {who:?} ({view}): {violation}"));
                }
            }
            prefer_dark(&client, false).await;
            client
                .set_window_size(1280, 900)
                .await
                .expect("window size");
            for message in console_problems(&client).await {
                problems.push(format!("{path} as {who:?}: console: {message}"));
            }
            checked += 1;
        }
        client.close().await.expect("close browser");
    }
    assert_eq!(checked, PAGES.len());
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The check can fail: a page with an unlabelled field is a critical violation.
    let client = browser::browser(&driver).await;
    client
        .goto(&format!("{base}/guidelines"))
        .await
        .expect("open");
    hydrated(&client).await;
    client
        .execute(
            "document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text>')",
            vec![],
        )
        .await
        .expect("break the page");
    let found = axe_violations(&client, &axe).await;
    assert!(
        found.iter().any(|v| v.starts_with("label (critical)")),
        "axe missed an unlabelled field: {found:?}"
    );
    client.close().await.expect("close browser");
}
