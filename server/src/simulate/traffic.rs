//! The traffic model: which channels post, when, and how views and clicks follow — pure and seeded.

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::Deserialize;

/// One eligible channel as the catalog listing (`GET /channels`) describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Channel {
    /// Catalog id (the listing's cursor).
    pub id: i64,
    /// Public handle, e.g. `@name`: what a decision request names.
    pub handle: String,
    /// Typical views of one post.
    pub avg_views: u64,
    /// Mean posts per day.
    pub posts_per_day: f64,
}

/// One page of the catalog listing.
#[derive(Debug, Deserialize)]
pub struct ChannelPage {
    /// The channels of this page, by ascending id.
    pub channels: Vec<Channel>,
    /// The cursor of the next page, `None` on the last one.
    pub next: Option<i64>,
}

/// A post that asks for an ad: `at` simulated seconds after the start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PostArrival {
    /// Simulated seconds since the start of the run.
    pub at: f64,
    /// Index of the channel in the sampled list.
    pub channel: usize,
    /// The post's number within its channel (0, 1, …): makes the slot id unique.
    pub n: u32,
}

/// Views (and clicks) of a won post, reported `after` simulated seconds past its decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewIncrement {
    /// Simulated seconds after the decision.
    pub after: f64,
    /// New views since the previous increment.
    pub views: u64,
    /// New clicks since the previous increment; never more than `views`.
    pub clicks: u64,
}

/// How long a post keeps gathering views (simulated seconds).
pub const VIEW_WINDOW: f64 = 6.0 * 3600.0;
/// Time constant of the view decay: three quarters of the views come in the first two hours.
const VIEW_DECAY: f64 = 1.5 * 3600.0;
/// When a post's views are reported, in simulated seconds after its decision.
const REPORT_AT: [f64; 10] = [
    300.0,
    900.0,
    1800.0,
    3600.0,
    5400.0,
    7200.0,
    10800.0,
    14400.0,
    18000.0,
    VIEW_WINDOW,
];

/// Picks `amount` channels (all of them when fewer), by ascending id; same seed, same pick.
pub fn sample_channels(rng: &mut StdRng, mut catalog: Vec<Channel>, amount: usize) -> Vec<Channel> {
    if catalog.len() > amount {
        let mut picked = rand::seq::index::sample(rng, catalog.len(), amount).into_vec();
        picked.sort_unstable();
        catalog = picked
            .into_iter()
            .filter_map(|i| catalog.get(i).cloned())
            .collect();
    }
    catalog.sort_by_key(|c| c.id);
    catalog
}

/// Post times of one channel over `[0, horizon)` simulated seconds: a Poisson process of
/// `posts_per_day` a day (exponential gaps). None for a rate that is not a positive number.
pub fn post_times(rng: &mut StdRng, posts_per_day: f64, horizon: f64) -> Vec<f64> {
    let rate = posts_per_day / 86_400.0;
    let mut times = Vec::new();
    if !(rate.is_finite() && rate > 0.0) {
        return times;
    }
    let mut t = 0.0;
    loop {
        let u: f64 = rng.random();
        // 1 - u is in (0, 1], so the logarithm is finite.
        t += -(1.0 - u).ln() / rate;
        if t >= horizon {
            return times;
        }
        times.push(t);
    }
}

/// Every post of every channel over `horizon` simulated seconds, by time.
pub fn schedule_posts(rng: &mut StdRng, channels: &[Channel], horizon: f64) -> Vec<PostArrival> {
    let mut posts: Vec<PostArrival> = channels
        .iter()
        .enumerate()
        .flat_map(|(channel, c)| {
            post_times(rng, c.posts_per_day, horizon)
                .into_iter()
                .zip(0u32..)
                .map(move |(at, n)| PostArrival { at, channel, n })
        })
        .collect();
    posts.sort_by(|a, b| a.at.total_cmp(&b.at));
    posts
}

/// The views a won post reports over the next [`VIEW_WINDOW`]: in total `avg_views` times a
/// factor in 0.6–1.3, front-loaded (exponential decay), with 0.3–2 % of them clicked. Empty
/// increments are left out.
pub fn view_curve(rng: &mut StdRng, avg_views: u64) -> Vec<ViewIncrement> {
    let total = (avg_views as f64 * rng.random_range(0.6..1.3)).round() as u64;
    let rate = rng.random_range(0.003..0.02);
    let total_clicks = (total as f64 * rate).round() as u64;
    let seen_by =
        |t: f64| (1.0 - (-t / VIEW_DECAY).exp()) / (1.0 - (-VIEW_WINDOW / VIEW_DECAY).exp());
    let (mut views_so_far, mut clicks_so_far, mut owed_clicks) = (0u64, 0u64, 0u64);
    let mut increments = Vec::new();
    for (i, &at) in REPORT_AT.iter().enumerate() {
        let last = i + 1 == REPORT_AT.len();
        let share = if last { 1.0 } else { seen_by(at) };
        let views_now = (total as f64 * share).floor() as u64;
        let clicks_now = (total_clicks as f64 * share).floor() as u64;
        let views = views_now.saturating_sub(views_so_far);
        // A step can round to more clicks than views: those clicks wait for a later step.
        owed_clicks += clicks_now.saturating_sub(clicks_so_far);
        let clicks = owed_clicks.min(views);
        owed_clicks -= clicks;
        (views_so_far, clicks_so_far) = (views_now, clicks_now);
        if views > 0 {
            // Jitter of ±5 % keeps the report times in order (neighbours are ≥ 20 % apart).
            let after = at * rng.random_range(0.95..1.05);
            increments.push(ViewIncrement {
                after,
                views,
                clicks,
            });
        }
    }
    increments
}

