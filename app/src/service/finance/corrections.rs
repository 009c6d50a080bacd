//! Corrections: finance reverses posted charges — of one decision, or of one channel's
//! decisions over a period (invalid traffic found later). Each decision's charges go back to
//! its advertiser's available balance, out of the channel's payable and platform revenue in
//! exactly the parts they were charged; what was reversed before is never reversed again. The
//! original charges stay; reports show the reversal on the day it was made.
//!
//! A reversal does not re-open the campaign's budget: the budget caps what delivery may
//! charge, and a correction gives money back without changing what was delivered.
//!
//! Above the approval threshold a correction waits for a second finance person
//! ([`super::correction_requests`]), as top-ups and refunds do.

use super::{correction_requests, two_person};
use crate::{
    entity::{
        ad_account, channel, charge_reversal, delivery_decision, publisher_payout, spend_correction,
    },
    error::AppError,
    model::{
        AuditAction, CorrectionInput, CorrectionResult, CorrectionRow, CorrectionTotal, Micros,
        PlatformRole, UserId,
    },
    service::{
        Actor,
        audit::{self, AuditEntry},
        ledger::{self, Reversal, Side},
        reports::rollup,
        settings,
        sql::{Sql, begin_snapshot, for_update},
    },
};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use validator::Validate;

/// The most decisions one correction reverses (narrow the period for more).
pub const MAX_DECISIONS: usize = 10_000;
/// The longest period of one channel correction, in days.
pub const MAX_DAYS: i64 = 366;
/// Corrections per page of finance's list.
pub const LIST_PAGE: u64 = 20;
const CHUNK: usize = 500;

/// Which decisions a correction covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Selection {
    Decision(i64),
    Channel {
        id: i64,
        from: NaiveDate,
        to: NaiveDate,
    },
}

/// A decision's charges as read under its lock.
pub(super) struct Charged {
    id: i64,
    account: i64,
    campaign: i64,
    ad: i64,
    channel: i64,
    currency: String,
    posted: i64,
    created_at: DateTime<Utc>,
}

/// Reverses (or with `input.preview`, only measures) the charges `input` names (finance staff).
/// Above the approval threshold, or when the same correction is already waiting, nothing is
/// reversed: the answer names the request a second finance person decides.
pub async fn reverse(
    db: &DatabaseConnection,
    actor: &Actor,
    input: CorrectionInput,
    now: DateTime<Utc>,
) -> Result<CorrectionResult, AppError> {
    actor.require_staff(db, PlatformRole::Finance).await?;
    input.validate()?;
    let selection = select(db, &input).await?;
    let reason = input.reason.trim().to_owned();
    // Asked for: a second finance person approves it whatever the amount.
    let threshold =
        (!input.ask_approval).then_some(Micros::units(settings::finance_approval_units(db).await?));
    if input.preview {
        // Measured only: no lock taken, nothing written; one read transaction (a snapshot on
        // PostgreSQL), so events posted meanwhile cannot make the decisions and their
        // transfers disagree.
        let txn = begin_snapshot(db).await?;
        let measured = async {
            let decisions = charged(&txn, &selection, false).await?;
            let mut result = summarize(&remaining(&txn, &decisions).await?, true);
            result.needs_approval = match threshold {
                Some(threshold) => {
                    correction_requests::above(&txn, actor.user_id, &result.totals, threshold, now)
                        .await?
                }
                None => true,
            };
            Ok::<_, AppError>(result)
        }
        .await;
        txn.commit().await?;
        return measured;
    }
    crate::with_retry!(db, |txn| {
        let (decisions, reversals) = lock_and_measure(txn, &selection, now).await?;
        let mut result = summarize(&reversals, false);
        if reversals.is_empty() {
            return Ok(result);
        }
        two_person::refuse_member(txn, actor, accounts(&decisions), "correct these charges")
            .await?;
        refuse_paid_months(txn, &decisions, &reversals, now).await?;
        if let Some(waiting) = correction_requests::wait_if_needed(
            txn, actor, &selection, &reason, &reversals, &result, threshold, now,
        )
        .await?
        {
            result.needs_approval = true;
            result.waiting = Some(waiting.id);
            result.already_waiting = waiting.already;
            result.totals = waiting.totals;
            result.decisions = waiting.decisions;
            return Ok(result);
        }
        let by = Made {
            by: actor.user_id,
            approved_by: None,
            request: None,
            ip: actor.ip.clone(),
        };
        result.id = Some(
            carry_out(
                txn, &by, &selection, &reason, &decisions, &reversals, &result, now,
            )
            .await?,
        );
        Ok(result)
    })
}

