//! The request journal: one JSON line per request sent, and how a replayed answer compares to it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::{
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::Path,
};

/// Which delivery endpoint a journalled request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// `POST /api/delivery/v1/decisions`.
    Decision,
    /// `POST /api/delivery/v1/events`.
    Events,
}

impl RequestKind {
    /// The endpoint's path.
    pub fn path(self) -> &'static str {
        match self {
            Self::Decision => "/api/delivery/v1/decisions",
            Self::Events => "/api/delivery/v1/events",
        }
    }
}

/// One line of the journal. `status` and `response` are `None` when no answer came (the
/// network failed after its retries): the server may or may not have acted on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The endpoint.
    pub kind: RequestKind,
    /// The JSON body sent.
    pub body: Value,
    /// The final HTTP status.
    pub status: Option<u16>,
    /// The answer's JSON (a string when it was not JSON; `None` when empty).
    pub response: Option<Value>,
}

/// An append-only journal file; each line is written whole, so a crash loses at most one line.
pub struct Journal {
    file: File,
}

impl Journal {
    /// Opens (or creates) `path` for appending.
    pub fn open(path: &Path) -> Result<Self, String> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open the journal {}: {e}", path.display()))?;
        Ok(Self { file })
    }

    /// Appends one entry.
    pub fn append(&mut self, entry: &JournalEntry) -> Result<(), String> {
        let mut line = serde_json::to_string(entry).map_err(|e| e.to_string())?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(|e| format!("cannot write the journal: {e}"))
    }
}

/// Every entry of a journal, in order (blank lines skipped).
pub fn read(path: &Path) -> Result<Vec<JournalEntry>, String> {
    let file =
        File::open(path).map_err(|e| format!("cannot open the journal {}: {e}", path.display()))?;
    let mut entries = Vec::new();
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read the journal: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let entry =
            serde_json::from_str(&line).map_err(|e| format!("journal line {}: {e}", number + 1))?;
        entries.push(entry);
    }
    Ok(entries)
}

/// How a replayed answer compares to the recorded one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The same answer (for events: each item the same, "accepted" now reading "replayed").
    Equal,
    /// No answer had been recorded, so there is nothing to compare.
    Unrecorded,
    /// A different answer, and how.
    Differs(String),
}

/// Compares an answer to its recorded one. Decisions must be identical JSON; events item by
/// item (id, status, `posted`, error code), where an item first accepted must now be
/// "replayed"; whole-request errors by status and error code.
pub fn compare(recorded: &JournalEntry, status: u16, answer: Option<&Value>) -> Verdict {
    let Some(was) = recorded.status else {
        return Verdict::Unrecorded;
    };
    if was != status {
        return Verdict::Differs(format!("status {was} then {status}"));
    }
    let before = recorded.response.as_ref();
    match (recorded.kind, status) {
        (RequestKind::Decision, 200 | 204) if before != answer => {
            Verdict::Differs("another decision".to_owned())
        }
        (RequestKind::Decision, 200 | 204) => Verdict::Equal,
        (RequestKind::Events, 200) => compare_items(before, answer),
        _ if error_code(before) != error_code(answer) => Verdict::Differs(format!(
            "error {} then {}",
            error_code(before).unwrap_or("-"),
            error_code(answer).unwrap_or("-")
        )),
        _ => Verdict::Equal,
    }
}

fn compare_items(before: Option<&Value>, now: Option<&Value>) -> Verdict {
    let (before, now) = (super::totals::results(before), super::totals::results(now));
    if before.len() != now.len() {
        return Verdict::Differs(format!("{} items then {}", before.len(), now.len()));
    }
    for (was, is) in before.iter().zip(now) {
        let field = |v: &Value, k: &str| v.get(k).cloned().unwrap_or(Value::Null);
        let expected_outcome = match was.get("outcome").and_then(Value::as_str) {
            Some("accepted" | "replayed") => "replayed",
            _ => "rejected",
        };
        let same = ["event_id", "status", "posted"]
            .iter()
            .all(|k| field(was, k) == field(is, k))
            && is.get("outcome").and_then(Value::as_str) == Some(expected_outcome)
            && error_code(Some(was)) == error_code(Some(is));
        if !same {
            return Verdict::Differs(format!("item {was} then {is}"));
        }
    }
    Verdict::Equal
}

