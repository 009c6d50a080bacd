//! Contextual targeting (channels only, never people) and the reach-and-cost forecast: the
//! `Targeting` type campaigns carry, the raw form the targeting page round-trips through its
//! URL, and what a forecast answers.

use super::{
    ChannelId, ChannelRow, ChannelSort, LANGUAGES, Micros, Page, language_name, limits,
    parse_count, urlencode,
};
use crate::error::FieldErrors;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// At most this many channels in an include list.
pub const MAX_INCLUDED: usize = 50;
/// At most this many channels in an exclude list.
pub const MAX_EXCLUDED: usize = 500;
/// At most this many topics in a targeting or a channel filter (the taxonomy has 31).
pub const MAX_TOPICS: usize = 100;
/// At most this many languages in a targeting or a channel filter: each known code once.
pub const MAX_LANGUAGES: usize = LANGUAGES.len();
/// Rows per page of the forecast's matching channels.
pub const FORECAST_PAGE_SIZE: u64 = 10;

/// Refuses lists longer than their documented maximum, in constant time: run it before
/// anything walks, sorts or looks up a list a client sent.
pub fn check_list_sizes(
    topics: usize,
    languages: usize,
    include: usize,
    exclude: usize,
) -> FieldErrors {
    let mut errors = FieldErrors::default();
    for (field, len, max, message) in [
        ("topics", topics, MAX_TOPICS, "Choose at most {} topics."),
        (
            "languages",
            languages,
            MAX_LANGUAGES,
            "Choose at most {} languages.",
        ),
        (
            "include",
            include,
            MAX_INCLUDED,
            "Include at most {} channels.",
        ),
        (
            "exclude",
            exclude,
            MAX_EXCLUDED,
            "Exclude at most {} channels.",
        ),
    ] {
        if len > max {
            errors.add(field, message.replace("{}", &max.to_string()));
        }
    }
    errors
}

/// Which channels a campaign may run on.
///
/// Semantics: an eligible channel matches when its topic is in `topics` (or `topics` is
/// empty), its language is in `languages` (or empty), its subscribers are within
/// `min_subscribers..=max_subscribers`, its average views are at least `min_avg_views`, and it
/// is not excluded. When `include` is not empty, the campaign runs **only** on the included
/// channels (minus exclusions), and the topic, language and size filters are not used. An
/// empty targeting means every eligible channel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
// Lists may be absent from a URL-encoded form (it cannot express an empty list).
#[serde(default)]
pub struct Targeting {
    /// Topic slugs, sorted, no duplicates.
    pub topics: Vec<String>,
    /// ISO 639-1 codes, sorted, no duplicates.
    pub languages: Vec<String>,
    pub min_subscribers: Option<i64>,
    pub max_subscribers: Option<i64>,
    pub min_avg_views: Option<i64>,
    pub include: Vec<ChannelId>,
    pub exclude: Vec<ChannelId>,
}

impl Targeting {
    /// Sorted, de-duplicated lists (so equal targetings compare and hash equal).
    pub fn normalized(mut self) -> Self {
        for list in [&mut self.topics, &mut self.languages] {
            for item in list.iter_mut() {
                *item = item.trim().to_lowercase();
            }
            list.retain(|item| !item.is_empty());
            list.sort();
            list.dedup();
        }
        for list in [&mut self.include, &mut self.exclude] {
            list.sort();
            list.dedup();
        }
        self
    }

    /// [`check_list_sizes`] of this targeting's lists, then the size of each topic and
    /// language ([`limits::CODE_MAX`] characters).
    pub fn check_sizes(&self) -> FieldErrors {
        let mut errors = check_list_sizes(
            self.topics.len(),
            self.languages.len(),
            self.include.len(),
            self.exclude.len(),
        );
        if errors.is_empty() {
            limits::check_entries(&mut errors, "topics", &self.topics, limits::CODE_MAX);
            limits::check_entries(&mut errors, "languages", &self.languages, limits::CODE_MAX);
        }
        errors
    }

