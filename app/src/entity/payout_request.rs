//! `payout_request`: a channel's month marked paid above the approval threshold, waiting for a
//! different finance user (approved: paid as the `publisher_payout` it names), or rejected, or
//! cancelled by its requester.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payout_request")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub channel_id: i64,
    pub currency: String,
    /// `YYYY-MM` (UTC).
    pub period: String,
    /// What the month owed the channel when asked, in micro-units: an approval pays exactly this.
    pub amount: i64,
    /// The outgoing payment's reference.
    pub reference: String,
    /// [`crate::model::FinanceRequestStatus`]'s code.
    pub status: String,
    pub requested_by: i64,
    pub requested_at: DateTimeUtc,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    pub rejection: String,
    pub payout_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
