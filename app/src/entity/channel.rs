//! `channel`: one public broadcast channel of the catalog (public facts only).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "channel")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
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
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
