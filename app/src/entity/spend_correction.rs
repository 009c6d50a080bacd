//! `spend_correction`: finance reversed posted charges — of one decision, or of one channel
//! over a period — with a reason; its `charge_reversal` rows say which and how much (in each
//! account's currency). Append-only.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "spend_correction")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `decision` or `channel`.
    pub scope: String,
    pub decision_id: Option<i64>,
    pub channel_id: Option<i64>,
    /// The UTC days whose charges a channel correction covers.
    pub from_day: Option<Date>,
    pub to_day: Option<Date>,
    pub reason: String,
    /// How many decisions it reversed charges of.
    pub reversals: i64,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
