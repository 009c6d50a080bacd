//! The counters of a simulation run, how an events answer adds to them, and how they are printed.

use super::network::PendingEvent;
use serde_json::Value;
use std::{collections::HashMap, fmt};

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The simulated hours are over (due events flushed).
    Finished,
    /// `--max-requests` reached.
    MaxRequests,
    /// `--max-seconds` reached.
    MaxSeconds,
    /// The server stopped answering (several requests in a row failed after their retries).
    Unreachable,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Finished => "simulated hours done",
            Self::MaxRequests => "request bound reached",
            Self::MaxSeconds => "time bound reached",
            Self::Unreachable => "server unreachable",
        })
    }
}

/// Counters of a run. `errors` counts requests without a usable answer (network failure after
/// retries, an unexpected status) and answers that break the contract (a repeated decision or a
/// resent batch answered differently).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    /// HTTP requests sent, retries and catalog pages included.
    pub requests: u64,
    /// Posts whose decision request went out (repeats not counted).
    pub decisions: u64,
    /// Posts answered with an ad (200).
    pub won: u64,
    /// Posts answered with no ad (204).
    pub no_ad: u64,
    /// Event items sent, resent batches included.
    pub events: u64,
    /// Items answered "accepted".
    pub accepted: u64,
    /// Items answered "replayed".
    pub replayed: u64,
    /// Items answered "rejected".
    pub rejected: u64,
    /// Views of accepted items.
    pub views: u64,
    /// Clicks of accepted items.
    pub clicks: u64,
    /// `posted` of accepted items, in micro-units.
    pub posted_micros: i64,
    /// See the type's documentation.
    pub errors: u64,
    /// Decisions asked a second time on purpose.
    pub decision_repeats: u64,
    /// Event batches sent a second time on purpose.
    pub batches_resent: u64,
}

/// Per-item outcomes of one events answer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcomes {
    /// Items answered "accepted".
    pub accepted: u64,
    /// Items answered "replayed".
    pub replayed: u64,
    /// Items answered "rejected" (or with an unknown outcome).
    pub rejected: u64,
}

/// The `results` of a 200 events answer (empty when there are none).
pub fn results(answer: Option<&Value>) -> &[Value] {
    answer
        .and_then(|a| a.get("results"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Counts the outcomes of an events answer's items.
pub fn outcomes(answer: Option<&Value>) -> Outcomes {
    let mut counted = Outcomes::default();
    for item in results(answer) {
        match item.get("outcome").and_then(Value::as_str) {
            Some("accepted") => counted.accepted += 1,
            Some("replayed") => counted.replayed += 1,
            _ => counted.rejected += 1,
        }
    }
    counted
}

impl Totals {
    /// Adds a 200 events answer for `sent`: outcomes, and the views, clicks and money of the
    /// accepted items. An answer that does not account for every item sent is an error.
    pub fn add_events_answer(&mut self, sent: &[PendingEvent], answer: Option<&Value>) {
        let by_id: HashMap<&str, &PendingEvent> =
            sent.iter().map(|e| (e.event_id.as_str(), e)).collect();
        let counted = outcomes(answer);
        self.accepted += counted.accepted;
        self.replayed += counted.replayed;
        self.rejected += counted.rejected;
        for item in results(answer) {
            if item.get("outcome").and_then(Value::as_str) != Some("accepted") {
                continue;
            }
            let id = item.get("event_id").and_then(Value::as_str).unwrap_or("");
            if let Some(event) = by_id.get(id) {
                self.views += event.views;
                self.clicks += event.clicks;
            }
            let posted = item.get("posted").and_then(Value::as_i64).unwrap_or(0);
            self.posted_micros = self.posted_micros.saturating_add(posted);
        }
        if results(answer).len() != sent.len() {
            self.errors += 1;
        }
    }

    /// The final machine-readable line.
    pub fn line(&self) -> String {
        format!(
            "simulate requests={} decisions={} won={} no_ad={} events={} accepted={} replayed={} \
             rejected={} views={} clicks={} posted_micros={} errors={}",
            self.requests,
            self.decisions,
            self.won,
            self.no_ad,
            self.events,
            self.accepted,
            self.replayed,
            self.rejected,
            self.views,
            self.clicks,
            self.posted_micros,
            self.errors
        )
    }

    /// One total per line for people, then [`Totals::line`].
    pub fn report(&self, stopped: StopReason) -> String {
        let rows: [(&str, String); 15] = [
            ("stopped", stopped.to_string()),
            ("requests", self.requests.to_string()),
            ("decisions asked", self.decisions.to_string()),
            ("  won", self.won.to_string()),
            ("  no ad", self.no_ad.to_string()),
            ("  asked twice", self.decision_repeats.to_string()),
            ("events sent", self.events.to_string()),
            ("  accepted", self.accepted.to_string()),
            ("  replayed", self.replayed.to_string()),
            ("  rejected", self.rejected.to_string()),
            ("batches sent twice", self.batches_resent.to_string()),
            ("views", self.views.to_string()),
            ("clicks", self.clicks.to_string()),
            ("posted", units(self.posted_micros)),
            ("errors", self.errors.to_string()),
        ];
        let mut out: String = rows.iter().map(|(k, v)| format!("{k:<20}{v}\n")).collect();
        out.push_str(&self.line());
        out
    }
}

/// Micro-units as a decimal amount, e.g. `3125000` → `3.125000`.
pub fn units(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: &str, views: u64, clicks: u64) -> PendingEvent {
        PendingEvent {
            event_id: id.to_owned(),
            decision_id: 1,
            views,
            clicks,
        }
    }

    #[test]
    fn events_answers_count_outcomes_and_accepted_figures() {
        let sent = [event("a", 100, 2), event("b", 50, 1), event("c", 10, 0)];
        let answer = json!({"results": [
            {"event_id": "a", "status": 200, "outcome": "accepted", "posted": 250_000, "error": null},
            {"event_id": "b", "status": 200, "outcome": "replayed", "posted": 125_000, "error": null},
            {"event_id": "c", "status": 409, "outcome": "rejected", "posted": 0,
             "error": {"code": "conflict", "message": "m", "field": null}},
        ]});
        let mut totals = Totals::default();
        totals.add_events_answer(&sent, Some(&answer));
        assert_eq!(
            (totals.accepted, totals.replayed, totals.rejected),
            (1, 1, 1)
        );
        assert_eq!(
            (totals.views, totals.clicks, totals.posted_micros),
            (100, 2, 250_000)
        );
        assert_eq!(totals.errors, 0);
        totals.add_events_answer(&sent, Some(&json!({"results": []})));
        assert_eq!(totals.errors, 1);
    }

    #[test]
    fn the_final_line_has_every_counter_in_order() {
        let totals = Totals {
            requests: 1,
            decisions: 2,
            won: 3,
            no_ad: 4,
            events: 5,
            accepted: 6,
            replayed: 7,
            rejected: 8,
            views: 9,
            clicks: 10,
            posted_micros: 11,
            errors: 12,
            ..Totals::default()
        };
        assert_eq!(
            totals.line(),
            "simulate requests=1 decisions=2 won=3 no_ad=4 events=5 accepted=6 replayed=7 \
             rejected=8 views=9 clicks=10 posted_micros=11 errors=12"
        );
        assert!(
            totals
                .report(StopReason::Finished)
                .ends_with(&totals.line())
        );
    }

    #[test]
    fn micros_print_as_units() {
        assert_eq!(units(3_125_000), "3.125000");
        assert_eq!(units(-5), "-0.000005");
        assert_eq!(units(0), "0.000000");
    }
}
