//! Rate limits kept in the database (shared by every instance): one GCRA limiter per key,
//! reserved atomically by a single conditional upsert, so concurrent requests cannot all pass
//! a check that each of them made before any of them was counted.

use crate::error::AppError;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

/// At most `burst` requests at once, refilling evenly so that `burst` more are allowed per
/// `period` (the generic cell rate algorithm: one "theoretical arrival time" per key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub burst: u32,
    pub period: Duration,
}

impl Limit {
    /// `burst` requests per `period`.
    pub const fn new(burst: u32, period: Duration) -> Self {
        Self { burst, period }
    }

    /// The time one request takes up.
    fn interval_ms(self) -> i64 {
        (self.period.num_milliseconds() / i64::from(self.burst.max(1))).max(1)
    }
}

/// What a reservation got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// Reserved; the request may proceed after waiting this long (zero within the burst).
    Granted { wait: Duration },
    /// Not reserved (nothing was counted); a request is possible again after this long.
    Refused { retry_after: Duration },
}

impl Reservation {
    pub fn is_granted(self) -> bool {
        matches!(self, Self::Granted { .. })
    }
}

/// How long until a refused request may be made again, for a message: "in 3 minutes" (whole
/// minutes, rounded up).
pub fn in_minutes(retry_after: Duration) -> String {
    let minutes = (retry_after.num_seconds() + 59) / 60;
    format!("in {minutes} minute{}", if minutes == 1 { "" } else { "s" })
}

/// Reserves one request under `key`. Past the burst, a request is still granted when its slot
/// comes within `max_wait` (the caller then waits for it); otherwise it is refused and not
/// counted. Atomic on SQLite and PostgreSQL: the upsert's condition is evaluated on the row
/// as it is when the statement takes it.
pub async fn reserve(
    db: &impl ConnectionTrait,
    key: &str,
    limit: Limit,
    max_wait: Duration,
    now: DateTime<Utc>,
) -> Result<Reservation, AppError> {
    let now_ms = now.timestamp_millis();
    let interval = limit.interval_ms();
    let allowance = limit.period.num_milliseconds() + max_wait.num_milliseconds();
    let backend = db.get_database_backend();
    let sql = placeholders(
        backend,
        "INSERT INTO rate_limit (key, tat) VALUES ($1, $2 + $3) \
         ON CONFLICT (key) DO UPDATE \
           SET tat = (CASE WHEN rate_limit.tat > $2 THEN rate_limit.tat ELSE $2 END) + $3 \
           WHERE (CASE WHEN rate_limit.tat > $2 THEN rate_limit.tat ELSE $2 END) + $3 - $2 <= $4 \
         RETURNING tat",
    );
    let values: Vec<Value> = vec![key.into(), now_ms.into(), interval.into(), allowance.into()];
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    if let Some(row) = row {
        let tat: i64 = row.try_get("", "tat")?;
        let wait = tat - now_ms - limit.period.num_milliseconds();
        return Ok(Reservation::Granted {
            wait: Duration::milliseconds(wait.max(0)),
        });
    }
    let tat = current(db, key).await?.unwrap_or(now_ms);
    let retry = tat + interval - now_ms - allowance;
    Ok(Reservation::Refused {
        retry_after: Duration::milliseconds(retry.max(1_000)),
    })
}

/// Gives one reserved request back (it turned out not to count, e.g. a correct password).
pub async fn refund(db: &impl ConnectionTrait, key: &str, limit: Limit) -> Result<(), AppError> {
    let backend = db.get_database_backend();
    let sql = placeholders(
        backend,
        "UPDATE rate_limit SET tat = tat - $1 WHERE key = $2",
    );
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [limit.interval_ms().into(), key.into()],
    ))
    .await?;
    Ok(())
}

/// Forgets everything counted under `key`.
pub async fn reset(db: &impl ConnectionTrait, key: &str) -> Result<(), AppError> {
    let backend = db.get_database_backend();
    let sql = placeholders(backend, "DELETE FROM rate_limit WHERE key = $1");
    db.execute_raw(Statement::from_sql_and_values(backend, sql, [key.into()]))
        .await?;
    Ok(())
}

/// Deletes limiters that have fully drained (an absent key and a drained one mean the same).
pub async fn prune(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, AppError> {
    let backend = db.get_database_backend();
    let sql = placeholders(backend, "DELETE FROM rate_limit WHERE tat < $1");
    let done = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [now.timestamp_millis().into()],
        ))
        .await?;
    Ok(done.rows_affected())
}

async fn current(db: &impl ConnectionTrait, key: &str) -> Result<Option<i64>, AppError> {
    let backend = db.get_database_backend();
    let sql = placeholders(backend, "SELECT tat FROM rate_limit WHERE key = $1");
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [key.into()]))
        .await?;
    Ok(row.map(|r| r.try_get::<i64>("", "tat")).transpose()?)
}

/// The throttling identity of a client address: an IPv4 address itself, an IPv6 address its
/// /64 (what one subscriber is usually given, and can rotate through at will). `None` (no
/// connection information) is one shared "unknown" client.
pub fn address_key(ip: Option<&str>) -> String {
    match ip.map(|ip| ip.parse::<std::net::IpAddr>()) {
        Some(Ok(std::net::IpAddr::V6(v6))) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(Ok(v4)) => v4.to_string(),
        Some(Err(_)) => ip.unwrap_or_default().chars().take(64).collect(),
        None => "unknown".to_owned(),
    }
}

/// `$n` placeholders as each backend spells them (SQLite: `?n`, same numbering).
fn placeholders(backend: DbBackend, sql: &str) -> String {
    match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_spreads_the_period_over_the_burst() {
        let limit = Limit::new(10, Duration::minutes(15));
        assert_eq!(limit.interval_ms(), 90_000);
        assert_eq!(Limit::new(0, Duration::seconds(1)).interval_ms(), 1_000);
    }

    #[test]
    fn ipv6_clients_are_throttled_by_their_64() {
        assert_eq!(
            address_key(Some("2001:db8:1:2:aaaa::1")),
            address_key(Some("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            address_key(Some("2001:db8:1:2::1")),
            address_key(Some("2001:db8:1:3::1"))
        );
        assert_eq!(address_key(Some("192.0.2.7")), "192.0.2.7");
        assert_eq!(address_key(None), "unknown");
    }

    #[test]
    fn sqlite_placeholders_keep_their_numbers() {
        assert_eq!(
            placeholders(DbBackend::Sqlite, "a = $1 AND b = $2 OR c = $1"),
            "a = ?1 AND b = ?2 OR c = ?1"
        );
        assert_eq!(placeholders(DbBackend::Postgres, "a = $1"), "a = $1");
    }
}
