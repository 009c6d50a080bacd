//! The in-memory candidate index: the catalog's channels by handle, and the running campaigns
//! that can serve, bucketed by the (topic, language) their serving targeting asks for (or by
//! channel, for an include list), so a decision looks at the few campaigns that can match one
//! channel instead of scanning campaigns. Matching itself is the forecast's predicate
//! ([`forecast::index::matches`]), so the forecast describes what delivery does.

use crate::{
    model::{AdCopy, Micros, Schedule, Targeting},
    service::forecast::index::{IndexSettings, IndexedChannel, matches},
};
use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use std::{
    collections::HashMap,
    sync::{Arc, atomic::AtomicU64},
};

/// A channel as delivery needs it.
#[derive(Clone, Debug)]
pub struct DeliveryChannel {
    pub facts: IndexedChannel,
}

/// An approved, unpaused ad of a running campaign, with the copy of its live version.
#[derive(Clone, Debug)]
pub struct LiveAd {
    pub ad_id: i64,
    pub version_id: i64,
    pub copy: Arc<AdCopy>,
    /// Slots this instance has served the ad (for "least served first" rotation).
    pub served: Arc<AtomicU64>,
}

/// A running campaign that has at least one live ad.
#[derive(Clone, Debug)]
pub struct LiveCampaign {
    pub id: i64,
    pub account_id: i64,
    pub currency: String,
    pub tz: Tz,
    pub bid: Micros,
    pub total_budget: Micros,
    pub daily_budget: Option<Micros>,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub schedule: Option<Schedule>,
    /// The serving targeting (a change under review does not serve until approved).
    pub targeting: Targeting,
    pub ads: Vec<LiveAd>,
}

impl LiveCampaign {
    /// The account's wall-clock time at `now`.
    pub fn local(&self, now: DateTime<Utc>) -> NaiveDateTime {
        now.with_timezone(&self.tz).naive_local()
    }

    /// Within its dates and its schedule at `now`.
    pub fn serves_at(&self, now: DateTime<Utc>) -> bool {
        self.start_at.is_none_or(|s| s <= now)
            && self.end_at.is_none_or(|e| now < e)
            && self
                .schedule
                .as_ref()
                .is_none_or(|s| s.allows(self.local(now)))
    }
}

/// The channels of one catalog version.
#[derive(Debug)]
pub struct ChannelStore {
    pub catalog_version: i64,
    pub settings: Option<IndexSettings>,
    by_handle: HashMap<String, u32>,
    channels: Vec<DeliveryChannel>,
}

impl Default for ChannelStore {
    /// Nothing loaded yet: no catalog version matches it.
    fn default() -> Self {
        Self {
            catalog_version: i64::MIN,
            settings: None,
            by_handle: HashMap::new(),
            channels: Vec::new(),
        }
    }
}

impl ChannelStore {
    pub fn build(
        catalog_version: i64,
        settings: IndexSettings,
        rows: Vec<(String, IndexedChannel)>,
    ) -> Self {
        let mut by_handle = HashMap::with_capacity(rows.len());
        let mut channels = Vec::with_capacity(rows.len());
        for (handle, facts) in rows {
            by_handle.insert(handle.to_lowercase(), channels.len() as u32);
            channels.push(DeliveryChannel { facts });
        }
        Self {
            catalog_version,
            settings: Some(settings),
            by_handle,
            channels,
        }
    }

    /// The channel with this handle (with or without its leading `@`).
    /// Handles are compared without case, as the catalog keeps them (lower case).
    pub fn by_handle(&self, handle: &str) -> Option<&DeliveryChannel> {
        let handle = handle.trim();
        let handle = handle.strip_prefix('@').unwrap_or(handle).to_lowercase();
        self.by_handle
            .get(&handle)
            .map(|&i| &self.channels[i as usize])
    }

    /// Every channel, in load order.
    pub fn iter(&self) -> impl Iterator<Item = &DeliveryChannel> {
        self.channels.iter()
    }

