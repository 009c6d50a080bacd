//! The two-person rule for payouts. Marking a channel's month paid records that money has left
//! for a publisher, so above the approval threshold (`finance_approval_units`, in the payout's
//! currency), or whatever the amount when its requester asks for a second person, it is
//! recorded as a waiting `payout_request` instead: the channel, currency and
//! month, what the month owed when asked and the outgoing payment's reference. A **different**
//! finance user approves it — the payout is made in the same transaction, and only if the
//! month still owes exactly that — or rejects it with a reason; its requester may cancel it.
//! The service refuses a decision by the requester and so does the database (a CHECK), and
//! deciding is a conditional UPDATE of a waiting row, so of two decisions exactly one happens.
//!
//! Unlike credits, refunds and corrections, what one person paid alone lately is not added up:
//! a payout's amount is not typed but measured (all the month owes the channel), one channel's
//! month is paid once, and each payout goes to a different payee, so there is no large sum to
//! split into small parts.

use super::{
    payables::{self, Measured, Payer},
    two_person,
};
use crate::{
    entity::{channel, payout_request},
    error::AppError,
    model::{
        AuditAction, DecideRequestInput, FinanceRequestStatus, Micros, PayoutDecision, PayoutInput,
        PayoutPaid, PayoutRequestRow, PayoutRequests, PlatformRole, UserId,
    },
    service::{
        Actor,
        audit::{self, AuditEntry},
        settings,
    },
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;
use validator::Validate;

type Table = payout_request::Entity;

/// Decided requests the payables page lists.
pub const RECENT: u64 = 20;
/// The most waiting requests the page lists (oldest first).
pub const WAITING: u64 = 200;

fn pending() -> sea_orm::Select<payout_request::Entity> {
    payout_request::Entity::find()
        .filter(payout_request::Column::Status.eq(FinanceRequestStatus::Pending.code()))
}

/// The waiting request for a channel's month, if any (at most one: each is made under the
/// channel's payable lock, after looking for this one).
pub(super) async fn pending_for(
    db: &impl ConnectionTrait,
    channel: i64,
    currency: &str,
    month: &str,
) -> Result<Option<payout_request::Model>, AppError> {
    Ok(pending()
        .filter(payout_request::Column::ChannelId.eq(channel))
        .filter(payout_request::Column::Currency.eq(currency))
        .filter(payout_request::Column::Period.eq(month))
        .order_by_asc(payout_request::Column::Id)
        .one(db)
        .await?)
}

/// A payout measured (`owed`) under the payable's lock that must not be made at once: the
/// same channel's month already waiting (whoever asked, whatever the threshold is now) is
/// answered — it is approved or rejected there, not paid beside it —; else, if `above` (the
/// threshold, or its requester asked for a second person), it is recorded as waiting for a
/// second person, nothing paid. `None`: neither,
/// and the caller pays it.
pub(super) async fn wait_if_needed(
    txn: &DatabaseTransaction,
    actor: &Actor,
    input: &PayoutInput,
    owed: &PayoutPaid,
    reference: &str,
    above: bool,
    now: DateTime<Utc>,
) -> Result<Option<PayoutPaid>, AppError> {
    if let Some(same) = pending_for(txn, input.channel, &input.currency, &owed.month).await? {
        return Ok(Some(PayoutPaid {
            amount: Micros(same.amount),
            waiting: Some(same.id),
            ..owed.clone()
        }));
    }
    if !above {
        return Ok(None);
    }
    let row = payout_request::ActiveModel {
        channel_id: Set(input.channel),
        currency: Set(input.currency.clone()),
        period: Set(owed.month.clone()),
        amount: Set(owed.amount.0),
        reference: Set(reference.to_owned()),
        status: Set(FinanceRequestStatus::Pending.code().to_owned()),
        requested_by: Set(actor.user_id.0),
        requested_at: Set(now),
        decided_by: Set(None),
        decided_at: Set(None),
        rejection: Set(String::new()),
        payout_id: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    audit::record(
        txn,
        AuditEntry::new(
            AuditAction::FinanceRequested,
            "payout_request",
            row.id.to_string(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone())
        .detail(serde_json::json!({
            "kind": "payout",
            "channel": input.channel,
            "currency": input.currency,
            "month": owed.month,
            "amount_micros": owed.amount.0,
            "reference": reference,
            "asked_for_approval": input.ask_approval,
        })),
    )
    .await?;
    Ok(Some(PayoutPaid {
        waiting: Some(row.id),
        ..owed.clone()
    }))
}

/// Approves (paying it) or rejects a waiting payout (finance staff other than its requester).
/// An approval when the month no longer owes exactly what the requester saw — a correction
/// gave some back, or it was paid meanwhile — is refused and the request stays waiting: the
/// approver approves what was asked, not what it has become.
pub async fn decide(
    db: &DatabaseConnection,
    actor: &Actor,
    input: DecideRequestInput,
    now: DateTime<Utc>,
) -> Result<PayoutDecision, AppError> {
    actor.require_staff(db, PlatformRole::Finance).await?;
    input.validate()?;
    let reason = two_person::reason::<Table>(&input)?;
    crate::with_retry!(db, |txn| {
        let row = two_person::find::<Table>(txn, input.request).await?;
        two_person::refuse_own::<Table>(&row, actor, "You marked this payout paid")?;
        two_person::refuse_decided::<Table>(&row)?;
        let handle = channel::Entity::find_by_id(row.channel_id)
            .one(txn)
            .await?
            .map(|c| c.handle)
            .unwrap_or_default();
        let asked = PayoutPaid {
            amount: Micros(row.amount),
            currency: row.currency.clone(),
            month: row.period.clone(),
            channel: handle,
            waiting: None,
        };
        let payout = if input.approve {
            Some(approve(txn, actor, &row, &asked, now).await?)
        } else {
            None
        };
        let status = if input.approve {
            FinanceRequestStatus::Done
        } else {
            FinanceRequestStatus::Rejected
        };
        // Decided meanwhile: nothing of this transaction (the payout too) is kept.
        two_person::settle::<Table>(
            txn,
            row.id,
            status,
            now,
            [
                (payout_request::Column::DecidedBy, actor.user_id.0.into()),
                (
                    payout_request::Column::Rejection,
                    if input.approve { "" } else { reason }.into(),
                ),
                (payout_request::Column::PayoutId, payout.into()),
            ],
        )
        .await?;
        two_person::audit_decision::<Table>(
            txn,
            actor,
            row.id,
            input.approve,
            serde_json::json!({ "reason": reason, "payout": payout }),
        )
        .await?;
        Ok(PayoutDecision {
            request: row.id,
            status,
            payout: asked,
        })
    })
}

/// Pays the waiting `row` as its requester marked it, if its month still owes exactly what
/// was asked: answers the payout's id.
async fn approve(
    txn: &DatabaseTransaction,
    actor: &Actor,
    row: &payout_request::Model,
    asked: &PayoutPaid,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let input = PayoutInput {
        channel: row.channel_id,
        currency: row.currency.clone(),
        month: row.period.clone(),
        reference: row.reference.clone(),
        ask_approval: false,
    };
    let month = payables::payable_month(&row.period, now)?;
    // The page's approval form has no field for these: each refusal is said as a whole.
    let measured = payables::measure(txn, &input, &month, &row.reference, now)
        .await
        .map_err(as_conflict)?;
    // Decided by another approver while this one waited for the lock?
    two_person::refuse_decided::<Table>(&two_person::find::<Table>(txn, row.id).await?)?;
    let owed = match measured {
        Measured::Paid(_) => {
            return Err(AppError::Conflict(
                "This month was already paid with this reference: reject the request.".into(),
            ));
        }
        Measured::Owed(owed) => owed,
    };
    if owed.amount != asked.amount {
        return Err(AppError::Conflict(format!(
            "The month now owes @{} {} (it owed {} when marked paid): reject it, and mark it \
             paid again if it is still due.",
            asked.channel,
            owed.amount.display(&owed.currency),
            asked.amount.display(&asked.currency)
        )));
    }
    let payer = Payer {
        by: UserId(row.requested_by),
        approved_by: Some(actor.user_id),
        request: Some(row.id),
        ip: actor.ip.clone(),
    };
    payables::pay(txn, &payer, &input, owed, &row.reference, now).await
}

/// A field's refusal said as a whole, for a form that has no such field.
fn as_conflict(e: AppError) -> AppError {
    match e {
        AppError::Invalid(fields) => {
            AppError::Conflict(fields.0.into_values().collect::<Vec<_>>().join(" "))
        }
        other => other,
    }
}

/// Withdraws a waiting payout (its requester only; another finance user rejects instead).
pub async fn cancel(
    db: &DatabaseConnection,
    actor: &Actor,
    request: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    actor.require_staff(db, PlatformRole::Finance).await?;
    crate::with_retry!(db, |txn| {
        two_person::cancel::<Table>(
            txn,
            actor,
            request,
            now,
            "Only the person who marked a payout paid can cancel it; reject it instead.",
        )
        .await
    })
}

/// Payouts waiting for a second person (oldest first, at most [`WAITING`]) and the latest
/// decided. The caller checks who is asking (finance staff; admins read).
pub(super) async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<PayoutRequests, AppError> {
    let waiting = pending()
        .order_by_asc(payout_request::Column::RequestedAt)
        .order_by_asc(payout_request::Column::Id)
        .limit(WAITING)
        .all(db)
        .await?;
    // Counted only when the list is full, so the page can say how many it leaves out.
    let waiting_total = if waiting.len() as u64 == WAITING {
        pending().count(db).await?
    } else {
        waiting.len() as u64
    };
    let recent = payout_request::Entity::find()
        .filter(payout_request::Column::Status.ne(FinanceRequestStatus::Pending.code()))
        .order_by_desc(payout_request::Column::Id)
        .limit(RECENT)
        .all(db)
        .await?;
    let all = || waiting.iter().chain(&recent);
    let handles: HashMap<i64, String> = if all().next().is_none() {
        HashMap::new()
    } else {
        channel::Entity::find()
            .filter(channel::Column::Id.is_in(all().map(|r| r.channel_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c.handle))
            .collect()
    };
    let emails = super::Emails::of(
        db,
        all()
            .flat_map(|r| [Some(r.requested_by), r.decided_by])
            .flatten()
            .collect(),
    )
    .await?;
    let row = |r: &payout_request::Model| PayoutRequestRow {
        id: r.id,
        status: FinanceRequestStatus::from_code(&r.status).unwrap_or(FinanceRequestStatus::Pending),
        channel_id: r.channel_id,
        handle: handles.get(&r.channel_id).cloned().unwrap_or_default(),
        currency: r.currency.clone(),
        month: r.period.clone(),
        amount: Micros(r.amount),
        reference: r.reference.clone(),
        requested_by: emails.get(r.requested_by),
        requested_at: r.requested_at,
        decided_by: r.decided_by.map(|id| emails.get(id)),
        rejection: r.rejection.clone(),
        mine: r.requested_by == actor.user_id.0,
    };
    Ok(PayoutRequests {
        waiting: waiting.iter().map(row).collect(),
        waiting_total,
        recent: recent.iter().map(row).collect(),
        threshold_units: settings::finance_approval_units(db).await?,
    })
}
