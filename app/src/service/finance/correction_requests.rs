//! The two-person rule for corrections. A correction gives posted charges back to advertisers'
//! balances — money moves as surely as with a refund —, so above the approval threshold
//! (`finance_approval_units`, in each currency it gives back, counting what the same person
//! reversed without a second person in the last [`ALONE_HOURS`]) it is recorded as a waiting
//! `correction_request` instead of being carried out. A **different** finance user approves it
//! — it is carried out in the same transaction, and only if the charges it selects still come
//! to the totals the requester saw — or rejects it with a reason; its requester may cancel it.
//! The service refuses a decision by the requester and so does the database (a CHECK), and
//! deciding is a conditional UPDATE of a waiting row, so of two decisions exactly one happens.

use super::{
    corrections::{self, Made, Selection},
    two_person,
};
use crate::service::ledger::Reversal;
use crate::{
    entity::{channel, charge_reversal, correction_request, spend_correction},
    error::AppError,
    model::{
        AuditAction, CorrectionRequestRow, CorrectionRequests, CorrectionResult, CorrectionTotal,
        DecideRequestInput, FinanceRequestStatus, Micros, PlatformRole, UserId,
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
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, sea_query::Expr,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use validator::Validate;

type Table = correction_request::Entity;

/// How far back what one person reversed alone counts against the threshold.
pub const ALONE_HOURS: i64 = super::requests::ALONE_HOURS;
/// Decided requests the corrections page lists.
pub const RECENT: u64 = 20;
/// The most waiting requests the page lists (oldest first).
pub const WAITING: u64 = 200;

/// What `by` reversed without a second person in the [`ALONE_HOURS`] before `now`, per
/// currency: each was within the threshold, but with a new one they must stay within it too,
/// else one person could give back any sum in parts just under it.
async fn reversed_alone(
    db: &impl ConnectionTrait,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, i64>, AppError> {
    let approved = correction_request::Entity::find()
        .select_only()
        .column(correction_request::Column::CorrectionId)
        .filter(correction_request::Column::CorrectionId.is_not_null())
        .into_query();
    let rows: Vec<(String, Option<i64>)> = charge_reversal::Entity::find()
        .select_only()
        .column(charge_reversal::Column::Currency)
        .column_as(Expr::cust("CAST(SUM(amount) AS BIGINT)"), "amount")
        .filter(
            charge_reversal::Column::CorrectionId.in_subquery(
                spend_correction::Entity::find()
                    .select_only()
                    .column(spend_correction::Column::Id)
                    .filter(spend_correction::Column::CreatedBy.eq(by.0))
                    .filter(
                        spend_correction::Column::CreatedAt
                            .gte(now - chrono::Duration::hours(ALONE_HOURS)),
                    )
                    .filter(spend_correction::Column::Id.not_in_subquery(approved))
                    .into_query(),
            ),
        )
        .group_by(charge_reversal::Column::Currency)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(currency, sum)| (currency, sum.unwrap_or(0)))
        .collect())
}

/// Whether giving back `totals` now would take `by` past the threshold in some currency.
pub(super) async fn above(
    db: &impl ConnectionTrait,
    by: UserId,
    totals: &[CorrectionTotal],
    threshold: Micros,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    if totals.is_empty() {
        return Ok(false);
    }
    let alone = reversed_alone(db, by, now).await?;
    Ok(totals.iter().any(|t| {
        let before = alone.get(&t.currency).copied().unwrap_or(0);
        t.amount.0.saturating_add(before) > threshold.0
    }))
}

/// A digest of the charges `reversals` would give back: each decision, the posted total it
/// reverses through and its two parts. Equal digests, equal reversals.
fn digest(reversals: &[Reversal]) -> String {
    let mut parts: Vec<String> = reversals
        .iter()
        .map(|r| {
            format!(
                "{}:{}:{}:{}:{}",
                r.decision, r.through_posted, r.currency, r.publisher.0, r.platform.0
            )
        })
        .collect();
    parts.sort();
    Sha256::digest(parts.join(";").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A correction waiting for a second person, as its requester is told.
pub(super) struct Waiting {
    pub id: i64,
    /// It was waiting before this ask.
    pub already: bool,
    /// What it gives back once approved (as measured when it was asked).
    pub totals: Vec<CorrectionTotal>,
    pub decisions: u64,
}

/// The same correction already waiting (whoever asked for it): answers its number, and it is
/// approved or rejected there — not carried out beside it. Else, above the threshold (or with
/// no threshold: the requester asked for a second person) records the correction `result`
/// measured as waiting for a second person and answers its number. `None` when neither, and
/// the caller carries it out.
#[expect(clippy::too_many_arguments, reason = "a request is all of these facts")]
pub(super) async fn wait_if_needed(
    txn: &DatabaseTransaction,
    actor: &Actor,
    selection: &Selection,
    reason: &str,
    reversals: &[Reversal],
    result: &CorrectionResult,
    threshold: Option<Micros>,
    now: DateTime<Utc>,
) -> Result<Option<Waiting>, AppError> {
    let (scope, decision, channel, from, to) = columns(selection);
    let waiting = correction_request::Entity::find()
        .filter(correction_request::Column::Status.eq(FinanceRequestStatus::Pending.code()))
        .filter(correction_request::Column::Scope.eq(scope));
    let same = match selection {
        Selection::Decision(id) => waiting.filter(correction_request::Column::DecisionId.eq(*id)),
        Selection::Channel { id, from, to } => waiting
            .filter(correction_request::Column::ChannelId.eq(*id))
            .filter(correction_request::Column::FromDay.eq(*from))
            .filter(correction_request::Column::ToDay.eq(*to)),
    }
    .order_by_asc(correction_request::Column::Id)
    .one(txn)
    .await?;
    if let Some(same) = same {
        return Ok(Some(Waiting {
            id: same.id,
            already: true,
            totals: totals_of(&same),
            decisions: same.decisions.max(0) as u64,
        }));
    }
    if let Some(threshold) = threshold
        && !above(txn, actor.user_id, &result.totals, threshold, now).await?
    {
        return Ok(None);
    }
    let totals = serde_json::to_string(&result.totals)
        .map_err(|e| AppError::internal("corrections", e.to_string()))?;
    let row = correction_request::ActiveModel {
        scope: Set(scope.to_owned()),
        decision_id: Set(decision),
        channel_id: Set(channel),
        from_day: Set(from),
        to_day: Set(to),
        reason: Set(reason.to_owned()),
        decisions: Set(result.decisions as i64),
        totals: Set(totals),
        charges: Set(digest(reversals)),
        status: Set(FinanceRequestStatus::Pending.code().to_owned()),
        requested_by: Set(actor.user_id.0),
        requested_at: Set(now),
        decided_by: Set(None),
        decided_at: Set(None),
        rejection: Set(String::new()),
        correction_id: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    audit::record(
        txn,
        AuditEntry::new(
            AuditAction::FinanceRequested,
            "correction_request",
            row.id.to_string(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone())
        .detail(serde_json::json!({
            "kind": "correction",
            "scope": scope,
            "decision": decision,
            "channel": channel,
            "from": from,
            "to": to,
            "reason": reason,
            "totals": result.totals.iter().map(|t| serde_json::json!({
                "currency": t.currency,
                "amount_micros": t.amount.0,
            })).collect::<Vec<_>>(),
        })),
    )
    .await?;
    Ok(Some(Waiting {
        id: row.id,
        already: false,
        totals: result.totals.clone(),
        decisions: result.decisions,
    }))
}

type Columns = (
    &'static str,
    Option<i64>,
    Option<i64>,
    Option<chrono::NaiveDate>,
    Option<chrono::NaiveDate>,
);

fn columns(selection: &Selection) -> Columns {
    match selection {
        Selection::Decision(id) => ("decision", Some(*id), None, None, None),
        Selection::Channel { id, from, to } => ("channel", None, Some(*id), Some(*from), Some(*to)),
    }
}

fn selection_of(row: &correction_request::Model) -> Result<Selection, AppError> {
    match (
        row.scope.as_str(),
        row.decision_id,
        row.channel_id,
        row.from_day,
        row.to_day,
    ) {
        ("decision", Some(id), ..) => Ok(Selection::Decision(id)),
        ("channel", _, Some(id), Some(from), Some(to)) => Ok(Selection::Channel { id, from, to }),
        _ => Err(AppError::internal(
            "corrections",
            format!("correction request {} names no selection", row.id),
        )),
    }
}

fn totals_of(row: &correction_request::Model) -> Vec<CorrectionTotal> {
    serde_json::from_str(&row.totals).unwrap_or_default()
}

/// Approves (carrying it out) or rejects a waiting correction (finance staff other than its
/// requester). An approval whose charges are no longer exactly those the requester saw — an
/// event posted since, another correction reversed some of them, a charge of the period
/// replaced by another of the same amount — is refused and the request stays waiting: the
/// approver approves what was asked, not what it has become.
pub async fn decide(
    db: &DatabaseConnection,
    actor: &Actor,
    input: DecideRequestInput,
    now: DateTime<Utc>,
) -> Result<CorrectionResult, AppError> {
    actor.require_staff(db, PlatformRole::Finance).await?;
    input.validate()?;
    let reason = two_person::reason::<Table>(&input)?;
    crate::with_retry!(db, |txn| {
        let row = two_person::find::<Table>(txn, input.request).await?;
        two_person::refuse_own::<Table>(&row, actor, "You asked for this correction")?;
        two_person::refuse_decided::<Table>(&row)?;
        let mut result = CorrectionResult {
            decisions: row.decisions.max(0) as u64,
            totals: totals_of(&row),
            waiting: Some(row.id),
            ..CorrectionResult::default()
        };
        let correction = if input.approve {
            let selection = selection_of(&row)?;
            let (decisions, reversals) =
                corrections::lock_and_measure(txn, &selection, now).await?;
            // Decided by another approver while this one waited for the locks?
            two_person::refuse_decided::<Table>(&two_person::find::<Table>(txn, row.id).await?)?;
            two_person::refuse_member(txn, actor, corrections::accounts(&decisions), "approve it")
                .await?;
            let measured = corrections::summarize(&reversals, false);
            if reversals.is_empty() || digest(&reversals) != row.charges {
                return Err(AppError::Conflict(format!(
                    "The charges this correction selects have changed since it was asked \
                     (they now come to {}): reject it, and ask again if it is still needed.",
                    if measured.totals.is_empty() {
                        "nothing".to_owned()
                    } else {
                        measured
                            .totals
                            .iter()
                            .map(|t| t.amount.display(&t.currency))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )));
            }
            corrections::refuse_paid_months(txn, &decisions, &reversals, now).await?;
            let made = Made {
                by: UserId(row.requested_by),
                approved_by: Some(actor.user_id),
                request: Some(row.id),
                ip: actor.ip.clone(),
            };
            let id = corrections::carry_out(
                txn,
                &made,
                &selection,
                &row.reason,
                &decisions,
                &reversals,
                &measured,
                now,
            )
            .await?;
            result = measured;
            result.id = Some(id);
            Some(id)
        } else {
            None
        };
        let status = if input.approve {
            FinanceRequestStatus::Done
        } else {
            FinanceRequestStatus::Rejected
        };
        // Decided meanwhile: nothing of this transaction (the reversal too) is kept.
        two_person::settle::<Table>(
            txn,
            row.id,
            status,
            now,
            [
                (
                    correction_request::Column::DecidedBy,
                    actor.user_id.0.into(),
                ),
                (
                    correction_request::Column::Rejection,
                    if input.approve { "" } else { reason }.into(),
                ),
                (correction_request::Column::CorrectionId, correction.into()),
            ],
        )
        .await?;
        two_person::audit_decision::<Table>(
            txn,
            actor,
            row.id,
            input.approve,
            serde_json::json!({ "reason": reason, "correction": correction }),
        )
        .await?;
        Ok(result)
    })
}

/// Withdraws a waiting correction (its requester only; another finance user rejects instead).
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
            "Only the person who asked for a correction can cancel it; reject it instead.",
        )
        .await
    })
}

/// Corrections waiting for a second person (oldest first) and the latest decided (finance
/// staff; admins read).
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<CorrectionRequests, AppError> {
    super::require_reader(db, actor).await?;
    let waiting = correction_request::Entity::find()
        .filter(correction_request::Column::Status.eq(FinanceRequestStatus::Pending.code()))
        .order_by_asc(correction_request::Column::RequestedAt)
        .order_by_asc(correction_request::Column::Id)
        .limit(WAITING)
        .all(db)
        .await?;
    let recent = correction_request::Entity::find()
        .filter(correction_request::Column::Status.ne(FinanceRequestStatus::Pending.code()))
        .order_by_desc(correction_request::Column::Id)
        .limit(RECENT)
        .all(db)
        .await?;
    let all = || waiting.iter().chain(&recent);
    let channels: HashMap<i64, String> = channel::Entity::find()
        .filter(channel::Column::Id.is_in(all().filter_map(|r| r.channel_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.handle))
        .collect();
    let emails = super::Emails::of(
        db,
        all()
            .flat_map(|r| [Some(r.requested_by), r.decided_by])
            .flatten()
            .collect(),
    )
    .await?;
    let email = |id: i64| emails.get(id);
    let row = |r: &correction_request::Model| CorrectionRequestRow {
        id: r.id,
        status: FinanceRequestStatus::from_code(&r.status).unwrap_or(FinanceRequestStatus::Pending),
        what: corrections::describe(r.decision_id, r.channel_id, r.from_day, r.to_day, &channels),
        reason: r.reason.clone(),
        decisions: r.decisions,
        totals: totals_of(r),
        requested_by: email(r.requested_by),
        requested_at: r.requested_at,
        decided_by: r.decided_by.map(email),
        rejection: r.rejection.clone(),
        correction: r.correction_id,
        mine: r.requested_by == actor.user_id.0,
    };
    Ok(CorrectionRequests {
        waiting: waiting.iter().map(row).collect(),
        recent: recent.iter().map(row).collect(),
        threshold_units: settings::finance_approval_units(db).await?,
    })
}

/// Who approved each of `corrections` (those carried out after a second person's approval).
pub(super) async fn approvers(
    db: &impl ConnectionTrait,
    corrections: &[i64],
) -> Result<HashMap<i64, String>, AppError> {
    if corrections.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Option<i64>, Option<i64>)> = correction_request::Entity::find()
        .select_only()
        .column(correction_request::Column::CorrectionId)
        .column(correction_request::Column::DecidedBy)
        .filter(correction_request::Column::CorrectionId.is_in(corrections.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let pairs: Vec<(i64, i64)> = rows
        .into_iter()
        .filter_map(|(c, by)| Some((c?, by?)))
        .collect();
    let emails = super::Emails::of(db, pairs.iter().map(|(_, by)| *by).collect()).await?;
    Ok(pairs
        .into_iter()
        .map(|(correction, by)| (correction, emails.get(by)))
        .collect())
}
