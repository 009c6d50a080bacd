//! The transaction every money write runs in: its deadline, and on SQLite this process's one
//! writer connection per database file, which money writers take turns at, and the log
//! checkpoints made between their turns.

use crate::error::AppError;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr};
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, LazyLock, Mutex, PoisonError},
};
use tokio::sync::OwnedMutexGuard;

/// How long a money write may take, from the start of its first attempt ([`begin_from`]) to
/// its commit, waiting for its turn included. A write past it is rolled back: its transfers
/// would carry a time stamp (taken when the request began) that readers had already passed.
pub const WRITE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// What a money write past [`WRITE_DEADLINE`] answers (not retried).
pub const TOO_SLOW: &str = "This took too long to save. Nothing was saved; please try again.";

/// A transaction that writes money ([`begin`]) and, on SQLite, this process's turn at the
/// database's one write lock, held until it commits or rolls back. Derefs to the transaction.
pub struct Write {
    txn: DatabaseTransaction,
    _turn: Option<OwnedMutexGuard<()>>,
    started: std::time::Instant,
}

impl std::ops::Deref for Write {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl Write {
    /// Commits, unless the write has run past [`WRITE_DEADLINE`]: then it rolls back and
    /// answers [`TOO_SLOW`].
    pub async fn commit(self) -> Result<(), AppError> {
        if self.started.elapsed() > WRITE_DEADLINE {
            tracing::warn!(
                seconds = self.started.elapsed().as_secs(),
                "a money write ran past its deadline and was rolled back"
            );
            self.txn.rollback().await?;
            return Err(AppError::TooManyAttempts(TOO_SLOW.to_owned()));
        }
        Ok(self.txn.commit().await?)
    }
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

/// [`begin_from`] for a write whose first attempt starts now.
pub async fn begin(db: &DatabaseConnection) -> Result<Write, AppError> {
    begin_from(db, std::time::Instant::now()).await
}

/// Begins a transaction that writes money, for a write whose first attempt started at
/// `started` (its [`WRITE_DEADLINE`] counts from there). On SQLite it takes the write lock at
/// once (`BEGIN IMMEDIATE`), so a transaction that reads before it writes queues for the lock
/// instead of failing when another writer committed in between; PostgreSQL ignores the mode.
///
/// On SQLite, which has one writer at a time, this process's money writers to a database file
/// also share one connection of their own ([`SqliteWriter`]), taking turns in a fair queue
/// (waiting at most until the deadline: then it answers [`crate::error::BUSY`]).
/// Measured by `server bench delivery`: with each writer on any of the pool's connections,
/// a connection that found the lock taken slept in SQLite's busy handler (1, 2, 5, 10, … up to
/// 100 ms between tries) past the moment the lock was free, and a connection that had not
/// written last threw its page cache away (another connection changed the file) and read its
/// pages again. The busy handler is left for the rarer writers elsewhere and other processes.
pub async fn begin_from(
    db: &DatabaseConnection,
    started: std::time::Instant,
) -> Result<Write, AppError> {
    let (conn, turn) = match sqlite_writer(db) {
        Some(writer) => {
            let left = WRITE_DEADLINE.saturating_sub(started.elapsed());
            let turn = tokio::time::timeout(left, Arc::clone(&writer.turn).lock_owned())
                .await
                .map_err(|_| AppError::TooManyAttempts(crate::error::BUSY.to_owned()))?;
            (writer.conn.clone(), Some(turn))
        }
        None => (db.clone(), None),
    };
    let txn = crate::service::sql::begin_write(&conn).await?;
    Ok(Write {
        txn,
        _turn: turn,
        started,
    })
}

/// Copies SQLite's write-ahead log into the database file (a passive checkpoint) so that the
/// log starts over, without a money write paying for it; nothing on PostgreSQL. Returns the
/// log's pages before and those left to copy after.
///
/// SQLite starts the log over only when a write begins with every page of it copied, and a
/// checkpoint that runs while writes go on never gets there: each commit adds pages while it
/// copies. The log then grows until the connection whose commit crosses
/// `SQLITE_AUTOCHECKPOINT_PAGES` checkpoints it in that commit, `fsync`ing everything written
/// since the last one (`server bench delivery`, `strace`: the money writer spent 15–40 ms in
/// those `fsync`s three times a second at 2,800 decisions/s, its slowest batches). So this
/// copies in two passes: the first while the money writer goes on (the expensive part: the
/// log's `fsync` and most pages); then, when the log has grown past [`RESTART_LOG_PAGES`], a
/// second between two of this process's money writes (on its turn, [`begin`]), which copies
/// only what was written during the first and completes: the next write starts the log over.
pub async fn checkpoint_log(db: &DatabaseConnection) -> Result<Option<(i64, i64)>, DbErr> {
    let Some((log, done)) = passive_checkpoint(db).await? else {
        return Ok(None);
    };
    if log < RESTART_LOG_PAGES {
        return Ok(Some((log, log - done)));
    }
    // On the money writer's own connection, idle while its turn is held here: no pool
    // connection is waited for while money writes wait.
    let (conn, _turn) = match existing_sqlite_writer(db) {
        Some(writer) => (
            writer.conn.clone(),
            Some(Arc::clone(&writer.turn).lock_owned().await),
        ),
        None => (db.clone(), None),
    };
    let left = match passive_checkpoint(&conn).await? {
        Some((log, done)) => log - done,
        None => 0,
    };
    Ok(Some((log, left)))
}

/// `PRAGMA wal_checkpoint(PASSIVE)`: copies what SQLite's log holds into the database file as
/// far as readers allow, without waiting for or blocking anyone. The log's pages and those
/// copied; `None` on PostgreSQL.
async fn passive_checkpoint(db: &DatabaseConnection) -> Result<Option<(i64, i64)>, DbErr> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(None);
    }
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA wal_checkpoint(PASSIVE)",
        ))
        .await?;
    Ok(match row {
        Some(row) => Some((row.try_get_by_index(1)?, row.try_get_by_index(2)?)),
        None => None,
    })
}

