//! `delivery_rollup_day`: `delivery_rollup` without the channel — views, clicks and spend per
//! campaign, day and ad, written by the same statements (`service::reports::rollup`). Report
//! totals and days read it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_rollup_day")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    #[sea_orm(primary_key, auto_increment = false)]
    pub ad_id: i64,
    pub account_id: i64,
    pub views: i64,
    pub clicks: i64,
    pub spend_micros: i64,
    pub reversed_micros: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
