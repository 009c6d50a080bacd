//! `catalog_import_row`: one new or changed channel of an import being applied, staged until
//! the import is published in one short transaction.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "catalog_import_row")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub import_id: i64,
    pub handle: String,
    pub title: String,
    pub topic_id: i64,
    /// ISO 639-1 code.
    pub language: String,
    pub subscribers: i64,
    pub avg_views: i64,
    pub posts_per_day: f64,
    /// `active` or `inactive`.
    pub status: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
