//! Opening a database the way Herald runs it (pool size, SQLite pragmas), migrating it, and
//! fresh migrated databases for tests — on SQLite always, and on PostgreSQL when
//! `TEST_DATABASE_URL` names a server.

use crate::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr,
};
use std::{
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

/// How long a SQLite writer waits for the write lock (and a request for a pooled connection)
/// before it fails. The longest write transaction is the publish of a large catalog import:
/// for 200,000 changed rows about 2 s with a release build of SQLite and 2.5–3.5 s in a debug
/// build; 4–7 s (release) with SQLite's default page cache. Measured by
/// `server/tests/catalog_import_load.rs` and the sqlite3 CLI.
/// A sign-in arriving meanwhile queues behind it; 30 s lets it wait out the worst publish
/// several times over on a busy machine, and stays under the time a browser or proxy gives
/// up on a request.
pub const SQLITE_LOCK_WAIT: Duration = Duration::from_secs(30);

/// Page cache per SQLite connection, in KiB (SQLite's default is 2,000). A 200,000-channel
/// catalog with its indexes is about 45 MB: with the default cache, publishing a large import
/// spills dirty pages to the WAL mid-transaction and reads index pages again, which made the
/// publish 2–3× longer with a release build of SQLite (1.3–2 s instead of 3–7 s for 200,000
/// rows). Pages are allocated as they are used, so an idle connection costs little.
pub const SQLITE_CACHE_KIB: u32 = 65_536;

/// WAL pages after which the connection that commits checkpoints the log into the database
/// file itself (SQLite's default is 1,000), in the middle of its commit. A serving instance
/// checkpoints in the background instead (`app::service::ledger::checkpoint_log`), so this is only
/// the ceiling for processes that do not (tests, one-off commands) or a checkpoint that falls
/// behind: 32 MB of log. Measured by `server bench delivery`: with SQLite's default, one batch
/// of decisions in twenty paid for the checkpoint and its two `fsync`s in its commit (p95 of
/// begin + commit 8.6 ms against a median of 1.2 ms).
pub const SQLITE_AUTOCHECKPOINT_PAGES: u32 = 8_192;

/// A pooled PostgreSQL connection idle at least this long is pinged before it is handed out
/// (one that was just used is not: see [`connect`]).
pub const POSTGRES_PING_AFTER_IDLE: Duration = Duration::from_secs(30);

/// Opens a pool. SQLite gets WAL, a long busy timeout, a large page cache and foreign keys,
/// and a small pool (SQLite has one writer at a time; more connections only queue on its
/// lock).
///
/// The pool does not ping a connection before every statement (SQLx's default): on SQLite a
/// ping is a round trip to the connection's worker thread, as costly as a small query, for a
/// connection to a local file that nothing between can drop; on PostgreSQL only connections
/// idle for [`POSTGRES_PING_AFTER_IDLE`] are tested (a server, proxy or firewall drops idle
/// ones). Measured with `bash .ci/bench ssr` and `bash .ci/bench reports`: see the README.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        options
            .test_before_acquire(false)
            .max_connections(4)
            .min_connections(1)
            // Writers queued behind a long write hold their connections meanwhile: the next
            // request must be able to wait as long for one.
            .acquire_timeout(SQLITE_LOCK_WAIT)
            .map_sqlx_sqlite_opts(|o| {
                use sea_orm_migration::sea_orm::sqlx::sqlite::{
                    SqliteJournalMode, SqliteSynchronous,
                };
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(SQLITE_LOCK_WAIT)
                    .pragma("cache_size", format!("-{SQLITE_CACHE_KIB}"))
                    .pragma(
                        "wal_autocheckpoint",
                        SQLITE_AUTOCHECKPOINT_PAGES.to_string(),
                    )
                    .foreign_keys(true)
            });
    } else {
        options
            .test_before_acquire_if_idle_for(POSTGRES_PING_AFTER_IDLE)
            .max_connections(16)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10));
    }
    Database::connect(options).await
}

/// Connections in the pool that [`connect_reads`] opens, unless configured otherwise.
pub const READ_POOL_CONNECTIONS: u32 = 8;

/// How long a request waits for a connection of the read pool when all are lent out, before
/// it reads from the main pool instead (statement by statement, as without a read pool).
/// Requests hold one for a few milliseconds, so under load a short queue here is cheaper than
/// the main pool's two round trips per statement, and the bound means a request can never
/// wait on the read pool for long whatever it holds.
pub const READ_POOL_WAIT: Duration = Duration::from_millis(250);

