//! `ad`: one creative of a campaign; its copy lives in immutable `ad_version` rows.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ad")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    /// The campaign's account, so that every query can be scoped by the session's account.
    pub account_id: i64,
    pub title: String,
    pub paused: bool,
    /// The approved version that serves.
    pub live_version_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::campaign::Entity",
        from = "Column::CampaignId",
        to = "super::campaign::Column::Id"
    )]
    Campaign,
    #[sea_orm(has_many = "super::ad_version::Entity")]
    AdVersion,
}

impl Related<super::campaign::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Campaign.def()
    }
}

impl Related<super::ad_version::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AdVersion.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
