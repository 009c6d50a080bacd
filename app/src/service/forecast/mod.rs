//! The reach-and-cost forecast: validates a targeting, answers it from the in-memory
//! `CatalogIndex` (rebuilt whenever the catalog version moves, on every instance), and prices
//! the result at the bid and daily budget.

pub mod competition;
pub mod index;

use crate::{
    entity::channel,
    error::{AppError, FieldErrors},
    model::{
        FORECAST_PAGE_SIZE, Forecast, ForecastRequest, Page, Targeting, TargetingOptions,
        language_name,
    },
    service::{catalog, delivery::index::CampaignIndex, settings},
};
use competition::{Competition, Competitor};
use index::{CatalogIndex, IndexSettings, IndexedChannel};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use std::{
    collections::HashMap,
    sync::{Arc, OnceLock, RwLock},
    time::Duration,
};

/// How long the competition is reused while neither the catalog nor the running campaigns
/// change (the recent prices move meanwhile).
pub const COMPETITION_TTL: Duration = Duration::from_secs(600);

/// The deepest page of matching channels served (the list is for browsing, not export).
pub const MAX_FORECAST_PAGE: u64 = 999;

/// Holds the current index and rebuilds it when the catalog changes. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ForecastEngine {
    current: Arc<RwLock<Arc<CatalogIndex>>>,
    rebuilding: Arc<tokio::sync::Mutex<()>>,
    /// This instance's running campaigns, once attached ([`Self::compete_with`]); without
    /// them every slot counts as won.
    delivery: Arc<OnceLock<crate::service::delivery::DeliveryEngine>>,
    competition: Arc<RwLock<Arc<Competition>>>,
    /// When the index was last known to match the stored catalog version (built, or a
    /// refresh found nothing changed).
    checked: Arc<RwLock<std::time::Instant>>,
}

impl ForecastEngine {
    /// An engine whose index reflects the catalog now.
    pub async fn load(db: &DatabaseConnection) -> Result<Self, AppError> {
        let index = build_from_db(db).await?;
        Ok(Self {
            current: Arc::new(RwLock::new(Arc::new(index))),
            rebuilding: Arc::new(tokio::sync::Mutex::new(())),
            delivery: Arc::new(OnceLock::new()),
            competition: Arc::new(RwLock::new(Arc::new(Competition::default()))),
            checked: Arc::new(RwLock::new(std::time::Instant::now())),
        })
    }

    /// How long ago the index was last known to match the stored catalog (what `/readyz`
    /// reports: a refresh loop that keeps failing leaves an index that may be behind).
    pub fn checked_ago(&self) -> Duration {
        self.checked
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .elapsed()
    }

    fn mark_checked(&self) {
        *self
            .checked
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = std::time::Instant::now();
    }

    /// Makes the forecast learn from the auction: the running campaigns of `delivery` (and
    /// the prices recently paid) compete with the forecast bid.
    pub fn compete_with(&self, delivery: crate::service::delivery::DeliveryEngine) {
        let _ = self.delivery.set(delivery);
    }

    /// The running campaigns the forecast competes with, current as of one check of the
    /// delivery version on `reads` (what changed is read from `db`).
    pub async fn market(
        &self,
        db: &DatabaseConnection,
        reads: &impl ConnectionTrait,
    ) -> Result<Market, AppError> {
        let Some(delivery) = self.delivery.get() else {
            return Ok(Market(None));
        };
        delivery.refresh_checking(db, reads).await?;
        Ok(Market(Some(delivery.campaigns())))
    }

