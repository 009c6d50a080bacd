//! Publisher payables: each channel's share of charges for the slots it carried per UTC month
//! (less the shares that corrections took back), what the platform owes publishers now, a CSV for
//! the payout run, and marking a month paid — a transfer from the channel's payable to the outside
//! world, once per channel, currency and month.

use super::spend::utc_window;
use crate::{
    entity::{channel, delivery_decision, ledger_account, publisher_payout},
    error::AppError,
    model::{
        AuditAction, Micros, PayableRow, Payables, PayoutInput, PayoutPaid, PlatformRole,
        TransferKind, UserId, finance::reference_key,
    },
    service::{
        Actor,
        audit::{self, AuditEntry},
        ledger::{self, NewTransfer, Outcome, Side},
        reports::export::{CsvChunks, Exports, decimals, neutralise, spawn_csv},
        settings,
        sql::Sql,
    },
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use futures_util::StreamExt;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QueryResult, QuerySelect, Set,
    Statement, StreamTrait, sea_query::Expr,
};
use validator::Validate;

/// Rows a page shows (the CSV has every row).
pub const PAGE_ROWS: usize = 500;

/// The first and last day of a `YYYY-MM` month; empty means the current UTC month.
pub(crate) fn month_days(
    field: &'static str,
    month: &str,
    now: DateTime<Utc>,
) -> Result<(String, NaiveDate, NaiveDate), AppError> {
    let text = month.trim();
    let first = if text.is_empty() {
        NaiveDate::from_ymd_opt(now.year(), now.month(), 1)
    } else {
        NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok()
    }
    .ok_or_else(|| AppError::field(field, "Enter a month like 2026-11."))?;
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(|| AppError::field(field, "Enter a month like 2026-11."))?;
    let last = next.pred_opt().unwrap_or(first);
    Ok((first.format("%Y-%m").to_string(), first, last))
}

/// `WITH g AS (…)`: per (channel, currency), the publisher parts of charges for slots won in
/// the month (UTC) and of their reversals, plus every channel and currency already paid for
/// it. A slot's charges and reversals belong to its month however late they are booked, so a
/// month's amount owed never goes below zero and a month once paid is not changed by a
/// correction (which is refused for a paid month). `only`: one channel and currency.
fn month_groups(
    sql: &mut Sql,
    first: NaiveDate,
    last: NaiveDate,
    month: &str,
    only: Option<(i64, &str)>,
) -> String {
    let (start, end) = utc_window(first, last);
    let (s, e, m) = (sql.bind(start), sql.bind(end), sql.bind(month.to_owned()));
    let (posted, reversed, paid) = match only {
        Some((channel, currency)) => {
            let (c, k) = (sql.bind(channel), sql.bind(currency.to_owned()));
            (
                format!(" AND a.owner_id = {c} AND t.currency = {k}"),
                format!(" AND r.channel_id = {c} AND r.currency = {k}"),
                format!(" AND p.channel_id = {c} AND p.currency = {k}"),
            )
        }
        None => Default::default(),
    };
    format!(
        "WITH g AS (SELECT channel_id, currency, SUM(accrued) AS accrued, \
         SUM(reversed) AS reversed FROM ( \
         SELECT a.owner_id AS channel_id, t.currency AS currency, SUM(t.amount) AS accrued, \
         0 AS reversed FROM ledger_transfer t \
         JOIN ledger_account a ON a.id = t.credit_account_id AND a.kind = 'publisher_payable' \
         JOIN delivery_decision d ON d.id = t.object_id \
         WHERE t.kind = 'post' AND t.object_type = 'decision' \
         AND d.created_at >= {s} AND d.created_at < {e}{posted} GROUP BY a.owner_id, t.currency \
         UNION ALL SELECT r.channel_id, r.currency, 0, SUM(r.publisher) FROM charge_reversal r \
         JOIN delivery_decision d ON d.id = r.decision_id \
         WHERE d.created_at >= {s} AND d.created_at < {e}{reversed} \
         GROUP BY r.channel_id, r.currency \
         UNION ALL SELECT p.channel_id, p.currency, 0, 0 FROM publisher_payout p \
         WHERE p.period = {m}{paid}) parts GROUP BY channel_id, currency) "
    )
}

