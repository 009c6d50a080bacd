//! The per-key rate limit of the delivery API: a GCRA per key, in memory on each instance (a
//! shared, database-backed limit would cost a write per request on the hottest path). With N
//! instances behind a balancer a key gets at most N times the rate.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Requests per second and burst allowed per key (`HERALD_DELIVERY_RATE`, `…_BURST`).
#[derive(Clone, Debug)]
pub struct KeyLimiter {
    interval: Duration,
    burst: u32,
    tat: Arc<Mutex<HashMap<i64, Instant>>>,
}

impl Default for KeyLimiter {
    fn default() -> Self {
        Self::new(2_000, 4_000)
    }
}

impl KeyLimiter {
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / per_second.max(1),
            burst: burst.max(1),
            tat: Arc::default(),
        }
    }

    /// Counts one request of `key` at `now`, or says how long until one is allowed.
    pub fn check(&self, key: i64, now: Instant) -> Result<(), Duration> {
        let mut tat = match self.tat.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let window = self.interval * self.burst;
        let current = tat.get(&key).copied().unwrap_or(now).max(now);
        let next = current + self.interval;
        if next > now + window {
            return Err(next - now - window);
        }
        tat.insert(key, next);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = KeyLimiter::new(10, 3);
        let t = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(1, t), Ok(()));
        }
        assert!(limiter.check(1, t).is_err());
        assert_eq!(limiter.check(2, t), Ok(()), "keys are counted apart");
        assert_eq!(limiter.check(1, t + Duration::from_millis(100)), Ok(()));
    }
}