    /// The competition for `index` among `market`'s campaigns: rebuilt when the catalog or
    /// the running campaigns changed, or after [`COMPETITION_TTL`].
    pub async fn competition(
        &self,
        db: &DatabaseConnection,
        index: &Arc<CatalogIndex>,
        market: Market,
    ) -> Result<Arc<Competition>, AppError> {
        let Some(campaigns) = market.0 else {
            return Ok(read(&self.competition));
        };
        let fresh = |c: &Competition| {
            c.catalog_version == index.version
                && c.delivery_version == campaigns.delivery_version
                && c.built_at.is_some_and(|at| at.elapsed() < COMPETITION_TTL)
        };
        let current = read(&self.competition);
        if fresh(&current) {
            return Ok(current);
        }
        let _one_at_a_time = self.rebuilding.lock().await;
        let current = read(&self.competition);
        if fresh(&current) {
            return Ok(current);
        }
        let now = chrono::Utc::now();
        let since = (now - chrono::Duration::days(competition::RECENT_DAYS)).date_naive();
        let recent = recent_delivery(db, since).await?;
        let floor = campaigns.rules.floor;
        let competitors: Vec<Competitor> = campaigns
            .campaigns
            .iter()
            .filter(|c| c.bid >= floor)
            .map(|c| Competitor {
                bid: c.bid,
                daily_views: competition::daily_demand(
                    c.bid,
                    c.daily_budget,
                    c.total_budget,
                    c.end_at,
                    now,
                ),
                targeting: c.targeting.clone(),
            })
            .collect();
        let (index, version) = (Arc::clone(index), campaigns.delivery_version);
        let built = tokio::task::spawn_blocking(move || {
            Competition::build(&index, version, floor, &competitors, &recent)
        })
        .await
        .map_err(|e| AppError::internal("forecast competition build", e))?;
        let built = Arc::new(built);
        match self.competition.write() {
            Ok(mut guard) => *guard = Arc::clone(&built),
            Err(poisoned) => *poisoned.into_inner() = Arc::clone(&built),
        }
        Ok(built)
    }

    /// The index of the latest catalog version this instance has seen.
    pub fn index(&self) -> Arc<CatalogIndex> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Rebuilds the index when the stored catalog version differs from the index's (another
    /// instance, or this one, changed the catalog). Returns whether it rebuilt.
    pub async fn refresh(&self, db: &DatabaseConnection) -> Result<bool, AppError> {
        let _one_at_a_time = self.rebuilding.lock().await;
        if settings::catalog_version(db).await? == self.index().version {
            self.mark_checked();
            return Ok(false);
        }
        let index = Arc::new(build_from_db(db).await?);
        match self.current.write() {
            Ok(mut guard) => *guard = index,
            Err(poisoned) => *poisoned.into_inner() = index,
        }
        self.mark_checked();
        Ok(true)
    }
}

/// The running campaigns of one checked delivery version ([`ForecastEngine::market`]), with
/// the platform settings they were loaded with; empty when no delivery engine is attached
/// (the forecast alone, in tests: every slot counts as won).
#[derive(Clone, Debug)]
pub struct Market(Option<Arc<CampaignIndex>>);

impl Market {
    /// The limits a campaign's money must respect, as of this delivery version (`None`
    /// without a delivery engine: read them from the settings).
    pub fn limits(&self) -> Option<crate::model::MoneyLimits> {
        self.0.as_ref().map(|campaigns| campaigns.rules.limits())
    }
}

fn read<T>(lock: &RwLock<Arc<T>>) -> Arc<T> {
    match lock.read() {
        Ok(guard) => Arc::clone(&guard),
        Err(poisoned) => Arc::clone(&poisoned.into_inner()),
    }
}

/// Views and spend per channel delivered since `since` (rollup days).
async fn recent_delivery(
    db: &DatabaseConnection,
    since: chrono::NaiveDate,
) -> Result<Vec<(i64, i64, i64)>, AppError> {
    let backend = db.get_database_backend();
    let mut sql = crate::service::sql::Sql::new();
    let since = sql.bind(since);
    sql.text = format!(
        "SELECT channel_id, CAST(SUM(views) AS BIGINT), CAST(SUM(spend_micros) AS BIGINT) \
         FROM delivery_rollup WHERE day >= {since} GROUP BY channel_id"
    );
    let mut out = Vec::new();
    for row in db.query_all_raw(sql.build(backend)).await? {
        out.push((
            row.try_get_by_index(0)?,
            row.try_get_by_index(1)?,
            row.try_get_by_index(2)?,
        ));
    }
    Ok(out)
}

