//! Running Herald: health and readiness probes, request ids, metrics, online backups, and two
//! instances — two processes of the real binary — on one database (sessions, catalog edits
//! and budgets shared through it).

mod delivery_support;
mod money_support;
mod support;

use delivery_support::{Api, PRICE_CPM};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use server::router::{self, RouterConfig};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use support::{Client, PASSWORD, TestApp};

#[tokio::test]
async fn probes_answer_and_every_response_has_a_request_id() {
    for app in support::spawn_all(false).await {
        let b = app.backend;
        let http = reqwest::Client::new();
        let health = http.get(app.url("/healthz")).send().await.expect(b);
        assert_eq!(health.status(), 200, "{b}");
        assert_eq!(health.headers()["cache-control"], "no-store", "{b}");
        let id = health.headers()["x-request-id"]
            .to_str()
            .expect(b)
            .to_owned();
        assert_eq!(id.len(), 32, "{b}: a new id: {id}");

        let ready = http.get(app.url("/readyz")).send().await.expect(b);
        assert_eq!(ready.status(), 200, "{b}");
        let body: serde_json::Value = ready.json().await.expect(b);
        assert_eq!(body["ready"], true, "{b}: {body}");
        assert_eq!(body["database"], true, "{b}: {body}");
        assert_eq!(body["pending_migrations"], 0, "{b}: {body}");
        assert_eq!(body["newer_migrations"], 0, "{b}: {body}");
        assert!(body["campaign_index_version"].is_i64(), "{b}: {body}");

        // A proxy's id is kept; one that could forge log lines is replaced.
        let kept = http
            .get(app.url("/"))
            .header("x-request-id", "edge-7f3a.1")
            .send()
            .await
            .expect(b);
        assert_eq!(kept.headers()["x-request-id"], "edge-7f3a.1", "{b}");
        let replaced = http
            .get(app.url("/nowhere"))
            .header("x-request-id", "a b\" injected=1")
            .send()
            .await
            .expect(b);
        assert_eq!(replaced.status(), 404, "{b}");
        let new = replaced.headers()["x-request-id"].to_str().expect(b);
        assert!(
            new.len() == 32 && new.bytes().all(|c| c.is_ascii_hexdigit()),
            "{b}: {new}"
        );

        // A forecast index not confirmed current within the allowance is not ready; a
        // migration the database lacks is not ready either.
        assert!(
            body["catalog_index_checked_seconds_ago"].is_u64(),
            "{b}: {body}"
        );
        let config = RouterConfig::new(&support::site_root(), app.addr, false);
        let state = router::state(app.db.clone(), &config).await.expect(b);
        assert!(server::ops::readiness(&state).await.ready, "{b}");
        let stale = server::ops::readiness_with(&state, Duration::ZERO).await;
        assert!(!stale.ready && stale.database, "{b}: {stale:?}");
        // A newer release has migrated the database (a rolling upgrade): every migration
        // this binary knows is still there, so it stays ready, and says so.
        app.db
            .execute_unprepared(
                "INSERT INTO seaql_migrations (version, applied_at) \
                 VALUES ('m29991231_000001_from_a_newer_release', 0)",
            )
            .await
            .expect(b);
        let ahead = http.get(app.url("/readyz")).send().await.expect(b);
        assert_eq!(ahead.status(), 200, "{b}");
        let body: serde_json::Value = ahead.json().await.expect(b);
        assert_eq!(
            (&body["pending_migrations"], &body["newer_migrations"]),
            (&serde_json::json!(0), &serde_json::json!(1)),
            "{b}: {body}"
        );
        app.db
            .execute_unprepared(
                "DELETE FROM seaql_migrations \
                 WHERE version = 'm29991231_000001_from_a_newer_release'",
            )
            .await
            .expect(b);
        app.db
            .execute_unprepared(
                "DELETE FROM seaql_migrations WHERE version = \
                 (SELECT MAX(version) FROM seaql_migrations)",
            )
            .await
            .expect(b);
        let behind = http.get(app.url("/readyz")).send().await.expect(b);
        assert_eq!(behind.status(), 503, "{b}");
        let body: serde_json::Value = behind.json().await.expect(b);
        assert_eq!(body["pending_migrations"], 1, "{b}: {body}");

        // The database going away makes the instance unready, not dead.
        app.db.clone().close().await.expect(b);
        let down = http.get(app.url("/readyz")).send().await.expect(b);
        assert_eq!(down.status(), 503, "{b}");
        let body: serde_json::Value = down.json().await.expect(b);
        assert_eq!(body["database"], false, "{b}: {body}");
        let alive = http.get(app.url("/healthz")).send().await.expect(b);
        assert_eq!(alive.status(), 200, "{b}");
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_read_money_and_queues() {
    for (backend, db) in migrations::db::fresh_all().await {
        let b = backend;
        let world = delivery_support::world(&db).await;
        let mut metrics = None;
        let app = support::spawn_configured(backend, db.clone(), false, |config| {
            metrics = Some(config.metrics.clone());
        })
        .await;
        let metrics = metrics.expect("metrics");
        let api = Api::new(&app);
        let won = api
            .win(&world.key.secret, delivery_support::ALPHA, "m-1")
            .await;
        let unknown = api.decide(&world.key.secret, "nobody_here", "m-2").await;
        assert_eq!(unknown.status, 404, "{b}: {unknown:?}");
        // A French channel: the running campaign targets English ones, so no ad — a decision
        // all the same, counted as empty.
        let empty = api
            .decide(&world.key.secret, delivery_support::GAMMA, "m-3")
            .await;
        assert_eq!(empty.status, 204, "{b}: {empty:?}");
        let client = app.client();
        client.get("/sign-in").await;
        client.get("/campaigns/4242424").await;

        // A targeting change waiting for a moderator: the queue counts review tasks by kind.
        db.execute_unprepared(&format!(
            "INSERT INTO review_task (kind, account_id, campaign_id, targeting, languages, \
             submitted_at, state) VALUES ('targeting', {}, {}, '{{}}', ',en,', \
             CURRENT_TIMESTAMP, 'open')",
            world.account.0, world.campaign.0
        ))
        .await
        .expect(b);

        let config = RouterConfig::new(&support::site_root(), app.addr, false);
        let state = router::state(db.clone(), &config).await.expect(b);
        let text = metrics.render(&state).await.expect(b);
        for line in [
            "herald_http_request_duration_seconds_count{method=\"POST\",route=\"/api/delivery/v1/decisions\",status=\"2xx\"} 2",
            "herald_http_request_duration_seconds_count{method=\"POST\",route=\"/api/delivery/v1/decisions\",status=\"4xx\"} 1",
            "herald_http_request_duration_seconds_count{method=\"GET\",route=\"/sign-in\",status=\"2xx\"} 1",
            "herald_delivery_decisions_total{outcome=\"filled\"} 1",
            "herald_delivery_decisions_total{outcome=\"empty\"} 1",
            "herald_review_queue_length{kind=\"ad_version\"} 0",
            "herald_review_queue_length{kind=\"targeting\"} 1",
            "herald_review_queue_length{kind=\"appeal\"} 0",
            "herald_ledger_posted_micros{currency=\"EUR\"} 0",
            &format!("herald_ledger_held_micros{{currency=\"EUR\"}} {PRICE_CPM}"),
            "herald_db_pool_connections{pool=\"main\",state=\"max\"}",
            "herald_db_pool_connections{pool=\"read\",state=\"max\"} 2",
        ] {
            assert!(text.contains(line), "{b}: no `{line}` in\n{text}");
        }
        // Routes are labelled by their pattern, never by the ids in a path.
        assert!(text.contains("route=\"/campaigns/{id}\""), "{b}:\n{text}");
        assert!(!text.contains("4242424"), "{b}:\n{text}");

        // Views reported, then the same batch again: the charge the API answered is the money
        // posted, and the retry is counted as a replay, not a second event.
        let event = serde_json::json!([{
            "event_id": "m-views-1",
            "decision_id": won["decision_id"],
            "views": 40,
            "clicks": 1,
            "at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        }]);
        let first = api.events(&world.key.secret, event.clone()).await;
        assert_eq!(
            first.body["results"][0]["outcome"], "accepted",
            "{b}: {first:?}"
        );
        let posted = first.body["results"][0]["posted"].as_i64().expect(b);
        assert!(posted > 0, "{b}: {first:?}");
        let again = api.events(&world.key.secret, event).await;
        assert_eq!(
            again.body["results"][0]["outcome"], "replayed",
            "{b}: {again:?}"
        );
        let text = metrics.render(&state).await.expect(b);
        for line in [
            "herald_delivery_events_total{outcome=\"accepted\"} 1".to_owned(),
            "herald_delivery_events_total{outcome=\"replayed\"} 1".to_owned(),
            format!("herald_ledger_posted_micros{{currency=\"EUR\"}} {posted}\n"),
        ] {
            assert!(text.contains(&line), "{b}: no `{line}` in\n{text}");
        }
    }
}

#[tokio::test]
async fn backups_copy_a_live_sqlite_database_and_never_overwrite() {
    let db = migrations::db::fresh_sqlite().await.expect("database");
    let world = delivery_support::world(&db).await;
    let dir = std::env::temp_dir().join(format!("herald-backup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let target = dir.join("copy's.db");
    let _ = std::fs::remove_file(&target);
    let bytes = server::backup::sqlite(&db, &target).await.expect("backup");
    assert!(bytes > 0);
    let copy = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", target.display()))
        .await
        .expect("open the copy");
    for table in ["app_user", "campaign", "ledger_transfer", "channel"] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let (from, to) = (scalar(&db, &sql).await, scalar(&copy, &sql).await);
        assert!(from > 0, "{table} has rows");
        assert_eq!(from, to, "{table} copied whole");
    }
    let check = app::service::ledger::check::check(&copy)
        .await
        .expect("check");
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    assert!(
        app::entity::campaign::Entity::find_by_id(world.campaign.0)
            .one(&copy)
            .await
            .expect("read")
            .is_some()
    );
    let again = server::backup::sqlite(&db, &target).await;
    assert!(again.is_err_and(|e| e.contains("already exists")));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// `server backup` (the binary, a process of its own) while credits are being written: the
/// copy is one moment of the database. It holds every credit committed before the backup
/// began and none committed after it ended, each whole (the books balance in it), and the
/// database is whole.
#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_while_credits_are_written_is_one_moment_of_the_database() {
    let dir = std::env::temp_dir().join(format!("herald-live-backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let url = format!("sqlite://{}?mode=rwc", dir.join("live.db").display());
    let db = migrations::db::connect(&url).await.expect("database");
    migrations::db::migrate(&db).await.expect("migrate");
    let world = delivery_support::world(&db).await;
    let count = "SELECT COUNT(*) FROM ledger_transfer";

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = tokio::spawn({
        let (db, stop) = (db.clone(), stop.clone());
        async move {
            let mut written = 0_u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                app::service::finance::credit_account(
                    &db,
                    world.account,
                    app::model::Micros::units(1),
                    &format!("live-{written}"),
                    "written during a backup",
                    world.owner.user_id.0,
                    None,
                    chrono::Utc::now(),
                )
                .await
                .expect("credit");
                written += 1;
            }
            written
        }
    });
    // Credits are being written when the backup starts.
    let first = scalar(&db, count).await;
    while scalar(&db, count).await < first + 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let target = dir.join("copy.db");
    let before = scalar(&db, count).await;
    let backup = tokio::task::spawn_blocking({
        let (target, url) = (target.clone(), url.clone());
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_server"))
                .arg("backup")
                .arg(&target)
                .env("DATABASE_URL", &url)
                .output()
        }
    })
    .await
    .expect("join")
    .expect("server backup");
    let after = scalar(&db, count).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.expect("writer");
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(
        String::from_utf8_lossy(&backup.stdout).contains("Backed up to"),
        "{}",
        String::from_utf8_lossy(&backup.stdout)
    );

    let copy = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", target.display()))
        .await
        .expect("open the copy");
    let copied = scalar(&copy, count).await;
    assert!(
        (before..=after).contains(&copied),
        "{copied} transfers copied: {before} were written before the backup, {after} after \
         ({written} credits written in all)"
    );
    let check = app::service::ledger::check::check(&copy)
        .await
        .expect("check");
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    let integrity = copy
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            "PRAGMA integrity_check",
        ))
        .await
        .expect("integrity check")
        .expect("a row");
    assert_eq!(integrity.try_get_by_index::<String>(0).expect("text"), "ok");
    copy.close().await.expect("close the copy");
    app::service::ledger::close_writer(&db).await;
    db.close().await.expect("close");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// One instance: the real `server` binary in a process of its own on `url` (its own pools,
/// in-memory indexes, loops and port), with the test's own connection to the same database
/// for setting up and checking. Killed when dropped, should the test fail first.
struct Instance {
    app: TestApp,
    child: std::process::Child,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    async fn start(backend: &'static str, url: &str) -> Self {
        Self::start_with(backend, url, |_| {}).await
    }

    /// [`Instance::start`] with the command changed by `configure` before it starts (its
    /// environment and working directory).
    async fn start_with(
        backend: &'static str,
        url: &str,
        configure: impl FnOnce(&mut std::process::Command),
    ) -> Self {
        let db = migrations::db::connect(url).await.expect("connect");
        // The server binds a port the system chooses and logs it: no port is freed here for
        // another test's server to take first.
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_server"));
        command
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("HERALD_LISTEN", "127.0.0.1:0")
            .env("HERALD_SECURE_COOKIES", "false")
            .env("HERALD_DEV_MAIL", "true")
            .env("HERALD_LOG", "error,server=info")
            .env("LEPTOS_SITE_ROOT", support::site_root())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        configure(&mut command);
        let mut child = command.spawn().expect("start the server");
        let stdout = child.stdout.take().expect("stdout");
        let placeholder = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut instance = Self {
            app: TestApp {
                backend,
                addr: placeholder,
                db,
            },
            child,
        };
        // Reads the log until the listening line, then keeps draining it (a full pipe would
        // block the server).
        let (found, listening) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut found = Some(found);
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1)
                    && let Some(addr) = rest.split_whitespace().next()
                    && let Some(found) = found.take()
                {
                    let _ = found.send(addr.to_owned());
                }
            }
        });
        let started = std::time::Instant::now();
        let addr = loop {
            if let Ok(addr) = listening.try_recv() {
                break addr;
            }
            if let Ok(Some(status)) = instance.child.try_wait() {
                panic!("{backend}: the server exited early ({status})");
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "never listened"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        instance.app.addr = addr.parse().expect("the address the server logged");
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(instance.app.url("/readyz")).send().await
                && r.status() == 200
            {
                return instance;
            }
            if let Ok(Some(status)) = instance.child.try_wait() {
                panic!("{backend}: the server exited early ({status})");
            }
            assert!(started.elapsed() < Duration::from_secs(90), "never ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then the process must end cleanly within 30 s.
    async fn stop(self) -> bool {
        self.stop_within(Duration::from_secs(30)).await
    }

    /// SIGTERM, then the process must end cleanly within `limit`.
    async fn stop_within(mut self, limit: Duration) -> bool {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|s| s.success());
        let stopping = std::time::Instant::now();
        while stopping.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return sent && status.success();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}

/// Channels of 1,000 average views: each slot holds one `PRICE_CPM` (a lone bid pays the floor).
const CHANNELS: usize = 24;
/// What a slot of those channels costs at the campaign's bid (2.50): a campaign takes a slot
/// only while the whole slot fits at its bid, whatever it ends up paying.
const SLOT_AT_BID: i64 = 2_500_000;
/// Room for 8.5 slots at the price paid: at most 8 can ever be held. One request at a time
/// sells 7 (6 paid + one more at the bid fit; 7 + one do not); racing requests that read the
/// budget at the same moment may sell the 8th, which still fits.
const SMALL_BUDGET: i64 = 8 * PRICE_CPM + PRICE_CPM / 2;
const SOLD: std::ops::RangeInclusive<i64> = 7..=8;
const _: () = assert!(
    6 * PRICE_CPM + SLOT_AT_BID <= SMALL_BUDGET
        && 7 * PRICE_CPM + SLOT_AT_BID > SMALL_BUDGET
        && 9 * PRICE_CPM > SMALL_BUDGET
);

/// The container's runtime layout, as the `Dockerfile` sets it up: the built site copied to a
/// directory of its own, the image's environment, the database in the working directory. The
/// binary must need nothing else of the repository: ready, and a page served with its hashed,
/// immutable bundle.
#[tokio::test]
async fn the_container_layout_serves_from_a_copied_site() {
    let dockerfile = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Dockerfile"))
        .expect("the Dockerfile");
    let image_env = runtime_env(&dockerfile);
    let setting = |key: &str| {
        image_env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("the image sets no {key}"))
    };
    let root = std::env::temp_dir().join(format!("herald-image-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    // The image's paths, under a directory of the test's own.
    let at = |path: &str| root.join(path.trim_start_matches('/'));
    let site = at(&setting("LEPTOS_SITE_ROOT"));
    copy_dir(&support::site_root(), &site);
    let data = at("/data");
    std::fs::create_dir_all(&data).expect("the data directory");
    let database = setting("DATABASE_URL").replacen("/data", &data.display().to_string(), 1);
    assert!(database.starts_with("sqlite://"), "{database}");
    // The test's own connection opens (and creates) the file first; the server is given the
    // image's URL, without the mode that creates it.
    let instance = Instance::start_with("sqlite", &format!("{database}?mode=rwc"), |command| {
        for (key, value) in &image_env {
            command.env(key, value);
        }
        command
            .env("LEPTOS_SITE_ROOT", &site)
            .env("DATABASE_URL", &database)
            .env("HERALD_LISTEN", "127.0.0.1:0")
            .current_dir(&data);
    })
    .await;
    // As the image runs it: listening on every address, asked on loopback.
    assert!(
        probe_listen(&format!("0.0.0.0:{}", instance.app.addr.port())),
        "`server probe` finds it ready"
    );
    let http = reqwest::Client::new();
    let page = http
        .get(instance.app.url("/sign-in"))
        .send()
        .await
        .expect("sign-in page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    let script = html
        .split('"')
        .find(|part| part.starts_with("/pkg/") && part.ends_with(".js"))
        .unwrap_or_else(|| panic!("no script under /pkg in\n{html}"))
        .to_owned();
    let asset = http
        .get(instance.app.url(&script))
        .send()
        .await
        .expect("the script");
    assert_eq!(asset.status(), 200, "{script}");
    let caching = asset
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(caching.contains("immutable"), "{script}: {caching}");
    assert!(instance.stop().await, "stops cleanly on SIGTERM");
    let _ = std::fs::remove_dir_all(&root);
}

/// The `ENV` settings of the Dockerfile's last stage (the runtime image), in order.
fn runtime_env(dockerfile: &str) -> Vec<(String, String)> {
    let runtime = dockerfile.rsplit("\nFROM ").next().unwrap_or_default();
    let mut settings = Vec::new();
    let mut in_env = false;
    for line in runtime.lines() {
        let line = line.trim();
        let rest = match line.strip_prefix("ENV ") {
            Some(rest) => rest,
            None if in_env => line,
            None => continue,
        };
        in_env = rest.ends_with('\\');
        for pair in rest.trim_end_matches('\\').split_whitespace() {
            if let Some((key, value)) = pair.split_once('=') {
                settings.push((key.to_owned(), value.to_owned()));
            }
        }
    }
    settings
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the site") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// Whether `server probe` (the image's health check) finds a Herald at `addr` ready.
fn probe(addr: SocketAddr) -> bool {
    probe_listen(&addr.to_string())
}

/// `server probe` with `HERALD_LISTEN` set to `listen`.
fn probe_listen(listen: &str) -> bool {
    std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("probe")
        .env("HERALD_LISTEN", listen)
        .env("DATABASE_URL", "sqlite://unused-by-probe.db")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run server probe")
        .success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_sessions_catalog_and_budgets() {
    for (backend, url) in migrations::db::fresh_all_urls().await {
        let b = backend;
        let first = Instance::start(backend, &url).await;
        let second = Instance::start(backend, &url).await;
        let (one, two) = (&first.app, &second.app);
        // The container health check: ready, and a port nobody listens on is not.
        assert!(
            probe(one.addr),
            "{b}: `server probe` finds the instance ready"
        );
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        assert!(!probe(closed), "{b}: nothing listens there");

        // Topics, channels, a running campaign and a delivery key, written through one.
        let world = delivery_support::world(&one.db).await;

        // A session made on one instance is good on the other.
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let on_one = one.client_sharing(&jar);
        let signed = on_one.sign_up("ada@example.com", PASSWORD).await;
        assert!(signed.status.is_success(), "{b}: {signed:?}");
        let on_two = two.client_sharing(&jar);
        assert_eq!(
            on_two.whoami().await.as_deref(),
            Some("ada@example.com"),
            "{b}: the session made on one works on two"
        );
        let page = on_two.get("/campaigns").await;
        assert_eq!(page.status(), 200, "{b}");

        // A catalog edit through one shows in the other's forecast.
        let forecast = [
            ("request[targeting][languages][0]", "pt"),
            ("request[bid]", "1500000"),
            ("request[sort]", "Subscribers"),
            ("request[page]", "0"),
        ];
        let before = on_two.call("forecast", &forecast).await;
        assert_eq!(before.body["channels"], 0, "{b}: {before:?}");
        support::confirm(one, "ada@example.com").await;
        one.db
            .execute_unprepared(
                "INSERT INTO staff_role (user_id, role, granted_by, granted_at) \
                 SELECT id, 'admin', NULL, CURRENT_TIMESTAMP FROM app_user \
                 WHERE email = 'ada@example.com'",
            )
            .await
            .expect(b);
        let csv = "handle,title,topic,language,subscribers,avg_views,posts_per_day\n\
                   novo_canal,Novo canal,tech,pt,12000,3000,2\n";
        import_catalog(&on_one, csv).await;
        let mut seen = 0;
        for _ in 0..50 {
            let after = on_two.call("forecast", &forecast).await;
            seen = after.body["channels"].as_u64().unwrap_or(0);
            if seen == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            seen, 1,
            "{b}: instance two's forecast has the channel one imported"
        );

        // Decisions spread over both instances never commit more than a small budget.
        let mut setup = vec![
            "UPDATE platform_setting SET value = 24 WHERE key = 'ad_slots_per_day'".to_owned(),
            format!(
                "UPDATE campaign SET total_budget_micros = {SMALL_BUDGET} WHERE id = {}",
                world.campaign.0
            ),
        ];
        for i in 0..CHANNELS {
            setup.push(format!(
                "INSERT INTO channel (handle, title, topic_id, language, subscribers, avg_views, \
                 posts_per_day, status, updated_at) SELECT 'shared_{i}', 'Shared {i}', id, 'en', \
                 5000, 1000, 24.0, 'active', CURRENT_TIMESTAMP FROM topic WHERE slug = 'tech'"
            ));
        }
        setup.push(
            "UPDATE platform_setting SET value = value + 1 \
             WHERE key IN ('catalog_version', 'delivery_version')"
                .to_owned(),
        );
        for sql in &setup {
            one.db.execute_unprepared(sql).await.expect(sql);
        }
        // Each instance notices the new channels and budget before the race starts.
        for app in [one, two] {
            let warm = Api::new(app)
                .decide(
                    &world.key.secret,
                    delivery_support::GAMMA,
                    &format!("warm-{}", app.addr),
                )
                .await;
            assert_eq!(
                warm.status, 204,
                "{b}: a channel the campaign does not target"
            );
        }
        let mut asks = tokio::task::JoinSet::new();
        for i in 0..CHANNELS * 2 {
            // Every channel is asked by both instances.
            let api = Api::new(if i < CHANNELS { one } else { two });
            let secret = world.key.secret.clone();
            asks.spawn(async move {
                let answer = api
                    .decide(
                        &secret,
                        &format!("shared_{}", i % CHANNELS),
                        &format!("s-{i}"),
                    )
                    .await;
                (usize::from(i >= CHANNELS), answer.status)
            });
        }
        let mut filled = [0_u32; 2];
        while let Some(done) = asks.join_next().await {
            let (instance, status) = done.expect("task");
            assert!(status == 200 || status == 204, "{b}: {status}");
            if status == 200 {
                filled[instance] += 1;
            }
        }
        let sold = i64::from(filled[0] + filled[1]);
        assert!(
            SOLD.contains(&sold),
            "{b}: {sold} slots sold (one, two: {filled:?})"
        );
        let committed = scalar(
            &one.db,
            &format!(
                "SELECT committed FROM campaign_spend WHERE campaign_id = {}",
                world.campaign.0
            ),
        )
        .await;
        assert!(committed <= SMALL_BUDGET, "{b}: committed {committed}");
        assert_eq!(
            committed,
            sold * PRICE_CPM,
            "{b}: every sold slot holds its price"
        );
        let check = app::service::ledger::check::check(&two.db).await.expect(b);
        assert!(check.problems.is_empty(), "{b}: {:?}", check.problems);

        assert!(first.stop().await, "{b}: one stops cleanly");
        assert!(second.stop().await, "{b}: two stops cleanly");
    }
}

/// A stop (SIGTERM) while a catalog import is being applied lets it finish within the grace:
/// it ends applied, every row published, instead of being cut off and left "applying" until
/// an instance's recovery fails it a minute later.
#[tokio::test]
async fn a_stop_lets_a_catalog_import_being_applied_finish() {
    // Large enough that applying it outlasts the round trips between its confirmation and
    // the stop (seconds, against milliseconds).
    const ROWS: usize = 40_000;
    let csv = support::channels_csv(ROWS, 5, 0);
    for (b, url) in migrations::db::fresh_all_urls().await {
        // The topic taxonomy, no channels: the file's topics must exist.
        let setup = migrations::db::connect(&url).await.expect(b);
        app::service::catalog_seed::insert(&setup, 0, 1)
            .await
            .expect(b);
        setup.close().await.expect(b);
        let instance = Instance::start_with(b, &url, |command| {
            command.env("HERALD_SHUTDOWN_GRACE", "100");
        })
        .await;
        let app = &instance.app;
        let admin = app.client();
        let signed = admin.sign_up("ada@example.com", PASSWORD).await;
        assert!(signed.status.is_success(), "{b}: {signed:?}");
        support::confirm(app, "ada@example.com").await;
        support::grant_staff(app, "ada@example.com", "admin").await;
        import_catalog(&admin, &csv).await;
        let db = app.db.clone();
        let status = async || {
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    "SELECT status FROM catalog_import",
                ))
                .await
                .expect(b)
                .expect("the import");
            row.try_get::<String>("", "status").expect(b)
        };
        // The stop must find it running, or the test would prove nothing.
        assert_eq!(status().await, "applying", "{b}");
        assert!(
            instance.stop_within(Duration::from_secs(120)).await,
            "{b}: stops cleanly"
        );
        assert_eq!(
            status().await,
            "applied",
            "{b}: the import finished before the process ended"
        );
        assert_eq!(
            scalar(&db, "SELECT COUNT(*) FROM channel").await,
            ROWS as i64,
            "{b}: every row published"
        );
    }
}

/// Uploads `csv` and publishes it as the catalog import page does.
async fn import_catalog(admin: &Client, csv: &str) {
    let part = reqwest::multipart::Part::text(csv.to_owned())
        .file_name("channels.csv")
        .mime_str("text/csv")
        .expect("mime");
    let uploaded = admin
        .http
        .post(format!("{}/api/admin_catalog_import_upload", admin.base))
        .header("accept", "application/json")
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("upload");
    assert!(uploaded.status().is_success(), "{uploaded:?}");
    let preview: serde_json::Value = uploaded.json().await.expect("preview");
    let id = preview["id"].to_string();
    let applied = admin
        .call("admin_catalog_import_apply", &[("id", id.as_str())])
        .await;
    assert!(applied.status.is_success(), "{applied:?}");
}

/// One integer from `sql`.
/// The demo data (`serve --seed-if-empty`) shows every money feature, made by the services:
/// a billing member, delivery last month (and in the last days), a low-balance warning to both
/// members, a refund, a reversed charge, a correction waiting for the finance user's approval, a
/// paid payout for last month, a top-up waiting, a share link and the bank details advertisers pay
/// to; and the books are sound.
#[tokio::test]
async fn the_demo_data_shows_every_money_feature() {
    use chrono::{Datelike, Timelike};
    for (b, db) in migrations::db::fresh_all().await {
        let logins = server::seed::populate(&db, 2_000, 7).await.expect(b).logins;
        assert!(!app::service::seed::interrupted(&db).await.expect(b), "{b}");
        assert!(
            logins.iter().any(|l| l.email == "billing@herald.local"),
            "{b}"
        );
        let count = |sql: &'static str| scalar(&db, sql);
        for (what, sql, expected) in [
            (
                "the low-balance warning, to the owner and the billing member",
                "SELECT COUNT(DISTINCT user_id) FROM notification WHERE kind = 'balance_low'",
                2,
            ),
            (
                "a refund",
                "SELECT COUNT(*) FROM finance_request WHERE kind = 'refund' AND status = 'done'",
                1,
            ),
            (
                "a top-up waiting for approval",
                "SELECT COUNT(*) FROM finance_request WHERE kind = 'top_up' AND status = 'pending'",
                1,
            ),
            (
                "a reversed charge",
                "SELECT COUNT(*) FROM spend_correction",
                1,
            ),
            (
                "a correction waiting for approval",
                "SELECT COUNT(*) FROM correction_request WHERE status = 'pending'",
                1,
            ),
            ("a share link", "SELECT COUNT(*) FROM report_share_link", 1),
            (
                "bank details for top-ups",
                "SELECT COUNT(*) FROM platform_text WHERE key = 'bank_details'",
                1,
            ),
        ] {
            assert_eq!(count(sql).await, expected, "{b}: {what}");
        }
        // Last month's payout, unless the month ended minutes ago (payable from 00:05 UTC).
        let now = chrono::Utc::now();
        if !(now.day() == 1 && now.hour() == 0 && now.minute() < 10) {
            assert_eq!(
                count("SELECT COUNT(*) FROM publisher_payout").await,
                1,
                "{b}: a paid payout"
            );
            assert_eq!(
                count("SELECT COUNT(*) FROM payout_request WHERE status = 'pending'").await,
                1,
                "{b}: a payout waiting for approval"
            );
        }
        // Last month has spend (its statement and payables are not empty).
        let last_month = scalar(
            &db,
            &format!(
                "SELECT COUNT(*) FROM delivery_decision WHERE created_at < '{}'",
                now.date_naive().with_day(1).expect("the 1st")
            ),
        )
        .await;
        assert!(last_month > 0, "{b}: delivery last month");
        let check = app::service::ledger::check::check(&db).await.expect(b);
        assert!(check.problems.is_empty(), "{b}: {:?}", check.problems);
    }
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .expect(sql)
        .expect(sql);
    row.try_get_by_index::<i64>(0).expect(sql)
}

#[tokio::test]
async fn the_bundle_has_hashed_names_kept_for_a_year_and_is_sent_as_compressed_at_build_time() {
    let site = support::site_root();
    let pkg = site.join("pkg");
    let files = app::bundle::BundleFiles::find(&site)
        .unwrap_or_else(|e| panic!("{e} (bash .ci/test builds it)"));
    assert!(
        files.immutable(),
        "{}: .ci/build names every file by its content hash",
        files.wasm
    );
    let url = format!("/pkg/{}", files.wasm);
    for app in support::spawn_all(false).await {
        let b = app.backend;
        let http = reqwest::Client::new();
        for (accept, encoding, suffix) in [("br, gzip", "br", "br"), ("gzip", "gzip", "gz")] {
            let precompressed = pkg.join(format!("{}.{suffix}", files.wasm));
            let size = std::fs::metadata(&precompressed)
                .unwrap_or_else(|e| panic!("{}: {e} (built by .ci/build)", precompressed.display()))
                .len();
            let wasm = http
                .get(app.url(&url))
                .header("accept-encoding", accept)
                .send()
                .await
                .expect(b);
            assert_eq!(wasm.status(), 200, "{b}");
            let headers = wasm.headers().clone();
            assert_eq!(headers["content-encoding"], encoding, "{b}");
            assert_eq!(headers["content-type"], "application/wasm", "{b}");
            assert_eq!(
                headers["cache-control"], "public, max-age=31536000, immutable",
                "{b}"
            );
            assert_eq!(headers["vary"], "accept-encoding", "{b}");
            let body = wasm.bytes().await.expect(b);
            assert_eq!(
                body.len() as u64,
                size,
                "{b}: the {suffix} file made at build time"
            );

            let again = http
                .get(app.url(&url))
                .header("accept-encoding", accept)
                .header("if-modified-since", headers["last-modified"].clone())
                .send()
                .await
                .expect(b);
            assert_eq!(again.status(), 304, "{b}: unchanged, so no body again");
            assert_eq!(
                again.headers()["cache-control"],
                "public, max-age=31536000, immutable",
                "{b}"
            );
        }
        // The favicon keeps its name: cached a day. A signed-in page: never stored.
        let icon = http.get(app.url("/favicon.ico")).send().await.expect(b);
        assert_eq!(icon.status(), 200, "{b}");
        assert_eq!(
            icon.headers()["cache-control"],
            "public, max-age=86400",
            "{b}"
        );
        let user = app.client();
        assert!(
            user.sign_up("cache@example.com", support::PASSWORD)
                .await
                .status
                .is_success()
        );
        let page = user.get("/").await;
        assert_eq!(page.status(), 200, "{b}");
        assert_eq!(
            page.headers()["cache-control"],
            "no-store",
            "{b}: a signed-in page"
        );
        let plain = http.get(app.url(&url)).send().await.expect(b);
        assert!(plain.headers().get("content-encoding").is_none(), "{b}");
        let raw = std::fs::metadata(pkg.join(&files.wasm))
            .expect("wasm")
            .len();
        assert_eq!(plain.bytes().await.expect(b).len() as u64, raw, "{b}");

        // Every other file of the bundle the same way: the chunks, the chunk loader and its
        // manifest, the glue script, the stylesheet. Each has its brotli and gzip copies, made
        // at build time, and is sent as one of them, kept for a year.
        let mut checked = 0;
        for entry in std::fs::read_dir(&pkg).expect("pkg") {
            let name = entry.expect("pkg entry").file_name();
            let name = name.to_string_lossy().into_owned();
            if name.ends_with(".br") || name.ends_with(".gz") || name == files.wasm {
                continue;
            }
            for (accept, encoding, suffix) in [("br, gzip", "br", "br"), ("gzip", "gzip", "gz")] {
                let made = std::fs::read(pkg.join(format!("{name}.{suffix}")))
                    .unwrap_or_else(|e| panic!("{name}.{suffix}: {e} (made by .ci/build)"));
                let sent = http
                    .get(app.url(&format!("/pkg/{name}")))
                    .header("accept-encoding", accept)
                    .send()
                    .await
                    .expect(b);
                assert_eq!(sent.status(), 200, "{b}: {name}");
                let headers = sent.headers().clone();
                assert_eq!(headers["content-encoding"], encoding, "{b}: {name}");
                assert_eq!(
                    headers["cache-control"], "public, max-age=31536000, immutable",
                    "{b}: {name}"
                );
                assert_eq!(
                    sent.bytes().await.expect(b),
                    made,
                    "{b}: {name} as compressed at build time"
                );
            }
            checked += 1;
        }
        assert!(checked > 10, "{b}: {checked} files besides the main wasm");
    }
}

/// The demo seed is many transactions: one stopped half-way is recorded as such, and a later
/// `--seed-if-empty` refuses the half-seeded database instead of serving it as if in use.
#[tokio::test]
async fn a_demo_seed_stopped_half_way_is_refused_not_served() {
    use app::service::seed;
    use server::config::LogFormat;
    for (backend, db) in migrations::db::fresh_all().await {
        let b = backend;
        assert!(!seed::interrupted(&db).await.expect(b), "{b}");
        assert!(seed::begin(&db).await.expect(b), "{b}");
        // A second instance seeding at the same time does not begin too.
        assert!(!seed::begin(&db).await.expect(b), "{b}");
        // What a stop after the first transactions leaves: users, and the seed not finished.
        seed::seed(&db, &app::service::passwords::PasswordHasher::new(2), 40, 3)
            .await
            .expect(b);
        assert!(seed::interrupted(&db).await.expect(b), "{b}");
        let refused = server::seed::run(&db, 40, 3, LogFormat::Text).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("stopped half-way")),
            "{b}: {refused:?}"
        );
        seed::finish(&db).await.expect(b);
        assert!(!seed::interrupted(&db).await.expect(b), "{b}");
        // A whole seed leaves nothing to refuse, and seeds nothing twice.
        assert_eq!(
            server::seed::run(&db, 40, 3, LogFormat::Text).await,
            Ok(()),
            "{b}"
        );
    }
}