    pub fn len(&self) -> usize {
        self.channels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }
}

/// The platform settings a decision applies, and the campaign limits loaded with them (part
/// of the delivery version).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryRules {
    /// The minimum CPM: the price of a lone bid, and the least a bid must be to take part.
    pub floor: Micros,
    pub publisher_share_bp: i64,
    pub hold_ttl_minutes: i64,
    /// The least total budget a campaign may have (with `floor`, the limits the campaign
    /// builder shows: read here, it costs the builder no statement of its own).
    pub min_total_budget: Micros,
}

impl DeliveryRules {
    /// The limits a campaign's money must respect, as of this delivery version.
    pub fn limits(&self) -> crate::model::MoneyLimits {
        crate::model::MoneyLimits {
            min_cpm: self.floor,
            min_total_budget: self.min_total_budget,
        }
    }
}

/// Where a campaign is filed: a channel it includes, or a (topic, language) pair where `None`
/// stands for "any".
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    Channel(i64),
    Facet(Option<String>, Option<String>),
}

/// The running campaigns of one delivery version.
#[derive(Debug)]
pub struct CampaignIndex {
    pub delivery_version: i64,
    pub rules: DeliveryRules,
    pub campaigns: Vec<LiveCampaign>,
    buckets: HashMap<Key, Vec<u32>>,
}

impl Default for CampaignIndex {
    /// Nothing loaded yet: no delivery version matches it.
    fn default() -> Self {
        Self {
            delivery_version: i64::MIN,
            rules: DeliveryRules::default(),
            campaigns: Vec::new(),
            buckets: HashMap::new(),
        }
    }
}

impl CampaignIndex {
    /// Files each campaign under every key a matching channel could have: each of its
    /// included channels, or each (topic, language) pair it names (`None` for an empty list),
    /// so that a channel finds a campaign under exactly one of its four keys.
    pub fn build(
        delivery_version: i64,
        rules: DeliveryRules,
        campaigns: Vec<LiveCampaign>,
    ) -> Self {
        let mut buckets: HashMap<Key, Vec<u32>> = HashMap::new();
        for (i, c) in campaigns.iter().enumerate() {
            let t = &c.targeting;
            let mut keys = Vec::new();
            if !t.include.is_empty() {
                keys.extend(t.include.iter().map(|id| Key::Channel(id.0)));
            } else {
                let topics: Vec<Option<String>> = if t.topics.is_empty() {
                    vec![None]
                } else {
                    t.topics.iter().cloned().map(Some).collect()
                };
                let languages: Vec<Option<String>> = if t.languages.is_empty() {
                    vec![None]
                } else {
                    t.languages.iter().cloned().map(Some).collect()
                };
                for topic in &topics {
                    for language in &languages {
                        keys.push(Key::Facet(topic.clone(), language.clone()));
                    }
                }
            }
            keys.sort();
            keys.dedup();
            for key in keys {
                buckets.entry(key).or_default().push(i as u32);
            }
        }
        Self {
            delivery_version,
            rules,
            campaigns,
            buckets,
        }
    }

    /// The campaigns that may serve on `channel` at `now`: the serving targeting matches (the
    /// forecast's predicate), the bid reaches the floor, and the campaign is within its dates
    /// and schedule. Budgets are not looked at here.
    pub fn candidates(
        &self,
        channel: &IndexedChannel,
        settings: IndexSettings,
        now: DateTime<Utc>,
    ) -> Vec<&LiveCampaign> {
        self.candidate_positions(channel, settings, now)
            .into_iter()
            .map(|i| &self.campaigns[i as usize])
            .collect()
    }

