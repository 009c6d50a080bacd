//! Applying a confirmed import: the claim that makes a confirmation count once, then the
//! comparison with the catalog, the rows staged in short transactions and published in one.

use super::{ImportJobs, parse_file, plan, staging, topic_ids, transition};
use crate::{
    entity::catalog_import,
    error::AppError,
    model::{AuditAction, CatalogImportId, ImportProgress, ImportStatus, PlatformRole, UserId},
    service::{
        Actor,
        audit::{self, AuditEntry},
        catalog, settings,
    },
};
use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, TransactionSession,
    TransactionTrait, sea_query::Expr,
};
use std::time::Instant;

/// Times an import compares, stages and publishes before giving up because the catalog kept
/// changing under it.
const ATTEMPTS: usize = 3;

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
/// it is now (it may have changed since the preview); its new and changed rows are staged in
/// short transactions (other writers, such as sign-ins, go in between); then ONE transaction
/// upserts them by handle, moves the catalog version on only if no one else changed the
/// catalog since the comparison (else everything is compared and staged again), audits
/// `catalog.imported` and marks the import applied. Readers see the catalog before or after
/// that transaction, never between. On failure nothing is published, the staged rows are
/// discarded and the import is marked failed. Progress is in `jobs` while it runs.
pub async fn run<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    jobs: &ImportJobs,
    claimed: ClaimedImport,
) -> Result<ImportProgress, AppError> {
    let _job = jobs.start(claimed.id.0);
    let outcome = apply(db, jobs, &claimed).await;
    // Staged rows are useless once the run is over, published or not; a crash before this
    // point leaves them to `recover_abandoned`.
    if let Err(error) = staging::discard_staged(db, claimed.id).await {
        tracing::warn!(import = claimed.id.0, %error, "could not discard staged import rows");
    }
    match outcome {
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

async fn apply<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    jobs: &ImportJobs,
    claimed: &ClaimedImport,
) -> Result<ImportProgress, AppError> {
    let id = claimed.id;
    staging::heartbeat(db, id).await?;
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
    for _ in 0..ATTEMPTS {
        staging::heartbeat(db, id).await?;
        let version = settings::catalog_version(db).await?;
        let plan = plan(db, &parsed, &topic_ids, Some(id)).await?;
        staging::heartbeat(db, id).await?;
        staging::discard_staged(db, id).await?;
        staging::stage(db, jobs, id, &plan.writes).await?;
        if settings::catalog_version(db).await? != version {
            continue;
        }
        let now = Utc::now();
        let publishing = Instant::now();
        let txn = db.begin().await?;
        staging::publish(&txn, id, now).await?;
        // Last, so that on PostgreSQL channel rows are locked before the version row, in the
        // same order as an admin's channel edit takes them.
        if !settings::bump_catalog_version_from(&txn, version).await? {
            txn.rollback().await?;
            continue;
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
        let written = plan.writes.len() as u64;
        // The longest write transaction of an import: what other writers may have waited.
        tracing::info!(
            import = id.0,
            rows = written,
            publish_ms = publishing.elapsed().as_millis() as u64,
            "catalog import published"
        );
        staging::refresh_statistics(db, written).await;
        return Ok(ImportProgress {
            status: ImportStatus::Applied,
            done: written,
            total: written,
            message: None,
        });
    }
    Err(AppError::field(
        "file",
        "The catalog kept changing while this import was applied, so it was not applied. \
         Upload the file again to retry.",
    ))
}
