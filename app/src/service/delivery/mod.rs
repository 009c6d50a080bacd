//! Delivery: which ad a channel's new post carries, what it costs, and what was seen.
//!
//! - [`DeliveryEngine`] keeps the in-memory candidate index ([`index`]) in step with the
//!   database: every batch of decisions reads the catalog and delivery versions in its
//!   transaction (one small query), and a slot ranked on an older index is ranked again after
//!   a rebuild, so every instance serves what the database says, at once.
//! - [`decide`] runs the auction ([`auction`]) over the candidates that fit their budgets
//!   ([`pacing`]) and holds the slot's expected cost in the ledger before answering; slots
//!   that arrive together are decided in one transaction ([`batch`]).
//! - [`ingest`] posts view and click increments against their decision's hold.
//! - [`sweep`] releases what expired holds did not use, exactly once across instances.

mod answered;
pub mod auction;
pub mod batch;
pub mod budgets;
pub mod decide;
pub mod index;
pub mod ingest;
pub mod keys;
pub mod pacing;
pub mod slots;
pub mod state;
pub mod sweep;

pub use decide::{Decided, DecisionAnswer, decide};
pub use ingest::{EventInput, EventResult, ingest};

use crate::{
    entity::{ad, ad_account, ad_version, campaign, channel, topic},
    error::AppError,
    model::{AdCopy, AdVersionStatus, CampaignStatus, Micros, Schedule, Targeting},
    service::{
        catalog,
        forecast::index::{IndexSettings, IndexedChannel},
        settings,
    },
};
use index::{CampaignIndex, ChannelStore, LiveAd, LiveCampaign};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    TransactionTrait,
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock, atomic::AtomicU64},
};

/// What an instance serves from memory, for one database. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct DeliveryEngine {
    channels: Arc<RwLock<Arc<ChannelStore>>>,
    campaigns: Arc<RwLock<Arc<CampaignIndex>>>,
    rebuilding: Arc<tokio::sync::Mutex<()>>,
    /// Per-ad serve counters, kept across rebuilds.
    served: Arc<Mutex<HashMap<i64, Arc<AtomicU64>>>>,
    /// Slots waiting to be decided together (group commit).
    decisions: Arc<batch::Batcher<decide::Request, decide::Answer>>,
    /// The money rows the decision writer read and wrote, for its next batch.
    kept: Arc<Mutex<budgets::Kept>>,
}

fn read<T>(lock: &RwLock<Arc<T>>) -> Arc<T> {
    match lock.read() {
        Ok(guard) => Arc::clone(&guard),
        Err(poisoned) => Arc::clone(&poisoned.into_inner()),
    }
}

fn write<T>(lock: &RwLock<Arc<T>>, value: T) {
    match lock.write() {
        Ok(mut guard) => *guard = Arc::new(value),
        Err(poisoned) => *poisoned.into_inner() = Arc::new(value),
    }
}

impl DeliveryEngine {
    /// The channels this instance knows.
    pub fn channels(&self) -> Arc<ChannelStore> {
        read(&self.channels)
    }

    /// The running campaigns this instance serves.
    pub fn campaigns(&self) -> Arc<CampaignIndex> {
        read(&self.campaigns)
    }

    /// Rebuilds whatever the database's versions say has changed since the last build (the
    /// catalog, or campaigns, ads, accounts and settings). One small query when nothing has.
    pub async fn refresh(&self, db: &DatabaseConnection) -> Result<(), AppError> {
        self.refresh_checking(db, db).await
    }

    /// [`Self::refresh`], reading what changed from `db` but asking `check` for the versions
    /// (a page's read connection, which it holds anyway).
    pub async fn refresh_checking(
        &self,
        db: &DatabaseConnection,
        check: &impl ConnectionTrait,
    ) -> Result<(), AppError> {
        let (catalog_version, delivery_version) = settings::versions(check).await?;
        if self.channels().catalog_version == catalog_version
            && self.campaigns().delivery_version == delivery_version
        {
            return Ok(());
        }
        let _one_at_a_time = self.rebuilding.lock().await;
        if self.channels().catalog_version != catalog_version {
            let store = load_channels(db).await?;
            write(&self.channels, store);
        }
        if self.campaigns().delivery_version != delivery_version {
            let index = self.load_campaigns(db).await?;
            write(&self.campaigns, index);
        }
        Ok(())
    }

    fn counter(&self, ad_id: i64) -> Arc<AtomicU64> {
        let mut served = match self.served.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        Arc::clone(served.entry(ad_id).or_default())
    }

