//! Campaigns as the builder and the list see them: the builder's form as typed (targeting,
//! bid and daily budget in the targeting form, the rest beside it), list filters and rows, and
//! everything the builder page loads in one round trip.

use super::{
    AccountId, AdDetails, CAMPAIGN_NAME_MAX, CampaignDraft, CampaignId, CampaignSettings,
    CampaignStatus, CompletionReason, Micros, MoneyLimits, Schedule, Targeting, TargetingForm,
    TargetingPageData, limits, urlencode,
};
use crate::error::FieldErrors;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use validator::Validate;

/// The campaign builder's form exactly as typed. The CPM bid and the daily budget are part of
/// the targeting form, because the live forecast prices the targeting with them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CampaignForm {
    pub name: String,
    pub targeting: TargetingForm,
    pub total_budget: String,
    /// Local to the account (`YYYY-MM-DDTHH:MM`); empty: as soon as approved.
    pub start: String,
    /// Local to the account; empty: until the budget is spent.
    pub end: String,
    /// `None`: any hour of the week.
    pub schedule: Option<Schedule>,
}

/// `datetime-local` format, as the builder's inputs send and show times.
pub const LOCAL_FORMAT: &str = "%Y-%m-%dT%H:%M";

impl CampaignForm {
    /// The size of everything typed, before anything else: the name at most
    /// [`CAMPAIGN_NAME_MAX`] characters, the total budget [`limits::NUMBER_MAX`], the dates
    /// [`limits::DATE_TIME_MAX`], and the targeting form's ([`TargetingForm::check_sizes`]).
    pub fn check_sizes(&self) -> FieldErrors {
        let mut errors = self.targeting.check_sizes();
        limits::check_lengths(
            &mut errors,
            &[
                ("name", &self.name, CAMPAIGN_NAME_MAX),
                ("total_budget", &self.total_budget, limits::NUMBER_MAX),
                ("start", &self.start, limits::DATE_TIME_MAX),
                ("end", &self.end, limits::DATE_TIME_MAX),
            ],
        );
        errors
    }

    /// Every check of the builder, each message beside its field: the targeting form's own
    /// parsing, then the campaign rules (see [`CampaignDraft::check`]).
    pub fn check(
        &self,
        now_local: NaiveDateTime,
        limits: MoneyLimits,
        currency: &str,
    ) -> Result<CampaignSettings, FieldErrors> {
        let (targeting, mut errors) = match self.targeting.parse_in(Some(currency)) {
            Ok(request) => (request.targeting, FieldErrors::default()),
            Err(errors) => (Targeting::default(), errors),
        };
        let draft = CampaignDraft {
            name: self.name.clone(),
            targeting,
            bid: self.targeting.bid.clone(),
            total_budget: self.total_budget.clone(),
            daily_budget: self.targeting.daily_budget.clone(),
            start: self.start.clone(),
            end: self.end.clone(),
            schedule: self.schedule,
        };
        match draft.check(now_local, limits, currency) {
            Ok(settings) if errors.is_empty() => Ok(settings),
            Ok(_) => Err(errors),
            Err(more) => {
                for (field, message) in more.0 {
                    errors.add(&field, message);
                }
                Err(errors)
            }
        }
    }