    /// [`Self::candidates`] as positions in [`Self::campaigns`].
    pub fn candidate_positions(
        &self,
        channel: &IndexedChannel,
        settings: IndexSettings,
        now: DateTime<Utc>,
    ) -> Vec<u32> {
        let topic = Some(channel.topic.clone());
        let language = Some(channel.language.clone());
        let keys = [
            Key::Channel(channel.id),
            Key::Facet(topic.clone(), language.clone()),
            Key::Facet(topic, None),
            Key::Facet(None, language),
            Key::Facet(None, None),
        ];
        let mut out = Vec::new();
        for key in &keys {
            let Some(list) = self.buckets.get(key) else {
                continue;
            };
            for &i in list {
                let c = &self.campaigns[i as usize];
                if c.bid >= self.rules.floor
                    && matches(channel, settings, &c.targeting)
                    && c.serves_at(now)
                {
                    out.push(i);
                }
            }
        }
        out
    }

    /// The reference answer: every campaign checked, no buckets (for tests and the benchmark).
    pub fn scan(
        &self,
        channel: &IndexedChannel,
        settings: IndexSettings,
        now: DateTime<Utc>,
    ) -> Vec<&LiveCampaign> {
        self.campaigns
            .iter()
            .filter(|c| {
                c.bid >= self.rules.floor
                    && matches(channel, settings, &c.targeting)
                    && c.serves_at(now)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChannelId;
    use proptest::prelude::*;

    const TOPICS: [&str; 3] = ["crypto", "tech", "news"];
    const LANGUAGES: [&str; 2] = ["en", "ru"];

    fn channel(id: i64, topic: usize, language: usize, subscribers: i64) -> IndexedChannel {
        IndexedChannel {
            id,
            topic: TOPICS[topic].into(),
            language: LANGUAGES[language].into(),
            subscribers,
            avg_views: subscribers / 10,
            posts_per_day: 2.0,
            active: true,
            name_rank: 0,
        }
    }

    fn campaign(id: i64, targeting: Targeting, bid: i64) -> LiveCampaign {
        LiveCampaign {
            id,
            account_id: 1,
            currency: "EUR".into(),
            tz: Tz::UTC,
            bid: Micros(bid),
            total_budget: Micros(1_000_000_000),
            daily_budget: None,
            start_at: None,
            end_at: None,
            schedule: None,
            targeting,
            ads: Vec::new(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn buckets_find_exactly_what_a_scan_finds(
            targetings in prop::collection::vec((
                prop::sample::subsequence(TOPICS.to_vec(), 0..=2),
                prop::sample::subsequence(LANGUAGES.to_vec(), 0..=2),
                prop::option::of(500i64..5_000),
                prop::collection::vec(1i64..12, 0..3),
                prop::collection::vec(1i64..12, 0..2),
                100_000i64..3_000_000,
            ), 0..25),
            probe in (1i64..12, 0usize..3, 0usize..2, 0i64..6_000),
        ) {
            let campaigns = targetings.into_iter().enumerate().map(|(i, (topics, languages, min, include, exclude, bid))| {
                let t = Targeting {
                    topics: topics.into_iter().map(String::from).collect(),
                    languages: languages.into_iter().map(String::from).collect(),
                    min_subscribers: min,
                    include: include.into_iter().map(ChannelId).collect(),
                    exclude: exclude.into_iter().map(ChannelId).collect(),
                    ..Targeting::default()
                }.normalized();
                campaign(i as i64 + 1, t, bid)
            }).collect();
            let rules = DeliveryRules { floor: Micros(500_000), publisher_share_bp: 5_000, hold_ttl_minutes: 60, min_total_budget: Micros(20_000_000) };
            let index = CampaignIndex::build(1, rules, campaigns);
            let settings = IndexSettings { min_subscribers: 1_000, slots_per_day: 2 };
            let c = channel(probe.0, probe.1, probe.2, probe.3);
            let now = Utc::now();
            let mut fast: Vec<i64> = index.candidates(&c, settings, now).iter().map(|c| c.id).collect();
            let slow: Vec<i64> = index.scan(&c, settings, now).iter().map(|c| c.id).collect();
            fast.sort_unstable();
            prop_assert_eq!(fast, slow);
        }
    }
}
