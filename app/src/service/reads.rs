//! One database connection for all of a request's reads.
//!
//! SQLx runs every statement sent to a pool on a connection it takes from the pool and gives
//! back, and on giving it back pings it: two round trips per statement, and on SQLite each is
//! a hand-off to the connection's own worker thread and back, as dear as a small query. A
//! signed-in page is about ten statements (session, viewer, header, the page's own lists).
//! [`Reads`] runs a request's statements on one connection of a separate read-only pool
//! (`migrations::db::connect_reads`), taken at its first statement and given back when the
//! request ends ([`ReadPin::release`]): one ping per request instead of one per statement.
//!
//! A request waits a little for a read connection when all are lent out
//! (`migrations::db::READ_POOL_WAIT`, a quarter of a second), then reads from the main pool
//! statement by statement, as it does outside a request; so however a request mixes its reads
//! with writes, it can never wait long on requests that wait on it.
//! Statements run one at a time on the held connection (SQLite serves a connection's
//! statements one after another anyway). Only `SELECT` statements use it: anything else a
//! service sends through [`Reads`] (the audit row of a refused permission, say) goes to the
//! main pool, and the read-only connections would refuse a write that strayed. Transactions
//! never come here: [`Reads`] has no `begin`.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, ExecResult,
    QueryFilter, QueryResult, RuntimeErr, Select, Statement, sqlx,
};
use sea_query_sqlx::SqlxValues;
use std::sync::Arc;
use tokio::sync::Mutex;

/// The rows of `select` whose `column` is one of `ids`. An empty list sends no statement: it
/// would find nothing, and every statement is a round trip (on SQLite a hand-off to the
/// connection's thread and back).
pub async fn all_in<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    column: E::Column,
    ids: impl IntoIterator<Item = i64>,
) -> Result<Vec<E::Model>, DbErr> {
    let ids: Vec<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    select.filter(column.is_in(ids)).all(db).await
}

/// A read executor: the request's held connection when there is one, else the main pool.
/// Implements [`ConnectionTrait`], so any service read takes it where it takes a pool.
#[derive(Clone, Debug)]
pub struct Reads {
    /// The main pool: where statements go without a held connection.
    db: DatabaseConnection,
    /// The read-only pool connections are taken from (none: always the main pool).
    pool: Option<DatabaseConnection>,
    /// This request's slot (none outside a request).
    pin: Option<ReadPin>,
}

/// A request's slot for its read connection, made empty by the server's request layer and
/// shared by every clone of the request's [`Reads`]; the layer releases it when the response
/// is ready, and any statement after that (a task that outlived its request) uses the main
/// pool.
#[derive(Clone, Debug, Default)]
pub struct ReadPin(Arc<Mutex<Slot>>);

#[derive(Debug, Default)]
enum Slot {
    /// No statement yet.
    #[default]
    Empty,
    Held(Held),
    /// Released, or none was free, or the held one failed: the main pool from now on.
    Done,
}

#[derive(Debug)]
enum Held {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

impl ReadPin {
    /// Gives the held connection back to its pool; later statements use the main pool.
    pub async fn release(&self) {
        *self.0.lock().await = Slot::Done;
    }

    /// [`ReadPin::release`] without waiting, for a request that ends without an answer (the
    /// client went away): now when no statement is running, else right after it in a task.
    pub fn release_soon(&self) {
        match self.0.try_lock() {
            Ok(mut slot) => *slot = Slot::Done,
            Err(_) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let pin = self.clone();
                    runtime.spawn(async move { pin.release().await });
                }
            }
        }
    }
}

