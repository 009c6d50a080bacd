//! `delivery_slot`: one asked-for slot per (key, slot id): what it was answered, so a repeat gets
//! the same answer.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_slot")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot_id: String,
    pub channel_id: i64,
    /// `None`: nothing won (answered 204).
    pub decision_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
