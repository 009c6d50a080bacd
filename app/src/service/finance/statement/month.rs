//! The month a statement covers: `YYYY-MM`, checked against the account's local today.

use crate::error::AppError;
use chrono::{Datelike, NaiveDate};

/// The first day of the month `text` names (`YYYY-MM`), or of `today`'s month when it is
/// empty; a month after `today`'s is refused.
pub fn parse_month(text: &str, today: NaiveDate) -> Result<NaiveDate, AppError> {
    let current = today.with_day(1).unwrap_or(today);
    let text = text.trim();
    if text.is_empty() {
        return Ok(current);
    }
    let malformed = || AppError::field("month", "Enter a month like 2026-11.");
    let (year, month) = text.split_once('-').ok_or_else(malformed)?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(year, 4) || !digits(month, 2) {
        return Err(malformed());
    }
    let first = year
        .parse()
        .ok()
        .zip(month.parse().ok())
        .and_then(|(y, m)| NaiveDate::from_ymd_opt(y, m, 1))
        .filter(|d| d.year() >= 2000)
        .ok_or_else(malformed)?;
    if first > current {
        return Err(AppError::field("month", "That month has not begun yet."));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn refused(text: &str) -> bool {
        matches!(parse_month(text, day(2026, 12, 15)), Err(AppError::Invalid(f)) if f.get("month").is_some())
    }

    #[test]
    fn months_up_to_the_current_one_parse_to_their_first_day() {
        let today = day(2026, 12, 15);
        assert_eq!(parse_month("", today).ok(), Some(day(2026, 12, 1)));
        assert_eq!(parse_month(" 2026-12 ", today).ok(), Some(day(2026, 12, 1)));
        assert_eq!(parse_month("2026-01", today).ok(), Some(day(2026, 1, 1)));
        assert_eq!(parse_month("2019-02", today).ok(), Some(day(2019, 2, 1)));
    }

    #[test]
    fn malformed_and_future_months_are_field_errors() {
        for text in [
            "2026",
            "2026-1",
            "2026-13",
            "2026-00",
            "26-11",
            "2026/11",
            "2026-11-01",
            "+026-11",
            "1999-12",
            "abcd-ef",
            "2026-1a",
        ] {
            assert!(refused(text), "{text}");
        }
        assert!(refused("2027-01"));
        assert!(!refused("2026-12"));
    }
}
