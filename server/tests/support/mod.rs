//! Test harness: the real router on a random port over a fresh migrated database, and a
//! cookie-keeping client that calls server functions like the browser does.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

pub mod browser;
pub mod pages;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;
use server::router::{self, RouterConfig};
use std::{net::SocketAddr, path::PathBuf};

pub struct TestApp {
    pub backend: &'static str,
    pub addr: SocketAddr,
    pub db: DatabaseConnection,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A browser-like client: keeps cookies, sends our Origin on every request.
    pub fn client(&self) -> Client {
        self.client_sharing(&std::sync::Arc::new(reqwest::cookie::Jar::default()))
    }

    /// A browser-like client whose cookies live in `jar`, so clients of several instances
    /// can share one session, as they would behind one load balancer.
    pub fn client_sharing(&self, jar: &std::sync::Arc<reqwest::cookie::Jar>) -> Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ORIGIN,
            self.url("").parse().expect("origin header"),
        );
        Client {
            base: self.url(""),
            http: reqwest::Client::builder()
                .cookie_provider(std::sync::Arc::clone(jar))
                .default_headers(headers)
                .redirect(reqwest::redirect::Policy::none())
                // A request the server never answers fails its test instead of stalling the run.
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .expect("client"),
        }
    }
}

/// The site root the router serves static files from (the built site when present).
pub fn site_root() -> PathBuf {
    std::env::var("HERALD_TEST_SITE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site"))
}

/// Starts the app on `db` at a random local port.
pub async fn spawn_on(
    backend: &'static str,
    db: DatabaseConnection,
    secure_cookies: bool,
) -> TestApp {
    spawn_configured(backend, db, secure_cookies, |_| {}).await
}

/// Starts the app on `db` at a random local port with a configuration adjusted by `configure`
/// (e.g. trusted proxies).
pub async fn spawn_configured(
    backend: &'static str,
    db: DatabaseConnection,
    secure_cookies: bool,
    configure: impl FnOnce(&mut RouterConfig),
) -> TestApp {
    // Server-side errors show up in a failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("error")
        .with_test_writer()
        .try_init();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = RouterConfig::new(&site_root(), addr, secure_cookies);
    // Tests read mailed links, as the demo does.
    config.dev_mail = true;
    configure(&mut config);
    let app = router::build(db.clone(), &config).await.expect("router");
    tokio::spawn(server::listen::serve(
        listener,
        app,
        server::listen::HEADER_TIMEOUT,
        std::future::pending(),
    ));
    TestApp { backend, addr, db }
}

/// One app per configured backend (SQLite, and PostgreSQL when `TEST_DATABASE_URL` is set).
pub async fn spawn_all(secure_cookies: bool) -> Vec<TestApp> {
    let mut apps = Vec::new();
    for (backend, db) in migrations::db::fresh_all().await {
        apps.push(spawn_on(backend, db, secure_cookies).await);
    }
    apps
}

#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
}

