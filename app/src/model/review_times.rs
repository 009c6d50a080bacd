//! The published review-time figures, and the statistics behind them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The window of the published review-time figures.
pub const REVIEW_TIME_DAYS: i64 = 7;

/// Published review-time figures over the last [`REVIEW_TIME_DAYS`] days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewTimes {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// First decisions (appeals are counted apart).
    pub reviewed: u64,
    pub approved: u64,
    pub median_secs: Option<i64>,
    pub p95_secs: Option<i64>,
    pub appeals_decided: u64,
    /// Items waiting right now, and how long the oldest has waited.
    pub waiting: u64,
    pub oldest_wait_secs: Option<i64>,
}

impl ReviewTimes {
    /// Share of first decisions that approved, in whole percent.
    pub fn approval_percent(&self) -> Option<u64> {
        (self.reviewed > 0).then(|| (self.approved * 100 + self.reviewed / 2) / self.reviewed)
    }
}

/// The nearest-rank percentile `p` (0–100) of `sorted` (ascending); `None` when empty.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (u64::from(p.min(100)) * sorted.len() as u64)
        .div_ceil(100)
        .max(1);
    sorted.get(rank as usize - 1).copied()
}

/// The median of `sorted` (ascending): the mean of the middle two for an even count, rounded
/// down; `None` when empty.
pub fn median(sorted: &[i64]) -> Option<i64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]).div_euclid(2)),
    }
}

/// A duration for people: "45 s", "12 min", "3 h 5 min", "2 d 4 h".
pub fn format_duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => match (secs % 3600) / 60 {
            0 => format!("{} h", secs / 3600),
            m => format!("{} h {m} min", secs / 3600),
        },
        _ => match (secs % 86_400) / 3600 {
            0 => format!("{} d", secs / 86_400),
            h => format!("{} d {h} h", secs / 86_400),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let sorted: Vec<i64> = (1..=20).collect();
        assert_eq!(percentile(&sorted, 95), Some(19));
        assert_eq!(percentile(&sorted, 100), Some(20));
        assert_eq!(percentile(&sorted, 50), Some(10));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 95), None);
        assert_eq!(median(&[1, 2, 3, 10]), Some(2));
        assert_eq!(median(&[1, 5, 9]), Some(5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(-3), "0 s");
        assert_eq!(format_duration(59), "59 s");
        assert_eq!(format_duration(600), "10 min");
        assert_eq!(format_duration(3600), "1 h");
        assert_eq!(format_duration(3 * 3600 + 5 * 60), "3 h 5 min");
        assert_eq!(format_duration(2 * 86_400 + 4 * 3600 + 9), "2 d 4 h");
    }

    #[test]
    fn approval_rate_rounds_to_whole_percent() {
        let times = ReviewTimes {
            from: Utc::now(),
            to: Utc::now(),
            reviewed: 3,
            approved: 2,
            median_secs: None,
            p95_secs: None,
            appeals_decided: 0,
            waiting: 0,
            oldest_wait_secs: None,
        };
        assert_eq!(times.approval_percent(), Some(67));
    }
}
