//! `server simulate --replay`: re-sends a journal's requests in order and compares the answers.

use super::{
    client::{DeliveryClient, SendError},
    journal::{self, JournalEntry, RequestKind, Verdict},
    totals::{self, StopReason},
};
use indicatif::ProgressBar;
use std::fmt::Write;

/// Differences printed in full; the rest are only counted.
const SHOWN_DIFFERENCES: usize = 20;

/// What a replay found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayTotals {
    /// Journal entries.
    pub entries: u64,
    /// HTTP requests sent (retries included).
    pub requests: u64,
    /// Answers equal to the recorded ones (see [`journal::compare`]).
    pub equal: u64,
    /// Answers that differ.
    pub differ: u64,
    /// Entries recorded without an answer (re-sent, nothing to compare).
    pub unrecorded: u64,
    /// Event items answered "replayed".
    pub replayed: u64,
    /// Requests that got no answer.
    pub errors: u64,
    /// The first differences, one line each.
    pub differences: Vec<String>,
    /// Set when a bound or an unreachable server cut the replay short.
    pub stopped: Option<StopReason>,
}

/// Re-sends every entry in order and compares each answer to the recorded one.
pub async fn run(
    client: &mut DeliveryClient,
    entries: &[JournalEntry],
    quiet: bool,
) -> ReplayTotals {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(entries.len() as u64)
    };
    let mut found = ReplayTotals {
        entries: entries.len() as u64,
        ..ReplayTotals::default()
    };
    for (index, entry) in entries.iter().enumerate() {
        bar.set_position(index as u64);
        let answer = match client.post(entry.kind, &entry.body).await {
            Ok(answer) => answer,
            Err(SendError::Failed(_)) => {
                found.errors += 1;
                continue;
            }
            Err(SendError::Stop(reason)) => {
                found.errors += u64::from(reason == StopReason::Unreachable);
                found.stopped = Some(reason);
                break;
            }
        };
        if entry.kind == RequestKind::Events && answer.status == 200 {
            found.replayed += totals::outcomes(answer.body.as_ref()).replayed;
        }
        match journal::compare(entry, answer.status, answer.body.as_ref()) {
            Verdict::Equal => found.equal += 1,
            Verdict::Unrecorded => found.unrecorded += 1,
            Verdict::Differs(how) => {
                found.differ += 1;
                if found.differences.len() < SHOWN_DIFFERENCES {
                    found.differences.push(format!(
                        "entry {} ({:?}): {how}",
                        index + 1,
                        entry.kind
                    ));
                }
            }
        }
    }
    bar.finish_and_clear();
    found.requests = client.requests;
    found
}

impl ReplayTotals {
    /// The differences, one total per line, then the machine-readable line
    /// `replay entries=… requests=… equal=… differ=… unrecorded=… replayed=… errors=…`.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for difference in &self.differences {
            let _ = writeln!(out, "differs: {difference}");
        }
        if self.differ as usize > self.differences.len() {
            let _ = writeln!(
                out,
                "… and {} more differences",
                self.differ as usize - self.differences.len()
            );
        }
        if let Some(reason) = self.stopped {
            let _ = writeln!(out, "{:<20}{reason}", "stopped");
        }
        for (name, value) in [
            ("journal entries", self.entries),
            ("requests", self.requests),
            ("equal answers", self.equal),
            ("differing answers", self.differ),
            ("never answered", self.unrecorded),
            ("events replayed", self.replayed),
            ("errors", self.errors),
        ] {
            let _ = writeln!(out, "{name:<20}{value}");
        }
        let _ = write!(
            out,
            "replay entries={} requests={} equal={} differ={} unrecorded={} replayed={} errors={}",
            self.entries,
            self.requests,
            self.equal,
            self.differ,
            self.unrecorded,
            self.replayed,
            self.errors
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_lists_differences_then_ends_with_the_machine_line() {
        let found = ReplayTotals {
            entries: 3,
            requests: 3,
            equal: 1,
            differ: 1,
            unrecorded: 1,
            replayed: 4,
            differences: vec!["entry 2 (Events): status 200 then 500".to_owned()],
            ..ReplayTotals::default()
        };
        let report = found.report();
        assert!(report.starts_with("differs: entry 2 (Events): status 200 then 500\n"));
        assert!(report.ends_with(
            "replay entries=3 requests=3 equal=1 differ=1 unrecorded=1 replayed=4 errors=0"
        ));
    }
}