/// The ad accounts `decisions` charged.
pub(super) fn accounts(decisions: &[Charged]) -> BTreeSet<i64> {
    decisions.iter().map(|d| d.account).collect()
}

/// Who made a correction: its requester, and the second finance person when one approved it.
pub(super) struct Made {
    pub by: UserId,
    pub approved_by: Option<UserId>,
    pub request: Option<i64>,
    pub ip: Option<String>,
}

/// Locks what a correction of `selection` writes to, in the order posting takes them (see
/// `delivery::ingest::read`): the platform revenue account of each currency, then the
/// decisions, then the other ledger accounts — else a correction and a batch of events on the
/// same channel could each hold what the other waits for (PostgreSQL). Answers the decisions
/// charged and what each still has to give back.
pub(super) async fn lock_and_measure(
    txn: &DatabaseTransaction,
    selection: &Selection,
    now: DateTime<Utc>,
) -> Result<(Vec<Charged>, Vec<Reversal>), AppError> {
    let currencies: BTreeSet<String> = charged(txn, selection, false)
        .await?
        .into_iter()
        .map(|d| d.currency)
        .collect();
    for currency in &currencies {
        ledger::lock(txn, Side::revenue(), currency, now).await?;
    }
    let decisions = charged(txn, selection, true).await?;
    if decisions.iter().any(|d| !currencies.contains(&d.currency)) {
        // A decision of another currency was charged between the two reads: its revenue
        // account is not locked yet. Start again (the first read will see it).
        return Err(AppError::TooManyAttempts(crate::error::BUSY.to_owned()));
    }
    let reversals = remaining(txn, &decisions).await?;
    Ok((decisions, reversals))
}

/// Reverses `reversals` (locked and measured, months checked): the correction's row, the
/// transfers, one `charge_reversal` per decision, the rollups and the audit event. Answers the
/// correction's number.
#[expect(
    clippy::too_many_arguments,
    reason = "a correction is all of these facts"
)]
pub(super) async fn carry_out(
    txn: &DatabaseTransaction,
    made: &Made,
    selection: &Selection,
    reason: &str,
    decisions: &[Charged],
    reversals: &[Reversal],
    result: &CorrectionResult,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let correction = record(txn, made.by, selection, reason, reversals.len(), now).await?;
    if !ledger::reverse_many(txn, reversals, now).await? {
        return Err(AppError::internal(
            "corrections",
            "a channel's payable holds less than its unpaid share",
        ));
    }
    write_rows(txn, correction, decisions, reversals, now).await?;
    audit::record(
        txn,
        AuditEntry::new(
            AuditAction::ChargesReversed,
            "spend_correction",
            correction.to_string(),
        )
        // Whoever carried it out now (the approver, when a second person approved it).
        .by(made.approved_by.unwrap_or(made.by))
        .from_ip(made.ip.clone())
        .detail(serde_json::json!({
            "reason": reason,
            "decisions": reversals.len(),
            "request": made.request,
            "requested_by": made.by.0,
            "approved_by": made.approved_by.map(|u| u.0),
            "totals": result.totals.iter().map(|t| serde_json::json!({
                "currency": t.currency,
                "amount_micros": t.amount.0,
                "publisher_micros": t.publisher.0,
                "platform_micros": t.platform.0,
            })).collect::<Vec<_>>(),
        })),
    )
    .await?;
    Ok(correction)
}

