//! `server simulate`: realistic traffic against a running Herald's delivery API, over HTTP only.
//!
//! The traffic model ([`traffic`], [`network`]) is pure and seeded; [`client`] is the thin HTTP
//! side; [`drive`] runs the accelerated clock; [`replay`] re-sends a [`journal`].

pub mod client;
pub mod drive;
pub mod journal;
pub mod network;
pub mod replay;
pub mod totals;
pub mod traffic;

use client::DeliveryClient;
use journal::Journal;
use rand::{SeedableRng, rngs::StdRng};
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

/// Flags of `server simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Base URL of the running Herald; only this machine (127.0.0.0/8, ::1, localhost).
    #[arg(
        long,
        env = "HERALD_SIMULATE_URL",
        default_value = "http://127.0.0.1:3000"
    )]
    pub base_url: String,
    /// Delivery API key (`hd_…`), sent as a bearer token.
    #[arg(long, env = "HERALD_DELIVERY_KEY", hide_env_values = true)]
    pub key: String,
    /// Simulated hours.
    #[arg(long, default_value_t = 24.0)]
    pub hours: f64,
    /// Acceleration: simulated seconds per real second.
    #[arg(long, default_value_t = 3600.0)]
    pub speed: f64,
    /// Channels sampled from the catalog listing.
    #[arg(long, default_value_t = 500)]
    pub channels: usize,
    /// Most HTTP requests sent (retries and catalog pages included).
    #[arg(long, default_value_t = 20_000)]
    pub max_requests: u64,
    /// Most real seconds the run may take.
    #[arg(long, default_value_t = 300.0)]
    pub max_seconds: f64,
    /// Seed of the traffic and of the network's flakiness (also part of every slot id).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Most events per request (1–1000).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub batch: u16,
    /// Append one JSON line per request sent (kind, body, status, response) to this file.
    #[arg(long, conflicts_with = "replay")]
    pub journal: Option<PathBuf>,
    /// Instead of simulating, re-send every request of this journal in order and compare the
    /// answers with the recorded ones.
    #[arg(long)]
    pub replay: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the simulation (or the replay) and prints its totals; the last line is machine-readable
/// (see [`totals::Totals::line`] and [`replay::ReplayTotals::report`]). Failed requests are
/// counted in that line, not returned: only a run that cannot start is an `Err`.
pub async fn run(options: &Options) -> Result<(), String> {
    let base = client::check_loopback(&options.base_url)?;
    if options.key.trim().is_empty() {
        return Err("no delivery API key: pass --key or set HERALD_DELIVERY_KEY".to_owned());
    }
    for (name, value) in [("--hours", options.hours), ("--speed", options.speed)] {
        if !(value.is_finite() && value > 0.0) {
            return Err(format!("{name} must be a positive number, not {value}"));
        }
    }
    let deadline = Duration::try_from_secs_f64(options.max_seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .and_then(|d| Instant::now().checked_add(d))
        .ok_or_else(|| {
            format!(
                "--max-seconds must be a positive number, not {}",
                options.max_seconds
            )
        })?;
    if let Some(path) = &options.replay {
        let entries = journal::read(path)?;
        let mut client =
            DeliveryClient::new(&base, &options.key, options.max_requests, deadline, None)?;
        println!(
            "{}",
            replay::run(&mut client, &entries, options.quiet)
                .await
                .report()
        );
        return Ok(());
    }
    let journal = options.journal.as_deref().map(Journal::open).transpose()?;
    let mut client =
        DeliveryClient::new(&base, &options.key, options.max_requests, deadline, journal)?;
    let catalog = client.channels().await?;
    let mut rng = StdRng::seed_from_u64(options.seed);
    let channels = traffic::sample_channels(&mut rng, catalog, options.channels);
    if channels.is_empty() {
        return Err("the catalog lists no eligible channel: nothing to simulate".to_owned());
    }
    let (totals, stopped) = drive::run(&mut client, channels, &mut rng, options, deadline).await;
    if let Some(failure) = &client.last_failure {
        eprintln!("last network failure: {failure}");
    }
    println!("{}", totals.report(stopped));
    Ok(())
}
