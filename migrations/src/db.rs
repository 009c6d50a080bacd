//! Opening a database the way Herald runs it (pool size, SQLite pragmas), migrating it, and
//! fresh migrated databases for tests — on SQLite always, and on PostgreSQL when
//! `TEST_DATABASE_URL` names a server.

use crate::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr,
};
use std::{
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

/// Opens a pool. SQLite gets WAL, a busy timeout and foreign keys, and a small pool (SQLite
/// has one writer at a time; more connections only queue on its lock).
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        options
            .max_connections(4)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| {
                use sea_orm_migration::sea_orm::sqlx::sqlite::{
                    SqliteJournalMode, SqliteSynchronous,
                };
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
            });
    } else {
        options.max_connections(16).min_connections(1);
    }
    Database::connect(options).await
}

/// Applies pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    format!(
        "herald_t_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    )
}

/// A new, migrated SQLite database in a temporary file (a pool of in-memory connections would
/// each see a different database).
pub async fn fresh_sqlite() -> Result<DatabaseConnection, DbErr> {
    let dir = std::env::temp_dir().join("herald-tests");
    std::fs::create_dir_all(&dir).map_err(|e| DbErr::Custom(e.to_string()))?;
    let url = format!("sqlite://{}/{}.db?mode=rwc", dir.display(), unique_name());
    let db = connect(&url).await?;
    migrate(&db).await?;
    Ok(db)
}

/// A new, migrated PostgreSQL database on the server `TEST_DATABASE_URL` points at, or `None`
/// when that variable is unset. Its name starts with `herald_t_` so a test run can drop them.
pub async fn fresh_postgres() -> Result<Option<DatabaseConnection>, DbErr> {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        return Ok(None);
    };
    let admin = Database::connect(server.as_str()).await?;
    let name = unique_name();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    admin.close().await?;
    let base = server
        .rsplit_once('/')
        .map_or(server.as_str(), |(base, _)| base);
    let db = connect(&format!("{base}/{name}")).await?;
    migrate(&db).await?;
    Ok(Some(db))
}

/// Fresh migrated databases for every configured backend, named for test messages.
/// Panics when `TEST_DATABASE_URL` is set but unusable: those tests must run, not skip.
pub async fn fresh_all() -> Vec<(&'static str, DatabaseConnection)> {
    let mut out = vec![(
        "sqlite",
        fresh_sqlite().await.expect("fresh SQLite database"),
    )];
    if let Some(pg) = fresh_postgres()
        .await
        .expect("fresh PostgreSQL database (TEST_DATABASE_URL)")
    {
        out.push(("postgres", pg));
    }
    out
}
