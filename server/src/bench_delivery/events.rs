//! Batched events: view and click increments for the decisions the run made, sent through
//! the ingest service in batches, sequentially and concurrently.

use super::measure::{Decision, percentile};
use app::service::delivery::{self, DeliveryEngine, EventInput, EventResult};
use chrono::Utc;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::DatabaseConnection;
use std::time::Instant;

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