/// A generator seeded from several numbers (splitmix64 mixing), so that one post's view curve
/// depends only on the run's seed and the post, not on what the server answered before it.
pub fn rng_for(parts: &[u64]) -> StdRng {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for &part in parts {
        state ^= part;
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        state = z ^ (z >> 31);
    }
    StdRng::seed_from_u64(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(id: i64, posts_per_day: f64) -> Channel {
        Channel {
            id,
            handle: format!("@c{id}"),
            avg_views: 1_000,
            posts_per_day,
        }
    }

    #[test]
    fn post_times_are_seeded_ordered_and_inside_the_horizon() {
        let a = post_times(&mut rng_for(&[7]), 3.0, 86_400.0 * 10.0);
        let b = post_times(&mut rng_for(&[7]), 3.0, 86_400.0 * 10.0);
        assert_eq!(a, b);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert!(a.iter().all(|&t| (0.0..86_400.0 * 10.0).contains(&t)));
    }

    #[test]
    fn post_times_average_the_daily_rate() {
        let days = 2_000.0;
        let n = post_times(&mut rng_for(&[1]), 4.0, 86_400.0 * days).len() as f64;
        // Poisson: standard deviation √8000 ≈ 90; allow four of them.
        assert!((n - 4.0 * days).abs() < 360.0, "{n} posts");
    }

    #[test]
    fn no_posts_without_a_positive_rate() {
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(post_times(&mut rng_for(&[1]), rate, 86_400.0).is_empty());
        }
    }

    #[test]
    fn posts_are_merged_by_time_with_numbers_per_channel() {
        let channels = [channel(1, 10.0), channel(2, 5.0)];
        let posts = schedule_posts(&mut rng_for(&[3]), &channels, 86_400.0 * 3.0);
        assert!(posts.windows(2).all(|w| w[0].at <= w[1].at));
        for c in 0..2 {
            let numbers: Vec<u32> = posts
                .iter()
                .filter(|p| p.channel == c)
                .map(|p| p.n)
                .collect();
            assert!(!numbers.is_empty());
            assert_eq!(numbers, (0..numbers.len() as u32).collect::<Vec<_>>());
        }
    }

    #[test]
    fn sampling_is_seeded_sorted_and_bounded() {
        let catalog: Vec<Channel> = (1..=100).rev().map(|id| channel(id, 1.0)).collect();
        let a = sample_channels(&mut rng_for(&[5]), catalog.clone(), 10);
        let b = sample_channels(&mut rng_for(&[5]), catalog.clone(), 10);
        assert_eq!(a, b);
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(sample_channels(&mut rng_for(&[5]), catalog, 500).len(), 100);
    }

    #[test]
    fn views_total_around_the_average_front_loaded_with_few_clicks() {
        for seed in 0..200 {
            let curve = view_curve(&mut rng_for(&[seed]), 10_000);
            let views: u64 = curve.iter().map(|i| i.views).sum();
            let clicks: u64 = curve.iter().map(|i| i.clicks).sum();
            assert!((6_000..=13_000).contains(&views), "{views} views");
            assert!(clicks * 1_000 >= views * 3 - 1_000 && clicks * 100 <= views * 2 + 100);
            assert!(curve.iter().all(|i| i.clicks <= i.views));
            assert!(curve.windows(2).all(|w| w[0].after < w[1].after));
            assert!(
                curve
                    .iter()
                    .all(|i| i.after > 0.0 && i.after <= VIEW_WINDOW * 1.05)
            );
            let early: u64 = curve
                .iter()
                .filter(|i| i.after < 2.2 * 3600.0)
                .map(|i| i.views)
                .sum();
            assert!(early * 2 > views, "front-loaded: {early} of {views}");
        }
    }

    #[test]
    fn view_curves_are_seeded_and_small_channels_stay_consistent() {
        assert_eq!(
            view_curve(&mut rng_for(&[9]), 500),
            view_curve(&mut rng_for(&[9]), 500)
        );
        assert!(view_curve(&mut rng_for(&[9]), 0).is_empty());
        for seed in 0..500 {
            let curve = view_curve(&mut rng_for(&[seed]), 3);
            assert!(curve.iter().all(|i| i.views > 0 && i.clicks <= i.views));
        }
    }

    #[test]
    fn rng_for_depends_on_every_part() {
        let draw = |parts: &[u64]| rng_for(parts).random::<u64>();
        assert_eq!(draw(&[1, 2, 3]), draw(&[1, 2, 3]));
        assert_ne!(draw(&[1, 2, 3]), draw(&[1, 2, 4]));
        assert_ne!(draw(&[1, 2, 3]), draw(&[2, 1, 3]));
    }
}
