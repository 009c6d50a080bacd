//! The same-run baseline: one bare single-row INSERT in its own transaction per request, on
//! the same database and at the same concurrency as the decisions, after the cost of one
//! statement's round trip through the pool.

use super::measure::{Timings, percentile};
use app::service::ledger;
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use std::time::Instant;

/// `SELECT 1`s timed before the baseline.
const ROUND_TRIPS: usize = 2_000;

/// The baseline at each concurrency level of the decision phases: `n` bare single-row INSERTs,
/// each in its own transaction (begun as the services begin theirs), per second.
pub async fn baselines(
    db: &DatabaseConnection,
    phases: &[(usize, Timings)],
    n: usize,
) -> Result<Vec<(usize, f64)>, String> {
    let backend = db.get_database_backend();
    let (create, insert) = match backend {
        DbBackend::Postgres => (
            "CREATE TABLE bench_baseline (id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, note TEXT NOT NULL)",
            "INSERT INTO bench_baseline (at, note) VALUES ($1, $2)",
        ),
        _ => (
            "CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, note TEXT NOT NULL)",
            "INSERT INTO bench_baseline (at, note) VALUES (?, ?)",
        ),
    };
    db.execute_unprepared(create)
        .await
        .map_err(|e| e.to_string())?;
    // What one statement costs through the pool, for reading the figures below.
    let mut trips = Vec::with_capacity(ROUND_TRIPS);
    let started = Instant::now();
    for _ in 0..ROUND_TRIPS {
        let t = Instant::now();
        db.query_one_raw(Statement::from_string(backend, "SELECT 1"))
            .await
            .map_err(|e| e.to_string())?;
        trips.push(t.elapsed().as_nanos() as u64);
    }
    println!(
        "round trip: one SELECT 1 through the pool p50_us={:.0} p99_us={:.0} per_s={:.0}",
        percentile(&trips, 50) as f64 / 1e3,
        percentile(&trips, 99) as f64 / 1e3,
        ROUND_TRIPS as f64 / started.elapsed().as_secs_f64().max(1e-9)
    );
    let mut out = Vec::new();
    for &(tasks, _) in phases {
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let db = db.clone();
                let rows = n / tasks + usize::from(t < n % tasks);
                tokio::spawn(async move {
                    for i in 0..rows {
                        let txn = ledger::begin(&db).await.map_err(|e| e.to_string())?;
                        txn.execute_raw(Statement::from_sql_and_values(
                            backend,
                            insert,
                            [Utc::now().into(), format!("row {t}-{i}").into()],
                        ))
                        .await
                        .map_err(|e| e.to_string())?;
                        txn.commit().await.map_err(|e| e.to_string())?;
                    }
                    Ok::<_, String>(rows)
                })
            })
            .collect();
        let mut done = 0;
        for handle in handles {
            done += handle.await.map_err(|e| e.to_string())??;
        }
        out.push((
            tasks,
            done as f64 / started.elapsed().as_secs_f64().max(1e-9),
        ));
    }
    Ok(out)
}
