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

#[tokio::test]
async fn the_binary_logs_json_serves_metrics_and_stops_cleanly_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("herald-process-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let database = dir.join("herald.db");
    let (port, metrics_port) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("serve")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", database.display()),
        )
        .env("HERALD_LISTEN", format!("127.0.0.1:{port}"))
        .env("HERALD_METRICS_LISTEN", format!("127.0.0.1:{metrics_port}"))
        .env("HERALD_SECURE_COOKIES", "false")
        .env("HERALD_LOG_FORMAT", "json")
        .env("HERALD_LOG", "info")
        .env("LEPTOS_SITE_ROOT", support::site_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            break;
        }
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

    let page = http
        .get(format!("{base}/sign-in"))
        .header("x-request-id", "trace-me-1")
        .send()
        .await
        .expect("sign-in page");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-request-id"], "trace-me-1");
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

    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
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
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(30),
            "still running 30 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (mut out, mut err) = (String::new(), String::new());
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut out).expect("stdout");
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).expect("stderr");
    }
    assert!(status.success(), "exit {status}: {err}\n{out}");

    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let message = |line: &serde_json::Value| line["fields"]["message"].as_str().map(str::to_owned);
    assert!(
        lines.iter().any(|l| l["span"]["id"] == "trace-me-1"
            && l["span"]["route"] == "/sign-in"
            && message(l).as_deref() == Some("answered")),
        "the access line names the request id:\n{out}"
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

    let copy = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", database.display()))
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
