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

/// Leptos runs a page's resources and server functions as tasks of their own (its executor,
/// `any_spawner`), which would leave the request's span — and its id — behind. This executor
/// is tokio's with each task in the span of whoever spawned it, so a log line written while a
/// page renders names the request too. Set once per process, before the router exists (the
/// first setting wins; Leptos's own later attempt to set plain tokio is then ignored).
struct SpannedTokio;

impl any_spawner::CustomExecutor for SpannedTokio {
    fn spawn(&self, fut: any_spawner::PinnedFuture<()>) {
        tokio::spawn(fut.in_current_span());
    }

    fn spawn_local(&self, fut: any_spawner::PinnedLocalFuture<()>) {
        tokio::task::spawn_local(fut.in_current_span());
    }

    fn poll_local(&self) {}
}

/// One line in the shape of the JSON log lines (`HERALD_LOG_FORMAT=json`), for what must be
/// printed whatever `HERALD_LOG` filters (the demo sign-ins, shown once; a fatal error).
pub fn json_line(level: &str, target: &str, fields: serde_json::Value) -> String {
    serde_json::json!({
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "level": level,
        "fields": fields,
        "target": target,
    })
    .to_string()
}

/// Makes Leptos's tasks inherit the spawning request's span (see [`SpannedTokio`]).
pub fn spawn_in_request_span() {
    // Already set (another router in this process, e.g. a test's second server): keep it.
    let _ = any_spawner::Executor::init_custom_executor(SpannedTokio);
}

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
    let mut response = app::api::ctx::REQUEST_ID
        .scope(
            id.as_str().into(),
            next.run(request).instrument(span.clone()),
        )
        .await;
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
            method: method_label(&method).to_owned(),
            route,
            status: format!("{}xx", status.as_u16() / 100),
        },
        elapsed,
    );
    response.headers_mut().insert(REQUEST_ID, header);
    response
}

/// The method as a metrics label: the standard ones by name, any other (a client may send
/// any token as a method) as `other`, so a client cannot add label values without end.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
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

    /// A task Leptos spawns while a request renders (a resource, a server function) runs in
    /// that request's span, where a task spawned plainly would not.
    #[tokio::test]
    async fn leptos_tasks_run_in_the_request_span() {
        let _subscriber = tracing::subscriber::set_default(tracing_subscriber::registry());
        spawn_in_request_span();
        let span = tracing::info_span!("request", id = "r-1");
        let (leptos_tx, leptos_rx) = tokio::sync::oneshot::channel();
        let (plain_tx, plain_rx) = tokio::sync::oneshot::channel();
        span.in_scope(|| {
            any_spawner::Executor::spawn(async move {
                let _ = leptos_tx.send(tracing::Span::current().id());
            });
            tokio::spawn(async move {
                let _ = plain_tx.send(tracing::Span::current().id());
            });
        });
        let request = span.id();
        assert!(request.is_some());
        assert_eq!(leptos_rx.await.ok().flatten(), request);
        assert_eq!(plain_rx.await.ok().flatten(), None);
    }

    #[test]
    fn an_unknown_method_is_one_label() {
        use axum::http::Method;
        assert_eq!(method_label(&Method::POST), "POST");
        for made_up in ["FOO0001", "FOO0002", "get"] {
            let method = Method::from_bytes(made_up.as_bytes()).expect("a method token");
            assert_eq!(method_label(&method), "other", "{made_up}");
        }
    }
}
