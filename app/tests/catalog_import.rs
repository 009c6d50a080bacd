//! Service tests of the catalog CSV import on fresh, migrated databases: SQLite always,
//! PostgreSQL too when `TEST_DATABASE_URL` is set.

use app::{
    entity::{audit_event, catalog_import, channel, topic},
    error::AppError,
    model::{
        AuditAction, CatalogImportId, IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, ImportPreview,
        ImportProgress, ImportStatus, PlatformRole, SignUpInput,
    },
    service::{
        Actor, auth,
        catalog_import::{self as import, ImportJobs},
        catalog_seed::{self, TOPICS},
        passwords::PasswordHasher,
        settings,
    },
};
use migrations::db::fresh_all;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use std::time::{Duration, Instant};

const HEADER: &str = "handle,title,topic,language,subscribers,avg_views,posts_per_day,status";

/// A signed-up user, made an admin as `server seed` does when `admin`.
async fn user(db: &DatabaseConnection, email: &str, admin: bool) -> Actor {
    let input = SignUpInput {
        email: email.into(),
        password: "violet harbour 42 kites".into(),
        account_name: "Acme Ads".into(),
        time_zone: "Europe/Berlin".into(),
    };
    let id = auth::sign_up(db, &PasswordHasher::new(2), input, None)
        .await
        .expect("sign up");
    if admin {
        db.execute_unprepared(&format!(
            "INSERT INTO staff_role (user_id, role, granted_by, granted_at) \
             VALUES ({}, 'admin', NULL, CURRENT_TIMESTAMP)",
            id.0
        ))
        .await
        .expect("grant admin");
    }
    Actor {
        user_id: id,
        email: email.into(),
        staff_roles: admin.then_some(PlatformRole::Admin).into_iter().collect(),
        membership: None,
        ip: Some("192.0.2.7".into()),
        clock: None,
    }
}

async fn count_action(db: &DatabaseConnection, action: AuditAction) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action.code()))
        .count(db)
        .await
        .expect("count")
}

async fn channels(db: &DatabaseConnection) -> Vec<channel::Model> {
    channel::Entity::find()
        .order_by_asc(channel::Column::Id)
        .all(db)
        .await
        .expect("channels")
}

async fn by_handle(db: &DatabaseConnection, handle: &str) -> Option<channel::Model> {
    channel::Entity::find()
        .filter(channel::Column::Handle.eq(handle))
        .one(db)
        .await
        .expect("channel")
}

/// (total, new, changed, unchanged, bad).
fn counts(p: &ImportPreview) -> (u64, u64, u64, u64, u64) {
    (
        p.total_rows,
        p.new_rows,
        p.changed_rows,
        p.unchanged_rows,
        p.bad_rows,
    )
}

fn state(p: &ImportProgress) -> (ImportStatus, u64, u64) {
    (p.status, p.done, p.total)
}

fn is_conflict<T>(result: &Result<T, AppError>) -> bool {
    matches!(result, Err(AppError::Conflict(_)))
}

/// A CSV line repeating a stored channel (handle and topic name in capitals), with other
/// subscribers if asked.
async fn line_of(db: &DatabaseConnection, c: &channel::Model, subscribers: i64) -> String {
    let topic = topic::Entity::find_by_id(c.topic_id)
        .one(db)
        .await
        .expect("topic");
    let topic = topic.expect("exists").name.to_uppercase();
    let (handle, title) = (c.handle.to_uppercase(), &c.title);
    let (language, views, posts, status) = (&c.language, c.avg_views, c.posts_per_day, &c.status);
    format!("@{handle},\"{title}\",{topic},{language},{subscribers},{views},{posts},{status}")
}

/// Seeds 50 channels; a file of one unchanged, one changed and one new row, then a bad row of
/// every kind. Returns it with the handles of the unchanged and the changed channel.
async fn mixed_file(db: &DatabaseConnection) -> (String, String, String) {
    catalog_seed::insert(db, 50, 11).await.expect("seed");
    let all = channels(db).await;
    let (same, other) = (&all[0], &all[1]);
    let rows = [
        line_of(db, same, same.subscribers).await,
        line_of(db, other, other.subscribers + 1).await,
        "new_channel_one,New One,crypto,en,12k,\"3,400\",2.5,".into(),
        ",No Handle,crypto,en,1,1,1,active".into(),
        "bad_topic_1,Bad Topic,astrology,en,1,1,1,active".into(),
        "bad_lang_1,Bad Language,crypto,english,1,1,1,active".into(),
        "negative_1,Negative,crypto,en,-5,1,-1,active".into(),
        "@New_Channel_One,Again,crypto,en,1,1,1,active".into(),
    ];
    let file = format!("{HEADER}\n{}\n", rows.join("\n"));
    (file, same.handle.clone(), other.handle.clone())
}