    /// The builder's form as its plain submission sends it, before the wasm has loaded: the
    /// targeting form's fields ([`TargetingForm::from_pairs`]) with `name`, `total_budget`,
    /// `start`, `end` and `schedule` ([`Schedule::to_code`]; absent or empty: any hour; not a
    /// schedule: one with no hour, which the checks refuse).
    pub fn from_pairs(pairs: &[(impl AsRef<str>, impl AsRef<str>)]) -> Self {
        let pairs = pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref()));
        let mut form = Self {
            targeting: TargetingForm::from_pairs(pairs.clone()),
            ..Self::default()
        };
        for (key, value) in pairs {
            match key {
                "name" => form.name = value.to_owned(),
                "total_budget" => form.total_budget = value.to_owned(),
                "start" => form.start = value.to_owned(),
                "end" => form.end = value.to_owned(),
                // An unreadable schedule is one with no hour on, which the checks refuse
                // beside the schedule: never "any hour".
                "schedule" if !value.is_empty() => {
                    form.schedule = Some(Schedule::from_code(value).unwrap_or_default());
                }
                _ => {}
            }
        }
        form
    }

    /// The query string [`Self::from_pairs`] reads back (with the marker `form=1`, which
    /// tells the builder that its address carries a form).
    pub fn to_query(&self) -> String {
        let mut query = format!("form=1&{}", self.targeting.to_query());
        for (key, value) in [
            ("name", &self.name),
            ("total_budget", &self.total_budget),
            ("start", &self.start),
            ("end", &self.end),
        ] {
            if !value.is_empty() {
                query.push_str(&format!("&{key}={}", urlencode(value)));
            }
        }
        if let Some(schedule) = self.schedule {
            query.push_str(&format!("&schedule={}", schedule.to_code()));
        }
        query
    }

    /// The form for stored settings (what a reload shows).
    pub fn from_settings(settings: &CampaignSettings) -> Self {
        let t = &settings.targeting;
        let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        let when = |at: Option<NaiveDateTime>| at.map(|at| at.format(LOCAL_FORMAT).to_string());
        Self {
            name: settings.name.clone(),
            targeting: TargetingForm {
                topics: t.topics.clone(),
                languages: t.languages.clone(),
                min_subscribers: number(t.min_subscribers),
                max_subscribers: number(t.max_subscribers),
                min_avg_views: number(t.min_avg_views),
                include: t.include.clone(),
                exclude: t.exclude.clone(),
                bid: settings.bid.to_decimal(),
                daily_budget: settings
                    .daily_budget
                    .map(Micros::to_decimal)
                    .unwrap_or_default(),
                ..TargetingForm::default()
            },
            total_budget: settings.total_budget.to_decimal(),
            start: when(settings.start).unwrap_or_default(),
            end: when(settings.end).unwrap_or_default(),
            schedule: settings.schedule,
        }
    }
}

impl Targeting {
    /// One line for people: "crypto, tech · en · 10,000–50,000 subscribers · 2 excluded".
    pub fn describe(&self) -> String {
        let n = |v: i64| super::group_thousands(v.unsigned_abs());
        let mut parts = Vec::new();
        if !self.include.is_empty() {
            parts.push(format!("only {} chosen channels", self.include.len()));
        } else {
            if !self.topics.is_empty() {
                parts.push(self.topics.join(", "));
            }
            if !self.languages.is_empty() {
                parts.push(self.languages.join(", "));
            }
            match (self.min_subscribers, self.max_subscribers) {
                (Some(min), Some(max)) => parts.push(format!("{}–{} subscribers", n(min), n(max))),
                (Some(min), None) => parts.push(format!("at least {} subscribers", n(min))),
                (None, Some(max)) => parts.push(format!("at most {} subscribers", n(max))),
                (None, None) => {}
            }
            if let Some(views) = self.min_avg_views {
                parts.push(format!("at least {} average views", n(views)));
            }
        }
        if !self.exclude.is_empty() {
            parts.push(format!("{} excluded", self.exclude.len()));
        }
        if parts.is_empty() {
            "every eligible channel".into()
        } else {
            parts.join(" · ")
        }
    }
}

/// What the builder's save did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveOutcome {
    pub id: CampaignId,
    /// The targeting changed on a live campaign: it waits for review and the approved
    /// targeting keeps serving until then.
    pub targeting_in_review: bool,
}

/// Lifecycle actions an advertiser takes on a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CampaignAction {
    Pause,
    Resume,
    Archive,
}

/// Orders of the campaign list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CampaignSort {
    #[default]
    Newest,
    Name,
    Budget,
    Start,
}

impl CampaignSort {
    pub const ALL: [Self; 4] = [Self::Newest, Self::Name, Self::Budget, Self::Start];

    pub fn code(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Name => "name",
            Self::Budget => "budget",
            Self::Start => "start",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Newest => "Newest",
            Self::Name => "Name",
            Self::Budget => "Budget",
            Self::Start => "Start",
        }
    }

    pub fn from_code(code: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .unwrap_or_default()
    }
}

/// Filters of the campaign list (a GET form: every view is a URL).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
#[serde(default)]
pub struct CampaignFilter {
    /// A status code; empty for every status but archived.
    #[cfg_attr(feature = "ssr", validate(length(max = limits::u64_of(limits::CODE_MAX))))]
    pub status: String,
    /// Part of the name, any case.
    #[cfg_attr(feature = "ssr", validate(length(max = limits::u64_of(limits::SEARCH_MAX))))]
    pub search: String,
    pub sort: CampaignSort,
    pub page: u64,
}