    /// The checks that need no database: list sizes, ranges, language codes, no channel both
    /// included and excluded. A list over its maximum is reported alone, before any other
    /// check walks it; the rest is linear in the lists' lengths. The server adds known topics
    /// and eligibility of included channels.
    pub fn check(&self) -> FieldErrors {
        let mut errors = self.check_sizes();
        if !errors.is_empty() {
            return errors;
        }
        for (field, value) in [
            ("min_subscribers", self.min_subscribers),
            ("max_subscribers", self.max_subscribers),
            ("min_avg_views", self.min_avg_views),
        ] {
            if value.is_some_and(|v| v < 0) {
                errors.add(field, "Cannot be negative.");
            }
        }
        if let (Some(min), Some(max)) = (self.min_subscribers, self.max_subscribers)
            && min > max
        {
            errors.add("max_subscribers", "Must be at least the minimum.");
        }
        if let Some(unknown) = self.languages.iter().find(|l| language_name(l).is_none()) {
            errors.add(
                "languages",
                format!("\"{unknown}\" is not a language code."),
            );
        }
        let included: HashSet<ChannelId> = self.include.iter().copied().collect();
        if self.exclude.iter().any(|c| included.contains(c)) {
            errors.add("exclude", "A channel cannot be both included and excluded.");
        }
        errors
    }

    /// Whether the size/topic/language filters are in use (they are not when channels are
    /// included explicitly).
    pub fn uses_filters(&self) -> bool {
        self.include.is_empty()
    }
}

/// What the forecast is asked: targeting, the CPM bid, an optional daily budget, and which
/// page of matching channels to list, in which order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
// Lists may be absent from a URL-encoded form (it cannot express an empty list).
#[serde(default)]
pub struct ForecastRequest {
    pub targeting: Targeting,
    pub bid: Micros,
    pub daily_budget: Option<Micros>,
    pub sort: ChannelSort,
    pub page: u64,
}

/// What a targeting buys per day, before launch.
///
/// Model: a channel carries at most `slots_per_day` sponsored messages a day, and fewer when
/// it posts less (`min(posts_per_day, slots_per_day)`); each is seen by its average views. The
/// daily view capacity is the sum of that over matching channels. The bid wins the share of it
/// that the running campaigns bidding more do not take (see `service::forecast::competition`),
/// limited by what the daily budget pays for; spend is those views at the bid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub channels: u64,
    pub subscribers: i64,
    pub daily_capacity: i64,
    /// The whole eligible catalog, for the share.
    pub eligible_channels: u64,
    pub eligible_capacity: i64,
    /// Estimated views won per day.
    pub daily_views: i64,
    /// Estimated spend per day, never above the daily budget.
    pub daily_spend: Micros,
    /// The daily budget, not the available slots, limits the views.
    pub budget_limited: bool,
    /// Share of the matching slots this bid is expected to win, 0–1.
    pub win_rate: f64,
    /// The lowest bids expected to win about half and about nine tenths of the matching slots
    /// (`None`: no bid on the scale does).
    pub bid_for_half: Option<Micros>,
    pub bid_for_most: Option<Micros>,
    /// The average price paid per thousand views on the matching channels in the last days.
    pub recent_cpm: Option<Micros>,
    /// The most running campaigns competing in any one part of the matching channels.
    pub competitors: u32,
    pub top: Page<ChannelRow>,
    /// The order of `top`.
    pub sort: ChannelSort,
    /// The include and exclude lists resolved to channels (for their chips).
    pub included: Vec<ChannelRow>,
    pub excluded: Vec<ChannelRow>,
    pub currency: String,
    pub slots_per_day: i64,
    pub min_subscribers: i64,
}

impl Forecast {
    /// The matching capacity as a share of the eligible catalog's, in percent.
    pub fn share_percent(&self) -> f64 {
        if self.eligible_capacity == 0 {
            0.0
        } else {
            self.daily_capacity as f64 * 100.0 / self.eligible_capacity as f64
        }
    }

    /// Number of pages of matching channels.
    pub fn pages(&self) -> u64 {
        self.top.total.div_ceil(FORECAST_PAGE_SIZE).max(1)
    }
}

/// What the targeting controls offer: every topic and every language with eligible channels,
/// with how many, and the platform's model settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetingOptions {
    /// (slug, name, eligible channels), A–Z by name.
    pub topics: Vec<(String, String, u64)>,
    /// (code, name, eligible channels), most channels first.
    pub languages: Vec<(String, String, u64)>,
    pub min_subscribers: i64,
    pub slots_per_day: i64,
}

/// Everything the targeting page needs for its first render, in one round trip: the
/// controls' choices, the forecast of the form as given (or why it cannot be made), and the
/// results of a channel search typed before the wasm loaded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetingPageData {
    pub options: TargetingOptions,
    pub forecast: Result<Forecast, crate::error::AppError>,
    pub found: Option<Page<ChannelRow>>,
}

