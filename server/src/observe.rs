//! Every request gets an id (`X-Request-Id`: the caller's when it is a sane token, else a new
//! one), a tracing span carrying it, so every log line written while serving it names it, an
//! access line, and a latency observation for the metrics.

use crate::metrics::{Metrics, RequestLabels};
use axum::{
    body::Body,
    extract::{MatchedPath, Request, State},
    http::HeaderValue,
    middleware::Next,
    response::Response,
};
use rand::Rng;
use tracing::Instrument;

/// The header that carries a request's id, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// A caller's id is kept when it is 1–64 letters, digits, `-`, `_` or `.` (what proxies and
/// load balancers send); anything else could forge or flood the logs, so it is replaced.
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn new_id() -> String {
    let bits: u128 = rand::rng().random();
    format!("{bits:032x}")
}

/// The route label: the matched pattern, never the raw path (whose ids would make a new time
/// series per object).
fn route_of(request: &Request<Body>) -> String {
    if let Some(matched) = request.extensions().get::<MatchedPath>() {
        return matched.as_str().to_owned();
    }
    let path = request.uri().path();
    if path.starts_with("/pkg/") || path.contains('.') {
        "static".to_owned()
    } else {
        "unmatched".to_owned()
    }
}

/// The layer itself.
pub async fn layer(
    State(metrics): State<Metrics>,
    mut request: Request<Body>,
    next: Next,
) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(new_id, str::to_owned);
    let header = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("-"));
    request.headers_mut().insert(REQUEST_ID, header.clone());
    let method = request.method().clone();
    let route = route_of(&request);
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route);
    let started = std::time::Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status();
    span.in_scope(|| {
        tracing::info!(
            target: "herald::access",
            status = status.as_u16(),
            micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            "answered"
        )
    });
    metrics.request(
        RequestLabels {
            method: method.as_str().to_owned(),
            route,
            status: format!("{}xx", status.as_u16() / 100),
        },
        elapsed,
    );
    response.headers_mut().insert(REQUEST_ID, header);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_ids_are_kept_only_when_sane() {
        assert!(acceptable("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert!(acceptable("req-1.a_b"));
        assert!(!acceptable(""));
        assert!(!acceptable(&"a".repeat(65)));
        assert!(!acceptable("a b"));
        assert!(!acceptable("x\u{7f}"));
        assert!(!acceptable("line\nbreak"));
        assert_eq!(new_id().len(), 32);
        assert_ne!(new_id(), new_id());
    }
}