#[tokio::test]
async fn preview_lists_every_bad_row_counts_changes_and_writes_nothing() {
    for (b, db) in fresh_all().await {
        let admin = user(&db, "admin@example.com", true).await;
        let (file, _, _) = mixed_file(&db).await;
        let before = channels(&db).await;
        let version = settings::catalog_version(&db).await.expect(b);

        let preview = import::stage(&db, &admin, "C:\\exports\\cat.csv", file.into_bytes())
            .await
            .expect(b);
        assert_eq!(preview.file_name, "cat.csv", "{b}");
        assert_eq!(preview.status, ImportStatus::Previewed, "{b}");
        assert_eq!(counts(&preview), (8, 1, 1, 1, 5), "{b}: {preview:?}");
        let lines: Vec<u64> = preview.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [5, 6, 7, 8, 9], "{b}");
        let reason = |line| {
            let problem = preview.problems.iter().find(|p| p.line == line);
            problem.map_or(String::new(), |p| p.reason.clone())
        };
        for (line, part) in [
            (5, "The handle is missing."),
            (6, "Unknown topic \"astrology\"."),
            (7, "\"english\" is not an ISO 639-1 language code."),
            (8, "Subscribers: cannot be negative."),
            (8, "Posts per day cannot be negative."),
        ] {
            assert!(
                reason(line).contains(part),
                "{b}: line {line}: {}",
                reason(line)
            );
        }
        assert_eq!(reason(9), "Duplicate of line 4.", "{b}");

        // Nothing was written but the staged file and its audit entry.
        assert_eq!(channels(&db).await, before, "{b}");
        assert_eq!(settings::catalog_version(&db).await.expect(b), version);
        assert_eq!(count_action(&db, AuditAction::CatalogImportStaged).await, 1);
        assert_eq!(count_action(&db, AuditAction::CatalogImported).await, 0);

        // A reload shows the same preview; nothing is being written.
        let again = import::preview(&db, &admin, preview.id).await.expect(b);
        assert_eq!(again, preview, "{b}");
        let jobs = ImportJobs::default();
        let progress = import::progress(&db, &jobs, &admin, preview.id).await;
        assert_eq!(state(&progress.expect(b)), (ImportStatus::Previewed, 0, 2));
    }
}

