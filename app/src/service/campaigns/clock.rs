//! Status changes nobody clicks: a scheduled campaign starts at its start time, a live one
//! completes at its end date or when its spend reaches its budget, and an approved ad launches
//! a campaign that asked to run. Every change goes through the lifecycle's transition function,
//! re-checks its reason in the UPDATE itself, and is audited.

use super::write::{change_status, change_status_if};
use crate::{
    entity::{campaign, campaign_spend},
    error::AppError,
    model::{CampaignEvent, CampaignId, CampaignStatus, CompletionReason, Micros, transition},
    service::spend,
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, TransactionSession,
    TransactionTrait,
    sea_query::{Expr, ExprTrait, Func, Query},
};
use std::collections::HashSet;

/// What one sweep changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    pub started: u64,
    pub completed: u64,
}

/// A live campaign found due to complete, as it was read, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct DueCompletion {
    pub campaign: campaign::Model,
    pub reason: CompletionReason,
}

/// Starts scheduled campaigns whose start has come, and completes live campaigns whose end has
/// passed or whose posted spend leaves less than one view of the budget. Safe to run from
/// several instances at once, and beside the advertiser's edits: each change is one UPDATE
/// conditional on the status it saw *and* on its reason still holding, and a lost race is
/// skipped.
pub async fn sweep<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<Sweep, AppError> {
    let mut done = Sweep::default();
    for due in due_completions(db, now).await? {
        if complete(db, &due, now).await? {
            done.completed += 1;
        }
    }
    let due = campaign::Entity::find()
        .filter(campaign::Column::Status.eq(CampaignStatus::Scheduled))
        .filter(start_reached(now))
        .all(db)
        .await?;
    for model in due {
        if let Ok(to) = transition(model.status, CampaignEvent::StartReached)
            && apply(db, &model, to, None, start_reached(now)).await?
        {
            done.started += 1;
        }
    }
    Ok(done)
}

/// The live campaigns whose end has passed at `now`, then the running ones whose posted spend
/// leaves less than one view's cost of the total budget; each once.
pub async fn due_completions(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Vec<DueCompletion>, AppError> {
    let ended = campaign::Entity::find()
        .filter(campaign::Column::Status.is_in([
            CampaignStatus::Scheduled,
            CampaignStatus::Running,
            CampaignStatus::Paused,
        ]))
        .filter(campaign::Column::EndAt.lte(now))
        .all(db)
        .await?;
    let ended_ids: HashSet<i64> = ended.iter().map(|m| m.id).collect();
    let mut due: Vec<DueCompletion> = ended
        .into_iter()
        .map(|campaign| DueCompletion {
            campaign,
            reason: CompletionReason::EndDateReached,
        })
        .collect();
    let live: Vec<campaign::Model> = campaign::Entity::find()
        .filter(campaign::Column::Status.eq(CampaignStatus::Running))
        .all(db)
        .await?
        .into_iter()
        .filter(|m| !ended_ids.contains(&m.id))
        .collect();
    let ids: Vec<CampaignId> = live.iter().map(|m| CampaignId(m.id)).collect();
    let spent = spend::by_campaign(db, &ids).await?;
    due.extend(live.into_iter().filter_map(|campaign| {
        let used = spent
            .get(&CampaignId(campaign.id))
            .copied()
            .unwrap_or(Micros::ZERO);
        (campaign.total_budget_micros - used.0 < one_view(&campaign)).then_some(DueCompletion {
            campaign,
            reason: CompletionReason::BudgetSpent,
        })
    }));
    Ok(due)
}

/// Completes a campaign found by [`due_completions`] if it is still due when the UPDATE runs:
/// the same statement requires the status it was read with and its reason against the row as
/// it is then — the end date at or before `now`, or the posted spend leaving less than one
/// view's cost of the total budget. `false` when it is no longer due (the end moved, the budget was
/// raised) or another instance got there first.
pub async fn complete<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    due: &DueCompletion,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let Ok(to) = transition(due.campaign.status, CampaignEvent::Complete(due.reason)) else {
        return Ok(false);
    };
    let still = match due.reason {
        CompletionReason::EndDateReached => Condition::all().add(campaign::Column::EndAt.lte(now)),
        CompletionReason::BudgetSpent => {
            let spent = Query::select()
                .expr(Func::coalesce([
                    Expr::col(campaign_spend::Column::Posted).max(),
                    Expr::value(0i64),
                ]))
                .from(campaign_spend::Entity)
                .and_where(campaign_spend::Column::CampaignId.eq(due.campaign.id))
                .to_owned();
            Condition::all().add(
                Expr::col((campaign::Entity, campaign::Column::TotalBudgetMicros))
                    .sub(Expr::SubQuery(None, Box::new(spent.into())))
                    .lt(one_view(&due.campaign)),
            )
        }
    };
    let txn = db.begin().await?;
    match change_status_if(
        &txn,
        &due.campaign,
        to,
        None,
        Some(due.reason.code()),
        still,
    )
    .await
    {
        Ok(()) => {}
        Err(AppError::Conflict(_)) => return Ok(false),
        Err(other) => return Err(other),
    }
    if due.reason == CompletionReason::BudgetSpent {
        crate::service::notifications::notify_account(
            &txn,
            due.campaign.account_id,
            "budget_spent",
            &format!("“{}” has spent its budget", due.campaign.name),
            "The campaign completed: its total budget is spent. Clone it to run again with a new budget.",
            &format!("/campaigns/{}", due.campaign.id),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// The cost of one view at the campaign's bid (at least one micro): a campaign whose posted
/// spend leaves less than this of its budget has spent it.
fn one_view(c: &campaign::Model) -> i64 {
    Ord::max(c.bid_micros / 1_000, 1)
}

/// A scheduled campaign may start: "as soon as approved", or its start has come.
fn start_reached(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(campaign::Column::StartAt.is_null())
        .add(campaign::Column::StartAt.lte(now))
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

/// One conditional change (status as read, and `still`) with its audit event, in one
/// transaction; `false` when the row no longer matches.
async fn apply<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    model: &campaign::Model,
    to: CampaignStatus,
    reason: Option<&str>,
    still: Condition,
) -> Result<bool, AppError> {
    let txn = db.begin().await?;
    match change_status_if(&txn, model, to, None, reason, still).await {
        Ok(()) => {
            txn.commit().await?;
            Ok(true)
        }
        Err(AppError::Conflict(_)) => Ok(false),
        Err(other) => Err(other),
    }
}