    /// Reads the running campaigns with their live ads (one snapshot) and indexes them.
    async fn load_campaigns(&self, db: &DatabaseConnection) -> Result<CampaignIndex, AppError> {
        let txn = db.begin().await?;
        let platform = settings::load(&txn).await?;
        let running = campaign::Entity::find()
            .filter(campaign::Column::Status.eq(CampaignStatus::Running))
            .all(&txn)
            .await?;
        let ids: Vec<i64> = running.iter().map(|c| c.id).collect();
        let mut ads: HashMap<i64, Vec<LiveAd>> = HashMap::new();
        for chunk in ids.chunks(500) {
            let live_ads = ad::Entity::find()
                .filter(ad::Column::CampaignId.is_in(chunk.to_vec()))
                .filter(ad::Column::Paused.eq(false))
                .filter(ad::Column::LiveVersionId.is_not_null())
                .all(&txn)
                .await?;
            let mut versions: HashMap<i64, ad_version::Model> = ad_version::Entity::find()
                .filter(
                    ad_version::Column::Id.is_in(
                        live_ads
                            .iter()
                            .filter_map(|a| a.live_version_id)
                            .collect::<Vec<_>>(),
                    ),
                )
                .filter(ad_version::Column::Status.eq(AdVersionStatus::Approved))
                .all(&txn)
                .await?
                .into_iter()
                .map(|v| (v.id, v))
                .collect();
            for a in live_ads {
                let Some(v) = a.live_version_id.and_then(|id| versions.remove(&id)) else {
                    continue;
                };
                ads.entry(a.campaign_id).or_default().push(LiveAd {
                    ad_id: a.id,
                    version_id: v.id,
                    copy: Arc::new(AdCopy {
                        text: v.text,
                        button_label: v.button_label,
                        destination_url: v.destination_url,
                    }),
                    served: self.counter(a.id),
                });
            }
        }
        let accounts: HashMap<i64, ad_account::Model> = ad_account::Entity::find()
            .filter(
                ad_account::Column::Id
                    .is_in(running.iter().map(|c| c.account_id).collect::<Vec<_>>()),
            )
            .all(&txn)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        txn.commit().await?;
        let live = running
            .into_iter()
            .filter_map(|c| {
                let mut ads = ads.remove(&c.id)?;
                ads.sort_by_key(|a| a.ad_id);
                let account = accounts.get(&c.account_id)?;
                let targeting: Targeting = serde_json::from_str(&c.targeting).ok()?;
                let schedule: Option<Schedule> = c
                    .schedule
                    .as_deref()
                    .and_then(|s| serde_json::from_str(s).ok());
                Some(LiveCampaign {
                    id: c.id,
                    account_id: c.account_id,
                    currency: account.currency.clone(),
                    tz: account.time_zone.parse().unwrap_or(chrono_tz::Tz::UTC),
                    bid: Micros(c.bid_micros),
                    total_budget: Micros(c.total_budget_micros),
                    daily_budget: c.daily_budget_micros.map(Micros),
                    start_at: c.start_at,
                    end_at: c.end_at,
                    schedule,
                    targeting: targeting.normalized(),
                    ads,
                })
            })
            .collect();
        let rules = index::DeliveryRules {
            floor: platform.money.min_cpm,
            publisher_share_bp: platform.publisher_share_bp,
            hold_ttl_minutes: platform.hold_ttl_minutes,
            min_total_budget: platform.money.min_total_budget,
        };
        Ok(CampaignIndex::build(platform.delivery_version, rules, live))
    }
}

/// id, handle, topic id, language, subscribers, average views, posts per day, status.
type ChannelRow = (i64, String, i64, String, i64, i64, f64, String);

/// Reads every channel with its topic slug (one snapshot) and indexes them by handle.
async fn load_channels(db: &DatabaseConnection) -> Result<ChannelStore, AppError> {
    let txn = db.begin().await?;
    let platform = settings::load(&txn).await?;
    let topics: HashMap<i64, String> = topic::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|t| (t.id, t.slug))
        .collect();
    let rows: Vec<ChannelRow> = channel::Entity::find()
        .select_only()
        .columns([
            channel::Column::Id,
            channel::Column::Handle,
            channel::Column::TopicId,
            channel::Column::Language,
            channel::Column::Subscribers,
            channel::Column::AvgViews,
            channel::Column::PostsPerDay,
            channel::Column::Status,
        ])
        .into_tuple()
        .all(&txn)
        .await?;
    txn.commit().await?;
    let settings = IndexSettings {
        min_subscribers: platform.min_subscribers,
        slots_per_day: platform.slots_per_day,
    };
    tokio::task::spawn_blocking(move || {
        let rows = rows
            .into_iter()
            .map(
                |(
                    id,
                    handle,
                    topic_id,
                    language,
                    subscribers,
                    avg_views,
                    posts_per_day,
                    status,
                )| {
                    let facts = IndexedChannel {
                        id,
                        topic: topics.get(&topic_id).cloned().unwrap_or_default(),
                        language,
                        subscribers,
                        avg_views,
                        posts_per_day,
                        active: status == catalog::ACTIVE,
                        name_rank: 0,
                    };
                    (handle, facts)
                },
            )
            .collect();
        ChannelStore::build(platform.catalog_version, settings, rows)
    })
    .await
    .map_err(|e| AppError::internal("delivery channel index", e))
}
