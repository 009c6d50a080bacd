//! Budget rules of one slot (pure): what a slot is expected to cost, the hard caps it must fit
//! (total budget, today's allowance in the account's time zone, the balance), and pacing.
//!
//! Pacing spreads a daily budget over the scheduled hours left in the account's local day: at
//! the start of each scheduled hour the campaign's pace for that hour is
//! `committed so far + (daily budget − committed so far) ÷ scheduled hours left (this one
//! included)`, and the campaign takes new slots only while its committed spend for the day is
//! below that pace. A single slot may carry it past the hour's pace (never past the daily
//! budget), after which it waits for the next hour, so the budget is not gone by 9 am and an
//! hour that spent less leaves more for the hours after it.

use crate::model::{Micros, Schedule};
use chrono::{NaiveDateTime, Timelike};

/// The expected cost of a slot: the channel's average views at `price` per thousand, rounded
/// down to the micro. Views beyond the average are served free, so this is also the most the
/// slot can ever be charged. `None` when it is nothing (or overflows).
pub fn expected_cost(avg_views: i64, price: Micros) -> Option<Micros> {
    price.cpm_cost(avg_views.max(0)).filter(|c| c.0 > 0)
}

/// The largest channel (in average views per post) whose slot at `bid` costs at most `room`:
/// the inverse of [`expected_cost`]. A campaign with `room` left to commit is a candidate for
/// a channel only when its slot fits, so channels larger than this are skipped.
pub fn largest_slot_views(room: Micros, bid: Micros) -> i64 {
    if bid.0 <= 0 || room.0 < 0 {
        return 0;
    }
    // The largest v with ⌊v · bid / 1000⌋ ≤ room: v · bid < (room + 1) · 1000.
    let most = ((i128::from(room.0) + 1) * 1_000 - 1) / i128::from(bid.0);
    i64::try_from(most).unwrap_or(i64::MAX)
}

/// Scheduled hours of the local day from the current hour to the last, the current included
/// (every hour counts when there is no schedule).
pub fn hours_left(schedule: Option<&Schedule>, local: NaiveDateTime) -> i64 {
    let from = local.hour();
    match schedule {
        None => i64::from(24 - from),
        Some(s) => (from..24)
            .filter(|&h| s.allows(local.with_hour(h).unwrap_or(local)))
            .count() as i64,
    }
}

/// The pace for the current hour: committed spend allowed by its end, given what was committed
/// when it began (`hour_base`).
pub fn hour_pace(daily: Micros, hour_base: Micros, hours_left: i64) -> Micros {
    let rest = (daily.0 - hour_base.0).max(0);
    Micros(hour_base.0 + rest / hours_left.max(1))
}

/// Where a campaign's money stands for one slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budgets {
    pub total: Micros,
    /// Posted + held, ever.
    pub committed: Micros,
    pub daily: Option<Micros>,
    /// Posted + held for decisions of the current local day.
    pub committed_today: Micros,
    /// `committed_today` when the current local hour began (the hour's pacing base).
    pub hour_base: Micros,
    /// Scheduled hours left today, the current one included.
    pub hours_left: i64,
    /// The ad account's available balance.
    pub balance: Micros,
    /// The owner's low-balance warning threshold, if set.
    pub low_balance: Option<Micros>,
    /// The ledger accounts a hold moves money between (the ad account's balance, the
    /// campaign's holds), when they exist yet: read with the budgets, so a hold need not look
    /// them up.
    pub balance_account: Option<i64>,
    pub holds_account: Option<i64>,
}

/// Why a campaign cannot take a slot (the first reason that applies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    TotalBudget,
    DailyBudget,
    Pacing,
    Balance,
}