impl Reads {
    /// Reads on `db` alone (outside requests, and where no read pool was opened).
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            pool: None,
            pin: None,
        }
    }

    /// The read-only pool, when one was opened (for the metrics of its connections).
    pub fn read_pool(&self) -> Option<&DatabaseConnection> {
        self.pool.as_ref()
    }

    /// Reads that hold a connection of `pool` per request (see [`Reads::for_request`]).
    pub fn with_read_pool(db: DatabaseConnection, pool: DatabaseConnection) -> Self {
        Self {
            db,
            pool: Some(pool),
            pin: None,
        }
    }

    /// These reads for one request, holding its connection in `pin`.
    pub fn for_request(&self, pin: Option<ReadPin>) -> Self {
        Self {
            db: self.db.clone(),
            pool: self.pool.clone(),
            pin,
        }
    }

    /// Gives this request's read connection back before work that is not reading the database
    /// (hashing a password, receiving an upload); its later reads use the main pool.
    pub async fn release(&self) {
        if let Some(pin) = &self.pin {
            pin.release().await;
        }
    }

    /// Closes the read pool (at shutdown, before the main pool, so that on SQLite the main
    /// pool's last connection is the file's last).
    pub async fn close(&self) {
        if let Some(pool) = &self.pool
            && let Err(e) = pool.close_by_ref().await
        {
            tracing::warn!(error = %e, "closing the read pool");
        }
    }

    /// Runs a `SELECT` on the request's connection, taking one first if it has none yet (and
    /// one comes free soon enough); `None` when the statement must go to the main pool. A
    /// statement that fails on the held connection for a reason other than its SQL (the
    /// connection broke) gives the connection up and is run again on the main pool: reads are
    /// safe to repeat.
    async fn on_held<T>(
        &self,
        stmt: &Statement,
        run: impl AsyncFnOnce(&mut Held) -> Result<T, sqlx::Error>,
    ) -> Option<Result<T, sqlx::Error>> {
        if !is_select(&stmt.sql) {
            return None;
        }
        let (pin, pool) = (self.pin.as_ref()?, self.pool.as_ref()?);
        let mut slot = pin.0.lock().await;
        if matches!(*slot, Slot::Empty) {
            // Waits at most the read pool's acquire timeout (`READ_POOL_WAIT`).
            let held = match pool.get_database_backend() {
                DbBackend::Sqlite => pool
                    .get_sqlite_connection_pool()
                    .acquire()
                    .await
                    .ok()
                    .map(Held::Sqlite),
                DbBackend::Postgres => pool
                    .get_postgres_connection_pool()
                    .acquire()
                    .await
                    .ok()
                    .map(Held::Postgres),
                _ => None,
            };
            *slot = held.map_or(Slot::Done, Slot::Held);
        }
        let Slot::Held(held) = &mut *slot else {
            return None;
        };
        match run(held).await {
            Err(e) if broken(&e) => {
                tracing::warn!(error = %e, "a held read connection failed; reading from the main pool");
                *slot = Slot::Done;
                None
            }
            result => Some(result),
        }
    }
}

/// Whether a statement is a `SELECT` (sea-orm's reads; a `WITH` or anything else is sent to
/// the main pool, whatever it does).
fn is_select(sql: &str) -> bool {
    sql.trim_start()
        .get(..6)
        .is_some_and(|word| word.eq_ignore_ascii_case("select"))
}

/// Whether an error says the connection, not the statement, failed.
fn broken(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::PoolClosed
    )
}

/// A statement's rows on the held connection, bound as sea-orm binds them; only the first
/// when `first_only` (sea-orm's `query_one`: the rest are never fetched).
async fn rows(
    held: &mut Held,
    stmt: &Statement,
    first_only: bool,
) -> Result<Vec<QueryResult>, sqlx::Error> {
    let values = stmt
        .values
        .clone()
        .unwrap_or(sea_orm::sea_query::Values(Vec::new()));
    // The query is typed by its database: made in each arm.
    macro_rules! fetch {
        ($conn:expr) => {{
            let query =
                sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values));
            if first_only {
                query
                    .fetch_optional(&mut **$conn)
                    .await?
                    .into_iter()
                    .map(Into::into)
                    .collect()
            } else {
                query
                    .fetch_all(&mut **$conn)
                    .await?
                    .into_iter()
                    .map(Into::into)
                    .collect()
            }
        }};
    }
    Ok(match held {
        Held::Sqlite(c) => fetch!(c),
        Held::Postgres(c) => fetch!(c),
    })
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(e.into()))
}

#[async_trait::async_trait]
impl ConnectionTrait for Reads {
    fn get_database_backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    fn support_returning(&self) -> bool {
        self.db.support_returning()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        // What is executed without reading rows back writes: the main pool.
        self.db.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        // Unprepared statements are schema and maintenance work, never a page's reads.
        self.db.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self
            .on_held(&stmt, async |held| rows(held, &stmt, true).await)
            .await
        {
            Some(result) => result
                .map(|rows| rows.into_iter().next())
                .map_err(query_err),
            None => self.db.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self
            .on_held(&stmt, async |held| rows(held, &stmt, false).await)
            .await
        {
            Some(result) => result.map_err(query_err),
            None => self.db.query_all_raw(stmt).await,
        }
    }
}
