//! View and click increments. Each accepted event posts what its views cost against its
//! decision's hold — computed on the decision's running total of views, so however the counts
//! are split or ordered the charge is the same — never more than is still held (views past it
//! are served free and still counted), nothing once the hold has expired, and never past the
//! campaign's total budget as it is now (a budget lowered below what is held), and updates the
//! reporting rollup (the account's local day of the views) in the same transaction.
//!
//! A batch is per item: each event is accepted, replayed or rejected on its own (a rejected
//! one writes nothing and does not stop the others), and the whole batch commits as one
//! transaction, so a failure of the server writes nothing and the batch can be sent again.
//!
//! A batch is worked out in memory and written with a fixed number of statements whatever its
//! size ([`read`] takes the locks and reads everything it needs once, [`write`] writes the
//! events, decisions, spend counters, ledger charges and rollups in one statement each): the
//! ledger gets one charge per decision per batch, the sum of its events' charges (and of their
//! publisher parts, each rounded down per event as before, so no split depends on batching).

mod read;
mod write;

use crate::{
    entity::delivery_decision,
    error::AppError,
    model::{Micros, publisher_part},
    service::{delivery::DeliveryEngine, reports::rollup},
};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use chrono_tz::Tz;
use sea_orm::DatabaseConnection;
use std::collections::{BTreeMap, HashMap};

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
    // The money write's deadline counts from here (`now` was taken just before).
    let started = std::time::Instant::now();
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
    crate::with_retry!(db, since started, |txn| {
        let mut results: Vec<Option<EventResult>> = events.iter().map(|e| check(e, now)).collect();
        let valid: Vec<&EventInput> = events
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_none())
            .map(|(e, _)| e)
            .collect();
        if !valid.is_empty() {
            let read = read::read(txn, key_id, &valid, now).await?;
            let mut batch = Batch::new(read, share, now);
            // In decision order, then as sent: the order the locks were taken in.
            let mut order: Vec<usize> = (0..events.len()).collect();
            order.sort_by_key(|&i| (events[i].decision_id, i));
            for i in order {
                if results[i].is_none() {
                    results[i] = Some(batch.take(&events[i])?);
                }
            }
            write::write(txn, key_id, &batch, now).await?;
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| rejected(500, "internal", "", "Not processed.")))
            .collect::<Vec<_>>())
    })
}

/// An event as first counted: what a repeat of its id is compared with.
#[derive(Clone, Debug)]
struct Counted {
    decision_id: i64,
    views: i64,
    clicks: i64,
    at: DateTime<Utc>,
    posted: i64,
    /// The account-local day its rollups were filed under.
    day: Option<chrono::NaiveDate>,
}

/// One batch worked out in memory: the decisions as they will be, and what to write.
struct Batch {
    /// The decisions named, as read under their locks.
    before: HashMap<i64, delivery_decision::Model>,
    /// The same, with this batch's events counted.
    after: HashMap<i64, delivery_decision::Model>,
    /// What each campaign's total budget still allows to be posted.
    headroom: HashMap<i64, i64>,
    zones: HashMap<i64, Tz>,
    /// Event ids counted before or in this batch.
    counted: HashMap<String, Counted>,
    /// Accepted events, in the order taken.
    accepted: Vec<(String, Counted)>,
    /// (campaign, ad, channel, day) → additions.
    rollups: BTreeMap<rollup::Key, rollup::Add>,
    /// The publisher share in force, and each decision's publisher part of this batch's
    /// charges: rounded down per event, so the split does not depend on how events are batched.
    share_bp: i64,
    publisher: HashMap<i64, i64>,
    /// When the batch arrived: a hold expired by then charges nothing more.
    now: DateTime<Utc>,
}

impl Batch {
    fn new(read: read::Read, share_bp: i64, now: DateTime<Utc>) -> Self {
        Self {
            share_bp,
            now,
            publisher: HashMap::new(),
            after: read.decisions.clone(),
            before: read.decisions,
            headroom: read.headroom,
            zones: read.zones,
            counted: read.earlier,
            accepted: Vec::new(),
            rollups: BTreeMap::new(),
        }
    }

    /// Counts one event (its cheap checks passed) or says why not.
    fn take(&mut self, e: &EventInput) -> Result<EventResult, AppError> {
        if let Some(first) = self.counted.get(&e.event_id) {
            return Ok(compare(first, e));
        }
        let Some(d) = self.after.get_mut(&e.decision_id) else {
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
        // Once its hold has expired a slot charges nothing more (its views are counted, free),
        // whether or not a sweeper has released the hold yet: late views cost the same
        // whenever they arrive.
        let mut posted = if self.now >= d.expires_at {
            0
        } else {
            Ord::max(due - d.posted, 0)
        };
        // A total budget lowered after this hold was taken still caps the charge: what would
        // pass it is served free (the hold's rest is released when the decision settles).
        let Some(room) = self.headroom.get_mut(&d.campaign_id) else {
            return Err(AppError::internal(
                "ingest",
                "a decision's campaign vanished",
            ));
        };
        posted = Ord::min(posted, *room);
        *room -= posted;
        *self.publisher.entry(d.id).or_insert(0) += publisher_part(Micros(posted), self.share_bp).0;
        d.views = views;
        d.clicks += e.clicks;
        d.posted += posted;
        let day =
            e.at.with_timezone(self.zones.get(&d.account_id).unwrap_or(&Tz::UTC))
                .date_naive();
        let counted = Counted {
            decision_id: d.id,
            views: e.views,
            clicks: e.clicks,
            at: e.at,
            posted,
            day: Some(day),
        };
        let add = self
            .rollups
            .entry((d.campaign_id, d.ad_id, d.channel_id, day))
            .or_default();
        add.account = d.account_id;
        add.views += e.views;
        add.clicks += e.clicks;
        add.spend += posted;
        self.counted.insert(e.event_id.clone(), counted.clone());
        self.accepted.push((e.event_id.clone(), counted));
        Ok(EventResult::Accepted {
            posted: Micros(posted),
        })
    }
}

/// A repeated event id: the first answer when the body is the same, else a conflict.
fn compare(first: &Counted, e: &EventInput) -> EventResult {
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
