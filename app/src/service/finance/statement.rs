//! Monthly statements: an account's funds at a local month's start and end, and what moved them.

mod download;
mod month;

pub use download::{csv_file_name, statement_csv};
pub use month::parse_month;

use crate::{
    entity::{ad_account, campaign, ledger_account, ledger_transfer},
    error::AppError,
    model::{
        AccountId, AccountPermission, CampaignId, LedgerKind, Micros, PlatformRole, Statement,
        StatementLine, StatementSection, TransferKind,
    },
    service::{Actor, account_time::AccountClock, sql::Sql},
};
use chrono::{DateTime, Months, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use std::collections::{BTreeMap, HashMap};

/// The statement of `month` (`YYYY-MM` in the account's time zone; empty: the current one).
/// `account`: `None` is the caller's current account (owners, managers and billing members);
/// `Some` names any account for finance staff and admins. Anyone else naming an account other
/// than their current one is told it does not exist.
pub async fn statement(
    db: &DatabaseConnection,
    actor: &Actor,
    account: Option<AccountId>,
    month: &str,
    now: DateTime<Utc>,
) -> Result<Statement, AppError> {
    let account = readable_account(db, actor, account).await?;
    of_account(db, account, month, now).await
}

/// The account whose statement `actor` may read: `account` for finance staff and admins, or
/// their own; `None`, their current account. Another account is "not found".
pub async fn readable_account(
    db: &DatabaseConnection,
    actor: &Actor,
    account: Option<AccountId>,
) -> Result<AccountId, AppError> {
    let staff = actor
        .staff_roles
        .iter()
        .any(|r| matches!(r, PlatformRole::Finance | PlatformRole::Admin));
    match account {
        Some(id) if staff => Ok(id),
        Some(id) if actor.membership.is_some_and(|(own, _)| own == id) => {
            actor.account(db, AccountPermission::ViewBilling).await
        }
        Some(_) => Err(AppError::NotFound),
        None => actor.account(db, AccountPermission::ViewBilling).await,
    }
}

/// [`statement`] without the authorization (the caller has checked who asks).
///
/// An account's funds are its balance ledger account plus its campaigns' holds accounts:
/// holds and releases move money inside them and cancel out, so the lines are the transfers
/// with exactly one side in the funds, summed per kind and campaign in one grouped query over
/// the transfers since the month began. The funds at the month's end are the cached balances
/// now less what moved since. Every read is in one read transaction (a repeatable-read
/// snapshot on PostgreSQL), so the figures agree with one another.
pub async fn of_account(
    db: &DatabaseConnection,
    account: AccountId,
    month: &str,
    now: DateTime<Utc>,
) -> Result<Statement, AppError> {
    let txn = crate::service::sql::begin_snapshot(db).await?;
    let result = read(&txn, account, month, now).await;
    txn.commit().await?;
    let statement = result?;
    if !statement.balances() {
        tracing::error!(account = account.0, month, "a statement does not balance");
    }
    Ok(statement)
}

/// The ledger accounts of `account`'s funds in `currency`, as a CTE named `funds`.
fn funds_cte(sql: &mut Sql, account: AccountId, currency: &str) -> String {
    let currency = sql.bind(currency);
    let balance = sql.bind(LedgerKind::AccountBalance.code());
    let holds = sql.bind(LedgerKind::CampaignHolds.code());
    let owner = sql.bind(account.0);
    format!(
        "WITH funds AS (SELECT id, kind, owner_id, balance FROM ledger_account \
         WHERE currency = {currency} AND ((kind = {balance} AND owner_id = {owner}) \
         OR (kind = {holds} AND owner_id IN (SELECT id FROM campaign WHERE account_id = {owner}))))"
    )
}

/// Net movements in and out of the funds since `from`, grouped by period (1: before `to`,
/// 2: after), kind and campaign (the holds account's, or a reversed decision's).
async fn movements(
    db: &impl ConnectionTrait,
    account: AccountId,
    currency: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(i32, String, Option<i64>, i64)>, AppError> {
    let mut sql = Sql::new();
    let funds = funds_cte(&mut sql, account, currency);
    let (from, to) = (sql.bind(from), sql.bind(to));
    let holds = sql.bind(LedgerKind::CampaignHolds.code());
    let period = format!("CAST(CASE WHEN t.created_at < {to} THEN 1 ELSE 2 END AS INTEGER)");
    sql.text = format!(
        "{funds}, moves AS (\
         SELECT {period} AS period, t.kind, t.amount AS amount, \
         CASE WHEN f.kind = {holds} THEN f.owner_id ELSE d.campaign_id END AS campaign \
         FROM ledger_transfer t JOIN funds f ON f.id = t.credit_account_id \
         LEFT JOIN delivery_decision d ON t.object_type = 'decision' AND d.id = t.object_id \
         WHERE t.created_at >= {from} AND t.debit_account_id NOT IN (SELECT id FROM funds) \
         UNION ALL \
         SELECT {period} AS period, t.kind, -t.amount AS amount, \
         CASE WHEN f.kind = {holds} THEN f.owner_id END AS campaign \
         FROM ledger_transfer t JOIN funds f ON f.id = t.debit_account_id \
         WHERE t.created_at >= {from} AND t.credit_account_id NOT IN (SELECT id FROM funds)) \
         SELECT period, kind, campaign, CAST(SUM(amount) AS BIGINT) FROM moves \
         GROUP BY period, kind, campaign"
    );
    let rows = db
        .query_all_raw(sql.build(db.get_database_backend()))
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get_many_by_index()?))
        .collect()
}