#[tokio::test]
async fn apply_upserts_new_and_changed_rows_once_and_audits() {
    for (b, db) in fresh_all().await {
        let admin = user(&db, "admin@example.com", true).await;
        let (file, unchanged, changed) = mixed_file(&db).await;
        let preview = import::stage(&db, &admin, "catalog.csv", file.into_bytes())
            .await
            .expect(b);
        let version = settings::catalog_version(&db).await.expect(b);
        let untouched = by_handle(&db, &unchanged).await.expect(b);
        let old = by_handle(&db, &changed).await.expect(b);

        let jobs = ImportJobs::default();
        let claimed = import::claim(&db, &admin, preview.id).await.expect(b);
        // A second confirmation, while the first is under way, is refused.
        let twice = import::claim(&db, &admin, preview.id).await;
        assert!(is_conflict(&twice), "{b}: {twice:?}");
        let done = import::run(&db, &jobs, claimed).await.expect(b);
        assert_eq!(state(&done), (ImportStatus::Applied, 2, 2), "{b}");
        assert_eq!(jobs.get(preview.id), None, "{b}: the job is gone");

        assert_eq!(channels(&db).await.len(), 51, "{b}");
        let new = by_handle(&db, "new_channel_one").await.expect(b);
        let facts = (
            new.title.as_str(),
            new.subscribers,
            new.avg_views,
            new.posts_per_day,
        );
        assert_eq!(facts, ("New One", 12_000, 3_400, 2.5), "{b}");
        assert_eq!(new.status, "active", "{b}");
        let updated = by_handle(&db, &changed).await.expect(b);
        assert_eq!(updated.subscribers, old.subscribers + 1, "{b}");
        assert_eq!(updated.id, old.id, "{b}: updated in place");
        assert_eq!(by_handle(&db, &unchanged).await, Some(untouched), "{b}");
        for bad in ["bad_topic_1", "bad_lang_1", "negative_1"] {
            assert!(by_handle(&db, bad).await.is_none(), "{b}: {bad} skipped");
        }
        assert_eq!(settings::catalog_version(&db).await.expect(b), version + 1);

        assert_eq!(count_action(&db, AuditAction::CatalogImported).await, 1);
        let audit = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq(AuditAction::CatalogImported.code()))
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(audit.actor_user_id, Some(admin.user_id.0), "{b}");
        assert_eq!(audit.target_id, preview.id.to_string(), "{b}");
        let detail = audit.detail.unwrap_or_default();
        assert!(detail.contains("\"new_rows\":1"), "{b}: {detail}");
        assert!(detail.contains("\"bad_rows\":5"), "{b}: {detail}");

        let stored = import::preview(&db, &admin, preview.id).await.expect(b);
        assert_eq!(stored.status, ImportStatus::Applied, "{b}");
        assert_eq!(stored.problems.len(), 5, "{b}: skipped rows still listed");
        let progress = import::progress(&db, &jobs, &admin, preview.id).await;
        assert_eq!(state(&progress.expect(b)), (ImportStatus::Applied, 2, 2));

        // Applied is final: no second apply, no discard.
        let again = import::claim(&db, &admin, preview.id).await;
        assert!(is_conflict(&again), "{b}: {again:?}");
        let discard = import::discard(&db, &admin, preview.id).await;
        assert!(is_conflict(&discard), "{b}: {discard:?}");
        assert_eq!(count_action(&db, AuditAction::CatalogImported).await, 1);
        let missing = import::claim(&db, &admin, CatalogImportId(9_999)).await;
        assert_eq!(missing.err(), Some(AppError::NotFound), "{b}");
    }
}

#[tokio::test]
async fn apply_compares_with_the_catalog_as_it_is_then_and_discard_is_final() {
    for (b, db) in fresh_all().await {
        let admin = user(&db, "admin@example.com", true).await;
        catalog_seed::insert(&db, 5, 3).await.expect(b);
        let file = format!("{HEADER}\nlate_comer,Late Comer,tech,de,100,10,1,inactive\n");
        let stage = |name: &'static str, file: String| {
            let (db, admin) = (db.clone(), admin.clone());
            async move { import::stage(&db, &admin, name, file.into_bytes()).await }
        };
        let first = stage("a.csv", file.clone()).await.expect(b);
        let second = stage("b.csv", file).await.expect(b);
        assert_eq!((first.new_rows, second.new_rows), (1, 1), "{b}");

        let jobs = ImportJobs::default();
        let claimed = import::claim(&db, &admin, first.id).await.expect(b);
        import::run(&db, &jobs, claimed).await.expect(b);
        // The second preview is older than that change: applying it compares again.
        let claimed = import::claim(&db, &admin, second.id).await.expect(b);
        let done = import::run(&db, &jobs, claimed).await.expect(b);
        assert_eq!(state(&done), (ImportStatus::Applied, 0, 0), "{b}");
        let stored = import::preview(&db, &admin, second.id).await.expect(b);
        assert_eq!(counts(&stored), (1, 0, 0, 1, 0), "{b}");
        let late = by_handle(&db, "late_comer").await.expect(b);
        assert_eq!(
            (late.title.as_str(), late.status.as_str()),
            ("Late Comer", "inactive")
        );

        let renamed = format!("{HEADER}\nlate_comer,Renamed,tech,de,1,1,1,\n");
        let third = stage("c.csv", renamed).await.expect(b);
        assert_eq!(third.changed_rows, 1, "{b}");
        import::discard(&db, &admin, third.id).await.expect(b);
        let refused = import::claim(&db, &admin, third.id).await;
        assert!(is_conflict(&refused), "{b}: {refused:?}");
        let stored = import::preview(&db, &admin, third.id).await.expect(b);
        assert_eq!(stored.status, ImportStatus::Discarded, "{b}");
        let message = stored.message.unwrap_or_default();
        assert!(message.contains("admin@example.com"), "{b}: {message}");
        let late = by_handle(&db, "late_comer").await.expect(b);
        assert_eq!(late.title, "Late Comer", "{b}: discarding changes nothing");
    }
}

