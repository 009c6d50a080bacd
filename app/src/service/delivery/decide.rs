//! One decision: a channel's new post needs an ad. Candidates come from memory, ranked by bid;
//! the slot then joins the decisions waiting for the database ([`super::batch`]: group
//! commit), and one transaction decides the whole batch in arrival order, each slot seeing the
//! ones before it, exactly as if they had been decided one by one: the candidates' budgets
//! are read for the few that matter (highest bids first); the second-price auction picks the
//! winner among those that can hold the slot's whole expected cost; the slot is counted
//! against the channel's daily slots and its cost committed against the campaign's total and
//! daily budgets and held in the ledger. The writes re-check every cap against the rows as
//! they are when written (so a concurrent writer elsewhere can never cause an overspend: the
//! batch is decided again), and each slot is claimed with its answer: the same slot asked
//! again gets the same answer.

use super::{
    DeliveryEngine, answered, auction,
    budgets::{Book, Kept},
    index::{CampaignIndex, LiveAd, LiveCampaign},
    pacing::{self, Budgets},
    slots::ChannelSlots,
};
use crate::{
    entity::{delivery_decision, delivery_slot},
    error::AppError,
    model::{AdCopy, Micros},
    service::{ledger, notifications, settings},
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait, Set};
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError, atomic::Ordering},
};

/// Longest slot id accepted.
pub const MAX_SLOT_ID: usize = 128;
/// Candidates whose budgets are read at a time, highest bids first: many of the best bids may
/// be paced out for the hour, and each further round is a round trip for the whole batch. In
/// `server bench delivery` one round sufficed for all but 3 in 10,000 batches. Measured with
/// 8 (2026-12-03, batches of 12): the read took 1.5 ms instead of 3.5, but slots left with too
/// few fitting candidates read more one at a time while deciding, and batches took as long.
const CHUNK: usize = 32;
/// Most candidates looked at for one slot. Past it the winner found so far pays the floor (or
/// the best runner-up seen), which can only lower its price.
const MAX_LOOKED_AT: usize = 256;

/// A won slot, as the network is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionAnswer {
    pub decision_id: i64,
    pub ad: AdCopy,
    pub ad_version_id: i64,
    pub price_cpm: Micros,
    pub currency: String,
    pub held: Micros,
    pub expires_at: DateTime<Utc>,
}

/// What a slot gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decided {
    Ad(DecisionAnswer),
    /// Nothing won (no candidate fits, or the channel's slots for today are used).
    NoAd,
}

/// Checks a slot id: 1–128 printable characters.
pub fn check_slot_id(slot_id: &str) -> Result<(), AppError> {
    if slot_id.is_empty() || slot_id.chars().count() > MAX_SLOT_ID {
        return Err(AppError::field(
            "slot_id",
            format!("A slot id has 1 to {MAX_SLOT_ID} characters."),
        ));
    }
    if slot_id.chars().any(char::is_control) {
        return Err(AppError::field(
            "slot_id",
            "A slot id has no control characters.",
        ));
    }
    Ok(())
}

