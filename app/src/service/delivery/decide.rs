//! One decision: a channel's new post needs an ad. Candidates come from memory; their budgets
//! are read for the few that matter (highest bids first); the second-price auction picks the
//! winner among those that can hold the slot's whole expected cost; and before answering, one
//! transaction claims the slot, counts it against the channel's daily slots, commits the cost
//! against the campaign's total and daily budgets (conditional UPDATEs, so concurrent
//! decisions can never overspend), and holds it in the ledger. The same slot asked again gets
//! the same answer.

use super::{
    DeliveryEngine, auction,
    budgets::{budgets, commit_budgets},
    index::{LiveAd, LiveCampaign},
    pacing::{self, Budgets},
};
use crate::{
    entity::{ad_version, delivery_decision, delivery_slot},
    error::AppError,
    model::{AccountPermission, AdCopy, Micros},
    service::{ledger, notifications, sql::Sql},
};
use chrono::{DateTime, Duration, Timelike, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, Set,
};
use std::sync::atomic::Ordering;

/// Longest slot id accepted.
pub const MAX_SLOT_ID: usize = 128;
/// Candidates whose budgets are read at a time, highest bids first.
const CHUNK: usize = 8;
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
    check_slot_id(slot_id)?;
    // Times as the database keeps them (microseconds), so a replay answers the same instant.
    let now = chrono::SubsecRound::trunc_subsecs(now, 6);
    engine.refresh(db).await?;
    let channels = engine.channels();
    let channel = channels.by_handle(handle).ok_or(AppError::NotFound)?;
    let facts = &channel.facts;
    // A slot asked again is found when its claim conflicts (the claim is the transaction's
    // last statement, and rolled back then): no read for it on the way of every new slot.
    let index = engine.campaigns();
    let settings = channels
        .settings
        .unwrap_or(crate::service::forecast::index::IndexSettings {
            min_subscribers: i64::MAX,
            slots_per_day: 0,
        });
    let mut ranked: Vec<(&LiveCampaign, u64)> = index
        .candidates(facts, settings, now)
        .into_iter()
        .map(|c| (c, auction::tie_key(slot_id, c.id)))
        .collect();
    ranked.sort_unstable_by(|a, b| b.0.bid.cmp(&a.0.bid).then(a.1.cmp(&b.1)));
    ranked.truncate(MAX_LOOKED_AT);
    for _attempt in 0..4 {
        let txn = ledger::begin(db).await?;
        match attempt(
            &txn,
            &index.rules,
            &ranked,
            facts,
            settings.slots_per_day,
            key_id,
            slot_id,
            now,
        )
        .await
        {
            Ok(Step::Done(decided, ad)) => {
                txn.commit().await?;
                if let Some(ad) = ad {
                    ad.served.fetch_add(1, Ordering::Relaxed);
                }
                return Ok(decided);
            }
            Ok(Step::Replay) => {
                let _ = txn.rollback().await;
                return replay(db, key_id, slot_id, facts.id)
                    .await?
                    .ok_or_else(|| AppError::internal("decide", "a claimed slot has no row"));
            }
            Ok(Step::Race) => {
                let _ = txn.rollback().await;
                // The slot may have been answered meanwhile (it is claimed last).
                if let Some(answer) = replay(db, key_id, slot_id, facts.id).await? {
                    return Ok(answer);
                }
            }
            Err(AppError::TooManyAttempts(m)) if m == crate::error::BUSY => {
                let _ = txn.rollback().await;
            }
            Err(e) => {
                let _ = txn.rollback().await;
                return Err(e);
            }
        }
    }
    Err(AppError::TooManyAttempts(crate::error::BUSY.to_owned()))
}

enum Step<'a> {
    Done(Decided, Option<&'a LiveAd>),
    /// Another request claimed the slot first.
    Replay,
    /// A budget moved between reading it and committing against it: decide again.
    Race,
}

