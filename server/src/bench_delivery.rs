//! `server bench delivery`: the delivery hot paths on a generated platform (a large catalog and
//! thousands of running campaigns), on SQLite and, when given a server, PostgreSQL: candidate
//! selection alone, decisions in-process and over HTTP, batched events, and in the same run a
//! baseline (one bare single-row insert transaction per request on the same database), since
//! the machine is shared and ratios travel better than absolute figures. Ends with one
//! comparable line per database.

mod baseline;
mod events;
mod http;
mod measure;
pub mod setup;

use app::service::delivery::DeliveryEngine;
use events::Phase;
use measure::{Decision, Timings};
use std::time::Instant;

/// Flags of `server bench delivery`.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Channels in the generated catalog.
    #[arg(long, default_value_t = 1_000_000)]
    pub channels: usize,
    /// Running campaigns (each with 1–2 approved ads).
    #[arg(long, default_value_t = 10_000)]
    pub campaigns: usize,
    /// Ad accounts the campaigns belong to (each credited through finance).
    #[arg(long, default_value_t = 250)]
    pub accounts: usize,
    /// Decisions in-process per phase (sequential, then each concurrency level).
    #[arg(long, default_value_t = 20_000)]
    pub decisions: usize,
    /// Concurrent tasks of the concurrent phases (decisions, events and baseline). Slots asked
    /// at once share transactions (group commit), so the rate grows with them, and so does the
    /// time each waits: the phases show the curve between the two.
    #[arg(long, value_delimiter = ',', default_values_t = [4usize, 8, 16])]
    pub concurrency: Vec<usize>,
    /// Decisions over HTTP, spread over `--http-connections` keep-alive connections.
    #[arg(long, default_value_t = 5_000)]
    pub http_decisions: usize,
    /// Keep-alive HTTP connections.
    #[arg(long, default_value_t = 16)]
    pub http_connections: usize,
    /// Timed candidate selections (after as many warm-up ones).
    #[arg(long, default_value_t = 100_000)]
    pub selections: usize,
    /// Events per event phase (sequential, then concurrent), in batches of `--batch`.
    #[arg(long, default_value_t = 40_000)]
    pub events: usize,
    /// Events per batch.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Also on PostgreSQL: a server URL (e.g. `postgres://postgres@127.0.0.1:5432/postgres`);
    /// a database `herald_bench_<pid>` is created there and dropped at the end.
    #[arg(long)]
    pub postgres_url: Option<String>,
    /// Skip SQLite (with `--postgres-url`: PostgreSQL only).
    #[arg(long, requires = "postgres_url")]
    pub skip_sqlite: bool,
    /// Seed of the catalog, the campaigns and the traffic.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Runs the benchmark on each database and prints, last, one summary line per database.
pub async fn run(options: &Options) -> Result<(), String> {
    if options.channels == 0 || options.campaigns == 0 || options.decisions == 0 {
        return Err("--channels, --campaigns and --decisions must be at least 1".into());
    }
    if options.batch == 0 || options.batch > app::service::delivery::ingest::MAX_BATCH {
        return Err(format!(
            "--batch must be from 1 to {}",
            app::service::delivery::ingest::MAX_BATCH
        ));
    }
    let mut summaries = Vec::new();
    if !options.skip_sqlite {
        summaries.push(on(setup::Target::sqlite()?, options).await?);
    }
    if let Some(url) = &options.postgres_url {
        summaries.push(on(setup::Target::postgres(url).await?, options).await?);
    }
    println!();
    for line in summaries {
        println!("{line}");
    }
    Ok(())
}

/// Runs everything on one fresh database and removes it afterwards, whatever happened.
async fn on(target: setup::Target, options: &Options) -> Result<String, String> {
    println!("== delivery on {} ({})", target.name, target.describe());
    let started = Instant::now();
    let result = match target.open().await {
        Ok(db) => {
            // As a serving instance does: SQLite's log is checkpointed in the background.
            let checkpoints = crate::background::checkpoints(&db);
            let result = measure_all(&db, target.name, options, started).await;
            checkpoints.stop(std::time::Duration::from_secs(5)).await;
            let _ = db.close().await;
            result
        }
        Err(e) => Err(e),
    };
    target.remove().await;
    result
}