/// The funds now, and of them the available balance.
async fn funds_now(
    db: &impl ConnectionTrait,
    account: AccountId,
    currency: &str,
) -> Result<(i64, i64), AppError> {
    let mut sql = Sql::new();
    let funds = funds_cte(&mut sql, account, currency);
    let balance = sql.bind(LedgerKind::AccountBalance.code());
    sql.text = format!(
        "{funds} SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN kind = {balance} THEN balance ELSE 0 END), 0) AS BIGINT) \
         FROM funds"
    );
    let row = db
        .query_one_raw(sql.build(db.get_database_backend()))
        .await?
        .ok_or_else(|| AppError::internal("statement", "no funds row"))?;
    Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?))
}

/// How much the available balance (ledger account `balance`) changed from `since` on.
async fn balance_change_since(
    db: &impl ConnectionTrait,
    balance: i64,
    since: DateTime<Utc>,
) -> Result<i64, AppError> {
    let mut sql = Sql::new();
    let (id, since) = (sql.bind(balance), sql.bind(since));
    sql.text = format!(
        "SELECT CAST(COALESCE(SUM(CASE WHEN credit_account_id = {id} THEN amount ELSE -amount END), 0) \
         AS BIGINT) FROM ledger_transfer \
         WHERE (credit_account_id = {id} OR debit_account_id = {id}) AND created_at >= {since}"
    );
    let row = db
        .query_one_raw(sql.build(db.get_database_backend()))
        .await?
        .ok_or_else(|| AppError::internal("statement", "no balance row"))?;
    Ok(row.try_get_by_index(0)?)
}

