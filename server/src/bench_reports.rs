//! `server bench reports`: a year of delivery history for one ad account, then its reports
//! from the rollups against the same figures from scanning the raw events, in the same run.
//!
//! The history: a sample through the real code (decisions and batched events on the
//! benchmark world's running campaigns), whose rollups are checked equal to what the bulk path
//! computes from the same decisions and events; then the bulk path writes the rest — decisions
//! spread over 365 days, their events (each charged as ingest charges: the decision's price on
//! its running views, never past its hold) and the rollups they add up to — in large
//! transactions, since ten million events through the API would take longer than the
//! measurement. The ledger is not written by the bulk path (reports never read it).

use crate::bench_delivery::{self, setup};
use app::{
    entity::{
        ad, campaign, delivery_decision, delivery_event, delivery_rollup, delivery_rollup_day,
    },
    model::{AccountId, AccountRole, Breakdown, Micros, ReportQuery, UserId},
    service::{
        Actor,
        delivery::{self, Decided, DeliveryEngine, EventInput},
        reports,
    },
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use std::{collections::BTreeMap, time::Instant};

/// Flags of `server bench reports`.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Delivery events in the account's year of history.
    #[arg(long, default_value_t = 10_000_000)]
    pub events: usize,
    /// Events per decision (a post's views reported in increments).
    #[arg(long, default_value_t = 50)]
    pub events_per_decision: usize,
    /// Timed reports of each kind (after a few warm-up ones).
    #[arg(long, default_value_t = 100)]
    pub queries: usize,
    /// Timed raw-event scans of each kind (slow: a few suffice).
    #[arg(long, default_value_t = 5)]
    pub scans: usize,
    /// Also on PostgreSQL (a database created for the run and dropped after it).
    #[arg(long)]
    pub postgres_url: Option<String>,
    /// Skip SQLite (with `--postgres-url`: PostgreSQL only).
    #[arg(long, requires = "postgres_url")]
    pub skip_sqlite: bool,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Runs on each database; prints one summary line per database last.
pub async fn run(options: &Options) -> Result<(), String> {
    if options.events == 0 || options.events_per_decision == 0 {
        return Err("--events and --events-per-decision must be at least 1".into());
    }
    let mut lines = Vec::new();
    if !options.skip_sqlite {
        lines.push(on(setup::Target::sqlite()?, options).await?);
    }
    if let Some(url) = &options.postgres_url {
        lines.push(on(setup::Target::postgres(url).await?, options).await?);
    }
    println!();
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

async fn on(target: setup::Target, options: &Options) -> Result<String, String> {
    println!("== reports on {} ({})", target.name, target.describe());
    let result = match target.open().await {
        Ok(db) => {
            let result = measure(&db, target.name, options).await;
            let _ = db.close().await;
            result
        }
        Err(e) => Err(e),
    };
    target.remove().await;
    result
}

/// The account's campaigns: (campaign, ad, live version, bid).
type Offer = (i64, i64, i64, i64);

async fn measure(db: &DatabaseConnection, name: &str, options: &Options) -> Result<String, String> {
    let dberr = |e: sea_orm::DbErr| e.to_string();
    let world_options = bench_delivery::Options {
        channels: 20_000,
        campaigns: 40,
        accounts: 1,
        decisions: 0,
        concurrency: Vec::new(),
        http_decisions: 0,
        http_connections: 1,
        selections: 0,
        events: 0,
        batch: 1,
        postgres_url: None,
        skip_sqlite: false,
        seed: options.seed,
    };
    let world = setup::build(db, &world_options).await?;
    let account: (i64, String) = app::entity::ad_account::Entity::find()
        .select_only()
        .column(app::entity::ad_account::Column::Id)
        .column(app::entity::ad_account::Column::TimeZone)
        .into_tuple()
        .one(db)
        .await
        .map_err(dberr)?
        .ok_or("no account")?;
    let tz: Tz = account.1.parse().unwrap_or(Tz::UTC);
    let bids: BTreeMap<i64, i64> = campaign::Entity::find()
        .filter(campaign::Column::AccountId.eq(account.0))
        .all(db)
        .await
        .map_err(dberr)?
        .into_iter()
        .map(|c| (c.id, c.bid_micros))
        .collect();
    let offers: Vec<Offer> = ad::Entity::find()
        .filter(ad::Column::CampaignId.is_in(bids.keys().copied()))
        .order_by_asc(ad::Column::Id)
        .all(db)
        .await
        .map_err(dberr)?
        .into_iter()
        .filter_map(|a| {
            Some((
                a.campaign_id,
                a.id,
                a.live_version_id?,
                bids[&a.campaign_id],
            ))
        })
        .collect();
    if offers.is_empty() {
        return Err("the world has no campaign with a live ad".into());
    }

    // 1. A sample through the real code, and the bulk path's rollups of it.
    let started = Instant::now();
    let sample_equal = sample(db, &world, options.seed).await?;
    println!(
        "set-up: sample through decide and ingest, rollups equal to the bulk path's: {sample_equal} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );

    // 2. The bulk history.
    let started = Instant::now();
    let now = Utc::now();
    let events = bulk(db, &world, account.0, tz, &offers, options, now).await?;
    println!(
        "set-up: {events} events over 365 days bulk-written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 3. Reports from rollups against scans of raw events.
    let owner = Actor {
        user_id: UserId(0),
        email: "bench@example.com".into(),
        staff_roles: Vec::new(),
        membership: Some((AccountId(account.0), AccountRole::Owner)),
        ip: None,
        clock: None,
    };
    let today = now.with_timezone(&tz).date_naive();
    let year = (today - Duration::days(364), today);
    let mut rng = StdRng::seed_from_u64(options.seed ^ 0x5EED);
    let mut campaign_us = Vec::new();
    let mut channels_us = Vec::new();
    let mut equal = sample_equal;
    for i in 0..options.queries + 5 {
        let c = offers[rng.random_range(0..offers.len())].0;
        let q = query(Some(c), year, Breakdown::Day);
        let t = Instant::now();
        let r = reports::report(db, &owner, &q, now)
            .await
            .map_err(|e| e.to_string())?;
        let campaign_took = t.elapsed().as_micros() as u64;
        let end = today - Duration::days(rng.random_range(0..335));
        let window = (end - Duration::days(29), end);
        let q = query(None, window, Breakdown::Channel);
        let t = Instant::now();
        let a = reports::report(db, &owner, &q, now)
            .await
            .map_err(|e| e.to_string())?;
        let channels_took = t.elapsed().as_micros() as u64;
        if i >= 5 {
            campaign_us.push(campaign_took);
            channels_us.push(channels_took);
        }
        if i < options.scans.max(1) {
            // The same figures from the raw events, checked equal.
            let scanned = scan(db, Some(c), account.0, year, tz).await?;
            equal &= scanned == (r.totals.views, r.totals.clicks, r.totals.spend.0);
            let scanned = scan(db, None, account.0, window, tz).await?;
            equal &= scanned == (a.totals.views, a.totals.clicks, a.totals.spend.0);
        }
    }
    let mut scan_us = Vec::new();
    for i in 0..options.scans.max(1) {
        let end = today - Duration::days((i as i64 * 37) % 335);
        let t = Instant::now();
        scan(db, None, account.0, (end - Duration::days(29), end), tz).await?;
        scan_us.push(t.elapsed().as_micros() as u64);
    }
    let pct = |v: &mut Vec<u64>, p: usize| {
        v.sort_unstable();
        let rank = (v.len() * p).div_ceil(100).clamp(1, v.len().max(1));
        v.get(rank - 1).copied().unwrap_or(0)
    };
    let (c50, c95) = (pct(&mut campaign_us, 50), pct(&mut campaign_us, 95));
    let (a50, a95) = (pct(&mut channels_us, 50), pct(&mut channels_us, 95));
    let s50 = pct(&mut scan_us, 50);
    println!("campaign daily report (365 days): p50 {c50} µs, p95 {c95} µs");
    println!("account report by channel (30 days): p50 {a50} µs, p95 {a95} µs");
    println!("the same account figures by scanning raw events: p50 {s50} µs");
    Ok(format!(
        "reports db={name} events={events} campaign_p95_us={c95} account_channels_p95_us={a95} scan_p50_us={s50} speedup={:.0} equal={equal}",
        s50 as f64 / a95.max(1) as f64,
    ))
}

fn query(campaign: Option<i64>, (from, to): (NaiveDate, NaiveDate), by: Breakdown) -> ReportQuery {
    ReportQuery {
        campaign: campaign.map(|c| c.to_string()),
        range: Some("custom".into()),
        from: Some(from.to_string()),
        to: Some(to.to_string()),
        by: Some(by.code().into()),
        ..ReportQuery::default()
    }
}

/// Views, clicks and spend of the account (or one campaign) on local days `from..=to`, by
/// reading every raw event of the account's decisions.
async fn scan(
    db: &DatabaseConnection,
    campaign: Option<i64>,
    account: i64,
    (from, to): (NaiveDate, NaiveDate),
    tz: Tz,
) -> Result<(i64, i64, i64), String> {
    let backend = db.get_database_backend();
    let mut sql = app::service::sql::Sql::new();
    let subject = match campaign {
        Some(c) => format!("d.campaign_id = {}", sql.bind(c)),
        None => format!("d.account_id = {}", sql.bind(account)),
    };
    sql.text = format!(
        "SELECT e.at, e.views, e.clicks, e.posted FROM delivery_event e \
         JOIN delivery_decision d ON d.id = e.decision_id WHERE {subject}"
    );
    let mut sums = (0, 0, 0);
    for row in db
        .query_all_raw(sql.build(backend))
        .await
        .map_err(|e| e.to_string())?
    {
        let at: DateTime<Utc> = row.try_get_by_index(0).map_err(|e| e.to_string())?;
        let day = at.with_timezone(&tz).date_naive();
        if day >= from && day <= to {
            sums.0 += row.try_get_by_index::<i64>(1).map_err(|e| e.to_string())?;
            sums.1 += row.try_get_by_index::<i64>(2).map_err(|e| e.to_string())?;
            sums.2 += row.try_get_by_index::<i64>(3).map_err(|e| e.to_string())?;
        }
    }
    Ok(sums)
}

/// A rollup row's key and its sums.
type Rollups = BTreeMap<(i64, i64, i64, NaiveDate), (i64, i64, i64, i64)>;
/// (campaign, local day, ad) → (account, views, clicks, spend): the rollup without channels.
type DayRollups = BTreeMap<(i64, NaiveDate, i64), (i64, i64, i64, i64)>;

/// What the bulk path writes for `events` of `decisions`: each event charged as ingest
/// charges it, summed per (campaign, ad, channel, local day).
fn rollups_of(
    decisions: &[delivery_decision::Model],
    events: &[delivery_event::Model],
    tz: Tz,
) -> Rollups {
    let by_id: BTreeMap<i64, &delivery_decision::Model> =
        decisions.iter().map(|d| (d.id, d)).collect();
    let mut running: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut out = Rollups::new();
    for e in events {
        let Some(d) = by_id.get(&e.decision_id) else {
            continue;
        };
        let (views, posted) = running.entry(d.id).or_insert((0, 0));
        *views += e.views;
        let due = charge(d.price_cpm, *views, d.held - d.released);
        let now_posted = Ord::max(due - *posted, 0);
        *posted += now_posted;
        let sums = out
            .entry((
                d.campaign_id,
                d.ad_id,
                d.channel_id,
                e.at.with_timezone(&tz).date_naive(),
            ))
            .or_insert((d.account_id, 0, 0, 0));
        sums.1 += e.views;
        sums.2 += e.clicks;
        sums.3 += now_posted;
    }
    out
}

/// What all views so far cost, capped by what is held.
fn charge(price_cpm: i64, views: i64, held: i64) -> i64 {
    Micros(price_cpm)
        .cpm_cost(views)
        .map_or(held, |c| Ord::min(c.0, held))
}

/// Decisions and events through the real code; whether the rollups ingest wrote equal the
/// bulk path's for the same decisions and events.
async fn sample(db: &DatabaseConnection, world: &setup::World, seed: u64) -> Result<bool, String> {
    let engine = DeliveryEngine::default();
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5A3);
    let now = Utc::now();
    let mut won = Vec::new();
    for i in 0..20_000 {
        if won.len() >= 100 {
            break;
        }
        let handle = &world.eligible[rng.random_range(0..world.eligible.len())];
        if let Decided::Ad(a) = delivery::decide(
            db,
            &engine,
            world.key_id,
            handle,
            &format!("sample-{i}"),
            now,
        )
        .await
        .map_err(|e| e.to_string())?
        {
            won.push(a.decision_id);
        }
    }
    let events: Vec<EventInput> = (0..won.len() * 10)
        .map(|i| {
            let views = rng.random_range(20..=400);
            EventInput {
                event_id: format!("sample-{i}"),
                decision_id: won[i % won.len()],
                views,
                clicks: rng.random_range(0..=views / 50),
                at: now,
            }
        })
        .collect();
    for batch in events.chunks(500) {
        delivery::ingest(db, &engine, world.key_id, batch, now)
            .await
            .map_err(|e| e.to_string())?;
    }
    let decisions = delivery_decision::Entity::find()
        .filter(delivery_decision::Column::Id.is_in(won.clone()))
        .all(db)
        .await
        .map_err(|e| e.to_string())?;
    let stored = delivery_event::Entity::find()
        .order_by_asc(delivery_event::Column::Id)
        .all(db)
        .await
        .map_err(|e| e.to_string())?;
    let tz = |account: i64| async move {
        app::entity::ad_account::Entity::find_by_id(account)
            .one(db)
            .await
            .ok()
            .flatten()
            .and_then(|a| a.time_zone.parse::<Tz>().ok())
            .unwrap_or(Tz::UTC)
    };
    let zone = match decisions.first() {
        Some(d) => tz(d.account_id).await,
        None => return Ok(false),
    };
    let expected = rollups_of(&decisions, &stored, zone);
    let written: Rollups = delivery_rollup::Entity::find()
        .all(db)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|r| {
            (
                (r.campaign_id, r.ad_id, r.channel_id, r.day),
                (r.account_id, r.views, r.clicks, r.spend_micros),
            )
        })
        .collect();
    // The rollup without channels: the same sums per (campaign, day, ad).
    let mut expected_days = DayRollups::new();
    for (&(campaign, ad, _, day), &(account, views, clicks, spend)) in &expected {
        let sums = expected_days
            .entry((campaign, day, ad))
            .or_insert((account, 0, 0, 0));
        sums.1 += views;
        sums.2 += clicks;
        sums.3 += spend;
    }
    let written_days: DayRollups = delivery_rollup_day::Entity::find()
        .all(db)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|r| {
            (
                (r.campaign_id, r.day, r.ad_id),
                (r.account_id, r.views, r.clicks, r.spend_micros),
            )
        })
        .collect();
    Ok(!expected.is_empty() && expected == written && expected_days == written_days)
}

/// Writes about `options.events` events (whole decisions; returns how many) for the account over
/// the last 365 days, with their decisions and rollups, in transactions of about 50,000 events.
async fn bulk(
    db: &DatabaseConnection,
    world: &setup::World,
    account: i64,
    tz: Tz,
    offers: &[Offer],
    options: &Options,
    now: DateTime<Utc>,
) -> Result<usize, String> {
    let dberr = |e: sea_orm::DbErr| e.to_string();
    let mut rng = StdRng::seed_from_u64(options.seed ^ 0xB01C);
    let channels: Vec<i64> = app::entity::channel::Entity::find()
        .select_only()
        .column(app::entity::channel::Column::Id)
        .order_by_asc(app::entity::channel::Column::Id)
        .limit(2_000)
        .into_tuple()
        .all(db)
        .await
        .map_err(dberr)?;
    let per = options.events_per_decision;
    let decisions_total = options.events.div_ceil(per);
    let per_txn = (50_000 / per).max(1);
    let mut written = 0usize;
    let mut next_event = 0usize;
    while written < decisions_total {
        let n = per_txn.min(decisions_total - written);
        let txn = db.begin().await.map_err(dberr)?;
        // Decisions first (their ids come back in order on a fresh table of this writer).
        let mut planned = Vec::with_capacity(n);
        for _ in 0..n {
            let (campaign, ad, version, bid) = offers[rng.random_range(0..offers.len())];
            let channel = channels[rng.random_range(0..channels.len())];
            let at = now - Duration::seconds(rng.random_range(3_600..365 * 86_400));
            let views: Vec<i64> = (0..per).map(|_| rng.random_range(20..=400)).collect();
            let held = charge(bid, views.iter().sum(), i64::MAX);
            planned.push((campaign, ad, version, bid, channel, at, views, held));
        }
        let rows: Vec<delivery_decision::ActiveModel> = planned
            .iter()
            .map(
                |&(campaign, ad, version, bid, channel, at, ref views, held)| {
                    let total: i64 = views.iter().sum();
                    delivery_decision::ActiveModel {
                        key_id: Set(world.key_id),
                        channel_id: Set(channel),
                        campaign_id: Set(campaign),
                        ad_id: Set(ad),
                        ad_version_id: Set(version),
                        account_id: Set(account),
                        currency: Set("EUR".into()),
                        price_cpm: Set(bid),
                        held: Set(held),
                        posted: Set(charge(bid, total, held)),
                        released: Set(0),
                        views: Set(total),
                        clicks: Set(0),
                        local_day: Set(at.with_timezone(&tz).date_naive()),
                        created_at: Set(at),
                        expires_at: Set(at + Duration::minutes(30)),
                        settled_at: Set(Some(at + Duration::minutes(30))),
                        ..Default::default()
                    }
                },
            )
            .collect();
        let first_id: i64 = {
            let before: Option<i64> = delivery_decision::Entity::find()
                .select_only()
                .column_as(sea_orm::sea_query::Expr::cust("MAX(id)"), "m")
                .into_tuple()
                .one(&txn)
                .await
                .map_err(dberr)?
                .flatten();
            before.unwrap_or(0) + 1
        };
        for chunk in rows.chunks(500) {
            delivery_decision::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await
                .map_err(dberr)?;
        }
        let ids: Vec<i64> = delivery_decision::Entity::find()
            .select_only()
            .column(delivery_decision::Column::Id)
            .filter(delivery_decision::Column::Id.gte(first_id))
            .order_by_asc(delivery_decision::Column::Id)
            .into_tuple()
            .all(&txn)
            .await
            .map_err(dberr)?;
        if ids.len() != planned.len() {
            return Err("decision ids did not come back in order".into());
        }
        let mut rollups = Rollups::new();
        let mut events = Vec::with_capacity(n * per);
        for (&id, &(campaign, ad, _, bid, channel, at, ref views, held)) in ids.iter().zip(&planned)
        {
            let mut seen = 0;
            let mut posted = 0;
            for (k, &v) in views.iter().enumerate() {
                seen += v;
                let due = charge(bid, seen, held);
                let now_posted = Ord::max(due - posted, 0);
                posted += now_posted;
                let at = at + Duration::seconds(k as i64 * 20);
                let clicks = i64::from(k % 7 == 0);
                let day = at.with_timezone(&tz).date_naive();
                let sums = rollups
                    .entry((campaign, ad, channel, day))
                    .or_insert((account, 0, 0, 0));
                sums.1 += v;
                sums.2 += clicks;
                sums.3 += now_posted;
                events.push(delivery_event::ActiveModel {
                    key_id: Set(world.key_id),
                    event_id: Set(format!("bulk-{next_event}")),
                    decision_id: Set(id),
                    views: Set(v),
                    clicks: Set(clicks),
                    at: Set(at),
                    posted: Set(now_posted),
                    day: Set(Some(day)),
                    created_at: Set(at),
                    ..Default::default()
                });
                next_event += 1;
            }
        }
        for chunk in events.chunks(500) {
            delivery_event::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await
                .map_err(dberr)?;
        }
        let rollups: BTreeMap<reports::rollup::Key, reports::rollup::Add> = rollups
            .into_iter()
            .map(|(key, (account, views, clicks, spend))| {
                let add = reports::rollup::Add {
                    account,
                    views,
                    clicks,
                    spend,
                    reversed: 0,
                };
                (key, add)
            })
            .collect();
        reports::rollup::add(&txn, &rollups).await.map_err(dberr)?;
        txn.commit().await.map_err(dberr)?;
        written += n;
        if written.is_multiple_of(per_txn * 20) || written == decisions_total {
            println!(
                "set-up: {} of {} events written",
                written * per,
                decisions_total * per
            );
        }
    }
    Ok(next_event)
}
