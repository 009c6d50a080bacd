//! The forecast learns from the auction: the bids and budgets of running campaigns on the
//! same channels lower what a bid is expected to win, the bids for half and nine tenths of the
//! slots sit around a competitor's bid, and the prices recently paid are shown — on SQLite
//! and (with `TEST_DATABASE_URL`) PostgreSQL. Also: the bucket capacities the estimate reads
//! add up to the forecast's capacity for random catalogs and targetings.

mod delivery_support;

use app::{
    model::{ChannelSort, Forecast, ForecastRequest, Micros, Targeting},
    service::{
        delivery::{self, Decided, DeliveryEngine, EventInput},
        forecast::{
            self, ForecastEngine,
            competition::{LEVELS, level_bid, level_of},
            index::{CatalogIndex, IndexSettings, IndexedChannel},
        },
    },
};
use chrono::Utc;
use delivery_support::*;
use proptest::prelude::*;
use sea_orm::DatabaseConnection;

const FLOOR: Micros = Micros::units(1);
/// The competitor's bid: €5 CPM.
const RIVAL: Micros = Micros::units(5);

fn english() -> Targeting {
    Targeting {
        languages: vec!["en".into()],
        min_subscribers: Some(10_000),
        ..Targeting::default()
    }
}

async fn ask(db: &DatabaseConnection, engine: &ForecastEngine, bid: Micros) -> Forecast {
    forecast::forecast(
        db,
        db,
        engine,
        "EUR",
        ForecastRequest {
            targeting: english(),
            bid,
            daily_budget: None,
            sort: ChannelSort::Subscribers,
            page: 0,
        },
    )
    .await
    .expect("forecast")
}

async fn check(db: DatabaseConnection, backend: &str) {
    let now = Utc::now();
    set_setting(&db, "min_total_budget_micros", Micros::units(1).0).await;
    set_setting(&db, "min_cpm_micros", FLOOR.0).await;
    set_setting(&db, "ad_slots_per_day", 1).await;
    // Three English channels: 3 × 10,000 views a day of capacity (one slot each).
    for handle in ["beans", "brews", "roasts"] {
        channel(&db, handle, 10_000, "en").await;
    }
    let rival = advertiser(&db, &format!("rival-{backend}@example.com"), "UTC").await;
    let engine = ForecastEngine::load(&db).await.expect(backend);
    let delivery = DeliveryEngine::default();
    engine.compete_with(delivery.clone());

    // Alone: every slot, and the floor wins half and nine tenths.
    let alone = ask(&db, &engine, Micros::units(2)).await;
    assert_eq!(alone.daily_capacity, 30_000, "{backend}");
    assert_eq!(alone.win_rate, 1.0, "{backend}: nobody competes");
    assert_eq!(alone.competitors, 0, "{backend}");
    assert_eq!(alone.bid_for_half, Some(FLOOR), "{backend}");
    assert_eq!(alone.bid_for_most, Some(FLOOR), "{backend}");
    assert_eq!(alone.recent_cpm, None, "{backend}: nothing delivered yet");

    // A rival at €5 whose daily budget (€300) buys 60,000 views: more than all of them.
    credit(&db, &rival, Micros::units(1_000), "rival-wire", now)
        .await
        .expect(backend);
    running_campaign(
        &db,
        &rival,
        campaign_form("Rival", RIVAL, Micros::units(900), Some(Micros::units(300))),
        now,
    )
    .await;
    let under = ask(&db, &engine, Micros::units(2)).await;
    assert_eq!(under.competitors, 1, "{backend}");
    assert!(
        under.win_rate < 0.01,
        "{backend}: outbid everywhere: {}",
        under.win_rate
    );
    assert!(
        under.daily_views < 300,
        "{backend}: {} views",
        under.daily_views
    );
    let over = ask(&db, &engine, Micros::units(6)).await;
    assert_eq!(over.win_rate, 1.0, "{backend}: a higher bid wins it all");
    // Matching the rival's step wins half: the bid for half is that step, just under €5.
    let half = under.bid_for_half.expect("a bid wins half");
    assert!(
        half <= RIVAL && half.0 >= level_bid(level_of(RIVAL.0)),
        "{backend}: bid for half {half:?}"
    );
    let most = under.bid_for_most.expect("a bid wins nine tenths");
    assert!(most > RIVAL, "{backend}: bid for nine tenths {most:?}");
    assert!(
        most.0 <= level_bid(level_of(RIVAL.0) + 1) + 10_000,
        "{backend}: one step above the rival: {most:?}"
    );

    // Delivered: one slot at the floor price (the rival is alone in the auction).
    let key = network_key(&db, now).await;
    let now = Utc::now();
    let Decided::Ad(won) = delivery::decide(&db, &delivery, key, "beans", "slot-1", now)
        .await
        .expect(backend)
    else {
        panic!("{backend}: the rival wins the slot");
    };
    assert_eq!(won.price_cpm, FLOOR, "{backend}: alone, it pays the floor");
    delivery::ingest(
        &db,
        &delivery,
        key,
        &[EventInput {
            event_id: "e1".into(),
            decision_id: won.decision_id,
            views: 4_000,
            clicks: 0,
            at: now,
        }],
        now,
    )
    .await
    .expect(backend);
    // A new instance (the first caches its competition for minutes).
    let fresh = ForecastEngine::load(&db).await.expect(backend);
    fresh.compete_with(DeliveryEngine::default());
    let later = ask(&db, &fresh, Micros::units(2)).await;
    assert_eq!(
        later.recent_cpm,
        Some(FLOOR),
        "{backend}: €4 for 4,000 views"
    );
}

