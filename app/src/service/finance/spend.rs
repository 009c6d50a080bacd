//! Spend as finance sees it: what the ledger charged each ad account per UTC day or month,
//! what corrections gave back, and the net, with totals per currency and a CSV. Read from the
//! ledger's transfers (by kind and time, one index range), not from reports' rollups — the
//! reconciliation page proves the two agree.

use crate::{
    entity::ad_account,
    error::AppError,
    model::{Micros, SpendPeriod, SpendReport, SpendRow, SpendTotal},
    service::{
        Actor,
        reports::export::{decimals, neutralise},
        sql::Sql,
    },
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Rows a page shows (the CSV has up to [`CSV_ROWS`]).
pub const PAGE_ROWS: usize = 500;
/// The most rows one CSV holds.
pub const CSV_ROWS: usize = 100_000;
/// Accounts named per statement (a bound well inside what SQLite and PostgreSQL bind).
const NAMES_AT_ONCE: usize = 1_000;
/// The longest period one report covers, in days.
pub const MAX_DAYS: i64 = 366;

/// The UTC instants of days `from`–`to` (inclusive): `[start, end)`.
pub(crate) fn utc_window(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = from
        .and_hms_opt(0, 0, 0)
        .map_or_else(Utc::now, |t| t.and_utc());
    (start, start + Duration::days((to - from).num_days() + 1))
}

/// SQL naming the UTC day (`YYYY-MM-DD`) or month (`YYYY-MM`) of `column`. SQLite keeps
/// instants as UTC text, so a prefix is the day; PostgreSQL formats the instant in UTC.
pub(crate) fn period_of(backend: DbBackend, column: &str, period: SpendPeriod) -> String {
    let (len, pattern) = match period {
        SpendPeriod::Day => (10, "YYYY-MM-DD"),
        SpendPeriod::Month => (7, "YYYY-MM"),
    };
    match backend {
        DbBackend::Postgres => format!("to_char({column} AT TIME ZONE 'UTC', '{pattern}')"),
        _ => format!("substr({column}, 1, {len})"),
    }
}

/// Checks a period typed into a finance form: both days given, in order, at most
/// [`MAX_DAYS`] long. Empty fields default to the last 30 days to `today`.
pub(crate) fn period(
    from: &str,
    to: &str,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), AppError> {
    let to = super::parse_day("to", to)?.unwrap_or(today);
    let from = super::parse_day("from", from)?.unwrap_or(to - Duration::days(29));
    if to < from {
        return Err(AppError::field("to", "The last day comes after the first."));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(AppError::field(
            "to",
            format!("At most {MAX_DAYS} days at a time."),
        ));
    }
    Ok((from, to))
}

/// Per (period, ad account, currency): what the ledger charged (posts out of the account's
/// campaigns' holds) and gave back (reversals into its balance) in `[start, end)`, of every
/// account or only of `only` (at most a page of ids).
pub(crate) async fn charged_and_reversed(
    db: &impl ConnectionTrait,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    grouping: SpendPeriod,
    only: Option<&[i64]>,
) -> Result<BTreeMap<(String, i64, String), (i64, i64)>, AppError> {
    let backend = db.get_database_backend();
    // (period, account, currency) → (charged, reversed)
    let mut sums: BTreeMap<(String, i64, String), (i64, i64)> = BTreeMap::new();
    // None of no account (an empty page); `IN ()` is an error on PostgreSQL.
    if only.is_some_and(<[i64]>::is_empty) {
        return Ok(sums);
    }
    for (kind, account_of) in [
        // A charge leaves a campaign's holds: its campaign's account.
        (
            "post",
            "JOIN ledger_account a ON a.id = t.debit_account_id \
             JOIN campaign c ON c.id = a.owner_id AND a.kind = 'campaign_holds'",
        ),
        // A reversal credits the account's balance.
        (
            "reversal",
            "JOIN ledger_account a ON a.id = t.credit_account_id AND a.kind = 'account_balance' \
             JOIN ad_account c ON c.id = a.owner_id",
        ),
    ] {
        let account = if kind == "post" {
            "c.account_id"
        } else {
            "c.id"
        };
        let mut sql = Sql::new();
        let only = only.map_or_else(String::new, |ids| {
            let ids: Vec<String> = ids.iter().map(|id| sql.bind(*id)).collect();
            format!(" AND {account} IN ({})", ids.join(", "))
        });
        sql.text = format!(
            "SELECT {p}, {account}, t.currency, CAST(SUM(t.amount) AS BIGINT) \
             FROM ledger_transfer t {account_of} \
             WHERE t.kind = '{kind}' AND t.created_at >= {start} AND t.created_at < {end}{only} \
             GROUP BY {p}, {account}, t.currency",
            p = period_of(backend, "t.created_at", grouping),
            start = sql.bind(start),
            end = sql.bind(end),
        );
        for row in db.query_all_raw(sql.build(backend)).await? {
            let key = (
                row.try_get_by_index::<String>(0)?,
                row.try_get_by_index::<i64>(1)?,
                row.try_get_by_index::<String>(2)?,
            );
            let sum: i64 = row.try_get_by_index(3)?;
            let entry = sums.entry(key).or_default();
            if kind == "post" {
                entry.0 += sum;
            } else {
                entry.1 += sum;
            }
        }
    }
    Ok(sums)
}

/// Spend per ad account and period over UTC days `from`–`to` (finance staff; admins read),
/// at most `limit` rows (newest period first, then by account name).
pub async fn spend(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: &str,
    to: &str,
    period: &str,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<SpendReport, AppError> {
    super::require_reader(db, actor).await?;
    let grouping = match period.trim() {
        "" => SpendPeriod::Day,
        code => SpendPeriod::from_code(code)
            .ok_or_else(|| AppError::field("period", "Choose day or month."))?,
    };
    let (from, to) = self::period(from, to, now.date_naive())?;
    let (start, end) = utc_window(from, to);
    let sums = charged_and_reversed(db, start, end, grouping, None).await?;
    // Each account once, a bounded number at a time: a year by day is 366 rows per account,
    // far past what one statement may bind.
    let ids: BTreeSet<i64> = sums.keys().map(|k| k.1).collect();
    let ids: Vec<i64> = ids.into_iter().collect();
    let mut names: HashMap<i64, String> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(NAMES_AT_ONCE) {
        let found: Vec<(i64, String)> = ad_account::Entity::find()
            .select_only()
            .column(ad_account::Column::Id)
            .column(ad_account::Column::Name)
            .filter(ad_account::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        names.extend(found);
    }
    let mut totals: BTreeMap<String, SpendTotal> = BTreeMap::new();
    let mut rows: Vec<SpendRow> = sums
        .into_iter()
        .map(|((period, account_id, currency), (charged, reversed))| {
            let t = totals
                .entry(currency.clone())
                .or_insert_with(|| SpendTotal {
                    currency: currency.clone(),
                    ..SpendTotal::default()
                });
            t.charged.0 += charged;
            t.reversed.0 += reversed;
            t.net.0 += charged - reversed;
            SpendRow {
                period,
                account_id,
                account_name: names.get(&account_id).cloned().unwrap_or_default(),
                currency,
                charged: Micros(charged),
                reversed: Micros(reversed),
                net: Micros(charged - reversed),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.period
            .cmp(&a.period)
            .then_with(|| a.account_name.cmp(&b.account_name))
            .then_with(|| a.account_id.cmp(&b.account_id))
    });
    let truncated = rows.len() > limit;
    rows.truncate(limit);
    Ok(SpendReport {
        from,
        to,
        period: grouping,
        rows,
        truncated,
        totals: totals.into_values().collect(),
    })
}

/// `records` as CSV text (cells already neutralised by the caller where they are text).
pub(crate) fn csv_text(header: &[&str], records: &[Vec<String>]) -> Result<String, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(header)
        .map_err(|e| AppError::internal("csv", e))?;
    for r in records {
        writer
            .write_record(r)
            .map_err(|e| AppError::internal("csv", e))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| AppError::internal("csv", e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| AppError::internal("csv", e))
}

/// The report as CSV: one line per account and period, money with two decimals and exact in
/// micro-units, names neutralised against spreadsheet formulas. Refused when more than
/// [`CSV_ROWS`] lines (choose months or a shorter period).
pub fn spend_csv(report: &SpendReport) -> Result<String, AppError> {
    if report.truncated {
        return Err(AppError::field(
            "period",
            format!("More than {CSV_ROWS} lines: group by month or choose a shorter period."),
        ));
    }
    let records: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| {
            vec![
                r.period.clone(),
                r.account_id.to_string(),
                neutralise(&r.account_name),
                decimals(r.charged),
                decimals(r.reversed),
                decimals(r.net),
                r.charged.0.to_string(),
                r.reversed.0.to_string(),
                r.net.0.to_string(),
                r.currency.clone(),
            ]
        })
        .collect();
    csv_text(
        &[
            report.period.code(),
            "account_id",
            "account",
            "charged",
            "reversed",
            "net",
            "charged_micros",
            "reversed_micros",
            "net_micros",
            "currency",
        ],
        &records,
    )
}
