//! Browser harness: chromedriver on a free port, a headless Chromium session, console checks,
//! and helpers to wait, fill and submit like a person.

use super::{PASSWORD, TestApp, site_root, spawn_on};
use fantoccini::{Client, ClientBuilder, Locator, wd::WebDriverCompatibleCommand};
use serde_json::json;
use std::{
    net::TcpListener,
    os::unix::process::CommandExt,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// chromedriver on a free port in a process group of its own; dropped, the whole group goes,
/// so no Chromium it started outlives the test (even one whose session was never closed).
pub struct Driver {
    child: Child,
    port: u16,
    profile: TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn start_driver() -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect(
            "chromedriver must be installed (apt-get update && apt-get install chromium chromium-driver)",
        );
    let profile = std::env::temp_dir().join(format!("herald-chrome-{}-{port}", std::process::id()));
    let driver = Driver {
        child,
        port,
        profile: TempDir(profile),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver
}

/// A browser session of its own (several can share one chromedriver: each gets its own
/// profile directory, which Chromium locks).
pub async fn browser(driver: &Driver) -> Client {
    static SESSIONS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let session = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile = driver.profile.0.join(session.to_string());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    // chromedriver sometimes resets the first connection while it is still starting up
    // (seen in CI): try a few times before failing the test.
    let url = format!("http://127.0.0.1:{}", driver.port);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return client,
            Err(e) if attempt < 4 => {
                eprintln!("WebDriver session attempt {attempt} failed: {e}; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(e) => panic!("WebDriver session: {e:?}"),
        }
    }
}

/// chromedriver's (non-W3C) endpoint for the browser console log.
#[derive(Debug)]
pub struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

/// A Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
pub struct Cdp(pub &'static str, pub serde_json::Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "cmd": self.0, "params": self.1 }).to_string()),
        )
    }
}

/// Makes the page see `prefers-color-scheme: dark` (or light again).
pub async fn prefer_dark(client: &Client, dark: bool) {
    let scheme = if dark { "dark" } else { "light" };
    client
        .issue_cmd(Cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        ))
        .await
        .expect("emulate the colour scheme");
}

/// Chrome's timing hint for a preloaded file that the page had not used three seconds after
/// its `load` event. The page script preloads the chunks of the page's area, and hydration
/// uses them; on a machine busy with four tests at once, hydration can start later than
/// that (seen in CI on 2026-12-04: the campaign page's chunks, on a page that then hydrated;
/// alone the same test passes). Whether the page hydrated, which needs those chunks, is what
/// the browser tests check instead.
const LATE_PRELOAD_HINT: &str = "was preloaded using link preload but not used within a few seconds from the window's load event";

/// Console entries at warning level or above since the last call (but Chrome's late-preload
/// timing hint, see [`LATE_PRELOAD_HINT`]).
pub async fn console_problems(client: &Client) -> Vec<String> {
    let entries = client.issue_cmd(BrowserLog).await.expect("browser log");
    entries
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| matches!(e["level"].as_str(), Some("SEVERE" | "WARNING")))
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .filter(|message| !message.contains(LATE_PRELOAD_HINT))
        .collect()
}

/// [`console_problems`], but for the failed fetches of `endpoint` (e.g. `/api/sign_in`) that
/// answered 422: a test that submits bad input on purpose expects them, and Chromium logs
/// every non-2xx fetch.
pub async fn console_problems_except_422(client: &Client, endpoint: &str) -> Vec<String> {
    console_problems(client)
        .await
        .into_iter()
        .filter(|p| !(p.contains(endpoint) && p.contains("status of 422")))
        .collect()
}

/// Follows the main navigation's link labelled `text` and waits until `path` has loaded and
/// hydrated (a first visit to a staff area loads its code first).
pub async fn navigate(client: &Client, text: &str, path: &str) {
    hydrated(client).await;
    let link = wait_for_xpath(
        client,
        &format!("//nav[@aria-label='Main']//a[normalize-space()='{text}']"),
    )
    .await;
    // The page may be scrolled with the link under the sticky header.
    client
        .execute(
            "arguments[0].scrollIntoView({block: 'center'})",
            vec![serde_json::to_value(&link).expect("element")],
        )
        .await
        .expect("scroll to the link");
    link.click().await.expect("click link");
    wait_for_path(client, path).await;
    hydrated(client).await;
}

pub async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

/// An element found by XPath (for what only its visible text names), waited for 30 s at most
/// (a first visit to a staff page loads its area's code).
pub async fn wait_for_xpath(client: &Client, path: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::XPath(path))
        .await
        .unwrap_or_else(|e| panic!("{path} never appeared: {e}"))
}

