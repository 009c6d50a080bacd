//! Configuration from the environment (and flags), listed by `server --help`.

use clap::{ArgAction, Parser, Subcommand, ValueEnum};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

/// Herald — a self-hostable ad platform for public broadcast channels.
#[derive(Debug, Parser)]
#[command(name = "server", version)]
pub struct Cli {
    /// Database URL: `sqlite://path/to/file.db` (created if missing; a relative path is taken
    /// from the working directory) or `postgres://user@host/db`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/herald.db",
        global = true
    )]
    pub database_url: String,

    /// Address to listen on.
    #[arg(
        long,
        env = "HERALD_LISTEN",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub listen: SocketAddr,

    /// Secure cookies (`__Host-` name, `Secure` flag) and HSTS. Turn off only for plain-http
    /// localhost.
    #[arg(long, env = "HERALD_SECURE_COOKIES", default_value_t = true, action = ArgAction::Set, global = true)]
    pub secure_cookies: bool,

    /// Proxies whose `X-Forwarded-For` is believed, as comma-separated CIDRs or addresses
    /// (e.g. `10.0.0.0/8,127.0.0.1`). Empty (the default): the socket peer is the client.
    #[arg(
        long,
        env = "HERALD_TRUSTED_PROXIES",
        default_value = "",
        global = true
    )]
    pub trusted_proxies: String,

    /// Development mail mode: mail (with the secrets of its links) is written to the log and
    /// readable by admins on the Mail outbox page. For the demo and development only: whoever
    /// reads those links can set passwords. Off, the links' secrets are hidden in both.
    #[arg(long, env = "HERALD_DEV_MAIL", default_value_t = false, action = ArgAction::Set, global = true)]
    pub dev_mail: bool,

    /// Delivery API requests per second allowed per key on this instance (bursts of twice
    /// that).
    #[arg(
        long,
        env = "HERALD_DELIVERY_RATE",
        default_value_t = 2_000,
        global = true
    )]
    pub delivery_rate: u32,

    /// Read-only database connections, each held by one request at a time for all its reads
    /// (one SQLx round trip per statement instead of two); requests beyond these read from the
    /// main pool. 0: no read pool. Count them in PostgreSQL's `max_connections`.
    #[arg(
        long,
        env = "HERALD_READ_CONNECTIONS",
        default_value_t = migrations::db::READ_POOL_CONNECTIONS,
        global = true
    )]
    pub read_connections: u32,

    /// Log filter, e.g. `info` or `server=debug,sea_orm=warn`.
    #[arg(long, env = "HERALD_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log lines as `text` (for people) or `json` (one object per line, for log collectors).
    #[arg(long, env = "HERALD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Where to serve Prometheus metrics (`/metrics`), e.g. `127.0.0.1:9100`; keep it off the
    /// public network. Unset (the default): no metrics listener.
    #[arg(long, env = "HERALD_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// Seconds a shutdown (SIGTERM, SIGINT) waits for requests in flight and background
    /// rounds to finish before it exits anyway.
    #[arg(
        long,
        env = "HERALD_SHUTDOWN_GRACE",
        default_value_t = 20,
        global = true
    )]
    pub shutdown_grace: u64,

    /// The built site (wasm, JS, CSS, assets); default `target/site` under the working directory.
    #[arg(
        long,
        env = "LEPTOS_SITE_ROOT",
        default_value = "target/site",
        global = true
    )]
    pub site_root: PathBuf,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run migrations, then serve (the default).
    Serve {
        /// Seed demo data first when the database has no users.
        #[arg(long)]
        seed_if_empty: bool,
    },
    /// Run pending migrations and exit.
    Migrate,
    /// Fill an empty database with demo users (passwords printed once) and a synthetic
    /// channel catalog.
    Seed {
        /// Number of synthetic channels.
        #[arg(long, default_value_t = 20_000)]
        channels: usize,
        /// Seed of the catalog generator (same seed, same catalog).
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Drive a running Herald's delivery API with realistic traffic over HTTP (no database
    /// needed): posts ask for decisions, views and clicks follow; totals at the end.
    Simulate(Box<crate::simulate::Options>),
    /// Compare, per campaign, the ledger's charges, the accepted delivery events, the report
    /// rollup, the spend counters and the decisions, to the micro-unit; print every difference
    /// (exit status 1 when there is one).
    Reconcile,
    /// Write a consistent copy of the SQLite database to PATH while Herald keeps running
    /// (`VACUUM INTO`); PostgreSQL: use `pg_dump` (see the README).
    Backup {
        /// The new file (refused when it exists).
        path: PathBuf,
    },
    /// Platform roles for the operator: the first admin of a new installation.
    Staff {
        #[command(subcommand)]
        what: StaffCommand,
    },
    /// Ask the Herald running on this machine (at HERALD_LISTEN) whether it is ready to serve:
    /// exit status 0 when its `/readyz` answers 200 within 5 s, else 1. For container health
    /// checks (the image has no curl); needs no database.
    Probe,
    /// Delivery-network API keys for scripted set-ups.
    DeliveryKey {
        #[command(subcommand)]
        what: DeliveryKeyCommand,
    },
    /// Measure a hot path and print one line of figures (no database needed).
    Bench {
        #[command(subcommand)]
        what: Bench,
    },
}

