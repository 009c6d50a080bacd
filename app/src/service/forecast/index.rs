//! The in-memory forecast index: eligible channels bucketed by (topic, language), each bucket
//! sorted by subscribers with prefix sums of subscribers and daily view capacity, so a
//! targeting's totals are a few binary searches and subtractions instead of a catalog scan.
//! `scan` is the plain reference the index is tested and benchmarked against.

use crate::model::{ChannelSort, Targeting, Topic, daily_capacity};
use std::{
    cmp::{Ordering, Reverse},
    collections::{BinaryHeap, HashMap},
};

/// One channel as the index needs it (ids and public figures only).
#[derive(Clone, Debug, PartialEq)]
pub struct IndexedChannel {
    pub id: i64,
    pub topic: String,
    pub language: String,
    pub subscribers: i64,
    pub avg_views: i64,
    pub posts_per_day: f64,
    pub active: bool,
    /// Position of the channel in the catalog ordered by (title, id), for "sort by name".
    pub name_rank: u32,
}

/// What a set of channels adds up to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub channels: u64,
    pub subscribers: i64,
    pub capacity: i64,
}

impl Totals {
    fn add(&mut self, subscribers: i64, capacity: i64) {
        self.channels += 1;
        self.subscribers += subscribers;
        self.capacity += capacity;
    }

    fn sub(&mut self, subscribers: i64, capacity: i64) {
        self.channels -= 1;
        self.subscribers -= subscribers;
        self.capacity -= capacity;
    }
}

/// A targeting's result: totals, and one page of matching channel ids in the asked order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matches {
    pub totals: Totals,
    pub page: Vec<i64>,
}

/// Eligible channel counts by name (topic slug or language code).
pub type Facets = Vec<(String, u64)>;

/// Platform settings the index depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexSettings {
    pub min_subscribers: i64,
    pub slots_per_day: i64,
}

/// Channels of one (topic, language), ascending by (subscribers, descending id), so walking
/// backwards yields the largest first with ties broken by the smaller id.
#[derive(Debug, Default)]
struct Bucket {
    subscribers: Vec<i64>,
    views: Vec<i64>,
    ids: Vec<i64>,
    name_rank: Vec<u32>,
    /// `prefix_x[i]` = sum of x over the first `i` entries.
    prefix_subscribers: Vec<i64>,
    prefix_capacity: Vec<i64>,
}

impl Bucket {
    fn capacity(&self, i: usize) -> i64 {
        self.prefix_capacity[i + 1] - self.prefix_capacity[i]
    }

    /// Entries with subscribers in `min..=max`.
    fn range(&self, min: i64, max: i64) -> (usize, usize) {
        let lo = self.subscribers.partition_point(|&s| s < min);
        let hi = self.subscribers.partition_point(|&s| s <= max);
        (lo, hi.max(lo))
    }
}

/// The index of one catalog version.
#[derive(Debug)]
pub struct CatalogIndex {
    /// The `catalog_version` setting this index was built from.
    pub version: i64,
    pub settings: IndexSettings,
    topics: HashMap<String, usize>,
    languages: HashMap<String, usize>,
    buckets: Vec<Bucket>,
    /// Eligible channel id → (bucket, position).
    positions: HashMap<i64, (u32, u32)>,
    /// The whole eligible catalog.
    pub eligible: Totals,
    /// The topic taxonomy of the same catalog snapshot, by name ([`Self::with_taxonomy`]).
    taxonomy: Vec<Topic>,
}