/// The month's top-ups and refunds, one line each, oldest first, named by their reference.
async fn credits_and_refunds(
    db: &impl ConnectionTrait,
    clock: &AccountClock,
    balance: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(StatementSection, StatementSection), AppError> {
    let rows = ledger_transfer::Entity::find()
        .filter(
            Condition::any()
                .add(ledger_transfer::Column::CreditAccountId.eq(balance))
                .add(ledger_transfer::Column::DebitAccountId.eq(balance)),
        )
        .filter(
            ledger_transfer::Column::Kind
                .is_in([TransferKind::TopUp.code(), TransferKind::Refund.code()]),
        )
        .filter(ledger_transfer::Column::CreatedAt.gte(from))
        .filter(ledger_transfer::Column::CreatedAt.lt(to))
        .order_by_asc(ledger_transfer::Column::CreatedAt)
        .order_by_asc(ledger_transfer::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    let references = crate::service::ledger::balance::references(db, ids).await?;
    let (mut top_ups, mut refunds) = (Vec::new(), Vec::new());
    for t in rows {
        let top_up = t.kind == TransferKind::TopUp.code();
        let about = references.get(&t.id).map_or_else(
            || if top_up { "Credit" } else { "Refund" }.to_owned(),
            |r| format!("Reference {r}"),
        );
        let line = StatementLine {
            at: Some(t.created_at),
            day: Some(clock.local(t.created_at).date()),
            about,
            campaign: None,
            amount: Micros(if t.credit_account_id == balance {
                t.amount
            } else {
                -t.amount
            }),
        };
        if top_up { &mut top_ups } else { &mut refunds }.push(line);
    }
    Ok((section(top_ups), section(refunds)))
}

fn section(lines: Vec<StatementLine>) -> StatementSection {
    let total = Micros(lines.iter().map(|l| l.amount.0).sum());
    StatementSection { lines, total }
}

/// The statement, read in the caller's (read) transaction.
async fn read(
    db: &impl ConnectionTrait,
    account: AccountId,
    month: &str,
    now: DateTime<Utc>,
) -> Result<Statement, AppError> {
    // One read of the account: its name, and its currency and time zone for the clock.
    let row = ad_account::Entity::find_by_id(account.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let clock = AccountClock::of_account(&row);
    let name = row.name;
    let first_day = parse_month(month, clock.local(now).date())?;
    let next = first_day
        .checked_add_months(Months::new(1))
        .ok_or_else(|| AppError::field("month", "Enter a month like 2026-11."))?;
    let (from, to) = (
        clock.utc(first_day.and_time(chrono::NaiveTime::MIN)),
        clock.utc(next.and_time(chrono::NaiveTime::MIN)),
    );
    let currency = clock.currency.clone();
    let balance_account = ledger_account::Entity::find()
        .filter(ledger_account::Column::Kind.eq(LedgerKind::AccountBalance.code()))
        .filter(ledger_account::Column::OwnerId.eq(account.0))
        .filter(ledger_account::Column::Currency.eq(&currency))
        .one(db)
        .await?;
    let (funds, available) = funds_now(db, account, &currency).await?;
    let mut after = 0i64;
    let mut month_net = 0i64;
    // (a correction rather than spend, campaign, the code of any other kind) → net
    let mut per_campaign: BTreeMap<(bool, Option<i64>, String), i64> = BTreeMap::new();
    for (period, kind, campaign, net) in movements(db, account, &currency, from, to).await? {
        if period != 1 {
            after += net;
            continue;
        }
        month_net += net;
        if kind == TransferKind::TopUp.code() || kind == TransferKind::Refund.code() {
            continue;
        }
        let spend = kind == TransferKind::Post.code();
        let other = if spend || kind == TransferKind::Reversal.code() {
            String::new()
        } else {
            kind
        };
        *per_campaign.entry((!spend, campaign, other)).or_default() += net;
    }
    let (top_ups, refunds) = match &balance_account {
        Some(b) => credits_and_refunds(db, &clock, b.id, from, to).await?,
        None => Default::default(),
    };
    let named: Vec<i64> = per_campaign.keys().filter_map(|(_, c, _)| *c).collect();
    let names: HashMap<i64, String> = campaign::Entity::find()
        .filter(campaign::Column::Id.is_in(named))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let (mut spend, mut corrections) = (Vec::new(), Vec::new());
    for ((correction, campaign, other), net) in per_campaign {
        let name = campaign.and_then(|c| names.get(&c));
        let about = match (other.as_str(), name) {
            ("", Some(n)) => format!("Campaign “{n}”"),
            ("", None) if correction => "Charges not tied to a campaign".to_owned(),
            ("", None) => "Other charges".to_owned(),
            (code, _) => TransferKind::from_code(code)
                .map_or(code, |k| k.label())
                .to_owned(),
        };
        let line = StatementLine {
            at: None,
            day: None,
            about,
            campaign: campaign.map(CampaignId),
            amount: Micros(net),
        };
        if correction {
            &mut corrections
        } else {
            &mut spend
        }
        .push(line);
    }
    spend.sort_by(|a, b| a.about.cmp(&b.about).then(a.campaign.cmp(&b.campaign)));
    corrections.sort_by(|a, b| a.about.cmp(&b.about).then(a.campaign.cmp(&b.campaign)));
    let closing = funds - after;
    let closing_available = match &balance_account {
        Some(b) if after != 0 || to <= now => {
            available - balance_change_since(db, b.id, to).await?
        }
        _ => available,
    };
    Ok(Statement {
        account,
        payment_reference: crate::model::payment_reference(account),
        account_name: name,
        currency,
        month: first_day.format("%Y-%m").to_string(),
        time_zone: clock.time_zone.clone(),
        from,
        to,
        first_day,
        last_day: next.pred_opt().unwrap_or(next),
        in_progress: now < to,
        final_from: to + crate::service::ledger::SETTLE,
        is_final: now >= to + crate::service::ledger::SETTLE,
        opening: Micros(closing - month_net),
        top_ups,
        spend: section(spend),
        refunds,
        corrections: section(corrections),
        closing: Micros(closing),
        closing_available: Micros(closing_available),
        closing_held: Micros(closing - closing_available),
    })
}
