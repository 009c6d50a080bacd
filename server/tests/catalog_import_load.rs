//! HTTP test of a large catalog import (security review item 11): sign-ins keep working while
//! 200,000 rows are applied, and a restarted server fails an import a dead process left
//! "applying" (and leaves alone one that a live instance is applying). HEAVY: the import
//! test applies 200,000 new rows, then changes all of them, on each backend.

mod support;

use app::{
    entity::{app_user, catalog_import, catalog_import_row},
    service::catalog_seed,
};
use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};
use support::{Client, PASSWORD, TestApp, spawn_all, spawn_on};

/// `rows` channels as a CSV file; with `bump`, each has one more subscriber than the first
/// file, so that importing it changes every channel the first one added.
fn file(rows: usize, bump: i64) -> String {
    support::channels_csv(rows, 77, bump)
}

/// The heavy test fails rather than runs on if an import takes longer than this.
const IMPORT_DEADLINE: Duration = Duration::from_secs(300);

/// A tiny write every few milliseconds that changes nothing, timing how long each one waits:
/// on SQLite its slowest wait is how long the longest write transaction (the publish) held
/// the write lock.
struct WriteProbe {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(Instant, Duration)>,
}

impl WriteProbe {
    fn start(db: sea_orm::DatabaseConnection) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut slowest = (Instant::now(), Duration::ZERO);
                while !stop.load(Ordering::Relaxed) {
                    let asked = Instant::now();
                    db.execute_unprepared("DELETE FROM catalog_import_row WHERE id = -1")
                        .await
                        .expect("probe write");
                    if asked.elapsed() > slowest.1 {
                        slowest = (asked, asked.elapsed());
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                slowest
            }
        });
        Self { stop, task }
    }

    /// When the slowest write was asked for, and how long it took.
    async fn stop(self) -> (Instant, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("probe task")
    }
}

async fn make_admin(app: &TestApp, email: &str) {
    // Staff roles key on the address: only a confirmed one holds them.
    support::confirm(app, email).await;
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO staff_role (user_id, role, granted_by, granted_at) \
             SELECT id, 'admin', NULL, CURRENT_TIMESTAMP FROM app_user WHERE email = '{email}'"
        ))
        .await
        .expect("grant admin");
}