impl CatalogIndex {
    /// Builds the index from every channel of the catalog (ineligible ones are left out).
    pub fn build(version: i64, settings: IndexSettings, channels: &[IndexedChannel]) -> Self {
        let mut topics: HashMap<String, usize> = HashMap::new();
        let mut languages: HashMap<String, usize> = HashMap::new();
        let eligible: Vec<&IndexedChannel> = channels
            .iter()
            .filter(|c| is_eligible(c, settings))
            .collect();
        for c in &eligible {
            let next = topics.len();
            topics.entry(c.topic.clone()).or_insert(next);
            let next = languages.len();
            languages.entry(c.language.clone()).or_insert(next);
        }
        let n_languages = languages.len().max(1);
        let mut members: Vec<Vec<&IndexedChannel>> = Vec::new();
        members.resize_with(topics.len() * n_languages, Vec::new);
        for c in &eligible {
            members[topics[&c.topic] * n_languages + languages[&c.language]].push(c);
        }
        let mut buckets = Vec::with_capacity(members.len());
        let mut positions = HashMap::with_capacity(eligible.len());
        let mut total = Totals::default();
        for (b, mut list) in members.into_iter().enumerate() {
            list.sort_unstable_by_key(|c| (c.subscribers, Reverse(c.id)));
            let mut bucket = Bucket {
                prefix_subscribers: vec![0],
                prefix_capacity: vec![0],
                ..Bucket::default()
            };
            for (i, c) in list.iter().enumerate() {
                let capacity = daily_capacity(c.avg_views, c.posts_per_day, settings.slots_per_day);
                bucket.subscribers.push(c.subscribers);
                bucket.views.push(c.avg_views);
                bucket.ids.push(c.id);
                bucket.name_rank.push(c.name_rank);
                bucket
                    .prefix_subscribers
                    .push(bucket.prefix_subscribers[i] + c.subscribers);
                bucket
                    .prefix_capacity
                    .push(bucket.prefix_capacity[i] + capacity);
                positions.insert(c.id, (b as u32, i as u32));
                total.add(c.subscribers, capacity);
            }
            buckets.push(bucket);
        }
        Self {
            version,
            settings,
            topics,
            languages,
            buckets,
            positions,
            eligible: total,
            taxonomy: Vec::new(),
        }
    }

