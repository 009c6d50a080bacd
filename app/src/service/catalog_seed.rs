//! A deterministic synthetic channel catalog for demos and benchmarks: the same seed always
//! gives the same channels, on every machine (own PRNG, no floating-point platform quirks in
//! the integer fields).

use crate::{
    entity::{channel, topic},
    error::AppError,
};
use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, Set, TransactionSession, TransactionTrait};
use std::collections::HashSet;

/// The topic taxonomy: (slug, name).
pub const TOPICS: &[(&str, &str)] = &[
    ("crypto", "Crypto"),
    ("tech", "Tech"),
    ("news", "News"),
    ("education", "Education"),
    ("business", "Business"),
    ("gaming", "Gaming"),
    ("music", "Music"),
    ("travel", "Travel"),
    ("finance", "Finance"),
    ("marketing", "Marketing"),
    ("entertainment", "Entertainment"),
    ("sports", "Sports"),
    ("health", "Health & Fitness"),
    ("food", "Food & Cooking"),
    ("fashion", "Fashion & Beauty"),
    ("science", "Science"),
    ("politics", "Politics"),
    ("economics", "Economics"),
    ("movies", "Movies & TV"),
    ("books", "Books"),
    ("art", "Art & Design"),
    ("photography", "Photography"),
    ("humor", "Humor & Memes"),
    ("cars", "Cars & Motorsport"),
    ("real-estate", "Real Estate"),
    ("careers", "Careers & Jobs"),
    ("languages", "Language Learning"),
    ("psychology", "Psychology"),
    ("parenting", "Parenting"),
    ("pets", "Pets & Animals"),
    ("nature", "Nature & Outdoors"),
    ("history", "History"),
    ("religion", "Religion & Spirituality"),
    ("software", "Software Development"),
    ("ai", "Artificial Intelligence"),
    ("design", "UX & Product Design"),
    ("startups", "Startups"),
    ("ecommerce", "E-commerce"),
    ("esports", "Esports"),
    ("anime", "Anime & Manga"),
];

/// Catalog languages (ISO 639-1) with their relative weight in the synthetic catalog.
pub const LANGUAGES: &[(&str, u32)] = &[
    ("en", 30),
    ("ru", 18),
    ("es", 8),
    ("fa", 7),
    ("ar", 6),
    ("pt", 6),
    ("uk", 5),
    ("hi", 4),
    ("id", 4),
    ("tr", 3),
    ("uz", 3),
    ("de", 2),
    ("it", 2),
    ("fr", 1),
    ("kk", 1),
];

/// The sum of the language weights.
pub fn language_weight_total() -> u32 {
    LANGUAGES.iter().map(|(_, w)| w).sum()
}

/// The language a roll in `0..language_weight_total()` lands on, as often as its weight.
pub fn weighted_language(mut roll: u32) -> &'static str {
    LANGUAGES
        .iter()
        .find(|(_, w)| {
            if roll < *w {
                true
            } else {
                roll -= w;
                false
            }
        })
        .map_or("en", |(code, _)| code)
}

const HANDLE_WORDS: &[&str] = &[
    "daily", "hub", "insider", "digest", "today", "world", "club", "lab", "zone", "pulse", "radar",
    "wire", "talks", "notes", "feed", "base", "point", "times", "central", "channel", "weekly",
    "pro", "guide", "corner", "spot", "line", "signal", "stream", "review", "post",
];
const TITLE_PREFIXES: &[&str] = &[
    "The", "Daily", "Smart", "Open", "Global", "Local", "Fresh", "Deep", "Quick", "Prime",
    "Bright", "True", "Real", "Next", "Urban", "Golden", "Silent", "Rapid", "Wild", "Clear",
];

/// SplitMix64: tiny, fast, and identical everywhere.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One generated channel, before it has a database id.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratedChannel {
    pub handle: String,
    pub title: String,
    /// Index into [`TOPICS`].
    pub topic: usize,
    pub language: &'static str,
    pub subscribers: i64,
    pub avg_views: i64,
    pub posts_per_day: f64,
    pub active: bool,
}