/// Decides the slot `slot_id` of the channel `handle` for the network `key_id` at `now`.
/// `NotFound` for an unknown channel; a conflict when the slot id was used for another channel.
pub async fn decide(
    db: &DatabaseConnection,
    engine: &DeliveryEngine,
    key_id: i64,
    handle: &str,
    slot_id: &str,
    now: DateTime<Utc>,
) -> Result<Decided, AppError> {
    // The money write's deadline counts from here, where the slot's time stamp is taken.
    let arrived = std::time::Instant::now();
    check_slot_id(slot_id)?;
    // Times as the database keeps them (microseconds), so a replay answers the same instant.
    let now = chrono::SubsecRound::trunc_subsecs(now, 6);
    // The writer checks the versions once per batch, in its transaction, and sends back the
    // requests ranked on an index older than the database (`Stale`): they are ranked again on
    // the rebuilt one. Here the database is asked only before the first index exists, or for
    // a channel this index does not know (it may have just been added).
    if engine.campaigns().delivery_version == i64::MIN
        || engine.channels().catalog_version == i64::MIN
    {
        engine.refresh(db).await?;
    }
    for attempt in 0..4 {
        if attempt > 0 || engine.channels().by_handle(handle).is_none() {
            engine.refresh(db).await?;
        }
        let request = rank(engine, key_id, handle, slot_id, now, arrived)?;
        let channel_id = request.channel;
        // The engine serves one database: its writer decides on the database of the request
        // that started it.
        let writer_db = db.clone();
        let kept = Arc::clone(&engine.kept);
        let answer = engine
            .decisions
            .submit(request, MAX_BATCH, move |batch| {
                let db = writer_db.clone();
                let kept = Arc::clone(&kept);
                async move { decide_batch(&db, &batch, &kept).await }
            })
            .await?;
        return match answer {
            Answer::Decided(decided) => Ok(decided),
            // Claimed before this request (or earlier in its batch): the answer given then.
            Answer::Claimed => answered::replay(db, key_id, slot_id, channel_id)
                .await?
                .ok_or_else(|| AppError::internal("decide", "a claimed slot has no row")),
            Answer::Stale => continue,
        };
    }
    Err(AppError::TooManyAttempts(crate::error::BUSY.to_owned()))
}

/// The slot with its candidates, best bid first, from this instance's indexes.
fn rank(
    engine: &DeliveryEngine,
    key_id: i64,
    handle: &str,
    slot_id: &str,
    now: DateTime<Utc>,
    arrived: std::time::Instant,
) -> Result<Request, AppError> {
    let channels = engine.channels();
    let channel = channels.by_handle(handle).ok_or(AppError::NotFound)?;
    let index = engine.campaigns();
    let settings = channels
        .settings
        .unwrap_or(crate::service::forecast::index::IndexSettings {
            min_subscribers: i64::MAX,
            slots_per_day: 0,
        });
    let mut ranked: Vec<(u32, u64)> = index
        .candidate_positions(&channel.facts, settings, now)
        .into_iter()
        .map(|i| (i, auction::tie_key(slot_id, index.campaigns[i as usize].id)))
        .collect();
    let bid = |i: u32| index.campaigns[i as usize].bid;
    ranked.sort_unstable_by(|a, b| bid(b.0).cmp(&bid(a.0)).then(a.1.cmp(&b.1)));
    ranked.truncate(MAX_LOOKED_AT);
    Ok(Request {
        key_id,
        slot_id: slot_id.to_owned(),
        channel: channel.facts.id,
        avg_views: channel.facts.avg_views,
        slots_per_day: settings.slots_per_day,
        catalog_version: channels.catalog_version,
        index,
        ranked,
        now,
        arrived,
    })
}

/// Decisions written in one transaction at most (the rest wait for the next).
const MAX_BATCH: usize = 64;

/// A slot waiting for its decision, with everything known before the database is asked.
pub struct Request {
    pub(super) key_id: i64,
    pub(super) slot_id: String,
    channel: i64,
    avg_views: i64,
    slots_per_day: i64,
    /// The catalog version of the channel facts above.
    catalog_version: i64,
    /// The running campaigns as this request saw them.
    index: Arc<CampaignIndex>,
    /// Candidates (positions in `index`) with their tie keys, best bid first.
    ranked: Vec<(u32, u64)>,
    now: DateTime<Utc>,
    /// When `now` was taken: the batch's money write must commit within
    /// `ledger::WRITE_DEADLINE` of its earliest request's.
    arrived: std::time::Instant,
}

impl Request {
    fn candidate(&self, rank: usize) -> &LiveCampaign {
        &self.index.campaigns[self.ranked[rank].0 as usize]
    }
}

/// What a batch tells each of its requests.
pub enum Answer {
    Decided(Decided),
    /// The slot was claimed already: its answer is read back.
    Claimed,
    /// The request was ranked on indexes older than the database's versions: rank again.
    Stale,
}

