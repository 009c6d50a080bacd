//! `ledger_transfer`: one append-only double-entry transfer (the database refuses UPDATE and
//! DELETE).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_transfer")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub debit_account_id: i64,
    pub credit_account_id: i64,
    /// Micro-units, > 0.
    pub amount: i64,
    pub currency: String,
    /// `model::TransferKind` code.
    pub kind: String,
    pub object_type: String,
    pub object_id: i64,
    /// Unique across the table: the same key twice is one transfer.
    pub idempotency_key: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
