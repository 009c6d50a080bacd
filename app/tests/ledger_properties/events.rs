//! An event batch step: the inputs drawn from the model, and what ingest must answer for each.

use crate::{
    UNKNOWN_DECISION,
    delivery_support::*,
    model::{EventModel, Run},
    steps::{At, EventOp},
};
use app::{
    model::{Micros, publisher_part},
    service::{
        delivery::{self, EventInput, EventResult},
        ledger,
    },
};
use chrono::Duration;
use std::collections::BTreeMap;

impl Run {
    pub async fn events(&mut self, batch: &[EventOp]) {
        let mut inputs = Vec::new();
        for e in batch {
            let input = match *e {
                EventOp::New {
                    decision,
                    id,
                    views,
                    clicks,
                    at,
                } if !self.decisions.is_empty() => {
                    let d = &self.decisions[decision % self.decisions.len()];
                    let at = match at {
                        At::Within(percent) => {
                            let span = (self.now - d.created_at).num_seconds();
                            d.created_at + Duration::seconds(span * i64::from(percent) / 100)
                        }
                        At::BeforeDecision => d.created_at - Duration::seconds(1),
                        At::Future => self.now + Duration::minutes(6),
                    };
                    EventInput {
                        event_id: format!("e{id}"),
                        decision_id: d.id,
                        views,
                        clicks,
                        at,
                    }
                }
                EventOp::Resend { nth } | EventOp::Mutate { nth } if !self.accepted.is_empty() => {
                    let id = &self.accepted[nth % self.accepted.len()];
                    let first = &self.events[id];
                    let more = i64::from(matches!(e, EventOp::Mutate { .. }));
                    EventInput {
                        event_id: id.clone(),
                        decision_id: first.decision_id,
                        views: first.views + more,
                        clicks: first.clicks,
                        at: first.at,
                    }
                }
                EventOp::Unknown { id, views } | EventOp::New { id, views, .. } => EventInput {
                    event_id: format!("u{id}"),
                    decision_id: UNKNOWN_DECISION,
                    views,
                    clicks: 0,
                    at: self.now,
                },
                EventOp::Resend { .. } | EventOp::Mutate { .. } => continue,
            };
            inputs.push(input);
        }
        if inputs.is_empty() {
            return;
        }
        let got = delivery::ingest(&self.db, &self.engine, self.key, &inputs, self.now)
            .await
            .unwrap_or_else(|e| panic!("{}: ingest failed: {e:?}", self.step));
        assert_eq!(
            got.len(),
            inputs.len(),
            "{}: one result per event",
            self.step
        );
        // The service takes a batch in decision order (then as sent); so does the model.
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        order.sort_by_key(|&i| (inputs[i].decision_id, i));
        // What each decision was charged in this batch (the model's running totals).
        let mut charged: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        for i in order {
            let expected = self.expect_event(&inputs[i]);
            match (&expected, &got[i]) {
                (
                    EventResult::Rejected {
                        status: a,
                        field: fa,
                        ..
                    },
                    EventResult::Rejected {
                        status: b,
                        field: fb,
                        ..
                    },
                ) => assert_eq!((a, fa), (b, fb), "{}: event {:?}", self.step, inputs[i]),
                (e, g) => assert_eq!(e, g, "{}: event {:?}", self.step, inputs[i]),
            }
            if let EventResult::Accepted { posted } = expected
                && posted.0 > 0
            {
                let sums = charged.entry(inputs[i].decision_id).or_insert((0, 0));
                sums.0 += posted.0;
                // The publisher's share of each event, rounded down per event.
                sums.1 += publisher_part(posted, self.share_bp).0;
            }
        }
        if charged.is_empty() {
            return;
        }
        // One charge per decision per batch, named by the decision's posted total after it,
        // split with the publisher share in force, event by event.
        let books = audit_books(&self.db, &self.step).await;
        for (decision, (amount, publisher)) in charged {
            let posted_after = self
                .decisions
                .iter()
                .find(|d| d.id == decision)
                .expect("a charged decision is modelled")
                .posted;
            let part = |side: &str| {
                let key = ledger::post_key(decision, posted_after, side);
                books
                    .posts
                    .iter()
                    .find(|t| t.idempotency_key == key)
                    .map_or(0, |t| t.amount)
            };
            assert_eq!(
                (part("publisher"), part("platform")),
                (publisher, amount - publisher),
                "{}: the split of decision {decision}'s {amount} at {} bp",
                self.step,
                self.share_bp
            );
        }
    }

    /// What ingest must answer for `e`, applied to the model when accepted.
    pub fn expect_event(&mut self, e: &EventInput) -> EventResult {
        let reject = |status: u16, field: &'static str| EventResult::Rejected {
            status,
            code: "",
            field,
            message: String::new(),
        };
        if e.views == 0 && e.clicks == 0 {
            return reject(422, "views");
        }
        if e.at > self.now + delivery::ingest::CLOCK_SKEW {
            return reject(422, "at");
        }
        if let Some(first) = self.events.get(&e.event_id) {
            let same = first.decision_id == e.decision_id
                && first.views == e.views
                && first.clicks == e.clicks
                && first.at == e.at;
            return if same {
                EventResult::Replayed {
                    posted: Micros(first.posted),
                }
            } else {
                reject(409, "event_id")
            };
        }
        let Some(at) = self.decisions.iter().position(|d| d.id == e.decision_id) else {
            return reject(404, "decision_id");
        };
        let campaign = self.decisions[at].campaign;
        let campaign_posted: i64 = self
            .decisions
            .iter()
            .filter(|d| d.campaign == campaign)
            .map(|d| d.posted)
            .sum();
        // A total lowered below what is held still caps what is charged.
        let headroom = (self.campaigns[campaign].total.0 - campaign_posted).max(0);
        let d = &mut self.decisions[at];
        if e.at < d.created_at {
            return reject(422, "at");
        }
        if d.clicks + e.clicks > d.views + e.views {
            return reject(422, "clicks");
        }
        let left = d.held - d.released;
        let due = d
            .price
            .cpm_cost(d.views + e.views)
            .map_or(left, |c| c.0.min(left));
        // An expired hold charges nothing more, swept or not.
        let posted = if self.now >= d.expires_at {
            0
        } else {
            (due - d.posted).max(0).min(headroom)
        };
        d.views += e.views;
        d.clicks += e.clicks;
        d.posted += posted;
        self.events.insert(
            e.event_id.clone(),
            EventModel {
                decision_id: e.decision_id,
                views: e.views,
                clicks: e.clicks,
                at: e.at,
                posted,
            },
        );
        self.accepted.push(e.event_id.clone());
        EventResult::Accepted {
            posted: Micros(posted),
        }
    }
}
