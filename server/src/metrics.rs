//! Prometheus metrics (`prometheus-client`, the Prometheus project's own Rust client): request
//! latency by route, delivery decisions and events counted by this instance, and, read from
//! the database at each scrape, platform-wide money posted and held, the review queue and the
//! connection pool. Served on a separate address (`HERALD_METRICS_LISTEN`), off by default.

use app::{
    api::ctx::AppState,
    entity::review_task,
    model::{ReviewKind, TaskState},
};
use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QuerySelect, Statement,
};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route's pattern (`/campaigns/{id}`), `static` for files, `unmatched` otherwise:
    /// never the raw path, so the label set stays small.
    pub route: String,
    /// `2xx`, `3xx`, `4xx` or `5xx`.
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CurrencyLabels {
    currency: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    /// `ad_version`, `targeting`, or `appeal` (a decision appealed, of either kind).
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    /// `main` (every write, and reads outside requests) or `read` (requests' reads).
    pool: &'static str,
    state: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 8 s.
    Histogram::new(exponential_buckets(0.000_5, 2.0, 15))
}

type LatencyFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

struct Inner {
    registry: Registry,
    requests: LatencyFamily,
    decisions: Family<OutcomeLabels, Counter>,
    events: Family<OutcomeLabels, Counter>,
    posted: Family<CurrencyLabels, Gauge>,
    held: Family<CurrencyLabels, Gauge>,
    review_queue: Family<QueueLabels, Gauge>,
    pool: Family<PoolLabels, Gauge>,
}

/// This instance's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("herald");
        let requests = LatencyFamily::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to the response's head, by method, route and status class",
            requests.clone(),
        );
        let decisions = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "delivery_decisions",
            "Delivery decisions answered by this instance (filled: an ad; empty: 204)",
            decisions.clone(),
        );
        let events = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "delivery_events",
            "Delivery events this instance received, by outcome",
            events.clone(),
        );
        let posted = Family::<CurrencyLabels, Gauge>::default();
        registry.register(
            "ledger_posted_micros",
            "Charges ever posted, platform-wide, in micro-units of the currency",
            posted.clone(),
        );
        let held = Family::<CurrencyLabels, Gauge>::default();
        registry.register(
            "ledger_held_micros",
            "Money held for decisions and not yet posted or released, platform-wide",
            held.clone(),
        );
        let review_queue = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "review_queue_length",
            "Review tasks waiting for (or with) a moderator, by kind: ad versions, targeting changes, appeals",
            review_queue.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "This instance's database connections by pool (main, read): open, idle and the maximum",
            pool.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            requests,
            decisions,
            events,
            posted,
            held,
            review_queue,
            pool,
        }))
    }
}

