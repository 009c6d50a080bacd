//! The in-process measurements of reads and decisions: candidate selection alone, and
//! decisions (sequential and concurrent) with their latencies.

use super::{Options, setup::World};
use app::service::delivery::{self, Decided, DeliveryEngine};
use chrono::Utc;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::DatabaseConnection;
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
