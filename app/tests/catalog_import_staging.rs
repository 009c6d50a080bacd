//! Service tests of applying a catalog import in short steps (security review item 11): an
//! import a dead process left "applying" is failed with its staged rows gone, and readers see
//! the catalog before or after an import, never in between. SQLite always, PostgreSQL too when
//! `TEST_DATABASE_URL` is set.

use app::{
    entity::{catalog_import, catalog_import_row},
    error::AppError,
    model::{ImportStatus, PlatformRole, SignUpInput},
    service::{
        Actor, auth,
        catalog_import::{self as import, ABANDONED_MESSAGE, HEARTBEAT_LEASE, ImportJobs},
        catalog_seed::{self, TOPICS},
        passwords::PasswordHasher,
    },
};
use chrono::Utc;
use migrations::db::fresh_all;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Set, Statement};
use std::time::Duration;

const HEADER: &str = "handle,title,topic,language,subscribers,avg_views,posts_per_day,status";

async fn admin(db: &DatabaseConnection) -> Actor {
    let input = SignUpInput {
        email: "admin@example.com".into(),
        password: "violet harbour 42 kites".into(),
        account_name: "Acme Ads".into(),
        time_zone: "Europe/Berlin".into(),
    };
    let id = auth::sign_up(db, &PasswordHasher::new(2), input, None)
        .await
        .expect("sign up");
    db.execute_unprepared(&format!(
        "INSERT INTO staff_role (user_id, role, granted_by, granted_at) \
         VALUES ({}, 'admin', NULL, CURRENT_TIMESTAMP)",
        id.0
    ))
    .await
    .expect("grant admin");
    Actor {
        user_id: id,
        email: "admin@example.com".into(),
        staff_roles: vec![PlatformRole::Admin].into_iter().collect(),
        membership: None,
        ip: None,
        clock: None,
    }
}

async fn staged(db: &DatabaseConnection) -> u64 {
    catalog_import_row::Entity::find()
        .count(db)
        .await
        .expect("staged rows")
}

/// The catalog as one reader sees it in one statement: channel count and subscriber total.
async fn catalog_sum(db: &DatabaseConnection) -> (i64, i64) {
    let sql = "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(subscribers), 0) AS BIGINT) AS s \
               FROM channel";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("sum")
        .expect("one row");
    (
        row.try_get::<i64>("", "n").expect("n"),
        row.try_get::<i64>("", "s").expect("s"),
    )
}

#[tokio::test]
async fn an_import_abandoned_while_applying_is_failed_and_its_staged_rows_discarded() {
    for (b, db) in fresh_all().await {
        let admin = admin(&db).await;
        catalog_seed::insert(&db, 5, 3).await.expect(b);
        let file =
            format!("{HEADER}\nlost_one,Lost,tech,en,100,10,1,\nlost_two,Lost,tech,en,1,1,1,\n");
        let preview = import::stage(&db, &admin, "lost.csv", file.into_bytes())
            .await
            .expect(b);
        let before = catalog_sum(&db).await;
        // What a process that crashed while staging leaves: the claim and some staged rows.
        let claimed = import::claim(&db, &admin, preview.id).await.expect(b);
        let rows = (0..3).map(|i| catalog_import_row::ActiveModel {
            import_id: Set(claimed.id().0),
            handle: Set(format!("lost_{i}")),
            title: Set("Lost".into()),
            topic_id: Set(1),
            language: Set("en".into()),
            subscribers: Set(1),
            avg_views: Set(1),
            posts_per_day: Set(1.0),
            status: Set("active".into()),
            ..Default::default()
        });
        catalog_import_row::Entity::insert_many(rows)
            .exec_without_returning(&db)
            .await
            .expect(b);
        let jobs = ImportJobs::default();
        let status = |db: DatabaseConnection| {
            let (admin, jobs) = (admin.clone(), jobs.clone());
            async move { import::progress(&db, &jobs, &admin, preview.id).await }
        };

        // Its heartbeat is fresh: it may be applying on another instance, so it stays.
        let recovered = import::recover_abandoned(&db, Utc::now()).await.expect(b);
        assert_eq!(recovered, 0, "{b}");
        assert_eq!(
            status(db.clone()).await.expect(b).status,
            ImportStatus::Applying
        );
        assert_eq!(staged(&db).await, 3, "{b}");

        // A restart after the lease: failed with a plain reason, staged rows gone.
        let later = Utc::now() + HEARTBEAT_LEASE + chrono::TimeDelta::seconds(1);
        let recovered = import::recover_abandoned(&db, later).await.expect(b);
        assert_eq!(recovered, 1, "{b}");
        let progress = status(db.clone()).await.expect(b);
        assert_eq!(progress.status, ImportStatus::Failed, "{b}");
        assert_eq!(progress.message.as_deref(), Some(ABANDONED_MESSAGE), "{b}");
        assert_eq!(staged(&db).await, 0, "{b}");
        assert_eq!(
            catalog_sum(&db).await,
            before,
            "{b}: the catalog is unchanged"
        );
        // A second sweep (another instance) changes nothing; the import cannot be applied now.
        assert_eq!(import::recover_abandoned(&db, later).await.expect(b), 0);
        let again = import::claim(&db, &admin, preview.id).await;
        assert!(
            matches!(again, Err(AppError::Conflict(_))),
            "{b}: {again:?}"
        );
        // The process was only slow: it finds out at its next step and publishes nothing.
        let late = import::run(&db, &jobs, claimed).await;
        assert!(matches!(late, Err(AppError::Conflict(_))), "{b}: {late:?}");
        assert_eq!(catalog_sum(&db).await, before, "{b}");
        assert_eq!(staged(&db).await, 0, "{b}");
    }
}

