//! `review_task`: one item of the moderation queue — an ad version or a live campaign's
//! targeting change — with its claim.

use crate::model::{ReviewKind, TaskState};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_task")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: ReviewKind,
    pub account_id: i64,
    pub campaign_id: i64,
    /// The version to review (kind `ad_version`).
    pub ad_version_id: Option<i64>,
    /// JSON of the targeting to review (kind `targeting`), as submitted.
    pub targeting: Option<String>,
    /// ",en,de," — the targeted languages when it was submitted, for the queue's filter.
    pub languages: String,
    pub submitted_at: DateTimeUtc,
    pub state: TaskState,
    /// Set on an appeal's task: the appeal it decides.
    pub appeal_id: Option<i64>,
    /// The moderator who may not take this task (the one whose decision is appealed).
    pub excluded_moderator: Option<i64>,
    pub claimed_by: Option<i64>,
    pub claimed_until: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
