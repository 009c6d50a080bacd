//! `ledger_account`: one ledger account (kind, owner, currency) with its cached balance, changed
//! only with its transfers by `service::ledger`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_account")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `model::LedgerKind` code.
    pub kind: String,
    /// The ad account, campaign or channel it belongs to; 0 for platform accounts.
    pub owner_id: i64,
    pub currency: String,
    pub debits: i64,
    pub credits: i64,
    /// credits − debits; the database keeps it at or above zero for every kind but `external`.
    pub balance: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