async fn measure_all(
    db: &sea_orm::DatabaseConnection,
    name: &'static str,
    options: &Options,
    setup_started: Instant,
) -> Result<String, String> {
    let world = setup::build(db, options).await?;
    let engine = DeliveryEngine::default();
    let started = Instant::now();
    engine.refresh(db).await.map_err(|e| e.to_string())?;
    println!(
        "set-up: candidate index of {} channels and {} live campaigns loaded in {:.1} s",
        engine.channels().len(),
        engine.campaigns().campaigns.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "set-up: total {:.1} s",
        setup_started.elapsed().as_secs_f64()
    );

    let selection = measure::selection(&engine, &world, options);
    println!("{}", selection.line());

    let mut made: Vec<Decision> = Vec::new();
    let mut phases: Vec<(usize, Timings)> = Vec::new();
    let mut traffic = measure::Traffic::new(&world, options.seed);
    for tasks in std::iter::once(1).chain(options.concurrency.iter().copied()) {
        let tasks = tasks.max(1);
        let slots = traffic.next(options.decisions);
        let (timings, decisions) =
            measure::decisions(db, &engine, world.key_id, slots, tasks).await;
        println!(
            "{}",
            timings.line(&format!("decide in-process tasks={tasks}"))
        );
        made.extend(decisions);
        phases.push((tasks, timings));
    }

    let baselines = baseline::baselines(db, &phases, options.decisions).await?;
    for (tasks, rate) in &baselines {
        println!("baseline: one-row insert transactions tasks={tasks} per_s={rate:.0}");
    }

    let served = http::serve(db.clone(), &engine).await?;
    println!("set-up: router state built in {:.1} s", served.build_s);
    let (http_timings, http_made) = http::decisions(
        &served,
        &world.secret,
        traffic.next(options.http_decisions),
        options.http_connections.max(1),
    )
    .await?;
    println!(
        "{}",
        http_timings.line(&format!(
            "decide over HTTP connections={}",
            options.http_connections.max(1)
        ))
    );
    made.extend(http_made);

    let mut event_rates = Vec::new();
    let mut next_event = 0usize;
    for tasks in [1, options.concurrency.iter().copied().max().unwrap_or(1)] {
        let phase = events::events(
            db,
            &engine,
            world.key_id,
            &made,
            &mut next_event,
            options.events,
            options.batch,
            tasks,
        )
        .await;
        println!("{}", phase.line());
        event_rates.push(phase.per_s);
    }

    // The summary reports the phase with the best throughput and the baseline measured at
    // the same concurrency.
    let best = phases
        .iter()
        .max_by(|a, b| a.1.per_s().total_cmp(&b.1.per_s()))
        .ok_or("no decision phase ran")?;
    let baseline = baselines
        .iter()
        .find(|(tasks, _)| *tasks == best.0)
        .map_or(0.0, |(_, rate)| *rate);
    let events_per_s = event_rates.iter().copied().fold(0.0, f64::max);
    Ok(format!(
        "delivery db={name} decisions_per_s={:.0} decision_p99_ms={:.2} http_p99_ms={:.2} select_p99_us={:.1} events_per_s={:.0} baseline_per_s={:.0}",
        best.1.per_s(),
        best.1.percentile_ms(99),
        http_timings.percentile_ms(99),
        selection.p99_us,
        events_per_s,
        baseline,
    ))
}

impl Phase {
    fn line(&self) -> String {
        format!(
            "events: batches of {} tasks={} events={} accepted={} rejected={} failed_batches={} per_s={:.0} batch_p50_ms={:.1} batch_p99_ms={:.1}",
            self.batch,
            self.tasks,
            self.events,
            self.accepted,
            self.rejected,
            self.failed_batches,
            self.per_s,
            self.batch_p50_ms,
            self.batch_p99_ms,
        )
    }
}
