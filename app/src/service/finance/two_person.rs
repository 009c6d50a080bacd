//! What the three tables of work waiting for a second finance person share — credits and
//! refunds (`finance_request`), corrections (`correction_request`) and payouts
//! (`payout_request`): a requester may not decide their own, only the requester may cancel,
//! a row decided already is refused with what became of it, and a row leaves "pending" by a
//! conditional UPDATE, so of two decisions racing exactly one moves it (the other's whole
//! transaction — a payout, a reversal — is rolled back).

use crate::{
    entity::account_member,
    error::AppError,
    model::{AuditAction, DecideRequestInput, FinanceRequestStatus},
    service::{
        Actor,
        audit::{self, AuditEntry},
    },
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect,
    sea_query::SimpleExpr,
};

/// A table of requests a second finance person decides.
pub(super) trait RequestTable: EntityTrait {
    /// What one row is called in refusals ("payout", "correction", "request").
    const NOUN: &'static str;
    const ID: Self::Column;
    const STATUS: Self::Column;
    const DECIDED_AT: Self::Column;
    fn requested_by(row: &Self::Model) -> i64;
    fn status(row: &Self::Model) -> &str;
}

/// The table's name, which audit entries name their object by.
fn table<E: RequestTable>() -> &'static str {
    E::default().table_name()
}

/// The reason a decision carries, trimmed: refused empty for a rejection.
pub(super) fn reason<E: RequestTable>(input: &DecideRequestInput) -> Result<&str, AppError> {
    let reason = input.reason.trim();
    if !input.approve && reason.is_empty() {
        return Err(AppError::field(
            "reason",
            format!("Say why the {} is rejected.", E::NOUN),
        ));
    }
    Ok(reason)
}

/// The row `id`, or "not found".
pub(super) async fn find<E: RequestTable>(
    txn: &DatabaseTransaction,
    id: i64,
) -> Result<E::Model, AppError>
where
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
{
    E::find_by_id(id).one(txn).await?.ok_or(AppError::NotFound)
}

/// Refuses a row that is no longer waiting, saying what became of it.
pub(super) fn refuse_decided<E: RequestTable>(row: &E::Model) -> Result<(), AppError> {
    let code = E::status(row);
    if code == FinanceRequestStatus::Pending.code() {
        return Ok(());
    }
    let status = FinanceRequestStatus::from_code(code).unwrap_or(FinanceRequestStatus::Done);
    Err(AppError::Conflict(format!(
        "This {} is no longer waiting: it is {}.",
        E::NOUN,
        status.label().to_lowercase()
    )))
}

/// Refuses a decision by the row's own requester (`why` says what they did).
pub(super) fn refuse_own<E: RequestTable>(
    row: &E::Model,
    actor: &Actor,
    why: &str,
) -> Result<(), AppError> {
    if E::requested_by(row) == actor.user_id.0 {
        return Err(AppError::Conflict(format!(
            "{why}: a different finance person must approve or reject it."
        )));
    }
    Ok(())
}

/// Refuses finance work on money of an ad account `actor` is a member of (any of `accounts`):
/// nobody credits, refunds, corrects or decides the money of an account they belong to — as
/// nobody reviews its ads — so that no one pays themselves, alone or as the second person.
/// `what` says what a different finance person must do ("credit it").
pub(super) async fn refuse_member(
    db: &impl ConnectionTrait,
    actor: &Actor,
    accounts: impl IntoIterator<Item = i64>,
    what: &str,
) -> Result<(), AppError> {
    // The actor's memberships are few; the accounts a correction charged can be many.
    let own: Vec<i64> = account_member::Entity::find()
        .select_only()
        .column(account_member::Column::AccountId)
        .filter(account_member::Column::UserId.eq(actor.user_id.0))
        .into_tuple()
        .all(db)
        .await?;
    if let Some(account) = accounts.into_iter().find(|a| own.contains(a)) {
        return Err(AppError::Conflict(format!(
            "You are a member of the ad account #{account}: a different finance person must \
             {what}."
        )));
    }
    Ok(())
}

/// Moves the waiting row `id` to `status` at `now`, with the other columns `set`, only if it
/// is still waiting: else "decided meanwhile", and the caller's transaction is rolled back.
pub(super) async fn settle<E: RequestTable>(
    txn: &DatabaseTransaction,
    id: i64,
    status: FinanceRequestStatus,
    now: DateTime<Utc>,
    set: impl IntoIterator<Item = (E::Column, SimpleExpr)>,
) -> Result<(), AppError> {
    let mut update = E::update_many()
        .col_expr(E::STATUS, status.code().into())
        .col_expr(E::DECIDED_AT, now.into());
    for (column, value) in set {
        update = update.col_expr(column, value);
    }
    let moved = update
        .filter(E::ID.eq(id))
        .filter(E::STATUS.eq(FinanceRequestStatus::Pending.code()))
        .exec(txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(AppError::Conflict(format!(
            "This {} was decided meanwhile.",
            E::NOUN
        )));
    }
    Ok(())
}

/// Withdraws the waiting row `id`: its requester only (`others` tells anyone else what to do
/// instead). Audited.
pub(super) async fn cancel<E: RequestTable>(
    txn: &DatabaseTransaction,
    actor: &Actor,
    id: i64,
    now: DateTime<Utc>,
    others: &str,
) -> Result<(), AppError>
where
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
{
    let row = find::<E>(txn, id).await?;
    if E::requested_by(&row) != actor.user_id.0 {
        return Err(AppError::Conflict(others.to_owned()));
    }
    refuse_decided::<E>(&row)?;
    settle::<E>(txn, id, FinanceRequestStatus::Cancelled, now, []).await?;
    audit::record(
        txn,
        AuditEntry::new(AuditAction::FinanceCancelled, table::<E>(), id.to_string())
            .by(actor.user_id)
            .from_ip(actor.ip.clone()),
    )
    .await?;
    Ok(())
}

/// Audits a decision on the row `id` (`detail`: what it did).
pub(super) async fn audit_decision<E: RequestTable>(
    txn: &DatabaseTransaction,
    actor: &Actor,
    id: i64,
    approved: bool,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    let action = if approved {
        AuditAction::FinanceApproved
    } else {
        AuditAction::FinanceRejected
    };
    audit::record(
        txn,
        AuditEntry::new(action, table::<E>(), id.to_string())
            .by(actor.user_id)
            .from_ip(actor.ip.clone())
            .detail(detail),
    )
    .await
}

macro_rules! request_table {
    ($module:ident, $noun:literal) => {
        impl RequestTable for crate::entity::$module::Entity {
            const NOUN: &'static str = $noun;
            const ID: Self::Column = crate::entity::$module::Column::Id;
            const STATUS: Self::Column = crate::entity::$module::Column::Status;
            const DECIDED_AT: Self::Column = crate::entity::$module::Column::DecidedAt;
            fn requested_by(row: &Self::Model) -> i64 {
                row.requested_by
            }
            fn status(row: &Self::Model) -> &str {
                &row.status
            }
        }
    };
}

request_table!(finance_request, "request");
request_table!(correction_request, "correction");
request_table!(payout_request, "payout");
