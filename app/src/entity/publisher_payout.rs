//! `publisher_payout`: a channel's accrued share for one UTC month, marked paid (a transfer
//! from its payable to the outside world), once per channel, currency and month. Append-only.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "publisher_payout")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub channel_id: i64,
    pub currency: String,
    /// `YYYY-MM`.
    pub period: String,
    pub amount: i64,
    /// The payment's reference (bank transfer id).
    pub reference: String,
    pub transfer_id: i64,
    pub paid_by: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
