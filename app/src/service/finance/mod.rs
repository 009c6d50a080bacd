//! Finance: crediting prepaid balances (each bank transfer once), refunds, the two-person
//! rule for large amounts ([`requests`]), and the accounts finance staff look through. Every
//! write goes through the ledger and is audited.

pub mod correction_requests;
pub mod corrections;
pub mod payables;
pub mod payout_requests;
pub mod reconcile;
pub mod requests;
pub mod spend;
pub mod statement;
mod two_person;

use crate::{
    entity::{account_top_up, ad_account},
    error::AppError,
    model::{
        AccountId, AuditAction, BalancePage, CreditInput, CreditResult, FinanceAccountRow,
        FinanceAccounts, FinanceRequestKind, Micros, PlatformRole, SpendPeriod, TransferKind,
        finance::reference_key,
    },
    service::{
        Actor,
        account_time::AccountClock,
        audit::{self, AuditEntry},
        catalog,
        ledger::{self, NewTransfer, Outcome, Side},
        settings,
    },
};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use std::collections::HashMap;
use validator::Validate;

/// Refuses an amount typed with another currency's sign or code than `account`'s ("$100"
/// for a EUR account would otherwise be read as €100). The currency never changes once the
/// account exists, so this read outside the write's transaction cannot go stale.
pub(crate) async fn check_currency(
    db: &impl ConnectionTrait,
    account: AccountId,
    named: &str,
) -> Result<(), AppError> {
    let currency: String = ad_account::Entity::find_by_id(account.0)
        .select_only()
        .column(ad_account::Column::Currency)
        .into_tuple()
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if named.eq_ignore_ascii_case(&currency) {
        Ok(())
    } else {
        Err(AppError::field(
            "amount",
            format!("This account is in {currency}: enter the amount in {currency}, not {named}."),
        ))
    }
}

/// The largest single credit, in currency units.
pub const MAX_CREDIT_UNITS: i64 = 10_000_000;
/// Accounts per page in finance's list.
pub const ACCOUNTS_PAGE: u64 = 25;

/// Credits an ad account (finance staff only): at once while it and what was credited to the
/// account, or by the same person to any account, without a second person in the last
/// [`requests::ALONE_HOURS`] stay within the approval threshold, else as a request a second
/// finance user decides. The same reference for the same account is one credit: sent again
/// with the same amount it answers `already_credited`; with another amount it is refused.
pub async fn credit(
    db: &DatabaseConnection,
    actor: &Actor,
    mut input: CreditInput,
    now: DateTime<Utc>,
) -> Result<CreditResult, AppError> {
    actor.require_staff(db, PlatformRole::Finance).await?;
    input.reference = crate::model::finance::composed(&input.reference);
    input.validate()?;
    // An account's payment reference is on every transfer it sends: taken as one transfer's
    // reference, it would make the account's next transfer look credited already.
    match crate::model::account_of_reference(&input.reference) {
        Some(named) if named == input.account => {
            return Err(AppError::field(
                "reference",
                "That is the account's payment reference, the same on every transfer it sends: \
                 enter this transfer's own id from the bank statement.",
            ));
        }
        Some(_) => {
            return Err(AppError::field(
                "reference",
                "That payment reference is not this account's: check the transfer is for this \
                 account, and enter the transfer's own id from the bank statement.",
            ));
        }
        None => {}
    }
    let (amount, named) = match Micros::parse_named(&input.amount) {
        Ok((a, named)) if a.0 > 0 && a <= Micros::units(MAX_CREDIT_UNITS) => (a, named),
        Ok(_) => {
            return Err(AppError::field(
                "amount",
                format!("More than zero and at most {MAX_CREDIT_UNITS}."),
            ));
        }
        Err(e) => return Err(AppError::field("amount", e.to_string())),
    };
    if let Some(named) = named {
        check_currency(db, input.account, &named).await?;
    }
    two_person::refuse_member(db, actor, [input.account.0], "credit it").await?;
    let threshold = Micros::units(settings::finance_approval_units(db).await?);
    if amount > threshold {
        return requests::request_top_up(db, actor, &input, amount, now).await;
    }
    let (reference, note) = (input.reference.trim(), input.note.trim());
    let done = crate::with_retry!(db, |txn| {
        let currency: String = ad_account::Entity::find_by_id(input.account.0)
            .select_only()
            .column(ad_account::Column::Currency)
            .into_tuple()
            .one(txn)
            .await?
            .ok_or(AppError::NotFound)?;
        requests::lock_person(txn, actor.user_id).await?;
        ledger::lock(txn, Side::balance(input.account.0), &currency, now).await?;
        // A reference seen before (credited, or waiting for a second person) is answered by
        // the request path, as it was the first time: a replay gets the same answer whatever
        // was moved alone since.
        let known = account_top_up::Entity::find()
            .filter(account_top_up::Column::AccountId.eq(input.account.0))
            .filter(account_top_up::Column::ReferenceKey.eq(reference_key(reference)))
            .one(txn)
            .await?
            .is_some()
            || requests::live(txn, input.account, FinanceRequestKind::TopUp, reference)
                .await?
                .is_some();
        if known {
            return Ok(None);
        }
        requests::refuse_credited_elsewhere(txn, input.account, &currency, reference, now).await?;
        let alone = requests::moved_alone(
            txn,
            input.account,
            actor.user_id,
            &currency,
            FinanceRequestKind::TopUp,
            now,
        )
        .await?;
        if amount.0.saturating_add(alone.0) > threshold.0 {
            return Ok(None);
        }
        let by = actor.user_id.0;
        credit_in(
            txn,
            input.account,
            amount,
            reference,
            note,
            by,
            actor.ip.clone(),
            None,
            now,
        )
        .await
        .map(|(result, _)| Some(result))
    })?;
    match done {
        Some(result) => Ok(result),
        None => requests::request_top_up(db, actor, &input, amount, now).await,
    }
}

