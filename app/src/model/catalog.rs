//! The channel catalog as the browser sees it: languages, topics, channel rows, the browser's
//! filter, admin edits, and CSV import previews. Field checks shared by import and edit live
//! here so both give the same answer.

use super::{CatalogImportId, ChannelId, TopicId, language_name, limits};
use serde::{Deserialize, Serialize};

/// A topic of the taxonomy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub id: TopicId,
    pub slug: String,
    pub name: String,
}

/// Longest topic name (the column holds 60).
pub const TOPIC_NAME_MAX: usize = 60;
/// Longest topic slug (the column holds 40).
pub const TOPIC_SLUG_MAX: usize = 40;

/// A topic as the admin's topics page lists it: with how many channels are filed under it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicRow {
    pub id: TopicId,
    pub slug: String,
    pub name: String,
    /// Channels filed under the topic, active or not.
    pub channels: u64,
}

/// An admin's new topic (`id` empty) or new name for one. A slug never changes once made:
/// campaigns' targeting and catalog files name topics by it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicInput {
    #[serde(default)]
    pub id: Option<TopicId>,
    /// Empty: made from the name.
    #[serde(default)]
    pub slug: String,
    pub name: String,
}

impl TopicInput {
    /// The slug a new topic gets: the one typed, or one made from the name ("Food & Drink"
    /// → "food-drink").
    pub fn slug_or_from_name(&self) -> String {
        let typed = self.slug.trim();
        if !typed.is_empty() {
            return typed.to_owned();
        }
        let mut slug = String::new();
        for c in self.name.trim().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        slug.trim_end_matches('-')
            .chars()
            .take(TOPIC_SLUG_MAX)
            .collect::<String>()
            .trim_end_matches('-')
            .to_owned()
    }

    /// Checks what can be checked without the database, each problem beside its field.
    pub fn check(&self) -> crate::error::FieldErrors {
        let mut errors = crate::error::FieldErrors::default();
        let name = self.name.trim();
        let length = name.chars().count();
        if length == 0 {
            errors.add("name", "Give the topic a name.");
        } else if length > TOPIC_NAME_MAX {
            errors.add("name", format!("At most {TOPIC_NAME_MAX} characters."));
        } else if name.chars().any(char::is_control) {
            errors.add("name", "A name is one line of text.");
        }
        if self.id.is_none() {
            let slug = self.slug_or_from_name();
            let well_formed = (2..=TOPIC_SLUG_MAX).contains(&slug.len())
                && slug
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !slug.starts_with('-')
                && !slug.ends_with('-');
            // With neither a name nor a slug, the name's message is enough.
            let nothing_typed = self.slug.trim().is_empty() && length == 0;
            if !well_formed && !nothing_typed {
                errors.add(
                    "slug",
                    if self.slug.trim().is_empty() {
                        format!(
                            "No slug can be made from this name: type one (2–{TOPIC_SLUG_MAX} lowercase letters, digits and hyphens)."
                        )
                    } else {
                        format!("2–{TOPIC_SLUG_MAX} lowercase letters, digits and hyphens, not starting or ending with a hyphen.")
                    },
                );
            }
        }
        errors
    }
}

/// One channel as lists show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelRow {
    pub id: ChannelId,
    pub handle: String,
    pub title: String,
    pub topic_slug: String,
    pub topic_name: String,
    pub language: String,
    pub subscribers: i64,
    pub avg_views: i64,
    pub posts_per_day: f64,
    pub active: bool,
    /// Active and at or above the platform's subscriber threshold.
    pub eligible: bool,
}

/// How channel lists are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChannelSort {
    /// Largest first.
    #[default]
    Subscribers,
    /// Most average views first.
    Views,
    /// Title A–Z.
    Name,
}

impl ChannelSort {
    pub const ALL: [Self; 3] = [Self::Subscribers, Self::Views, Self::Name];

    pub fn code(self) -> &'static str {
        match self {
            Self::Subscribers => "subscribers",
            Self::Views => "views",
            Self::Name => "name",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Subscribers => "Subscribers",
            Self::Views => "Average views",
            Self::Name => "Name",
        }
    }

    /// The sort for a query-string code; unknown codes fall back to the default.
    pub fn from_code(code: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .unwrap_or_default()
    }
}

/// The channel browser's filters (all optional) and position.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelFilter {
    /// Topic slugs; empty means every topic.
    pub topics: Vec<String>,
    /// Language codes; empty means every language.
    pub languages: Vec<String>,
    pub min_subscribers: Option<i64>,
    pub max_subscribers: Option<i64>,
    pub min_avg_views: Option<i64>,
    /// Part of the handle or title.
    pub search: String,
    /// Only channels that can carry ads now.
    pub eligible_only: bool,
    pub sort: ChannelSort,
    pub page: u64,
}

