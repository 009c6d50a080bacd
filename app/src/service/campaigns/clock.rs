//! Status changes nobody clicks: a scheduled campaign starts at its start time, a live one
//! completes at its end date or when its spend reaches its budget, and an approved ad launches a campaign that asked to run. Every
//! change goes through the lifecycle's transition function and is audited.

use super::write::change_status;
use crate::{
    entity::campaign,
    error::AppError,
    model::{CampaignEvent, CampaignId, CampaignStatus, CompletionReason, Micros, transition},
    service::spend,
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, TransactionSession,
    TransactionTrait,
};

/// What one sweep changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    pub started: u64,
    pub completed: u64,
}

/// Starts scheduled campaigns whose start has come, and completes live campaigns whose end has
/// passed or whose spend (from the rollup) has reached the total budget. Safe to run from
/// several instances at once: each change is conditional on the status it saw, and a lost
/// race is skipped.
pub async fn sweep<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<Sweep, AppError> {
    let mut done = Sweep::default();
    let ended = campaign::Entity::find()
        .filter(campaign::Column::Status.is_in([
            CampaignStatus::Scheduled,
            CampaignStatus::Running,
            CampaignStatus::Paused,
        ]))
        .filter(campaign::Column::EndAt.lte(now))
        .all(db)
        .await?;
    for model in ended {
        let reason = CompletionReason::EndDateReached;
        if let Ok(to) = transition(model.status, CampaignEvent::Complete(reason))
            && apply(db, &model, to, Some(reason.code())).await?
        {
            done.completed += 1;
        }
    }
    // Spend is read from the delivery rollup; a campaign that has used its budget is done.
    let live = campaign::Entity::find()
        .filter(campaign::Column::Status.eq(CampaignStatus::Running))
        .all(db)
        .await?;
    let ids: Vec<CampaignId> = live.iter().map(|m| CampaignId(m.id)).collect();
    let spent = spend::by_campaign(db, &ids).await?;
    for model in live {
        let reason = CompletionReason::BudgetSpent;
        let used = spent
            .get(&CampaignId(model.id))
            .copied()
            .unwrap_or(Micros::ZERO);
        if used.0 >= model.total_budget_micros
            && let Ok(to) = transition(model.status, CampaignEvent::Complete(reason))
            && apply(db, &model, to, Some(reason.code())).await?
        {
            done.completed += 1;
        }
    }
    let due = campaign::Entity::find()
        .filter(campaign::Column::Status.eq(CampaignStatus::Scheduled))
        .filter(
            Condition::any()
                .add(campaign::Column::StartAt.is_null())
                .add(campaign::Column::StartAt.lte(now)),
        )
        .all(db)
        .await?;
    for model in due {
        if let Ok(to) = transition(model.status, CampaignEvent::StartReached)
            && apply(db, &model, to, None).await?
        {
            done.started += 1;
        }
    }
    Ok(done)
}

/// Launches a draft campaign that was sent for review, now that one of its ads is approved:
/// it runs at once, or is scheduled for its start. Anything else is left as it is.
pub async fn launch_on_approval(
    db: &impl ConnectionTrait,
    model: &campaign::Model,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if model.status != CampaignStatus::Draft || model.submitted_at.is_none() {
        return Ok(());
    }
    let event = CampaignEvent::Launch {
        has_approved_ad: true,
        start_reached: model.start_at.is_none_or(|start| start <= now),
    };
    let to = transition(model.status, event).map_err(|e| AppError::Conflict(e.message))?;
    match change_status(db, model, to, None, None).await {
        // Another approval launched it a moment ago: this one has nothing left to do.
        Err(AppError::Conflict(_)) => Ok(()),
        other => other,
    }
}

/// One conditional change with its audit event, in one transaction; `false` when another
/// instance got there first.
async fn apply<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    model: &campaign::Model,
    to: CampaignStatus,
    reason: Option<&str>,
) -> Result<bool, AppError> {
    let txn = db.begin().await?;
    match change_status(&txn, model, to, None, reason).await {
        Ok(()) => {
            txn.commit().await?;
            Ok(true)
        }
        Err(AppError::Conflict(_)) => Ok(false),
        Err(other) => Err(other),
    }
}
