//! Reading a channel CSV: the header row, every data row checked like the admin's edit form,
//! duplicates within the file, and the file's size limits. Pure: no database.

use crate::{
    error::AppError,
    model::{
        ChannelFacts, ChannelInput, IMPORT_COLUMNS, IMPORT_MAX_ROWS, IMPORT_STATUS_COLUMN,
        ImportProblem, Topic, group_thousands, limits, normalize_handle,
    },
};
use std::collections::HashMap;

/// A data row that passed every check.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidRow {
    /// Line of the file where the row starts (the header is line 1).
    pub line: u64,
    /// The checked facts; `topic` is the topic's slug.
    pub facts: ChannelFacts,
}

/// Everything read from one file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedFile {
    /// Data rows, good and bad (the header and blank rows are not counted).
    pub total_rows: u64,
    pub valid: Vec<ValidRow>,
    /// Every bad row, in file order.
    pub problems: Vec<ImportProblem>,
}

/// Line numbers as an editor shows them, whatever the line ends (LF, CRLF or CR). The csv
/// crate's own count places a record before the blank lines it skips, and lags behind CRLF.
struct Lines<'a> {
    text: &'a [u8],
    /// Where the last record started, and its line.
    offset: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    /// The line of the record read from byte `from` (the reader's position before reading):
    /// past the blank lines there, counting every line end since the previous record.
    fn record_start(&mut self, from: u64) -> u64 {
        let from = usize::try_from(from).map_or(self.text.len(), |f| f.min(self.text.len()));
        let rest = self.text.get(from..).unwrap_or_default();
        let start = from
            + rest
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
        if let Some(span) = self.text.get(self.offset..start) {
            let ends = span
                .iter()
                .enumerate()
                .filter(|&(i, b)| *b == b'\n' || (*b == b'\r' && span.get(i + 1) != Some(&b'\n')));
            self.line += ends.count() as u64;
            self.offset = start;
        }
        self.line
    }
}

fn file_error(message: impl Into<String>) -> AppError {
    AppError::field("file", message)
}