impl Metrics {
    /// Records one answered request.
    pub fn request(&self, labels: RequestLabels, elapsed: Duration) {
        self.0
            .requests
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Records a delivery decision: `filled` when an ad won.
    pub fn decision(&self, filled: bool) {
        let outcome = if filled { "filled" } else { "empty" };
        self.0
            .decisions
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Records a delivery event's outcome (`accepted`, `replayed`, `rejected`).
    pub fn event(&self, outcome: &'static str) {
        self.0
            .events
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Reads the platform-wide figures from the database, then renders everything in the
    /// Prometheus text format.
    pub async fn render(&self, state: &AppState) -> Result<String, sea_orm::DbErr> {
        self.read_database(state).await?;
        let mut out = String::new();
        encode(&mut out, &self.0.registry).map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
        Ok(out)
    }

    async fn read_database(&self, state: &AppState) -> Result<(), sea_orm::DbErr> {
        let db = &state.db;
        let backend = db.get_database_backend();
        // Revenue and payables are credited only by posted charges; holds' balances are what
        // is held now. One small grouped read of the cached balances, never of transfers.
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT kind, currency, CAST(SUM(credits) AS BIGINT) AS credits, \
                 CAST(SUM(balance) AS BIGINT) AS balance \
                 FROM ledger_account WHERE kind IN ('revenue', 'publisher_payable', 'campaign_holds') \
                 GROUP BY kind, currency",
            ))
            .await?;
        let (mut posted, mut held) = (
            std::collections::BTreeMap::<String, i64>::new(),
            std::collections::BTreeMap::<String, i64>::new(),
        );
        for row in rows {
            let kind: String = row.try_get("", "kind")?;
            let currency: String = row.try_get("", "currency")?;
            let credits: i64 = row.try_get("", "credits")?;
            let balance: i64 = row.try_get("", "balance")?;
            if kind == "campaign_holds" {
                // A currency with holds has a posted figure too, if only zero so far.
                posted.entry(currency.clone()).or_default();
                *held.entry(currency).or_default() += balance;
            } else {
                *posted.entry(currency).or_default() += credits;
            }
        }
        for (currency, micros) in posted {
            self.0
                .posted
                .get_or_create(&CurrencyLabels { currency })
                .set(micros);
        }
        for (currency, micros) in held {
            self.0
                .held
                .get_or_create(&CurrencyLabels { currency })
                .set(micros);
        }
        let open: Vec<(ReviewKind, bool, i64)> = review_task::Entity::find()
            .select_only()
            .column(review_task::Column::Kind)
            .column_as(review_task::Column::AppealId.is_not_null(), "appeal")
            .column_as(review_task::Column::Id.count(), "tasks")
            .filter(review_task::Column::State.eq(TaskState::Open))
            .group_by(review_task::Column::Kind)
            .group_by(review_task::Column::AppealId.is_not_null())
            .into_tuple()
            .all(db)
            .await?;
        let mut queue = [("ad_version", 0), ("targeting", 0), ("appeal", 0)];
        for (kind, appeal, tasks) in open {
            let at = match (appeal, kind) {
                (true, _) => 2,
                (false, ReviewKind::AdVersion) => 0,
                (false, ReviewKind::Targeting) => 1,
            };
            queue[at].1 += tasks;
        }
        for (kind, tasks) in queue {
            self.0
                .review_queue
                .get_or_create(&QueueLabels { kind: kind.into() })
                .set(tasks);
        }
        let pools = [("main", Some(db)), ("read", state.reads.read_pool())];
        for (name, pool) in pools {
            let Some(pool) = pool else { continue };
            let (open, idle, max) = match backend {
                DatabaseBackend::Sqlite => {
                    let pool = pool.get_sqlite_connection_pool();
                    (
                        pool.size(),
                        pool.num_idle(),
                        pool.options().get_max_connections(),
                    )
                }
                DatabaseBackend::Postgres => {
                    let pool = pool.get_postgres_connection_pool();
                    (
                        pool.size(),
                        pool.num_idle(),
                        pool.options().get_max_connections(),
                    )
                }
                _ => (0, 0, 0),
            };
            for (state, value) in [
                ("open", i64::from(open)),
                ("idle", i64::try_from(idle).unwrap_or(i64::MAX)),
                ("max", i64::from(max)),
            ] {
                self.0
                    .pool
                    .get_or_create(&PoolLabels { pool: name, state })
                    .set(value);
            }
        }
        Ok(())
    }
}

async fn scrape(State((metrics, state)): State<(Metrics, AppState)>) -> Response {
    match metrics.render(&state).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                // What prometheus-client writes (counters named `_total`, ending in `# EOF`).
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(%e, "metrics: cannot read the database");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The metrics listener's routes.
pub fn router(metrics: Metrics, state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state((metrics, state))
}

/// Serves `/metrics` on `address` until `stop`.
pub async fn serve(
    address: SocketAddr,
    metrics: Metrics,
    state: AppState,
    stop: CancellationToken,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen for metrics on {address}: {e}"))?;
    tracing::info!("metrics on http://{address}/metrics");
    tokio::spawn(async move {
        let served = axum::serve(listener, router(metrics, state))
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::warn!(%e, "the metrics listener stopped");
        }
    });
    Ok(())
}
