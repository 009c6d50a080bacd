//! The two-person rule. Every top-up and refund is a `finance_request`: below the approval
//! threshold (the `finance_approval_units` platform setting) it is carried out at once and
//! recorded as done; above it, it waits until a **different** finance user approves it (and
//! it is carried out in the same transaction) or rejects it with a reason, or its requester
//! cancels it. The service refuses a decision by the requester, and so does the database (a
//! CHECK that the decider is not the requester), whatever path a request takes. Deciding is a
//! conditional UPDATE of a pending row, so of two decisions at once exactly one happens.

use super::{Approval, credit_in, seen_as, two_person};
use crate::{
    entity::{account_top_up, ad_account, finance_request},
    error::AppError,
    model::{
        AccountId, AuditAction, CreditInput, CreditResult, DecideRequestInput, FinanceRequestKind,
        FinanceRequestRow, FinanceRequestStatus, FinanceRequests, Micros, PlatformRole,
        REFUNDABLE_SHOWN, RefundInput, RefundableTopUp, RequestResult, TransferKind, UserId,
        finance::reference_key,
    },
    service::{
        Actor,
        audit::{self, AuditEntry},
        ledger::{self, NewTransfer, Outcome, Side},
        settings,
        sql::Sql,
    },
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
    sea_query::Expr,
};
use std::collections::{BTreeSet, HashMap};
use validator::Validate;

type Table = finance_request::Entity;

/// Decided requests finance's page lists.
pub const RECENT: u64 = 50;
/// The largest single refund, in currency units (as for credits).
pub const MAX_REFUND_UNITS: i64 = super::MAX_CREDIT_UNITS;

/// How far back what finance moved to or from an account without a second person counts
/// against the approval threshold ([`moved_alone`]).
pub const ALONE_HOURS: i64 = 24;

/// What counts against the approval threshold for a new credit (`TopUp`) or refund (`Refund`)
/// of `account` by `by` at `now`: the larger of what finance moved to or from that account,
/// and what `by` moved to or from any account in `currency`, without a second person in the
/// [`ALONE_HOURS`] before. Each of those was below the threshold, but together with a new one
/// they must stay within it too: else one person could move any sum alone, in parts just under
/// the threshold — to one account, or spread over many. Read under [`lock_person`] and the
/// account's balance lock, so two parts at once cannot both slip under it.
pub(super) async fn moved_alone(
    txn: &DatabaseTransaction,
    account: AccountId,
    by: UserId,
    currency: &str,
    kind: FinanceRequestKind,
    now: DateTime<Utc>,
) -> Result<Micros, AppError> {
    let mut sql = Sql::new();
    let (account, by) = (sql.bind(account.0), sql.bind(by.0));
    let (currency, kind) = (sql.bind(currency.to_owned()), sql.bind(kind.code()));
    let done = sql.bind(FinanceRequestStatus::Done.code());
    let since = sql.bind(now - chrono::Duration::hours(ALONE_HOURS));
    sql.text = format!(
        "SELECT CAST(COALESCE(SUM(CASE WHEN account_id = {account} THEN amount END), 0) AS BIGINT), \
                CAST(COALESCE(SUM(CASE WHEN requested_by = {by} AND currency = {currency} \
                                       THEN amount END), 0) AS BIGINT) \
           FROM finance_request \
          WHERE kind = {kind} AND status = {done} AND decided_by IS NULL \
            AND requested_at >= {since} AND (account_id = {account} OR requested_by = {by})"
    );
    let row = txn
        .query_one_raw(sql.build(ConnectionTrait::get_database_backend(txn)))
        .await?;
    let (to_account, by_person): (i64, i64) = match row {
        Some(row) => (row.try_get_by_index(0)?, row.try_get_by_index(1)?),
        None => (0, 0),
    };
    Ok(Micros(to_account.max(by_person)))
}

/// Takes `by`'s row lock until the transaction ends (a no-op UPDATE of their user row), so
/// that one finance person's credits or refunds of different accounts queue behind one another
/// while each reads what that person moved alone ([`moved_alone`]) on PostgreSQL (SQLite
/// already serializes writers). Taken before the account's balance lock, always in that order.
pub(super) async fn lock_person(txn: &DatabaseTransaction, by: UserId) -> Result<(), AppError> {
    use crate::entity::app_user;
    app_user::Entity::update_many()
        .col_expr(app_user::Column::Email, Expr::col(app_user::Column::Email))
        .filter(app_user::Column::Id.eq(by.0))
        .exec(txn)
        .await?;
    Ok(())
}