/// Reads `text` (a CSV file with a header row) and checks every row. Topics may be named by
/// slug or by name, in any case. Errors are about the whole file (no header, a missing
/// column, too many rows); a bad row is not an error but a problem in the result.
pub fn parse(text: &str, topics: &[Topic]) -> Result<ParsedFile, AppError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(file_error(format!(
            "The file is empty. Its first line must be the header row: {}.",
            IMPORT_COLUMNS.join(",")
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| file_error(format!("The header row could not be read: {e}.")))?
        .clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let missing: Vec<&str> = IMPORT_COLUMNS
        .into_iter()
        .filter(|name| column(name).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(file_error(format!(
            "The header row (line 1) lacks the column{} {}. It must name {} (and may add {}).",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            IMPORT_COLUMNS.join(", "),
            IMPORT_STATUS_COLUMN,
        )));
    }
    let required: Vec<usize> = IMPORT_COLUMNS.iter().filter_map(|c| column(c)).collect();
    let status = column(IMPORT_STATUS_COLUMN);

    let mut slugs: HashMap<String, String> = HashMap::new();
    for topic in topics {
        slugs.insert(topic.name.to_lowercase(), topic.slug.clone());
        slugs.insert(topic.slug.to_lowercase(), topic.slug.clone());
    }
    let mut out = ParsedFile::default();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    let mut lines = Lines::new(text);
    loop {
        let from = reader.position().byte();
        let read = reader.read_record(&mut record);
        let line = lines.record_start(from);
        match read {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                out.total_rows += 1;
                out.problems.push(ImportProblem {
                    line,
                    handle: None,
                    reason: format!("This line could not be read as CSV ({e})."),
                });
                continue;
            }
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        out.total_rows += 1;
        if out.total_rows > IMPORT_MAX_ROWS as u64 {
            return Err(file_error(format!(
                "The file has more than {} rows. Split it into smaller files.",
                group_thousands(IMPORT_MAX_ROWS as u64)
            )));
        }
        let field = |i: usize| record.get(i).unwrap_or_default();
        let cell = |n: usize| field(required[n]).to_owned();
        let topic = cell(2);
        let mut input = ChannelInput {
            handle: cell(0),
            title: cell(1),
            topic: slugs.get(&topic.to_lowercase()).cloned().unwrap_or(topic),
            language: cell(3),
            subscribers: cell(4),
            avg_views: cell(5),
            posts_per_day: cell(6),
            active: true,
        };
        let mut reasons = Vec::new();
        match status
            .map(field)
            .unwrap_or_default()
            .to_lowercase()
            .as_str()
        {
            "" | "active" => {}
            "inactive" => input.active = false,
            other if limits::too_long(other, limits::CODE_MAX) => {
                reasons.push("The status is neither \"active\" nor \"inactive\".".to_owned())
            }
            other => reasons.push(format!(
                "Status \"{other}\" is neither \"active\" nor \"inactive\"."
            )),
        }
        let checked = input.check(|slug| slugs.get(slug).is_some_and(|s| s == slug));
        if let Err(problems) = &checked {
            reasons.extend(problems.iter().map(|(_, reason)| reason.clone()));
        }
        let handle = normalize_handle(&input.handle);
        if !handle.is_empty() {
            match first_line.get(&handle) {
                Some(first) => reasons.push(format!("Duplicate of line {first}.")),
                None => {
                    first_line.insert(handle, line);
                }
            }
        }
        match checked {
            Ok(facts) if reasons.is_empty() => out.valid.push(ValidRow { line, facts }),
            _ => out.problems.push(ImportProblem {
                line,
                // A handle too long to be one is not repeated (its reason says so).
                handle: (!input.handle.is_empty()
                    && !limits::too_long(&input.handle, limits::CODE_MAX))
                .then(|| input.handle.clone()),
                reason: reasons.join(" "),
            }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TopicId;

    fn topics() -> Vec<Topic> {
        vec![Topic {
            id: TopicId(1),
            slug: "health".into(),
            name: "Health & Fitness".into(),
        }]
    }

    #[test]
    fn rows_are_checked_with_their_lines() {
        let text = "\u{feff}Title,HANDLE,topic,language,subscribers,avg_views,posts_per_day,extra\n\
                    \"Fit, daily\",@Fit_Daily,health & fitness,en,12k,3400,2.5,x\n\
                    \n\
                    Multi,fit_weekly,Health,en,1,1,1\n\
                    ,,,,,,\n\
                    \"Two\nlines\",,astrology,english,-5,1,1\n\
                    Again,fit_daily,health,en,1,1,1\n";
        let parsed = parse(text, &topics()).expect("parses");
        assert_eq!(parsed.total_rows, 4);
        assert_eq!(parsed.valid.len(), 2);
        assert_eq!(parsed.valid[0].line, 2);
        assert_eq!(parsed.valid[0].facts.handle, "fit_daily");
        assert_eq!(parsed.valid[0].facts.title, "Fit, daily");
        assert_eq!(parsed.valid[0].facts.topic, "health");
        assert_eq!(parsed.valid[1].line, 4);
        let lines: Vec<u64> = parsed.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [6, 8]);
        let reason = &parsed.problems[0].reason;
        for part in [
            "handle is missing",
            "Unknown topic",
            "ISO 639-1",
            "negative",
        ] {
            assert!(reason.contains(part), "{reason}");
        }
        assert_eq!(parsed.problems[1].reason, "Duplicate of line 2.");
        assert_eq!(parsed.problems[1].handle.as_deref(), Some("fit_daily"));
    }

    #[test]
    fn lines_are_counted_across_blank_lines_and_any_line_end() {
        let head = "handle,title,topic,language,subscribers,avg_views,posts_per_day";
        for end in ["\n", "\r\n", "\r"] {
            let text = [
                head,
                "",
                "first_one,A,health,en,1,1,1",
                "",
                "",
                "x",
                "second_one,\"B",
            ]
            .join(end)
                + end
                + "b\",health,en,1,1,1"
                + end;
            let parsed = parse(&text, &topics()).expect("parses");
            let valid: Vec<u64> = parsed.valid.iter().map(|r| r.line).collect();
            assert_eq!(valid, [3, 7], "{end:?}");
            assert_eq!(parsed.problems[0].line, 6, "{end:?}");
        }
    }

    #[test]
    fn file_errors_name_what_is_wrong() {
        let Err(AppError::Invalid(e)) = parse("handle,title\nabcde,x\n", &topics()) else {
            panic!("a missing column is refused")
        };
        let message = e.get("file").unwrap_or_default();
        assert!(
            message.contains("topic, language, subscribers"),
            "{message}"
        );
        assert!(parse(" \n", &topics()).is_err());
    }

    #[test]
    fn status_is_optional_and_checked() {
        let head = "handle,title,topic,language,subscribers,avg_views,posts_per_day,status\n";
        let text = format!(
            "{head}first_one,A,health,en,1,1,1,Inactive\nsecond_one,B,health,en,1,1,1,\n\
             third_one,C,health,en,1,1,1,paused\n"
        );
        let parsed = parse(&text, &topics()).expect("parses");
        assert!(!parsed.valid[0].facts.active);
        assert!(parsed.valid[1].facts.active);
        assert!(parsed.problems[0].reason.contains("paused"));
    }
}