/// Parses and checks what `input` names.
async fn select(db: &impl ConnectionTrait, input: &CorrectionInput) -> Result<Selection, AppError> {
    match input.scope.as_str() {
        "decision" => {
            let id = input
                .decision
                .trim()
                .trim_start_matches('#')
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| {
                    AppError::field("decision", "Enter a decision number, like 1042.")
                })?;
            Ok(Selection::Decision(id))
        }
        "channel" => {
            let handle = input.channel.trim().trim_start_matches('@').to_lowercase();
            let found = channel::Entity::find()
                .filter(channel::Column::Handle.eq(&handle))
                .one(db)
                .await?
                .ok_or_else(|| AppError::field("channel", "No channel has this handle."))?;
            let day = |field: &'static str, text: &str| {
                NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                    .map_err(|_| AppError::field(field, "Enter a date like 2026-12-01."))
            };
            let (from, to) = (day("from", &input.from)?, day("to", &input.to)?);
            if to < from {
                return Err(AppError::field("to", "The last day comes after the first."));
            }
            if (to - from).num_days() >= MAX_DAYS {
                return Err(AppError::field(
                    "to",
                    format!("At most {MAX_DAYS} days at a time."),
                ));
            }
            Ok(Selection::Channel {
                id: found.id,
                from,
                to,
            })
        }
        _ => Err(AppError::field(
            "scope",
            "Choose one decision or a channel over a period.",
        )),
    }
}

