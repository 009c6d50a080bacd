//! `review_decision`: a moderator's verdict on one review task (append-only).

use crate::model::{ReviewKind, Verdict};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_decision")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub task_id: i64,
    pub account_id: i64,
    pub campaign_id: i64,
    pub ad_version_id: Option<i64>,
    /// JSON of the targeting decided on (a targeting change).
    pub targeting: Option<String>,
    pub moderator_id: i64,
    pub outcome: Verdict,
    /// A `ReviewField` code.
    pub field: Option<String>,
    pub note: String,
    pub is_appeal: bool,
    /// When the reviewed item was submitted (for the published review times).
    pub submitted_at: DateTimeUtc,
    pub decided_at: DateTimeUtc,
}

impl Model {
    /// What a decision is about, for the kind column (kept with the task).
    pub fn kind(&self) -> ReviewKind {
        ReviewKind::of(self.ad_version_id)
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
