//! Everything a batch needs, read once under its locks. Lock order everywhere: the campaigns'
//! spend counters (by campaign id), the platform revenue account of each currency, the
//! decisions (by id), then the other ledger accounts (by id) — so concurrent batches,
//! decisions and sweeps on PostgreSQL queue instead of deadlocking (SQLite serializes writers
//! anyway).

use super::{Counted, EventInput};
use crate::{
    entity::{ad_account, campaign, delivery_decision, delivery_event},
    error::AppError,
    service::{
        ledger,
        sql::{Sql, for_update},
    },
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::{BTreeSet, HashMap};

pub struct Read {
    /// The decisions of this key that the batch names, by id.
    pub decisions: HashMap<i64, delivery_decision::Model>,
    /// Per campaign of those: its total budget less what it has posted (never below zero).
    pub headroom: HashMap<i64, i64>,
    /// Per account of those: its time zone.
    pub zones: HashMap<i64, Tz>,
    /// Events of this key counted before, by event id.
    pub earlier: HashMap<String, Counted>,
}

pub async fn read(
    txn: &impl ConnectionTrait,
    key_id: i64,
    events: &[&EventInput],
    now: DateTime<Utc>,
) -> Result<Read, AppError> {
    let ids: BTreeSet<i64> = events.iter().map(|e| e.decision_id).collect();
    let heads: Vec<(i64, String)> = delivery_decision::Entity::find()
        .select_only()
        .column(delivery_decision::Column::CampaignId)
        .column(delivery_decision::Column::Currency)
        .filter(delivery_decision::Column::Id.is_in(ids.iter().copied()))
        .filter(delivery_decision::Column::KeyId.eq(key_id))
        .into_tuple()
        .all(txn)
        .await?;
    let campaigns: BTreeSet<i64> = heads.iter().map(|(c, _)| *c).collect();
    let currencies: BTreeSet<&String> = heads.iter().map(|(_, c)| c).collect();
    let posted = lock_spend(txn, &campaigns).await?;
    for currency in currencies {
        ledger::lock(txn, ledger::Side::revenue(), currency, now).await?;
    }
    let decisions: HashMap<i64, delivery_decision::Model> = delivery_decision::Entity::find()
        .filter(delivery_decision::Column::Id.is_in(ids.iter().copied()))
        .filter(delivery_decision::Column::KeyId.eq(key_id))
        .order_by_asc(delivery_decision::Column::Id)
        .lock_exclusive()
        .all(txn)
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let totals: Vec<(i64, i64)> = campaign::Entity::find()
        .select_only()
        .column(campaign::Column::Id)
        .column(campaign::Column::TotalBudgetMicros)
        .filter(campaign::Column::Id.is_in(campaigns.iter().copied()))
        .into_tuple()
        .all(txn)
        .await?;
    let headroom = totals
        .into_iter()
        .map(|(id, total)| {
            let posted = posted.get(&id).copied().unwrap_or(0);
            (id, Ord::max(total - posted, 0))
        })
        .collect();
    let accounts: BTreeSet<i64> = decisions.values().map(|d| d.account_id).collect();
    let zones: Vec<(i64, String)> = ad_account::Entity::find()
        .select_only()
        .column(ad_account::Column::Id)
        .column(ad_account::Column::TimeZone)
        .filter(ad_account::Column::Id.is_in(accounts))
        .into_tuple()
        .all(txn)
        .await?;
    let earlier = delivery_event::Entity::find()
        .filter(delivery_event::Column::KeyId.eq(key_id))
        .filter(delivery_event::Column::EventId.is_in(events.iter().map(|e| e.event_id.as_str())))
        .all(txn)
        .await?
        .into_iter()
        .map(|e| {
            let counted = Counted {
                decision_id: e.decision_id,
                views: e.views,
                clicks: e.clicks,
                at: e.at,
                posted: e.posted,
                day: e.day,
            };
            (e.event_id, counted)
        })
        .collect();
    Ok(Read {
        decisions,
        headroom,
        // Zones come from a fixed list; an unknown one would be a data error.
        zones: zones
            .into_iter()
            .map(|(id, zone)| (id, zone.parse().unwrap_or(Tz::UTC)))
            .collect(),
        earlier,
    })
}

/// Locks the campaigns' spend counters in id order; returns what each has posted.
async fn lock_spend(
    txn: &impl ConnectionTrait,
    campaigns: &BTreeSet<i64>,
) -> Result<HashMap<i64, i64>, AppError> {
    if campaigns.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = txn.get_database_backend();
    let mut sql = Sql::new();
    let ids: Vec<String> = campaigns.iter().map(|c| sql.bind(*c)).collect();
    sql.text = format!(
        "SELECT campaign_id, posted FROM campaign_spend WHERE campaign_id IN ({}) \
         ORDER BY campaign_id{}",
        ids.join(", "),
        for_update(backend)
    );
    let mut out = HashMap::with_capacity(campaigns.len());
    for row in txn.query_all_raw(sql.build(backend)).await? {
        out.insert(
            row.try_get_by_index::<i64>(0)?,
            row.try_get_by_index::<i64>(1)?,
        );
    }
    Ok(out)
}