impl ChannelFilter {
    /// Refuses topic and language lists longer than a targeting's (constant time, so it runs
    /// before the lists are walked or sent to the database), entries longer than
    /// [`limits::CODE_MAX`] and a search longer than [`limits::SEARCH_MAX`] characters.
    pub fn check(&self) -> crate::error::FieldErrors {
        let mut errors = super::check_list_sizes(self.topics.len(), self.languages.len(), 0, 0);
        if errors.is_empty() {
            limits::check_entries(&mut errors, "topics", &self.topics, limits::CODE_MAX);
            limits::check_entries(&mut errors, "languages", &self.languages, limits::CODE_MAX);
        }
        limits::check_lengths(&mut errors, &[("search", &self.search, limits::SEARCH_MAX)]);
        errors
    }
}

/// The editable facts of one channel, as typed in the admin form or read from a CSV row.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelInput {
    pub handle: String,
    pub title: String,
    /// Topic slug.
    pub topic: String,
    pub language: String,
    pub subscribers: String,
    pub avg_views: String,
    pub posts_per_day: String,
    pub active: bool,
}

/// A `ChannelInput` that passed its checks.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelFacts {
    pub handle: String,
    pub title: String,
    pub topic: String,
    pub language: String,
    pub subscribers: i64,
    pub avg_views: i64,
    pub posts_per_day: f64,
    pub active: bool,
}

/// The largest posts-per-day figure accepted (a channel posting every 3 minutes, all day).
pub const MAX_POSTS_PER_DAY: f64 = 500.0;

/// Canonical form of a handle: without the leading `@`, lower-case.
pub fn normalize_handle(handle: &str) -> String {
    handle.trim().trim_start_matches('@').to_lowercase()
}

/// Longest channel title, in characters (`channel.title` is `varchar(128)`).
pub const CHANNEL_TITLE_MAX: usize = 128;

impl ChannelInput {
    /// The size of every field, before anything else looks at it: the handle, topic and
    /// language at most [`limits::CODE_MAX`] characters, the title [`CHANNEL_TITLE_MAX`], the
    /// figures [`limits::NUMBER_MAX`]. A value too long is reported without being repeated.
    pub fn check_sizes(&self) -> Vec<(&'static str, String)> {
        [
            ("handle", "The handle", &self.handle, limits::CODE_MAX),
            ("title", "The title", &self.title, CHANNEL_TITLE_MAX),
            ("topic", "The topic", &self.topic, limits::CODE_MAX),
            ("language", "The language", &self.language, limits::CODE_MAX),
            (
                "subscribers",
                "Subscribers",
                &self.subscribers,
                limits::NUMBER_MAX,
            ),
            (
                "avg_views",
                "Average views",
                &self.avg_views,
                limits::NUMBER_MAX,
            ),
            (
                "posts_per_day",
                "Posts per day",
                &self.posts_per_day,
                limits::NUMBER_MAX,
            ),
        ]
        .into_iter()
        .filter(|(_, _, value, max)| limits::too_long(value, *max))
        .map(|(field, label, _, max)| (field, format!("{label} is longer than {max} characters.")))
        .collect()
    }

