//! The short steps of applying an import: staging its rows a chunk per transaction, publishing
//! them in one transaction, discarding staged rows in chunks, and failing imports whose
//! process died.

use super::ImportJobs;
use crate::{
    entity::{catalog_import, catalog_import_row, channel},
    error::AppError,
    model::{CatalogImportId, ChannelFacts, ImportStatus},
    service::catalog::{ACTIVE, INACTIVE},
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
    sea_query::{Expr, OnConflict, Order, Query},
};
use std::time::Instant;

/// Rows staged per transaction: 11 bound values each, and a few milliseconds of SQLite's
/// write lock.
const STAGE_BATCH: usize = 1_000;

/// Staged rows deleted per statement.
const DELETE_BATCH: u64 = 5_000;

/// How long an import may go without a heartbeat before it counts as abandoned. The applying
/// process beats before and after every step, and no step takes more than seconds.
pub const HEARTBEAT_LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// What the admin reads on an import failed by [`recover_abandoned`].
pub const ABANDONED_MESSAGE: &str = "The import was interrupted (the server stopped while \
     applying it) and the catalog was not changed. Upload the file again to retry.";

/// Records that this process is still applying `id`; `Conflict` when the import is no longer
/// being applied (failed by the recovery sweep of another instance), so the caller stops.
pub(super) async fn heartbeat(
    db: &impl ConnectionTrait,
    id: CatalogImportId,
) -> Result<(), AppError> {
    let beat = catalog_import::Entity::update_many()
        .col_expr(catalog_import::Column::HeartbeatAt, Expr::value(Utc::now()))
        .filter(catalog_import::Column::Id.eq(id.0))
        .filter(catalog_import::Column::Status.eq(ImportStatus::Applying.code()))
        .exec(db)
        .await?;
    if beat.rows_affected == 1 {
        Ok(())
    } else {
        Err(AppError::Conflict(
            "This import is no longer being applied.".to_owned(),
        ))
    }
}

fn staged_row(
    id: CatalogImportId,
    facts: &ChannelFacts,
    topic_id: i64,
) -> catalog_import_row::ActiveModel {
    catalog_import_row::ActiveModel {
        import_id: Set(id.0),
        handle: Set(facts.handle.clone()),
        title: Set(facts.title.clone()),
        topic_id: Set(topic_id),
        language: Set(facts.language.clone()),
        subscribers: Set(facts.subscribers),
        avg_views: Set(facts.avg_views),
        posts_per_day: Set(facts.posts_per_day),
        status: Set(if facts.active { ACTIVE } else { INACTIVE }.to_owned()),
        ..Default::default()
    }
}

/// Stages `writes` for import `id`, [`STAGE_BATCH`] rows per transaction, reporting progress
/// in `jobs`. Readers of the catalog see nothing of it. On SQLite it pauses after each chunk
/// for as long as the chunk held the write lock, so that other writers (sign-ins) waiting on
/// the lock get it at least half of the time.
pub(super) async fn stage<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    jobs: &ImportJobs,
    id: CatalogImportId,
    writes: &[(ChannelFacts, i64)],
) -> Result<(), AppError> {
    let sqlite = db.get_database_backend() == DbBackend::Sqlite;
    let total = writes.len() as u64;
    let mut done = 0;
    jobs.set(id.0, done, total);
    for batch in writes.chunks(STAGE_BATCH) {
        let started = Instant::now();
        let txn = db.begin().await?;
        heartbeat(&txn, id).await?;
        let rows = batch
            .iter()
            .map(|(facts, topic)| staged_row(id, facts, *topic));
        catalog_import_row::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        done += batch.len() as u64;
        jobs.set(id.0, done, total);
        if sqlite {
            tokio::time::sleep(started.elapsed()).await;
        }
    }
    Ok(())
}

/// Upserts the staged rows of `id` into the catalog by handle, in the caller's transaction:
/// one statement. This is the one step that holds SQLite's write lock for longer than a
/// chunk, and its length grows with the rows the import writes (only new and changed rows are
/// staged): 1.5–3 s for 200,000 rows on SQLite (`server/tests/catalog_import_load.rs`
/// measures it), well inside the time writers wait for the lock (`SQLITE_LOCK_WAIT`).
pub(super) async fn publish(
    txn: &impl ConnectionTrait,
    id: CatalogImportId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use catalog_import_row::Column as Staged;
    use channel::Column as C;
    let facts = [
        (C::Handle, Staged::Handle),
        (C::Title, Staged::Title),
        (C::TopicId, Staged::TopicId),
        (C::Language, Staged::Language),
        (C::Subscribers, Staged::Subscribers),
        (C::AvgViews, Staged::AvgViews),
        (C::PostsPerDay, Staged::PostsPerDay),
        (C::Status, Staged::Status),
    ];
    let mut select = Query::select();
    select
        .columns(facts.map(|(_, staged)| staged))
        .expr(Expr::value(now))
        .from(catalog_import_row::Entity)
        .and_where(Staged::ImportId.eq(id.0))
        // Staged in handle order (see `plan`), so this follows the channel's handle index
        // page by page, and reads the staging index as it is: no sort inside the transaction.
        .order_by(Staged::Id, Order::Asc);
    let mut insert = Query::insert();
    insert
        .into_table(channel::Entity)
        .columns(
            facts
                .map(|(column, _)| column)
                .into_iter()
                .chain([C::UpdatedAt]),
        )
        .select_from(select)
        .map_err(|e| AppError::internal("catalog import: publish", e))?
        .on_conflict(
            OnConflict::column(C::Handle)
                .update_columns([
                    C::Title,
                    C::TopicId,
                    C::Language,
                    C::Subscribers,
                    C::AvgViews,
                    C::PostsPerDay,
                    C::Status,
                    C::UpdatedAt,
                ])
                .to_owned(),
        );
    txn.execute(&insert).await?;
    Ok(())
}

