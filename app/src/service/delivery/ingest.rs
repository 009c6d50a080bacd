//! View and click increments. Each accepted event posts what its views cost against its
//! decision's hold — computed on the decision's running total of views, so however the counts
//! are split or ordered the charge is the same — never more than is still held (views past it
//! are served free and still counted) and never past the campaign's total budget as it is now
//! (a budget lowered below what is held), and updates the reporting rollup (the account's local
//! day of the views) in the same transaction.
//!
//! A batch is per item: each event is accepted, replayed or rejected on its own (a rejected
//! one writes nothing and does not stop the others), and the whole batch commits as one
//! transaction, so a failure of the server writes nothing and the batch can be sent again.

use crate::{
    entity::{
        ad_account, campaign, campaign_spend, delivery_decision, delivery_event, delivery_rollup,
    },
    error::AppError,
    model::Micros,
    service::{delivery::DeliveryEngine, ledger},
};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ExprTrait, QueryFilter,
    QuerySelect, Set, TransactionTrait,
    sea_query::{Expr, OnConflict},
};
use std::collections::HashMap;

/// Most events in one request.
pub const MAX_BATCH: usize = 1_000;
/// Most views or clicks one event may report.
pub const MAX_COUNT: i64 = 100_000_000;
/// How far ahead of the server's clock an event's time may be.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

/// One increment, as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventInput {
    pub event_id: String,
    pub decision_id: i64,
    pub views: i64,
    pub clicks: i64,
    pub at: DateTime<Utc>,
}

/// What became of one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventResult {
    /// Counted now; `posted` is what it charged.
    Accepted { posted: Micros },
    /// Counted before with the same body: the first answer, nothing written now.
    Replayed { posted: Micros },
    /// Not counted: `status` is the HTTP-like code (404, 409, 422), `code` a stable name.
    Rejected {
        status: u16,
        code: &'static str,
        field: &'static str,
        message: String,
    },
}

fn rejected(
    status: u16,
    code: &'static str,
    field: &'static str,
    message: impl Into<String>,
) -> EventResult {
    EventResult::Rejected {
        status,
        code,
        field,
        message: message.into(),
    }
}

/// The checks that need no database.
fn check(e: &EventInput, now: DateTime<Utc>) -> Option<EventResult> {
    if e.event_id.is_empty()
        || e.event_id.chars().count() > 128
        || e.event_id.chars().any(char::is_control)
    {
        return Some(rejected(
            422,
            "invalid_input",
            "event_id",
            "An event id has 1 to 128 printable characters.",
        ));
    }
    for (field, n) in [("views", e.views), ("clicks", e.clicks)] {
        if !(0..=MAX_COUNT).contains(&n) {
            return Some(rejected(
                422,
                "invalid_input",
                field,
                format!("{field} must be from 0 to {MAX_COUNT}."),
            ));
        }
    }
    if e.views == 0 && e.clicks == 0 {
        return Some(rejected(
            422,
            "invalid_input",
            "views",
            "An event reports at least one view or click.",
        ));
    }
    if e.at > now + CLOCK_SKEW {
        return Some(rejected(
            422,
            "invalid_input",
            "at",
            "The event's time is in the future.",
        ));
    }
    None
}

/// Applies a batch of events from the network `key_id` (at most [`MAX_BATCH`], checked by the
/// caller first); one result per event, in order.
pub async fn ingest(
    db: &DatabaseConnection,
    engine: &DeliveryEngine,
    key_id: i64,
    events: &[EventInput],
    now: DateTime<Utc>,
) -> Result<Vec<EventResult>, AppError> {
    if events.len() > MAX_BATCH {
        return Err(AppError::field(
            "events",
            format!("At most {MAX_BATCH} events per request."),
        ));
    }
    let share = {
        engine.refresh(db).await?;
        engine.campaigns().rules.publisher_share_bp
    };
    // Times as the database keeps them (microseconds), so a replay compares equal.
    let events: Vec<EventInput> = events
        .iter()
        .map(|e| EventInput {
            at: e.at.trunc_subsecs(6),
            ..e.clone()
        })
        .collect();
    let events = events.as_slice();
    // Decisions in id order, so concurrent batches lock the same rows in the same order.
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| (events[i].decision_id, i));
    crate::with_retry!(db, |txn| {
        lock_in_order(txn, key_id, events, now).await?;
        let zones = account_zones(txn, key_id, events).await?;
        let mut results = vec![None; events.len()];
        for &i in &order {
            let e = &events[i];
            let result = match check(e, now) {
                Some(bad) => bad,
                None => {
                    let savepoint = txn.begin().await?;
                    let r = one(&savepoint, key_id, e, share, &zones, now).await?;
                    if matches!(r, EventResult::Accepted { .. }) {
                        savepoint.commit().await?;
                    } else {
                        savepoint.rollback().await?;
                    }
                    r
                }
            };
            results[i] = Some(result);
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| rejected(500, "internal", "", "Not processed.")))
            .collect::<Vec<_>>())
    })
}