impl CampaignFilter {
    /// The list's URL for this filter at `page`.
    pub fn href(&self, page: u64) -> String {
        let mut pairs = Vec::new();
        if !self.status.is_empty() {
            pairs.push(format!("status={}", urlencode(&self.status)));
        }
        if !self.search.is_empty() {
            pairs.push(format!("q={}", urlencode(&self.search)));
        }
        if self.sort != CampaignSort::default() {
            pairs.push(format!("sort={}", self.sort.code()));
        }
        if page > 0 {
            pairs.push(format!("page={page}"));
        }
        if pairs.is_empty() {
            "/campaigns".into()
        } else {
            format!("/campaigns?{}", pairs.join("&"))
        }
    }
}

/// One campaign in the list. Times are local to the account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignRow {
    pub id: CampaignId,
    pub name: String,
    pub status: CampaignStatus,
    /// Submitted, with ads waiting for review.
    pub in_review: bool,
    /// A targeting change waits for review.
    pub targeting_pending: bool,
    pub total_budget: Micros,
    pub daily_budget: Option<Micros>,
    pub spent: Micros,
    /// Spend, holds, budget left and delivery state.
    pub delivery: super::CampaignDelivery,
    pub start: Option<NaiveDateTime>,
    pub end: Option<NaiveDateTime>,
    pub ads: u64,
    pub created_at: DateTime<Utc>,
}

impl CampaignRow {
    /// The status as the advertiser reads it ("Draft · in review").
    pub fn status_label(&self) -> String {
        match (self.status, self.in_review) {
            (CampaignStatus::Draft, true) => "In review".into(),
            (status, _) => status.label().into(),
        }
    }
}

/// A page of campaigns with what the page needs to show them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignList {
    pub page: super::Page<CampaignRow>,
    pub currency: String,
    pub time_zone: String,
    /// Owners and managers may create campaigns.
    pub can_edit: bool,
}

/// A stored campaign's state beside its form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignInfo {
    pub id: CampaignId,
    pub status: CampaignStatus,
    pub submitted_at: Option<DateTime<Utc>>,
    pub completed_reason: Option<CompletionReason>,
    /// The targeting that serves while a change waits for review (`None` when none waits).
    pub serving_targeting: Option<Targeting>,
    pub pending_since: Option<DateTime<Utc>>,
    pub spent: Micros,
    /// Spend, holds, budget left and delivery state.
    pub delivery: super::CampaignDelivery,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Everything the builder needs for its first render.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignBuilderData {
    /// The account the page shows; saving names it, so a switch elsewhere cannot redirect it.
    pub account: AccountId,
    /// `None` for a new campaign.
    pub campaign: Option<CampaignInfo>,
    pub form: CampaignForm,
    /// The targeting controls' choices and the forecast of `form`.
    pub targeting: TargetingPageData,
    pub limits: MoneyLimits,
    pub currency: String,
    pub time_zone: String,
    /// The account's wall-clock time when the page was made (for the live checks).
    pub now_local: NaiveDateTime,
    pub ads: Vec<AdDetails>,
    /// Moderators' decisions on the campaign's targeting changes, newest first.
    pub targeting_decisions: Vec<super::DecisionView>,
    /// Owners and managers edit; analysts read.
    pub can_edit: bool,
    /// A form the builder's address carried (its plain submission), shown instead of `form`,
    /// which stays what is stored; `None`: the stored form.
    pub posted: Option<PostedForm>,
}

/// What a builder's address asks besides the campaign: the form its plain submission sent
/// (before the wasm loaded: an Enter in a field, a channel search, or a save that failed), the
/// channel search typed, and whether to check the form as a save would.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuilderAddress {
    pub form: Option<CampaignForm>,
    pub find: String,
    /// Show what a save of `form` would refuse (the plain save failed).
    pub check: bool,
}

impl BuilderAddress {
    /// Reads a builder's query string: a form when it has the marker `form=1`
    /// ([`CampaignForm::to_query`]).
    pub fn from_pairs(pairs: &[(impl AsRef<str>, impl AsRef<str>)]) -> Self {
        let has = |key: &str| {
            pairs
                .iter()
                .any(|(k, v)| k.as_ref() == key && v.as_ref() == "1")
        };
        Self {
            form: has("form").then(|| CampaignForm::from_pairs(pairs)),
            find: pairs
                .iter()
                .find(|(k, _)| k.as_ref() == "find")
                .map(|(_, v)| v.as_ref().to_owned())
                .unwrap_or_default(),
            check: has("check"),
        }
    }
}