/// Reads the eligible catalog and its version from one consistent snapshot, then builds the
/// index off the async runtime.
async fn build_from_db(db: &DatabaseConnection) -> Result<CatalogIndex, AppError> {
    let txn = db.begin().await?;
    let platform = settings::load(&txn).await?;
    let taxonomy = catalog::topics(&txn).await?;
    let topics: HashMap<i64, String> = taxonomy.iter().map(|t| (t.id.0, t.slug.clone())).collect();
    let rows: Vec<(i64, i64, String, i64, i64, f64)> = channel::Entity::find()
        .select_only()
        .columns([
            channel::Column::Id,
            channel::Column::TopicId,
            channel::Column::Language,
            channel::Column::Subscribers,
            channel::Column::AvgViews,
            channel::Column::PostsPerDay,
        ])
        .filter(channel::Column::Status.eq(catalog::ACTIVE))
        .filter(channel::Column::Subscribers.gte(platform.min_subscribers))
        // The load order is the name order: it gives "sort by name" without keeping titles.
        .order_by_asc(channel::Column::Title)
        .order_by_asc(channel::Column::Id)
        .into_tuple()
        .all(&txn)
        .await?;
    txn.commit().await?;
    let settings = IndexSettings {
        min_subscribers: platform.min_subscribers,
        slots_per_day: platform.slots_per_day,
    };
    tokio::task::spawn_blocking(move || {
        let channels: Vec<IndexedChannel> = rows
            .into_iter()
            .enumerate()
            .map(
                |(rank, (id, topic_id, language, subscribers, avg_views, posts_per_day))| {
                    IndexedChannel {
                        id,
                        topic: topics.get(&topic_id).cloned().unwrap_or_default(),
                        language,
                        subscribers,
                        avg_views,
                        posts_per_day,
                        active: true,
                        name_rank: u32::try_from(rank).unwrap_or(u32::MAX),
                    }
                },
            )
            .collect();
        CatalogIndex::build(platform.catalog_version, settings, &channels).with_taxonomy(taxonomy)
    })
    .await
    .map_err(|e| AppError::internal("forecast index build", e))
}

/// Every check of a targeting: its own ([`Targeting::check`]), then those that need the
/// catalog — known topics, eligible included channels. Lists over their maximum are refused
/// before the database is asked anything.
pub fn check_targeting(index: &CatalogIndex, targeting: &Targeting) -> Result<(), AppError> {
    targeting.check_sizes().into_result()?;
    let mut errors: FieldErrors = targeting.check();
    if let Some(unknown) = targeting.topics.iter().find(|t| !index.knows_topic(t)) {
        errors.add("topics", format!("Unknown topic \"{unknown}\"."));
    }
    if targeting.include.iter().any(|c| !index.is_eligible(c.0)) {
        errors.add(
            "include",
            "Only eligible channels (active, with enough subscribers) can be included.",
        );
    }
    errors.into_result()
}

/// The choices for the targeting controls, from the index (no catalog scan).
pub fn options(engine: &ForecastEngine) -> TargetingOptions {
    let index = engine.index();
    let (topic_counts, language_counts) = index.facets();
    let count = |list: &[(String, u64)], key: &str| {
        list.iter().find(|(k, _)| k == key).map_or(0, |(_, n)| *n)
    };
    let topics = index
        .taxonomy()
        .iter()
        .map(|t| {
            let n = count(&topic_counts, &t.slug);
            (t.slug.clone(), t.name.clone(), n)
        })
        .collect();
    let mut languages: Vec<(String, String, u64)> = language_counts
        .into_iter()
        .map(|(code, n)| {
            let name = language_name(&code).unwrap_or("Unknown").to_owned();
            (code, name, n)
        })
        .collect();
    languages.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
    TargetingOptions {
        topics,
        languages,
        min_subscribers: index.settings.min_subscribers,
        slots_per_day: index.settings.slots_per_day,
    }
}

