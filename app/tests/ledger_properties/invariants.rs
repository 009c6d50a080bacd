//! The checks made after every step: the books' own invariants and agreement with the model.

use crate::{delivery_support::*, model::Run};

impl Run {
    /// The model's available balance of `account`: credited less refunded, less held plus
    /// released.
    pub fn available(&self, account: usize) -> i64 {
        let a = &self.accounts[account];
        let refunded: i64 = a.refunds.values().map(|(_, amount)| amount).sum();
        let credited = a.top_ups.values().sum::<i64>() - refunded;
        self.decisions
            .iter()
            .filter(|d| self.campaigns[d.campaign].account == account)
            .fold(credited, |sum, d| sum - d.held + d.released)
    }

    /// The hard caps: posted never above the total budget; posted + held never above the total,
    /// nor a local day's posted + held above the daily budget, except after a budget was
    /// lowered below what was already committed, and then with no decision since.
    fn caps_hold(&self, books: &Books, c: usize) {
        let (step, m) = (&self.step, &self.campaigns[c]);
        let (posted, committed) = books.spend.get(&m.id.0).copied().unwrap_or((0, 0));
        assert!(
            posted <= m.total.0,
            "{step}: campaign {c} posted {posted} of a total {}",
            m.total.0
        );
        let since_edit = self
            .decisions
            .iter()
            .skip(m.edited_at)
            .any(|d| d.campaign == c);
        assert!(
            committed <= m.total.0 || !since_edit,
            "{step}: campaign {c} committed {committed} of a total {} and decided since",
            m.total.0
        );
        let Some(daily) = m.daily else { return };
        for ((campaign, day), day_committed) in &books.day_committed {
            if *campaign == m.id.0 && *day_committed > daily.0 {
                let decided_that_day = self
                    .decisions
                    .iter()
                    .skip(m.edited_at)
                    .any(|d| d.campaign == c && books.decisions[&d.id].local_day == *day);
                assert!(
                    !decided_that_day,
                    "{step}: campaign {c} committed {day_committed} on {day} of a daily {}",
                    daily.0
                );
            }
        }
    }

    /// The books hold their invariants and say what the model says.
    pub async fn verify(&self) {
        let step = &self.step;
        let books = audit_books(&self.db, step).await;
        assert_eq!(
            books.events.len(),
            self.accepted.len(),
            "{step}: stored events vs accepted ones"
        );
        assert_eq!(
            books.decisions.len(),
            self.decisions.len(),
            "{step}: decisions"
        );
        for d in &self.decisions {
            let row = &books.decisions[&d.id];
            assert_eq!(
                (
                    row.views,
                    row.clicks,
                    row.posted,
                    row.released,
                    row.settled_at.is_some()
                ),
                (d.views, d.clicks, d.posted, d.released, d.settled),
                "{step}: decision {}",
                d.id
            );
        }
        for (i, a) in self.accounts.iter().enumerate() {
            assert_eq!(
                books
                    .available
                    .get(&account(&a.actor).0)
                    .copied()
                    .unwrap_or(0),
                self.available(i),
                "{step}: account {i}'s available balance"
            );
        }
        for (c, m) in self.campaigns.iter().enumerate() {
            let mine = self.decisions.iter().filter(|d| d.campaign == c);
            let (posted, committed) =
                mine.fold((0, 0), |(p, k), d| (p + d.posted, k + d.held - d.released));
            assert_eq!(
                books.spend.get(&m.id.0).copied().unwrap_or((0, 0)),
                (posted, committed),
                "{step}: campaign {c}'s (posted, committed)"
            );
            self.caps_hold(&books, c);
        }
        let top_ups: usize = self.accounts.iter().map(|a| a.top_ups.len()).sum();
        assert_eq!(books.top_ups.len(), top_ups, "{step}: top-ups");
    }
}
