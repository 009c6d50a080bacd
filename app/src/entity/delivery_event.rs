//! `delivery_event`: one accepted view/click increment, unique per (key, event id); append-only.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub key_id: i64,
    pub event_id: String,
    pub decision_id: i64,
    pub views: i64,
    pub clicks: i64,
    pub at: DateTimeUtc,
    /// What this event posted (the first answer, repeated on a replay).
    pub posted: i64,
    /// The account-local day the rollups filed it under (empty for events accepted before
    /// the column existed).
    pub day: Option<Date>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
