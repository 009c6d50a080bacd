//! `campaign`: an ad account's campaign — targeting, money in micro-units, schedule, status.

use crate::model::CampaignStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaign")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub status: CampaignStatus,
    /// JSON of `model::Targeting`: the targeting that serves (or will, once approved).
    pub targeting: String,
    /// JSON of a targeting change to a live campaign, waiting for review.
    pub pending_targeting: Option<String>,
    pub pending_since: Option<DateTimeUtc>,
    pub bid_micros: i64,
    pub total_budget_micros: i64,
    pub daily_budget_micros: Option<i64>,
    /// `None`: as soon as approved.
    pub start_at: Option<DateTimeUtc>,
    pub end_at: Option<DateTimeUtc>,
    /// JSON of `model::Schedule` (hours local to the account); `None`: any hour.
    pub schedule: Option<String>,
    /// When the advertiser sent the campaign's ads for review (asked it to launch).
    pub submitted_at: Option<DateTimeUtc>,
    pub completed_reason: Option<String>,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::ad::Entity")]
    Ad,
}

impl Related<super::ad::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Ad.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
