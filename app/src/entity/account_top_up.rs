//! `account_top_up`: a finance credit to an ad account's prepaid balance, with its external
//! reference (unique per account); append-only.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_top_up")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub amount: i64,
    pub currency: String,
    pub external_reference: String,
    /// The reference's letters and digits in capitals (`model::finance::reference_key`):
    /// what is unique, so one transfer typed two ways is still one.
    pub reference_key: String,
    pub note: String,
    pub transfer_id: i64,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