/// Makes inserting the channel `zzz_fail_row` fail, as a broken disk or a lost connection might.
async fn refuse_a_row(db: &DatabaseConnection, backend: &str) {
    let statements: &[&str] = if backend == "sqlite" {
        &[
            "CREATE TRIGGER refuse_row BEFORE INSERT ON channel WHEN NEW.handle = 'zzz_fail_row' \
           BEGIN SELECT RAISE(ABORT, 'refused'); END",
        ]
    } else {
        &[
            "CREATE FUNCTION refuse_row() RETURNS trigger AS $$ BEGIN \
             IF NEW.handle = 'zzz_fail_row' THEN RAISE EXCEPTION 'refused'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_row BEFORE INSERT ON channel \
             FOR EACH ROW EXECUTE FUNCTION refuse_row()",
        ]
    };
    for statement in statements {
        db.execute_unprepared(statement).await.expect("trigger");
    }
}

#[tokio::test]
async fn a_failed_apply_changes_nothing_and_says_so() {
    for (b, db) in fresh_all().await {
        let admin = user(&db, "admin@example.com", true).await;
        catalog_seed::insert(&db, 5, 3).await.expect(b);
        refuse_a_row(&db, b).await;
        // Three batches of upserts; the last one fails.
        let mut file = format!("{HEADER}\n");
        for i in 0..2_500 {
            file.push_str(&format!("bulk_row_{i},Bulk {i},tech,en,100,10,1,\n"));
        }
        file.push_str("zzz_fail_row,Last,tech,en,100,10,1,\n");
        let preview = import::stage(&db, &admin, "f.csv", file.into_bytes())
            .await
            .expect(b);
        let version = settings::catalog_version(&db).await.expect(b);

        let jobs = ImportJobs::default();
        let claimed = import::claim(&db, &admin, preview.id).await.expect(b);
        let failed = import::run(&db, &jobs, claimed).await;
        assert_eq!(failed.err(), Some(AppError::Internal), "{b}");
        assert_eq!(jobs.get(preview.id), None, "{b}");
        assert_eq!(channel::Entity::find().count(&db).await.expect(b), 5, "{b}");
        assert_eq!(settings::catalog_version(&db).await.expect(b), version);
        assert_eq!(count_action(&db, AuditAction::CatalogImported).await, 0);
        let progress = import::progress(&db, &jobs, &admin, preview.id)
            .await
            .expect(b);
        assert_eq!(progress.status, ImportStatus::Failed, "{b}");
        let message = progress.message.unwrap_or_default();
        assert!(
            message.contains("catalog was not changed"),
            "{b}: {message}"
        );
        let again = import::claim(&db, &admin, preview.id).await;
        assert!(is_conflict(&again), "{b}: {again:?}");
    }
}

#[tokio::test]
async fn whole_file_problems_are_refused_with_a_clear_message() {
    for (b, db) in fresh_all().await {
        let admin = user(&db, "admin@example.com", true).await;
        catalog_seed::insert(&db, 1, 1).await.expect(b);
        let mut too_many = format!("{HEADER}\n");
        for _ in 0..=IMPORT_MAX_ROWS {
            too_many.push_str("x\n");
        }
        for (file, expected) in [
            (
                b"handle,title,topic\nabcde,A,crypto\n".to_vec(),
                "lacks the columns language, subscribers, avg_views, posts_per_day",
            ),
            (Vec::new(), "The file is empty."),
            (format!("{HEADER}\n").into_bytes(), "no channels"),
            (b"handle\xe9\n".to_vec(), "not UTF-8"),
            (b"handle\0\n".to_vec(), "not UTF-8"),
            (vec![b'a'; IMPORT_MAX_BYTES + 1], "larger than 32 MB"),
            (too_many.into_bytes(), "more than 200,000 rows"),
        ] {
            let message = match import::stage(&db, &admin, "x.csv", file).await {
                Err(AppError::Invalid(fields)) => fields.get("file").map(str::to_owned),
                other => panic!("{b}: {other:?}"),
            };
            let message = message.unwrap_or_default();
            assert!(message.contains(expected), "{b}: {message}");
        }
        assert_eq!(catalog_import::Entity::find().count(&db).await.expect(b), 0);
    }
}

