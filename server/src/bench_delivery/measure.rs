//! The in-process measurements: candidate selection alone, decisions (sequential and
//! concurrent), batched events, and the baseline of one bare single-row insert transaction per
//! request on the same database.

use super::{Options, setup::World};
use app::service::{
    delivery::{self, Decided, DeliveryEngine, EventInput, EventResult},
    ledger,
};
use chrono::Utc;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use std::{
    hint::black_box,
    time::{Duration, Instant},
};

/// A decision that won an ad (events are sent for it).
#[derive(Clone, Copy, Debug)]
pub struct Decision {
    pub id: i64,
}

/// Slots to decide: random eligible channels, each slot id used once in the run.
pub struct Traffic<'a> {
    world: &'a World,
    rng: StdRng,
    next_slot: u64,
}

impl<'a> Traffic<'a> {
    pub fn new(world: &'a World, seed: u64) -> Self {
        Self {
            world,
            rng: StdRng::seed_from_u64(seed ^ 0x51075),
            next_slot: 0,
        }
    }

    /// `n` (channel handle, slot id) pairs.
    pub fn next(&mut self, n: usize) -> Vec<(String, String)> {
        let eligible = &self.world.eligible;
        if eligible.is_empty() {
            return Vec::new();
        }
        (0..n)
            .map(|_| {
                self.next_slot += 1;
                let handle = eligible[self.rng.random_range(0..eligible.len())].clone();
                (handle, format!("bench-slot-{}", self.next_slot))
            })
            .collect()
    }
}

/// Latencies and outcomes of one phase of requests.
#[derive(Debug, Default)]
pub struct Timings {
    /// Nanoseconds of each request.
    samples: Vec<u64>,
    pub wall: Duration,
    pub ads: usize,
    pub no_ads: usize,
    pub errors: usize,
    pub first_error: Option<String>,
}

