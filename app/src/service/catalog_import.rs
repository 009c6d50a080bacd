//! Catalog CSV import: parse and check every row, stage the file with a preview of what would
//! change, then apply it (rows staged in short transactions, published in one) while
//! reporting progress.

mod apply;
mod parse;
mod plan;
mod staging;

pub use apply::{ClaimedImport, claim, run};
pub use staging::{ABANDONED_MESSAGE, HEARTBEAT_LEASE, recover_abandoned};

use crate::{
    entity::catalog_import,
    error::AppError,
    model::{
        AuditAction, CatalogImportId, IMPORT_MAX_BYTES, IMPORT_SHOWN_PROBLEMS, ImportPreview,
        ImportProblem, ImportProgress, ImportStatus, PlatformRole, Topic,
    },
    service::{
        Actor,
        audit::{self, AuditEntry},
        catalog,
    },
};
use chrono::Utc;
use parse::ParsedFile;
use plan::{plan, topic_ids};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait, QueryFilter, QuerySelect, Set,
    TransactionSession, TransactionTrait, sea_query::Expr,
};
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

/// Imports being applied on this instance: id → rows written so far and rows to write.
#[derive(Clone, Debug, Default)]
pub struct ImportJobs {
    progress: Arc<Mutex<HashMap<i64, (u64, u64)>>>,
    /// The runs started here, so a shutdown can let them finish.
    tasks: tokio_util::task::TaskTracker,
}

impl ImportJobs {
    /// Runs an import's task in the background, tracked for [`Self::finish`].
    pub fn spawn<F>(&self, run: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(run);
    }

    /// Waits until every run started here has ended (a shutdown calls it with a deadline:
    /// an import stopped half-way publishes nothing, but stays "applying" until a restart's
    /// recovery fails it, so it is better finished).
    pub async fn finish(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }

    fn jobs(&self) -> MutexGuard<'_, HashMap<i64, (u64, u64)>> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Rows written so far and rows to write, while the import is being applied here.
    pub fn get(&self, id: CatalogImportId) -> Option<(u64, u64)> {
        self.jobs().get(&id.0).copied()
    }

    fn set(&self, id: i64, done: u64, total: u64) {
        self.jobs().insert(id, (done, total));
    }

    /// Registers a run; its progress disappears when the returned guard drops, however the
    /// run ends.
    fn start(&self, id: i64) -> JobGuard<'_> {
        self.set(id, 0, 0);
        JobGuard { jobs: self, id }
    }
}

struct JobGuard<'a> {
    jobs: &'a ImportJobs,
    id: i64,
}

impl Drop for JobGuard<'_> {
    fn drop(&mut self) {
        self.jobs.jobs().remove(&self.id);
    }
}

/// The stored import without its file: what previews and progress polls read.
#[derive(Debug, DerivePartialModel)]
#[sea_orm(entity = "catalog_import::Entity")]
struct Summary {
    file_name: String,
    total_rows: i64,
    bad_rows: i64,
    new_rows: i64,
    changed_rows: i64,
    unchanged_rows: i64,
    status: String,
    message: Option<String>,
}

impl Summary {
    fn status(&self) -> Result<ImportStatus, AppError> {
        ImportStatus::from_code(&self.status).ok_or_else(|| {
            AppError::internal("catalog import", format!("unknown status {}", self.status))
        })
    }

    /// Rows the import writes (or wrote): the new and the changed ones.
    fn writes(&self) -> u64 {
        (self.new_rows + self.changed_rows).max(0) as u64
    }
}

/// Parses off the async workers (a large file takes a while) and hands the text back.
async fn parse_file(csv: String, topics: Vec<Topic>) -> Result<(String, ParsedFile), AppError> {
    tokio::task::spawn_blocking(move || parse::parse(&csv, &topics).map(|parsed| (csv, parsed)))
        .await
        .map_err(|e| AppError::internal("catalog import: parse task", e))?
}

