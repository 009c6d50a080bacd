//! The forecast's view of the auction: how much of a targeting's daily capacity a bid can
//! expect to win against the running campaigns that also target those channels, and which
//! bids would win about half and about nine tenths of it.
//!
//! Model. Each running campaign wants a share of every slot it targets: the views its budget
//! buys in a day (its daily budget, or its total budget spread over the days to its end, or
//! over 30 days when it has none) at its bid, divided by the daily capacity it targets (at most
//! all of it). That share is spread over the (topic, language) buckets of the catalog index in
//! proportion to the capacity it targets in each. In a bucket, a bid wins what the campaigns
//! bidding more do not take (half of what those bidding the same take), never less than
//! nothing. Bids are compared on a fixed logarithmic scale of [`LEVELS`] steps about 5.5 %
//! apart, so that each bucket keeps one array of "share taken by bids at or above this step"
//! and a forecast reads one number per matching bucket: a few buckets for a typical
//! targeting, all of them (still microseconds) for an untargeted one.
//!
//! The prices recently paid on the matching channels (the last [`RECENT_DAYS`] days of
//! delivery, from the rollups) are shown beside the estimate.

use super::index::CatalogIndex;
use crate::model::{Micros, Targeting};
use chrono::{DateTime, Utc};
use std::time::Instant;

/// Steps of the bid scale.
pub const LEVELS: usize = 256;
/// The lowest bid on the scale (CPM, micro-units): 0.01.
const LOW: f64 = 10_000.0;
/// The highest (CPM, micro-units): 10,000.
const HIGH: f64 = 10_000_000_000.0;
/// Days of delivery the recent prices cover.
pub const RECENT_DAYS: i64 = 7;
/// Days an open-ended campaign's total budget is assumed to last.
pub const OPEN_ENDED_DAYS: i64 = 30;

/// The bid of step `g`.
pub fn level_bid(g: usize) -> i64 {
    (LOW * (HIGH / LOW).powf(g as f64 / LEVELS as f64)).round() as i64
}

/// The step of a bid: the highest whose bid is at or below it.
pub fn level_of(bid: i64) -> usize {
    if (bid as f64) < LOW {
        return 0;
    }
    let g = ((bid as f64 / LOW).ln() / (HIGH / LOW).ln() * LEVELS as f64).floor() as usize;
    // Floating point may land one step off at a boundary.
    let mut g = g.min(LEVELS - 1);
    while g > 0 && level_bid(g) > bid {
        g -= 1;
    }
    while g + 1 < LEVELS && level_bid(g + 1) <= bid {
        g += 1;
    }
    g
}

/// Views a campaign's budget buys per day at its bid: its daily budget, or its total budget
/// spread over the days to its end (over [`OPEN_ENDED_DAYS`] when it has none).
pub fn daily_demand(
    bid: Micros,
    daily: Option<Micros>,
    total: Micros,
    end_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> i64 {
    let per_day = daily.unwrap_or_else(|| {
        let days = end_at.map_or(OPEN_ENDED_DAYS, |end| ((end - now).num_hours() + 23) / 24);
        Micros(total.0 / days.max(1))
    });
    bid.views_for(per_day).unwrap_or(0)
}

/// A running campaign as competition.
#[derive(Clone, Debug)]
pub struct Competitor {
    pub bid: Micros,
    /// Views its budget buys per day at its bid.
    pub daily_views: i64,
    pub targeting: Targeting,
}

/// What a bid can expect against the competition.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Estimate {
    /// Share of the matching capacity the bid is expected to win, 0–1.
    pub win_rate: f64,
    /// The lowest bid expected to win about half of it, and about nine tenths.
    pub bid_for_half: Option<Micros>,
    pub bid_for_most: Option<Micros>,
    /// The average price paid per thousand views on the matching channels recently.
    pub recent_cpm: Option<Micros>,
    /// Running campaigns competing for the matching channels.
    pub competitors: u32,
}

/// The competition of one catalog index and one set of running campaigns.
#[derive(Debug, Default)]
pub struct Competition {
    pub catalog_version: i64,
    pub delivery_version: i64,
    /// When it was built (`None`: never; the empty competition of an instance without
    /// delivery).
    pub built_at: Option<Instant>,
    /// The platform's minimum CPM.
    pub floor: Micros,
    /// Per bucket: the share of its capacity taken by bids at or above each step (index
    /// `LEVELS` is zero), or `None` where no campaign competes.
    taken: Vec<Option<Box<[f32]>>>,
    /// Per bucket: how many campaigns compete there.
    counts: Vec<u32>,
    /// Per bucket: (views, spend) delivered in the last [`RECENT_DAYS`] days.
    recent: Vec<(i64, i64)>,
}