/// Decides a batch, again from the start (re-reading everything) when a write found that a
/// row had moved since it was read, a few times; one answer per request. On SQLite the first
/// try starts from the money rows the batches before it read and wrote (`kept`).
async fn decide_batch(
    db: &DatabaseConnection,
    batch: &[Request],
    kept: &Mutex<Kept>,
) -> Vec<Result<Answer, AppError>> {
    let started = std::time::Instant::now();
    let first_arrived = batch.iter().map(|r| r.arrived).min().unwrap_or(started);
    let keep = db.get_database_backend() == DbBackend::Sqlite;
    let kept = || kept.lock().unwrap_or_else(PoisonError::into_inner);
    let earliest = batch.iter().map(|r| r.now).min().unwrap_or_else(Utc::now);
    let since = earliest.date_naive() - Duration::days(1);
    let mut look_for_claims = false;
    let mut failure = AppError::TooManyAttempts(crate::error::BUSY.to_owned());
    for attempt in 0..4u64 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(attempt * 3)).await;
        }
        let txn = match ledger::begin_from(db, first_arrived).await {
            Ok(txn) => txn,
            Err(e) => {
                failure = e;
                continue;
            }
        };
        // Read once the transaction holds SQLite's write lock: a change counted before has
        // committed, and one counted after is seen by the next batch.
        let outside = ledger::outside_changes();
        let book = if keep && attempt == 0 {
            kept().take(since, outside)
        } else {
            Book::new(since)
        };
        match decide_in(&txn, batch, look_for_claims, book).await {
            Ok(Some(decided)) => match txn.commit().await {
                Ok(()) => {
                    if keep {
                        kept().keep(decided.book, outside);
                    }
                    tracing::debug!(
                        slots = batch.len(),
                        attempt,
                        micros = started.elapsed().as_micros() as u64,
                        "decision batch written"
                    );
                    for ad in decided.served {
                        ad.served.fetch_add(1, Ordering::Relaxed);
                    }
                    return decided.answers.into_iter().map(Ok).collect();
                }
                Err(e) => failure = e,
            },
            Ok(None) => {
                let _ = txn.rollback().await;
                // Perhaps a slot was claimed meanwhile (claims are the last write).
                look_for_claims = true;
            }
            Err(e) => {
                let _ = txn.rollback().await;
                if !matches!(&e, AppError::TooManyAttempts(m) if m == crate::error::BUSY) {
                    return batch.iter().map(|_| Err(e.clone())).collect();
                }
                failure = e;
            }
        }
    }
    batch.iter().map(|_| Err(failure.clone())).collect()
}

/// A batch decided in its transaction, to be committed.
struct BatchDecided<'a> {
    answers: Vec<Answer>,
    /// The ads served, once each per slot (rotation counters move after the commit).
    served: Vec<&'a LiveAd>,
    /// The money rows as read and as written.
    book: Book,
}

/// A slot won in this batch, before its decision row exists.
struct Win<'a> {
    request: usize,
    campaign: &'a LiveCampaign,
    ad: &'a LiveAd,
    price: Micros,
    cost: Micros,
    budgets: Budgets,
}