pub async fn wait_for_path(client: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = client.current_url().await.expect("url");
        if url.path() == path {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "stayed on {url}, expected {path}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the wasm has hydrated the page (the app marks `<body data-hydrated>`).
pub async fn hydrated(client: &Client) {
    wait_for(client, "body[data-hydrated]").await;
}

/// Types `text` into the field at `css`, replacing what it held; a field re-rendered between
/// finding and typing (a list reloading after an answer) is found again and filled anew.
pub async fn fill(client: &Client, css: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let field = wait_for(client, css).await;
        let typed = match field.clear().await {
            Ok(()) => field.send_keys(text).await,
            Err(e) => Err(e),
        };
        match typed {
            Ok(()) => return,
            Err(e) if Instant::now() < deadline => {
                tracing::debug!("{css} went stale while filled: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("fill {css}: {e}"),
        }
    }
}

/// Submits the page's form with its submit button, as a person would.
pub async fn submit(client: &Client) {
    wait_for(client, "form button[type=submit]")
        .await
        .click()
        .await
        .expect("click submit");
}

/// The text at `css`; an element re-rendered between finding and reading it is found again.
pub async fn text_of(client: &Client, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match wait_for(client, css).await.text().await {
            Ok(text) => return text,
            Err(e) if Instant::now() < deadline => {
                tracing::debug!("{css} went stale: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("text of {css}: {e}"),
        }
    }
}

pub async fn start() -> (TestApp, Driver, Client) {
    start_with_catalog(0).await
}

/// A server (with `channels` generated channels), chromedriver, and a browser session.
pub async fn start_with_catalog(channels: usize) -> (TestApp, Driver, Client) {
    let site = site_root();
    if let Err(e) = app::bundle::BundleFiles::find(&site) {
        panic!("{e} (bash .ci/test builds it)");
    }
    let db = migrations::db::fresh_sqlite().await.expect("database");
    if channels > 0 {
        app::service::catalog_seed::insert(&db, channels, 5)
            .await
            .expect("catalog");
    }
    let app = spawn_on("sqlite", db, false).await;
    let driver = start_driver().await;
    let client = browser(&driver).await;
    (app, driver, client)
}

pub async fn sign_in(app: &TestApp, client: &Client, email: &str) {
    app.client().sign_up(email, PASSWORD).await;
    sign_in_as(app, client, email, PASSWORD).await;
}

/// Signs `email` up, confirms it and grants it the staff role `role` (`admin`, …) as an
/// operator would, then signs in as it through the sign-in form.
pub async fn sign_in_staff(app: &TestApp, client: &Client, email: &str, role: &str) {
    assert!(
        app.client()
            .sign_up(email, PASSWORD)
            .await
            .status
            .is_success(),
        "sign up {email}"
    );
    super::grant_staff(app, email, role).await;
    sign_in_as(app, client, email, PASSWORD).await;
}

/// Signs in through the sign-in form as an existing user, and waits for the dashboard.
pub async fn sign_in_as(app: &TestApp, client: &Client, email: &str, password: &str) {
    client
        .goto(&app.url("/sign-in"))
        .await
        .expect("open sign-in");
    hydrated(client).await;
    fill(client, "#sign-in-email", email).await;
    fill(client, "#sign-in-password", password).await;
    submit(client).await;
    wait_for_path(client, "/").await;
}

/// Polls until the text at `css` differs from `before`, and returns it.
pub async fn changed(client: &Client, css: &str, before: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = text_of(client, css).await;
        if now != before {
            return now;
        }
        assert!(Instant::now() < deadline, "{css} stayed at {before}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks like a person: scrolled to the middle of the window first, so the sticky action
/// bar never covers what is clicked.
pub async fn click(client: &Client, css: &str) {
    let element = wait_for(client, css).await;
    client
        .execute(
            "arguments[0].scrollIntoView({block: 'center'})",
            vec![serde_json::to_value(&element).expect("element")],
        )
        .await
        .expect("scroll");
    element.click().await.expect("click");
}

/// Whether the element at `css` is shown (WebDriver's displayedness: not hidden by CSS).
pub async fn displayed(client: &Client, css: &str) -> bool {
    wait_for(client, css)
        .await
        .is_displayed()
        .await
        .expect("displayed")
}

/// Waits until the text at `css` equals `expected` (30 s at most).
pub async fn shows(client: &Client, css: &str, expected: &str) {
    let mut last = String::new();
    for _ in 0..300 {
        last = text_of(client, css).await;
        if last == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} shows {last:?}, not {expected:?}");
}

/// Polls until the text at `css` contains `part`, and returns it.
pub async fn until_contains(client: &Client, css: &str, part: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = text_of(client, css).await;
        if now.contains(part) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "{css} never showed {part:?} (shows {now:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Turns the page's scripts off (from the next page loaded on) or on again.
pub async fn scripts(client: &fantoccini::Client, on: bool) {
    client
        .issue_cmd(Cdp(
            "Emulation.setScriptExecutionDisabled",
            serde_json::json!({ "value": !on }),
        ))
        .await
        .expect("switch scripts");
}

/// Runs the page's scripts the server sent (the one that fetches the wasm and hydrates, and
/// those carrying the page's data), in order, as the browser would have had scripts been on:
/// a copy of each with its CSP nonce.
pub async fn load_the_wasm_now(client: &fantoccini::Client) {
    scripts(client, true).await;
    client
        .execute(
            "for (const sent of [...document.scripts].filter(s => !s.src)) {\
               const again = document.createElement('script');\
               again.nonce = sent.nonce;\
               again.textContent = sent.textContent;\
               document.body.append(again);\
             }",
            vec![],
        )
        .await
        .expect("page script");
    hydrated(client).await;
}