/// `channels` rows: the first `seeded` are the channels `catalog_seed::insert(db, seeded, 9)`
/// makes, each with one more subscriber; the rest are new.
fn file(channels: usize, seeded: usize) -> String {
    let mut file = format!("{HEADER}\n");
    for (i, c) in catalog_seed::generate(channels, 9).iter().enumerate() {
        let subscribers = c.subscribers + i64::from(i < seeded);
        let (topic, status) = (
            TOPICS[c.topic].0,
            if c.active { "active" } else { "inactive" },
        );
        file.push_str(&format!(
            "{},\"{}\",{topic},{},{subscribers},{},{},{status}\n",
            c.handle, c.title, c.language, c.avg_views, c.posts_per_day
        ));
    }
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_the_catalog_before_or_after_an_import_never_between() {
    let (channels, seeded) = (30_000, 10_000);
    let csv = file(channels, seeded);
    for (b, db) in fresh_all().await {
        let admin = admin(&db).await;
        catalog_seed::insert(&db, seeded, 9).await.expect(b);
        let preview = import::stage(&db, &admin, "big.csv", csv.clone().into_bytes())
            .await
            .expect(b);
        assert_eq!((preview.new_rows, preview.changed_rows), (20_000, 10_000));
        let before = catalog_sum(&db).await;
        let jobs = ImportJobs::default();
        let claimed = import::claim(&db, &admin, preview.id).await.expect(b);
        let task = {
            let (db, jobs) = (db.clone(), jobs.clone());
            tokio::spawn(async move { import::run(&db, &jobs, claimed).await })
        };
        let mut seen = Vec::new();
        let mut while_staged = 0;
        while !task.is_finished() {
            let staging = staged(&db).await;
            seen.push(catalog_sum(&db).await);
            while_staged += u64::from(staging > 0);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        task.await.expect("task").expect(b);
        let after = catalog_sum(&db).await;
        assert_eq!(after.0, channels as i64, "{b}");
        let added = expected_new(channels, seeded) + seeded as i64;
        assert_eq!(after.1, before.1 + added, "{b}: every row applied");
        assert!(
            while_staged > 0,
            "{b}: some reads ran while rows were staged"
        );
        let mixed: Vec<_> = seen
            .iter()
            .filter(|s| **s != before && **s != after)
            .collect();
        assert!(
            mixed.is_empty(),
            "{b}: {} reads saw half an import: {mixed:?}",
            mixed.len()
        );
        assert_eq!(
            staged(&db).await,
            0,
            "{b}: staged rows are discarded once published"
        );
        let applied = catalog_import::Entity::find_by_id(preview.id.0)
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(applied.status, "applied", "{b}");
        eprintln!(
            "{b}: {} reads during the import, {while_staged} with rows staged",
            seen.len()
        );
    }
}

/// Subscribers the new channels of [`file`] add.
fn expected_new(channels: usize, seeded: usize) -> i64 {
    catalog_seed::generate(channels, 9)[seeded..]
        .iter()
        .map(|c| c.subscribers)
        .sum()
}
