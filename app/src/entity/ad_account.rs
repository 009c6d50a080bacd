//! `ad_account`: an advertiser organisation.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ad_account")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub created_at: DateTimeUtc,
    /// The owner's "balance low" threshold; `None`: no warning.
    pub low_balance_micros: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
