//! `correction_request`: a correction above the approval threshold, waiting for a different
//! finance user (approved: carried out as the `spend_correction` it names), or rejected, or
//! cancelled by its requester.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "correction_request")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `decision` or `channel`.
    pub scope: String,
    pub decision_id: Option<i64>,
    pub channel_id: Option<i64>,
    pub from_day: Option<Date>,
    pub to_day: Option<Date>,
    pub reason: String,
    /// Decisions with charges to reverse, when asked.
    pub decisions: i64,
    /// What it would give back when asked: JSON of [`crate::model::CorrectionTotal`]s.
    pub totals: String,
    /// A digest of the charges it would reverse when asked (SHA-256, hex).
    pub charges: String,
    /// [`crate::model::FinanceRequestStatus`]'s code.
    pub status: String,
    pub requested_by: i64,
    pub requested_at: DateTimeUtc,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    pub rejection: String,
    pub correction_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