/// Whether a slot costing `cost` fits every cap and the pace: the whole cost must fit what is
/// left of the total budget, of today's allowance and of the balance.
pub fn admits(b: &Budgets, cost: Micros) -> Result<(), Blocked> {
    if b.committed.0.saturating_add(cost.0) > b.total.0 {
        return Err(Blocked::TotalBudget);
    }
    if let Some(daily) = b.daily {
        if b.committed_today.0.saturating_add(cost.0) > daily.0 {
            return Err(Blocked::DailyBudget);
        }
        if b.committed_today >= hour_pace(daily, b.hour_base, b.hours_left) {
            return Err(Blocked::Pacing);
        }
    }
    if b.balance < cost {
        return Err(Blocked::Balance);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 7)
            .and_then(|d| d.and_hms_opt(hour, 30, 0))
            .unwrap_or_default()
    }

    #[test]
    fn the_largest_slot_is_the_last_that_fits() {
        for (room, bid) in [
            (1_000_000, 3_000_000),
            (0, 1_500_000),
            (999, 1_000_000),
            (12_345_678, 2_500_001),
            (Micros::units(10_000).0, 500_000),
        ] {
            let (room, bid) = (Micros(room), Micros(bid));
            let v = largest_slot_views(room, bid);
            let cost = |views: i64| bid.cpm_cost(views).expect("no overflow");
            assert!(cost(v) <= room, "{v} views at {bid:?} fit {room:?}");
            assert!(cost(v + 1) > room, "{} views at {bid:?} do not", v + 1);
        }
        assert_eq!(
            largest_slot_views(Micros(1_000_000), Micros(3_000_000)),
            333
        );
        assert_eq!(largest_slot_views(Micros(5), Micros::ZERO), 0);
    }

    #[test]
    fn hours_left_counts_scheduled_hours_only() {
        assert_eq!(hours_left(None, at(0)), 24);
        assert_eq!(hours_left(None, at(23)), 1);
        let mut s = Schedule::default();
        for h in 9..17 {
            s.set(0, h, true); // 2026-12-07 is a Monday.
        }
        assert_eq!(hours_left(Some(&s), at(9)), 8);
        assert_eq!(hours_left(Some(&s), at(16)), 1);
        assert_eq!(hours_left(Some(&s), at(20)), 0);
    }

    #[test]
    fn the_pace_spreads_what_is_left_over_the_hours_left() {
        // €24 a day, nothing spent, 24 hours left: €1 this hour.
        assert_eq!(
            hour_pace(Micros(24_000_000), Micros(0), 24),
            Micros(1_000_000)
        );
        // €12 spent by the last hour: all the rest may go.
        assert_eq!(
            hour_pace(Micros(24_000_000), Micros(12_000_000), 1),
            Micros(24_000_000)
        );
        let b = Budgets {
            total: Micros(100_000_000),
            daily: Some(Micros(24_000_000)),
            hours_left: 24,
            balance: Micros(100_000_000),
            ..Budgets::default()
        };
        // A slot may overshoot the hour's pace…
        assert_eq!(admits(&b, Micros(3_000_000)), Ok(()));
        // …but once the pace is reached, the campaign waits for the next hour.
        let ahead = Budgets {
            committed_today: Micros(1_000_000),
            committed: Micros(1_000_000),
            ..b
        };
        assert_eq!(admits(&ahead, Micros(1)), Err(Blocked::Pacing));
        // The daily budget and the total are hard.
        let late = Budgets {
            hours_left: 1,
            committed_today: Micros(23_000_000),
            hour_base: Micros(23_000_000),
            ..b
        };
        assert_eq!(admits(&late, Micros(1_000_001)), Err(Blocked::DailyBudget));
        assert_eq!(admits(&late, Micros(1_000_000)), Ok(()));
        let spent = Budgets {
            committed: Micros(99_500_000),
            ..b
        };
        assert_eq!(admits(&spent, Micros(600_000)), Err(Blocked::TotalBudget));
        let poor = Budgets {
            balance: Micros(10),
            ..b
        };
        assert_eq!(admits(&poor, Micros(11)), Err(Blocked::Balance));
    }

    #[test]
    fn expected_cost_is_views_at_the_price() {
        assert_eq!(
            expected_cost(2_000, Micros(1_500_000)),
            Some(Micros(3_000_000))
        );
        assert_eq!(expected_cost(0, Micros(1_500_000)), None);
    }
}