/// The form a builder's address carried, as the builder shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PostedForm {
    pub form: CampaignForm,
    pub find: String,
    /// What a save would refuse, beside each field (when the address asked for the check).
    pub errors: FieldErrors,
    /// What stopped the save when it is not one field's problem.
    pub failure: Option<String>,
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

    /// The decoded pairs of a query string.
    fn pairs(query: &str) -> Vec<(String, String)> {
        let decode = |text: &str| {
            let bytes = text.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'%'
                    && let Some(hex) = text.get(i + 1..i + 3)
                    && let Ok(byte) = u8::from_str_radix(hex, 16)
                {
                    out.push(byte);
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap_or_default()
        };
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect()
    }

    #[test]
    fn the_builder_form_survives_its_address_and_a_bad_schedule_is_no_hour() {
        let mut schedule = Schedule::default();
        schedule.set(4, 18, true);
        let typed = CampaignForm {
            schedule: Some(schedule),
            end: "2026-12-31T20:00".into(),
            ..form()
        };
        let query = typed.to_query();
        assert!(query.starts_with("form=1&"), "{query}");
        let owned = pairs(&query);
        let borrowed: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            CampaignForm::from_pairs(&borrowed).targeting,
            typed.targeting
        );
        assert_eq!(
            CampaignForm::from_pairs(&borrowed),
            CampaignForm {
                targeting: CampaignForm::from_pairs(&borrowed).targeting,
                ..typed.clone()
            }
        );
        let address = BuilderAddress::from_pairs(&borrowed);
        assert_eq!(address.form.as_ref().map(|f| &f.name), Some(&typed.name));
        assert!(!address.check);
        // Without the marker the address carries no form; an unreadable schedule is no hour.
        assert_eq!(BuilderAddress::from_pairs(&[("name", "x")]).form, None);
        let garbled = CampaignForm::from_pairs(&[("schedule", "every hour")]);
        assert_eq!(garbled.schedule, Some(Schedule::default()));
        assert_eq!(CampaignForm::from_pairs(&[("schedule", "")]).schedule, None);
    }

    fn form() -> CampaignForm {
        CampaignForm {
            name: "Winter coffee".into(),
            targeting: TargetingForm {
                topics: vec!["food".into()],
                min_subscribers: "10k".into(),
                bid: "1.50".into(),
                daily_budget: "10".into(),
                ..TargetingForm::default()
            },
            total_budget: "200".into(),
            start: "2026-12-01T08:00".into(),
            end: String::new(),
            schedule: Some(Schedule::always()),
        }
    }

    #[test]
    fn a_checked_form_round_trips_through_its_settings() {
        let settings = form()
            .check(now(), MoneyLimits::default(), "EUR")
            .expect("valid");
        assert_eq!(settings.targeting.min_subscribers, Some(10_000));
        let back = CampaignForm::from_settings(&settings);
        assert_eq!(back.targeting.min_subscribers, "10000");
        assert_eq!(
            back.check(now(), MoneyLimits::default(), "EUR"),
            Ok(settings)
        );
    }

    #[test]
    fn targeting_parse_errors_and_campaign_errors_come_back_together() {
        let mut bad = form();
        bad.targeting.min_subscribers = "lots".into();
        bad.targeting.bid = "0.10".into();
        bad.total_budget = "5".into();
        let errors = bad
            .check(now(), MoneyLimits::default(), "EUR")
            .expect_err("invalid");
        for field in ["min_subscribers", "bid", "total_budget"] {
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }
    }

    #[test]
    fn targeting_reads_as_one_line() {
        assert_eq!(Targeting::default().describe(), "every eligible channel");
        let t = Targeting {
            topics: vec!["crypto".into(), "tech".into()],
            languages: vec!["en".into()],
            min_subscribers: Some(10_000),
            max_subscribers: Some(50_000),
            exclude: vec![super::super::ChannelId(4)],
            ..Targeting::default()
        };
        assert_eq!(
            t.describe(),
            "crypto, tech · en · 10,000–50,000 subscribers · 1 excluded"
        );
    }

    #[test]
    fn list_links_keep_the_filter() {
        let filter = CampaignFilter {
            status: "running".into(),
            search: "winter sale".into(),
            sort: CampaignSort::Budget,
            page: 0,
        };
        assert_eq!(
            filter.href(2),
            "/campaigns?status=running&q=winter%20sale&sort=budget&page=2"
        );
        assert_eq!(CampaignFilter::default().href(0), "/campaigns");
    }
}