/// One channel's sponsored-message views per day: its average views times its ad slots,
/// `min(posts_per_day, slots_per_day)`, rounded to a whole view.
pub fn daily_capacity(avg_views: i64, posts_per_day: f64, slots_per_day: i64) -> i64 {
    let slots = posts_per_day.clamp(0.0, slots_per_day.max(0) as f64);
    (avg_views.max(0) as f64 * slots).round() as i64
}

/// The targeting page's form exactly as typed, round-tripped through the URL so that the page
/// works by plain form submission and survives a reload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
// A server function's URL-encoded arguments cannot express an empty list (serde_qs leaves it
// out): a missing list is an empty one, not an error.
#[serde(default)]
pub struct TargetingForm {
    pub topics: Vec<String>,
    pub languages: Vec<String>,
    pub min_subscribers: String,
    pub max_subscribers: String,
    pub min_avg_views: String,
    pub include: Vec<ChannelId>,
    pub exclude: Vec<ChannelId>,
    pub bid: String,
    pub daily_budget: String,
    pub sort: ChannelSort,
    pub page: u64,
}

impl Default for TargetingForm {
    fn default() -> Self {
        Self {
            topics: Vec::new(),
            languages: Vec::new(),
            min_subscribers: String::new(),
            max_subscribers: String::new(),
            min_avg_views: String::new(),
            include: Vec::new(),
            exclude: Vec::new(),
            bid: "1.00".into(),
            daily_budget: String::new(),
            sort: ChannelSort::default(),
            page: 0,
        }
    }
}

