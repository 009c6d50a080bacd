//! The budget side of a decision: reading the candidates' spend counters and balances into
//! [`Budgets`], and committing a won slot's cost against the caps with conditional UPDATEs
//! that re-check each cap against the row as it is when the UPDATE runs.

use super::{
    index::LiveCampaign,
    pacing::{self, Budgets},
};
use crate::{
    entity::campaign_day_spend,
    error::AppError,
    model::{LedgerKind, Micros},
    service::sql::Sql,
};
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use std::collections::HashMap;

/// The budget state of each candidate, read in two queries.
pub async fn budgets<'a>(
    db: &impl ConnectionTrait,
    campaigns: impl Iterator<Item = &'a LiveCampaign>,
    now: DateTime<Utc>,
) -> Result<HashMap<i64, Budgets>, AppError> {
    let campaigns: Vec<&LiveCampaign> = campaigns.collect();
    let ids: Vec<i64> = campaigns.iter().map(|c| c.id).collect();
    let backend = db.get_database_backend();
    // Each campaign's spend counter with its day rows since yesterday (UTC; the local day is
    // picked below) and its holds account, in one query: no day row and no hold exists
    // without the counter.
    let mut sql = Sql::new();
    let list: Vec<String> = ids.iter().map(|id| sql.bind(*id)).collect();
    let since = sql.bind(now.date_naive() - Duration::days(1));
    let holds = sql.bind(LedgerKind::CampaignHolds.code());
    sql.text = format!(
        "SELECT s.campaign_id, s.committed, d.day, d.committed, d.hour, d.hour_base, \
         h.id, h.currency \
         FROM campaign_spend s LEFT JOIN campaign_day_spend d \
         ON d.campaign_id = s.campaign_id AND d.day >= {since} \
         LEFT JOIN ledger_account h ON h.kind = {holds} AND h.owner_id = s.campaign_id \
         WHERE s.campaign_id IN ({})",
        list.join(", ")
    );
    let mut spend: HashMap<i64, i64> = HashMap::new();
    let mut days: HashMap<(i64, NaiveDate), campaign_day_spend::Model> = HashMap::new();
    let mut holds: HashMap<(i64, String), i64> = HashMap::new();
    for row in db.query_all_raw(sql.build(backend)).await? {
        let campaign_id: i64 = row.try_get_by_index(0)?;
        spend.insert(campaign_id, row.try_get_by_index(1)?);
        if let (Some(id), Some(currency)) = (
            row.try_get_by_index::<Option<i64>>(6)?,
            row.try_get_by_index::<Option<String>>(7)?,
        ) {
            holds.insert((campaign_id, currency), id);
        }
        if let Some(day) = row.try_get_by_index::<Option<NaiveDate>>(2)? {
            let d = campaign_day_spend::Model {
                campaign_id,
                day,
                committed: row.try_get_by_index(3)?,
                hour: row.try_get_by_index(4)?,
                hour_base: row.try_get_by_index(5)?,
            };
            days.insert((campaign_id, day), d);
        }
    }
    // Balances, with each account's low-balance threshold.
    let accounts: Vec<i64> = campaigns.iter().map(|c| c.account_id).collect();
    let mut sql = Sql::new();
    let ids: Vec<String> = accounts.iter().map(|a| sql.bind(*a)).collect();
    let kind = sql.bind(LedgerKind::AccountBalance.code());
    sql.text = format!(
        "SELECT a.id, a.low_balance_micros, l.currency, l.balance, l.id FROM ad_account a \
         LEFT JOIN ledger_account l ON l.kind = {kind} AND l.owner_id = a.id \
         WHERE a.id IN ({})",
        ids.join(", ")
    );
    let mut balances: HashMap<(i64, String), (i64, i64)> = HashMap::new();
    let mut thresholds: HashMap<i64, i64> = HashMap::new();
    for row in db.query_all_raw(sql.build(backend)).await? {
        let account: i64 = row.try_get_by_index(0)?;
        if let Some(t) = row.try_get_by_index::<Option<i64>>(1)? {
            thresholds.insert(account, t);
        }
        if let (Some(currency), Some(balance), Some(id)) = (
            row.try_get_by_index::<Option<String>>(2)?,
            row.try_get_by_index::<Option<i64>>(3)?,
            row.try_get_by_index::<Option<i64>>(4)?,
        ) {
            balances.insert((account, currency), (balance, id));
        }
    }
    Ok(campaigns
        .into_iter()
        .map(|c| {
            let local = c.local(now);
            let today = days.get(&(c.id, local.date()));
            let committed_today = today.map_or(0, |d| d.committed);
            let hour_base = match today {
                Some(d) if d.hour == local.hour() as i32 => d.hour_base,
                _ => committed_today,
            };
            let balance = balances.get(&(c.account_id, c.currency.clone()));
            let b = Budgets {
                total: c.total_budget,
                committed: Micros(spend.get(&c.id).copied().unwrap_or(0)),
                daily: c.daily_budget,
                committed_today: Micros(committed_today),
                hour_base: Micros(hour_base),
                hours_left: pacing::hours_left(c.schedule.as_ref(), local),
                balance: Micros(balance.map_or(0, |b| b.0)),
                low_balance: thresholds.get(&c.account_id).copied().map(Micros),
                balance_account: balance.map(|b| b.1),
                holds_account: holds.get(&(c.id, c.currency.clone())).copied(),
            };
            (c.id, b)
        })
        .collect())
}

