//! Decisions over HTTP: the real router (every layer, the bearer key checked per request) on a
//! loopback port, sharing the benchmark's delivery engine, and a few keep-alive clients.

use super::measure::{Decision, Timings};
use app::service::delivery::DeliveryEngine;
use sea_orm::DatabaseConnection;
use std::{net::SocketAddr, time::Instant};

/// The router, serving on a loopback port until dropped.
pub struct Served {
    addr: SocketAddr,
    /// Seconds to build the router's state (the forecast index of the catalog included).
    pub build_s: f64,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves the real router over `db` on 127.0.0.1 (rate limit lifted, `TCP_NODELAY` as in
/// `serve`), with `engine` as its delivery engine so its index is not loaded twice.
pub async fn serve(db: DatabaseConnection, engine: &DeliveryEngine) -> Result<Served, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut config = crate::router::RouterConfig::new(&std::env::temp_dir(), addr, false);
    config.delivery_limiter = crate::delivery_api::KeyLimiter::new(1_000_000, 1_000_000);
    let started = Instant::now();
    let mut state = crate::router::state(db, &config)
        .await
        .map_err(|e| e.to_string())?;
    state.delivery = engine.clone();
    let app = crate::router::routes(state, &config);
    let build_s = started.elapsed().as_secs_f64();
    // The listener production runs (it sets TCP_NODELAY on each connection).
    let server = tokio::spawn(crate::listen::serve(
        listener,
        app,
        crate::listen::HEADER_TIMEOUT,
        std::future::pending(),
    ));
    Ok(Served {
        addr,
        build_s,
        server,
    })
}

/// Warm-up requests per connection, not timed.
const WARM_UP: usize = 10;

/// Posts `slots` to `/decisions` over `connections` keep-alive connections (one sequential
/// client each); the first few of each connection warm it up and are not timed.
pub async fn decisions(
    served: &Served,
    secret: &str,
    slots: Vec<(String, String)>,
    connections: usize,
) -> Result<(Timings, Vec<Decision>), String> {
    let url = format!("http://{}/api/delivery/v1/decisions", served.addr);
    let mut shares: Vec<Vec<(String, String)>> = vec![Vec::new(); connections];
    for (i, slot) in slots.into_iter().enumerate() {
        shares[i % connections].push(slot);
    }
    let ready = std::sync::Arc::new(tokio::sync::Barrier::new(connections));
    let mut clients = Vec::new();
    for share in shares {
        let client = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let (url, bearer) = (url.clone(), format!("Bearer {secret}"));
        let ready = std::sync::Arc::clone(&ready);
        clients.push(async move {
            let mut timings = Timings::default();
            let mut made = Vec::new();
            let mut share = share.into_iter();
            for (channel, slot_id) in share.by_ref().take(WARM_UP) {
                let body = serde_json::json!({ "channel": channel, "slot_id": slot_id });
                let _ = post(&client, &url, &bearer, &body).await;
            }
            ready.wait().await;
            let started = Instant::now();
            for (channel, slot_id) in share {
                let body = serde_json::json!({ "channel": channel, "slot_id": slot_id });
                let t = Instant::now();
                let outcome = post(&client, &url, &bearer, &body).await;
                timings.record(
                    t,
                    outcome.map(|id| {
                        if let Some(id) = id {
                            made.push(Decision { id });
                        }
                        id.is_some()
                    }),
                );
            }
            timings.wall = started.elapsed();
            (timings, made)
        });
    }
    let handles: Vec<_> = clients.into_iter().map(tokio::spawn).collect();
    let mut timings = Timings::default();
    let mut made = Vec::new();
    for handle in handles {
        let (t, m) = handle.await.map_err(|e| e.to_string())?;
        let wall = timings.wall.max(t.wall);
        timings.merge(t);
        timings.wall = wall;
        made.extend(m);
    }
    Ok((timings, made))
}

/// One decision request: `Some(decision id)` for an ad, `None` for 204.
async fn post(
    client: &reqwest::Client,
    url: &str,
    bearer: &str,
    body: &serde_json::Value,
) -> Result<Option<i64>, String> {
    let response = client
        .post(url)
        .header(reqwest::header::AUTHORIZATION, bearer)
        .json(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    match status.as_u16() {
        204 => Ok(None),
        200 => serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["decision_id"].as_i64())
            .map(Some)
            .ok_or_else(|| format!("200 without a decision id: {text}")),
        other => Err(format!("{other}: {text}")),
    }
}
