//! Publisher payables: each channel's share of charges for the slots it carried per UTC month
//! (less the shares that corrections took back), what the platform owes publishers now, a CSV for the payout run,
//! and marking a month paid — a transfer from the channel's payable to the outside world,
//! once per channel, currency and month.

use super::spend::{csv_text, utc_window};
use crate::{
    entity::{channel, delivery_decision, ledger_account, publisher_payout},
    error::AppError,
    model::{AuditAction, Micros, PayableRow, Payables, PayoutInput, PlatformRole, TransferKind},
    service::{
        Actor,
        audit::{self, AuditEntry},
        ledger::{self, NewTransfer, Outcome, Side},
        reports::export::{decimals, neutralise},
        sql::Sql,
    },
};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, Set, sea_query::Expr,
};
use std::collections::{BTreeMap, HashMap};
use validator::Validate;

/// Rows a page shows (the CSV has up to [`super::spend::CSV_ROWS`]).
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

/// Per (channel, currency): the publisher parts of charges for slots won in the month (UTC)
/// and of their reversals. A slot's charges and reversals belong to its month however late
/// they are booked, so a month's amount owed never goes below zero and a month once paid is
/// not changed by a correction (which is refused for a paid month).
pub(crate) async fn month_sums(
    db: &impl ConnectionTrait,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<BTreeMap<(i64, String), (i64, i64)>, AppError> {
    let (start, end) = utc_window(first, last);
    let backend = db.get_database_backend();
    let mut out: BTreeMap<(i64, String), (i64, i64)> = BTreeMap::new();
    for (charges, query) in [
        (
            true,
            "SELECT a.owner_id, t.currency, CAST(SUM(t.amount) AS BIGINT) FROM ledger_transfer t \
             JOIN ledger_account a ON a.id = t.credit_account_id AND a.kind = 'publisher_payable' \
             JOIN delivery_decision d ON d.id = t.object_id \
             WHERE t.kind = 'post' AND t.object_type = 'decision' \
             AND d.created_at >= $S AND d.created_at < $E GROUP BY a.owner_id, t.currency",
        ),
        (
            false,
            "SELECT r.channel_id, r.currency, CAST(SUM(r.publisher) AS BIGINT) FROM charge_reversal r \
             JOIN delivery_decision d ON d.id = r.decision_id \
             WHERE d.created_at >= $S AND d.created_at < $E GROUP BY r.channel_id, r.currency",
        ),
    ] {
        let mut sql = Sql::new();
        sql.text = query
            .replacen("$S", &sql.bind(start), 1)
            .replacen("$E", &sql.bind(end), 1);
        for row in db.query_all_raw(sql.build(backend)).await? {
            let key = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
            let sum: i64 = row.try_get_by_index(2)?;
            let entry = out.entry(key).or_default();
            if charges {
                entry.0 += sum;
            } else {
                entry.1 += sum;
            }
        }
    }
    Ok(out)
}

/// One month's payables per channel, largest owed first, at most `limit` rows (finance
/// staff; admins read).
pub async fn payables(
    db: &impl ConnectionTrait,
    actor: &Actor,
    month: &str,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Payables, AppError> {
    super::require_reader(db, actor).await?;
    let (month, first, last) = month_days("month", month, now)?;
    if first > now.date_naive() {
        return Err(AppError::field("month", "Choose a month that has begun."));
    }
    let mut sums = month_sums(db, first, last).await?;
    let paid: Vec<publisher_payout::Model> = publisher_payout::Entity::find()
        .filter(publisher_payout::Column::Period.eq(&month))
        .all(db)
        .await?;
    for p in &paid {
        sums.entry((p.channel_id, p.currency.clone())).or_default();
    }
    let paid: HashMap<(i64, String), (DateTime<Utc>, String)> = paid
        .into_iter()
        .map(|p| ((p.channel_id, p.currency), (p.created_at, p.reference)))
        .collect();
    let channel_ids: Vec<i64> = sums.keys().map(|k| k.0).collect();
    let balances: HashMap<(i64, String), i64> = ledger_account::Entity::find()
        .filter(ledger_account::Column::Kind.eq("publisher_payable"))
        .filter(ledger_account::Column::OwnerId.is_in(channel_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|a| ((a.owner_id, a.currency), a.balance))
        .collect();
    let channels: HashMap<i64, channel::Model> = channel::Entity::find()
        .filter(channel::Column::Id.is_in(channel_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut unpaid: BTreeMap<String, i64> = BTreeMap::new();
    let mut rows: Vec<PayableRow> = sums
        .into_iter()
        .map(|((channel_id, currency), (accrued, reversed))| {
            let owed = accrued - reversed;
            let paid = paid.get(&(channel_id, currency.clone())).cloned();
            if paid.is_none() && owed > 0 {
                *unpaid.entry(currency.clone()).or_default() += owed;
            }
            let c = channels.get(&channel_id);
            PayableRow {
                channel_id,
                handle: c.map_or_else(String::new, |c| c.handle.clone()),
                title: c.map_or_else(String::new, |c| c.title.clone()),
                balance: Micros(
                    balances
                        .get(&(channel_id, currency.clone()))
                        .copied()
                        .unwrap_or(0),
                ),
                currency,
                accrued: Micros(accrued),
                reversed: Micros(reversed),
                owed: Micros(owed),
                paid,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.owed.cmp(&a.owed).then(a.handle.cmp(&b.handle)));
    let truncated = rows.len() > limit;
    rows.truncate(limit);
    let owed_now: Vec<(String, i64)> = ledger_account::Entity::find()
        .select_only()
        .column(ledger_account::Column::Currency)
        .column_as(Expr::cust("CAST(SUM(balance) AS BIGINT)"), "owed")
        .filter(ledger_account::Column::Kind.eq("publisher_payable"))
        .group_by(ledger_account::Column::Currency)
        .into_tuple()
        .all(db)
        .await?;
    Ok(Payables {
        month,
        rows,
        truncated,
        unpaid: unpaid.into_iter().map(|(c, m)| (c, Micros(m))).collect(),
        owed_now: owed_now.into_iter().map(|(c, m)| (c, Micros(m))).collect(),
        ended: last < now.date_naive(),
        can_pay: actor.staff_roles.contains(&PlatformRole::Finance),
    })
}

/// The month's payables as CSV, one line per channel and currency, for the payout run.
pub fn payables_csv(p: &Payables) -> Result<String, AppError> {
    if p.truncated {
        return Err(AppError::field(
            "month",
            format!(
                "This month has more channel rows than one CSV holds (at most {}).",
                super::spend::CSV_ROWS
            ),
        ));
    }
    let records: Vec<Vec<String>> = p
        .rows
        .iter()
        .map(|r| {
            vec![
                p.month.clone(),
                r.channel_id.to_string(),
                r.handle.clone(),
                neutralise(&r.title),
                decimals(r.accrued),
                decimals(r.reversed),
                decimals(r.owed),
                r.owed.0.to_string(),
                r.currency.clone(),
                r.paid.as_ref().map_or_else(String::new, |(at, _)| {
                    at.format("%Y-%m-%d %H:%M UTC").to_string()
                }),
                r.paid
                    .as_ref()
                    .map_or_else(String::new, |(_, reference)| neutralise(reference)),
            ]
        })
        .collect();
    csv_text(
        &[
            "month",
            "channel_id",
            "handle",
            "title",
            "accrued",
            "reversed",
            "owed",
            "owed_micros",
            "currency",
            "paid_at",
            "payment_reference",
        ],
        &records,
    )
}

/// Marks one channel's month paid (finance staff): moves what the month owes from the
/// channel's payable to the outside world, once. Only a month that has ended can be paid, and
/// only once every slot the channel won in it is settled: until its hold is released, a slot
/// can still be charged (views reported late), and a share booked after the payout would
/// never be paid nor, the month being paid, reversible.
pub async fn mark_paid(
    db: &DatabaseConnection,
    actor: &Actor,
    input: PayoutInput,
    now: DateTime<Utc>,
) -> Result<Micros, AppError> {
    actor.require_staff(db, PlatformRole::Finance).await?;
    input.validate()?;
    let (month, first, last) = month_days("month", &input.month, now)?;
    if last >= now.date_naive() {
        return Err(AppError::field(
            "month",
            "A month can be paid once it has ended (UTC).",
        ));
    }
    let reference = input.reference.trim().to_owned();
    crate::with_retry!(db, |txn| {
        ledger::lock(txn, Side::payable(input.channel), &input.currency, now).await?;
        if let Some(done) = publisher_payout::Entity::find()
            .filter(publisher_payout::Column::ChannelId.eq(input.channel))
            .filter(publisher_payout::Column::Currency.eq(&input.currency))
            .filter(publisher_payout::Column::Period.eq(&month))
            .one(txn)
            .await?
        {
            if done.reference == reference {
                return Ok(Micros(done.amount));
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
        let (start, end) = utc_window(first, last);
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
                    "Slots this channel won in {month} are still open and can still be \
                     charged: pay it once they are settled, after {} UTC.",
                    last_hold.format("%Y-%m-%d %H:%M")
                ),
            ));
        }
        let sums = month_sums(txn, first, last).await?;
        let (accrued, reversed) = sums
            .get(&(input.channel, input.currency.clone()))
            .copied()
            .ok_or(AppError::NotFound)?;
        let owed = Micros(accrued - reversed);
        if owed.0 <= 0 {
            return Err(AppError::field(
                "reference",
                "Nothing is owed to this channel for the month.",
            ));
        }
        let outcome = ledger::transfer(
            txn,
            &NewTransfer {
                debit: Side::payable(input.channel),
                credit: Side::external(),
                amount: owed,
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
        publisher_payout::ActiveModel {
            channel_id: Set(input.channel),
            currency: Set(input.currency.clone()),
            period: Set(month.clone()),
            amount: Set(owed.0),
            reference: Set(reference.clone()),
            transfer_id: Set(transfer_id),
            paid_by: Set(actor.user_id.0),
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
            .by(actor.user_id)
            .from_ip(actor.ip.clone())
            .detail(serde_json::json!({
                "month": month,
                "amount_micros": owed.0,
                "currency": input.currency,
                "reference": reference,
                "transfer": transfer_id,
            })),
        )
        .await?;
        Ok(owed)
    })
}
