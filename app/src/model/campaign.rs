//! A campaign as the builder edits it: the raw draft (kept exactly as typed, so a refused save
//! loses nothing), the optional day×hour schedule, and the checks that turn a draft into valid
//! settings. Pure: the caller supplies "now" in the account's time zone and the platform's
//! money limits.

use super::{Micros, Targeting};
use crate::error::FieldErrors;
use chrono::{Datelike, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};

/// Longest campaign name, in characters.
pub const CAMPAIGN_NAME_MAX: usize = 80;

/// Hours of the week a campaign may deliver in, in the account's time zone: one 24-bit mask
/// per day, Monday first, bit `h` = the hour starting at `h`:00.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Schedule {
    pub days: [u32; 7],
}

const ALL_HOURS: u32 = (1 << 24) - 1;

impl Schedule {
    /// Every hour of every day.
    pub fn always() -> Self {
        Self {
            days: [ALL_HOURS; 7],
        }
    }

    /// Whether the hour `hour` (0–23) of `day` (0 = Monday) is on.
    pub fn get(&self, day: usize, hour: u32) -> bool {
        day < 7 && hour < 24 && self.days[day] & (1 << hour) != 0
    }

    /// Turns one hour on or off (out-of-range positions are ignored).
    pub fn set(&mut self, day: usize, hour: u32, on: bool) {
        if day < 7 && hour < 24 {
            if on {
                self.days[day] |= 1 << hour;
            } else {
                self.days[day] &= !(1 << hour);
            }
        }
    }

    /// Hours on per week.
    pub fn hours(&self) -> u32 {
        self.days.iter().map(|d| (d & ALL_HOURS).count_ones()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.hours() == 0
    }

    /// The schedule as one form field's text: the seven days' masks in hex, Monday first,
    /// separated by dots (what the builder's plain form carries, see [`Self::from_code`]).
    pub fn to_code(&self) -> String {
        self.days
            .iter()
            .map(|d| format!("{:06x}", d & ALL_HOURS))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The schedule a [`Self::to_code`] text names; `None` unless it is exactly seven masks.
    pub fn from_code(code: &str) -> Option<Self> {
        let mut days = [0; 7];
        let mut parts = code.split('.');
        for day in &mut days {
            let part = parts.next()?;
            if part.is_empty() || part.len() > 6 {
                return None;
            }
            *day = u32::from_str_radix(part, 16).ok()? & ALL_HOURS;
        }
        parts.next().is_none().then_some(Self { days })
    }

    /// Whether a local time falls in an hour that is on.
    pub fn allows(&self, local: NaiveDateTime) -> bool {
        self.get(
            local.weekday().num_days_from_monday() as usize,
            local.hour(),
        )
    }
}

/// Platform limits a campaign's money must respect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyLimits {
    pub min_cpm: Micros,
    pub min_total_budget: Micros,
}

impl Default for MoneyLimits {
    /// €0.50 CPM and €20 total: the platform's defaults.
    fn default() -> Self {
        Self {
            min_cpm: Micros(500_000),
            min_total_budget: Micros::units(20),
        }
    }
}

/// The builder's form as typed. Dates are local to the account (`YYYY-MM-DDTHH:MM`, as a
/// `datetime-local` input sends them); an empty start means "as soon as approved".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CampaignDraft {
    pub name: String,
    pub targeting: Targeting,
    pub bid: String,
    pub total_budget: String,
    pub daily_budget: String,
    pub start: String,
    pub end: String,
    /// `None`: deliver at any hour.
    pub schedule: Option<Schedule>,
}

/// A draft that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignSettings {
    pub name: String,
    pub targeting: Targeting,
    pub bid: Micros,
    pub total_budget: Micros,
    pub daily_budget: Option<Micros>,
    /// `None`: as soon as approved.
    pub start: Option<NaiveDateTime>,
    pub end: Option<NaiveDateTime>,
    pub schedule: Option<Schedule>,
}

fn parse_local(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .ok()
}

