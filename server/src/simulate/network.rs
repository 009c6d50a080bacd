//! A flaky network, seeded: event batches cut, shuffled, held back and sent twice; decisions asked
//! twice.

use rand::{Rng, rngs::StdRng, seq::SliceRandom};

/// Share of event batches sent a second time with the identical body.
pub const RESEND_BATCH: f64 = 0.05;
/// Share of decision requests asked a second time with the same slot id.
pub const REPEAT_DECISION: f64 = 0.02;
/// Share of flushes whose events are shuffled before being cut into batches.
const SHUFFLE: f64 = 0.25;
/// Share of batches held back and sent after the next flush's batches.
const HOLD_BACK: f64 = 0.1;

/// A view report waiting to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEvent {
    /// Unique id of the event (the server's idempotency key for it).
    pub event_id: String,
    /// The decision whose post was viewed.
    pub decision_id: i64,
    /// New views.
    pub views: u64,
    /// New clicks.
    pub clicks: u64,
}

/// Events to send in one request, and whether the network sends it twice.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedBatch {
    /// At most the batch size, at least one.
    pub events: Vec<PendingEvent>,
    /// Send the identical body a second time right after the first.
    pub twice: bool,
}

/// What one flush sends now, and what it holds back for the next flush.
#[derive(Debug, Default, PartialEq)]
pub struct FlushPlan {
    /// Batches to send now, in order.
    pub now: Vec<PlannedBatch>,
    /// Batches to send after the next flush's own batches.
    pub held: Vec<PlannedBatch>,
}

/// Cuts `ready` into batches of at most `batch` events (sometimes shuffled first), marks about
/// [`RESEND_BATCH`] of them to be sent twice and holds about [`HOLD_BACK`] of them back; every
/// event lands in exactly one batch.
pub fn plan_flush(rng: &mut StdRng, mut ready: Vec<PendingEvent>, batch: usize) -> FlushPlan {
    if rng.random_bool(SHUFFLE) {
        ready.shuffle(rng);
    }
    let mut plan = FlushPlan::default();
    for events in ready.chunks(batch.max(1)) {
        let planned = PlannedBatch {
            events: events.to_vec(),
            twice: rng.random_bool(RESEND_BATCH),
        };
        if rng.random_bool(HOLD_BACK) {
            plan.held.push(planned);
        } else {
            plan.now.push(planned);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::traffic::rng_for;

    fn events(n: usize) -> Vec<PendingEvent> {
        (0..n)
            .map(|i| PendingEvent {
                event_id: format!("e{i}"),
                decision_id: i as i64 % 7,
                views: 10,
                clicks: 0,
            })
            .collect()
    }

    fn ids(batches: &[PlannedBatch]) -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| b.events.iter().map(|e| e.event_id.clone()))
            .collect()
    }

    #[test]
    fn every_event_is_planned_once_in_bounded_batches() {
        for seed in 0..100 {
            let plan = plan_flush(&mut rng_for(&[seed]), events(450), 100);
            let all: Vec<&PlannedBatch> = plan.now.iter().chain(&plan.held).collect();
            assert!(all.iter().all(|b| (1..=100).contains(&b.events.len())));
            let mut seen = ids(&plan.now);
            seen.extend(ids(&plan.held));
            seen.sort();
            let mut expected = ids(&[PlannedBatch {
                events: events(450),
                twice: false,
            }]);
            expected.sort();
            assert_eq!(seen, expected);
        }
    }

    #[test]
    fn plans_are_seeded_and_sometimes_flaky() {
        assert_eq!(
            plan_flush(&mut rng_for(&[4]), events(300), 50),
            plan_flush(&mut rng_for(&[4]), events(300), 50)
        );
        let (mut batches, mut twice, mut held, mut shuffled) = (0, 0, 0, 0);
        for seed in 0..2_000 {
            let plan = plan_flush(&mut rng_for(&[seed]), events(40), 10);
            batches += plan.now.len() + plan.held.len();
            twice += plan
                .now
                .iter()
                .chain(&plan.held)
                .filter(|b| b.twice)
                .count();
            held += plan.held.len();
            let mut order = ids(&plan.now);
            order.extend(ids(&plan.held));
            let mut sorted = order.clone();
            sorted.sort_by_key(|id| id[1..].parse::<u32>().unwrap_or(0));
            shuffled += usize::from(order != sorted);
        }
        let share = |n: usize| n as f64 / batches as f64;
        assert!(
            (0.035..0.065).contains(&share(twice)),
            "twice {}",
            share(twice)
        );
        assert!((0.08..0.12).contains(&share(held)), "held {}", share(held));
        assert!((400..1_200).contains(&shuffled), "shuffled {shuffled}");
    }
}