/// Uploads `csv` as `admin`, checks its preview counts `(new, changed)`, applies it, and signs
/// `email` in again and again until it is applied: every sign-in must succeed, including
/// those that queue behind the publish.
async fn import_while_signing_in(
    app: &TestApp,
    admin: &Client,
    csv: &str,
    (new, changed): (u64, u64),
    email: &str,
) {
    let b = app.backend;
    let part = reqwest::multipart::Part::text(csv.to_owned())
        .file_name("channels.csv")
        .mime_str("text/csv")
        .expect("mime");
    let uploading = Instant::now();
    let staged = admin
        .http
        .post(format!("{}/api/admin_catalog_import_upload", admin.base))
        .header("accept", "application/json")
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .timeout(IMPORT_DEADLINE)
        .send()
        .await
        .expect("upload");
    assert!(staged.status().is_success(), "{b}: {}", staged.status());
    let preview: serde_json::Value = staged.json().await.expect("preview");
    eprintln!("{b}: upload and preview took {:.2?}", uploading.elapsed());
    assert_eq!(preview["new_rows"], new, "{b}");
    assert_eq!(preview["changed_rows"], changed, "{b}");
    let id = preview["id"].to_string();

    let started = Instant::now();
    let applied = admin
        .call("admin_catalog_import_apply", &[("id", id.as_str())])
        .await;
    assert!(applied.status.is_success(), "{b}: {applied:?}");
    let probe = WriteProbe::start(app.db.clone());
    let status = || async {
        let reply = admin
            .call("admin_catalog_import_progress", &[("id", id.as_str())])
            .await;
        reply.body["status"].as_str().unwrap_or_default().to_owned()
    };
    let mut sign_ins: Vec<(Instant, Instant)> = Vec::new();
    let final_status = loop {
        let before = status().await;
        if before != "Applying" {
            break before;
        }
        assert!(
            started.elapsed() < IMPORT_DEADLINE,
            "{b}: import still applying"
        );
        let asked = Instant::now();
        let signed_in = app.client().sign_in(email, PASSWORD).await;
        assert_eq!(signed_in.status, 200, "{b}: {signed_in:?}");
        sign_ins.push((asked, Instant::now()));
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = started.elapsed();
    let (lock_at, lock_wait) = probe.stop().await;
    let slowest = sign_ins
        .iter()
        .map(|(asked, done)| *done - *asked)
        .max()
        .unwrap_or_default();
    // The sign-ins in flight while the probe waited longest, i.e. during the publish.
    let lock_end = lock_at + lock_wait;
    let overlapping = sign_ins
        .iter()
        .filter(|(asked, done)| *asked < lock_end && *done > lock_at)
        .count();
    eprintln!(
        "{b}: import of {new} new and {changed} changed rows applied in {took:.2?}; {} \
         sign-ins during it, slowest {slowest:.2?}; longest wait for a write {lock_wait:.2?} \
         (the publish), {overlapping} sign-ins in flight meanwhile",
        sign_ins.len()
    );
    assert_eq!(final_status, "Applied", "{b}");
    assert!(
        !sign_ins.is_empty(),
        "{b}: at least one sign-in ran while the import applied"
    );
    if lock_wait > Duration::from_secs(1) {
        assert!(overlapping > 0, "{b}: a sign-in waited out the publish");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_during_a_200k_row_import_succeeds() {
    const ROWS: u64 = 200_000;
    let (added, changed) = (file(ROWS as usize, 0), file(ROWS as usize, 1));
    for app in spawn_all(false).await {
        let b = app.backend;
        catalog_seed::insert(&app.db, 0, 77).await.expect(b);
        let admin = app.client();
        admin.sign_up("admin@example.com", PASSWORD).await;
        make_admin(&app, "admin@example.com").await;
        let reader = app.client();
        reader.sign_up("ads@example.com", PASSWORD).await;
        // 200,000 inserts, then 200,000 updates (the longer publish).
        import_while_signing_in(&app, &admin, &added, (ROWS, 0), "ads@example.com").await;
        import_while_signing_in(&app, &admin, &changed, (0, ROWS), "ads@example.com").await;
        assert!(reader.whoami().await.is_some(), "{b}");
    }
}

/// An import in the `applying` state, as a process that last beat at `heartbeat` leaves it,
/// with one staged row.
async fn applying_import(
    db: &sea_orm::DatabaseConnection,
    by: i64,
    heartbeat: chrono::DateTime<Utc>,
) -> i64 {
    let id = catalog_import::Entity::insert(catalog_import::ActiveModel {
        created_by: Set(by),
        created_at: Set(heartbeat),
        file_name: Set("x.csv".into()),
        file_sha256: Set(String::new()),
        csv: Set(String::new()),
        total_rows: Set(1),
        bad_rows: Set(0),
        new_rows: Set(1),
        changed_rows: Set(0),
        unchanged_rows: Set(0),
        status: Set("applying".into()),
        heartbeat_at: Set(Some(heartbeat)),
        ..Default::default()
    })
    .exec(db)
    .await
    .expect("import")
    .last_insert_id;
    catalog_import_row::Entity::insert(catalog_import_row::ActiveModel {
        import_id: Set(id),
        handle: Set(format!("stuck_{id}")),
        title: Set("Stuck".into()),
        topic_id: Set(1),
        language: Set("en".into()),
        subscribers: Set(1),
        avg_views: Set(1),
        posts_per_day: Set(1.0),
        status: Set("active".into()),
        ..Default::default()
    })
    .exec(db)
    .await
    .expect("staged row");
    id
}

async fn staged_rows(db: &sea_orm::DatabaseConnection, import: i64) -> u64 {
    catalog_import_row::Entity::find()
        .filter(catalog_import_row::Column::ImportId.eq(import))
        .count(db)
        .await
        .expect("staged rows")
}

#[tokio::test]
async fn a_restarted_server_fails_an_import_left_applying() {
    for (b, db) in migrations::db::fresh_all().await {
        catalog_seed::insert(&db, 3, 5).await.expect(b);
        let first = spawn_on(b, db.clone(), false).await;
        let admin = first.client();
        admin.sign_up("admin@example.com", PASSWORD).await;
        make_admin(&first, "admin@example.com").await;
        let by = app_user::Entity::find()
            .one(&db)
            .await
            .expect(b)
            .expect(b)
            .id;
        // What a crash leaves: an import whose process stopped beating five minutes ago,
        // with staged rows. Beside it, one another instance is applying right now.
        let stuck = applying_import(&db, by, Utc::now() - chrono::TimeDelta::minutes(5)).await;
        let live = applying_import(&db, by, Utc::now()).await;

        let restarted = spawn_on(b, db.clone(), false).await;
        let admin = restarted.client();
        admin.sign_in("admin@example.com", PASSWORD).await;
        let status = |id: i64| {
            let admin = admin.clone();
            async move {
                let id = id.to_string();
                admin
                    .call("admin_catalog_import_progress", &[("id", id.as_str())])
                    .await
            }
        };
        let progress = status(stuck).await;
        assert_eq!(progress.body["status"], "Failed", "{b}: {progress:?}");
        let message = progress.body["message"].as_str().unwrap_or_default();
        assert!(message.contains("interrupted"), "{b}: {message}");
        assert_eq!(
            staged_rows(&db, stuck).await,
            0,
            "{b}: staged rows discarded"
        );
        let progress = status(live).await;
        assert_eq!(progress.body["status"], "Applying", "{b}: {progress:?}");
        assert_eq!(
            staged_rows(&db, live).await,
            1,
            "{b}: a live import keeps its rows"
        );
    }
}