    /// Checks every field; `known_topic` says whether a slug exists. Errors are keyed by field
    /// name, in form order, with messages written for the person who typed them. Sizes come
    /// first ([`Self::check_sizes`]): a value too long is reported alone.
    pub fn check(
        &self,
        known_topic: impl Fn(&str) -> bool,
    ) -> Result<ChannelFacts, Vec<(&'static str, String)>> {
        let sizes = self.check_sizes();
        if !sizes.is_empty() {
            return Err(sizes);
        }
        let mut problems = Vec::new();
        let handle = normalize_handle(&self.handle);
        if handle.is_empty() {
            problems.push(("handle", "The handle is missing.".to_owned()));
        } else if !(5..=32).contains(&handle.len())
            || !handle.starts_with(|c: char| c.is_ascii_lowercase())
            || !handle
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            problems.push((
                "handle",
                format!("\"{}\" is not a valid handle (5–32 letters, digits or _, starting with a letter).", self.handle.trim()),
            ));
        }
        let title = self.title.trim().to_owned();
        if title.is_empty() {
            problems.push(("title", "The title is missing.".to_owned()));
        } else if title.chars().count() > CHANNEL_TITLE_MAX {
            problems.push((
                "title",
                format!("The title is longer than {CHANNEL_TITLE_MAX} characters."),
            ));
        }
        let topic = self.topic.trim().to_lowercase();
        if topic.is_empty() {
            problems.push(("topic", "The topic is missing.".to_owned()));
        } else if !known_topic(&topic) {
            problems.push(("topic", format!("Unknown topic \"{}\".", self.topic.trim())));
        }
        let language = self.language.trim().to_lowercase();
        if language_name(&language).is_none() {
            problems.push((
                "language",
                if language.is_empty() {
                    "The language is missing.".to_owned()
                } else {
                    format!(
                        "\"{}\" is not an ISO 639-1 language code.",
                        self.language.trim()
                    )
                },
            ));
        }
        let mut count = |field: &'static str, label: &str, text: &str| match parse_count(text) {
            Ok(n) => n,
            Err(reason) => {
                problems.push((field, format!("{label}: {reason}")));
                0
            }
        };
        let subscribers = count("subscribers", "Subscribers", &self.subscribers);
        let avg_views = count("avg_views", "Average views", &self.avg_views);
        let posts_per_day = match self.posts_per_day.trim().parse::<f64>() {
            Ok(p) if p.is_finite() && (0.0..=MAX_POSTS_PER_DAY).contains(&p) => p,
            Ok(p) if p < 0.0 => {
                problems.push((
                    "posts_per_day",
                    "Posts per day cannot be negative.".to_owned(),
                ));
                0.0
            }
            Ok(_) => {
                problems.push((
                    "posts_per_day",
                    format!("Posts per day must be at most {MAX_POSTS_PER_DAY}."),
                ));
                0.0
            }
            Err(_) => {
                problems.push((
                    "posts_per_day",
                    "Posts per day must be a number like 2.5.".to_owned(),
                ));
                0.0
            }
        };
        if problems.is_empty() {
            Ok(ChannelFacts {
                handle,
                title,
                topic,
                language,
                subscribers,
                avg_views,
                posts_per_day,
                active: self.active,
            })
        } else {
            Err(problems)
        }
    }
}

/// Parses a non-negative whole count: "12000", "12,000", "12k", "1.5M".
pub fn parse_count(text: &str) -> Result<i64, String> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '_' && *c != ' ')
        .collect();
    if cleaned.is_empty() {
        return Err("enter a number.".into());
    }
    if cleaned.starts_with('-') {
        return Err("cannot be negative.".into());
    }
    let (digits, multiplier) = match cleaned.chars().last() {
        Some('k' | 'K') => (&cleaned[..cleaned.len() - 1], 1_000.0),
        Some('m' | 'M') => (&cleaned[..cleaned.len() - 1], 1_000_000.0),
        _ => (cleaned.as_str(), 1.0),
    };
    if multiplier == 1.0 {
        return digits
            .parse::<i64>()
            .map_err(|_| "must be a whole number like 12000 or 12k.".to_owned());
    }
    match digits.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 && n * multiplier < 1e15 => {
            Ok((n * multiplier).round() as i64)
        }
        _ => Err("must be a whole number like 12000 or 12k.".into()),
    }
}

/// The columns every import file must name in its header row, in the sample's order.
pub const IMPORT_COLUMNS: [&str; 7] = [
    "handle",
    "title",
    "topic",
    "language",
    "subscribers",
    "avg_views",
    "posts_per_day",
];
/// The optional import column: `active` (the default when absent or empty) or `inactive`.
pub const IMPORT_STATUS_COLUMN: &str = "status";
/// Most data rows one import file may have.
pub const IMPORT_MAX_ROWS: usize = 200_000;
/// Largest import file accepted, in bytes.
pub const IMPORT_MAX_BYTES: usize = 32 * 1024 * 1024;
/// At most this many bad rows are listed in a preview (the counts are always exact).
pub const IMPORT_SHOWN_PROBLEMS: usize = 1_000;

/// Where a staged import is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportStatus {
    Previewed,
    Applying,
    Applied,
    Failed,
    Discarded,
}

impl ImportStatus {
    pub const ALL: [Self; 5] = [
        Self::Previewed,
        Self::Applying,
        Self::Applied,
        Self::Failed,
        Self::Discarded,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Previewed => "previewed",
            Self::Applying => "applying",
            Self::Applied => "applied",
            Self::Failed => "failed",
            Self::Discarded => "discarded",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether nothing more will happen to the import.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Applied | Self::Failed | Self::Discarded)
    }
}

/// One bad row of an import: its line in the file (the header is line 1) and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProblem {
    pub line: u64,
    pub handle: Option<String>,
    pub reason: String,
}