/// Generates `count` channels from `seed`. Subscribers follow a truncated power law
/// (P(S > s) ∝ s^-0.8) from 200 to 10 M; average views are 5–40 % of subscribers; posts per
/// day are log-uniform from 0.2 to 20; about 3 % of channels are inactive.
pub fn generate(count: usize, seed: u64) -> Vec<GeneratedChannel> {
    const MIN_SUBS: f64 = 200.0;
    const MAX_SUBS: f64 = 10_000_000.0;
    const ALPHA: f64 = 0.8;
    let mut rng = Prng(seed ^ 0x4845_5241_4C44);
    let language_total = language_weight_total();
    let mut handles = HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let topic = rng.below(TOPICS.len());
        let language = weighted_language((rng.next() % u64::from(language_total)) as u32);
        let u = rng.unit();
        let tail = 1.0 - u * (1.0 - (MIN_SUBS / MAX_SUBS).powf(ALPHA));
        let subscribers = (MIN_SUBS * tail.powf(-1.0 / ALPHA)).round() as i64;
        let reach = 0.05 + 0.35 * rng.unit();
        let avg_views = ((subscribers as f64) * reach).round() as i64;
        let posts_per_day = (0.2f64 * 100f64.powf(rng.unit()) * 10.0).round() / 10.0;
        let active = rng.below(100) >= 3;

        let slug = TOPICS[topic].0.replace('-', "_");
        let word = rng.pick(HANDLE_WORDS);
        let base = match rng.below(3) {
            0 => format!("{slug}_{word}"),
            1 => format!("{word}_{slug}"),
            _ => format!("{slug}{word}_{language}"),
        };
        let handle = if handles.contains(&base) {
            format!("{base}{}", out.len())
        } else {
            base
        };
        handles.insert(handle.clone());
        let title = format!(
            "{} {} {}",
            rng.pick(TITLE_PREFIXES),
            TOPICS[topic].1,
            capitalise(word)
        );
        out.push(GeneratedChannel {
            handle,
            title,
            topic,
            language,
            subscribers,
            avg_views,
            posts_per_day: posts_per_day.max(0.2),
            active,
        });
    }
    out
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Inserts the topic taxonomy and `count` generated channels in one transaction.
pub async fn insert<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    count: usize,
    seed: u64,
) -> Result<(), AppError> {
    let txn = db.begin().await?;
    let mut topic_ids = Vec::with_capacity(TOPICS.len());
    for (slug, name) in TOPICS {
        let inserted = topic::Entity::insert(topic::ActiveModel {
            slug: Set((*slug).to_owned()),
            name: Set((*name).to_owned()),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        topic_ids.push(inserted.last_insert_id);
    }
    let now = Utc::now();
    // 10 columns per row: well under SQLite's 32k bound-parameter limit.
    for chunk in generate(count, seed).chunks(1_000) {
        let rows = chunk.iter().map(|c| channel::ActiveModel {
            handle: Set(c.handle.clone()),
            title: Set(c.title.clone()),
            topic_id: Set(topic_ids[c.topic]),
            language: Set(c.language.to_owned()),
            subscribers: Set(c.subscribers),
            avg_views: Set(c.avg_views),
            posts_per_day: Set(c.posts_per_day),
            status: Set(if c.active { "active" } else { "inactive" }.to_owned()),
            updated_at: Set(now),
            ..Default::default()
        });
        channel::Entity::insert_many(rows).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_catalog_and_plausible_shape() {
        let a = generate(20_000, 7);
        assert_eq!(a, generate(20_000, 7));
        assert_ne!(a[..10], generate(10, 8)[..]);
        let handles: HashSet<_> = a.iter().map(|c| &c.handle).collect();
        assert_eq!(handles.len(), a.len(), "handles are unique");
        assert!(
            a.iter()
                .all(|c| (200..=10_000_000).contains(&c.subscribers))
        );
        assert!(a.iter().all(|c| c.avg_views * 100 >= c.subscribers * 4));
        assert!(a.iter().all(|c| c.avg_views * 100 <= c.subscribers * 41));
        assert!(a.iter().all(|c| (0.2..=20.0).contains(&c.posts_per_day)));
        // A power law: most channels are small, a few are huge.
        let small = a.iter().filter(|c| c.subscribers < 2_000).count();
        let huge = a.iter().filter(|c| c.subscribers > 1_000_000).count();
        assert!(small > a.len() / 2, "small={small}");
        assert!(huge > 0 && huge < a.len() / 100, "huge={huge}");
        let topics: HashSet<_> = a.iter().map(|c| c.topic).collect();
        assert_eq!(topics.len(), TOPICS.len());
        let languages: HashSet<_> = a.iter().map(|c| c.language).collect();
        assert_eq!(languages.len(), LANGUAGES.len());
    }
}
