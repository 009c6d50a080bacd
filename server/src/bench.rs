//! `server bench forecast`: the forecast index against a plain scan of the same rows, on a
//! generated catalog, measured in the same run (the machine is shared; ratios travel, absolute
//! figures less so). Prints one line.

use app::{
    model::{ChannelSort, FORECAST_PAGE_SIZE, Targeting},
    service::{
        catalog_seed::{self, LANGUAGES, TOPICS},
        forecast::index::{CatalogIndex, IndexSettings, IndexedChannel, scan},
    },
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::{hint::black_box, time::Instant};

/// Generates `channels` channels, builds the index, and times `queries` typical targetings
/// (2–3 topics, 1–2 languages, a size range, first page of matching channels) against `scans`
/// full scans answering the same questions.
pub fn forecast(channels: usize, queries: usize, scans: usize, seed: u64) -> String {
    let generated = catalog_seed::generate(channels, seed);
    let mut by_name: Vec<usize> = (0..generated.len()).collect();
    by_name.sort_by(|&a, &b| generated[a].title.cmp(&generated[b].title).then(a.cmp(&b)));
    let mut name_rank = vec![0u32; generated.len()];
    for (rank, &i) in by_name.iter().enumerate() {
        name_rank[i] = rank as u32;
    }
    let rows: Vec<IndexedChannel> = generated
        .iter()
        .enumerate()
        .map(|(i, c)| IndexedChannel {
            id: i as i64 + 1,
            topic: TOPICS[c.topic].0.to_owned(),
            language: c.language.to_owned(),
            subscribers: c.subscribers,
            avg_views: c.avg_views,
            posts_per_day: c.posts_per_day,
            active: c.active,
            name_rank: name_rank[i],
        })
        .collect();
    drop(generated);
    let settings = IndexSettings {
        min_subscribers: 1_000,
        slots_per_day: 2,
    };
    let started = Instant::now();
    let index = CatalogIndex::build(1, settings, &rows);
    let build_ms = started.elapsed().as_millis();

    let mut rng = StdRng::seed_from_u64(seed);
    let targetings: Vec<Targeting> = (0..queries.max(1)).map(|_| typical(&mut rng)).collect();
    let limit = FORECAST_PAGE_SIZE as usize;
    let sort = ChannelSort::Subscribers;

    for t in &targetings {
        black_box(index.query(t, sort, 0, limit));
    }
    let mut fast: Vec<u128> = targetings
        .iter()
        .map(|t| {
            let started = Instant::now();
            black_box(index.query(black_box(t), sort, 0, limit));
            started.elapsed().as_nanos()
        })
        .collect();
    let mut slow: Vec<u128> = targetings
        .iter()
        .cycle()
        .take(scans.max(1))
        .map(|t| {
            let started = Instant::now();
            black_box(scan(&rows, settings, black_box(t), sort, 0, limit));
            started.elapsed().as_nanos()
        })
        .collect();
    // The same answers, or the speed means nothing.
    for t in targetings.iter().take(20) {
        assert_eq!(
            index.query(t, sort, 0, limit),
            scan(&rows, settings, t, sort, 0, limit),
            "index and scan disagree"
        );
    }
    let p50 = percentile(&mut fast, 50);
    let p95 = percentile(&mut fast, 95);
    let scan_p50 = percentile(&mut slow, 50);
    format!(
        "forecast channels={channels} p50_us={:.1} p95_us={:.1} scan_p50_us={:.1} speedup={:.0} build_ms={build_ms} queries={} scans={}",
        p50 as f64 / 1e3,
        p95 as f64 / 1e3,
        scan_p50 as f64 / 1e3,
        scan_p50 as f64 / p50.max(1) as f64,
        fast.len(),
        slow.len(),
    )
}

/// A typical advertiser's targeting: 2–3 topics, 1–2 languages (as common as in the catalog),
/// a lower size bound and sometimes an upper one.
fn typical(rng: &mut StdRng) -> Targeting {
    let mut topics = Vec::new();
    while topics.len() < rng.random_range(2..=3) {
        let slug = TOPICS[rng.random_range(0..TOPICS.len())].0.to_owned();
        if !topics.contains(&slug) {
            topics.push(slug);
        }
    }
    let total: u32 = LANGUAGES.iter().map(|(_, w)| w).sum();
    let mut languages = Vec::new();
    while languages.len() < rng.random_range(1..=2) {
        let mut roll = rng.random_range(0..total);
        let code = LANGUAGES
            .iter()
            .find(|(_, w)| {
                if roll < *w {
                    true
                } else {
                    roll -= w;
                    false
                }
            })
            .map_or("en", |(c, _)| c)
            .to_owned();
        if !languages.contains(&code) {
            languages.push(code);
        }
    }
    let min = [1_000, 5_000, 10_000, 50_000][rng.random_range(0..4)];
    let max = [None, Some(100_000), Some(1_000_000)][rng.random_range(0..3)];
    Targeting {
        topics,
        languages,
        min_subscribers: Some(min),
        max_subscribers: max,
        ..Targeting::default()
    }
    .normalized()
}

fn percentile(samples: &mut [u128], p: usize) -> u128 {
    samples.sort_unstable();
    let rank = (samples.len() * p).div_ceil(100).clamp(1, samples.len());
    samples[rank - 1]
}