/// What an import would do, before anything is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPreview {
    pub id: CatalogImportId,
    pub file_name: String,
    pub total_rows: u64,
    pub new_rows: u64,
    pub changed_rows: u64,
    pub unchanged_rows: u64,
    pub bad_rows: u64,
    /// The first bad rows (all of them up to a display limit), in file order.
    pub problems: Vec<ImportProblem>,
    pub status: ImportStatus,
    pub message: Option<String>,
}

/// How far an import being applied has got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProgress {
    pub status: ImportStatus,
    /// Rows written so far (of `total`, the new and changed rows).
    pub done: u64,
    pub total: u64,
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(slug: &str, name: &str) -> TopicInput {
        TopicInput {
            id: None,
            slug: slug.into(),
            name: name.into(),
        }
    }

    #[test]
    fn a_new_topic_gets_a_slug_from_its_name_unless_one_is_typed() {
        assert_eq!(topic("", "Food & Drink").slug_or_from_name(), "food-drink");
        assert_eq!(topic("", "  Web3 / DeFi ").slug_or_from_name(), "web3-defi");
        assert_eq!(topic(" pets ", "Animals").slug_or_from_name(), "pets");
        assert!(topic("", "Food & Drink").check().is_empty());
        // Nothing to make a slug of: said beside the slug, which can then be typed.
        let errors = topic("", "Кино");
        assert!(errors.check().get("slug").is_some());
        assert!(topic("kino", "Кино").check().is_empty());
        let long = topic("", &"a".repeat(TOPIC_NAME_MAX));
        assert_eq!(long.slug_or_from_name().len(), TOPIC_SLUG_MAX);
        assert!(long.check().is_empty());
    }

    #[test]
    fn topic_names_and_slugs_are_sized_and_shaped() {
        for bad in [
            "A",
            "has space",
            "-lead",
            "trail-",
            "ümlaut",
            &"x".repeat(41),
        ] {
            assert!(topic(bad, "Name").check().get("slug").is_some(), "{bad}");
        }
        assert!(topic("ok", "").check().get("name").is_some());
        assert!(
            topic("ok", &"n".repeat(TOPIC_NAME_MAX + 1))
                .check()
                .get("name")
                .is_some()
        );
        assert!(topic("ok", "two\nlines").check().get("name").is_some());
        // A rename names no slug: only the name is checked.
        let rename = TopicInput {
            id: Some(TopicId(1)),
            slug: String::new(),
            name: "Кино".into(),
        };
        assert!(rename.check().is_empty());
    }

    fn input() -> ChannelInput {
        ChannelInput {
            handle: "@Crypto_Daily".into(),
            title: "Crypto Daily".into(),
            topic: "crypto".into(),
            language: "EN".into(),
            subscribers: "12k".into(),
            avg_views: "3,400".into(),
            posts_per_day: "2.5".into(),
            active: true,
        }
    }

    #[test]
    fn oversized_fields_are_refused_alone_and_not_repeated() {
        let long = "x".repeat(129);
        let oversized = ChannelInput {
            title: long.clone(),
            topic: long.clone(),
            posts_per_day: long.clone(),
            ..input()
        };
        let problems = oversized.check(|_| true).expect_err("too long");
        let fields: Vec<&str> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["title", "topic", "posts_per_day"]);
        assert!(problems.iter().all(|(_, m)| !m.contains(&long)));
        let at_limit = ChannelInput {
            title: "x".repeat(CHANNEL_TITLE_MAX),
            ..input()
        };
        assert!(at_limit.check(|t| t == "crypto").is_ok());
    }

    #[test]
    fn channel_input_is_normalised_and_checked() {
        let facts = input().check(|t| t == "crypto").expect("valid");
        assert_eq!(facts.handle, "crypto_daily");
        assert_eq!(facts.language, "en");
        assert_eq!(facts.subscribers, 12_000);
        assert_eq!(facts.avg_views, 3_400);

        let bad = ChannelInput {
            handle: "9x".into(),
            topic: "astrology".into(),
            language: "english".into(),
            subscribers: "-5".into(),
            posts_per_day: "lots".into(),
            ..input()
        };
        let fields: Vec<_> = bad
            .check(|t| t == "crypto")
            .expect_err("invalid")
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            [
                "handle",
                "topic",
                "language",
                "subscribers",
                "posts_per_day"
            ]
        );
    }

    #[test]
    fn counts_accept_separators_and_suffixes() {
        assert_eq!(parse_count("12,000"), Ok(12_000));
        assert_eq!(parse_count("1.5M"), Ok(1_500_000));
        assert_eq!(parse_count("10k"), Ok(10_000));
        assert!(parse_count("-1").is_err());
        assert!(parse_count("1.5").is_err());
        assert!(parse_count("").is_err());
    }
}