impl CampaignDraft {
    /// Checks every field (money shown in `currency`) and reports each problem beside its field:
    /// name, bid ≥ the minimum CPM, total ≥ the minimum budget, daily ≤ total, start not in the
    /// past, end after start (and after now), a schedule with at least one hour, and the
    /// targeting's own checks.
    pub fn check(
        &self,
        now_local: NaiveDateTime,
        limits: MoneyLimits,
        currency: &str,
    ) -> Result<CampaignSettings, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            errors.add("name", "Give the campaign a name.");
        } else if name.chars().count() > CAMPAIGN_NAME_MAX {
            errors.add("name", format!("At most {CAMPAIGN_NAME_MAX} characters."));
        }
        let mut money = |field: &str, text: &str| match Micros::parse_in(text, currency) {
            Ok(amount) => Some(amount),
            Err(e) => {
                errors.add(field, e.to_string());
                None
            }
        };
        let bid = money("bid", &self.bid);
        let total = money("total_budget", &self.total_budget);
        let daily = if self.daily_budget.trim().is_empty() {
            None
        } else {
            money("daily_budget", &self.daily_budget)
        };
        let currency_hint = |m: Micros| m.display(currency);
        if let Some(bid) = bid
            && bid < limits.min_cpm
        {
            errors.add(
                "bid",
                format!("The minimum CPM bid is {}.", currency_hint(limits.min_cpm)),
            );
        }
        if let Some(total) = total
            && total < limits.min_total_budget
        {
            errors.add(
                "total_budget",
                format!(
                    "The minimum total budget is {}.",
                    currency_hint(limits.min_total_budget)
                ),
            );
        }
        if let Some(daily) = daily {
            if daily.0 <= 0 {
                errors.add("daily_budget", "Enter more than zero, or leave it empty.");
            } else if total.is_some_and(|t| daily > t) {
                errors.add(
                    "daily_budget",
                    "The daily budget cannot exceed the total budget.",
                );
            }
        }
        let mut when = |field: &str, text: &str| {
            if text.trim().is_empty() {
                return None;
            }
            let parsed = parse_local(text);
            if parsed.is_none() {
                errors.add(field, "Enter a date and time.");
            }
            parsed
        };
        let start = when("start", &self.start);
        let end = when("end", &self.end);
        if start.is_some_and(|s| s < now_local - chrono::Duration::minutes(1)) {
            errors.add("start", "The start cannot be in the past.");
        }
        match (start, end) {
            (Some(s), Some(e)) if e <= s => errors.add("end", "The end must be after the start."),
            (None, Some(e)) if e <= now_local => {
                errors.add("end", "The end must be in the future.")
            }
            _ => {}
        }
        if self.schedule.is_some_and(|s| s.is_empty()) {
            errors.add(
                "schedule",
                "Choose at least one hour, or turn the schedule off.",
            );
        }
        // A list over its maximum is refused before it is copied and sorted.
        let sizes = self.targeting.check_sizes();
        let targeting = if sizes.is_empty() {
            self.targeting.clone().normalized()
        } else {
            Targeting::default()
        };
        for (field, message) in sizes.0.into_iter().chain(targeting.check().0) {
            errors.add(&field, message);
        }
        match (errors.is_empty(), bid, total) {
            (true, Some(bid), Some(total_budget)) => Ok(CampaignSettings {
                name,
                targeting,
                bid,
                total_budget,
                daily_budget: daily,
                start,
                end,
                schedule: self.schedule,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 25)
            .and_then(|d| d.and_hms_opt(10, 0, 0))
            .unwrap_or_default()
    }

    fn draft() -> CampaignDraft {
        CampaignDraft {
            name: "Winter coffee".into(),
            bid: "1.20".into(),
            total_budget: "100".into(),
            daily_budget: "10".into(),
            start: "2026-12-01T08:00".into(),
            end: "2026-12-31T20:00".into(),
            ..CampaignDraft::default()
        }
    }

    #[test]
    fn a_schedule_survives_its_form_code_and_a_bad_code_is_none() {
        let mut schedule = Schedule::default();
        schedule.set(0, 0, true);
        schedule.set(2, 13, true);
        schedule.set(6, 23, true);
        for s in [schedule, Schedule::always(), Schedule::default()] {
            assert_eq!(Schedule::from_code(&s.to_code()), Some(s));
        }
        assert_eq!(Schedule::always().to_code(), ["ffffff"; 7].join("."));
        for bad in [
            "",
            "ffffff",
            &["ffffff"; 8].join("."),
            &["fffffff"; 7].join("."),
            &["zz"; 7].join("."),
        ] {
            assert_eq!(Schedule::from_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_good_draft_becomes_settings() {
        let settings = draft()
            .check(now(), MoneyLimits::default(), "EUR")
            .expect("valid");
        assert_eq!(settings.bid, Micros(1_200_000));
        assert_eq!(settings.total_budget, Micros::units(100));
        assert_eq!(settings.daily_budget, Some(Micros::units(10)));
        assert_eq!(
            settings.start.map(|s| s.to_string()).as_deref(),
            Some("2026-12-01 08:00:00")
        );
        let asap = CampaignDraft {
            start: String::new(),
            daily_budget: String::new(),
            ..draft()
        };
        let settings = asap
            .check(now(), MoneyLimits::default(), "EUR")
            .expect("valid");
        assert_eq!((settings.start, settings.daily_budget), (None, None));
    }

    #[test]
    fn each_rule_reports_beside_its_field() {
        let limits = MoneyLimits::default();
        for (bad, field, words) in [
            (
                CampaignDraft {
                    name: " ".into(),
                    ..draft()
                },
                "name",
                "name",
            ),
            (
                CampaignDraft {
                    bid: "0.49".into(),
                    ..draft()
                },
                "bid",
                "minimum CPM bid is €0.50",
            ),
            (
                CampaignDraft {
                    bid: "abc".into(),
                    ..draft()
                },
                "bid",
                "amount",
            ),
            (
                CampaignDraft {
                    total_budget: "19.99".into(),
                    ..draft()
                },
                "total_budget",
                "minimum total budget is €20.00",
            ),
            (
                CampaignDraft {
                    daily_budget: "150".into(),
                    ..draft()
                },
                "daily_budget",
                "exceed the total",
            ),
            (
                CampaignDraft {
                    start: "2026-11-24T10:00".into(),
                    ..draft()
                },
                "start",
                "past",
            ),
            (
                CampaignDraft {
                    start: "tomorrow".into(),
                    ..draft()
                },
                "start",
                "date and time",
            ),
            (
                CampaignDraft {
                    end: "2026-12-01T08:00".into(),
                    ..draft()
                },
                "end",
                "after the start",
            ),
            (
                CampaignDraft {
                    start: String::new(),
                    end: "2026-11-25T09:00".into(),
                    ..draft()
                },
                "end",
                "future",
            ),
            (
                CampaignDraft {
                    schedule: Some(Schedule::default()),
                    ..draft()
                },
                "schedule",
                "at least one hour",
            ),
            (
                CampaignDraft {
                    targeting: Targeting {
                        min_subscribers: Some(9),
                        max_subscribers: Some(1),
                        ..Targeting::default()
                    },
                    ..draft()
                },
                "max_subscribers",
                "minimum",
            ),
            (
                CampaignDraft {
                    total_budget: "$500".into(),
                    ..draft()
                },
                "total_budget",
                "another currency",
            ),
        ] {
            let errors = bad.check(now(), limits, "EUR").expect_err(field);
            let message = errors.get(field).unwrap_or_default().to_owned();
            assert!(
                message.contains(words),
                "{field}: {message:?} in {errors:?}"
            );
        }
    }

    #[test]
    fn schedules_are_day_by_hour_grids() {
        let mut schedule = Schedule::default();
        assert!(schedule.is_empty());
        schedule.set(0, 9, true);
        schedule.set(6, 23, true);
        schedule.set(7, 1, true);
        schedule.set(0, 24, true);
        assert_eq!(schedule.hours(), 2, "out-of-range hours are ignored");
        // 2026-11-30 is a Monday.
        let monday_nine = NaiveDate::from_ymd_opt(2026, 11, 30)
            .and_then(|d| d.and_hms_opt(9, 30, 0))
            .unwrap_or_default();
        assert!(schedule.allows(monday_nine));
        assert!(!schedule.allows(monday_nine + chrono::Duration::hours(1)));
        schedule.set(0, 9, false);
        assert!(!schedule.allows(monday_nine));
        assert_eq!(Schedule::always().hours(), 168);
    }
}