impl Competition {
    /// Spreads `competitors` over the index's buckets; `recent` is (channel, views, spend) of
    /// the last days' delivery.
    pub fn build(
        index: &CatalogIndex,
        delivery_version: i64,
        floor: Micros,
        competitors: &[Competitor],
        recent: &[(i64, i64, i64)],
    ) -> Self {
        let n = index.bucket_count();
        // Shares by the step of the bid, per bucket (allocated where someone competes), then
        // summed from the top: memory and time stay bounded by buckets × steps however broad
        // the campaigns' targetings are.
        let mut taken: Vec<Option<Box<[f32]>>> = vec![None; n];
        let mut counts = vec![0u32; n];
        for c in competitors {
            let parts = index.capacity_by_bucket(&c.targeting);
            let wanted: i64 = parts.iter().map(|(_, cap)| cap).sum();
            if wanted <= 0 || c.daily_views <= 0 {
                continue;
            }
            let share = (c.daily_views as f64 / wanted as f64).min(1.0);
            let level = level_of(c.bid.0);
            for (b, capacity) in parts {
                let whole = index.bucket_capacity(b);
                if whole > 0 {
                    let at = taken[b as usize]
                        .get_or_insert_with(|| vec![0f32; LEVELS + 1].into_boxed_slice());
                    at[level] += (share * capacity as f64 / whole as f64) as f32;
                    counts[b as usize] += 1;
                }
            }
        }
        for at in taken.iter_mut().flatten() {
            for g in (0..LEVELS).rev() {
                at[g] += at[g + 1];
            }
        }
        let mut by_bucket = vec![(0i64, 0i64); n];
        for &(channel, views, spend) in recent {
            if let Some(b) = index.bucket_of(channel) {
                by_bucket[b as usize].0 += views;
                by_bucket[b as usize].1 += spend;
            }
        }
        Self {
            catalog_version: index.version,
            delivery_version,
            built_at: Some(Instant::now()),
            floor,
            taken,
            counts,
            recent: by_bucket,
        }
    }

    /// Views a bid at step `g` is expected to win per day over `parts` (bucket, capacity).
    fn won(&self, parts: &[(u32, i64)], g: usize) -> f64 {
        parts
            .iter()
            .map(|&(b, capacity)| {
                let taken = match self.taken.get(b as usize) {
                    Some(Some(at)) => f64::from(at[g + 1] + (at[g] - at[g + 1]) / 2.0),
                    _ => 0.0,
                };
                capacity as f64 * (1.0 - taken.min(1.0))
            })
            .sum()
    }

    /// The estimate for a bid over a targeting's capacity per bucket (from
    /// [`CatalogIndex::capacity_by_bucket`]).
    pub fn estimate(&self, parts: &[(u32, i64)], bid: Micros) -> Estimate {
        let floor = self.floor;
        let capacity: i64 = parts.iter().map(|(_, c)| c).sum();
        let (views, spend) = parts.iter().fold((0i64, 0i64), |(v, s), &(b, _)| {
            let (rv, rs) = self.recent.get(b as usize).copied().unwrap_or((0, 0));
            (v + rv, s + rs)
        });
        let recent_cpm = (views > 0).then(|| {
            Micros(i64::try_from(i128::from(spend) * 1_000 / i128::from(views)).unwrap_or(i64::MAX))
        });
        let competitors = parts
            .iter()
            .map(|&(b, _)| self.counts.get(b as usize).copied().unwrap_or(0))
            .max()
            .unwrap_or(0);
        if capacity <= 0 {
            return Estimate {
                win_rate: 1.0,
                recent_cpm,
                competitors,
                ..Estimate::default()
            };
        }
        let whole = capacity as f64;
        let bid_for = |share: f64| {
            let from = level_of(floor.0);
            if self.won(parts, from) >= share * whole {
                return Some(floor);
            }
            // The smallest step that wins the share (winnings only grow with the bid).
            let (mut lo, mut hi) = (from, LEVELS - 1);
            if self.won(parts, hi) < share * whole {
                return None;
            }
            while lo + 1 < hi {
                let mid = (lo + hi) / 2;
                if self.won(parts, mid) >= share * whole {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            Some(Micros(level_bid(hi)).ceil_to_cent())
        };
        Estimate {
            win_rate: (self.won(parts, level_of(bid.0)) / whole).clamp(0.0, 1.0),
            bid_for_half: bid_for(0.5),
            bid_for_most: bid_for(0.9),
            recent_cpm,
            competitors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_is_monotonic_and_round_trips() {
        for g in 0..LEVELS {
            assert!(level_bid(g) < level_bid(g + 1), "step {g}");
            assert_eq!(level_of(level_bid(g)), g, "step {g}");
            assert_eq!(
                level_of(level_bid(g + 1) - 1),
                g,
                "just under step {}",
                g + 1
            );
        }
        assert_eq!(level_of(0), 0);
        assert_eq!(level_of(i64::MAX), LEVELS - 1);
    }
}
