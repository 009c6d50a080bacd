//! `catalog_import`: an uploaded channel CSV, staged for preview until an admin applies it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "catalog_import")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub file_name: String,
    pub file_sha256: String,
    /// The uploaded file, kept so that applying re-reads exactly what was previewed.
    pub csv: String,
    pub total_rows: i64,
    pub bad_rows: i64,
    pub new_rows: i64,
    pub changed_rows: i64,
    pub unchanged_rows: i64,
    /// `previewed`, `applying`, `applied`, `failed` or `discarded`.
    pub status: String,
    pub message: Option<String>,
    pub finished_at: Option<DateTimeUtc>,
    /// Last sign of life of the process applying it; an import left `applying` with an old
    /// heartbeat belongs to a dead process and is failed by the recovery sweep.
    pub heartbeat_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