/// The decisions selected that were charged, locked (PostgreSQL; SQLite's writer is alone)
/// against delivery posting to them meanwhile, at most one more than [`MAX_DECISIONS`].
/// The charged decisions `selection` names (at most [`MAX_DECISIONS`]; more is refused),
/// locked for update when `lock` (PostgreSQL; SQLite's writer holds the whole database).
async fn charged(
    txn: &impl ConnectionTrait,
    selection: &Selection,
    lock: bool,
) -> Result<Vec<Charged>, AppError> {
    let backend = txn.get_database_backend();
    let mut sql = Sql::new();
    let condition = match selection {
        Selection::Decision(id) => format!("id = {}", sql.bind(*id)),
        Selection::Channel { id, from, to, .. } => {
            let start = from.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
            let end = to
                .succ_opt()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc());
            format!(
                "channel_id = {} AND created_at >= {} AND created_at < {}",
                sql.bind(*id),
                sql.bind(start),
                sql.bind(end)
            )
        }
    };
    let lock = if lock { for_update(backend) } else { "" };
    sql.text = format!(
        "SELECT id, account_id, campaign_id, ad_id, channel_id, currency, posted, created_at \
         FROM delivery_decision WHERE {condition} AND posted > 0 ORDER BY id LIMIT {}{lock}",
        MAX_DECISIONS + 1
    );
    let rows = txn.query_all_raw(sql.build(backend)).await?;
    let decisions = rows
        .iter()
        .map(|r| {
            Ok(Charged {
                id: r.try_get_by_index(0)?,
                account: r.try_get_by_index(1)?,
                campaign: r.try_get_by_index(2)?,
                ad: r.try_get_by_index(3)?,
                channel: r.try_get_by_index(4)?,
                currency: r.try_get_by_index(5)?,
                posted: r.try_get_by_index(6)?,
                created_at: r.try_get_by_index(7)?,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    if decisions.len() > MAX_DECISIONS {
        return Err(AppError::field(
            "to",
            format!("More than {MAX_DECISIONS} decisions in this period: choose a shorter one."),
        ));
    }
    if let (Selection::Decision(id), true) = (selection, decisions.is_empty()) {
        let exists = delivery_decision::Entity::find_by_id(*id).one(txn).await?;
        return Err(AppError::field(
            "decision",
            if exists.is_some() {
                "Nothing was charged for this decision."
            } else {
                "No decision has this number."
            },
        ));
    }
    Ok(decisions)
}

/// What each decision still has to give back: its post transfers' publisher and platform
/// sides less its earlier reversals'.
async fn remaining(
    txn: &impl ConnectionTrait,
    decisions: &[Charged],
) -> Result<Vec<Reversal>, AppError> {
    let backend = txn.get_database_backend();
    // decision → (publisher, platform) charged, then reversed.
    let mut charged: HashMap<i64, (i64, i64)> = HashMap::new();
    let mut reversed: HashMap<i64, (i64, i64)> = HashMap::new();
    for chunk in decisions.chunks(CHUNK) {
        let mut sql = Sql::new();
        let ids: Vec<String> = chunk.iter().map(|d| sql.bind(d.id)).collect();
        sql.text = format!(
            "SELECT t.object_id, a.kind, CAST(SUM(t.amount) AS BIGINT) FROM ledger_transfer t \
             JOIN ledger_account a ON a.id = t.credit_account_id \
             WHERE t.object_type = 'decision' AND t.object_id IN ({}) AND t.kind = 'post' \
             GROUP BY t.object_id, a.kind",
            ids.join(", ")
        );
        for row in txn.query_all_raw(sql.build(backend)).await? {
            let (decision, kind, sum): (i64, String, i64) = (
                row.try_get_by_index(0)?,
                row.try_get_by_index(1)?,
                row.try_get_by_index(2)?,
            );
            let entry = charged.entry(decision).or_default();
            if kind == "publisher_payable" {
                entry.0 += sum;
            } else {
                entry.1 += sum;
            }
        }
        let rows: Vec<(i64, i64, i64)> = charge_reversal::Entity::find()
            .select_only()
            .column(charge_reversal::Column::DecisionId)
            .column_as(
                sea_orm::sea_query::Expr::cust("CAST(SUM(publisher) AS BIGINT)"),
                "publisher",
            )
            .column_as(
                sea_orm::sea_query::Expr::cust("CAST(SUM(platform) AS BIGINT)"),
                "platform",
            )
            .filter(charge_reversal::Column::DecisionId.is_in(chunk.iter().map(|d| d.id)))
            .group_by(charge_reversal::Column::DecisionId)
            .into_tuple()
            .all(txn)
            .await?;
        for (decision, publisher, platform) in rows {
            reversed.insert(decision, (publisher, platform));
        }
    }
    let mut out = Vec::new();
    for d in decisions {
        let (publisher, platform) = charged.get(&d.id).copied().unwrap_or_default();
        if publisher + platform != d.posted {
            return Err(AppError::internal(
                "corrections",
                format!(
                    "decision {} posted {} but its post transfers sum to {}",
                    d.id,
                    d.posted,
                    publisher + platform
                ),
            ));
        }
        let (back_publisher, back_platform) = reversed.get(&d.id).copied().unwrap_or_default();
        let (publisher, platform) = (publisher - back_publisher, platform - back_platform);
        if publisher < 0 || platform < 0 {
            return Err(AppError::internal(
                "corrections",
                format!("decision {} reversed more than it was charged", d.id),
            ));
        }
        if publisher + platform > 0 {
            out.push(Reversal {
                decision: d.id,
                account: d.account,
                channel: d.channel,
                currency: d.currency.clone(),
                publisher: Micros(publisher),
                platform: Micros(platform),
                through_posted: d.posted,
            });
        }
    }
    Ok(out)
}

/// A publisher's share is paid per month of the slots ([`super::payables`]): once a channel's
/// month is paid, its charges can no longer give the publisher's part back. Each channel's
/// payable is locked first, as paying a month locks it before it reads what the month owes:
/// a payout committed meanwhile is then seen here (on PostgreSQL a payout running beside this
/// correction would otherwise pay a share that the correction gives back).
pub(super) async fn refuse_paid_months(
    txn: &impl ConnectionTrait,
    decisions: &[Charged],
    reversals: &[Reversal],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let by_id: HashMap<i64, &Charged> = decisions.iter().map(|d| (d.id, d)).collect();
    let months: BTreeSet<(i64, String, String)> = reversals
        .iter()
        .filter(|r| r.publisher.0 > 0)
        .filter_map(|r| by_id.get(&r.decision))
        .map(|d| {
            let month = d.created_at.format("%Y-%m").to_string();
            (d.channel, d.currency.clone(), month)
        })
        .collect();
    let payables: BTreeSet<(i64, &str)> = months
        .iter()
        .map(|(channel, currency, _)| (*channel, currency.as_str()))
        .collect();
    for (channel, currency) in payables {
        ledger::lock(txn, Side::payable(channel), currency, now).await?;
    }
    for (channel, currency, month) in months {
        let paid = publisher_payout::Entity::find()
            .filter(publisher_payout::Column::ChannelId.eq(channel))
            .filter(publisher_payout::Column::Currency.eq(&currency))
            .filter(publisher_payout::Column::Period.eq(&month))
            .one(txn)
            .await?;
        // Marked paid and waiting for a second person: the money has left the bank already.
        let waiting = if paid.is_none() {
            super::payout_requests::pending_for(txn, channel, &currency, &month).await?
        } else {
            None
        };
        if paid.is_none() && waiting.is_none() {
            continue;
        }
        let handle = channel::Entity::find_by_id(channel)
            .one(txn)
            .await?
            .map_or_else(String::new, |c| c.handle);
        let message = match waiting {
            Some(request) => format!(
                "@{handle}'s share for {month} was marked paid and waits for a second finance \
                 person's approval (payout request #{}): charges of that month cannot be \
                 reversed unless it is rejected.",
                request.id
            ),
            None => format!(
                "@{handle}'s share for {month} was already paid out to its publisher: \
                 charges of that month can no longer be reversed."
            ),
        };
        return Err(AppError::field("scope", message));
    }
    Ok(())
}

pub(super) fn summarize(reversals: &[Reversal], preview: bool) -> CorrectionResult {
    let mut totals: BTreeMap<String, CorrectionTotal> = BTreeMap::new();
    for r in reversals {
        let t = totals
            .entry(r.currency.clone())
            .or_insert_with(|| CorrectionTotal {
                currency: r.currency.clone(),
                ..CorrectionTotal::default()
            });
        t.publisher.0 += r.publisher.0;
        t.platform.0 += r.platform.0;
        t.amount.0 += r.publisher.0 + r.platform.0;
    }
    CorrectionResult {
        id: None,
        preview,
        decisions: reversals.len() as u64,
        accounts: reversals
            .iter()
            .map(|r| r.account)
            .collect::<BTreeSet<_>>()
            .len() as u64,
        totals: totals.into_values().collect(),
        needs_approval: false,
        waiting: None,
        already_waiting: false,
    }
}

async fn record(
    txn: &impl ConnectionTrait,
    by: UserId,
    selection: &Selection,
    reason: &str,
    reversals: usize,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let (scope, decision, channel, from, to) = match selection {
        Selection::Decision(id) => ("decision", Some(*id), None, None, None),
        Selection::Channel { id, from, to, .. } => {
            ("channel", None, Some(*id), Some(*from), Some(*to))
        }
    };
    let row = spend_correction::ActiveModel {
        scope: Set(scope.to_owned()),
        decision_id: Set(decision),
        channel_id: Set(channel),
        from_day: Set(from),
        to_day: Set(to),
        reason: Set(reason.to_owned()),
        reversals: Set(reversals as i64),
        created_by: Set(by.0),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(row.id)
}

/// One `charge_reversal` per decision, and the rollup's reversed money on the account's
/// local day of `now` (where reports show it).
async fn write_rows(
    txn: &impl ConnectionTrait,
    correction: i64,
    decisions: &[Charged],
    reversals: &[Reversal],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let by_id: HashMap<i64, &Charged> = decisions.iter().map(|d| (d.id, d)).collect();
    let accounts: BTreeSet<i64> = reversals.iter().map(|r| r.account).collect();
    let zones: HashMap<i64, Tz> = ad_account::Entity::find()
        .filter(ad_account::Column::Id.is_in(accounts))
        .all(txn)
        .await?
        .into_iter()
        .map(|a| (a.id, a.time_zone.parse().unwrap_or(Tz::UTC)))
        .collect();
    let mut rows = Vec::with_capacity(reversals.len());
    let mut rollups: BTreeMap<rollup::Key, rollup::Add> = BTreeMap::new();
    for r in reversals {
        let d = by_id
            .get(&r.decision)
            .ok_or_else(|| AppError::internal("corrections", "a reversal without its decision"))?;
        let day = now
            .with_timezone(zones.get(&r.account).unwrap_or(&Tz::UTC))
            .date_naive();
        let amount = r.publisher.0 + r.platform.0;
        rows.push(charge_reversal::ActiveModel {
            correction_id: Set(correction),
            decision_id: Set(r.decision),
            account_id: Set(r.account),
            campaign_id: Set(d.campaign),
            ad_id: Set(d.ad),
            channel_id: Set(d.channel),
            currency: Set(r.currency.clone()),
            through_posted: Set(r.through_posted),
            amount: Set(amount),
            publisher: Set(r.publisher.0),
            platform: Set(r.platform.0),
            day: Set(day),
            created_at: Set(now),
            ..Default::default()
        });
        let add = rollups
            .entry((d.campaign, d.ad, d.channel, day))
            .or_default();
        add.account = r.account;
        add.reversed += amount;
    }
    for chunk in rows.chunks(CHUNK) {
        charge_reversal::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    rollup::add(txn, &rollups).await?;
    Ok(())
}

/// Corrections, newest first, one page (finance staff; admins read).
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    page: u64,
) -> Result<Vec<CorrectionRow>, AppError> {
    super::require_reader(db, actor).await?;
    let page = page.min(10_000);
    let corrections = spend_correction::Entity::find()
        .order_by_desc(spend_correction::Column::Id)
        .offset(page * LIST_PAGE)
        .limit(LIST_PAGE)
        .all(db)
        .await?;
    let ids: Vec<i64> = corrections.iter().map(|c| c.id).collect();
    let sums: Vec<(i64, String, i64, i64, i64)> = charge_reversal::Entity::find()
        .select_only()
        .column(charge_reversal::Column::CorrectionId)
        .column(charge_reversal::Column::Currency)
        .column_as(
            sea_orm::sea_query::Expr::cust("CAST(SUM(amount) AS BIGINT)"),
            "amount",
        )
        .column_as(
            sea_orm::sea_query::Expr::cust("CAST(SUM(publisher) AS BIGINT)"),
            "publisher",
        )
        .column_as(
            sea_orm::sea_query::Expr::cust("CAST(SUM(platform) AS BIGINT)"),
            "platform",
        )
        .filter(charge_reversal::Column::CorrectionId.is_in(ids.clone()))
        .group_by(charge_reversal::Column::CorrectionId)
        .group_by(charge_reversal::Column::Currency)
        .into_tuple()
        .all(db)
        .await?;
    let mut totals: HashMap<i64, Vec<CorrectionTotal>> = HashMap::new();
    for (id, currency, amount, publisher, platform) in sums {
        totals.entry(id).or_default().push(CorrectionTotal {
            currency,
            amount: Micros(amount),
            publisher: Micros(publisher),
            platform: Micros(platform),
        });
    }
    let channels: HashMap<i64, String> = channel::Entity::find()
        .filter(channel::Column::Id.is_in(corrections.iter().filter_map(|c| c.channel_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.handle))
        .collect();
    let users = super::Emails::of(db, corrections.iter().map(|c| c.created_by).collect()).await?;
    let mut approvers = correction_requests::approvers(db, &ids).await?;
    Ok(corrections
        .into_iter()
        .map(|c| CorrectionRow {
            id: c.id,
            at: c.created_at,
            what: describe(c.decision_id, c.channel_id, c.from_day, c.to_day, &channels),
            reason: c.reason,
            decisions: c.reversals,
            totals: totals.remove(&c.id).unwrap_or_default(),
            by: users.get(c.created_by),
            approved_by: approvers.remove(&c.id),
        })
        .collect())
}

/// What a correction covers, as finance's lists say it: "Decision 17" or
/// "@channel, 2026-11-01 – 2026-11-30 (UTC)" (`channels`: handles by id).
pub(super) fn describe(
    decision: Option<i64>,
    channel: Option<i64>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    channels: &HashMap<i64, String>,
) -> String {
    match (decision, channel, from, to) {
        (Some(d), ..) => format!("Decision {d}"),
        (_, Some(ch), Some(from), Some(to)) => format!(
            "@{}, {from} – {to} (UTC)",
            channels.get(&ch).map_or("?", String::as_str)
        ),
        _ => "—".to_owned(),
    }
}
