//! The `server` binary: parse configuration, then serve, migrate, seed, simulate or bench.

use clap::Parser;
use migrations::db;
use server::{
    background::{self, Periods},
    bench,
    client_ip::TrustedProxies,
    config::{self, Bench, Cli, Command, LogFormat},
    ops, router,
    router::RouterConfig,
    seed, simulate,
};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's allocator: a signed-in page allocates and frees thousands of
/// small objects (rows, strings, futures) across threads, and glibc's malloc and free were
/// 15 % of the server's CPU time under load (`perf`, `bash .ci/bench ssr`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Colours only for a terminal: a log file or collector gets plain text.
    // A benchmark's own requests would write an access line each: only warnings there,
    // unless a filter was asked for.
    let filter = match (&cli.command, cli.log.as_str()) {
        (Some(Command::Bench { .. }), "info") => "warn",
        _ => cli.log.as_str(),
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    match cli.log_format {
        // One JSON object per line, with every span it was written in, outermost first: a
        // line written inside a request names the request's span (its id) under `spans`,
        // however deep (the session layer's own span is inside it).
        LogFormat::Json => logs
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .init(),
        LogFormat::Text => logs.init(),
    }
    let format = cli.log_format;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Printed whatever HERALD_LOG filters; with JSON logs in their shape.
            match format {
                LogFormat::Json => eprintln!(
                    "{}",
                    server::observe::json_line(
                        "ERROR",
                        "server",
                        serde_json::json!({ "message": message })
                    )
                ),
                LogFormat::Text => eprintln!("error: {message}"),
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    if let Some(Command::Bench { what }) = &cli.command {
        match *what {
            Bench::Forecast {
                channels,
                queries,
                scans,
                campaigns,
                seed,
            } => println!(
                "{}",
                bench::forecast(channels, queries, scans, campaigns, seed)
            ),
            Bench::ForecastHttp {
                channels,
                requests,
                seed,
            } => println!("{}", bench::forecast_http(channels, requests, seed).await?),
            Bench::Delivery(ref options) => server::bench_delivery::run(options).await?,
            Bench::Reports(ref options) => server::bench_reports::run(options).await?,
        }
        return Ok(());
    }
    if let Some(Command::Simulate(options)) = &cli.command {
        return simulate::run(options).await;
    }
    if let Some(Command::Probe) = &cli.command {
        return ops::probe(cli.listen).await;
    }
    // A backup of a mistyped path must fail, not create an empty database and copy that.
    if matches!(cli.command, Some(Command::Backup { .. }))
        && let Some(file) = config::sqlite_file(&cli.database_url)
        && !file.is_file()
    {
        return Err(format!(
            "no database at {}: check DATABASE_URL",
            file.display()
        ));
    }
    let url = config::resolve_database_url(&cli.database_url).map_err(|e| e.to_string())?;
    let database = db::connect(&url)
        .await
        .map_err(|e| format!("cannot open database: {e}"))?;
    // A backup copies the database as it is: a newer binary must not change the schema of the
    // database it was asked to copy before copying it.
    if !matches!(cli.command, Some(Command::Backup { .. })) {
        db::migrate(&database)
            .await
            .map_err(|e| format!("migration failed: {e}"))?;
    }
    match cli.command.unwrap_or(Command::Serve {
        seed_if_empty: false,
    }) {
        Command::Migrate => {
            println!("Migrations applied.");
            Ok(())
        }
        Command::Seed { channels, seed } => {
            seed::run(&database, channels, seed, cli.log_format).await
        }
        Command::DeliveryKey {
            what: config::DeliveryKeyCommand::Create { name },
        } => {
            let key = app::service::delivery::keys::create_unchecked(
                &database,
                &name,
                None,
                chrono::Utc::now(),
            )
            .await
            .map_err(|e| format!("cannot create the key: {e}"))?;
            println!("Delivery key “{}” created (id {}).", key.name, key.id);
            println!("Its secret, shown only this once:");
            println!("{}", key.secret);
            Ok(())
        }
        Command::Staff {
            what: config::StaffCommand::Grant { email, role },
        } => {
            let role = app::model::PlatformRole::ALL
                .into_iter()
                .find(|r| r.code() == role)
                .ok_or_else(|| format!("unknown role {role}"))?;
            match app::service::admin::grant_by_operator(&database, &email, role).await {
                Ok(true) => println!("{email} is now {}.", role.label()),
                Ok(false) => println!("{email} was already {}.", role.label()),
                Err(app::error::AppError::NotFound) => {
                    return Err(format!(
                        "no user signs in with {email}: sign up first (and confirm the address)"
                    ));
                }
                Err(e) => return Err(format!("cannot grant the role: {e}")),
            }
            Ok(())
        }
        Command::Reconcile => reconcile(&database).await,
        Command::Backup { path } => {
            let bytes = server::backup::sqlite(&database, &path).await?;
            println!("Backed up to {} ({bytes} bytes).", path.display());
            Ok(())
        }
        Command::Bench { .. } | Command::Simulate(_) | Command::Probe => Ok(()),
        Command::Serve { seed_if_empty } => {
            if seed_if_empty {
                seed::run(&database, 20_000, 42, cli.log_format).await?;
            }
            let site_root = config::absolute(&cli.site_root).map_err(|e| e.to_string())?;
            // Refuse a site with no bundle: its pages would never hydrate.
            app::bundle::BundleFiles::find(&site_root)?;
            let mut config = RouterConfig::new(&site_root, cli.listen, cli.secure_cookies);
            config.trusted_proxies = TrustedProxies::parse(&cli.trusted_proxies)
                .map_err(|e| format!("HERALD_TRUSTED_PROXIES: {e}"))?;
            config.dev_mail = cli.dev_mail;
            config.read_connections = cli.read_connections;
            config.delivery_limiter = server::delivery_api::KeyLimiter::new(
                cli.delivery_rate,
                cli.delivery_rate.saturating_mul(2),
            );
            if cli.secure_cookies && config.trusted_proxies == TrustedProxies::default() {
                // Secure cookies mean HTTPS, which usually ends at a proxy: then every user
                // shares its address and the per-address sign-in limits apply to all at once.
                tracing::warn!(
                    "secure cookies are on but HERALD_TRUSTED_PROXIES is empty: behind a TLS proxy, \
                     list it there, or every client shares the proxy's address"
                );
            }
            if cli.dev_mail {
                tracing::warn!(
                    "development mail is on (HERALD_DEV_MAIL): mail links are in the log and the \
                     Mail outbox page; never use this in production"
                );
            }
            let state = router::state(database.clone(), &config)
                .await
                .map_err(|e| format!("cannot load the catalog: {e}"))?;
            let background = background::start(&state, Periods::default(), cli.dev_mail);
            let scraped = state.clone();
            let reads = state.reads.clone();
            let imports = state.imports.clone();
            let deferred = state.deferred.clone();
            let app = router::routes(state, &config);
            let listener = tokio::net::TcpListener::bind(cli.listen)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", cli.listen))?;
            // The address bound, which names the port the system chose for `…:0`.
            let listening = listener
                .local_addr()
                .map_err(|e| format!("cannot listen on {}: {e}", cli.listen))?;
            let stop = CancellationToken::new();
            if let Some(address) = cli.metrics_listen {
                server::metrics::serve(address, config.metrics.clone(), scraped, stop.clone())
                    .await?;
            }
            tracing::info!(
                "Herald listening on http://{} (database {}, secure cookies {})",
                listening,
                redact(&url),
                cli.secure_cookies
            );
            let grace = std::time::Duration::from_secs(cli.shutdown_grace);
            let serving = server::listen::serve(listener, app, server::listen::HEADER_TIMEOUT, {
                let stop = stop.clone();
                async move { stop.cancelled().await }
            });
            tokio::pin!(serving);
            // The listener closes at the signal, and the background loops are told to stop
            // with it: requests in flight and the loops' last rounds share one `grace`, so a
            // stop takes at most that and the second allowed for closing the pools below (an
            // orchestrator's own grace must exceed both).
            let mut deadline = None;
            let served: Result<(), String> = tokio::select! {
                () = &mut serving => Ok(()),
                () = ops::shutdown_signal() => {
                    let until = tokio::time::Instant::now() + grace;
                    deadline = Some(until);
                    stop.cancel();
                    background.begin_stop();
                    match tokio::time::timeout_at(until, &mut serving).await {
                        Ok(()) => Ok(()),
                        Err(_) => {
                            tracing::warn!(seconds = cli.shutdown_grace, "requests still in flight after the grace period: closing them");
                            Ok(())
                        }
                    }
                }
            };
            stop.cancel();
            // What is left of the grace (all of it when the server ended by itself).
            let left = || {
                deadline.map_or(grace, |until| {
                    until.saturating_duration_since(tokio::time::Instant::now())
                })
            };
            // Background rounds, catalog imports being applied and work answers did not wait
            // for (reset mails) finish in the same grace.
            let within = left();
            deferred.close();
            let (stopped, imported, deferred) = tokio::join!(
                background.stop(within),
                tokio::time::timeout(within, imports.finish()),
                tokio::time::timeout(within, deferred.wait())
            );
            if deferred.is_err() {
                tracing::warn!(
                    "a password reset mail was still being written after the grace period: \
                     abandoned (nothing of it is written; the person asks again)"
                );
            }
            if !stopped {
                tracing::warn!("background rounds still busy after the grace period: abandoned");
            }
            if imported.is_err() {
                tracing::warn!(
                    "a catalog import was still being applied after the grace period: abandoned \
                     (nothing of it is published; an instance marks it failed once its \
                     heartbeat is a minute old)"
                );
            }
            // Closing a pool waits for every borrowed connection to come back, which a request
            // abandoned above may never do: the closing gets what is left of the grace (at
            // least a second), then the process ends anyway. Nothing is half-written either
            // way: a transaction that never committed is rolled back by the database.
            let closing_time = left().max(std::time::Duration::from_secs(1));
            let closing = async {
                app::service::ledger::close_writer(&database).await;
                reads.close().await;
                database.close().await
            };
            match tokio::time::timeout(closing_time, closing).await {
                Ok(closed) => closed.map_err(|e| format!("cannot close the database: {e}"))?,
                Err(_) => tracing::warn!(
                    "database connections still in use after the grace period: not waiting"
                ),
            }
            tracing::info!("Herald stopped");
            served
        }
    }
}

/// A database URL without its password, for the log.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// `server reconcile`: every campaign's money from each source; a difference is an error.
async fn reconcile(database: &sea_orm::DatabaseConnection) -> Result<(), String> {
    let check = app::service::reports::reconcile::reconcile(database)
        .await
        .map_err(|e| format!("cannot reconcile: {e}"))?;
    let o = &check.overall;
    println!(
        "campaigns={} ledger_posted={} events_posted={} rollup_spend={} daily_rollup_spend={} \
         counters_posted={} decisions_posted={} events_views={} rollup_views={} \
         daily_rollup_views={} events_clicks={} rollup_clicks={} daily_rollup_clicks={}",
        check.campaigns.len(),
        o.ledger_posted,
        o.events_posted,
        o.rollup_spend,
        o.daily_spend,
        o.counter_posted,
        o.decisions_posted,
        o.events_views,
        o.rollup_views,
        o.daily_views,
        o.events_clicks,
        o.rollup_clicks,
        o.daily_clicks
    );
    for (campaign, f) in &check.differences {
        println!(
            "DIFFERENCE campaign={campaign} account={} ledger_posted={} events_posted={} \
             rollup_spend={} daily_rollup_spend={} counters_posted={} decisions_posted={} \
             events_views={} rollup_views={} daily_rollup_views={} events_clicks={} \
             rollup_clicks={} daily_rollup_clicks={} rollup_reversed={} daily_rollup_reversed={}",
            f.account_id,
            f.ledger_posted,
            f.events_posted,
            f.rollup_spend,
            f.daily_spend,
            f.counter_posted,
            f.decisions_posted,
            f.events_views,
            f.rollup_views,
            f.daily_views,
            f.events_clicks,
            f.rollup_clicks,
            f.daily_clicks,
            f.rollup_reversed,
            f.daily_reversed
        );
    }
    if check.differences.is_empty() {
        println!("reconciled: no differences (all amounts in micro-units)");
        Ok(())
    } else {
        Err(format!("{} campaign(s) disagree", check.differences.len()))
    }
}
