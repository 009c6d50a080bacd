//! For whoever runs Herald: `/healthz` (the process answers), `/readyz` (it can serve: the
//! database answers, its migrations are current, the catalog and campaign indexes are loaded)
//! and the shutdown signal.

use app::api::ctx::AppState;
use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Statement};
use serde::Serialize;

/// The health routes; no session, no CSRF, never cached.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Response {
    ([(header::CACHE_CONTROL, "no-store")], "ok\n").into_response()
}

/// What `/readyz` found; every field true (and no pending migration) means ready.
#[derive(Debug, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub database: bool,
    /// Migrations this binary knows that the database has not applied; `None` when the
    /// database could not be asked.
    pub pending_migrations: Option<usize>,
    /// Migrations the database has applied that this binary does not know: a newer release
    /// migrated it (a rolling upgrade under way). This instance stays ready — every migration
    /// it knows is there — but an operator should finish the upgrade; `None` as above.
    pub newer_migrations: Option<usize>,
    /// The catalog version the forecast index was built from.
    pub catalog_index_version: i64,
    /// Seconds since the forecast index was last known to match the stored catalog (the
    /// refresh loop confirms it every few seconds); past [`CATALOG_STALE`] the instance is
    /// not ready: its forecasts may describe a catalog that has changed.
    pub catalog_index_checked_seconds_ago: u64,
    /// The delivery version of the running-campaign index; `None` before its first load.
    pub campaign_index_version: Option<i64>,
}

/// How long the forecast index may go unconfirmed before the instance reports itself not
/// ready (thirty rounds of the catalog loop).
pub const CATALOG_STALE: std::time::Duration = std::time::Duration::from_secs(60);

/// Checks the database, its migrations and this instance's in-memory indexes.
pub async fn readiness(state: &AppState) -> Readiness {
    readiness_with(state, CATALOG_STALE).await
}

/// [`readiness`] with the catalog index allowed to go unconfirmed for `catalog_stale`.
pub async fn readiness_with(state: &AppState, catalog_stale: std::time::Duration) -> Readiness {
    let ping = state
        .db
        .query_one_raw(Statement::from_string(
            state.db.get_database_backend(),
            "SELECT 1",
        ))
        .await;
    let database = ping.is_ok();
    let migrations = if database {
        migration_counts(state).await.ok()
    } else {
        None
    };
    let (pending_migrations, newer_migrations) = (
        migrations.map(|(pending, _)| pending),
        migrations.map(|(_, newer)| newer),
    );
    let campaign_version = state.delivery.campaigns().delivery_version;
    let campaign_index_version = (campaign_version != i64::MIN).then_some(campaign_version);
    let checked = state.forecast.checked_ago();
    Readiness {
        ready: database
            && pending_migrations == Some(0)
            && checked <= catalog_stale
            && campaign_index_version.is_some(),
        database,
        pending_migrations,
        newer_migrations,
        catalog_index_version: state.forecast.index().version,
        catalog_index_checked_seconds_ago: checked.as_secs(),
        campaign_index_version,
    }
}

/// How many migrations this binary knows that the database lacks, and how many the database
/// has that this binary does not know. One `SELECT` of the migration table: a probe creates
/// nothing (sea-orm's own check runs `CREATE TABLE IF NOT EXISTS` first, which PostgreSQL
/// answers with a notice logged on every probe) and does not fail when a newer release has
/// migrated the database. A database never migrated has no such table: an error, not ready.
async fn migration_counts(state: &AppState) -> Result<(usize, usize), sea_orm::DbErr> {
    let applied: std::collections::HashSet<String> = state
        .db
        .query_all_raw(Statement::from_string(
            state.db.get_database_backend(),
            "SELECT version FROM seaql_migrations",
        ))
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?;
    let known: std::collections::HashSet<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    Ok((
        known.difference(&applied).count(),
        applied.difference(&known).count(),
    ))
}

async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = readiness(&state).await;
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(readiness),
    )
        .into_response()
}

/// Resolves on SIGTERM (what a service manager or container runtime sends) or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received: shutting down"),
        () = terminate => tracing::info!("SIGTERM received: shutting down"),
    }
}

/// `server probe`: whether the Herald listening on `listen` (an unspecified address is asked
/// on loopback) answers `/readyz` with 200 within 5 s.
pub async fn probe(listen: std::net::SocketAddr) -> Result<(), String> {
    let mut at = listen;
    if at.ip().is_unspecified() {
        at.set_ip(if at.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let url = format!("http://{at}/readyz");
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        // Loopback: never through a proxy the environment names.
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let answer = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = answer.status();
    let body = answer.text().await.unwrap_or_default();
    if status.is_success() {
        println!("ready: {body}");
        Ok(())
    } else {
        Err(format!("{url} answered {status}: {body}"))
    }
}