/// Log pages past which [`checkpoint_log`] completes its checkpoint between two money writes
/// (4 MB of 4 KB pages): often enough that the log stays small under a steady stream of
/// writes, rarely enough that pausing them costs little.
pub const RESTART_LOG_PAGES: i64 = 1_024;

/// This process's money writer for one SQLite file: one connection (closed when idle a while)
/// and the queue for it.
struct SqliteWriter {
    conn: DatabaseConnection,
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// This process's money writers, one per SQLite file.
static WRITERS: LazyLock<Mutex<HashMap<PathBuf, Arc<SqliteWriter>>>> =
    LazyLock::new(Mutex::default);

/// `db`'s file's writer, made on first use with `db`'s options; `None` on PostgreSQL (which
/// locks rows, not the database, and gains nothing from one connection).
fn sqlite_writer(db: &DatabaseConnection) -> Option<Arc<SqliteWriter>> {
    let file = writer_file(db)?;
    let options = db.get_sqlite_connection_pool().connect_options();
    let mut writers = WRITERS.lock().unwrap_or_else(PoisonError::into_inner);
    let writer = writers.entry(file).or_insert_with(|| {
        let pool = sea_orm::sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .idle_timeout(std::time::Duration::from_secs(60))
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect_lazy_with(options.as_ref().clone());
        Arc::new(SqliteWriter {
            conn: sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool),
            turn: Arc::default(),
        })
    });
    Some(Arc::clone(writer))
}

/// `db`'s file's writer if this process has made one (SQLite).
fn existing_sqlite_writer(db: &DatabaseConnection) -> Option<Arc<SqliteWriter>> {
    let file = writer_file(db)?;
    WRITERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&file)
        .cloned()
}

/// The SQLite file `db` opens, which names its money writer; `None` on PostgreSQL.
fn writer_file(db: &DatabaseConnection) -> Option<PathBuf> {
    (db.get_database_backend() == DbBackend::Sqlite).then(|| {
        db.get_sqlite_connection_pool()
            .connect_options()
            .get_filename()
            .to_owned()
    })
}

/// Closes this process's money writer for `db`'s file, if it has one (SQLite), so that closing
/// `db` closes the file: at shutdown, and when a process is done with one of many files (a
/// property test opens thousands; each writer kept its connection, three descriptors, open).
/// A later money write opens a new one.
pub async fn close_writer(db: &DatabaseConnection) {
    let Some(file) = writer_file(db) else {
        return;
    };
    let writer = WRITERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&file);
    if let Some(writer) = writer {
        let _ = writer.conn.close_by_ref().await;
    }
}

/// Runs a block in a money transaction ([`begin`]) and commits it, retrying a few times when
/// the database gave up on it because of concurrent writers ([`crate::error::BUSY`]); the block
/// is then run again from the start, so it must be idempotent (every money write here is).
/// `with_retry!(db, |txn| { …; Ok(value) })`; a macro rather than a function taking an async
/// closure, because such closures' futures cannot yet be proven `Send` for axum and tokio.
/// Its [`WRITE_DEADLINE`] counts from its first attempt, or from `started` (an `Instant`)
/// with `with_retry!(db, since started, |txn| …)` when the caller took its time stamp
/// earlier and did other work before writing.
#[macro_export]
macro_rules! with_retry {
    ($db:expr, |$txn:ident| $body:block) => {
        $crate::with_retry!($db, since std::time::Instant::now(), |$txn| $body)
    };
    ($db:expr, since $started:expr, |$txn:ident| $body:block) => {{
        let mut attempt = 0u32;
        let started: std::time::Instant = $started;
        loop {
            attempt += 1;
            let open = $crate::service::ledger::begin_from($db, started).await?;
            let $txn: &sea_orm::DatabaseTransaction = &open;
            let result: Result<_, $crate::error::AppError> = async { $body }.await;
            let result = match result {
                Ok(value) => open.commit().await.map(|()| value),
                Err(e) => {
                    let _ = open.rollback().await;
                    Err(e)
                }
            };
            match result {
                Err($crate::error::AppError::TooManyAttempts(m))
                    if m == $crate::error::BUSY && attempt < 5 =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(u64::from(attempt) * 7))
                        .await;
                }
                other => break other,
            }
        }
    }};
}
