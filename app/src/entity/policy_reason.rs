//! `policy_reason`: a published reason a moderator can cite, with its guideline text.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "policy_reason")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Permanent: decisions and guideline anchors refer to it.
    #[sea_orm(unique)]
    pub code: String,
    pub title: String,
    pub guideline: String,
    pub position: i32,
    pub active: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
