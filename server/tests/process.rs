//! The real `server` binary as an operator runs it: JSON logs naming each request's id, a
//! separate metrics listener, a clean stop on SIGTERM that leaves the database whole, and a
//! backup that refuses a database that is not there.

mod support;

use std::{
    io::{Read, Write},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `server serve` on the SQLite database `url` at `port`, with JSON logs filtered by `log`
/// (and `extra` environment), its output piped for the test to read.
fn serve_json(url: &str, port: u16, log: &str, extra: &[(&str, String)]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("HERALD_LISTEN", format!("127.0.0.1:{port}"))
        .env("HERALD_SECURE_COOKIES", "false")
        .env("HERALD_LOG_FORMAT", "json")
        .env("HERALD_LOG", log)
        .env("LEPTOS_SITE_ROOT", support::site_root())
        .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server")
}

/// Waits until the server at `port` answers `/readyz` with 200 (at most 90 s); one that exits
/// first fails the test with what it wrote.
async fn until_ready(child: &mut std::process::Child, port: u16) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let started = Instant::now();
    while !http
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("the server exited early ({status}): {err}");
        }
        assert!(started.elapsed() < Duration::from_secs(90), "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends the process the signal `name` (`TERM`, `INT`).
fn signal(child: &std::process::Child, name: &str) {
    let sent = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
}

/// Waits (at most 30 s) for the process to end after the signal `name`: its exit status,
/// standard output and standard error.
async fn ended(
    child: &mut std::process::Child,
    name: &str,
) -> (std::process::ExitStatus, String, String) {
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if stopping.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("still running 30 s after SIG{name}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (mut out, mut err) = (String::new(), String::new());
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut out).expect("stdout");
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).expect("stderr");
    }
    (status, out, err)
}

/// SQLite's `PRAGMA integrity_check` of the database file at `path` finds it whole.
async fn assert_whole(path: &std::path::Path) {
    let copy = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", path.display()))
        .await
        .expect("open the database");
    let check = sea_orm::ConnectionTrait::query_one_raw(
        &copy,
        sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Sqlite, "PRAGMA integrity_check"),
    )
    .await
    .expect("integrity check")
    .expect("a row");
    assert_eq!(check.try_get_by_index::<String>(0).expect("text"), "ok");
    copy.close().await.expect("close");
}

