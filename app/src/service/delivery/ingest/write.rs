//! A batch's writes, one statement each (split into chunks of [`CHUNK`] rows): the accepted
//! events, the decisions' counts, the campaigns' spend counters, the ledger charges (one per
//! decision: the sum of its events' charges) and the rollups (`reports::rollup`).

use super::Batch;
use crate::{
    entity::{delivery_decision, delivery_event},
    error::{AppError, BUSY},
    service::{
        ledger::{self, Charge},
        reports,
        sql::Sql,
    },
};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, Set, TryInsertResult};
use std::collections::BTreeMap;

/// Rows per multi-row statement (well under either database's limit on bound values).
const CHUNK: usize = 500;

/// A concurrent writer got in between: the batch starts again from its reads.
fn busy() -> AppError {
    AppError::TooManyAttempts(BUSY.to_owned())
}

pub async fn write(
    txn: &impl ConnectionTrait,
    key_id: i64,
    batch: &Batch,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if batch.accepted.is_empty() {
        return Ok(());
    }
    insert_events(txn, key_id, batch, now).await?;
    // The decisions this batch counted on, in id order.
    let mut changed: Vec<(i64, &delivery_decision::Model)> = batch
        .after
        .iter()
        .filter(|(id, d)| {
            batch
                .before
                .get(id)
                .is_some_and(|b| (b.views, b.clicks, b.posted) != (d.views, d.clicks, d.posted))
        })
        .map(|(id, d)| (*id, d))
        .collect();
    changed.sort_unstable_by_key(|(id, _)| *id);
    let backend = txn.get_database_backend();
    for chunk in changed.chunks(CHUNK) {
        let mut sql = Sql::new();
        let values = sql.tuples(chunk.iter().map(|(id, d)| {
            let b = &batch.before[id];
            [
                *id, d.views, d.clicks, d.posted, b.views, b.posted, b.released,
            ]
        }));
        // Guarded by what was read: a change behind the locks would start the batch again.
        sql.text = format!(
            "WITH m(id, views, clicks, posted, views_before, posted_before, released_before) \
             AS (VALUES {values}) \
             UPDATE delivery_decision SET views = m.views, clicks = m.clicks, posted = m.posted \
             FROM m WHERE delivery_decision.id = m.id \
             AND delivery_decision.views = m.views_before \
             AND delivery_decision.posted = m.posted_before \
             AND delivery_decision.released = m.released_before"
        );
        if txn.execute_raw(sql.build(backend)).await?.rows_affected() != chunk.len() as u64 {
            return Err(busy());
        }
    }
    // Charges per decision, and per campaign for its spend counter.
    let mut charges = Vec::new();
    let mut spend: BTreeMap<i64, i64> = BTreeMap::new();
    for (id, d) in &changed {
        let amount = d.posted - batch.before[id].posted;
        if amount > 0 {
            *spend.entry(d.campaign_id).or_insert(0) += amount;
            charges.push(Charge {
                campaign: d.campaign_id,
                channel: d.channel_id,
                currency: d.currency.clone(),
                amount: crate::model::Micros(amount),
                publisher: crate::model::Micros(batch.publisher.get(id).copied().unwrap_or(0)),
                decision: *id,
                posted_after: d.posted,
            });
        }
    }
    let spend: Vec<(i64, i64)> = spend.into_iter().collect();
    for chunk in spend.chunks(CHUNK) {
        let mut sql = Sql::new();
        let values = sql.tuples(chunk.iter().map(|(campaign, amount)| [*campaign, *amount]));
        sql.text = format!(
            "WITH m(id, posted) AS (VALUES {values}) \
             UPDATE campaign_spend SET posted = campaign_spend.posted + m.posted \
             FROM m WHERE campaign_spend.campaign_id = m.id"
        );
        if txn.execute_raw(sql.build(backend)).await?.rows_affected() != chunk.len() as u64 {
            return Err(AppError::internal(
                "ingest",
                "a charged campaign has no spend counter",
            ));
        }
    }
    ledger::post_many(txn, &charges, now).await?;
    Ok(reports::rollup::add(txn, &batch.rollups).await?)
}

async fn insert_events(
    txn: &impl ConnectionTrait,
    key_id: i64,
    batch: &Batch,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    // In event-id order: two batches sharing ids insert them in one order (no deadlock on
    // the unique index).
    let mut accepted: Vec<&(String, super::Counted)> = batch.accepted.iter().collect();
    accepted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let rows: Vec<delivery_event::ActiveModel> = accepted
        .into_iter()
        .map(|(event_id, e)| delivery_event::ActiveModel {
            key_id: Set(key_id),
            event_id: Set(event_id.clone()),
            decision_id: Set(e.decision_id),
            views: Set(e.views),
            clicks: Set(e.clicks),
            at: Set(e.at),
            posted: Set(e.posted),
            day: Set(e.day),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        let inserted = delivery_event::Entity::insert_many(chunk.to_vec())
            .on_conflict_do_nothing_on([
                delivery_event::Column::KeyId,
                delivery_event::Column::EventId,
            ])
            .exec_without_returning(txn)
            .await?;
        // An id sent twice at once: the other copy was counted, and the retry replays it.
        if !matches!(inserted, TryInsertResult::Inserted(n) if n == chunk.len() as u64) {
            return Err(busy());
        }
    }
    Ok(())
}
