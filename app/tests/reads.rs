//! A request's reads on one held read-only connection (`service::reads`), on fresh databases:
//! SQLite always, PostgreSQL too when `TEST_DATABASE_URL` is set.

use app::{
    entity::topic,
    service::reads::{ReadPin, Reads},
};
use migrations::db::{connect_reads, fresh_all};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, Set,
};
use std::time::Duration;

fn idle(pool: &DatabaseConnection) -> usize {
    match pool.get_database_backend() {
        DbBackend::Sqlite => pool.get_sqlite_connection_pool().num_idle(),
        _ => pool.get_postgres_connection_pool().num_idle(),
    }
}

/// Waits (at most 10 s) until the read pool has `n` idle connections: SQLx gives a connection
/// back in a task of its own.
async fn until_idle(pool: &DatabaseConnection, n: usize) {
    for _ in 0..1000 {
        if idle(pool) == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the read pool has {} idle connections, not {n}", idle(pool));
}

async fn topic_named(db: &impl ConnectionTrait, name: &str) -> Option<topic::Model> {
    topic::Entity::find()
        .filter(topic::Column::Name.eq(name))
        .one(db)
        .await
        .expect("read")
}

#[tokio::test]
async fn a_request_holds_one_read_connection_and_writes_on_the_main_pool() {
    for (backend, db) in fresh_all().await {
        // Opened on demand: none yet.
        let pool = connect_reads(&db, 1);

        // The read pool cannot write, even when asked directly.
        assert!(
            pool.execute_unprepared("CREATE TABLE stray (x INTEGER)")
                .await
                .is_err(),
            "{backend}: a read connection accepted a write"
        );

        let reads = Reads::with_read_pool(db.clone(), pool.clone());
        let first = ReadPin::default();
        let a = reads.for_request(Some(first.clone()));
        assert!(topic_named(&a, "Nothing").await.is_none());
        assert_eq!(
            idle(&pool),
            0,
            "{backend}: the first read holds the connection"
        );

        // Another request finds none free, waits a moment and reads from the main pool.
        let b = reads.for_request(Some(ReadPin::default()));
        let read = tokio::time::timeout(Duration::from_secs(5), topic_named(&b, "Nothing"));
        assert!(read.await.expect("a short wait").is_none(), "{backend}");

        // A write sent through a request's reads goes to the main pool (the held connection
        // is read-only), and the request's next read, on the held connection, sees it.
        let made = topic::ActiveModel {
            slug: Set("held-reads".into()),
            name: Set("Held reads".into()),
            ..Default::default()
        }
        .insert(&a)
        .await
        .unwrap_or_else(|e| panic!("{backend}: write through reads: {e}"));
        assert_eq!(topic_named(&a, "Held reads").await, Some(made.clone()));
        assert_eq!(idle(&pool), 0, "{backend}: still held");

        // Released when the request ends; a task that outlives it reads from the main pool.
        first.release().await;
        until_idle(&pool, 1).await;
        assert_eq!(topic_named(&a, "Held reads").await, Some(made), "{backend}");
        assert_eq!(
            idle(&pool),
            1,
            "{backend}: a released slot never holds again"
        );

        // Outside a request, and without a read pool, reads use the main pool.
        assert!(topic_named(&reads, "Held reads").await.is_some());
        assert!(
            topic_named(&Reads::new(db.clone()), "Held reads")
                .await
                .is_some()
        );
        assert_eq!(idle(&pool), 1, "{backend}");
    }
}

#[tokio::test]
async fn a_failed_statement_on_the_held_connection_is_an_ordinary_error() {
    for (backend, db) in fresh_all().await {
        // Opened on demand: none yet.
        let pool = connect_reads(&db, 1);
        let pin = ReadPin::default();
        let reads = Reads::with_read_pool(db.clone(), pool.clone()).for_request(Some(pin.clone()));
        let bad =
            sea_orm::Statement::from_string(backend_of(&db), "SELECT no_such_column FROM topic");
        assert!(reads.query_one_raw(bad).await.is_err(), "{backend}");
        // The connection was fine: the request keeps it for its next read.
        assert!(topic_named(&reads, "Nothing").await.is_none());
        assert_eq!(idle(&pool), 0, "{backend}");
        pin.release().await;
        until_idle(&pool, 1).await;
    }
}

fn backend_of(db: &DatabaseConnection) -> DbBackend {
    db.get_database_backend()
}

#[tokio::test]
async fn a_request_dropped_unanswered_gives_its_connection_back() {
    for (backend, db) in fresh_all().await {
        // Opened on demand: none yet.
        let pool = connect_reads(&db, 1);
        let pin = ReadPin::default();
        let reads = Reads::with_read_pool(db.clone(), pool.clone()).for_request(Some(pin.clone()));
        assert!(topic_named(&reads, "Nothing").await.is_none());
        assert_eq!(idle(&pool), 0, "{backend}");
        // What the server's request layer does when a request is dropped: no await.
        pin.release_soon();
        until_idle(&pool, 1).await;
    }
}
