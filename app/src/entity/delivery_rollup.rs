//! `delivery_rollup`: views, clicks and spend per campaign, ad, channel and day — the account's
//! local day of the views — which reports read instead of raw events.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_rollup")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub ad_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub channel_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    /// The campaign's account, so that an account's report reads one index range.
    pub account_id: i64,
    pub views: i64,
    pub clicks: i64,
    pub spend_micros: i64,
    /// Charges reversed on this day (by finance's corrections) of this campaign, ad and
    /// channel; the original spend stays on the day it was charged.
    pub reversed_micros: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
