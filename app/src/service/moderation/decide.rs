//! The decision: approve, or decline with policy reasons, in one transaction with the
//! subject's change, the advertiser's notifications and the audit event.

use super::{intake, queue};
use crate::{
    entity::{
        ad, ad_version, campaign, policy_reason, review_decision, review_decision_reason,
        review_task,
    },
    error::{AppError, FieldErrors},
    model::{
        AccountId, AdVersionId, AuditAction, CampaignId, DecisionInput, PlatformRole, ReviewKind,
        ReviewTaskId, Targeting, TaskState, Verdict,
    },
    service::{
        Actor, ads,
        audit::{self, AuditEntry},
        campaigns::{self, targeting_of},
        notifications,
    },
};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set, TransactionSession, TransactionTrait, sea_query::Expr,
};

/// The version a task reviews, with its ad.
pub(super) async fn version_and_ad(
    db: &impl ConnectionTrait,
    task: &review_task::Model,
) -> Result<(ad::Model, ad_version::Model), AppError> {
    let version_id = task
        .ad_version_id
        .ok_or_else(|| AppError::internal("review task", "ad task without a version"))?;
    let (version, ad) = ad_version::Entity::find_by_id(version_id)
        .find_also_related(ad::Entity)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((ad.ok_or(AppError::NotFound)?, version))
}