#[tokio::test]
async fn the_binary_logs_json_serves_metrics_and_stops_cleanly_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("herald-process-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let database = dir.join("herald.db");
    let (port, metrics_port) = (free_port(), free_port());
    let mut child = serve_json(
        &format!("sqlite://{}?mode=rwc", database.display()),
        port,
        "info",
        &[("HERALD_METRICS_LISTEN", format!("127.0.0.1:{metrics_port}"))],
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let base = format!("http://127.0.0.1:{port}");
    until_ready(&mut child, port).await;

    let page = http
        .get(format!("{base}/sign-in"))
        .header("x-request-id", "trace-me-1")
        .send()
        .await
        .expect("sign-in page");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-request-id"], "trace-me-1");
    // A line written deep inside a request (a server function, under the session layer's
    // own span) names the request too.
    let refused = http
        .post(format!("{base}/api/sign_in"))
        .header("x-request-id", "trace-me-2")
        .header("origin", &base)
        .form(&[
            ("input[email]", "nobody@example.com"),
            ("input[password]", "not-the-password"),
        ])
        .send()
        .await
        .expect("a wrong sign-in");
    assert_eq!(refused.headers()["x-request-id"], "trace-me-2");
    let metrics = http
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.expect("metrics text");
    assert!(
        text.contains(
            "herald_http_request_duration_seconds_count{method=\"GET\",route=\"/sign-in\",status=\"2xx\"} 1"
        ),
        "{text}"
    );
    assert!(
        http.get(format!("{base}/metrics"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 404),
        "metrics are not on the public address"
    );

    // A request in flight at the signal: its headers are in, half its body is not.
    let body = "input[email]=a%40example.com&input[password]=not-it";
    let mut in_flight = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    in_flight
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        in_flight,
        "POST /api/sign_in HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {base}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .expect("the first half");
    tokio::time::sleep(Duration::from_millis(300)).await;

    signal(&child, "TERM");
    // The listener is closed, but the request already begun is still answered.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "a new connection is refused once stopping"
    );
    in_flight
        .write_all(&body.as_bytes()[10..])
        .expect("the second half");
    let mut answer = String::new();
    let _ = in_flight.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 "),
        "the request in flight was answered: {answer:?}"
    );
    let (status, out, err) = ended(&mut child, "TERM").await;
    assert!(status.success(), "exit {status}: {err}\n{out}");

    let lines = json_lines(&out);
    let message = |line: &serde_json::Value| line["fields"]["message"].as_str().map(str::to_owned);
    // The request's span, however many spans the line was written in.
    let request = |line: &serde_json::Value| {
        line["spans"]
            .as_array()
            .and_then(|spans| spans.iter().find(|s| s["name"] == "request"))
            .cloned()
            .unwrap_or_default()
    };
    assert!(
        lines.iter().any(|l| request(l)["id"] == "trace-me-1"
            && request(l)["route"] == "/sign-in"
            && message(l).as_deref() == Some("answered")),
        "the access line names the request id:\n{out}"
    );
    let inner = lines
        .iter()
        .find(|l| message(l).as_deref() == Some("sign-in refused: wrong email or password"))
        .unwrap_or_else(|| panic!("no line for the refused sign-in:\n{out}"));
    assert_eq!(request(inner)["id"], "trace-me-2", "{inner}");
    assert!(
        inner["spans"].as_array().is_some_and(|s| s.len() > 1),
        "written under the request's span, inside another: {inner}"
    );
    assert!(
        lines
            .iter()
            .any(|l| message(l).as_deref() == Some("SIGTERM received: shutting down")),
        "{out}"
    );
    assert_eq!(
        lines.last().and_then(message).as_deref(),
        Some("Herald stopped"),
        "{out}"
    );

    assert_whole(&database).await;
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// `server backup` of a database that does not exist fails and creates nothing (SQLite would
/// otherwise create an empty database at the mistyped path, and back that up).
#[test]
fn a_backup_of_a_missing_database_fails_and_creates_nothing() {
    let dir = std::env::temp_dir().join(format!("herald-no-db-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (missing, copy) = (dir.join("typo.db"), dir.join("copy.db"));
    let out = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("backup")
        .arg(&copy)
        .env("DATABASE_URL", format!("sqlite://{}", missing.display()))
        .env("HERALD_LOG", "warn")
        .output()
        .expect("run the server");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no database at"), "{err}");
    assert!(!missing.exists() && !copy.exists(), "nothing created");
}

/// Reads every line a stopped server wrote to stdout as JSON, failing on any that is not.
fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// With JSON logs, `server seed` writes nothing but JSON (its demo sign-ins are log lines), and
/// a delivery decision — answered by the writer task that decides waiting slots together, not
/// by the request's own task — logs under a span naming the request's id.
#[tokio::test]
async fn json_logs_cover_the_seed_and_the_delivery_writer() {
    let dir = std::env::temp_dir().join(format!("herald-json-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let url = format!("sqlite://{}?mode=rwc", dir.join("herald.db").display());
    let seeded = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["seed", "--channels", "2000"])
        .env("DATABASE_URL", &url)
        .env("HERALD_LOG_FORMAT", "json")
        .env("HERALD_LOG", "info")
        .output()
        .expect("run server seed");
    let out = String::from_utf8_lossy(&seeded.stdout);
    assert!(seeded.status.success(), "{out}");
    let advertiser = json_lines(&out).into_iter().find(|l| {
        l["fields"]["message"] == "demo sign-in"
            && l["fields"]["email"] == "advertiser@herald.local"
    });
    assert!(
        advertiser.is_some_and(|l| l["fields"]["password"]
            .as_str()
            .is_some_and(|p| p.len() >= 12)),
        "the demo advertiser's sign-in, as a log line:\n{out}"
    );

    let db = migrations::db::connect(&url).await.expect("open");
    let key = app::service::delivery::keys::create_unchecked(
        &db,
        "Log test network",
        None,
        chrono::Utc::now(),
    )
    .await
    .expect("a delivery key");
    let handle: String = sea_orm::ConnectionTrait::query_one_raw(
        &db,
        sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            "SELECT handle FROM channel ORDER BY id LIMIT 1",
        ),
    )
    .await
    .expect("a channel")
    .expect("a row")
    .try_get_by_index(0)
    .expect("its handle");
    db.close().await.expect("close");

    let port = free_port();
    let mut child = serve_json(&url, port, "info,app::service::delivery=debug", &[]);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    until_ready(&mut child, port).await;
    let decided = http
        .post(format!("{base}/api/delivery/v1/decisions"))
        .bearer_auth(&key.secret)
        .header("x-request-id", "trace-batch-1")
        .json(&serde_json::json!({ "channel": handle, "slot_id": "log-test-1" }))
        .send()
        .await
        .expect("a decision");
    assert!(
        decided.status().is_success(),
        "{}",
        decided.text().await.unwrap_or_default()
    );
    signal(&child, "TERM");
    let (status, out, _) = ended(&mut child, "TERM").await;
    assert!(status.success(), "{out}");
    let batch = json_lines(&out).into_iter().find(|l| {
        l["fields"]["message"] == "decision batch written"
            && l["spans"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["name"] == "batch"))
    });
    let batch = batch.unwrap_or_else(|| panic!("no line of the decision's batch:\n{out}"));
    assert_eq!(batch["spans"][0]["requests"], "trace-batch-1", "{batch}");
    assert_eq!(batch["spans"][0]["size"], 1, "{batch}");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// A stop waits for requests in flight only as long as the grace (`HERALD_SHUTDOWN_GRACE`):
/// Ctrl-C (SIGINT) with a request whose body never comes ends the process all the same —
/// it says it closed the request, stops cleanly, and leaves the database whole.
#[tokio::test]
async fn a_request_that_never_ends_holds_a_stop_no_longer_than_the_grace() {
    let dir = std::env::temp_dir().join(format!("herald-grace-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let database = dir.join("herald.db");
    let port = free_port();
    let mut child = serve_json(
        &format!("sqlite://{}?mode=rwc", database.display()),
        port,
        "info",
        &[("HERALD_SHUTDOWN_GRACE", "2".to_owned())],
    );
    let base = format!("http://127.0.0.1:{port}");
    until_ready(&mut child, port).await;

    // Headers in, a tenth of the body, and never the rest: the connection stays open.
    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stalled,
        "POST /api/sign_in HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {base}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
         input[ema"
    )
    .expect("a part of the request");
    tokio::time::sleep(Duration::from_millis(300)).await;

    signal(&child, "INT");
    let (status, out, err) = ended(&mut child, "INT").await;
    drop(stalled);
    assert!(status.success(), "exit {status}: {err}\n{out}");
    let lines = json_lines(&out);
    let message = |line: &serde_json::Value| line["fields"]["message"].as_str().map(str::to_owned);
    for said in [
        "SIGINT received: shutting down",
        "requests still in flight after the grace period: closing them",
    ] {
        assert!(
            lines.iter().any(|l| message(l).as_deref() == Some(said)),
            "no `{said}` in\n{out}"
        );
    }
    assert_eq!(
        lines.last().and_then(message).as_deref(),
        Some("Herald stopped"),
        "{out}"
    );

    assert_whole(&database).await;
    std::fs::remove_dir_all(&dir).expect("clean up");
}