/// What `server staff` does.
#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Grant ROLE (admin, moderator or finance) to the user who signed up with EMAIL and
    /// confirmed it (audited as granted by the server command). Further roles are best granted
    /// by an admin on the Users page.
    Grant {
        /// The user's sign-in address.
        email: String,
        /// admin, moderator or finance.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(
            app::model::PlatformRole::ALL.map(app::model::PlatformRole::code)
        ))]
        role: String,
    },
}

/// What `server delivery-key` does.
#[derive(Debug, Subcommand)]
pub enum DeliveryKeyCommand {
    /// Create a key named NAME and print its secret (shown this once; only its hash is kept).
    Create {
        /// Who uses the key, e.g. "Acme delivery network".
        name: String,
    },
}

/// What `server bench` measures.
#[derive(Debug, Subcommand)]
pub enum Bench {
    /// The forecast index against a plain scan, on a generated catalog.
    Forecast {
        /// Channels in the generated catalog.
        #[arg(long, default_value_t = 1_000_000)]
        channels: usize,
        /// Timed index queries (after as many warm-up queries).
        #[arg(long, default_value_t = 2_000)]
        queries: usize,
        /// Timed full scans (the baseline is slow; a few suffice).
        #[arg(long, default_value_t = 25)]
        scans: usize,
        /// Running campaigns the auction-aware estimate competes with (second line).
        #[arg(long, default_value_t = 10_000)]
        campaigns: usize,
        /// Seed of the catalog and of the targetings.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// The forecast server function over HTTP (session, layers, database), on a temporary
    /// SQLite catalog.
    ForecastHttp {
        /// Channels in the generated catalog.
        #[arg(long, default_value_t = 1_000_000)]
        channels: usize,
        /// Timed requests (after 50 warm-up requests).
        #[arg(long, default_value_t = 500)]
        requests: usize,
        /// Seed of the catalog and of the targetings.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Delivery on a generated platform (catalog, running campaigns): candidate selection,
    /// decisions in-process and over HTTP, batched events, and a same-run insert baseline, on
    /// a temporary SQLite database and optionally a temporary PostgreSQL one.
    Delivery(Box<crate::bench_delivery::Options>),
    /// Reports of an account with a year of history (10^7 events by default), from the rollups
    /// against scanning the raw events, on temporary databases.
    Reports(Box<crate::bench_reports::Options>),
}

/// The file a SQLite database URL names, made absolute; `None` for PostgreSQL and in-memory
/// databases.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    (path != ":memory:")
        .then(|| absolute(Path::new(path)).ok())
        .flatten()
}

/// Makes a relative SQLite path absolute (so the database does not move with the working
/// directory), creates its folder, and asks SQLite to create the file if missing.
pub fn resolve_database_url(url: &str) -> std::io::Result<String> {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Ok(url.to_owned());
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path == ":memory:" {
        return Ok(url.to_owned());
    }
    let path = absolute(Path::new(path))?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let query = if query.contains("mode=") {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{}?{query}", path.display()))
}

/// `path` made absolute against the working directory.
pub fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    if path.is_absolute() {
        Ok(path.to_owned())
    } else {
        Ok(std::env::current_dir()?.join(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_sqlite_paths_become_absolute() {
        let dir = std::env::temp_dir().join(format!("herald-config-{}", std::process::id()));
        let url = format!("sqlite://{}/x.db", dir.display());
        let resolved = resolve_database_url(&url).expect("resolve");
        assert_eq!(
            resolved,
            format!("sqlite://{}/x.db?mode=rwc", dir.display())
        );
        assert!(dir.is_dir());
        assert!(
            resolve_database_url("sqlite://data/h.db")
                .expect("ok")
                .starts_with("sqlite:///")
        );
        let pg = "postgres://postgres@127.0.0.1/herald";
        assert_eq!(resolve_database_url(pg).expect("ok"), pg);
    }
}
