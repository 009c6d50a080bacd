//! The privacy fold: a channel whose views in the period are below the threshold is not shown
//! on its own but added to "Other channels", so a report never singles out a tiny audience;
//! the rows still add up exactly to the totals. Pure.

use super::query::{OTHER_CHANNELS, Sums};

/// Channel rows with every channel below `min_views` merged into one [`OTHER_CHANNELS`] row
/// (last, present only when something was folded), the rest by spend, then views, then id.
/// Returns the rows and how many channels were folded.
pub fn fold_channels(rows: Vec<(i64, Sums)>, min_views: i64) -> (Vec<(i64, Sums)>, u64) {
    let mut other = Sums::default();
    let mut folded = 0u64;
    let mut kept: Vec<(i64, Sums)> = Vec::with_capacity(rows.len());
    for (channel, sums) in rows {
        if sums.views < min_views {
            other.add(sums);
            folded += 1;
        } else {
            kept.push((channel, sums));
        }
    }
    kept.sort_by(|a, b| (b.1.spend, b.1.views, a.0).cmp(&(a.1.spend, a.1.views, b.0)));
    if folded > 0 {
        kept.push((OTHER_CHANNELS, other));
    }
    (kept, folded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Micros;
    use proptest::prelude::*;

    fn sums(views: i64, clicks: i64, spend: i64) -> Sums {
        Sums {
            views,
            clicks,
            spend: Micros(spend),
        }
    }

    #[test]
    fn small_channels_become_one_other_row_at_the_end() {
        let rows = vec![
            (1, sums(99, 1, 50)),
            (2, sums(100, 2, 70)),
            (3, sums(5_000, 40, 2_500)),
            (4, sums(0, 0, 0)),
        ];
        let (kept, folded) = fold_channels(rows, 100);
        assert_eq!(folded, 2);
        assert_eq!(
            kept,
            vec![
                (3, sums(5_000, 40, 2_500)),
                (2, sums(100, 2, 70)),
                (OTHER_CHANNELS, sums(99, 1, 50)),
            ]
        );
        assert_eq!(fold_channels(vec![(3, sums(5, 0, 1))], 0).1, 0);
    }

    proptest! {
        #[test]
        fn folding_keeps_the_totals_and_hides_every_small_channel(
            rows in proptest::collection::vec((0i64..500, 0i64..50, 0i64..1_000_000), 0..60),
            min_views in 0i64..300,
        ) {
            let rows: Vec<(i64, Sums)> = rows
                .into_iter()
                .enumerate()
                .map(|(i, (v, c, s))| (i as i64 + 1, sums(v, c, s)))
                .collect();
            let mut before = Sums::default();
            rows.iter().for_each(|(_, s)| before.add(*s));
            let (kept, _) = fold_channels(rows, min_views);
            let mut after = Sums::default();
            kept.iter().for_each(|(_, s)| after.add(*s));
            prop_assert_eq!(before, after);
            prop_assert!(kept.iter().all(|(id, s)| *id == OTHER_CHANNELS || s.views >= min_views));
        }
    }
}
