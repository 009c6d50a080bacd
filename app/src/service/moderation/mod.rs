//! Moderation: the queue and its claims (`queue`), the review screen and decisions
//! (`decide`), appeals and what advertisers read about decisions (`appeals`), and the
//! published review times (`stats`). This file turns stored decisions into their views.

pub mod appeals;
pub mod decide;
pub mod intake;
pub mod queue;
pub mod screen;
pub mod stats;

use crate::{
    entity::{
        ad, ad_version, appeal, campaign, policy_reason, review_decision, review_decision_reason,
        review_task,
    },
    error::AppError,
    model::{
        AdVersionStatus, AppealState, CampaignId, CitedReason, DecisionView, ReviewDecisionId,
        ReviewField, TaskState, Verdict,
    },
    service::reads::all_in,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;

pub use decide::decide;
pub use queue::{Claim, claim, queue, release};
pub use screen::screen;

/// The campaigns and ad versions a set of tasks or decisions is about, looked up at once.
pub(crate) struct Subjects {
    campaigns: HashMap<i64, campaign::Model>,
    /// version id → (the version, its ad)
    versions: HashMap<i64, (ad_version::Model, ad::Model)>,
    /// ad id → newest version number
    latest: HashMap<i64, i32>,
}

impl Subjects {
    async fn load(
        db: &impl ConnectionTrait,
        campaign_ids: impl Iterator<Item = i64>,
        version_ids: impl Iterator<Item = i64>,
    ) -> Result<Self, AppError> {
        // Lookups by an empty list are not sent (a targeting decision names no version).
        let campaigns = all_in(
            db,
            campaign::Entity::find(),
            campaign::Column::Id,
            campaign_ids,
        )
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
        let version_ids: Vec<i64> = version_ids.collect();
        let versions = if version_ids.is_empty() {
            Vec::new()
        } else {
            ad_version::Entity::find()
                .filter(ad_version::Column::Id.is_in(version_ids))
                .find_also_related(ad::Entity)
                .all(db)
                .await?
        };
        let mut latest = HashMap::new();
        for v in all_in(
            db,
            ad_version::Entity::find(),
            ad_version::Column::AdId,
            versions.iter().map(|(v, _)| v.ad_id),
        )
        .await?
        {
            let entry = latest.entry(v.ad_id).or_insert(v.number);
            *entry = (*entry).max(v.number);
        }
        Ok(Self {
            campaigns,
            versions: versions
                .into_iter()
                .filter_map(|(v, a)| a.map(|a| (v.id, (v, a))))
                .collect(),
            latest,
        })
    }

    pub(crate) fn campaign_name(&self, id: i64) -> String {
        self.campaigns
            .get(&id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    }

    fn describe_subject(&self, version: Option<i64>, campaign: i64) -> String {
        match version.and_then(|v| self.versions.get(&v)) {
            Some((v, a)) => format!("Ad “{}”, version {}", a.title, v.number),
            None => format!("Targeting of “{}”", self.campaign_name(campaign)),
        }
    }

    pub(crate) fn describe(&self, task: &review_task::Model) -> String {
        self.describe_subject(task.ad_version_id, task.campaign_id)
    }

    /// The ad's text, or the proposed targeting in words.
    pub(crate) fn preview(&self, task: &review_task::Model) -> String {
        match task.ad_version_id.and_then(|v| self.versions.get(&v)) {
            Some((v, _)) => v.text.clone(),
            None => task
                .targeting
                .as_deref()
                .and_then(|t| crate::service::campaigns::targeting_of(t).ok())
                .map(|t| t.describe())
                .unwrap_or_default(),
        }
    }

    /// Whether a decline is still the current state of its subject, so an appeal can change
    /// something: the declined version is its ad's newest, or the declined targeting is the
    /// campaign's latest targeting decision and nothing newer waits.
    fn still_current(
        &self,
        d: &review_decision::Model,
        newest_targeting: &HashMap<i64, i64>,
    ) -> bool {
        let Some(campaign) = self.campaigns.get(&d.campaign_id) else {
            return false;
        };
        if !campaign.status.is_editable() {
            return false;
        }
        match d.ad_version_id {
            Some(version) => self.versions.get(&version).is_some_and(|(v, a)| {
                v.status == AdVersionStatus::Declined && self.latest.get(&a.id) == Some(&v.number)
            }),
            None => {
                campaign.status.is_live()
                    && campaign.pending_targeting.is_none()
                    && newest_targeting.get(&d.campaign_id) == Some(&d.id)
            }
        }
    }
}

/// Loads the subjects of `tasks`.
pub(crate) async fn subjects(
    db: &impl ConnectionTrait,
    tasks: &[review_task::Model],
) -> Result<Subjects, AppError> {
    Subjects::load(
        db,
        tasks.iter().map(|t| t.campaign_id),
        tasks.iter().filter_map(|t| t.ad_version_id),
    )
    .await
}

/// `decisions` as both sides read them, in the given order: subject, cited reasons, and where
/// an appeal stands.
pub(crate) async fn views_of(
    db: &impl ConnectionTrait,
    decisions: Vec<review_decision::Model>,
) -> Result<Vec<DecisionView>, AppError> {
    if decisions.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = decisions.iter().map(|d| d.id).collect();
    let subjects = Subjects::load(
        db,
        decisions.iter().map(|d| d.campaign_id),
        decisions.iter().filter_map(|d| d.ad_version_id),
    )
    .await?;
    let mut reasons: HashMap<i64, Vec<CitedReason>> = HashMap::new();
    for (link, reason) in review_decision_reason::Entity::find()
        .filter(review_decision_reason::Column::DecisionId.is_in(ids.clone()))
        .find_also_related(policy_reason::Entity)
        // In the guidelines' order, as the moderator saw them.
        .order_by_asc(policy_reason::Column::Position)
        .order_by_asc(review_decision_reason::Column::PolicyReasonId)
        .all(db)
        .await?
    {
        if let Some(reason) = reason {
            reasons
                .entry(link.decision_id)
                .or_default()
                .push(CitedReason {
                    code: reason.code,
                    title: reason.title,
                });
        }
    }
    let appeals: HashMap<i64, appeal::Model> = appeal::Entity::find()
        .filter(appeal::Column::DecisionId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.decision_id, a))
        .collect();
    let appeal_tasks: HashMap<i64, TaskState> = all_in(
        db,
        review_task::Entity::find(),
        review_task::Column::AppealId,
        appeals.values().map(|a| a.id),
    )
    .await?
    .into_iter()
    .filter_map(|t| t.appeal_id.map(|a| (a, t.state)))
    .collect();
    // The newest targeting decision of each campaign involved.
    let mut newest_targeting: HashMap<i64, i64> = HashMap::new();
    for d in review_decision::Entity::find()
        .filter(
            review_decision::Column::CampaignId
                .is_in(decisions.iter().map(|d| d.campaign_id).collect::<Vec<_>>()),
        )
        .filter(review_decision::Column::AdVersionId.is_null())
        .all(db)
        .await?
    {
        let entry = newest_targeting.entry(d.campaign_id).or_insert(d.id);
        *entry = (*entry).max(d.id);
    }
    Ok(decisions
        .into_iter()
        .map(|d| {
            let appeal = appeals.get(&d.id);
            let state = match (d.outcome, d.is_appeal, appeal) {
                (Verdict::Approved, _, _) | (_, true, _) => AppealState::NotAppealable,
                (_, _, Some(a)) => match appeal_tasks.get(&a.id) {
                    Some(TaskState::Open) => AppealState::Waiting,
                    Some(TaskState::Decided) => AppealState::Decided,
                    _ => AppealState::NotAppealable,
                },
                _ if subjects.still_current(&d, &newest_targeting) => AppealState::Open,
                _ => AppealState::NotAppealable,
            };
            DecisionView {
                id: ReviewDecisionId(d.id),
                kind: d.kind(),
                campaign_id: CampaignId(d.campaign_id),
                subject: subjects.describe_subject(d.ad_version_id, d.campaign_id),
                verdict: d.outcome,
                reasons: reasons.remove(&d.id).unwrap_or_default(),
                field: d.field.as_deref().and_then(ReviewField::from_code),
                note: d.note.clone(),
                is_appeal: d.is_appeal,
                submitted_at: d.submitted_at,
                decided_at: d.decided_at,
                appeal: state,
                appeal_message: appeal.map(|a| a.message.clone()),
            }
        })
        .collect())
}