#[tokio::test]
async fn running_campaigns_and_recent_prices_shape_the_forecast_on_sqlite() {
    let db = migrations::db::fresh_sqlite().await.expect("database");
    check(db, "sqlite").await;
}

#[tokio::test]
async fn running_campaigns_and_recent_prices_shape_the_forecast_on_postgres() {
    let Some(db) = migrations::db::fresh_postgres()
        .await
        .expect("a fresh PostgreSQL database")
    else {
        eprintln!("skipped: set TEST_DATABASE_URL to run on PostgreSQL");
        return;
    };
    check(db, "postgres").await;
}

#[test]
fn the_bid_scale_has_levels_steps() {
    assert_eq!(level_of(level_bid(LEVELS - 1)), LEVELS - 1);
}

fn channels() -> impl Strategy<Value = Vec<IndexedChannel>> {
    prop::collection::vec(
        (
            0usize..3,
            0usize..3,
            0i64..200_000,
            0i64..50_000,
            0.0f64..4.0,
            any::<bool>(),
        ),
        0..120,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(
                |(i, (topic, language, subscribers, avg_views, posts, active))| IndexedChannel {
                    id: i as i64 + 1,
                    topic: ["food", "tech", "news"][topic].into(),
                    language: ["en", "de", "fr"][language].into(),
                    subscribers,
                    avg_views,
                    posts_per_day: posts,
                    active,
                    name_rank: i as u32,
                },
            )
            .collect()
    })
}

fn targetings() -> impl Strategy<Value = Targeting> {
    (
        prop::collection::vec(0usize..4, 0..3),
        prop::collection::vec(0usize..4, 0..3),
        prop::option::of(0i64..100_000),
        prop::option::of(0i64..200_000),
        prop::option::of(0i64..30_000),
        prop::collection::vec(1i64..130, 0..4),
        prop::collection::vec(1i64..130, 0..6),
    )
        .prop_map(|(topics, languages, min, max, views, include, exclude)| {
            Targeting {
                topics: topics
                    .into_iter()
                    .map(|t| ["food", "tech", "news", "cars"][t].into())
                    .collect(),
                languages: languages
                    .into_iter()
                    .map(|l| ["en", "de", "fr", "es"][l].into())
                    .collect(),
                min_subscribers: min,
                max_subscribers: max,
                min_avg_views: views,
                include: include.into_iter().map(app::model::ChannelId).collect(),
                exclude: exclude.into_iter().map(app::model::ChannelId).collect(),
            }
            .normalized()
        })
}

proptest! {
    #[test]
    fn bucket_capacities_add_up_to_the_forecast(rows in channels(), t in targetings()) {
        let settings = IndexSettings { min_subscribers: 1_000, slots_per_day: 2 };
        let index = CatalogIndex::build(1, settings, &rows);
        let parts = index.capacity_by_bucket(&t);
        let sum: i64 = parts.iter().map(|(_, c)| c).sum();
        let totals = index.query(&t, ChannelSort::Subscribers, 0, 0).totals;
        prop_assert_eq!(sum, totals.capacity);
        prop_assert!(parts.iter().all(|&(b, c)| c > 0 && c <= index.bucket_capacity(b)));
    }
}