/// Decides every request of the batch in order against `book` (empty, or what earlier batches
/// read and wrote), then writes it all. `None` when a write found a row moved since it was
/// read (roll back and decide again).
async fn decide_in<'a>(
    txn: &DatabaseTransaction,
    batch: &'a [Request],
    look_for_claims: bool,
    mut book: Book,
) -> Result<Option<BatchDecided<'a>>, AppError> {
    let clock = std::time::Instant::now();
    // Requests ranked on indexes older than the database's are sent back to be ranked again.
    let (catalog_version, delivery_version) = settings::versions(txn).await?;
    let stale = |r: &Request| {
        r.catalog_version != catalog_version || r.index.delivery_version != delivery_version
    };
    let versions_us = clock.elapsed().as_micros() as u64;
    let claimed = if look_for_claims {
        answered::claimed_slots(txn, batch).await?
    } else {
        HashSet::new()
    };
    let days: HashSet<(i64, chrono::NaiveDate)> = batch
        .iter()
        .map(|r| (r.channel, r.now.date_naive()))
        .collect();
    let claims_us = clock.elapsed().as_micros() as u64;
    let mut slots = ChannelSlots::load(txn, &days).await?;
    let slots_read_us = clock.elapsed().as_micros() as u64;
    let rounds = prefetch(txn, &mut book, batch).await?;
    let read_us = clock.elapsed().as_micros() as u64;
    let mut answers: Vec<Option<Answer>> = Vec::with_capacity(batch.len());
    let mut seen: HashSet<(i64, &str)> = HashSet::new();
    let mut extra_serves: HashMap<i64, u64> = HashMap::new();
    let mut wins: Vec<Win<'a>> = Vec::new();
    for (n, r) in batch.iter().enumerate() {
        if stale(r) {
            answers.push(Some(Answer::Stale));
            continue;
        }
        if claimed.contains(&(r.key_id, r.slot_id.clone()))
            || !seen.insert((r.key_id, r.slot_id.as_str()))
        {
            answers.push(Some(Answer::Claimed));
            continue;
        }
        // The channel's sponsored messages today (UTC): the forecast's capacity model.
        let day = r.now.date_naive();
        if !slots.has_room(r.channel, day, r.slots_per_day) {
            answers.push(Some(Answer::Decided(Decided::NoAd)));
            continue;
        }
        let Some((campaign, price, cost, budgets)) = run_auction(txn, &mut book, r).await? else {
            answers.push(Some(Answer::Decided(Decided::NoAd)));
            continue;
        };
        // Among the winner's ads, the least served first (ties: the oldest ad).
        let Some(ad) = campaign.ads.iter().min_by_key(|a| {
            let served = a.served.load(Ordering::Relaxed);
            (
                served + extra_serves.get(&a.ad_id).copied().unwrap_or(0),
                a.ad_id,
            )
        }) else {
            answers.push(Some(Answer::Decided(Decided::NoAd)));
            continue;
        };
        *extra_serves.entry(ad.ad_id).or_default() += 1;
        slots.take(r.channel, day);
        book.commit(campaign, r.now, cost)?;
        wins.push(Win {
            request: n,
            campaign,
            ad,
            price,
            cost,
            budgets,
        });
        answers.push(None);
    }
    // The writes, in the order every writer takes these rows: channel slots, spend counters,
    // decisions, ledger accounts, slot claims.
    let decided_us = clock.elapsed().as_micros() as u64;
    let limit = batch.iter().map(|r| r.slots_per_day).max().unwrap_or(0);
    if !slots.write(txn, limit).await? {
        return Ok(None);
    }
    let slots_us = clock.elapsed().as_micros() as u64;
    if !book.write(txn).await? {
        return Ok(None);
    }
    let book_us = clock.elapsed().as_micros() as u64;
    // The decisions, in one statement. Each comes back with its id; rows alike in every
    // column are interchangeable, so each win takes the first unclaimed row equal to its own.
    let rows: Vec<delivery_decision::Model> = wins
        .iter()
        .map(|win| {
            let r = &batch[win.request];
            let c = win.campaign;
            delivery_decision::Model {
                id: 0,
                key_id: r.key_id,
                channel_id: r.channel,
                campaign_id: c.id,
                ad_id: win.ad.ad_id,
                ad_version_id: win.ad.version_id,
                account_id: c.account_id,
                currency: c.currency.clone(),
                price_cpm: win.price.0,
                held: win.cost.0,
                posted: 0,
                released: 0,
                views: 0,
                clicks: 0,
                local_day: c.local(r.now).date(),
                created_at: r.now,
                expires_at: r.now + Duration::minutes(Ord::max(r.index.rules.hold_ttl_minutes, 1)),
                settled_at: None,
            }
        })
        .collect();
    let mut written = if rows.is_empty() {
        Vec::new()
    } else {
        delivery_decision::Entity::insert_many(rows.iter().map(|row| {
            let mut model = delivery_decision::ActiveModel::from(row.clone());
            model.id = sea_orm::ActiveValue::NotSet;
            model
        }))
        .exec_with_returning(txn)
        .await?
    };
    let decisions_us = clock.elapsed().as_micros() as u64;
    let mut holds = Vec::with_capacity(wins.len());
    let mut known = HashMap::new();
    let mut decision_ids = Vec::with_capacity(wins.len());
    for (win, row) in wins.iter().zip(&rows) {
        let c = win.campaign;
        let at = written
            .iter()
            .position(|w| delivery_decision::Model { id: 0, ..w.clone() } == *row)
            .ok_or_else(|| AppError::internal("decide", "a decision came back changed"))?;
        let decision = written.swap_remove(at);
        decision_ids.push(decision.id);
        holds.push(ledger::hold_transfer(
            c.account_id,
            c.id,
            &c.currency,
            win.cost,
            decision.id,
        ));
        if let Some(id) = win.budgets.balance_account {
            known.insert(
                (ledger::Side::balance(c.account_id), c.currency.clone()),
                id,
            );
        }
        if let Some(id) = win.budgets.holds_account {
            known.insert((ledger::Side::holds(c.id), c.currency.clone()), id);
        }
        answers[win.request] = Some(Answer::Decided(Decided::Ad(DecisionAnswer {
            decision_id: decision.id,
            ad: (*win.ad.copy).clone(),
            ad_version_id: win.ad.version_id,
            price_cpm: win.price,
            currency: c.currency.clone(),
            held: win.cost,
            expires_at: decision.expires_at,
        })));
    }
    let now = batch.iter().map(|r| r.now).max().unwrap_or_else(Utc::now);
    if !ledger::hold_many(txn, &holds, &known, now).await? {
        return Ok(None);
    }
    let holds_us = clock.elapsed().as_micros() as u64;
    for win in &wins {
        let r = &batch[win.request];
        warn_about_balance(
            txn,
            win.campaign,
            &win.budgets,
            win.cost,
            r.index.rules.floor,
            r.now,
        )
        .await?;
    }
    // Claim every slot decided now with its answer, last (a claim that conflicts means another
    // request got there first: decide again, and that slot replays).
    let mut wins_by_request: HashMap<usize, i64> = HashMap::new();
    for (win, id) in wins.iter().zip(&decision_ids) {
        wins_by_request.insert(win.request, *id);
    }
    // In key order, so two instances claiming the same slots cannot deadlock on them.
    let mut decided: Vec<(usize, &Request)> = batch
        .iter()
        .enumerate()
        .filter(|(n, _)| !matches!(answers[*n], Some(Answer::Claimed | Answer::Stale)))
        .collect();
    decided.sort_by(|a, b| (a.1.key_id, &a.1.slot_id).cmp(&(b.1.key_id, &b.1.slot_id)));
    let claims: Vec<delivery_slot::ActiveModel> = decided
        .into_iter()
        .map(|(n, r)| delivery_slot::ActiveModel {
            key_id: Set(r.key_id),
            slot_id: Set(r.slot_id.clone()),
            channel_id: Set(r.channel),
            decision_id: Set(wins_by_request.get(&n).copied()),
            created_at: Set(r.now),
        })
        .collect();
    if !claims.is_empty() {
        let n = claims.len() as u64;
        let claimed = delivery_slot::Entity::insert_many(claims)
            .on_conflict_do_nothing_on([
                delivery_slot::Column::KeyId,
                delivery_slot::Column::SlotId,
            ])
            .exec_without_returning(txn)
            .await?;
        if !matches!(claimed, sea_orm::TryInsertResult::Inserted(done) if done == n) {
            return Ok(None);
        }
    }
    tracing::debug!(
        versions_us,
        claims_us,
        slots_read_us,
        read_us,
        rounds,
        decided_us,
        slots_us,
        book_us,
        decisions_us,
        holds_us,
        written_us = clock.elapsed().as_micros() as u64,
        "decision batch decided"
    );
    let answers = answers
        .into_iter()
        .map(|a| a.ok_or_else(|| AppError::internal("decide", "a slot was left undecided")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(BatchDecided {
        answers,
        served: wins.iter().map(|w| w.ad).collect(),
        book,
    }))
}