fn shown(mut problems: Vec<ImportProblem>) -> Vec<ImportProblem> {
    problems.truncate(IMPORT_SHOWN_PROBLEMS);
    problems
}

/// The last path segment of an uploaded file's name, without control characters.
fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    let base: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    if base.is_empty() {
        "catalog.csv".to_owned()
    } else {
        base
    }
}

/// The refusal of a file over [`IMPORT_MAX_BYTES`].
pub fn file_too_large() -> AppError {
    AppError::field(
        "file",
        format!(
            "The file is larger than {} MB. Split it into smaller files.",
            IMPORT_MAX_BYTES / (1024 * 1024)
        ),
    )
}

/// Reads an uploaded file and stages it with a preview; the catalog is not touched. The
/// preview counts new, changed, unchanged and bad rows against the catalog now and lists the
/// first bad rows with their line and reason. Audited (`catalog.import_staged`). Admins only.
pub async fn stage<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    file_name: &str,
    file: Vec<u8>,
) -> Result<ImportPreview, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    if file.len() > IMPORT_MAX_BYTES {
        return Err(file_too_large());
    }
    let not_text = || {
        AppError::field(
            "file",
            "The file is not UTF-8 text. Save it as \"CSV UTF-8\" and upload it again.",
        )
    };
    let csv = String::from_utf8(file).map_err(|_| not_text())?;
    if csv.contains('\0') {
        return Err(not_text());
    }
    let topics = catalog::topics(db).await?;
    let topic_ids = topic_ids(&topics);
    let (csv, parsed) = parse_file(csv, topics).await?;
    if parsed.total_rows == 0 {
        return Err(AppError::field(
            "file",
            "The file has a header row but no channels.",
        ));
    }
    let plan = plan(db, &parsed, &topic_ids, None).await?;
    let file_name = clean_file_name(file_name);
    let sha256: String = Sha256::digest(csv.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let bad_rows = parsed.problems.len() as u64;
    let txn = db.begin().await?;
    let id = catalog_import::Entity::insert(catalog_import::ActiveModel {
        created_by: Set(actor.user_id.0),
        created_at: Set(Utc::now()),
        file_name: Set(file_name.clone()),
        file_sha256: Set(sha256.clone()),
        csv: Set(csv),
        total_rows: Set(parsed.total_rows as i64),
        bad_rows: Set(bad_rows as i64),
        new_rows: Set(plan.new_rows as i64),
        changed_rows: Set(plan.changed_rows as i64),
        unchanged_rows: Set(plan.unchanged_rows as i64),
        status: Set(ImportStatus::Previewed.code().to_owned()),
        message: Set(None),
        finished_at: Set(None),
        ..Default::default()
    })
    .exec(&txn)
    .await?
    .last_insert_id;
    audit::record(
        &txn,
        AuditEntry::new(
            AuditAction::CatalogImportStaged,
            "catalog_import",
            id.to_string(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone())
        .detail(serde_json::json!({
            "file_name": file_name,
            "sha256": sha256,
            "total_rows": parsed.total_rows,
            "new_rows": plan.new_rows,
            "changed_rows": plan.changed_rows,
            "unchanged_rows": plan.unchanged_rows,
            "bad_rows": bad_rows,
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(ImportPreview {
        id: CatalogImportId(id),
        file_name,
        total_rows: parsed.total_rows,
        new_rows: plan.new_rows,
        changed_rows: plan.changed_rows,
        unchanged_rows: plan.unchanged_rows,
        bad_rows,
        problems: shown(parsed.problems),
        status: ImportStatus::Previewed,
        message: None,
    })
}

async fn summary(db: &impl ConnectionTrait, id: CatalogImportId) -> Result<Summary, AppError> {
    catalog_import::Entity::find_by_id(id.0)
        .into_partial_model::<Summary>()
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// A staged import as its page shows it: the counts of its preview (of its apply, once
/// applied) and its first bad rows, read again from the stored file. Admins only.
pub async fn preview(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: CatalogImportId,
) -> Result<ImportPreview, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    let summary = summary(db, id).await?;
    let problems = if summary.bad_rows > 0 {
        let csv: String = catalog_import::Entity::find_by_id(id.0)
            .select_only()
            .column(catalog_import::Column::Csv)
            .into_tuple()
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        let (_, parsed) = parse_file(csv, catalog::topics(db).await?).await?;
        shown(parsed.problems)
    } else {
        Vec::new()
    };
    Ok(ImportPreview {
        id,
        status: summary.status()?,
        total_rows: summary.total_rows.max(0) as u64,
        new_rows: summary.new_rows.max(0) as u64,
        changed_rows: summary.changed_rows.max(0) as u64,
        unchanged_rows: summary.unchanged_rows.max(0) as u64,
        bad_rows: summary.bad_rows.max(0) as u64,
        file_name: summary.file_name,
        message: summary.message,
        problems,
    })
}

/// How far an import is: rows written so far while it is being applied on this instance,
/// else what the stored import says. Cheap enough to poll. Admins only.
pub async fn progress(
    db: &impl ConnectionTrait,
    jobs: &ImportJobs,
    actor: &Actor,
    id: CatalogImportId,
) -> Result<ImportProgress, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    let summary = summary(db, id).await?;
    let status = summary.status()?;
    let planned = summary.writes();
    let (done, total) = match status {
        ImportStatus::Applying => jobs.get(id).unwrap_or((0, planned)),
        ImportStatus::Applied => (planned, planned),
        _ => (0, planned),
    };
    Ok(ImportProgress {
        status,
        done,
        total,
        message: summary.message,
    })
}

/// Moves an import from `from` to `to` with one conditional update, so that of two racing
/// requests (on any instance) exactly one wins; the loser gets `Conflict` saying why.
async fn transition(
    db: &impl ConnectionTrait,
    id: CatalogImportId,
    from: ImportStatus,
    to: ImportStatus,
    message: Option<String>,
) -> Result<(), AppError> {
    let mut update = catalog_import::Entity::update_many()
        .col_expr(catalog_import::Column::Status, Expr::value(to.code()))
        .filter(catalog_import::Column::Id.eq(id.0))
        .filter(catalog_import::Column::Status.eq(from.code()));
    if to.is_final() {
        update = update
            .col_expr(catalog_import::Column::Message, Expr::value(message))
            .col_expr(catalog_import::Column::FinishedAt, Expr::value(Utc::now()));
    }
    if to == ImportStatus::Applying {
        // Alive from the claim on: the recovery sweep must not take it for abandoned.
        update = update.col_expr(catalog_import::Column::HeartbeatAt, Expr::value(Utc::now()));
    }
    if update.exec(db).await?.rows_affected == 1 {
        return Ok(());
    }
    let why = match summary(db, id).await?.status()? {
        ImportStatus::Previewed => "This import has not been confirmed yet.",
        ImportStatus::Applying => "This import is already being applied.",
        ImportStatus::Applied => "This import has already been applied.",
        ImportStatus::Failed => "This import failed. Upload the file again to retry.",
        ImportStatus::Discarded => "This import was discarded. Upload the file again.",
    };
    Err(AppError::Conflict(why.to_owned()))
}

/// Throws away a previewed import; the catalog is not touched. Admins only.
pub async fn discard<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    id: CatalogImportId,
) -> Result<(), AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    let message = format!("Discarded by {}.", actor.email);
    let txn = db.begin().await?;
    transition(
        &txn,
        id,
        ImportStatus::Previewed,
        ImportStatus::Discarded,
        Some(message),
    )
    .await?;
    audit::record(
        &txn,
        AuditEntry::new(
            AuditAction::CatalogImportDiscarded,
            "catalog_import",
            id.to_string(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