impl Timings {
    pub fn merge(&mut self, other: Timings) {
        self.samples.extend(other.samples);
        self.ads += other.ads;
        self.no_ads += other.no_ads;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    pub fn record(&mut self, started: Instant, outcome: Result<bool, String>) {
        self.samples.push(started.elapsed().as_nanos() as u64);
        match outcome {
            Ok(true) => self.ads += 1,
            Ok(false) => self.no_ads += 1,
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }

    /// Requests per second of wall-clock time.
    pub fn per_s(&self) -> f64 {
        self.samples.len() as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    pub fn percentile_ms(&self, p: usize) -> f64 {
        percentile(&self.samples, p) as f64 / 1e6
    }

    pub fn line(&self, what: &str) -> String {
        let mut line = format!(
            "{what}: n={} per_s={:.0} p50_ms={:.2} p99_ms={:.2} max_ms={:.1} ads={} no_ad={} errors={}",
            self.samples.len(),
            self.per_s(),
            self.percentile_ms(50),
            self.percentile_ms(99),
            self.percentile_ms(100),
            self.ads,
            self.no_ads,
            self.errors,
        );
        if let Some(e) = &self.first_error {
            line.push_str(&format!(" first_error={e:?}"));
        }
        line
    }
}

/// The `p`th percentile (nearest rank) of unsorted samples; 0 when there are none.
pub fn percentile(samples: &[u64], p: usize) -> u64 {
    if samples.is_empty() {
        return 0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = (sorted.len() * p).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Candidate selection alone, in memory.
pub struct Selection {
    pub p50_us: f64,
    pub p99_us: f64,
    pub mean_candidates: f64,
    pub n: usize,
}

impl Selection {
    pub fn line(&self) -> String {
        format!(
            "candidate selection: n={} p50_us={:.1} p99_us={:.1} mean_candidates={:.0}",
            self.n, self.p50_us, self.p99_us, self.mean_candidates
        )
    }
}

/// Times `candidates` over random eligible channels (after as many warm-up calls), and checks
/// a few answers against a full scan.
pub fn selection(engine: &DeliveryEngine, world: &World, options: &Options) -> Selection {
    let channels = engine.channels();
    let index = engine.campaigns();
    let settings = channels
        .settings
        .unwrap_or(app::service::forecast::index::IndexSettings {
            min_subscribers: 0,
            slots_per_day: 0,
        });
    let mut rng = StdRng::seed_from_u64(options.seed ^ 0x5E1EC7);
    let probes: Vec<_> = (0..options.selections.max(1))
        .filter_map(|_| {
            let handle = world
                .eligible
                .get(rng.random_range(0..world.eligible.len().max(1)))?;
            channels.by_handle(handle).map(|c| &c.facts)
        })
        .collect();
    let now = Utc::now();
    for facts in &probes {
        black_box(index.candidates(facts, settings, now));
    }
    let mut found = 0usize;
    let samples: Vec<u64> = probes
        .iter()
        .map(|facts| {
            let started = Instant::now();
            let candidates = index.candidates(black_box(facts), settings, now);
            let elapsed = started.elapsed().as_nanos() as u64;
            found += candidates.len();
            elapsed
        })
        .collect();
    for facts in probes.iter().take(20) {
        let mut fast: Vec<i64> = index
            .candidates(facts, settings, now)
            .iter()
            .map(|c| c.id)
            .collect();
        let mut slow: Vec<i64> = index
            .scan(facts, settings, now)
            .iter()
            .map(|c| c.id)
            .collect();
        fast.sort_unstable();
        slow.sort_unstable();
        assert_eq!(fast, slow, "candidate index and scan disagree");
    }
    Selection {
        p50_us: percentile(&samples, 50) as f64 / 1e3,
        p99_us: percentile(&samples, 99) as f64 / 1e3,
        mean_candidates: found as f64 / samples.len().max(1) as f64,
        n: samples.len(),
    }
}

/// Decides `slots` in-process with `tasks` concurrent tasks (each sequential).
pub async fn decisions(
    db: &DatabaseConnection,
    engine: &DeliveryEngine,
    key_id: i64,
    slots: Vec<(String, String)>,
    tasks: usize,
) -> (Timings, Vec<Decision>) {
    let mut shares: Vec<Vec<(String, String)>> = vec![Vec::new(); tasks];
    for (i, slot) in slots.into_iter().enumerate() {
        shares[i % tasks].push(slot);
    }
    let started = Instant::now();
    let handles: Vec<_> = shares
        .into_iter()
        .map(|share| {
            let (db, engine) = (db.clone(), engine.clone());
            tokio::spawn(async move {
                let mut timings = Timings::default();
                let mut made = Vec::new();
                for (handle, slot) in share {
                    let t = Instant::now();
                    let decided =
                        delivery::decide(&db, &engine, key_id, &handle, &slot, Utc::now()).await;
                    let outcome = match decided {
                        Ok(Decided::Ad(a)) => {
                            made.push(Decision { id: a.decision_id });
                            Ok(true)
                        }
                        Ok(Decided::NoAd) => Ok(false),
                        Err(e) => Err(e.to_string()),
                    };
                    timings.record(t, outcome);
                }
                (timings, made)
            })
        })
        .collect();
    let mut timings = Timings::default();
    let mut made = Vec::new();
    for handle in handles {
        match handle.await {
            Ok((t, m)) => {
                timings.merge(t);
                made.extend(m);
            }
            Err(e) => {
                timings.errors += 1;
                timings.first_error.get_or_insert(e.to_string());
            }
        }
    }
    timings.wall = started.elapsed();
    (timings, made)
}

/// One phase of batched events.
#[derive(Debug, Default)]
pub struct Phase {
    pub batch: usize,
    pub tasks: usize,
    pub events: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub failed_batches: usize,
    pub per_s: f64,
    pub batch_p50_ms: f64,
    pub batch_p99_ms: f64,
}

/// Sends `count` view/click increments for the decisions `made` (cycling through them, event
/// ids numbered from `next_event` on) in batches of `batch` with `tasks` concurrent tasks.
#[expect(clippy::too_many_arguments, reason = "one phase is all of these")]
pub async fn events(
    db: &DatabaseConnection,
    engine: &DeliveryEngine,
    key_id: i64,
    made: &[Decision],
    next_event: &mut usize,
    count: usize,
    batch: usize,
    tasks: usize,
) -> Phase {
    let mut phase = Phase {
        batch,
        tasks,
        ..Phase::default()
    };
    if made.is_empty() || count == 0 {
        return phase;
    }
    let mut rng = StdRng::seed_from_u64(*next_event as u64 ^ 0xE7E7);
    let events: Vec<EventInput> = (*next_event..*next_event + count)
        .map(|i| {
            let views = rng.random_range(50..=1_500);
            EventInput {
                event_id: format!("bench-event-{i}"),
                decision_id: made[i % made.len()].id,
                views,
                clicks: rng.random_range(0..=views / 50),
                at: Utc::now(),
            }
        })
        .collect();
    *next_event += count;
    let mut shares: Vec<Vec<Vec<EventInput>>> = vec![Vec::new(); tasks.max(1)];
    for (i, chunk) in events.chunks(batch).enumerate() {
        shares[i % tasks.max(1)].push(chunk.to_vec());
    }
    let started = Instant::now();
    let handles: Vec<_> = shares
        .into_iter()
        .map(|share| {
            let (db, engine) = (db.clone(), engine.clone());
            tokio::spawn(async move {
                let mut out = (Vec::new(), 0usize, 0usize, 0usize);
                for mut batch in share {
                    let now = Utc::now();
                    for e in &mut batch {
                        e.at = now;
                    }
                    let t = Instant::now();
                    match delivery::ingest(&db, &engine, key_id, &batch, now).await {
                        Ok(results) => {
                            for r in results {
                                match r {
                                    EventResult::Accepted { .. } => out.1 += 1,
                                    _ => out.2 += 1,
                                }
                            }
                        }
                        Err(e) => {
                            if out.3 == 0 {
                                eprintln!("an event batch failed: {e}");
                            }
                            out.3 += 1;
                        }
                    }
                    out.0.push(t.elapsed().as_nanos() as u64);
                }
                out
            })
        })
        .collect();
    let mut samples = Vec::new();
    for handle in handles {
        if let Ok((s, accepted, rejected, failed)) = handle.await {
            samples.extend(s);
            phase.accepted += accepted;
            phase.rejected += rejected;
            phase.failed_batches += failed;
        }
    }
    let wall = started.elapsed().as_secs_f64().max(1e-9);
    phase.events = count;
    phase.per_s = (phase.accepted + phase.rejected) as f64 / wall;
    phase.batch_p50_ms = percentile(&samples, 50) as f64 / 1e6;
    phase.batch_p99_ms = percentile(&samples, 99) as f64 / 1e6;
    phase
}

/// The baseline at each concurrency level of the decision phases: `n` bare single-row INSERTs,
/// each in its own transaction (begun as the services begin theirs), per second.
pub async fn baselines(
    db: &DatabaseConnection,
    phases: &[(usize, Timings)],
    n: usize,
) -> Result<Vec<(usize, f64)>, String> {
    let backend = db.get_database_backend();
    let (create, insert) = match backend {
        DbBackend::Postgres => (
            "CREATE TABLE bench_baseline (id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, note TEXT NOT NULL)",
            "INSERT INTO bench_baseline (at, note) VALUES ($1, $2)",
        ),
        _ => (
            "CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, note TEXT NOT NULL)",
            "INSERT INTO bench_baseline (at, note) VALUES (?, ?)",
        ),
    };
    db.execute_unprepared(create)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for &(tasks, _) in phases {
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let db = db.clone();
                let rows = n / tasks + usize::from(t < n % tasks);
                tokio::spawn(async move {
                    for i in 0..rows {
                        let txn = ledger::begin(&db).await.map_err(|e| e.to_string())?;
                        txn.execute_raw(Statement::from_sql_and_values(
                            backend,
                            insert,
                            [Utc::now().into(), format!("row {t}-{i}").into()],
                        ))
                        .await
                        .map_err(|e| e.to_string())?;
                        txn.commit().await.map_err(|e| e.to_string())?;
                    }
                    Ok::<_, String>(rows)
                })
            })
            .collect();
        let mut done = 0;
        for handle in handles {
            done += handle.await.map_err(|e| e.to_string())??;
        }
        out.push((
            tasks,
            done as f64 / started.elapsed().as_secs_f64().max(1e-9),
        ));
    }
    Ok(out)
}
