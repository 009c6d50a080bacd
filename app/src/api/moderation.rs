//! Moderation server functions: the moderators' queue, review screen and decisions, the
//! advertisers' appeals and notifications, and the public guidelines and review times.

use crate::{
    error::AppError,
    model::{
        AccountId, AppealInput, DecisionInput, NotificationId, NotificationList, PolicyReason,
        PolicyReasonId, PolicyReasonInput, QueueFilter, QueueView, ReviewDecisionId, ReviewScreen,
        ReviewTaskId, ReviewTimes,
    },
};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {super::ctx, crate::model::PlatformRole, crate::service};

/// The waiting items the moderator may take, oldest first.
#[server(endpoint = "review_queue")]
pub async fn review_queue(filter: QueueFilter) -> Result<QueueView, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Moderator).await?;
    service::moderation::queue(&state.reads, &me, &filter).await
}

/// An item as the moderator reviews it, with the caller's claim if any (reading claims
/// nothing).
#[server(endpoint = "open_review")]
pub async fn open_review(task: ReviewTaskId) -> Result<ReviewScreen, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Moderator).await?;
    service::moderation::screen(&state.reads, &state.forecast, &me, task).await
}

/// Claims an item for 15 minutes (or renews the caller's claim); returns when the claim ends,
/// `None` for an item already decided or withdrawn. A plain form post lands back on the item.
#[server(endpoint = "claim_review")]
pub async fn claim_review(
    task: ReviewTaskId,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Moderator).await?;
    service::moderation::queue::claim_for_review(&state.reads, &me, task).await
}

/// The oldest item the moderator may take next, if any.
#[server(endpoint = "next_review")]
pub async fn next_review(appeals: bool) -> Result<Option<ReviewTaskId>, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Moderator).await?;
    service::moderation::queue::next(&state.reads, &me, appeals).await
}

/// Approves or declines a claimed item.
#[server(endpoint = "decide_review")]
pub async fn decide_review(task: ReviewTaskId, input: DecisionInput) -> Result<(), AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Moderator).await?;
    service::moderation::decide(&state.db, &me, task, input).await
}

/// Gives a claimed item back to the queue.
#[server(endpoint = "release_review")]
pub async fn release_review(task: ReviewTaskId) -> Result<(), AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Moderator).await?;
    service::moderation::release(&state.reads, &me, task).await
}

/// Appeals a decline of the current account (once).
#[server(endpoint = "appeal_decision")]
pub async fn appeal_decision(
    decision: ReviewDecisionId,
    input: AppealInput,
) -> Result<(), AppError> {
    let (state, me) = ctx::require_member().await?;
    service::moderation::appeals::appeal(&state.db, &me, decision, input).await
}

/// The caller's notifications in the current account.
#[server(endpoint = "notifications")]
pub async fn my_notifications() -> Result<NotificationList, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::notifications::list(&state.reads, &me).await
}

/// The caller's unread notifications in the current account, for the header: 0 without an
/// account or a session (the header may ask once more while signing out).
#[server(endpoint = "unread_notifications")]
pub async fn unread_notifications() -> Result<u64, AppError> {
    Ok(ctx::viewer().await?.map_or(0, |v| v.unread_notifications))
}

/// Marks the caller's notifications in the account the page showed read, up to the newest one
/// shown.
#[server(endpoint = "notifications_read")]
pub async fn mark_notifications_read(
    account: AccountId,
    up_to: NotificationId,
) -> Result<(), AppError> {
    let (state, me) = ctx::require_member_of(account).await?;
    service::notifications::mark_read(&state.reads, &me, up_to).await
}

/// The published guideline set (public).
#[server(endpoint = "policy_reasons")]
pub async fn policy_reasons() -> Result<Vec<PolicyReason>, AppError> {
    let request = ctx::request()?;
    service::policy::all(&request.state.reads).await
}

/// Adds or edits a policy reason (admins).
#[server(endpoint = "save_policy_reason")]
pub async fn save_policy_reason(input: PolicyReasonInput) -> Result<PolicyReasonId, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::policy::save(&state.db, &me, input).await
}

/// Review-time figures of the last seven days (public).
#[server(endpoint = "review_times")]
pub async fn get_review_times() -> Result<ReviewTimes, AppError> {
    let request = ctx::request()?;
    service::moderation::stats::review_times(&request.state.reads, chrono::Utc::now()).await
}