/// The auction for one slot: the winner and its price among the candidates that can hold the
/// slot's whole expected cost, reading further candidates' budgets (a chunk at a time, best
/// bids first) until two fit. `None` when none does.
async fn run_auction<'a>(
    txn: &DatabaseTransaction,
    book: &mut Book,
    r: &'a Request,
) -> Result<Option<(&'a LiveCampaign, Micros, Micros, Budgets)>, AppError> {
    let mut eligible: Vec<(usize, Budgets)> = Vec::new();
    for start in (0..r.ranked.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(r.ranked.len());
        book.load(txn, (start..end).map(|i| r.candidate(i))).await?;
        for i in start..end {
            let c = r.candidate(i);
            let Some(b) = book.budgets(c, r.now) else {
                continue;
            };
            if fits(r, c, &b) {
                eligible.push((i, b));
            }
        }
        if eligible.len() >= 2 {
            break;
        }
    }
    let bids: Vec<auction::Bid> = eligible
        .iter()
        .map(|&(i, _)| auction::Bid {
            candidate: i,
            bid: r.candidate(i).bid,
            tie: r.ranked[i].1,
        })
        .collect();
    let Some(won) = auction::run(&bids, r.index.rules.floor) else {
        return Ok(None);
    };
    let Some(cost) = pacing::expected_cost(r.avg_views, won.price) else {
        return Ok(None);
    };
    Ok(eligible
        .iter()
        .find(|(i, _)| *i == won.candidate)
        .map(|(_, b)| (r.candidate(won.candidate), won.price, cost, *b)))
}