/// How an answer about a reference names the first use of it when that was typed otherwise
/// ("TX-123" for "tx 123"): empty when it was typed the same.
pub(super) fn seen_as(first: &str, now: &str) -> String {
    if first == now {
        String::new()
    } else {
        format!(" (as “{first}”)")
    }
}

/// Credits `account` with `amount` under `reference` (the checks of [`credit`] done), in one
/// transaction with its audit event. Used by finance, the demo seed and tests.
#[expect(clippy::too_many_arguments, reason = "a credit is all of these facts")]
pub async fn credit_account(
    db: &DatabaseConnection,
    account: AccountId,
    amount: Micros,
    reference: &str,
    note: &str,
    by: i64,
    ip: Option<String>,
    now: DateTime<Utc>,
) -> Result<CreditResult, AppError> {
    crate::with_retry!(db, |txn| {
        credit_in(
            txn,
            account,
            amount,
            reference,
            note,
            by,
            ip.clone(),
            None,
            now,
        )
        .await
        .map(|(result, _)| result)
    })
}

/// A second finance user's approval of a credit: who approved it, and the request.
pub(crate) struct Approval {
    pub request: i64,
    pub by: i64,
}

/// [`credit_account`] inside the caller's transaction: the credit, its top-up row, its audit
/// event and — for a credit not carried out through a request — its request row, done at
/// once. Returns what the credit did and its transfer (`None` when it was credited before).
#[expect(clippy::too_many_arguments, reason = "a credit is all of these facts")]
pub(crate) async fn credit_in(
    txn: &DatabaseTransaction,
    account: AccountId,
    amount: Micros,
    reference: &str,
    note: &str,
    by: i64,
    ip: Option<String>,
    approval: Option<Approval>,
    now: DateTime<Utc>,
) -> Result<(CreditResult, Option<i64>), AppError> {
    let target = ad_account::Entity::find_by_id(account.0)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    // Two credits of one reference at once: the second waits here for the first, then
    // finds its top-up below and answers "already credited".
    ledger::lock(txn, Side::balance(account.0), &target.currency, now).await?;
    if let Some(first) = account_top_up::Entity::find()
        .filter(account_top_up::Column::AccountId.eq(account.0))
        .filter(account_top_up::Column::ReferenceKey.eq(reference_key(reference)))
        .one(txn)
        .await?
    {
        if first.amount != amount.0 {
            return Err(AppError::field(
                "reference",
                format!(
                    "This reference was already credited to this account{} with {}.",
                    seen_as(&first.external_reference, reference),
                    Micros(first.amount).display(&first.currency)
                ),
            ));
        }
        let available = ledger::balance_of(txn, Side::balance(account.0), &target.currency).await?;
        return Ok((
            CreditResult {
                account_name: target.name,
                amount,
                currency: target.currency,
                already_credited: true,
                pending_request: None,
                available,
            },
            None,
        ));
    }
    if approval.is_none()
        && let Some(waiting) =
            requests::live(txn, account, FinanceRequestKind::TopUp, reference).await?
    {
        return Err(AppError::field(
            "reference",
            format!(
                "This reference is waiting for a second finance person's approval (request #{}).",
                waiting.id
            ),
        ));
    }
    let outcome = ledger::transfer(
        txn,
        &NewTransfer {
            debit: Side::external(),
            credit: Side::balance(account.0),
            amount,
            currency: target.currency.clone(),
            kind: TransferKind::TopUp,
            object_type: "ad_account",
            object_id: account.0,
            key: format!("top_up:{}:{}", account.0, reference_key(reference)),
        },
        now,
    )
    .await?;
    let Outcome::Applied(transfer_id) = outcome else {
        return Err(AppError::internal(
            "credit",
            format!("unexpected outcome {outcome:?}"),
        ));
    };
    let top_up = account_top_up::ActiveModel {
        account_id: Set(account.0),
        amount: Set(amount.0),
        currency: Set(target.currency.clone()),
        external_reference: Set(reference.to_owned()),
        reference_key: Set(reference_key(reference)),
        note: Set(note.to_owned()),
        transfer_id: Set(transfer_id),
        created_by: Set(by),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    audit::record(
        txn,
        AuditEntry::new(
            AuditAction::BalanceCredited,
            "ad_account",
            account.to_string(),
        )
        .by(crate::model::UserId(by))
        .from_ip(ip.clone())
        .detail(serde_json::json!({
            "top_up": top_up.id,
            "request": approval.as_ref().map(|a| a.request),
            "approved_by": approval.as_ref().map(|a| a.by),
            "amount_micros": amount.0,
            "currency": target.currency,
            "reference": reference,
            "note": note,
        })),
    )
    .await?;
    if approval.is_none() {
        requests::record_done(
            txn,
            FinanceRequestKind::TopUp,
            account,
            amount,
            &target.currency,
            reference,
            note,
            by,
            transfer_id,
            now,
        )
        .await?;
    }
    let available = ledger::balance_of(txn, Side::balance(account.0), &target.currency).await?;
    Ok((
        CreditResult {
            account_name: target.name,
            amount,
            currency: target.currency,
            already_credited: false,
            pending_request: None,
            available,
        },
        Some(transfer_id),
    ))
}

/// Passes finance staff and admins (who read finance's pages); refuses (audited) anyone else.
pub(crate) async fn require_reader(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<(), AppError> {
    if actor.staff_roles.contains(&PlatformRole::Admin) {
        return Ok(());
    }
    actor.require_staff(db, PlatformRole::Finance).await
}

/// The e-mail addresses of finance's lists (who asked, who decided, who approved), read in one
/// statement.
pub(crate) struct Emails(HashMap<i64, String>);

impl Emails {
    pub(crate) async fn of(db: &impl ConnectionTrait, users: Vec<i64>) -> Result<Self, AppError> {
        let ids: std::collections::BTreeSet<i64> = users.into_iter().collect();
        if ids.is_empty() {
            return Ok(Self(HashMap::new()));
        }
        Ok(Self(
            crate::entity::app_user::Entity::find()
                .filter(crate::entity::app_user::Column::Id.is_in(ids))
                .all(db)
                .await?
                .into_iter()
                .map(|u| (u.id, u.email))
                .collect(),
        ))
    }

    /// `user`'s address (or "user N" for one no longer there).
    pub(crate) fn get(&self, user: i64) -> String {
        self.0
            .get(&user)
            .cloned()
            .unwrap_or_else(|| format!("user {user}"))
    }
}

/// A UTC day typed into a finance form (`YYYY-MM-DD`), or `None` when left empty.
pub(crate) fn parse_day(field: &'static str, text: &str) -> Result<Option<NaiveDate>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| AppError::field(field, "Enter a date like 2026-12-01."))
}

/// Ad accounts whose name contains `query` (any case) — or the account a payment reference
/// names — by name, available, held or last credit, with their balances (finance staff; admins
/// read).
pub async fn accounts(
    db: &impl ConnectionTrait,
    actor: &Actor,
    query: &str,
    sort: &str,
    page: u64,
) -> Result<FinanceAccounts, AppError> {
    require_reader(db, actor).await?;
    let query: String = query.trim().chars().take(80).collect();
    let page = page.min(10_000);
    let mut find = ad_account::Entity::find();
    // A payment reference pasted from a bank statement finds its account.
    if let Some(account) = crate::model::account_of_reference(&query) {
        find = find.filter(ad_account::Column::Id.eq(account.0));
    } else if !query.is_empty() {
        find = find.filter(catalog::contains_text(
            db.get_database_backend(),
            ad_account::Column::Name,
            &query,
        ));
    }
    let total = find.clone().count(db).await?;
    // Money sorts read the cached ledger balances (one indexed lookup per account).
    let sort = match sort.trim() {
        "" | "name" => "name",
        "available" => {
            find = find.order_by_desc(Expr::cust(
                "COALESCE((SELECT la.balance FROM ledger_account la WHERE la.kind = 'account_balance' \
                 AND la.owner_id = ad_account.id AND la.currency = ad_account.currency), 0)",
            ));
            "available"
        }
        "held" => {
            find = find.order_by_desc(Expr::cust(
                "COALESCE((SELECT SUM(la.balance) FROM ledger_account la JOIN campaign c \
                 ON c.id = la.owner_id WHERE la.kind = 'campaign_holds' \
                 AND c.account_id = ad_account.id), 0)",
            ));
            "held"
        }
        "last_credit" => {
            // Accounts never credited last (NULL sorts first descending on PostgreSQL).
            find = find.order_by_desc(Expr::cust(
                "COALESCE((SELECT MAX(t.created_at) FROM account_top_up t \
                 WHERE t.account_id = ad_account.id), '0001-01-01')",
            ));
            "last_credit"
        }
        _ => {
            return Err(AppError::field(
                "sort",
                "Sort by name, available, held or last credit.",
            ));
        }
    };
    let models = find
        .order_by_asc(ad_account::Column::Name)
        .order_by_asc(ad_account::Column::Id)
        .offset(page * ACCOUNTS_PAGE)
        .limit(ACCOUNTS_PAGE)
        .all(db)
        .await?;
    let mut rows = Vec::with_capacity(models.len());
    let now = Utc::now();
    // This UTC month's net spend of the page's accounts only (one grouped read per kind).
    let ids: Vec<i64> = models.iter().map(|a| a.id).collect();
    let month_start = now.date_naive().with_day(1).unwrap_or(now.date_naive());
    let (start, end) = spend::utc_window(month_start, now.date_naive());
    let mut this_month: HashMap<i64, i64> = HashMap::new();
    for ((_, account, _), (charged, reversed)) in
        spend::charged_and_reversed(db, start, end, SpendPeriod::Month, Some(&ids)).await?
    {
        *this_month.entry(account).or_default() += charged - reversed;
    }
    let mut refundable = requests::refundable(db, &ids).await?;
    for a in models {
        let b = ledger::balance::summary(db, AccountId(a.id)).await?;
        // The account's row is at hand: its clock needs no second read.
        let clock = AccountClock::of_account(&a);
        let (_, days_left) =
            crate::service::dashboard::spend_rate(db, a.id, &clock, b.available, now).await?;
        let last_top_up = account_top_up::Entity::find()
            .filter(account_top_up::Column::AccountId.eq(a.id))
            .order_by_desc(account_top_up::Column::Id)
            .one(db)
            .await?
            .map(|t| t.created_at);
        rows.push(FinanceAccountRow {
            id: AccountId(a.id),
            payment_reference: crate::model::payment_reference(AccountId(a.id)),
            name: a.name,
            currency: a.currency,
            available: b.available,
            held: b.held,
            spent: b.spent,
            spent_this_month: Micros(this_month.get(&a.id).copied().unwrap_or(0)),
            credited: b.credited,
            last_top_up,
            refundable: refundable.remove(&a.id).unwrap_or_default(),
            days_left,
        });
    }
    Ok(FinanceAccounts {
        rows,
        page,
        total,
        query,
        sort: sort.to_owned(),
    })
}

/// One ad account's figures and one page of its ledger history, filtered by kind (a
/// [`TransferKind`] code, or empty for all) and UTC days `from`–`to` (`YYYY-MM-DD`, or empty)
/// — finance staff; admins read.
pub async fn account_history(
    db: &impl ConnectionTrait,
    actor: &Actor,
    account: AccountId,
    kind: &str,
    from: &str,
    to: &str,
    page: u64,
) -> Result<BalancePage, AppError> {
    require_reader(db, actor).await?;
    let kind = match kind.trim() {
        "" => None,
        code => Some(
            TransferKind::from_code(code)
                .ok_or_else(|| AppError::field("kind", "Choose a kind from the list."))?,
        ),
    };
    let filter = ledger::balance::HistoryFilter {
        with_holds: true,
        kind,
        from: parse_day("from", from)?,
        to: parse_day("to", to)?,
    };
    if let (Some(f), Some(t)) = (filter.from, filter.to)
        && f > t
    {
        return Err(AppError::field("to", "The last day comes after the first."));
    }
    ledger::balance::of_account(db, account, &filter, page).await
}
