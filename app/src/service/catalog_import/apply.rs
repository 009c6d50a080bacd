//! Applying a confirmed import: the claim that makes a confirmation count once, and the one
//! transaction that upserts the file's new and changed rows by handle.

use super::{ImportJobs, parse_file, plan, topic_ids, transition};
use crate::{
    entity::{catalog_import, channel},
    error::AppError,
    model::{
        AuditAction, CatalogImportId, ChannelFacts, ImportProgress, ImportStatus, PlatformRole,
        UserId,
    },
    service::{
        Actor,
        audit::{self, AuditEntry},
        catalog::{self, ACTIVE, INACTIVE},
        settings,
    },
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set, TransactionSession,
    TransactionTrait,
    sea_query::{Expr, OnConflict},
};

/// Rows per upsert statement: 9 bound values each, far below SQLite's 32,766 and PostgreSQL's
/// 65,535 parameters per statement.
const WRITE_BATCH: usize = 1_000;

/// A previewed import that one admin's confirmation has claimed for applying. Only [`claim`]
/// makes one and [`run`] consumes it, so a confirmation applies at most once.
#[derive(Debug)]
pub struct ClaimedImport {
    id: CatalogImportId,
    by: UserId,
    ip: Option<String>,
}

impl ClaimedImport {
    /// The import claimed.
    pub fn id(&self) -> CatalogImportId {
        self.id
    }
}

/// Confirms a previewed import: previewed → applying. A second confirmation (a double click,
/// another tab, another instance) gets `Conflict`. Admins only; then call [`run`].
pub async fn claim(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: CatalogImportId,
) -> Result<ClaimedImport, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    transition(
        db,
        id,
        ImportStatus::Previewed,
        ImportStatus::Applying,
        None,
    )
    .await?;
    Ok(ClaimedImport {
        id,
        by: actor.user_id,
        ip: actor.ip.clone(),
    })
}

/// Applies a claimed import. The stored file is read again and compared with the catalog as
/// it is now (it may have changed since the preview); then ONE transaction upserts the new and
/// changed rows by handle (bad rows are skipped), bumps the catalog version, audits
/// `catalog.imported` and marks the import applied. On failure nothing is changed and the
/// import is marked failed. Progress is in `jobs` while it runs.
pub async fn run<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    jobs: &ImportJobs,
    claimed: ClaimedImport,
) -> Result<ImportProgress, AppError> {
    let _job = jobs.start(claimed.id.0);
    match apply(db, jobs, &claimed).await {
        Ok(done) => Ok(done),
        Err(error) => {
            tracing::error!(import = claimed.id.0, %error, "catalog import failed");
            let message = match &error {
                AppError::Invalid(fields) => fields.get("file").map(str::to_owned),
                _ => None,
            }
            .unwrap_or_else(|| {
                "The import failed and the catalog was not changed. Upload the file again to retry."
                    .to_owned()
            });
            transition(
                db,
                claimed.id,
                ImportStatus::Applying,
                ImportStatus::Failed,
                Some(message),
            )
            .await?;
            Err(error)
        }
    }
}

fn upsert_row(facts: &ChannelFacts, topic_id: i64, now: DateTime<Utc>) -> channel::ActiveModel {
    channel::ActiveModel {
        handle: Set(facts.handle.clone()),
        title: Set(facts.title.clone()),
        topic_id: Set(topic_id),
        language: Set(facts.language.clone()),
        subscribers: Set(facts.subscribers),
        avg_views: Set(facts.avg_views),
        posts_per_day: Set(facts.posts_per_day),
        status: Set(if facts.active { ACTIVE } else { INACTIVE }.to_owned()),
        updated_at: Set(now),
        ..Default::default()
    }
}

async fn apply<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    jobs: &ImportJobs,
    claimed: &ClaimedImport,
) -> Result<ImportProgress, AppError> {
    let id = claimed.id;
    let csv: String = catalog_import::Entity::find_by_id(id.0)
        .select_only()
        .column(catalog_import::Column::Csv)
        .into_tuple()
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let topics = catalog::topics(db).await?;
    let topic_ids = topic_ids(&topics);
    let (_, parsed) = parse_file(csv, topics).await?;
    let txn = db.begin().await?;
    // Writing first takes SQLite's write lock at once: the comparison below cannot go stale
    // before the upserts, and a concurrent writer waits instead of failing the transaction.
    settings::bump_catalog_version(&txn).await?;
    let plan = plan(&txn, &parsed, &topic_ids).await?;
    let total = plan.writes.len() as u64;
    jobs.set(id.0, 0, total);
    let now = Utc::now();
    let mut done = 0;
    for batch in plan.writes.chunks(WRITE_BATCH) {
        let rows = batch
            .iter()
            .map(|(facts, topic)| upsert_row(facts, *topic, now));
        channel::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(channel::Column::Handle)
                    .update_columns([
                        channel::Column::Title,
                        channel::Column::TopicId,
                        channel::Column::Language,
                        channel::Column::Subscribers,
                        channel::Column::AvgViews,
                        channel::Column::PostsPerDay,
                        channel::Column::Status,
                        channel::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        done += batch.len() as u64;
        jobs.set(id.0, done, total);
    }
    let bad_rows = parsed.problems.len() as u64;
    let marked = catalog_import::Entity::update_many()
        .col_expr(
            catalog_import::Column::Status,
            Expr::value(ImportStatus::Applied.code()),
        )
        .col_expr(
            catalog_import::Column::NewRows,
            Expr::value(plan.new_rows as i64),
        )
        .col_expr(
            catalog_import::Column::ChangedRows,
            Expr::value(plan.changed_rows as i64),
        )
        .col_expr(
            catalog_import::Column::UnchangedRows,
            Expr::value(plan.unchanged_rows as i64),
        )
        .col_expr(
            catalog_import::Column::BadRows,
            Expr::value(bad_rows as i64),
        )
        .col_expr(catalog_import::Column::FinishedAt, Expr::value(now))
        .filter(catalog_import::Column::Id.eq(id.0))
        .filter(catalog_import::Column::Status.eq(ImportStatus::Applying.code()))
        .exec(&txn)
        .await?;
    if marked.rows_affected != 1 {
        return Err(AppError::internal(
            "catalog import",
            format!("import {id} left the applying state while it ran"),
        ));
    }
    audit::record(
        &txn,
        AuditEntry::new(
            AuditAction::CatalogImported,
            "catalog_import",
            id.to_string(),
        )
        .by(claimed.by)
        .from_ip(claimed.ip.clone())
        .detail(serde_json::json!({
            "total_rows": parsed.total_rows,
            "new_rows": plan.new_rows,
            "changed_rows": plan.changed_rows,
            "unchanged_rows": plan.unchanged_rows,
            "bad_rows": bad_rows,
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(ImportProgress {
        status: ImportStatus::Applied,
        done,
        total,
        message: None,
    })
}