/// Takes the batch's shared locks first, in one order (the campaigns' spend counters by id,
/// then the platform revenue account of each currency), so that concurrent batches, decisions
/// and sweeps on PostgreSQL queue instead of deadlocking (SQLite serializes writers anyway).
async fn lock_in_order(
    txn: &impl ConnectionTrait,
    key_id: i64,
    events: &[EventInput],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut ids: Vec<i64> = events.iter().map(|e| e.decision_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut touched: Vec<(i64, String)> = delivery_decision::Entity::find()
        .select_only()
        .column(delivery_decision::Column::CampaignId)
        .column(delivery_decision::Column::Currency)
        .filter(delivery_decision::Column::Id.is_in(ids))
        .filter(delivery_decision::Column::KeyId.eq(key_id))
        .into_tuple()
        .all(txn)
        .await?;
    touched.sort();
    touched.dedup();
    for (campaign, _) in &touched {
        campaign_spend::Entity::update_many()
            .col_expr(
                campaign_spend::Column::Posted,
                Expr::col(campaign_spend::Column::Posted),
            )
            .filter(campaign_spend::Column::CampaignId.eq(*campaign))
            .exec(txn)
            .await?;
    }
    let mut currencies: Vec<&String> = touched.iter().map(|(_, c)| c).collect();
    currencies.sort();
    currencies.dedup();
    for currency in currencies {
        ledger::lock(txn, ledger::Side::revenue(), currency, now).await?;
    }
    Ok(())
}

/// The time zone of each account whose decisions the batch names: the rollup's day is the
/// account's local day of the views.
async fn account_zones(
    txn: &impl ConnectionTrait,
    key_id: i64,
    events: &[EventInput],
) -> Result<HashMap<i64, Tz>, AppError> {
    let mut ids: Vec<i64> = events.iter().map(|e| e.decision_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let accounts: Vec<i64> = delivery_decision::Entity::find()
        .select_only()
        .column(delivery_decision::Column::AccountId)
        .distinct()
        .filter(delivery_decision::Column::Id.is_in(ids))
        .filter(delivery_decision::Column::KeyId.eq(key_id))
        .into_tuple()
        .all(txn)
        .await?;
    let zones: Vec<(i64, String)> = ad_account::Entity::find()
        .select_only()
        .column(ad_account::Column::Id)
        .column(ad_account::Column::TimeZone)
        .filter(ad_account::Column::Id.is_in(accounts))
        .into_tuple()
        .all(txn)
        .await?;
    // Zones come from a fixed list; an unknown one would be a data error.
    Ok(zones
        .into_iter()
        .map(|(id, zone)| (id, zone.parse().unwrap_or(Tz::UTC)))
        .collect())
}

/// What the campaign's total budget still allows to be posted (its spend counter is locked).
async fn budget_headroom(txn: &impl ConnectionTrait, campaign_id: i64) -> Result<i64, AppError> {
    let total: Option<i64> = campaign::Entity::find_by_id(campaign_id)
        .select_only()
        .column(campaign::Column::TotalBudgetMicros)
        .into_tuple()
        .one(txn)
        .await?;
    let posted: Option<i64> = campaign_spend::Entity::find_by_id(campaign_id)
        .select_only()
        .column(campaign_spend::Column::Posted)
        .into_tuple()
        .one(txn)
        .await?;
    let total =
        total.ok_or_else(|| AppError::internal("ingest", "a decision's campaign vanished"))?;
    Ok(Ord::max(total - posted.unwrap_or(0), 0))
}

async fn one(
    txn: &impl ConnectionTrait,
    key_id: i64,
    e: &EventInput,
    share_bp: i64,
    zones: &HashMap<i64, Tz>,
    now: DateTime<Utc>,
) -> Result<EventResult, AppError> {
    if let Some(first) = delivery_event::Entity::find()
        .filter(delivery_event::Column::KeyId.eq(key_id))
        .filter(delivery_event::Column::EventId.eq(&e.event_id))
        .one(txn)
        .await?
    {
        return Ok(compare(&first, e));
    }
    let Some(d) = delivery_decision::Entity::find_by_id(e.decision_id)
        .one(txn)
        .await?
        .filter(|d| d.key_id == key_id)
    else {
        return Ok(rejected(
            404,
            "unknown_decision",
            "decision_id",
            "No such decision for this key.",
        ));
    };
    if e.at < d.created_at {
        return Ok(rejected(
            422,
            "invalid_input",
            "at",
            "The event is dated before its decision.",
        ));
    }
    if d.clicks + e.clicks > d.views + e.views {
        return Ok(rejected(
            422,
            "invalid_input",
            "clicks",
            "A decision cannot have more clicks than views.",
        ));
    }
    let views = d.views + e.views;
    // The charge for all views so far, capped by what was held and not released.
    let due = Micros(d.price_cpm)
        .cpm_cost(views)
        .map_or(d.held - d.released, |c| Ord::min(c.0, d.held - d.released));
    let mut posted = Micros(Ord::max(due - d.posted, 0));
    if posted.0 > 0 {
        // A total budget lowered after this hold was taken still caps the charge: what would
        // pass it is served free (the hold's rest is released when the decision settles).
        posted = Micros(Ord::min(
            posted.0,
            budget_headroom(txn, d.campaign_id).await?,
        ));
    }
    let inserted = delivery_event::Entity::insert(delivery_event::ActiveModel {
        key_id: Set(key_id),
        event_id: Set(e.event_id.clone()),
        decision_id: Set(d.id),
        views: Set(e.views),
        clicks: Set(e.clicks),
        at: Set(e.at),
        posted: Set(posted.0),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([
        delivery_event::Column::KeyId,
        delivery_event::Column::EventId,
    ])
    .exec(txn)
    .await?;
    let event_row = match inserted {
        sea_orm::TryInsertResult::Inserted(r) => r.last_insert_id,
        _ => {
            // Sent twice at once: the other copy was counted.
            let first = delivery_event::Entity::find()
                .filter(delivery_event::Column::KeyId.eq(key_id))
                .filter(delivery_event::Column::EventId.eq(&e.event_id))
                .one(txn)
                .await?
                .ok_or_else(|| AppError::internal("ingest", "a conflicting event vanished"))?;
            return Ok(compare(&first, e));
        }
    };
    let moved = delivery_decision::Entity::update_many()
        .col_expr(
            delivery_decision::Column::Views,
            Expr::col(delivery_decision::Column::Views).add(e.views),
        )
        .col_expr(
            delivery_decision::Column::Clicks,
            Expr::col(delivery_decision::Column::Clicks).add(e.clicks),
        )
        .col_expr(
            delivery_decision::Column::Posted,
            Expr::col(delivery_decision::Column::Posted).add(posted.0),
        )
        .filter(delivery_decision::Column::Id.eq(d.id))
        // What this read saw: a concurrent change makes the batch start again.
        .filter(delivery_decision::Column::Views.eq(d.views))
        .filter(delivery_decision::Column::Posted.eq(d.posted))
        .filter(delivery_decision::Column::Released.eq(d.released))
        .exec(txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(AppError::TooManyAttempts(crate::error::BUSY.to_owned()));
    }
    if posted.0 > 0 {
        // Lock order everywhere: spend counter (taken first, in `lock_in_order`), decision,
        // ledger accounts.
        campaign_spend::Entity::update_many()
            .col_expr(
                campaign_spend::Column::Posted,
                Expr::col(campaign_spend::Column::Posted).add(posted.0),
            )
            .filter(campaign_spend::Column::CampaignId.eq(d.campaign_id))
            .exec(txn)
            .await?;
        ledger::post(
            txn,
            d.campaign_id,
            d.channel_id,
            &d.currency,
            posted,
            share_bp,
            d.id,
            &format!("post:{event_row}"),
            now,
        )
        .await?;
    }
    let add = |column: &str| Expr::cust(format!("delivery_rollup.{column} + excluded.{column}"));
    delivery_rollup::Entity::insert(delivery_rollup::ActiveModel {
        campaign_id: Set(d.campaign_id),
        ad_id: Set(d.ad_id),
        channel_id: Set(d.channel_id),
        day: Set(e
            .at
            .with_timezone(zones.get(&d.account_id).unwrap_or(&Tz::UTC))
            .date_naive()),
        account_id: Set(d.account_id),
        views: Set(e.views),
        clicks: Set(e.clicks),
        spend_micros: Set(posted.0),
    })
    .on_conflict(
        OnConflict::columns([
            delivery_rollup::Column::CampaignId,
            delivery_rollup::Column::AdId,
            delivery_rollup::Column::ChannelId,
            delivery_rollup::Column::Day,
        ])
        .value(delivery_rollup::Column::Views, add("views"))
        .value(delivery_rollup::Column::Clicks, add("clicks"))
        .value(delivery_rollup::Column::SpendMicros, add("spend_micros"))
        .to_owned(),
    )
    .exec(txn)
    .await?;
    Ok(EventResult::Accepted { posted })
}

/// A repeated event id: the first answer when the body is the same, else a conflict.
fn compare(first: &delivery_event::Model, e: &EventInput) -> EventResult {
    if first.decision_id == e.decision_id
        && first.views == e.views
        && first.clicks == e.clicks
        && first.at == e.at
    {
        EventResult::Replayed {
            posted: Micros(first.posted),
        }
    } else {
        rejected(
            409,
            "conflict",
            "event_id",
            "This event id was already used with a different body.",
        )
    }
}