/// A second pool beside `db`'s, of `connections` read-only connections to the same database,
/// opened as requests first need them and kept open. A request holds one of them for all its reads
/// (`app::service::reads`): SQLx makes two round trips for every statement run on the main
/// pool (the statement, and a ping when the connection goes back), and on SQLite each is a
/// hand-off to the connection's own worker thread; one connection held for a request's reads
/// pays the ping once. Kept apart from the main pool, so that the connections requests hold
/// never leave writers without one. Read-only (SQLite's read-only open,
/// PostgreSQL's `default_transaction_read_only`), so a write sent here fails instead of
/// slipping past the main pool's writer.
pub fn connect_reads(db: &DatabaseConnection, connections: u32) -> DatabaseConnection {
    use sea_orm_migration::sea_orm::{
        DbBackend, SqlxPostgresConnector, SqlxSqliteConnector, sqlx::pool::PoolOptions,
    };
    // Opened on demand: a database slow to accept connections slows
    // the first reads (which then use the main pool), never the start.
    fn options<D: sea_orm_migration::sea_orm::sqlx::Database>(connections: u32) -> PoolOptions<D> {
        PoolOptions::new()
            .max_connections(connections)
            .min_connections(connections)
            .acquire_timeout(READ_POOL_WAIT)
    }
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let connect = (*db.get_sqlite_connection_pool().connect_options())
                .clone()
                .read_only(true);
            let pool = options(connections)
                .test_before_acquire(false)
                .connect_lazy_with(connect);
            SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)
        }
        _ => {
            let connect = (*db.get_postgres_connection_pool().connect_options())
                .clone()
                .options([("default_transaction_read_only", "on")]);
            // As the main pool: a connection idle a while is pinged before a request gets it
            // (a server, proxy or firewall drops idle ones).
            let pool = options(connections)
                .test_before_acquire(false)
                .before_acquire(
                    |conn: &mut sea_orm_migration::sea_orm::sqlx::PgConnection, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= POSTGRES_PING_AFTER_IDLE {
                                use sea_orm_migration::sea_orm::sqlx::Connection;
                                conn.ping().await?;
                            }
                            Ok(true)
                        })
                    },
                )
                .connect_lazy_with(connect);
            SqlxPostgresConnector::from_sqlx_postgres_pool(pool)
        }
    }
}

/// The PostgreSQL advisory lock that one migrating instance holds ("Herald" in ASCII).
const MIGRATION_LOCK: i64 = 0x4865_7261_6c64;

/// Applies pending migrations. On PostgreSQL, instances started together take turns (the
/// migrator itself takes no lock: a second instance would find the first one's tables half
/// made and stop): the first holds a session advisory lock on a connection of its own, taken
/// out of the pool and closed afterwards (so the lock ends with it, also if the process dies),
/// while the migrations run on others; the rest wait for it and then find nothing left to do.
/// On SQLite, start one instance first and the others once it is ready (as the tests do).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm_migration::sea_orm::sqlx::{self, Connection};
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    let failed = |e: sqlx::Error| DbErr::Custom(format!("the migration lock: {e}"));
    let mut lock = db
        .get_postgres_connection_pool()
        .acquire()
        .await
        .map_err(failed)?
        .detach();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut lock)
        .await
        .map_err(failed)?;
    let migrated = Migrator::up(db, None).await;
    // Closing the connection ends its session, and with it the lock. A migration's own error
    // is the one to report; a failed close (the lock then ends when the server drops the
    // connection) only matters when the migrations succeeded.
    let closed = lock.close().await.map_err(failed);
    migrated?;
    closed
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
    connect(&fresh_sqlite_url().await?).await
}

/// The URL of a new, migrated SQLite database in a temporary file, for tests that open it
/// more than once (several instances on one database).
pub async fn fresh_sqlite_url() -> Result<String, DbErr> {
    let dir = std::env::temp_dir().join("herald-tests");
    std::fs::create_dir_all(&dir).map_err(|e| DbErr::Custom(e.to_string()))?;
    let url = format!("sqlite://{}/{}.db?mode=rwc", dir.display(), unique_name());
    let db = connect(&url).await?;
    migrate(&db).await?;
    db.close().await?;
    Ok(url)
}

/// A new, migrated PostgreSQL database on the server `TEST_DATABASE_URL` points at, or `None`
/// when that variable is unset. Its name starts with `herald_t_` so a test run can drop them.
pub async fn fresh_postgres() -> Result<Option<DatabaseConnection>, DbErr> {
    match fresh_postgres_url().await? {
        Some(url) => connect(&url).await.map(Some),
        None => Ok(None),
    }
}

/// The URL of a new, empty PostgreSQL database on the server `TEST_DATABASE_URL` points at
/// (not migrated), or `None` when that variable is unset.
pub async fn empty_postgres_url() -> Result<Option<String>, DbErr> {
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
    Ok(Some(format!("{base}/{name}")))
}

/// The URL of a new, migrated PostgreSQL database (see [`fresh_postgres`]).
pub async fn fresh_postgres_url() -> Result<Option<String>, DbErr> {
    let Some(url) = empty_postgres_url().await? else {
        return Ok(None);
    };
    let db = connect(&url).await?;
    migrate(&db).await?;
    db.close().await?;
    Ok(Some(url))
}

/// Fresh migrated databases for every configured backend, named for test messages.
/// Panics when `TEST_DATABASE_URL` is set but unusable: those tests must run, not skip.
pub async fn fresh_all() -> Vec<(&'static str, DatabaseConnection)> {
    let mut out = Vec::new();
    for (backend, url) in fresh_all_urls().await {
        let db = connect(&url)
            .await
            .unwrap_or_else(|e| panic!("open the fresh {backend} database: {e}"));
        out.push((backend, db));
    }
    out
}

/// The URLs of fresh migrated databases for every configured backend (see [`fresh_all`]).
pub async fn fresh_all_urls() -> Vec<(&'static str, String)> {
    let mut out = vec![(
        "sqlite",
        fresh_sqlite_url().await.expect("fresh SQLite database"),
    )];
    if let Some(pg) = fresh_postgres_url()
        .await
        .expect("fresh PostgreSQL database (TEST_DATABASE_URL)")
    {
        out.push(("postgres", pg));
    }
    out
}