/// Whether candidate `c` of `r`, with budgets `b`, can hold the slot's whole expected cost at
/// its own bid (the most it could pay).
fn fits(r: &Request, c: &LiveCampaign, b: &Budgets) -> bool {
    pacing::expected_cost(r.avg_views, c.bid).is_some_and(|cost| pacing::admits(b, cost).is_ok())
}

/// Reads the budgets the batch's auctions will need, a chunk of candidates per request at a
/// time but one query for all requests per round, until each request has two candidates that
/// fit (as things stand before the batch) or none left. Slots won earlier in the batch may
/// make a request look further; [`run_auction`] reads those then.
async fn prefetch(
    txn: &DatabaseTransaction,
    book: &mut Book,
    batch: &[Request],
) -> Result<usize, AppError> {
    let mut read = vec![0usize; batch.len()];
    for round in 0.. {
        let mut wanted: Vec<&LiveCampaign> = Vec::new();
        for (n, r) in batch.iter().enumerate() {
            let fitting = (0..read[n])
                .filter(|&i| {
                    let c = r.candidate(i);
                    book.budgets(c, r.now).is_some_and(|b| fits(r, c, &b))
                })
                .count();
            if fitting >= 2 || read[n] >= r.ranked.len() {
                continue;
            }
            let end = (read[n] + CHUNK).min(r.ranked.len());
            wanted.extend((read[n]..end).map(|i| r.candidate(i)));
            read[n] = end;
        }
        if wanted.is_empty() {
            return Ok(round);
        }
        book.load(txn, wanted).await?;
    }
    Ok(usize::MAX)
}

/// Tells the account's billing members when this hold took the balance below the owner's
/// threshold, or below what a thousand views cost at the minimum price (out of funds).
async fn warn_about_balance(
    txn: &DatabaseTransaction,
    c: &LiveCampaign,
    budget: &Budgets,
    cost: Micros,
    floor: Micros,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let before = budget.balance;
    let after = Micros(before.0 - cost.0);
    let crossed = |line: Micros| before >= line && after < line;
    let (kind, title) = if crossed(floor) {
        (
            "out_of_funds",
            "Out of funds: campaigns have stopped delivering",
        )
    } else {
        match budget.low_balance {
            Some(t) if crossed(t) => ("balance_low", "Your balance is running low"),
            _ => return Ok(()),
        }
    };
    let body = format!(
        "The available balance is {}. Add funds by bank transfer with the account's payment \
         reference (Balance & billing); campaigns resume on their own after a top-up.",
        after.display(&c.currency)
    );
    notifications::notify_account(
        txn,
        c.account_id,
        kind,
        title,
        &body,
        "/balance#add-funds",
        now,
    )
    .await
}
