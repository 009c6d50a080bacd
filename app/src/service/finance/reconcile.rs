//! Reconciliation of a period, per ad account and overall: the ledger's charges against the
//! accepted delivery events that made them (both stamped with the moment the batch was
//! accepted), those events' spend, views and clicks against the reporting rollup (both by
//! the account-local day each event was counted on, kept on the event: a later change of the
//! account's time zone moves neither), and the ledger's reversals against the corrections'
//! records and the rollup's reversed money — each to the micro-unit. The period's days are
//! each account's own time zone's, so accounts are read in groups of one time zone.

use super::spend::{period, utc_window};
use crate::{
    entity::ad_account,
    error::AppError,
    model::{
        Micros, RECONCILE_MAX_DIFFERENCES, RECONCILE_PAGE_ROWS, ReconcileReport, ReconcileRow,
    },
    service::{Actor, account_time::AccountClock, ledger, sql::Sql},
};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use std::collections::BTreeMap;

/// What one query adds to a row: the columns it reads, in order.
type Fill = fn(&mut ReconcileRow, &[i64]);

/// Reconciles UTC-typed days `from`–`to` (each account's local days) for every ad account
/// (finance staff; admins read); `page` picks which accounts' rows come back (the totals and
/// the differences are over all of them; a page past the last is the last).
///
/// Every figure is read in one read transaction (a repeatable-read snapshot on PostgreSQL), so
/// a batch of events committed while the page is read cannot show as a difference between
/// figures read before and after it.
pub async fn reconcile(
    db: &DatabaseConnection,
    actor: &Actor,
    from: &str,
    to: &str,
    page: u64,
    now: DateTime<Utc>,
) -> Result<ReconcileReport, AppError> {
    super::require_reader(db, actor).await?;
    let (from, to) = period(from, to, now.date_naive())?;
    let txn = crate::service::sql::begin_snapshot(db).await?;
    let result = of_period(&txn, from, to, page).await;
    txn.commit().await?;
    result
}