/// The month's rows per (channel, currency), largest owed first, with the channel's name, its
/// payable balance and the month's payout if paid (else the first request waiting to pay it,
/// read with one join on the month's waiting requests); at most `limit` rows (`None`: all, for the
/// CSV, which streams them). The columns [`payable_row`] reads.
fn rows_statement(
    backend: DbBackend,
    first: NaiveDate,
    last: NaiveDate,
    month: &str,
    limit: Option<usize>,
) -> Statement {
    let mut sql = Sql::new();
    let groups = month_groups(&mut sql, first, last, month, None);
    let m = sql.bind(month.to_owned());
    let limit = limit.map_or_else(String::new, |n| format!(" LIMIT {n}"));
    sql.text = format!(
        "{groups}SELECT g.channel_id, g.currency, CAST(g.accrued AS BIGINT), \
         CAST(g.reversed AS BIGINT), COALESCE(c.handle, ''), COALESCE(c.title, ''), \
         CAST(COALESCE(b.balance, 0) AS BIGINT), p.created_at, p.reference, r.id, \
         r.reference FROM g \
         LEFT JOIN channel c ON c.id = g.channel_id \
         LEFT JOIN ledger_account b ON b.kind = 'publisher_payable' \
         AND b.owner_id = g.channel_id AND b.currency = g.currency \
         LEFT JOIN publisher_payout p ON p.period = {m} AND p.channel_id = g.channel_id \
         AND p.currency = g.currency \
         LEFT JOIN (SELECT channel_id, currency, MIN(id) AS id FROM payout_request \
         WHERE status = 'pending' AND period = {m} GROUP BY channel_id, currency) w \
         ON w.channel_id = g.channel_id AND w.currency = g.currency \
         LEFT JOIN payout_request r ON r.id = w.id \
         ORDER BY g.accrued - g.reversed DESC, COALESCE(c.handle, ''), g.channel_id, \
         g.currency{limit}"
    );
    sql.build(backend)
}

fn payable_row(row: &QueryResult) -> Result<PayableRow, DbErr> {
    let (accrued, reversed): (i64, i64) = (row.try_get_by_index(2)?, row.try_get_by_index(3)?);
    let paid_at: Option<DateTime<Utc>> = row.try_get_by_index(7)?;
    let reference: Option<String> = row.try_get_by_index(8)?;
    let waiting: Option<i64> = row.try_get_by_index(9)?;
    let waiting_reference: Option<String> = row.try_get_by_index(10)?;
    Ok(PayableRow {
        channel_id: row.try_get_by_index(0)?,
        currency: row.try_get_by_index(1)?,
        handle: row.try_get_by_index(4)?,
        title: row.try_get_by_index(5)?,
        balance: Micros(row.try_get_by_index(6)?),
        accrued: Micros(accrued),
        reversed: Micros(reversed),
        owed: Micros(accrued - reversed),
        paid: paid_at.zip(reference),
        waiting: waiting.zip(waiting_reference),
    })
}

/// When a month whose last day is `last` can be paid: its end (UTC) plus [`ledger::SETTLE`].
fn payable_from(last: NaiveDate) -> DateTime<Utc> {
    utc_window(last, last).1 + ledger::SETTLE
}

/// The latest month (`YYYY-MM`) whose payouts can be marked paid at `now` — last month, or
/// the one before in the minutes after a month ends while its slots settle: the month the page
/// and the CSV show when none is chosen, as that is the payout run's.
fn latest_payable(now: DateTime<Utc>) -> String {
    let before = |day: NaiveDate| day.with_day(1).unwrap_or(day) - Duration::days(1);
    let last_month = before(now.date_naive());
    let month_end = if now >= payable_from(last_month) {
        last_month
    } else {
        before(last_month)
    };
    month_end.format("%Y-%m").to_string()
}