/// Answers a forecast priced in `currency` (the asking account's). `db` is the main pool,
/// which keeps the competition current; the channel rows shown are read through `reads` (a
/// request's read connection, or any pool).
pub async fn forecast(
    db: &DatabaseConnection,
    reads: &impl ConnectionTrait,
    engine: &ForecastEngine,
    currency: &str,
    request: ForecastRequest,
) -> Result<Forecast, AppError> {
    forecast_in(db, reads, engine, None, currency, request).await
}

/// [`forecast`] against `market` when the caller has already checked it (the builder, which
/// shows the limits it carries); otherwise it is checked here, once the request is valid.
pub async fn forecast_in(
    db: &DatabaseConnection,
    reads: &impl ConnectionTrait,
    engine: &ForecastEngine,
    market: Option<Market>,
    currency: &str,
    request: ForecastRequest,
) -> Result<Forecast, AppError> {
    request.targeting.check_sizes().into_result()?;
    let index = engine.index();
    let targeting = request.targeting.normalized();
    check_targeting(&index, &targeting)?;
    if request.bid.0 <= 0 {
        return Err(AppError::field("bid", "The bid must be more than zero."));
    }
    if request.daily_budget.is_some_and(|b| b.0 <= 0) {
        return Err(AppError::field("daily_budget", "Enter more than zero."));
    }
    let page = request.page.min(MAX_FORECAST_PAGE);
    let matches = index.query(
        &targeting,
        request.sort,
        (page * FORECAST_PAGE_SIZE) as usize,
        FORECAST_PAGE_SIZE as usize,
    );
    let market = match market {
        Some(checked) => checked,
        None => engine.market(db, reads).await?,
    };
    let competition = engine.competition(db, &index, market).await?;
    let estimate = competition.estimate(&index.capacity_by_bucket(&targeting), request.bid);
    let win_rate = estimate.win_rate;
    let winnable = (matches.totals.capacity as f64 * win_rate).round() as i64;
    let affordable = request
        .daily_budget
        .and_then(|budget| request.bid.views_for(budget));
    let (daily_views, budget_limited) = match affordable {
        Some(limit) if limit < winnable => (limit, true),
        _ => (winnable, false),
    };
    let mut daily_spend = request
        .bid
        .cpm_cost(daily_views)
        .ok_or_else(|| AppError::field("bid", "That bid is too large."))?;
    if let Some(budget) = request.daily_budget {
        daily_spend = daily_spend.min(budget);
    }
    let min_subscribers = index.settings.min_subscribers;
    let ids = |list: &[crate::model::ChannelId]| list.iter().map(|c| c.0).collect::<Vec<_>>();
    let [rows, included, excluded] = catalog::rows_by_id(
        reads,
        &index,
        [
            &matches.page,
            &ids(&targeting.include),
            &ids(&targeting.exclude),
        ],
    )
    .await?;
    Ok(Forecast {
        channels: matches.totals.channels,
        subscribers: matches.totals.subscribers,
        daily_capacity: matches.totals.capacity,
        eligible_channels: index.eligible.channels,
        eligible_capacity: index.eligible.capacity,
        daily_views,
        daily_spend,
        budget_limited,
        win_rate,
        bid_for_half: estimate.bid_for_half,
        bid_for_most: estimate.bid_for_most,
        recent_cpm: estimate.recent_cpm,
        competitors: estimate.competitors,
        top: Page {
            rows,
            page,
            total: matches.totals.channels,
        },
        sort: request.sort,
        included,
        excluded,
        currency: currency.to_owned(),
        slots_per_day: index.settings.slots_per_day,
        min_subscribers,
    })
}