/// The live (waiting or done) request of `kind` under `reference` for `account`, if any.
pub(super) async fn live(
    db: &impl ConnectionTrait,
    account: AccountId,
    kind: FinanceRequestKind,
    reference: &str,
) -> Result<Option<finance_request::Model>, AppError> {
    Ok(finance_request::Entity::find()
        .filter(finance_request::Column::AccountId.eq(account.0))
        .filter(finance_request::Column::Kind.eq(kind.code()))
        .filter(finance_request::Column::ReferenceKey.eq(reference_key(reference)))
        .filter(finance_request::Column::Status.is_in([
            FinanceRequestStatus::Pending.code(),
            FinanceRequestStatus::Done.code(),
        ]))
        .one(db)
        .await?)
}

/// Refuses crediting `reference` to `account` when the same bank transfer was credited to
/// another account (in any currency: a reference names one transfer), or waits for a second
/// person's approval as a credit to one: a transfer arrives once, so crediting it twice — by a
/// slip, or on purpose — would make money out of nothing (and either account could then have
/// it refunded). Read under the lock of `currency`'s outside-world ledger account, which every
/// credit and refund in the currency takes for its transfer anyway (after the balance's), so
/// two credits of one reference to two accounts of a currency at once cannot both pass.
pub(super) async fn refuse_credited_elsewhere(
    txn: &DatabaseTransaction,
    account: AccountId,
    currency: &str,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    ledger::lock(txn, Side::external(), currency, now).await?;
    let key = reference_key(reference);
    if let Some(first) = account_top_up::Entity::find()
        .filter(account_top_up::Column::ReferenceKey.eq(key.as_str()))
        .filter(account_top_up::Column::AccountId.ne(account.0))
        .one(txn)
        .await?
    {
        return Err(AppError::field(
            "reference",
            format!(
                "This transfer{} was already credited to {}: a bank transfer is credited once. \
                 Check the reference on the bank statement.",
                seen_as(&first.external_reference, reference),
                named(txn, first.account_id).await?
            ),
        ));
    }
    if let Some(first) = finance_request::Entity::find()
        .filter(finance_request::Column::Kind.eq(FinanceRequestKind::TopUp.code()))
        .filter(finance_request::Column::ReferenceKey.eq(key.as_str()))
        .filter(finance_request::Column::AccountId.ne(account.0))
        .filter(finance_request::Column::Status.is_in([
            FinanceRequestStatus::Pending.code(),
            FinanceRequestStatus::Done.code(),
        ]))
        .one(txn)
        .await?
    {
        return Err(AppError::field(
            "reference",
            format!(
                "This transfer{} is already a credit to {} (request #{}): a bank transfer is \
                 credited once. Check the reference on the bank statement.",
                seen_as(&first.external_reference, reference),
                named(txn, first.account_id).await?,
                first.id
            ),
        ));
    }
    Ok(())
}

/// An ad account as finance's refusals name it: "Acme Ads (ad account #5)".
async fn named(txn: &DatabaseTransaction, account: i64) -> Result<String, AppError> {
    let name: Option<String> = ad_account::Entity::find_by_id(account)
        .select_only()
        .column(ad_account::Column::Name)
        .into_tuple()
        .one(txn)
        .await?;
    Ok(format!(
        "{} (ad account #{account})",
        name.unwrap_or_default()
    ))
}

/// Records a request carried out at once (below the threshold): nobody else decided it.
#[expect(clippy::too_many_arguments, reason = "a request is all of these facts")]
pub(super) async fn record_done(
    txn: &DatabaseTransaction,
    kind: FinanceRequestKind,
    account: AccountId,
    amount: Micros,
    currency: &str,
    reference: &str,
    note: &str,
    by: i64,
    transfer_id: i64,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let row = finance_request::ActiveModel {
        kind: Set(kind.code().to_owned()),
        account_id: Set(account.0),
        amount: Set(amount.0),
        currency: Set(currency.to_owned()),
        external_reference: Set(reference.to_owned()),
        reference_key: Set(reference_key(reference)),
        note: Set(note.to_owned()),
        status: Set(FinanceRequestStatus::Done.code().to_owned()),
        requested_by: Set(by),
        requested_at: Set(now),
        decided_by: Set(None),
        decided_at: Set(Some(now)),
        reason: Set(String::new()),
        transfer_id: Set(Some(transfer_id)),
        ..Default::default()
    };
    Ok(insert(txn, row).await?.id)
}

