//! `delivery_decision`: a won slot: the ad served, its price, and its hold as posted and released
//! so far.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_decision")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub key_id: i64,
    pub channel_id: i64,
    pub campaign_id: i64,
    pub ad_id: i64,
    pub ad_version_id: i64,
    pub account_id: i64,
    pub currency: String,
    pub price_cpm: i64,
    /// What was held when the slot was won.
    pub held: i64,
    pub posted: i64,
    pub released: i64,
    pub views: i64,
    pub clicks: i64,
    /// The account's local day of the decision (daily budgets count by it).
    pub local_day: Date,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// When the rest of the hold was released; `None` while it is open.
    pub settled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