/// Commits `cost` against the campaign's total budget and today's allowance and pace, each a
/// conditional UPDATE that re-checks the cap against the row as it is now. `false` when a cap
/// no longer admits it (a concurrent decision got there first).
pub async fn commit_budgets(
    txn: &DatabaseTransaction,
    c: &LiveCampaign,
    day: NaiveDate,
    hour: i32,
    hours_left: i64,
    cost: Micros,
) -> Result<bool, AppError> {
    let backend = txn.get_database_backend();
    let hours = Ord::max(hours_left, 1);
    // A first row (nothing committed yet) is checked here; an existing one by the WHERE.
    if cost > c.total_budget
        || c.daily_budget
            .is_some_and(|daily| cost > daily || daily.0 / hours <= 0)
    {
        return Ok(false);
    }
    let mut sql = Sql::new();
    let (id, cost_v, total) = (sql.bind(c.id), sql.bind(cost.0), sql.bind(c.total_budget.0));
    sql.text = format!(
        "INSERT INTO campaign_spend (campaign_id, posted, committed) VALUES ({id}, 0, {cost_v}) \
         ON CONFLICT (campaign_id) DO UPDATE SET committed = campaign_spend.committed + {cost_v} \
         WHERE campaign_spend.committed + {cost_v} <= {total}"
    );
    if txn.execute_raw(sql.build(backend)).await?.rows_affected() != 1 {
        return Ok(false);
    }
    // Today's row: a new hour's pace starts from what the day has committed so far.
    let mut sql = Sql::new();
    let (id, day, hour, cost_v) = (
        sql.bind(c.id),
        sql.bind(day),
        sql.bind(hour),
        sql.bind(cost.0),
    );
    let base = format!(
        "(CASE WHEN campaign_day_spend.hour = {hour} THEN campaign_day_spend.hour_base \
         ELSE campaign_day_spend.committed END)"
    );
    let caps = match c.daily_budget {
        None => String::new(),
        Some(daily) => {
            let (daily, hours) = (sql.bind(daily.0), sql.bind(hours));
            // The pace: committed < base + (daily − base) / hours left (integer division).
            format!(
                " WHERE campaign_day_spend.committed + {cost_v} <= {daily} \
                 AND campaign_day_spend.committed < {base} + ({daily} - {base}) / {hours}"
            )
        }
    };
    sql.text = format!(
        "INSERT INTO campaign_day_spend (campaign_id, day, committed, hour, hour_base) \
         VALUES ({id}, {day}, {cost_v}, {hour}, 0) \
         ON CONFLICT (campaign_id, day) DO UPDATE SET \
         committed = campaign_day_spend.committed + {cost_v}, hour = {hour}, hour_base = {base}{caps}"
    );
    Ok(txn.execute_raw(sql.build(backend)).await?.rows_affected() == 1)
}
