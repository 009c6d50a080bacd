//! `charge_reversal`: one decision's posted charges given back by a correction, split back out
//! of the publisher's payable and the platform's revenue as they were charged. Append-only.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "charge_reversal")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub correction_id: i64,
    pub decision_id: i64,
    pub account_id: i64,
    pub campaign_id: i64,
    pub ad_id: i64,
    pub channel_id: i64,
    pub currency: String,
    /// The decision's posted total that its reversals now cover (unique per decision).
    pub through_posted: i64,
    pub amount: i64,
    pub publisher: i64,
    pub platform: i64,
    /// The account-local day it was made, on which reports show it.
    pub day: Date,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
