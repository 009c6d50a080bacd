//! The HTTP listener: the router served over HTTP/1.1 by hyper, as `axum::serve` does, with
//! the one limit `axum::serve` cannot set. It gives hyper no timer, so a client could open a
//! connection and send its request's headers a byte at a time, or never finish them, and hold
//! the connection (a socket, a task) for as long as it likes; enough of them exhaust the
//! process's file descriptors for everyone ("slowloris"). Here a request's headers must arrive
//! within a deadline ([`HEADER_TIMEOUT`]), or the connection is closed. Bodies are bounded in
//! size by the router (`router::MAX_BODY_BYTES`).

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, Request},
};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::{future::Future, time::Duration};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long a client has to send a request's headers, from the moment the connection is
/// ready for them. A browser sends them at once; nginx's default is 60 s, Apache's 20 s.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `stop` resolves: then stops accepting (the listener
/// closes, so new connections are refused), lets every connection finish the request it is
/// serving, closes idle ones, and returns once all are closed. Each request carries
/// `ConnectInfo<SocketAddr>` with the peer's address, as `axum::serve` gives it.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    stop: impl Future<Output = ()>,
) {
    let connections = tokio_util::task::TaskTracker::new();
    let (closing, closing_seen) = tokio::sync::watch::channel(false);
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // The peer gave up before we took it: nothing to do.
                Err(e) if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::ConnectionReset
                ) => continue,
                // Out of file descriptors, say: retrying at once would spin.
                Err(e) => {
                    tracing::error!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Streamed pages stall ~40 ms per response without it (Nagle + delayed ACK).
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut closing_seen = closing_seen.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(request)
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let connection = http.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            // The only change is to `true`, once: any change means stop.
            let served = tokio::select! {
                served = connection.as_mut() => served,
                _ = closing_seen.changed() => {
                    // Finish the request in progress (if any), then close.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    connections.close();
    connections.wait().await;
}