/// Decides task `id`, which the caller must hold a live claim on: approve, or decline with at
/// least one active policy reason. The task, the subject (version or targeting), the decision
/// with its reasons, the advertiser's notifications and the audit event are one transaction.
pub async fn decide<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    id: ReviewTaskId,
    input: DecisionInput,
) -> Result<(), AppError> {
    actor.require_staff(db, PlatformRole::Moderator).await?;
    input.check().into_result()?;
    let me = actor.user_id.0;
    let task = queue::find_visible(db, me, id).await?;
    let mut codes = input.reasons.clone();
    codes.sort();
    codes.dedup();
    let reasons = policy_reason::Entity::find()
        .filter(policy_reason::Column::Code.is_in(codes.clone()))
        .filter(policy_reason::Column::Active.eq(true))
        .order_by_asc(policy_reason::Column::Position)
        .all(db)
        .await?;
    if reasons.len() != codes.len() {
        return Err(AppError::Invalid(FieldErrors::one(
            "reasons",
            "One of the chosen reasons no longer exists: reload the page.",
        )));
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    // The campaign first, like every other write to it, so concurrent edits queue up behind.
    let campaign = campaigns::lock(
        &txn,
        AccountId(task.account_id),
        CampaignId(task.campaign_id),
    )
    .await?;
    let closed = review_task::Entity::update_many()
        .col_expr(review_task::Column::State, Expr::value(TaskState::Decided))
        .col_expr(review_task::Column::ClosedAt, Expr::value(now))
        .filter(review_task::Column::Id.eq(task.id))
        .filter(review_task::Column::State.eq(TaskState::Open))
        .filter(review_task::Column::ClaimedBy.eq(me))
        .filter(review_task::Column::ClaimedUntil.gt(now))
        .exec(&txn)
        .await?;
    if closed.rows_affected != 1 {
        let fresh = review_task::Entity::find_by_id(task.id)
            .one(&txn)
            .await?
            .ok_or(AppError::NotFound)?;
        return Err(AppError::Conflict(
            match fresh.state {
                TaskState::Open => {
                    "Your 15-minute claim has ended: open the item again to review it."
                }
                TaskState::Decided => "This item has already been decided.",
                TaskState::Withdrawn => {
                    "The advertiser replaced this submission: it is no longer waiting for review."
                }
            }
            .into(),
        ));
    }
    let verdict = if input.approve {
        Verdict::Approved
    } else {
        Verdict::Declined
    };
    let (subject, link) = match task.kind {
        ReviewKind::AdVersion => {
            let (ad, version) = version_and_ad(&txn, &task).await?;
            ads::decide_version(&txn, AdVersionId(version.id), verdict, now).await?;
            (
                format!("Ad “{}”, version {}", ad.title, version.number),
                format!("/campaigns/{}/ads/{}", campaign.id, ad.id),
            )
        }
        ReviewKind::Targeting => {
            decide_targeting(&txn, &campaign, &task, verdict).await?;
            (
                format!("The targeting change of “{}”", campaign.name),
                format!("/campaigns/{}", campaign.id),
            )
        }
    };
    let decision = review_decision::ActiveModel {
        task_id: Set(task.id),
        account_id: Set(task.account_id),
        campaign_id: Set(task.campaign_id),
        ad_version_id: Set(task.ad_version_id),
        targeting: Set(task.targeting.clone()),
        moderator_id: Set(me),
        outcome: Set(verdict),
        field: Set((!input.field.is_empty()).then(|| input.field.clone())),
        note: Set(input.note.trim().to_owned()),
        is_appeal: Set(task.appeal_id.is_some()),
        submitted_at: Set(task.submitted_at),
        decided_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for reason in &reasons {
        review_decision_reason::ActiveModel {
            decision_id: Set(decision.id),
            policy_reason_id: Set(reason.id),
        }
        .insert(&txn)
        .await?;
    }
    let titles: Vec<&str> = reasons.iter().map(|r| r.title.as_str()).collect();
    let (title, mut body) = match (verdict, task.appeal_id.is_some()) {
        (Verdict::Approved, false) => (format!("{subject} was approved"), String::new()),
        (Verdict::Approved, true) => (
            format!("Your appeal succeeded: {subject} is approved"),
            String::new(),
        ),
        (Verdict::Declined, false) => (
            format!("{subject} was declined"),
            format!("Reasons: {}.", titles.join(", ")),
        ),
        (Verdict::Declined, true) => (
            format!("Your appeal was reviewed: {subject} stays declined"),
            format!("Reasons: {}.", titles.join(", ")),
        ),
    };
    if !decision.note.is_empty() {
        if !body.is_empty() {
            body.push(' ');
        }
        body.push_str(&format!("Moderator's note: {}", decision.note));
    }
    notifications::notify_account(&txn, task.account_id, "review", &title, &body, &link, now)
        .await?;
    audit::record(
        &txn,
        AuditEntry::new(AuditAction::ReviewDecided, "review_task", id.to_string())
            .by(actor.user_id)
            .from_ip(actor.ip.clone())
            .detail(serde_json::json!({
                "decision_id": decision.id,
                "kind": task.kind.code(),
                "ad_version_id": task.ad_version_id,
                "campaign_id": task.campaign_id,
                "outcome": verdict.code(),
                "reasons": codes,
                "field": decision.field,
                "note": decision.note,
                "appeal": task.appeal_id.is_some(),
            })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Applies a decision to a live campaign's waiting targeting: approved, it serves from now
/// on; declined, the serving targeting stays and the change is dropped.
async fn decide_targeting(
    db: &impl ConnectionTrait,
    campaign: &campaign::Model,
    task: &review_task::Model,
    verdict: Verdict,
) -> Result<(), AppError> {
    if campaign.pending_targeting.is_none() || campaign.pending_targeting != task.targeting {
        return Err(AppError::Conflict(
            "The campaign's targeting changed meanwhile: this change is no longer waiting.".into(),
        ));
    }
    let mut active = campaign.clone().into_active_model();
    if verdict == Verdict::Approved {
        // Re-parse so only a well-formed targeting is ever put into service.
        let approved: Targeting = targeting_of(task.targeting.as_deref().unwrap_or_default())?;
        let json = campaigns::to_json(&approved)?;
        // Ads still waiting will serve with this targeting: review them against it.
        intake::retarget(db, campaign.id, &json).await?;
        active.targeting = Set(json);
    }
    active.pending_targeting = Set(None);
    active.pending_since = Set(None);
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    Ok(())
}