#[tokio::test]
async fn only_admins_may_import_and_refusals_are_audited() {
    for (b, db) in fresh_all().await {
        let admin = user(&db, "admin@example.com", true).await;
        let outsider = user(&db, "other@example.com", false).await;
        let (file, _, _) = mixed_file(&db).await;
        let refused = import::stage(&db, &outsider, "x.csv", file.clone().into_bytes()).await;
        assert_eq!(refused, Err(AppError::Forbidden), "{b}");
        let id = import::stage(&db, &admin, "x.csv", file.into_bytes())
            .await
            .expect(b)
            .id;
        let jobs = ImportJobs::default();
        let forbidden = Some(AppError::Forbidden);
        assert_eq!(import::preview(&db, &outsider, id).await.err(), forbidden);
        let progress = import::progress(&db, &jobs, &outsider, id).await;
        assert_eq!(progress.err(), forbidden, "{b}");
        assert_eq!(import::discard(&db, &outsider, id).await.err(), forbidden);
        assert_eq!(import::claim(&db, &outsider, id).await.err(), forbidden);
        assert_eq!(count_action(&db, AuditAction::AccessDenied).await, 5, "{b}");
        let stored = import::preview(&db, &admin, id).await.expect(b);
        assert_eq!(stored.status, ImportStatus::Previewed, "{b}");
        assert_eq!(catalog_import::Entity::find().count(&db).await.expect(b), 1);
    }
}

/// 100,000 rows: the 20,000 channels `catalog_seed::insert(db, 20_000, 5)` makes (every tenth
/// with one more subscriber) and 80,000 new ones.
fn big_file() -> String {
    let mut file = format!("{HEADER}\n");
    for (i, c) in catalog_seed::generate(100_000, 5).iter().enumerate() {
        let subscribers = c.subscribers + i64::from(i < 20_000 && i % 10 == 0);
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
async fn a_hundred_thousand_rows_preview_and_apply_with_progress() {
    let file = big_file();
    for (b, db) in fresh_all().await {
        let admin = user(&db, "admin@example.com", true).await;
        catalog_seed::insert(&db, 20_000, 5).await.expect(b);
        let version = settings::catalog_version(&db).await.expect(b);

        let started = Instant::now();
        let preview = import::stage(&db, &admin, "big.csv", file.clone().into_bytes())
            .await
            .expect(b);
        let staged_in = started.elapsed();
        let expected = (100_000, 80_000, 2_000, 18_000, 0);
        assert_eq!(counts(&preview), expected, "{b}");

        let jobs = ImportJobs::default();
        let claimed = import::claim(&db, &admin, preview.id).await.expect(b);
        let started = Instant::now();
        let task = {
            let (db, jobs) = (db.clone(), jobs.clone());
            tokio::spawn(async move { import::run(&db, &jobs, claimed).await })
        };
        let mut seen = Vec::new();
        let last = loop {
            let p = import::progress(&db, &jobs, &admin, preview.id)
                .await
                .expect(b);
            if p.status.is_final() {
                break p;
            }
            seen.push((p.done, p.total));
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let applied = task.await.expect("task").expect(b);
        let applied_in = started.elapsed();
        eprintln!(
            "{b}: 100,000 rows previewed in {staged_in:.2?}, applied in {applied_in:.2?} \
             ({} progress polls)",
            seen.len()
        );
        assert_eq!(state(&last), (ImportStatus::Applied, 82_000, 82_000), "{b}");
        assert_eq!(state(&applied), state(&last), "{b}");
        assert!(!seen.is_empty(), "{b}: progress is visible while applying");
        assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{b}: {seen:?}");
        assert!(seen.iter().all(|(done, total)| done <= total), "{b}");
        assert_eq!(channel::Entity::find().count(&db).await.expect(b), 100_000);
        assert_eq!(settings::catalog_version(&db).await.expect(b), version + 1);
        let first = &catalog_seed::generate(1, 5)[0];
        let stored = by_handle(&db, &first.handle).await.expect(b);
        assert_eq!(stored.subscribers, first.subscribers + 1, "{b}");
    }
}
