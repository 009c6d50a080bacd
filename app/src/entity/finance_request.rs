//! `finance_request`: a top-up or refund under the two-person rule (carried out at once below
//! the approval threshold; above it, waiting for a different finance user).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_request")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `top_up` or `refund` ([`crate::model::FinanceRequestKind`]).
    pub kind: String,
    pub account_id: i64,
    pub amount: i64,
    pub currency: String,
    pub external_reference: String,
    /// The reference's letters and digits in capitals (`model::finance::reference_key`):
    /// what is unique, so one transfer typed two ways is still one.
    pub reference_key: String,
    pub note: String,
    /// [`crate::model::FinanceRequestStatus`]'s code.
    pub status: String,
    pub requested_by: i64,
    pub requested_at: DateTimeUtc,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    pub reason: String,
    pub transfer_id: Option<i64>,
    /// The top-up (`account_top_up`) a refund returns; none for a top-up, and for refunds
    /// made before refunds named their source.
    pub top_up_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
