//! Crash test: the real server binary is killed with SIGKILL in the middle of a simulator run,
//! restarted on the same SQLite database and port, and every request of the run's journal is
//! sent again — nothing is counted twice and nothing is lost: the replay answers as the first
//! run did, the ledger replays to its balances, every spend total agrees, and every event and
//! slot the network sent is stored exactly once with the charge it was first answered.

mod money_support;
mod support;

use app::{
    entity::{delivery_event, delivery_slot},
    model::Micros,
    service::{delivery::keys, finance},
};
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use server::simulate::journal::{self, RequestKind};
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

/// Synthetic channels seeded (a smaller catalog than the demo's default 20,000).
const CHANNELS: &str = "5000";

/// A child process that is killed (SIGKILL) and reaped when dropped, so no server or simulator
/// outlives a failing test.
struct Process {
    child: Child,
    what: String,
}

impl Process {
    fn spawn(mut command: Command, what: &str, log: &Path) -> Self {
        let out = std::fs::File::create(log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e}"));
        Self {
            child,
            what: what.to_owned(),
        }
    }

    /// `kill -9`: no shutdown, no flush, no goodbye.
    fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Waits for the process to end on its own, at most `within` (then the test fails).
    async fn finish(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not finish within {within:?}",
                self.what
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test's folder (database, journal, logs): removed when the test passes, kept (and named
/// in the failure) when it does not.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("crash test files kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// One Herald installation on this machine: its database, its loopback port, its files.
struct Installation {
    dir: PathBuf,
    database_url: String,
    port: u16,
}

impl Installation {
    fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `server <args>` with this installation's environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
        command
            .args(args)
            .current_dir(&self.dir)
            .env("DATABASE_URL", &self.database_url)
            .env("HERALD_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("HERALD_SECURE_COOKIES", "false")
            .env("HERALD_DEV_MAIL", "true")
            .env("HERALD_LOG", "warn")
            .env("LEPTOS_SITE_ROOT", support::site_root())
            .env("LEPTOS_OUTPUT_NAME", "herald")
            .env_remove("HERALD_SIMULATE_URL")
            .env_remove("HERALD_DELIVERY_KEY");
        command
    }

    fn log(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Starts `server serve --seed-if-empty` and waits until its delivery API answers `key`.
    async fn serve(&self, key: &str, log: &str) -> Process {
        let mut server = Process::spawn(
            self.command(&["serve", "--seed-if-empty"]),
            "the server",
            &self.log(log),
        );
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client");
        let url = format!("{}/api/delivery/v1/channels?limit=1", self.base_url());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = server.exited() {
                panic!(
                    "the server exited ({status}) before answering: {}",
                    read(&self.log(log))
                );
            }
            let answered = http.get(&url).bearer_auth(key).send().await;
            if answered.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "the server never answered: {}",
                read(&self.log(log))
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `server <args>` to its end (at most `within`) and returns what it printed.
    async fn run(&self, args: &[&str], what: &str, log: &str, within: Duration) -> String {
        let mut process = Process::spawn(self.command(args), what, &self.log(log));
        let status = process.finish(within).await;
        let output = read(&self.log(log));
        assert!(status.success(), "{what} failed ({status}): {output}");
        output
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("({}: {e})", path.display()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// The `name=value` figures of the last line of `output` that starts with `prefix`.
fn figures(output: &str, prefix: &str) -> HashMap<String, i64> {
    let line = output
        .lines()
        .rev()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{output}"));
    line.split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| {
            let value = value
                .parse()
                .unwrap_or_else(|e| panic!("{name}={value} in {line:?}: {e}"));
            (name.to_owned(), value)
        })
        .collect()
}

/// Waits until the journal shows views accepted (traffic is flowing and money is moving) and
/// at least `min` has passed since `started`.
async fn traffic_flowing(journal: &Path, started: Instant, min: Duration, simulator: &mut Process) {
    let deadline = started + Duration::from_secs(40);
    loop {
        let text = std::fs::read_to_string(journal).unwrap_or_default();
        if started.elapsed() >= min && text.contains(r#""outcome":"accepted""#) {
            return;
        }
        if let Some(status) = simulator.exited() {
            panic!("the simulator ended ({status}) before any view was accepted");
        }
        assert!(Instant::now() < deadline, "no view accepted within 40 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_the_server_mid_run_restart_and_resend_everything_nothing_twice_nothing_lost() {
    let started = Instant::now();
    let site = support::site_root();
    if let Err(e) = app::bundle::BundleFiles::find(&site) {
        panic!("{e} (bash .ci/test builds it)");
    }
    let dir = std::env::temp_dir().join(format!(
        "herald-crash-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let _scratch = Scratch(dir.clone());
    let herald = Installation {
        database_url: format!("sqlite://{}/herald.db?mode=rwc", dir.display()),
        port: free_port(),
        dir,
    };
    let journal_path = herald.dir.join("journal.jsonl");

    // The demo platform on a smaller catalog, then a well-funded campaign that takes most
    // English slots (the demo's own campaign is held back by its daily budget) and a network key.
    let seeded = herald
        .run(
            &["seed", "--channels", CHANNELS],
            "server seed",
            "seed.log",
            Duration::from_secs(120),
        )
        .await;
    assert!(seeded.contains("advertiser@herald.local"), "{seeded}");
    let db = migrations::db::connect(&herald.database_url)
        .await
        .expect("open the database");
    let owner = money_support::actor(
        &db,
        money_support::user_id(&db, "advertiser@herald.local").await,
    )
    .await;
    let account = owner.membership.expect("the advertiser's account").0;
    let finance_user = money_support::user_id(&db, "finance@herald.local").await;
    finance::credit_account(
        &db,
        account,
        Micros::units(100_000),
        "CRASH-TEST-FUNDS",
        "crash test",
        finance_user.0,
        None,
        Utc::now(),
    )
    .await
    .expect("credit");
    money_support::launch(
        &db,
        &owner,
        money_support::campaign_form("Crash test reach", &["en"], "3.00", "50000"),
    )
    .await;
    let key = keys::create_unchecked(&db, "Crash test network", None, Utc::now())
        .await
        .expect("key");
    db.close().await.expect("close the database");
    let ready = started.elapsed();

    // A run of traffic, and the server killed in its middle.
    let mut server = herald.serve(&key.secret, "server-1.log").await;
    let base_url = herald.base_url();
    let journal_arg = journal_path.display().to_string();
    let simulate = [
        "simulate",
        "--base-url",
        &base_url,
        "--key",
        &key.secret,
        "--journal",
        &journal_arg,
        "--quiet",
        "--channels",
        "2000",
        "--hours",
        "12",
        "--speed",
        "1800",
        "--max-seconds",
        "45",
        "--seed",
        "13",
    ];
    let run_started = Instant::now();
    let mut simulator = Process::spawn(
        herald.command(&simulate),
        "the simulator",
        &herald.log("simulate.log"),
    );
    traffic_flowing(
        &journal_path,
        run_started,
        Duration::from_secs(4),
        &mut simulator,
    )
    .await;
    server.kill9();
    let killed_after = run_started.elapsed();
    let status = simulator.finish(Duration::from_secs(60)).await;
    let output = read(&herald.log("simulate.log"));
    assert!(
        status.success(),
        "the simulator failed ({status}): {output}"
    );
    let first = figures(&output, "simulate ");
    assert!(
        first["errors"] > 0,
        "the run noticed the server was gone: {output}"
    );
    assert!(
        first["won"] > 0 && first["accepted"] > 0,
        "money moved before the crash: {output}"
    );
    let run_took = run_started.elapsed();

    // The same installation again, and every request of the journal sent once more.
    let server = herald.serve(&key.secret, "server-2.log").await;
    let replay_started = Instant::now();
    let output = herald
        .run(
            &[
                "simulate",
                "--base-url",
                &base_url,
                "--key",
                &key.secret,
                "--replay",
                &journal_arg,
                "--quiet",
                "--max-seconds",
                "120",
            ],
            "the replay",
            "replay.log",
            Duration::from_secs(150),
        )
        .await;
    let replay = figures(&output, "replay ");
    assert_eq!(
        replay["differ"], 0,
        "answers changed after the crash: {output}"
    );
    assert_eq!(replay["errors"], 0, "{output}");
    assert_eq!(
        replay["equal"] + replay["unrecorded"],
        replay["entries"],
        "every entry was compared or re-sent: {output}"
    );
    assert!(
        replay["replayed"] >= first["accepted"],
        "every view accepted before is answered as a replay: {output} (first run {first:?})"
    );
    let replay_took = replay_started.elapsed();
    drop(server);

    // The books, read from the database the two servers shared.
    let db = migrations::db::connect(&herald.database_url)
        .await
        .expect("reopen the database");
    let books = money_support::assert_books(&db).await;
    // The operator's check agrees: `server reconcile` finds no difference (exit status 0).
    let reconciled = herald
        .command(&["reconcile"])
        .output()
        .expect("run server reconcile");
    let printed = String::from_utf8_lossy(&reconciled.stdout);
    assert!(
        reconciled.status.success() && printed.contains("reconciled: no differences"),
        "server reconcile: {printed} {}",
        String::from_utf8_lossy(&reconciled.stderr)
    );
    // Finance's reconciliation of the last 30 days (ledger = events = reports, per account,
    // and every cached balance replayed) finds no difference either.
    let mut auditor = owner.clone();
    auditor.staff_roles.push(app::model::PlatformRole::Finance);
    let period = finance::reconcile::reconcile(&db, &auditor, "", "", 0, Utc::now())
        .await
        .expect("reconcile the period");
    assert!(
        period.differences.is_empty() && period.balance_differences.is_empty(),
        "finance's reconciliation: {:?} {:?}",
        period.differences,
        period.balance_differences
    );
    assert!(
        period.rows.iter().any(|r| r.ledger_charged.0 > 0),
        "the period has the run's charges"
    );
    let entries = journal::read(&journal_path).expect("read the journal");
    let sent = Sent::from_journal(&entries);

    let stored: BTreeMap<String, i64> = delivery_event::Entity::find()
        .filter(delivery_event::Column::KeyId.eq(key.id))
        .all(&db)
        .await
        .expect("events")
        .into_iter()
        .map(|e| (e.event_id, e.posted))
        .collect();
    let expected: BTreeSet<&String> = sent.events.difference(&sent.rejected).collect();
    let missing: Vec<_> = expected
        .iter()
        .filter(|id| !stored.contains_key(**id))
        .collect();
    assert!(
        missing.is_empty(),
        "events sent but not stored: {missing:?}"
    );
    let invented: Vec<_> = stored.keys().filter(|id| !expected.contains(id)).collect();
    assert!(
        invented.is_empty(),
        "events stored but never sent: {invented:?}"
    );
    for (id, posted) in &sent.answered_posted {
        assert_eq!(
            stored.get(id),
            Some(posted),
            "event {id}: stored charge differs from its first answer"
        );
    }

    let slots: BTreeMap<String, Option<i64>> = delivery_slot::Entity::find()
        .filter(delivery_slot::Column::KeyId.eq(key.id))
        .all(&db)
        .await
        .expect("slots")
        .into_iter()
        .map(|s| (s.slot_id, s.decision_id))
        .collect();
    let asked: BTreeSet<&String> = sent.slots.keys().collect();
    let claimed: BTreeSet<&String> = slots.keys().collect();
    assert_eq!(asked, claimed, "every slot asked is claimed once, no other");
    for (slot, answered) in &sent.slots {
        if let Some(decision) = answered {
            assert_eq!(
                slots.get(slot),
                Some(decision),
                "slot {slot}: answered one way, stored another"
            );
        }
    }
    let stored_views: i64 = money_support::scalar(
        &db,
        &format!(
            "SELECT CAST(COALESCE(SUM(views), 0) AS BIGINT) FROM delivery_event WHERE key_id = {}",
            key.id
        ),
    )
    .await;
    assert!(stored_views > 0);

    eprintln!(
        "crash test: set-up {ready:.1?}; run {run_took:.1?} (killed after {killed_after:.1?}), \
         first run {first:?}; replay {replay_took:.1?} {replay:?}; journal {} entries \
         ({} unanswered), {} events / {} slots of this network stored; books {books:?}; \
         total {:.1?}",
        entries.len(),
        sent.unanswered,
        stored.len(),
        slots.len(),
        started.elapsed()
    );
}

/// What the journal says the network sent and was answered.
#[derive(Default)]
struct Sent {
    /// Every event id sent.
    events: BTreeSet<String>,
    /// Event ids answered "rejected" (and never counted).
    rejected: BTreeSet<String>,
    /// The charge of each event answered "accepted" or "replayed".
    answered_posted: BTreeMap<String, i64>,
    /// Every slot asked, with what it was answered: `Some(Some(decision))` an ad,
    /// `Some(None)` no ad, `None` no answer (the crash cut it off).
    slots: BTreeMap<String, Option<Option<i64>>>,
    /// Requests that got no answer (cut off by the crash).
    unanswered: usize,
}

impl Sent {
    fn from_journal(entries: &[journal::JournalEntry]) -> Self {
        let mut sent = Self::default();
        for entry in entries {
            if entry.status.is_none() {
                sent.unanswered += 1;
            }
            match entry.kind {
                RequestKind::Decision => {
                    let slot = entry.body["slot_id"].as_str().expect("slot id").to_owned();
                    let answer = match entry.status {
                        Some(200) => Some(Some(
                            entry
                                .response
                                .as_ref()
                                .and_then(|r| r["decision_id"].as_i64())
                                .expect("a won slot names its decision"),
                        )),
                        Some(204) => Some(None),
                        Some(other) => panic!("slot {slot} answered {other}: {entry:?}"),
                        None => None,
                    };
                    let known = sent.slots.entry(slot.clone()).or_default();
                    if let (Some(before), Some(now)) = (*known, answer) {
                        assert_eq!(before, now, "slot {slot} answered two ways");
                    }
                    *known = known.or(answer);
                }
                RequestKind::Events => {
                    for event in entry.body["events"].as_array().into_iter().flatten() {
                        sent.events
                            .insert(event["event_id"].as_str().expect("id").to_owned());
                    }
                    if entry.status != Some(200) {
                        continue;
                    }
                    let results = entry
                        .response
                        .as_ref()
                        .and_then(|r| r["results"].as_array())
                        .into_iter()
                        .flatten();
                    for result in results {
                        let id = result["event_id"].as_str().expect("id").to_owned();
                        match result["outcome"].as_str() {
                            Some("accepted" | "replayed") => {
                                let posted = result["posted"].as_i64().expect("posted");
                                let first = sent.answered_posted.insert(id.clone(), posted);
                                assert!(
                                    first.is_none_or(|p| p == posted),
                                    "event {id} was answered two charges"
                                );
                            }
                            _ => {
                                sent.rejected.insert(id);
                            }
                        }
                    }
                }
            }
        }
        // An id both rejected and counted was counted: it must be stored.
        let counted: Vec<String> = sent.answered_posted.keys().cloned().collect();
        for id in counted {
            sent.rejected.remove(&id);
        }
        sent
    }
}