fn error_code(body: Option<&Value>) -> Option<&str> {
    body?.get("error")?.get("code")?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(kind: RequestKind, status: Option<u16>, response: Option<Value>) -> JournalEntry {
        JournalEntry {
            kind,
            body: json!({}),
            status,
            response,
        }
    }

    fn item(id: &str, outcome: &str, posted: i64) -> Value {
        json!({"event_id": id, "status": 200, "outcome": outcome, "posted": posted, "error": null})
    }

    #[test]
    fn decisions_must_be_identical() {
        let won = json!({"decision_id": 17, "held": 3_125_000});
        let recorded = entry(RequestKind::Decision, Some(200), Some(won.clone()));
        assert_eq!(compare(&recorded, 200, Some(&won)), Verdict::Equal);
        let other = json!({"decision_id": 18, "held": 3_125_000});
        assert!(matches!(
            compare(&recorded, 200, Some(&other)),
            Verdict::Differs(_)
        ));
        assert!(matches!(compare(&recorded, 204, None), Verdict::Differs(_)));
        let none = entry(RequestKind::Decision, Some(204), None);
        assert_eq!(compare(&none, 204, None), Verdict::Equal);
    }

    #[test]
    fn accepted_events_must_come_back_replayed_with_the_same_money() {
        let first = json!({"results": [item("a", "accepted", 300), item("b", "replayed", 5)]});
        let recorded = entry(RequestKind::Events, Some(200), Some(first));
        let again = json!({"results": [item("a", "replayed", 300), item("b", "replayed", 5)]});
        assert_eq!(compare(&recorded, 200, Some(&again)), Verdict::Equal);
        let accepted_again =
            json!({"results": [item("a", "accepted", 300), item("b", "replayed", 5)]});
        assert!(matches!(
            compare(&recorded, 200, Some(&accepted_again)),
            Verdict::Differs(_)
        ));
        let other_money =
            json!({"results": [item("a", "replayed", 301), item("b", "replayed", 5)]});
        assert!(matches!(
            compare(&recorded, 200, Some(&other_money)),
            Verdict::Differs(_)
        ));
    }

    #[test]
    fn rejections_and_errors_compare_by_code_and_missing_answers_are_unrecorded() {
        let error = |code: &str| json!({"error": {"code": code, "message": "m", "field": null}});
        let recorded = entry(RequestKind::Events, Some(422), Some(error("invalid_input")));
        assert_eq!(
            compare(&recorded, 422, Some(&error("invalid_input"))),
            Verdict::Equal
        );
        assert!(matches!(
            compare(&recorded, 422, Some(&error("conflict"))),
            Verdict::Differs(_)
        ));
        let lost = entry(RequestKind::Events, None, None);
        assert_eq!(compare(&lost, 200, None), Verdict::Unrecorded);
    }

    #[test]
    fn the_journal_round_trips_through_a_file() {
        let path =
            std::env::temp_dir().join(format!("herald-journal-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let entries = [
            entry(RequestKind::Decision, Some(204), None),
            entry(RequestKind::Events, None, None),
        ];
        let mut journal = Journal::open(&path).expect("open");
        for e in &entries {
            journal.append(e).expect("append");
        }
        assert_eq!(read(&path).expect("read"), entries);
        let line = std::fs::read_to_string(&path).expect("text");
        assert!(line.starts_with(r#"{"kind":"decision","body":{},"status":204,"response":null}"#));
        let _ = std::fs::remove_file(&path);
    }
}
