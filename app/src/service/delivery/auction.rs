//! Who wins a slot and what it pays (pure): the highest CPM bid wins and pays the second-highest
//! bid among the candidates, or the platform minimum CPM when alone — never less than that
//! minimum, never more than its own bid. Equal top bids are broken by a per-slot lottery: each
//! candidate's tie key is a hash of the slot and the campaign, so every tied campaign is equally
//! likely to win any given slot, and asking again for the same slot draws the same winner.

use crate::model::Micros;

/// One campaign's bid for a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bid {
    /// The caller's handle on the candidate (an index into its list).
    pub candidate: usize,
    pub bid: Micros,
    /// Smaller wins among equal bids ([`tie_key`]).
    pub tie: u64,
}

/// The auction's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Won {
    pub candidate: usize,
    /// The CPM the winner pays.
    pub price: Micros,
}

/// The lottery ticket of `campaign` for `slot`: a well-mixed 64-bit hash (SplitMix64 over an
/// FNV-1a of the slot), stable across runs and instances.
pub fn tie_key(slot: &str, campaign: i64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in slot.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = h ^ (campaign as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Runs the second-price auction over the eligible bids (those at or above `floor`; others are
/// ignored). `None` when no bid qualifies.
pub fn run(bids: &[Bid], floor: Micros) -> Option<Won> {
    let mut best: Option<Bid> = None;
    let mut second: Option<Micros> = None;
    for b in bids.iter().filter(|b| b.bid >= floor) {
        match best {
            None => best = Some(*b),
            Some(top)
                if (b.bid, std::cmp::Reverse(b.tie)) > (top.bid, std::cmp::Reverse(top.tie)) =>
            {
                second = Some(second.map_or(top.bid, |s| s.max(top.bid)));
                best = Some(*b);
            }
            Some(_) => second = Some(second.map_or(b.bid, |s| s.max(b.bid))),
        }
    }
    let winner = best?;
    Some(Won {
        candidate: winner.candidate,
        price: second.map_or(floor, |s| s.max(floor)).min(winner.bid),
    })
}

/// Orders candidates as the auction ranks them: by bid, highest first, then by tie key.
pub fn rank(bids: &mut [Bid]) {
    bids.sort_unstable_by(|a, b| b.bid.cmp(&a.bid).then(a.tie.cmp(&b.tie)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bid(candidate: usize, micros: i64, tie: u64) -> Bid {
        Bid {
            candidate,
            bid: Micros(micros),
            tie,
        }
    }

    #[test]
    fn second_price_floor_and_alone() {
        let floor = Micros(500_000);
        assert_eq!(run(&[], floor), None);
        assert_eq!(
            run(&[bid(0, 2_000_000, 1)], floor),
            Some(Won {
                candidate: 0,
                price: floor
            })
        );
        assert_eq!(
            run(
                &[
                    bid(0, 2_000_000, 1),
                    bid(1, 3_000_000, 9),
                    bid(2, 1_000_000, 0)
                ],
                floor
            ),
            Some(Won {
                candidate: 1,
                price: Micros(2_000_000)
            })
        );
        // Below the floor does not take part, not even as the second price.
        assert_eq!(
            run(&[bid(0, 2_000_000, 1), bid(1, 100_000, 0)], floor),
            Some(Won {
                candidate: 0,
                price: floor
            })
        );
        // A tie: the smaller ticket wins and pays the tied bid.
        assert_eq!(
            run(&[bid(0, 2_000_000, 7), bid(1, 2_000_000, 3)], floor),
            Some(Won {
                candidate: 1,
                price: Micros(2_000_000)
            })
        );
    }

    #[test]
    fn ties_are_shared_fairly_across_slots() {
        let mut wins = [0u32; 4];
        for slot in 0..20_000 {
            let slot = format!("slot-{slot}");
            let bids: Vec<Bid> = (0..4)
                .map(|c| bid(c, 1_000_000, tie_key(&slot, c as i64 + 10)))
                .collect();
            if let Some(w) = run(&bids, Micros(1)) {
                wins[w.candidate] += 1;
            }
        }
        for w in wins {
            assert!((4_500..=5_500).contains(&w), "{wins:?}");
        }
    }

    proptest! {
        #[test]
        fn the_winner_has_the_top_bid_and_pays_between_floor_and_its_bid(
            bids in prop::collection::vec((1i64..5_000_000, any::<u64>()), 0..12),
            floor in 1i64..3_000_000,
        ) {
            let list: Vec<Bid> = bids.iter().enumerate().map(|(i, (b, t))| bid(i, *b, *t)).collect();
            let eligible: Vec<&Bid> = list.iter().filter(|b| b.bid.0 >= floor).collect();
            match run(&list, Micros(floor)) {
                None => prop_assert!(eligible.is_empty()),
                Some(w) => {
                    let top = eligible.iter().map(|b| b.bid).max().unwrap_or(Micros(0));
                    prop_assert_eq!(list[w.candidate].bid, top);
                    prop_assert!(w.price.0 >= floor && w.price <= top);
                    let mut others: Vec<Micros> = eligible.iter().filter(|b| b.candidate != w.candidate).map(|b| b.bid).collect();
                    others.sort();
                    prop_assert_eq!(w.price, others.last().copied().unwrap_or(Micros(floor)).max(Micros(floor)));
                    let mut ranked = list.clone();
                    rank(&mut ranked);
                    let first = ranked.iter().find(|b| b.bid.0 >= floor).map(|b| b.candidate);
                    prop_assert_eq!(first, Some(w.candidate));
                }
            }
        }
    }
}