/// Inserts a request; the same live reference written meanwhile by another transaction makes
/// this one start again (and find it).
async fn insert(
    txn: &DatabaseTransaction,
    row: finance_request::ActiveModel,
) -> Result<finance_request::Model, AppError> {
    match row.insert(txn).await {
        Ok(model) => Ok(model),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(AppError::TooManyAttempts(crate::error::BUSY.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// A new request, waiting (the caller carries it out at once when it is below the threshold).
#[expect(clippy::too_many_arguments, reason = "a request is all of these facts")]
async fn insert_pending(
    txn: &DatabaseTransaction,
    actor: &Actor,
    kind: FinanceRequestKind,
    account: &ad_account::Model,
    amount: Micros,
    reference: &str,
    note: &str,
    top_up: Option<i64>,
    now: DateTime<Utc>,
) -> Result<finance_request::Model, AppError> {
    insert(
        txn,
        finance_request::ActiveModel {
            kind: Set(kind.code().to_owned()),
            account_id: Set(account.id),
            amount: Set(amount.0),
            currency: Set(account.currency.clone()),
            external_reference: Set(reference.to_owned()),
            reference_key: Set(reference_key(reference)),
            note: Set(note.to_owned()),
            status: Set(FinanceRequestStatus::Pending.code().to_owned()),
            requested_by: Set(actor.user_id.0),
            requested_at: Set(now),
            decided_by: Set(None),
            decided_at: Set(None),
            reason: Set(String::new()),
            transfer_id: Set(None),
            top_up_id: Set(top_up),
            ..Default::default()
        },
    )
    .await
}

/// The audit event of a request left waiting for a second person.
async fn request_audited(
    txn: &DatabaseTransaction,
    actor: &Actor,
    row: &finance_request::Model,
) -> Result<(), AppError> {
    audit::record(
        txn,
        AuditEntry::new(
            AuditAction::FinanceRequested,
            "finance_request",
            row.id.to_string(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone())
        .detail(serde_json::json!({
            "kind": row.kind,
            "account": row.account_id,
            "amount_micros": row.amount,
            "currency": row.currency,
            "reference": row.external_reference,
            "top_up": row.top_up_id,
        })),
    )
    .await
}

/// A credit above the threshold: recorded as waiting, nothing credited yet. The same
/// reference again with the same amount answers the same request.
pub(super) async fn request_top_up(
    db: &DatabaseConnection,
    actor: &Actor,
    input: &CreditInput,
    amount: Micros,
    now: DateTime<Utc>,
) -> Result<CreditResult, AppError> {
    let reference = input.reference.trim();
    let note = input.note.trim();
    crate::with_retry!(db, |txn| {
        let target = ad_account::Entity::find_by_id(input.account.0)
            .one(txn)
            .await?
            .ok_or(AppError::NotFound)?;
        ledger::lock(txn, Side::balance(target.id), &target.currency, now).await?;
        let available = ledger::balance_of(txn, Side::balance(target.id), &target.currency).await?;
        let result = |pending: Option<i64>, already: bool| CreditResult {
            account_name: target.name.clone(),
            amount,
            currency: target.currency.clone(),
            already_credited: already,
            pending_request: pending,
            available,
        };
        // A reference credited before requests existed has a top-up and no request.
        if let Some(credited) = account_top_up::Entity::find()
            .filter(account_top_up::Column::AccountId.eq(target.id))
            .filter(account_top_up::Column::ReferenceKey.eq(reference_key(reference)))
            .one(txn)
            .await?
        {
            if credited.amount != amount.0 {
                return Err(AppError::field(
                    "reference",
                    format!(
                        "This reference was already credited to this account{} with {}.",
                        seen_as(&credited.external_reference, reference),
                        Micros(credited.amount).display(&credited.currency)
                    ),
                ));
            }
            return Ok(result(None, true));
        }
        if let Some(first) = live(txn, input.account, FinanceRequestKind::TopUp, reference).await? {
            if first.amount != amount.0 {
                return Err(AppError::field(
                    "reference",
                    format!(
                        "This reference was already used for this account{} with {}.",
                        seen_as(&first.external_reference, reference),
                        Micros(first.amount).display(&first.currency)
                    ),
                ));
            }
            let pending = first.status == FinanceRequestStatus::Pending.code();
            return Ok(result(pending.then_some(first.id), !pending));
        }
        refuse_credited_elsewhere(txn, input.account, &target.currency, reference, now).await?;
        let row = insert_pending(
            txn,
            actor,
            FinanceRequestKind::TopUp,
            &target,
            amount,
            reference,
            note,
            None,
            now,
        )
        .await?;
        request_audited(txn, actor, &row).await?;
        Ok(result(Some(row.id), false))
    })
}

/// What is left to refund of each top-up: its amount less its refunds waiting or done (a
/// rejected or cancelled refund gives its part back). `t` names `account_top_up`.
const LEFT_OF_TOP_UP: &str = "t.amount - COALESCE((SELECT SUM(r.amount) FROM finance_request r \
     WHERE r.top_up_id = t.id AND r.kind = 'refund' AND r.status IN ('pending', 'done')), 0)";

/// The latest top-ups of `accounts` with money left to refund, newest first, at most
/// [`REFUNDABLE_SHOWN`] per account: what finance's refund form offers. One statement.
pub(super) async fn refundable(
    db: &impl ConnectionTrait,
    accounts: &[i64],
) -> Result<HashMap<i64, Vec<RefundableTopUp>>, AppError> {
    let mut by_account: HashMap<i64, Vec<RefundableTopUp>> = HashMap::new();
    if accounts.is_empty() {
        return Ok(by_account);
    }
    let mut sql = Sql::new();
    let ids = accounts
        .iter()
        .map(|id| sql.bind(*id))
        .collect::<Vec<_>>()
        .join(", ");
    let shown = sql.bind(REFUNDABLE_SHOWN as i64);
    sql.text = format!(
        "SELECT id, account_id, external_reference, amount, created_at, left_over FROM \
         (SELECT t.id, t.account_id, t.external_reference, t.amount, t.created_at, \
         CAST({LEFT_OF_TOP_UP} AS BIGINT) AS left_over, \
         ROW_NUMBER() OVER (PARTITION BY t.account_id ORDER BY t.id DESC) AS n \
         FROM account_top_up t WHERE t.account_id IN ({ids}) AND {LEFT_OF_TOP_UP} > 0) x \
         WHERE n <= {shown} ORDER BY account_id, id DESC"
    );
    for row in db
        .query_all_raw(sql.build(db.get_database_backend()))
        .await?
    {
        by_account
            .entry(row.try_get_by_index(1)?)
            .or_default()
            .push(RefundableTopUp {
                id: row.try_get_by_index(0)?,
                reference: row.try_get_by_index(2)?,
                amount: Micros(row.try_get_by_index(3)?),
                credited_at: row.try_get_by_index(4)?,
                left: Micros(row.try_get_by_index(5)?),
            });
    }
    Ok(by_account)
}

/// The reference of `account`'s top-up `id` and what is left of it to refund ([`LEFT_OF_TOP_UP`],
/// as the refund form's list reads it); `None` when the account has no such top-up (another
/// account's is not found either). One statement.
async fn top_up_left(
    txn: &DatabaseTransaction,
    account: i64,
    id: i64,
) -> Result<Option<(String, Micros)>, AppError> {
    let mut sql = Sql::new();
    let (id, account) = (sql.bind(id), sql.bind(account));
    sql.text = format!(
        "SELECT t.external_reference, CAST({LEFT_OF_TOP_UP} AS BIGINT) FROM account_top_up t \
         WHERE t.id = {id} AND t.account_id = {account}"
    );
    let Some(row) = txn
        .query_one_raw(sql.build(txn.get_database_backend()))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((
        row.try_get_by_index(0)?,
        Micros(row.try_get_by_index(1)?),
    )))
}

/// Refunds part or all of one top-up to the outside world (finance staff): the money goes
/// back against the payment that brought it in, never more than is left of that payment nor
/// more than the account has available when it is carried out (held money is not available).
/// At once while it and what was refunded alone (from the account, or by the same person) in
/// the last [`ALONE_HOURS`] stay within the threshold, else as a request for a second finance
/// user. The same reference again with the same amount and top-up answers the first refund.
pub async fn refund(
    db: &DatabaseConnection,
    actor: &Actor,
    mut input: RefundInput,
    now: DateTime<Utc>,
) -> Result<RequestResult, AppError> {
    actor.require_staff(db, PlatformRole::Finance).await?;
    input.reference = crate::model::finance::composed(&input.reference);
    input.validate()?;
    let (amount, named) = match Micros::parse_named(&input.amount) {
        Ok((a, named)) if a.0 > 0 && a <= Micros::units(MAX_REFUND_UNITS) => (a, named),
        Ok(_) => {
            return Err(AppError::field(
                "amount",
                format!("More than zero and at most {MAX_REFUND_UNITS}."),
            ));
        }
        Err(e) => return Err(AppError::field("amount", e.to_string())),
    };
    let top_up: i64 = input
        .top_up
        .trim()
        .parse()
        .map_err(|_| AppError::field("top_up", "Choose the top-up this refund returns."))?;
    if let Some(named) = named {
        super::check_currency(db, input.account, &named).await?;
    }
    two_person::refuse_member(db, actor, [input.account.0], "refund it").await?;
    let threshold = Micros::units(settings::finance_approval_units(db).await?);
    let (reference, reason) = (input.reference.trim(), input.reason.trim());
    crate::with_retry!(db, |txn| {
        let target = ad_account::Entity::find_by_id(input.account.0)
            .one(txn)
            .await?
            .ok_or(AppError::NotFound)?;
        lock_person(txn, actor.user_id).await?;
        ledger::lock(txn, Side::balance(target.id), &target.currency, now).await?;
        if let Some(first) = live(txn, input.account, FinanceRequestKind::Refund, reference).await?
        {
            if first.amount != amount.0 {
                return Err(AppError::field(
                    "reference",
                    format!(
                        "This reference was already used{} for a refund of {}.",
                        seen_as(&first.external_reference, reference),
                        Micros(first.amount).display(&first.currency)
                    ),
                ));
            }
            if first.top_up_id != Some(top_up) {
                return Err(AppError::field(
                    "reference",
                    format!(
                        "This reference was already used{} for a refund of another top-up.",
                        seen_as(&first.external_reference, reference)
                    ),
                ));
            }
            return result_of(txn, &first, true).await;
        }
        let Some((source, left)) = top_up_left(txn, target.id, top_up).await? else {
            return Err(AppError::field(
                "top_up",
                "Choose one of this account's top-ups.",
            ));
        };
        if left.0 <= 0 {
            return Err(AppError::field(
                "top_up",
                format!("Top-up {source} has been refunded in full."),
            ));
        }
        if amount > left {
            return Err(AppError::field(
                "amount",
                format!(
                    "Only {} of top-up {source} is left to refund.",
                    left.display(&target.currency)
                ),
            ));
        }
        let available = ledger::balance_of(txn, Side::balance(target.id), &target.currency).await?;
        if amount > available {
            return Err(AppError::field(
                "amount",
                format!(
                    "Only {} is available to refund (money held for running slots is not).",
                    available.display(&target.currency)
                ),
            ));
        }
        let alone = moved_alone(
            txn,
            input.account,
            actor.user_id,
            &target.currency,
            FinanceRequestKind::Refund,
            now,
        )
        .await?;
        let waits = amount.0.saturating_add(alone.0) > threshold.0;
        let row = insert_pending(
            txn,
            actor,
            FinanceRequestKind::Refund,
            &target,
            amount,
            reference,
            reason,
            Some(top_up),
            now,
        )
        .await?;
        if waits {
            request_audited(txn, actor, &row).await?;
        } else {
            carry_out(txn, &row, None, actor.ip.clone(), now).await?;
        }
        let row = reload(txn, row.id).await?;
        result_of(txn, &row, false).await
    })
}

/// Approves or rejects a waiting request (finance staff other than its requester). An
/// approval carries it out in the same transaction; a refund that no longer fits the
/// available balance is refused and stays waiting.
pub async fn decide(
    db: &DatabaseConnection,
    actor: &Actor,
    input: DecideRequestInput,
    now: DateTime<Utc>,
) -> Result<RequestResult, AppError> {
    actor.require_staff(db, PlatformRole::Finance).await?;
    input.validate()?;
    let reason = two_person::reason::<Table>(&input)?;
    crate::with_retry!(db, |txn| {
        let row = two_person::find::<Table>(txn, input.request).await?;
        // Lock the account's balance first (the order every money write takes), then re-read.
        ledger::lock(txn, Side::balance(row.account_id), &row.currency, now).await?;
        let row = reload(txn, row.id).await?;
        two_person::refuse_own::<Table>(&row, actor, "You made this request")?;
        two_person::refuse_decided::<Table>(&row)?;
        two_person::refuse_member(txn, actor, [row.account_id], "decide it").await?;
        if input.approve {
            carry_out(txn, &row, Some(actor.user_id.0), actor.ip.clone(), now).await?;
        } else {
            two_person::settle::<Table>(
                txn,
                row.id,
                FinanceRequestStatus::Rejected,
                now,
                [
                    (finance_request::Column::DecidedBy, actor.user_id.0.into()),
                    (finance_request::Column::Reason, reason.into()),
                ],
            )
            .await?;
            two_person::audit_decision::<Table>(
                txn,
                actor,
                row.id,
                false,
                serde_json::json!({ "reason": reason }),
            )
            .await?;
        }
        let row = reload(txn, row.id).await?;
        result_of(txn, &row, false).await
    })
}

/// Withdraws a waiting request (its requester only; another finance user rejects instead).
pub async fn cancel(
    db: &DatabaseConnection,
    actor: &Actor,
    request: i64,
    now: DateTime<Utc>,
) -> Result<RequestResult, AppError> {
    actor.require_staff(db, PlatformRole::Finance).await?;
    crate::with_retry!(db, |txn| {
        two_person::cancel::<Table>(
            txn,
            actor,
            request,
            now,
            "Only the person who made a request can cancel it; reject it instead.",
        )
        .await?;
        let row = reload(txn, request).await?;
        result_of(txn, &row, false).await
    })
}

/// Carries out a request now: the credit or refund, and the row marked done (by `approver`
/// when a second person approved it). The row must be pending and locked by the caller.
async fn carry_out(
    txn: &DatabaseTransaction,
    row: &finance_request::Model,
    approver: Option<i64>,
    ip: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let account = AccountId(row.account_id);
    let amount = Micros(row.amount);
    let transfer_id = match status_kind(row) {
        FinanceRequestKind::TopUp => {
            let approval = Approval {
                request: row.id,
                by: approver.unwrap_or(row.requested_by),
            };
            let (_, transfer) = credit_in(
                txn,
                account,
                amount,
                &row.external_reference,
                &row.note,
                row.requested_by,
                ip,
                Some(approval),
                now,
            )
            .await?;
            transfer.ok_or_else(|| {
                AppError::Conflict("This reference was already credited to this account.".into())
            })?
        }
        FinanceRequestKind::Refund => {
            let outcome = ledger::transfer(
                txn,
                &NewTransfer {
                    debit: Side::balance(account.0),
                    credit: Side::external(),
                    amount,
                    currency: row.currency.clone(),
                    kind: TransferKind::Refund,
                    object_type: "finance_request",
                    object_id: row.id,
                    key: format!("refund:{}", row.id),
                },
                now,
            )
            .await?;
            let transfer = match outcome {
                Outcome::Applied(id) => id,
                Outcome::Replayed(_) => {
                    return Err(AppError::internal("refund", "a refund's key was used"));
                }
                Outcome::Insufficient => {
                    let available =
                        ledger::balance_of(txn, Side::balance(account.0), &row.currency).await?;
                    return Err(AppError::field(
                        "amount",
                        format!(
                            "Only {} is available to refund now (money held for running slots \
                             is not).",
                            available.display(&row.currency)
                        ),
                    ));
                }
            };
            audit::record(
                txn,
                AuditEntry::new(
                    AuditAction::BalanceRefunded,
                    "ad_account",
                    account.to_string(),
                )
                .by(UserId(row.requested_by))
                .from_ip(ip)
                .detail(serde_json::json!({
                    "request": row.id,
                    "approved_by": approver,
                    "amount_micros": row.amount,
                    "currency": row.currency,
                    "reference": row.external_reference,
                    "top_up": row.top_up_id,
                    "reason": row.note,
                })),
            )
            .await?;
            transfer
        }
    };
    two_person::settle::<Table>(
        txn,
        row.id,
        FinanceRequestStatus::Done,
        now,
        [
            (finance_request::Column::DecidedBy, approver.into()),
            (finance_request::Column::TransferId, transfer_id.into()),
        ],
    )
    .await?;
    if let Some(by) = approver {
        audit::record(
            txn,
            AuditEntry::new(
                AuditAction::FinanceApproved,
                "finance_request",
                row.id.to_string(),
            )
            .by(UserId(by))
            .detail(serde_json::json!({ "transfer": transfer_id })),
        )
        .await?;
    }
    Ok(())
}

async fn reload(db: &impl ConnectionTrait, id: i64) -> Result<finance_request::Model, AppError> {
    finance_request::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("finance", "a request vanished"))
}

fn status_of(row: &finance_request::Model) -> FinanceRequestStatus {
    FinanceRequestStatus::from_code(&row.status).unwrap_or(FinanceRequestStatus::Pending)
}

fn status_kind(row: &finance_request::Model) -> FinanceRequestKind {
    FinanceRequestKind::from_code(&row.kind).unwrap_or(FinanceRequestKind::TopUp)
}

async fn result_of(
    db: &impl ConnectionTrait,
    row: &finance_request::Model,
    repeated: bool,
) -> Result<RequestResult, AppError> {
    let account = ad_account::Entity::find_by_id(row.account_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let available = ledger::balance_of(db, Side::balance(account.id), &account.currency).await?;
    Ok(RequestResult {
        request: row.id,
        kind: status_kind(row),
        status: status_of(row),
        account_name: account.name,
        amount: Micros(row.amount),
        currency: row.currency.clone(),
        repeated,
        available,
    })
}

/// Most waiting requests listed (the oldest); the page says how many more wait.
pub const PENDING_LISTED: u64 = 500;

/// Everything waiting (oldest first, at most [`PENDING_LISTED`]) and the latest decided (finance staff; admins read).
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> Result<FinanceRequests, AppError> {
    if !actor.staff_roles.contains(&PlatformRole::Admin) {
        actor.require_staff(db, PlatformRole::Finance).await?;
    }
    let pending = finance_request::Entity::find()
        .filter(finance_request::Column::Status.eq(FinanceRequestStatus::Pending.code()))
        .order_by_asc(finance_request::Column::RequestedAt)
        .order_by_asc(finance_request::Column::Id)
        .limit(PENDING_LISTED)
        .all(db)
        .await?;
    // Counted only when the list is full, so the page can say how many it leaves out.
    let pending_total = if pending.len() as u64 == PENDING_LISTED {
        finance_request::Entity::find()
            .filter(finance_request::Column::Status.eq(FinanceRequestStatus::Pending.code()))
            .count(db)
            .await?
    } else {
        pending.len() as u64
    };
    let recent = finance_request::Entity::find()
        .filter(finance_request::Column::Status.ne(FinanceRequestStatus::Pending.code()))
        .order_by_desc(finance_request::Column::Id)
        .limit(RECENT)
        .all(db)
        .await?;
    let accounts: BTreeSet<i64> = pending
        .iter()
        .chain(&recent)
        .map(|r| r.account_id)
        .collect();
    let names: HashMap<i64, String> = ad_account::Entity::find()
        .filter(ad_account::Column::Id.is_in(accounts))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let emails = super::Emails::of(
        db,
        pending
            .iter()
            .chain(&recent)
            .flat_map(|r| [Some(r.requested_by), r.decided_by])
            .flatten()
            .collect(),
    )
    .await?;
    let sources = ledger::balance::top_up_references(
        db,
        pending.iter().chain(&recent).filter_map(|r| r.top_up_id),
    )
    .await?;
    let email = |id: i64| emails.get(id);
    let row = |r: finance_request::Model| FinanceRequestRow {
        id: r.id,
        kind: status_kind(&r),
        status: status_of(&r),
        account: AccountId(r.account_id),
        account_name: names.get(&r.account_id).cloned().unwrap_or_default(),
        amount: Micros(r.amount),
        currency: r.currency.clone(),
        reference: r.external_reference.clone(),
        note: r.note.clone(),
        requested_by: email(r.requested_by),
        requested_at: r.requested_at,
        decided_by: r.decided_by.map(email),
        decided_at: r.decided_at,
        reason: r.reason.clone(),
        top_up_reference: r.top_up_id.and_then(|id| sources.get(&id).cloned()),
        mine: r.requested_by == actor.user_id.0,
    };
    Ok(FinanceRequests {
        pending_total,
        pending: pending.into_iter().map(row).collect(),
        recent: recent.into_iter().map(row).collect(),
        threshold_units: settings::finance_approval_units(db).await?,
    })
}