/// Rows published from which PostgreSQL's statistics of the catalog are refreshed at once.
const ANALYZE_AFTER: u64 = 1_000;

/// After a large publish on PostgreSQL, refreshes the statistics of `channel`. Until then the
/// planner still sees the catalog as it was; worse, a pooled connection keeps the generic plan
/// it chose for a prepared lookup (e.g. by handle, as the next import's comparison does) while
/// the catalog was small: a sequential scan, which took about a second per query once 200,000
/// rows had been imported (autovacuum may be off or a minute away). `ANALYZE` makes those plans
/// be made again. Best effort: the import is already applied.
pub(super) async fn refresh_statistics(db: &impl ConnectionTrait, published: u64) {
    if db.get_database_backend() != DbBackend::Postgres || published < ANALYZE_AFTER {
        return;
    }
    if let Err(error) = db.execute_unprepared("ANALYZE channel").await {
        tracing::warn!(%error, "could not refresh the catalog's statistics after an import");
    }
}

/// Deletes staged rows matching `which`, [`DELETE_BATCH`] per statement so that no statement
/// holds SQLite's write lock for long. Returns how many went.
async fn delete_staged(db: &impl ConnectionTrait, which: Condition) -> Result<u64, AppError> {
    let mut deleted = 0;
    loop {
        let mut chunk = Query::select();
        chunk
            .column(catalog_import_row::Column::Id)
            .from(catalog_import_row::Entity)
            .cond_where(which.clone())
            .order_by(catalog_import_row::Column::Id, Order::Asc)
            .limit(DELETE_BATCH);
        let gone = catalog_import_row::Entity::delete_many()
            .filter(catalog_import_row::Column::Id.in_subquery(chunk))
            .exec(db)
            .await?
            .rows_affected;
        deleted += gone;
        if gone < DELETE_BATCH {
            return Ok(deleted);
        }
    }
}

/// Discards every staged row of `id`.
pub(super) async fn discard_staged(
    db: &impl ConnectionTrait,
    id: CatalogImportId,
) -> Result<u64, AppError> {
    delete_staged(
        db,
        Condition::all().add(catalog_import_row::Column::ImportId.eq(id.0)),
    )
    .await
}

/// Fails every import left `applying` without a heartbeat for [`HEARTBEAT_LEASE`] (its process
/// died: nothing of it was published), then discards the staged rows of every import that is
/// not being applied. One conditional update, so several instances may run it at once, and an
/// import a live process is applying is never touched. Run at start-up and periodically.
/// Returns how many imports it failed.
pub async fn recover_abandoned(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let failed = catalog_import::Entity::update_many()
        .col_expr(
            catalog_import::Column::Status,
            Expr::value(ImportStatus::Failed.code()),
        )
        .col_expr(
            catalog_import::Column::Message,
            Expr::value(ABANDONED_MESSAGE),
        )
        .col_expr(catalog_import::Column::FinishedAt, Expr::value(now))
        .filter(catalog_import::Column::Status.eq(ImportStatus::Applying.code()))
        .filter(
            Condition::any()
                .add(catalog_import::Column::HeartbeatAt.is_null())
                .add(catalog_import::Column::HeartbeatAt.lt(now - HEARTBEAT_LEASE)),
        )
        .exec(db)
        .await?
        .rows_affected;
    if failed > 0 {
        tracing::warn!(failed, "failed catalog imports abandoned while applying");
    }
    let mut applying = Query::select();
    applying
        .column(catalog_import::Column::Id)
        .from(catalog_import::Entity)
        .and_where(catalog_import::Column::Status.eq(ImportStatus::Applying.code()));
    delete_staged(
        db,
        Condition::all().add(catalog_import_row::Column::ImportId.not_in_subquery(applying)),
    )
    .await?;
    Ok(failed)
}