/// Decides, then claims the slot with the answer (one row, written last so an answer costs
/// one statement for it): a slot another request claimed meanwhile is a [`Step::Replay`], and
/// the caller rolls this attempt back.
#[expect(clippy::too_many_arguments, reason = "one slot is all of these facts")]
async fn attempt<'a>(
    txn: &DatabaseTransaction,
    rules: &super::index::DeliveryRules,
    ranked: &[(&'a LiveCampaign, u64)],
    facts: &crate::service::forecast::index::IndexedChannel,
    slots_per_day: i64,
    key_id: i64,
    slot_id: &str,
    now: DateTime<Utc>,
) -> Result<Step<'a>, AppError> {
    let step = run_auction(txn, rules, ranked, facts, slots_per_day, key_id, now).await?;
    let Step::Done(decided, _) = &step else {
        return Ok(step);
    };
    let decision_id = match decided {
        Decided::Ad(a) => Some(a.decision_id),
        Decided::NoAd => None,
    };
    let claimed = delivery_slot::Entity::insert(delivery_slot::ActiveModel {
        key_id: Set(key_id),
        slot_id: Set(slot_id.to_owned()),
        channel_id: Set(facts.id),
        decision_id: Set(decision_id),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([delivery_slot::Column::KeyId, delivery_slot::Column::SlotId])
    .exec_without_returning(txn)
    .await?;
    Ok(match claimed {
        sea_orm::TryInsertResult::Inserted(1) => step,
        _ => Step::Replay,
    })
}

/// The auction and its commitments: the winner among the candidates that can hold the whole
/// slot, the channel's daily slot, the budgets and the ledger hold.
async fn run_auction<'a>(
    txn: &DatabaseTransaction,
    rules: &super::index::DeliveryRules,
    ranked: &[(&'a LiveCampaign, u64)],
    facts: &crate::service::forecast::index::IndexedChannel,
    slots_per_day: i64,
    key_id: i64,
    now: DateTime<Utc>,
) -> Result<Step<'a>, AppError> {
    // Find the winner and the runner-up among the candidates that can hold the whole slot.
    let mut eligible: Vec<(usize, Budgets)> = Vec::new();
    for (start, chunk) in ranked.chunks(CHUNK).enumerate() {
        let states = budgets(txn, chunk.iter().map(|(c, _)| *c), now).await?;
        for (offset, (c, _)) in chunk.iter().enumerate() {
            let Some(b) = states.get(&c.id) else { continue };
            let fits = pacing::expected_cost(facts.avg_views, c.bid)
                .is_some_and(|cost| pacing::admits(b, cost).is_ok());
            if fits {
                eligible.push((start * CHUNK + offset, *b));
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
            bid: ranked[i].0.bid,
            tie: ranked[i].1,
        })
        .collect();
    let Some(won) = auction::run(&bids, rules.floor) else {
        return Ok(Step::Done(Decided::NoAd, None));
    };
    let winner = ranked[won.candidate].0;
    let Some(cost) = pacing::expected_cost(facts.avg_views, won.price) else {
        return Ok(Step::Done(Decided::NoAd, None));
    };
    let Some(budget) = eligible
        .iter()
        .find(|(i, _)| *i == won.candidate)
        .map(|(_, b)| *b)
    else {
        return Ok(Step::Done(Decided::NoAd, None));
    };
    // The channel's sponsored messages today (UTC): the forecast's capacity model.
    let day = now.date_naive();
    let mut sql = Sql::new();
    let (channel, day, limit) = (sql.bind(facts.id), sql.bind(day), sql.bind(slots_per_day));
    sql.text = format!(
        "INSERT INTO channel_day_slots (channel_id, day, used) \
         SELECT {channel}, {day}, 1 WHERE 1 <= {limit} \
         ON CONFLICT (channel_id, day) DO UPDATE SET used = channel_day_slots.used + 1 \
         WHERE channel_day_slots.used < {limit}"
    );
    let backend = txn.get_database_backend();
    if txn.execute_raw(sql.build(backend)).await?.rows_affected() != 1 {
        return Ok(Step::Done(Decided::NoAd, None));
    }
    let local = winner.local(now);
    if !commit_budgets(
        txn,
        winner,
        local.date(),
        local.hour() as i32,
        budget.hours_left,
        cost,
    )
    .await?
    {
        return Ok(Step::Race);
    }
    let Some(ad) = winner
        .ads
        .iter()
        .min_by_key(|a| (a.served.load(Ordering::Relaxed), a.ad_id))
    else {
        return Ok(Step::Race);
    };
    let expires_at = now + Duration::minutes(Ord::max(rules.hold_ttl_minutes, 1));
    let decision = delivery_decision::ActiveModel {
        key_id: Set(key_id),
        channel_id: Set(facts.id),
        campaign_id: Set(winner.id),
        ad_id: Set(ad.ad_id),
        ad_version_id: Set(ad.version_id),
        account_id: Set(winner.account_id),
        currency: Set(winner.currency.clone()),
        price_cpm: Set(won.price.0),
        held: Set(cost.0),
        posted: Set(0),
        released: Set(0),
        views: Set(0),
        clicks: Set(0),
        local_day: Set(local.date()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        settled_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    match ledger::hold(
        txn,
        winner.account_id,
        winner.id,
        &winner.currency,
        cost,
        decision.id,
        budget.balance_account.zip(budget.holds_account),
        now,
    )
    .await?
    {
        ledger::Outcome::Applied(_) => {}
        ledger::Outcome::Insufficient => return Ok(Step::Race),
        ledger::Outcome::Replayed(_) => {
            return Err(AppError::internal(
                "decide",
                "a new decision's hold already existed",
            ));
        }
    }
    warn_about_balance(txn, winner, &budget, cost, rules.floor, now).await?;
    Ok(Step::Done(
        Decided::Ad(DecisionAnswer {
            decision_id: decision.id,
            ad: (*ad.copy).clone(),
            ad_version_id: ad.version_id,
            price_cpm: won.price,
            currency: winner.currency.clone(),
            held: cost,
            expires_at,
        }),
        Some(ad),
    ))
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
        "The available balance is {}. Campaigns resume on their own after a top-up.",
        after.display(&c.currency)
    );
    notifications::notify_members(
        txn,
        c.account_id,
        AccountPermission::ViewBilling,
        kind,
        title,
        &body,
        "/balance",
        now,
    )
    .await
}

/// The answer already given to (`key_id`, `slot_id`), if any. A slot id used for another
/// channel is a conflict.
async fn replay(
    db: &impl ConnectionTrait,
    key_id: i64,
    slot_id: &str,
    channel_id: i64,
) -> Result<Option<Decided>, AppError> {
    let Some(slot) = delivery_slot::Entity::find_by_id((key_id, slot_id.to_owned()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if slot.channel_id != channel_id {
        return Err(AppError::Conflict(
            "This slot id was already used for another channel.".into(),
        ));
    }
    let Some(decision_id) = slot.decision_id else {
        return Ok(Some(Decided::NoAd));
    };
    let decision = delivery_decision::Entity::find_by_id(decision_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("decide", "a slot names a missing decision"))?;
    let version = ad_version::Entity::find_by_id(decision.ad_version_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("decide", "a decision names a missing version"))?;
    Ok(Some(Decided::Ad(DecisionAnswer {
        decision_id,
        ad: version.copy(),
        ad_version_id: version.id,
        price_cpm: Micros(decision.price_cpm),
        currency: decision.currency,
        held: Micros(decision.held),
        expires_at: decision.expires_at,
    })))
}