impl TargetingForm {
    /// Reads the form from query-string pairs (`topic`, `lang`, `min_subs`, `max_subs`,
    /// `min_views`, `inc`, `exc`, `bid`, `daily`, `sort`, `page`; repeated keys for lists).
    /// Buttons named `add_inc` / `add_exc` / `drop_inc` / `drop_exc` edit the lists, so the
    /// include and exclude pickers also work without JavaScript.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut form = Self {
            bid: String::new(),
            ..Self::default()
        };
        let mut bid_seen = false;
        let (mut drop_include, mut drop_exclude) = (HashSet::new(), HashSet::new());
        for (key, value) in pairs {
            let id = || value.trim().parse::<ChannelId>().ok();
            match key {
                "topic" => form.topics.push(value.to_owned()),
                "lang" => form.languages.push(value.to_owned()),
                "min_subs" => form.min_subscribers = value.to_owned(),
                "max_subs" => form.max_subscribers = value.to_owned(),
                "min_views" => form.min_avg_views = value.to_owned(),
                "inc" | "add_inc" => form.include.extend(id()),
                "exc" | "add_exc" => form.exclude.extend(id()),
                "drop_inc" => drop_include.extend(id()),
                "drop_exc" => drop_exclude.extend(id()),
                "bid" => {
                    bid_seen = true;
                    form.bid = value.to_owned();
                }
                "daily" => form.daily_budget = value.to_owned(),
                "sort" => form.sort = ChannelSort::from_code(value),
                "page" => form.page = value.parse().unwrap_or(0),
                _ => {}
            }
        }
        // Linear in the pairs: the query string is the client's to make as long as it likes.
        for (list, dropped) in [
            (&mut form.include, drop_include),
            (&mut form.exclude, drop_exclude),
        ] {
            let mut seen = HashSet::new();
            list.retain(|c| !dropped.contains(c) && seen.insert(*c));
        }
        if !bid_seen {
            form.bid = Self::default().bid;
        }
        form
    }

    /// The query string for this form (without `?`), in the keys `from_pairs` reads.
    pub fn to_query(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        pairs.extend(self.topics.iter().map(|t| ("topic", t.clone())));
        pairs.extend(self.languages.iter().map(|l| ("lang", l.clone())));
        for (key, value) in [
            ("min_subs", &self.min_subscribers),
            ("max_subs", &self.max_subscribers),
            ("min_views", &self.min_avg_views),
        ] {
            if !value.trim().is_empty() {
                pairs.push((key, value.clone()));
            }
        }
        pairs.extend(self.include.iter().map(|c| ("inc", c.to_string())));
        pairs.extend(self.exclude.iter().map(|c| ("exc", c.to_string())));
        pairs.push(("bid", self.bid.clone()));
        if !self.daily_budget.trim().is_empty() {
            pairs.push(("daily", self.daily_budget.clone()));
        }
        if self.sort != ChannelSort::default() {
            pairs.push(("sort", self.sort.code().to_owned()));
        }
        if self.page > 0 {
            pairs.push(("page", self.page.to_string()));
        }
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", urlencode(&v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The size of everything typed, before anything else looks at it: [`check_list_sizes`],
    /// then each topic and language at most [`limits::CODE_MAX`] characters and each figure
    /// (counts, bid, daily budget) at most [`limits::NUMBER_MAX`].
    pub fn check_sizes(&self) -> FieldErrors {
        let mut errors = check_list_sizes(
            self.topics.len(),
            self.languages.len(),
            self.include.len(),
            self.exclude.len(),
        );
        if !errors.is_empty() {
            return errors;
        }
        limits::check_entries(&mut errors, "topics", &self.topics, limits::CODE_MAX);
        limits::check_entries(&mut errors, "languages", &self.languages, limits::CODE_MAX);
        limits::check_lengths(
            &mut errors,
            &[
                ("min_subscribers", &self.min_subscribers, limits::NUMBER_MAX),
                ("max_subscribers", &self.max_subscribers, limits::NUMBER_MAX),
                ("min_avg_views", &self.min_avg_views, limits::NUMBER_MAX),
                ("bid", &self.bid, limits::NUMBER_MAX),
                ("daily_budget", &self.daily_budget, limits::NUMBER_MAX),
            ],
        );
        errors
    }

    /// The typed request, or a message per field that does not parse or does not fit. Sizes
    /// ([`Self::check_sizes`]) are refused alone, before any list is copied or sorted. Money
    /// with a currency sign is refused: see [`Self::parse_in`].
    pub fn parse(&self) -> Result<ForecastRequest, FieldErrors> {
        self.parse_in(None)
    }

    /// [`Self::parse`] where the account's currency is known: the bid and daily budget may
    /// carry its sign or code ("€0.40"), never another currency's.
    pub fn parse_in(&self, currency: Option<&str>) -> Result<ForecastRequest, FieldErrors> {
        let money = |text: &str| match currency {
            Some(c) => Micros::parse_in(text, c),
            None => Micros::parse(text),
        };
        let sizes = self.check_sizes();
        if !sizes.is_empty() {
            return Err(sizes);
        }
        let mut errors = FieldErrors::default();
        let mut count = |field: &str, text: &str| {
            if text.trim().is_empty() {
                return None;
            }
            match parse_count(text) {
                Ok(n) => Some(n),
                Err(reason) => {
                    errors.add(field, capitalise(&reason));
                    None
                }
            }
        };
        let min_subscribers = count("min_subscribers", &self.min_subscribers);
        let max_subscribers = count("max_subscribers", &self.max_subscribers);
        let min_avg_views = count("min_avg_views", &self.min_avg_views);
        let bid = match money(&self.bid) {
            Ok(bid) if bid.0 > 0 => bid,
            Ok(_) => {
                errors.add("bid", "The bid must be more than zero.");
                Micros::ZERO
            }
            Err(e) => {
                errors.add("bid", e.to_string());
                Micros::ZERO
            }
        };
        let daily_budget = if self.daily_budget.trim().is_empty() {
            None
        } else {
            match money(&self.daily_budget) {
                Ok(budget) if budget.0 > 0 => Some(budget),
                Ok(_) => {
                    errors.add(
                        "daily_budget",
                        "Leave it empty for no daily limit, or enter more than zero.",
                    );
                    None
                }
                Err(e) => {
                    errors.add("daily_budget", e.to_string());
                    None
                }
            }
        };
        let targeting = Targeting {
            topics: self.topics.clone(),
            languages: self.languages.clone(),
            min_subscribers,
            max_subscribers,
            min_avg_views,
            include: self.include.clone(),
            exclude: self.exclude.clone(),
        }
        .normalized();
        for (field, message) in targeting.check().0 {
            errors.add(&field, message);
        }
        if errors.is_empty() {
            Ok(ForecastRequest {
                targeting,
                bid,
                daily_budget,
                sort: self.sort,
                page: self.page,
            })
        } else {
            Err(errors)
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_round_trips_through_the_query_string() {
        let form = TargetingForm {
            topics: vec!["crypto".into(), "tech".into()],
            languages: vec!["en".into()],
            min_subscribers: "10k".into(),
            max_subscribers: "1,000,000".into(),
            include: vec![ChannelId(7)],
            exclude: vec![ChannelId(9), ChannelId(11)],
            bid: "2.50".into(),
            daily_budget: "100".into(),
            sort: ChannelSort::Views,
            page: 2,
            ..TargetingForm::default()
        };
        let query = form.to_query();
        let pairs: Vec<(String, String)> = query
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_owned(), v.replace("%2C", ","))
            })
            .collect();
        let back = TargetingForm::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(back, form);
    }

    #[test]
    fn list_buttons_edit_without_javascript() {
        let form = TargetingForm::from_pairs([
            ("inc", "3"),
            ("add_inc", "4"),
            ("add_inc", "3"),
            ("exc", "8"),
            ("drop_exc", "8"),
        ]);
        assert_eq!(form.include, [ChannelId(3), ChannelId(4)]);
        assert!(form.exclude.is_empty());
        assert_eq!(form.bid, "1.00", "a missing bid gets the default");
    }

    #[test]
    fn parse_reports_every_bad_field() {
        let form = TargetingForm {
            min_subscribers: "50k".into(),
            max_subscribers: "10k".into(),
            min_avg_views: "lots".into(),
            bid: "0".into(),
            daily_budget: "abc".into(),
            languages: vec!["xx".into()],
            include: vec![ChannelId(1)],
            exclude: vec![ChannelId(1)],
            ..TargetingForm::default()
        };
        let errors = form.parse().expect_err("invalid");
        for field in [
            "max_subscribers",
            "min_avg_views",
            "bid",
            "daily_budget",
            "languages",
            "exclude",
        ] {
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }
    }

    #[test]
    fn parse_normalises_lists() {
        let form = TargetingForm {
            topics: vec!["Tech".into(), "crypto".into(), "tech".into()],
            ..TargetingForm::default()
        };
        let request = form.parse().expect("valid");
        assert_eq!(request.targeting.topics, ["crypto", "tech"]);
        assert_eq!(request.bid, Micros(1_000_000));
        assert_eq!(request.daily_budget, None);
    }

    #[test]
    fn oversized_lists_are_refused_alone() {
        let ids: Vec<ChannelId> = (0..100_000).map(ChannelId).collect();
        let targeting = Targeting {
            languages: vec!["xx".into()],
            min_subscribers: Some(-1),
            include: ids.clone(),
            exclude: ids.clone(),
            ..Targeting::default()
        };
        let errors = targeting.check();
        let fields: Vec<&str> = errors.0.keys().map(String::as_str).collect();
        assert_eq!(fields, ["exclude", "include"], "{errors:?}");
        let form = TargetingForm {
            topics: vec!["tech".into(); MAX_TOPICS + 1],
            include: ids.clone(),
            exclude: ids,
            bid: "0".into(),
            ..TargetingForm::default()
        };
        let errors = form.parse().expect_err("too long");
        let fields: Vec<&str> = errors.0.keys().map(String::as_str).collect();
        assert_eq!(fields, ["exclude", "include", "topics"], "{errors:?}");
    }

    #[test]
    fn many_list_buttons_edit_in_one_pass() {
        let ids: Vec<String> = (0..20_000).map(|i| i.to_string()).collect();
        let pairs = ids
            .iter()
            .map(|i| ("inc", i.as_str()))
            .chain(ids.iter().skip(1).map(|i| ("drop_inc", i.as_str())))
            .chain(ids.iter().map(|i| ("exc", i.as_str())));
        let form = TargetingForm::from_pairs(pairs);
        assert_eq!(form.include, [ChannelId(0)]);
        assert_eq!(form.exclude.len(), ids.len());
    }

    #[test]
    fn oversized_values_are_refused_before_parsing() {
        let long = "9".repeat(limits::NUMBER_MAX + 1);
        let form = TargetingForm {
            topics: vec!["t".repeat(limits::CODE_MAX + 1)],
            min_subscribers: long.clone(),
            bid: long.clone(),
            ..TargetingForm::default()
        };
        let errors = form.parse().expect_err("too long");
        let fields: Vec<&str> = errors.0.keys().map(String::as_str).collect();
        assert_eq!(fields, ["bid", "min_subscribers", "topics"], "{errors:?}");
        let at_limit = TargetingForm {
            min_subscribers: "1".repeat(limits::NUMBER_MAX),
            ..TargetingForm::default()
        };
        // Within the size it is parsed (and then refused for what it says).
        let errors = at_limit.parse().expect_err("too many");
        assert!(
            !errors
                .get("min_subscribers")
                .unwrap_or_default()
                .contains("At most")
        );
    }

    #[test]
    fn too_many_channels_are_refused() {
        let targeting = Targeting {
            include: (0..=MAX_INCLUDED as i64).map(ChannelId).collect(),
            exclude: (100..=100 + MAX_EXCLUDED as i64).map(ChannelId).collect(),
            ..Targeting::default()
        };
        let errors = targeting.check();
        assert!(errors.get("include").is_some());
        assert!(errors.get("exclude").is_some());
    }
}