    /// The index with the catalog's topic taxonomy (read in the same snapshot as its
    /// channels), so that pages and checks that name topics need not read them again.
    pub fn with_taxonomy(mut self, mut topics: Vec<Topic>) -> Self {
        topics.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.0.cmp(&b.id.0)));
        self.taxonomy = topics;
        self
    }

    /// Every topic of the taxonomy, by name.
    pub fn taxonomy(&self) -> &[Topic] {
        &self.taxonomy
    }

    /// The topic with this id.
    pub fn topic(&self, id: i64) -> Option<&Topic> {
        self.taxonomy.iter().find(|t| t.id.0 == id)
    }

    /// Whether `slug` names a topic of the taxonomy.
    pub fn knows_topic(&self, slug: &str) -> bool {
        self.taxonomy.iter().any(|t| t.slug == slug)
    }

    /// Eligible channels per topic slug and per language code.
    pub fn facets(&self) -> (Facets, Facets) {
        let n_languages = self.languages.len().max(1);
        let mut topics: Vec<(String, u64)> = self
            .topics
            .iter()
            .map(|(slug, &t)| {
                let n = (0..n_languages)
                    .map(|l| self.buckets[t * n_languages + l].ids.len() as u64)
                    .sum();
                (slug.clone(), n)
            })
            .collect();
        let mut languages: Vec<(String, u64)> = self
            .languages
            .iter()
            .map(|(code, &l)| {
                let n = (0..self.topics.len())
                    .map(|t| self.buckets[t * n_languages + l].ids.len() as u64)
                    .sum();
                (code.clone(), n)
            })
            .collect();
        topics.sort();
        languages.sort();
        (topics, languages)
    }

    /// Whether `id` is an eligible channel.
    pub fn is_eligible(&self, id: i64) -> bool {
        self.positions.contains_key(&id)
    }

    /// Totals of the channels `targeting` matches, and the ids at `offset..offset + limit` in
    /// `sort` order (ties by ascending id).
    pub fn query(&self, t: &Targeting, sort: ChannelSort, offset: usize, limit: usize) -> Matches {
        let excluded: Vec<(u32, u32)> = t
            .exclude
            .iter()
            .filter_map(|id| self.positions.get(&id.0).copied())
            .collect();
        if !t.include.is_empty() {
            let mut entries: Vec<(u32, u32)> = t
                .include
                .iter()
                .filter_map(|id| self.positions.get(&id.0).copied())
                .filter(|p| !excluded.contains(p))
                .collect();
            entries.sort_unstable();
            entries.dedup();
            let mut totals = Totals::default();
            for &(b, i) in &entries {
                let bucket = &self.buckets[b as usize];
                totals.add(bucket.subscribers[i as usize], bucket.capacity(i as usize));
            }
            let mut keyed: Vec<_> = entries
                .iter()
                .map(|&(b, i)| self.sort_key(sort, b, i))
                .collect();
            keyed.sort_unstable();
            let page = keyed
                .into_iter()
                .skip(offset)
                .take(limit)
                .map(|k| k.1)
                .collect();
            return Matches { totals, page };
        }

        let selected = self.selected_buckets(t);
        let min = t.min_subscribers.unwrap_or(i64::MIN);
        let max = t.max_subscribers.unwrap_or(i64::MAX);
        let min_views = t.min_avg_views.unwrap_or(i64::MIN);
        let mut totals = Totals::default();
        let mut ranges = Vec::with_capacity(selected.len());
        for &b in &selected {
            let bucket = &self.buckets[b];
            let (lo, hi) = bucket.range(min, max);
            if t.min_avg_views.is_none() {
                totals.channels += (hi - lo) as u64;
                totals.subscribers += bucket.prefix_subscribers[hi] - bucket.prefix_subscribers[lo];
                totals.capacity += bucket.prefix_capacity[hi] - bucket.prefix_capacity[lo];
            } else {
                for i in lo..hi {
                    if bucket.views[i] >= min_views {
                        totals.add(bucket.subscribers[i], bucket.capacity(i));
                    }
                }
            }
            ranges.push((b, lo, hi));
        }
        let in_range = |b: u32, i: u32| {
            ranges
                .iter()
                .any(|&(rb, lo, hi)| rb == b as usize && (lo..hi).contains(&(i as usize)))
                && self.buckets[b as usize].views[i as usize] >= min_views
        };
        let mut dropped = excluded.clone();
        dropped.sort_unstable();
        dropped.dedup();
        dropped.retain(|&(b, i)| in_range(b, i));
        for &(b, i) in &dropped {
            let bucket = &self.buckets[b as usize];
            totals.sub(bucket.subscribers[i as usize], bucket.capacity(i as usize));
        }
        let wanted = offset + limit;
        let keep = |b: usize, i: usize| {
            self.buckets[b].views[i] >= min_views && !dropped.contains(&(b as u32, i as u32))
        };
        let page = if sort == ChannelSort::Subscribers {
            self.merge_largest(&ranges, wanted, keep)
        } else {
            self.top_by(&ranges, sort, wanted, keep)
        };
        Matches {
            totals,
            page: page.into_iter().skip(offset).collect(),
        }
    }

    /// How many (topic, language) buckets the index has.
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// The daily view capacity of a whole bucket.
    pub fn bucket_capacity(&self, bucket: u32) -> i64 {
        self.buckets
            .get(bucket as usize)
            .and_then(|b| b.prefix_capacity.last().copied())
            .unwrap_or(0)
    }

    /// The bucket an eligible channel is in.
    pub fn bucket_of(&self, id: i64) -> Option<u32> {
        self.positions.get(&id).map(|&(b, _)| b)
    }

    /// The matching capacity of `t` per bucket (buckets with none left out): the same
    /// channels as [`Self::query`], so the parts add up to its capacity.
    pub fn capacity_by_bucket(&self, t: &Targeting) -> Vec<(u32, i64)> {
        let mut excluded: Vec<(u32, u32)> = t
            .exclude
            .iter()
            .filter_map(|id| self.positions.get(&id.0).copied())
            .collect();
        excluded.sort_unstable();
        excluded.dedup();
        let mut parts: Vec<(u32, i64)> = Vec::new();
        let mut add = |b: u32, capacity: i64| match parts.last_mut() {
            Some((last, sum)) if *last == b => *sum += capacity,
            _ => parts.push((b, capacity)),
        };
        if !t.include.is_empty() {
            let mut entries: Vec<(u32, u32)> = t
                .include
                .iter()
                .filter_map(|id| self.positions.get(&id.0).copied())
                .filter(|p| excluded.binary_search(p).is_err())
                .collect();
            entries.sort_unstable();
            entries.dedup();
            for (b, i) in entries {
                add(b, self.buckets[b as usize].capacity(i as usize));
            }
        } else {
            let min = t.min_subscribers.unwrap_or(i64::MIN);
            let max = t.max_subscribers.unwrap_or(i64::MAX);
            let min_views = t.min_avg_views.unwrap_or(i64::MIN);
            let mut selected = self.selected_buckets(t);
            selected.sort_unstable();
            for b in selected {
                let bucket = &self.buckets[b];
                let (lo, hi) = bucket.range(min, max);
                let mut capacity = if t.min_avg_views.is_none() {
                    bucket.prefix_capacity[hi] - bucket.prefix_capacity[lo]
                } else {
                    (lo..hi)
                        .filter(|&i| bucket.views[i] >= min_views)
                        .map(|i| bucket.capacity(i))
                        .sum()
                };
                let from = excluded.partition_point(|&(eb, _)| (eb as usize) < b);
                for &(_, i) in excluded[from..]
                    .iter()
                    .take_while(|&&(eb, _)| eb as usize == b)
                {
                    let i = i as usize;
                    if (lo..hi).contains(&i) && bucket.views[i] >= min_views {
                        capacity -= bucket.capacity(i);
                    }
                }
                add(b as u32, capacity);
            }
        }
        parts.retain(|&(_, capacity)| capacity > 0);
        parts
    }

    fn selected_buckets(&self, t: &Targeting) -> Vec<usize> {
        let n_languages = self.languages.len().max(1);
        let pick = |wanted: &[String], known: &HashMap<String, usize>| -> Vec<usize> {
            if wanted.is_empty() {
                (0..known.len()).collect()
            } else {
                wanted
                    .iter()
                    .filter_map(|w| known.get(w).copied())
                    .collect()
            }
        };
        let topics = pick(&t.topics, &self.topics);
        let languages = pick(&t.languages, &self.languages);
        let mut out = Vec::with_capacity(topics.len() * languages.len());
        for &topic in &topics {
            for &language in &languages {
                out.push(topic * n_languages + language);
            }
        }
        out
    }

    /// Sort key: smaller sorts first; the id is the tie-break and the payload.
    fn sort_key(&self, sort: ChannelSort, b: u32, i: u32) -> (i64, i64) {
        let bucket = &self.buckets[b as usize];
        let i = i as usize;
        let primary = match sort {
            ChannelSort::Subscribers => -bucket.subscribers[i],
            ChannelSort::Views => -bucket.views[i],
            ChannelSort::Name => i64::from(bucket.name_rank[i]),
        };
        (primary, bucket.ids[i])
    }

    /// The first `wanted` ids by descending subscribers: a k-way merge walking each bucket's
    /// range from its largest end.
    fn merge_largest(
        &self,
        ranges: &[(usize, usize, usize)],
        wanted: usize,
        keep: impl Fn(usize, usize) -> bool,
    ) -> Vec<i64> {
        let mut heap = BinaryHeap::with_capacity(ranges.len());
        let push = |heap: &mut BinaryHeap<_>, b: usize, lo: usize, mut hi: usize| {
            while hi > lo {
                let i = hi - 1;
                if keep(b, i) {
                    let bucket = &self.buckets[b];
                    heap.push((bucket.subscribers[i], Reverse(bucket.ids[i]), b, lo, i));
                    return;
                }
                hi -= 1;
            }
        };
        for &(b, lo, hi) in ranges {
            push(&mut heap, b, lo, hi);
        }
        let mut out = Vec::with_capacity(wanted.min(1024));
        while out.len() < wanted {
            let Some((_, Reverse(id), b, lo, i)) = heap.pop() else {
                break;
            };
            out.push(id);
            push(&mut heap, b, lo, i);
        }
        out
    }

    /// The first `wanted` ids by another key: one bounded heap over the matching entries.
    fn top_by(
        &self,
        ranges: &[(usize, usize, usize)],
        sort: ChannelSort,
        wanted: usize,
        keep: impl Fn(usize, usize) -> bool,
    ) -> Vec<i64> {
        if wanted == 0 {
            return Vec::new();
        }
        let mut heap: BinaryHeap<(i64, i64)> = BinaryHeap::with_capacity(wanted + 1);
        for &(b, lo, hi) in ranges {
            for i in lo..hi {
                if !keep(b, i) {
                    continue;
                }
                let key = self.sort_key(sort, b as u32, i as u32);
                if heap.len() < wanted {
                    heap.push(key);
                } else if heap
                    .peek()
                    .is_some_and(|top| key.cmp(top) == Ordering::Less)
                {
                    heap.pop();
                    heap.push(key);
                }
            }
        }
        let mut keys = heap.into_vec();
        keys.sort_unstable();
        keys.into_iter().map(|k| k.1).collect()
    }
}