async fn of_period(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
    page: u64,
) -> Result<ReconcileReport, AppError> {
    let accounts = ad_account::Entity::find().all(db).await?;
    let mut rows: BTreeMap<i64, ReconcileRow> = BTreeMap::new();
    let mut zones: BTreeMap<String, ()> = BTreeMap::new();
    for a in &accounts {
        zones.insert(a.time_zone.clone(), ());
        rows.insert(
            a.id,
            ReconcileRow {
                account_id: a.id,
                account_name: a.name.clone(),
                currency: a.currency.clone(),
                ..ReconcileRow::default()
            },
        );
    }
    let backend = db.get_database_backend();
    for zone in zones.keys() {
        let tz: Tz = zone.parse().unwrap_or(Tz::UTC);
        let clock = AccountClock {
            id: crate::model::AccountId(0),
            currency: String::new(),
            time_zone: zone.clone(),
            tz,
        };
        let (utc_start, utc_end) = utc_window(from, to);
        let start = clock.utc(utc_start.naive_utc());
        let end = clock.utc(utc_end.naive_utc());
        let in_zone = "SELECT id FROM ad_account WHERE time_zone = ";
        let queries: [(&str, Fill); 7] = [
            (
                "SELECT c.account_id, CAST(SUM(t.amount) AS BIGINT) FROM ledger_transfer t \
                 JOIN ledger_account a ON a.id = t.debit_account_id AND a.kind = 'campaign_holds' \
                 JOIN campaign c ON c.id = a.owner_id \
                 WHERE t.kind = 'post' AND t.created_at >= $S AND t.created_at < $E \
                 AND c.account_id IN ($Z) GROUP BY c.account_id",
                |r, v| r.ledger_charged.0 += v[0],
            ),
            (
                "SELECT d.account_id, CAST(SUM(e.posted) AS BIGINT) FROM delivery_event e \
                 JOIN delivery_decision d ON d.id = e.decision_id \
                 WHERE e.created_at >= $S AND e.created_at < $E AND d.account_id IN ($Z) \
                 GROUP BY d.account_id",
                |r, v| r.events_charged.0 += v[0],
            ),
            (
                "SELECT d.account_id, CAST(SUM(e.posted) AS BIGINT), CAST(SUM(e.views) AS BIGINT), \
                 CAST(SUM(e.clicks) AS BIGINT) FROM delivery_event e \
                 JOIN delivery_decision d ON d.id = e.decision_id \
                 WHERE (e.day >= $F AND e.day <= $T OR e.day IS NULL AND e.at >= $S AND e.at < $E) \
                 AND d.account_id IN ($Z) GROUP BY d.account_id",
                |r, v| {
                    r.events_spend.0 += v[0];
                    r.events_views += v[1];
                    r.events_clicks += v[2];
                },
            ),
            (
                "SELECT account_id, CAST(SUM(spend_micros) AS BIGINT), CAST(SUM(views) AS BIGINT), \
                 CAST(SUM(clicks) AS BIGINT), CAST(SUM(reversed_micros) AS BIGINT) \
                 FROM delivery_rollup WHERE day >= $F AND day <= $T \
                 AND campaign_id IN (SELECT id FROM campaign WHERE account_id IN ($Z)) \
                 GROUP BY account_id",
                |r, v| {
                    r.rollup_spend.0 += v[0];
                    r.rollup_views += v[1];
                    r.rollup_clicks += v[2];
                    r.rollup_reversed.0 += v[3];
                },
            ),
            (
                "SELECT account_id, CAST(SUM(spend_micros) AS BIGINT), \
                 CAST(SUM(reversed_micros) AS BIGINT), CAST(SUM(views) AS BIGINT), \
                 CAST(SUM(clicks) AS BIGINT) FROM delivery_rollup_day WHERE day >= $F AND day <= $T \
                 AND campaign_id IN (SELECT id FROM campaign WHERE account_id IN ($Z)) \
                 GROUP BY account_id",
                |r, v| {
                    for (total, add) in r.daily_rollup.iter_mut().zip(v) {
                        *total += add;
                    }
                },
            ),
            (
                "SELECT a.owner_id, CAST(SUM(t.amount) AS BIGINT) FROM ledger_transfer t \
                 JOIN ledger_account a ON a.id = t.credit_account_id AND a.kind = 'account_balance' \
                 WHERE t.kind = 'reversal' AND t.created_at >= $S AND t.created_at < $E \
                 AND a.owner_id IN ($Z) GROUP BY a.owner_id",
                |r, v| r.ledger_reversed.0 += v[0],
            ),
            (
                "SELECT account_id, CAST(SUM(amount) AS BIGINT) FROM charge_reversal \
                 WHERE created_at >= $S AND created_at < $E AND account_id IN ($Z) \
                 GROUP BY account_id",
                |r, v| r.corrections_reversed.0 += v[0],
            ),
        ];
        for (text, fill) in queries {
            let mut sql = Sql::new();
            // Bind in the order the placeholders appear, so SQLite gets anonymous ones.
            let mut out = String::with_capacity(text.len() + 64);
            let mut rest = text;
            while let Some(at) = rest.find('$') {
                out.push_str(&rest[..at]);
                let name = &rest[at + 1..at + 2];
                out.push_str(&match name {
                    "S" => sql.bind(start),
                    "E" => sql.bind(end),
                    "F" => sql.bind(from),
                    "T" => sql.bind(to),
                    _ => format!("{in_zone}{}", sql.bind(zone.clone())),
                });
                rest = &rest[at + 2..];
            }
            out.push_str(rest);
            sql.text = out;
            for row in db.query_all_raw(sql.build(backend)).await? {
                let account: i64 = row.try_get_by_index(0)?;
                let columns = text.matches("CAST(SUM").count();
                let values = (1..=columns)
                    .map(|i| Ok(row.try_get_by_index::<Option<i64>>(i)?.unwrap_or(0)))
                    .collect::<Result<Vec<i64>, AppError>>()?;
                if let Some(r) = rows.get_mut(&account) {
                    fill(r, &values);
                }
            }
        }
    }
    let moved = |r: &ReconcileRow| {
        *r != ReconcileRow {
            account_id: r.account_id,
            account_name: r.account_name.clone(),
            currency: r.currency.clone(),
            ..ReconcileRow::default()
        }
    };
    let rows: Vec<ReconcileRow> = rows.into_values().filter(moved).collect();
    let mut totals: BTreeMap<String, ReconcileRow> = BTreeMap::new();
    for r in &rows {
        let t = totals
            .entry(r.currency.clone())
            .or_insert_with(|| ReconcileRow {
                account_name: format!("All accounts in {}", r.currency),
                currency: r.currency.clone(),
                ..ReconcileRow::default()
            });
        add(t, r);
    }
    let with_differences: Vec<&ReconcileRow> = rows
        .iter()
        .filter(|r| !r.differences().is_empty())
        .collect();
    let differences_total = with_differences.len() as u64;
    let differences = with_differences
        .into_iter()
        .take(RECONCILE_MAX_DIFFERENCES)
        .cloned()
        .collect();
    let balance_differences = ledger::check(db).await?.problems;
    let accounts = rows.len() as u64;
    let page = page.min(accounts.saturating_sub(1) / RECONCILE_PAGE_ROWS);
    let rows = rows
        .into_iter()
        .skip((page * RECONCILE_PAGE_ROWS) as usize)
        .take(RECONCILE_PAGE_ROWS as usize)
        .collect();
    Ok(ReconcileReport {
        from,
        to,
        page,
        accounts,
        rows,
        totals: totals.into_values().collect(),
        differences,
        differences_total,
        balance_differences,
    })
}

fn add(t: &mut ReconcileRow, r: &ReconcileRow) {
    let sum = |a: &mut Micros, b: Micros| a.0 += b.0;
    sum(&mut t.ledger_charged, r.ledger_charged);
    sum(&mut t.events_charged, r.events_charged);
    sum(&mut t.events_spend, r.events_spend);
    sum(&mut t.rollup_spend, r.rollup_spend);
    sum(&mut t.ledger_reversed, r.ledger_reversed);
    sum(&mut t.corrections_reversed, r.corrections_reversed);
    sum(&mut t.rollup_reversed, r.rollup_reversed);
    t.events_views += r.events_views;
    t.rollup_views += r.rollup_views;
    t.events_clicks += r.events_clicks;
    t.rollup_clicks += r.rollup_clicks;
    for (total, add) in t.daily_rollup.iter_mut().zip(r.daily_rollup) {
        *total += add;
    }
}