/// One month's payables per channel, largest owed first, at most `limit` rows (finance
/// staff; admins read). Counted in the database: a month in which a million channels earned
/// reads `limit + 1` rows, never all of them.
pub async fn payables(
    db: &impl ConnectionTrait,
    actor: &Actor,
    month: &str,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Payables, AppError> {
    super::require_reader(db, actor).await?;
    let (month, first, last) = begun_month(month, now)?;
    let backend = db.get_database_backend();
    let mut rows = db
        .query_all_raw(rows_statement(
            backend,
            first,
            last,
            &month,
            Some(limit + 1),
        ))
        .await?
        .iter()
        .map(payable_row)
        .collect::<Result<Vec<_>, _>>()?;
    let truncated = rows.len() > limit;
    rows.truncate(limit);
    let mut sql = Sql::new();
    let groups = month_groups(&mut sql, first, last, &month, None);
    let m = sql.bind(month.clone());
    sql.text = format!(
        "{groups}SELECT g.currency, CAST(SUM(g.accrued - g.reversed) AS BIGINT) FROM g \
         WHERE g.accrued > g.reversed AND NOT EXISTS (SELECT 1 FROM publisher_payout p \
         WHERE p.period = {m} AND p.channel_id = g.channel_id AND p.currency = g.currency) \
         AND NOT EXISTS (SELECT 1 FROM payout_request r WHERE r.status = 'pending' \
         AND r.period = {m} AND r.channel_id = g.channel_id AND r.currency = g.currency) \
         GROUP BY g.currency ORDER BY g.currency"
    );
    let mut unpaid = Vec::new();
    for row in db.query_all_raw(sql.build(backend)).await? {
        unpaid.push((row.try_get_by_index(0)?, Micros(row.try_get_by_index(1)?)));
    }
    let owed_now: Vec<(String, i64)> = ledger_account::Entity::find()
        .select_only()
        .column(ledger_account::Column::Currency)
        .column_as(Expr::cust("CAST(SUM(balance) AS BIGINT)"), "owed")
        .filter(ledger_account::Column::Kind.eq("publisher_payable"))
        .group_by(ledger_account::Column::Currency)
        .order_by_asc(ledger_account::Column::Currency)
        .into_tuple()
        .all(db)
        .await?;
    let requests = super::payout_requests::list(db, actor).await?;
    Ok(Payables {
        requests,
        month,
        rows,
        truncated,
        unpaid,
        owed_now: owed_now.into_iter().map(|(c, m)| (c, Micros(m))).collect(),
        ended: now >= payable_from(last),
        can_pay: actor.staff_roles.contains(&PlatformRole::Finance),
    })
}

/// The month of `text` (empty: [`latest_payable`]), refused when it has not begun.
fn begun_month(text: &str, now: DateTime<Utc>) -> Result<(String, NaiveDate, NaiveDate), AppError> {
    let text = match text.trim() {
        "" => latest_payable(now),
        named => named.to_owned(),
    };
    let (month, first, last) = month_days("month", &text, now)?;
    if first > now.date_naive() {
        return Err(AppError::field("month", "Choose a month that has begun."));
    }
    Ok((month, first, last))
}

const CSV_HEADER: [&str; 13] = [
    "month",
    "channel_id",
    "handle",
    "title",
    "accrued",
    "reversed",
    "owed",
    "owed_micros",
    "currency",
    "status",
    "payout_request",
    "paid_at",
    "payment_reference",
];

/// The month's payables as CSV for the payout run, one line per channel and currency, largest
/// owed first — every one of them, streamed from the database as they are read (finance staff;
/// admins read): the file name and its chunks. Refusals (role, month) come before the first
/// byte.
pub async fn payables_csv(
    db: DatabaseConnection,
    exports: &Exports,
    actor: &Actor,
    month: &str,
    now: DateTime<Utc>,
) -> Result<(String, CsvChunks), AppError> {
    super::require_reader(&db, actor).await?;
    let (month, first, last) = begun_month(month, now)?;
    let name = format!("herald-payables-{month}.csv");
    let chunks = spawn_csv(exports, move |mut out| async move {
        out.write(&CSV_HEADER.map(str::to_owned)).await?;
        let backend = ConnectionTrait::get_database_backend(&db);
        let statement = rows_statement(backend, first, last, &month, None);
        let mut stream = db.stream_raw(statement).await?;
        while let Some(row) = stream.next().await {
            if !out
                .write(&payable_record(&month, &payable_row(&row?)?))
                .await?
            {
                return Ok(());
            }
        }
        out.flush().await?;
        Ok(())
    })?;
    Ok((name, chunks))
}

fn payable_record(month: &str, r: &PayableRow) -> Vec<String> {
    vec![
        month.to_owned(),
        r.channel_id.to_string(),
        r.handle.clone(),
        neutralise(&r.title),
        decimals(r.accrued),
        decimals(r.reversed),
        decimals(r.owed),
        r.owed.0.to_string(),
        r.currency.clone(),
        // A month marked paid and waiting for a second person has left the bank already: not
        // to be paid again in the next run.
        match (&r.paid, &r.waiting) {
            (Some(_), _) => "paid",
            (None, Some(_)) => "waiting_approval",
            (None, None) => "unpaid",
        }
        .to_owned(),
        r.waiting
            .as_ref()
            .map_or_else(String::new, |(id, _)| id.to_string()),
        r.paid.as_ref().map_or_else(String::new, |(at, _)| {
            at.format("%Y-%m-%d %H:%M UTC").to_string()
        }),
        r.paid
            .as_ref()
            .map(|(_, reference)| reference)
            .or(r.waiting.as_ref().map(|(_, reference)| reference))
            .map_or_else(String::new, |reference| neutralise(reference)),
    ]
}

/// Marks one channel's month paid (finance staff): moves what the month owes from the
/// channel's payable to the outside world, once, and answers what was paid to whom. Only a
/// month that has ended (and settled, [`payable_from`]) can be paid, and only once every slot
/// the channel won in it is settled: until its hold is released, a slot can still be charged
/// (views reported before it expired, in a batch still committing), and a share booked after
/// the payout would never be paid nor, the month being paid, reversible. A payout above the
/// approval threshold, or one whose requester asks for a second person (`ask_approval`), is
/// only a request until a different finance user approves it ([`super::payout_requests`]).
pub async fn mark_paid(
    db: &DatabaseConnection,
    actor: &Actor,
    mut input: PayoutInput,
    now: DateTime<Utc>,
) -> Result<PayoutPaid, AppError> {
    actor.require_staff(db, PlatformRole::Finance).await?;
    input.reference = crate::model::finance::composed(&input.reference);
    input.validate()?;
    let month = payable_month(&input.month, now)?;
    let reference = input.reference.trim().to_owned();
    let threshold = Micros::units(settings::finance_approval_units(db).await?);
    crate::with_retry!(db, |txn| {
        let owed = match measure(txn, &input, &month, &reference, now).await? {
            Measured::Paid(paid) => return Ok(paid),
            Measured::Owed(owed) => owed,
        };
        let above = owed.amount.0 > threshold.0 || input.ask_approval;
        if let Some(waiting) = super::payout_requests::wait_if_needed(
            txn, actor, &input, &owed, &reference, above, now,
        )
        .await?
        {
            return Ok(waiting);
        }
        let made = Payer {
            by: actor.user_id,
            approved_by: None,
            request: None,
            ip: actor.ip.clone(),
        };
        pay(txn, &made, &input, owed.clone(), &reference, now).await?;
        Ok(owed)
    })
}

/// The month (`YYYY-MM`) of `text` with its first and last days, refused (beside the month)
/// until it has ended and its last slots have had time to arrive.
pub(super) fn payable_month(text: &str, now: DateTime<Utc>) -> Result<Month, AppError> {
    let (month, first, last) = month_days("month", text, now)?;
    if last >= now.date_naive() {
        return Err(AppError::field(
            "month",
            "A month can be paid once it has ended (UTC).",
        ));
    }
    // A slot won in the month's last moments is stamped then but may commit a little later
    // (ledger::SETTLE): until then it may be missing from the check of open slots below.
    let from = payable_from(last);
    if now < from {
        return Err(AppError::field(
            "month",
            format!(
                "Slots won in the month's last minutes may still be arriving: pay it from {} UTC.",
                from.format("%Y-%m-%d %H:%M")
            ),
        ));
    }
    Ok(Month { month, first, last })
}

/// A month that can be paid: `YYYY-MM`, its first and last days.
pub(super) struct Month {
    pub month: String,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

/// What a channel's month is, under its payable's lock.
pub(super) enum Measured {
    /// Paid already with this very reference (however written): what was paid.
    Paid(PayoutPaid),
    /// What the month owes (more than zero): a payout of it, not yet made.
    Owed(PayoutPaid),
}

/// Locks the channel's payable in the currency and measures what its month owes: refused when
/// the month was paid with another reference, while a slot of it is still open, or when it
/// owes nothing.
pub(super) async fn measure(
    txn: &DatabaseTransaction,
    input: &PayoutInput,
    month: &Month,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<Measured, AppError> {
    let handle = channel::Entity::find_by_id(input.channel)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?
        .handle;
    let paid = |amount: i64| PayoutPaid {
        amount: Micros(amount),
        currency: input.currency.clone(),
        month: month.month.clone(),
        channel: handle.clone(),
        waiting: None,
    };
    ledger::lock(txn, Side::payable(input.channel), &input.currency, now).await?;
    if let Some(done) = publisher_payout::Entity::find()
        .filter(publisher_payout::Column::ChannelId.eq(input.channel))
        .filter(publisher_payout::Column::Currency.eq(&input.currency))
        .filter(publisher_payout::Column::Period.eq(&month.month))
        .one(txn)
        .await?
    {
        // The same payment however its reference is written ("PAY-1", "pay 1").
        if reference_key(&done.reference) == reference_key(reference) {
            return Ok(Measured::Paid(paid(done.amount)));
        }
        return Err(AppError::field(
            "reference",
            format!(
                "This month was already paid on {} with reference {}.",
                done.created_at.format("%Y-%m-%d"),
                done.reference
            ),
        ));
    }
    let (start, end) = utc_window(month.first, month.last);
    let still_open: Option<DateTime<Utc>> = delivery_decision::Entity::find()
        .select_only()
        .column_as(delivery_decision::Column::ExpiresAt.max(), "last")
        .filter(delivery_decision::Column::SettledAt.is_null())
        .filter(delivery_decision::Column::ChannelId.eq(input.channel))
        .filter(delivery_decision::Column::Currency.eq(&input.currency))
        .filter(delivery_decision::Column::CreatedAt.gte(start))
        .filter(delivery_decision::Column::CreatedAt.lt(end))
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(txn)
        .await?
        .flatten();
    if let Some(last_hold) = still_open {
        return Err(AppError::field(
            "month",
            format!(
                "Slots this channel won in {} are still open (views reported before \
                 they expire are charged): pay it once they are settled, after {} UTC.",
                month.month,
                (last_hold + crate::service::delivery::sweep::SETTLE_AFTER)
                    .format("%Y-%m-%d %H:%M")
            ),
        ));
    }
    let mut sql = Sql::new();
    let groups = month_groups(
        &mut sql,
        month.first,
        month.last,
        &month.month,
        Some((input.channel, &input.currency)),
    );
    sql.text = format!("{groups}SELECT CAST(accrued AS BIGINT), CAST(reversed AS BIGINT) FROM g");
    let row = txn
        .query_one_raw(sql.build(ConnectionTrait::get_database_backend(txn)))
        .await?
        .ok_or(AppError::NotFound)?;
    let (accrued, reversed): (i64, i64) = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
    if accrued - reversed <= 0 {
        return Err(AppError::field(
            "reference",
            "Nothing is owed to this channel for the month.",
        ));
    }
    Ok(Measured::Owed(paid(accrued - reversed)))
}

/// Who makes a payout: the finance user who marked it paid, and the one who approved it when
/// it needed a second person.
pub(super) struct Payer {
    pub by: UserId,
    pub approved_by: Option<UserId>,
    /// The payout request it carries out.
    pub request: Option<i64>,
    pub ip: Option<String>,
}

/// Makes the payout `owed` measured (under the payable's lock, [`measure`]): the transfer out
/// of the channel's payable, its `publisher_payout` row and the audit. Answers the payout's id.
pub(super) async fn pay(
    txn: &DatabaseTransaction,
    payer: &Payer,
    input: &PayoutInput,
    owed: PayoutPaid,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let month = owed.month;
    let outcome = ledger::transfer(
        txn,
        &NewTransfer {
            debit: Side::payable(input.channel),
            credit: Side::external(),
            amount: owed.amount,
            currency: input.currency.clone(),
            kind: TransferKind::Payout,
            object_type: "channel",
            object_id: input.channel,
            key: format!("payout:{}:{}:{month}", input.channel, input.currency),
        },
        now,
    )
    .await?;
    let transfer_id = match outcome {
        Outcome::Applied(id) => id,
        Outcome::Replayed(_) | Outcome::Insufficient => {
            return Err(AppError::internal(
                "payables",
                format!(
                    "channel {} payable holds less than {month} owes ({outcome:?})",
                    input.channel
                ),
            ));
        }
    };
    let payout = publisher_payout::ActiveModel {
        channel_id: Set(input.channel),
        currency: Set(input.currency.clone()),
        period: Set(month.clone()),
        amount: Set(owed.amount.0),
        reference: Set(reference.to_owned()),
        transfer_id: Set(transfer_id),
        paid_by: Set(payer.by.0),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    audit::record(
        txn,
        AuditEntry::new(
            AuditAction::PayoutMarked,
            "channel",
            input.channel.to_string(),
        )
        .by(payer.approved_by.unwrap_or(payer.by))
        .from_ip(payer.ip.clone())
        .detail(serde_json::json!({
            "month": month,
            "amount_micros": owed.amount.0,
            "currency": input.currency,
            "reference": reference,
            "transfer": transfer_id,
            "marked_by": payer.by.0,
            "approved_by": payer.approved_by.map(|u| u.0),
            "request": payer.request,
        })),
    )
    .await?;
    Ok(payout.id)
}
