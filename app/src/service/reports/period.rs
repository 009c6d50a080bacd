//! A report's period in the account's local days: the presets, a checked custom range, and
//! the previous period of equal length it is compared with. Pure, tested without a database.

use crate::{error::AppError, model::RangePreset};
use chrono::{Datelike, Duration, NaiveDate};

/// Longest custom range, in days (a year, leap or not, plus a day either side).
pub const MAX_DAYS: i64 = 367;

/// Inclusive local days of a report and of the period before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub preset: RangePreset,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub previous_from: NaiveDate,
    pub previous_to: NaiveDate,
}

impl Period {
    /// Days in the period.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period of `preset` (or `from`..=`to` for a custom one) as seen on `today`. An
    /// unknown preset is the default (last 7 days); a bad custom range names its field.
    pub fn parse(
        preset: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, AppError> {
        let preset = preset.and_then(RangePreset::from_code).unwrap_or_default();
        let (from, to) = match preset {
            RangePreset::Today => (today, today),
            RangePreset::Last7 => (today - Duration::days(6), today),
            RangePreset::Last30 => (today - Duration::days(29), today),
            RangePreset::ThisMonth => (today.with_day(1).unwrap_or(today), today),
            RangePreset::Custom => {
                let day = |field: &str, text: Option<&str>| {
                    let text = text.map(str::trim).unwrap_or_default();
                    if text.len() > 10 {
                        return Err(AppError::field(field, "A date is YYYY-MM-DD."));
                    }
                    NaiveDate::parse_from_str(text, "%Y-%m-%d")
                        .map_err(|_| AppError::field(field, "A date is YYYY-MM-DD."))
                };
                let (from, to) = (day("from", from)?, day("to", to)?);
                if to < from {
                    return Err(AppError::field("to", "The end is before the start."));
                }
                if (to - from).num_days() + 1 > MAX_DAYS {
                    return Err(AppError::field(
                        "to",
                        format!("A report covers at most {MAX_DAYS} days."),
                    ));
                }
                if from.year() < 2000 || to > today + Duration::days(MAX_DAYS) {
                    return Err(AppError::field("from", "Choose dates near today."));
                }
                (from, to)
            }
        };
        let days = (to - from).num_days() + 1;
        Ok(Self {
            preset,
            from,
            to,
            previous_from: from - Duration::days(days),
            previous_to: from - Duration::days(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn presets_end_today_and_compare_with_as_many_days_before() {
        let today = d(2026, 3, 10);
        let p = Period::parse(Some("7d"), None, None, today).expect("7d");
        assert_eq!((p.from, p.to, p.days()), (d(2026, 3, 4), today, 7));
        assert_eq!(
            (p.previous_from, p.previous_to),
            (d(2026, 2, 25), d(2026, 3, 3))
        );
        let m = Period::parse(Some("month"), None, None, today).expect("month");
        assert_eq!(
            (m.from, m.previous_from, m.previous_to),
            (d(2026, 3, 1), d(2026, 2, 19), d(2026, 2, 28))
        );
        let t = Period::parse(Some("today"), None, None, today).expect("today");
        assert_eq!((t.from, t.previous_from), (today, d(2026, 3, 9)));
        assert_eq!(
            Period::parse(Some("nonsense"), None, None, today)
                .expect("default")
                .preset,
            RangePreset::Last7
        );
    }

    #[test]
    fn custom_ranges_are_checked() {
        let today = d(2026, 3, 10);
        let ok = Period::parse(
            Some("custom"),
            Some("2025-03-10"),
            Some("2026-03-10"),
            today,
        )
        .expect("a year and a day");
        assert_eq!(ok.days(), 366);
        for (from, to, field) in [
            ("2026-03-10", "2026-03-01", "to"),
            ("2024-01-01", "2026-03-01", "to"),
            ("10/03/2026", "2026-03-01", "from"),
            ("", "2026-03-01", "from"),
            ("1999-01-01", "1999-01-02", "from"),
        ] {
            match Period::parse(Some("custom"), Some(from), Some(to), today) {
                Err(AppError::Invalid(fields)) => {
                    assert!(fields.0.contains_key(field), "{from}..{to}: {fields:?}")
                }
                other => panic!("{from}..{to}: {other:?}"),
            }
        }
    }
}