fn is_eligible(c: &IndexedChannel, settings: IndexSettings) -> bool {
    c.active && c.subscribers >= settings.min_subscribers
}

/// The reference answer: one pass over every channel, no index. Same contract as `query`.
pub fn scan(
    channels: &[IndexedChannel],
    settings: IndexSettings,
    t: &Targeting,
    sort: ChannelSort,
    offset: usize,
    limit: usize,
) -> Matches {
    let mut totals = Totals::default();
    let mut keyed = Vec::new();
    for c in channels {
        if !matches(c, settings, t) {
            continue;
        }
        totals.add(
            c.subscribers,
            daily_capacity(c.avg_views, c.posts_per_day, settings.slots_per_day),
        );
        if limit > 0 {
            let primary = match sort {
                ChannelSort::Subscribers => -c.subscribers,
                ChannelSort::Views => -c.avg_views,
                ChannelSort::Name => i64::from(c.name_rank),
            };
            keyed.push((primary, c.id));
        }
    }
    keyed.sort_unstable();
    Matches {
        totals,
        page: keyed
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|k| k.1)
            .collect(),
    }
}

/// Whether one channel matches a targeting (the semantics documented on `Targeting`).
pub fn matches(c: &IndexedChannel, settings: IndexSettings, t: &Targeting) -> bool {
    if !is_eligible(c, settings) || t.exclude.iter().any(|x| x.0 == c.id) {
        return false;
    }
    if !t.include.is_empty() {
        return t.include.iter().any(|x| x.0 == c.id);
    }
    (t.topics.is_empty() || t.topics.contains(&c.topic))
        && (t.languages.is_empty() || t.languages.contains(&c.language))
        && t.min_subscribers.is_none_or(|m| c.subscribers >= m)
        && t.max_subscribers.is_none_or(|m| c.subscribers <= m)
        && t.min_avg_views.is_none_or(|m| c.avg_views >= m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChannelId;
    use proptest::prelude::*;

    const TOPICS: [&str; 4] = ["crypto", "tech", "news", "music"];
    const LANGUAGES: [&str; 3] = ["en", "ru", "es"];

    fn channel() -> impl Strategy<Value = (usize, usize, i64, i64, f64, bool, u32)> {
        (
            0..TOPICS.len(),
            0..LANGUAGES.len(),
            // Few distinct sizes so that ties (and the id tie-break) are common.
            prop_oneof![0i64..3_000, Just(1_000i64), Just(5_000i64)],
            0i64..2_000,
            prop_oneof![Just(0.0), Just(0.5), Just(1.0), Just(2.0), 0.0f64..6.0],
            prop::bool::weighted(0.9),
            0u32..50,
        )
    }

    fn catalog() -> impl Strategy<Value = Vec<IndexedChannel>> {
        prop::collection::vec(channel(), 0..120).prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(
                    |(
                        i,
                        (topic, language, subscribers, avg_views, posts_per_day, active, name_rank),
                    )| {
                        IndexedChannel {
                            id: i as i64 + 1,
                            topic: TOPICS[topic].into(),
                            language: LANGUAGES[language].into(),
                            subscribers,
                            avg_views,
                            posts_per_day,
                            active,
                            name_rank,
                        }
                    },
                )
                .collect()
        })
    }

    fn targeting() -> impl Strategy<Value = Targeting> {
        let ids = prop::collection::vec((1i64..130).prop_map(ChannelId), 0..6);
        (
            prop::sample::subsequence(TOPICS.to_vec(), 0..=3),
            prop::sample::subsequence(LANGUAGES.to_vec(), 0..=2),
            prop::option::of(0i64..3_000),
            prop::option::of(0i64..3_000),
            prop::option::of(0i64..2_000),
            prop_oneof![3 => Just(Vec::new()), 1 => ids.clone()],
            ids,
        )
            .prop_map(|(topics, languages, min, max, views, include, exclude)| {
                Targeting {
                    topics: topics.into_iter().map(String::from).collect(),
                    languages: languages.into_iter().map(String::from).collect(),
                    min_subscribers: min,
                    max_subscribers: max,
                    min_avg_views: views,
                    include,
                    exclude,
                }
                .normalized()
            })
    }

    fn sort() -> impl Strategy<Value = ChannelSort> {
        prop::sample::select(ChannelSort::ALL.to_vec())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn index_agrees_with_a_plain_scan(
            channels in catalog(),
            t in targeting(),
            sort in sort(),
            offset in 0usize..8,
            limit in 0usize..12,
            min_subscribers in prop_oneof![Just(0i64), Just(1_000i64), 0i64..3_000],
            slots_per_day in 0i64..4,
        ) {
            let settings = IndexSettings { min_subscribers, slots_per_day };
            let index = CatalogIndex::build(7, settings, &channels);
            let fast = index.query(&t, sort, offset, limit);
            let slow = scan(&channels, settings, &t, sort, offset, limit);
            prop_assert_eq!(fast, slow);
            let everything = scan(&channels, settings, &Targeting::default(), sort, 0, 0);
            prop_assert_eq!(index.eligible, everything.totals);
        }
    }

    #[test]
    fn empty_catalog_and_unknown_filters_match_nothing() {
        let settings = IndexSettings {
            min_subscribers: 1_000,
            slots_per_day: 2,
        };
        let index = CatalogIndex::build(1, settings, &[]);
        let t = Targeting {
            topics: vec!["crypto".into()],
            ..Targeting::default()
        };
        assert_eq!(
            index.query(&t, ChannelSort::Subscribers, 0, 10),
            Matches::default()
        );
        assert_eq!(
            index.query(&Targeting::default(), ChannelSort::Name, 0, 10),
            Matches::default()
        );
    }
}