/// A server function's answer: HTTP status and the decoded JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `AppError` variant name, for failures (`"Invalid"`, `"NotFound"`, …).
    pub fn error_kind(&self) -> Option<String> {
        if self.status.is_success() {
            return None;
        }
        match &self.body {
            Value::String(unit) => Some(unit.clone()),
            Value::Object(map) => map.keys().next().cloned(),
            _ => None,
        }
    }

    pub fn field_error(&self, field: &str) -> Option<String> {
        self.body
            .pointer(&format!("/Invalid/{field}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

/// Writes that name the account the page showed (issue 12, item 8). Like a page, the client
/// sends its current account when a test does not give one.
pub const ACCOUNT_WRITES: &[&str] = &[
    "save_campaign",
    "update_account",
    "invite_member",
    "revoke_invitation",
    "change_member_role",
    "remove_member",
    "leave_account",
    "notifications_read",
    "set_low_balance",
];

impl Client {
    /// The account a page would show this client now (its current account), if any.
    pub async fn current_account(&self) -> Option<i64> {
        let response = self
            .http
            .post(format!("{}/api/viewer", self.base))
            .send()
            .await
            .expect("POST /api/viewer");
        let body: Value = response.json().await.ok()?;
        body.get("current_account").and_then(Value::as_i64)
    }

    /// Calls the server function at `/api/{endpoint}` with form fields, as `ActionForm` does.
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> Reply {
        let account;
        let mut form = form.to_vec();
        if ACCOUNT_WRITES.contains(&endpoint) && !form.iter().any(|(k, _)| *k == "account") {
            account = self.current_account().await.unwrap_or(0).to_string();
            form.push(("account", account.as_str()));
        }
        let response = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /api/{endpoint}: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Calls a server function that takes a JSON body (`input = Json`).
    pub async fn call_json(&self, endpoint: &str, body: &Value) -> Reply {
        let mut body = body.clone();
        if ACCOUNT_WRITES.contains(&endpoint)
            && let Some(map) = body.as_object_mut()
            && !map.contains_key("account")
        {
            map.insert(
                "account".into(),
                self.current_account().await.unwrap_or(0).into(),
            );
        }
        let response = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /api/{endpoint}: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn sign_up(&self, email: &str, password: &str) -> Reply {
        self.call(
            "sign_up",
            &[
                ("input[email]", email),
                ("input[password]", password),
                ("input[account_name]", "Test Ads"),
                ("input[time_zone]", "Europe/Berlin"),
            ],
        )
        .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Reply {
        self.call(
            "sign_in",
            &[("input[email]", email), ("input[password]", password)],
        )
        .await
    }

    /// The signed-in email, or `None` for a visitor.
    pub async fn whoami(&self) -> Option<String> {
        let reply = self.call("viewer", &[]).await;
        assert!(reply.status.is_success(), "viewer failed: {reply:?}");
        reply
            .body
            .get("email")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// A page load as a browser makes it (asking for HTML).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// A page opened from one of our own pages (a link followed, a redirect), whose HTML is
    /// returned: the browser says so (`Sec-Fetch-Site: same-origin`), which keeps parameters
    /// the security layer strips from other sites' links. `to` is a path or a whole address.
    pub async fn follow(&self, to: &str) -> String {
        let url = if to.starts_with("http") {
            to.to_owned()
        } else {
            format!("{}{to}", self.base)
        };
        self.http
            .get(&url)
            .header("accept", "text/html")
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {to}: {e}"))
            .text()
            .await
            .unwrap_or_else(|e| panic!("GET {to}: {e}"))
    }
}

pub const PASSWORD: &str = "violet harbour 42 kites";

/// Signs up `email`, then makes it `role` in `account` and switches to it.
pub async fn member(app: &TestApp, email: &str, role: &str, account: i64) -> Client {
    let client = app.client();
    assert!(client.sign_up(email, PASSWORD).await.status.is_success());
    let user: Value = client.call("viewer", &[]).await.body;
    let user = user["user_id"].as_i64().expect("user id");
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO account_member (account_id, user_id, role, created_at) VALUES ({account}, {user}, '{role}', CURRENT_TIMESTAMP)"
        ))
        .await
        .expect("membership");
    let account = account.to_string();
    let switched = client
        .call("switch_account", &[("account_id", account.as_str())])
        .await;
    assert!(switched.status.is_success(), "{switched:?}");
    client
}

/// The token of the newest link under `prefix` (`/verify/` or `/invite/`) mailed to `email`,
/// read from the outbox as the mail viewer shows it.
pub async fn mailed_token(app: &TestApp, email: &str, prefix: &str) -> String {
    use app::entity::outbox_message;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let mails = outbox_message::Entity::find()
        .filter(outbox_message::Column::Recipient.eq(email))
        .order_by_desc(outbox_message::Column::Id)
        .all(&app.db)
        .await
        .expect("outbox");
    mails
        .iter()
        .find_map(|m| {
            let start = m.body.find(prefix)? + prefix.len();
            let token: String = m.body[start..]
                .chars()
                .take_while(char::is_ascii_hexdigit)
                .collect();
            (!token.is_empty()).then_some(token)
        })
        .unwrap_or_else(|| panic!("{}: no {prefix} link mailed to {email}", app.backend))
}

/// Confirms `email`'s address and grants its user the staff role `role` (`admin`, …), as an
/// operator's set-up would: staff roles need a confirmed address.
pub async fn grant_staff(app: &TestApp, email: &str, role: &str) {
    confirm(app, email).await;
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO staff_role (user_id, role, granted_by, granted_at) \
             SELECT id, '{role}', NULL, CURRENT_TIMESTAMP FROM app_user WHERE email = '{email}'"
        ))
        .await
        .expect("grant staff role");
}

/// Marks `email` confirmed, as its mailed link would (for tests about something else).
pub async fn confirm(app: &TestApp, email: &str) {
    app.db
        .execute_unprepared(&format!(
            "UPDATE app_user SET email_verified_at = CURRENT_TIMESTAMP WHERE email = '{email}'"
        ))
        .await
        .expect("confirm address");
}

/// Waits for work an answer does not wait for: polls `count` every 20 ms until it reaches `n`,
/// and fails if it goes past `n` or has not reached it within 10 s.
pub async fn count_reaches<F, Fut>(what: &str, n: u64, mut count: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let seen = count().await;
        if seen >= n {
            assert_eq!(seen, n, "{what}: more than expected");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: {seen} of {n} after 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// `rows` generated channels (`catalog_seed::generate(rows, seed)`) as a catalog import file;
/// with `bump`, each has that many more subscribers, so importing it after the file without
/// changes every channel that one added.
pub fn channels_csv(rows: usize, seed: u64, bump: i64) -> String {
    use app::service::catalog_seed::{TOPICS, generate};
    let mut file =
        "handle,title,topic,language,subscribers,avg_views,posts_per_day,status\n".to_owned();
    for c in generate(rows, seed) {
        let status = if c.active { "active" } else { "inactive" };
        file.push_str(&format!(
            "{},\"{}\",{},{},{},{},{},{status}\n",
            c.handle,
            c.title,
            TOPICS[c.topic].0,
            c.language,
            c.subscribers + bump,
            c.avg_views,
            c.posts_per_day
        ));
    }
    file
}
