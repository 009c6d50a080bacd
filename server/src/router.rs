//! Builds the application: state, the Leptos routes and server functions, static files, and
//! the session and security layers. Used by `serve` and by the tests.

use crate::{
    client_ip::{self, TrustedProxies},
    security::{self, SecurityConfig},
    session_store::DbSessionStore,
};
use app::{
    api::ctx::{AppState, ViewerMemo},
    app::{App, shell},
    bundle::BundleFiles,
    error::AppError,
    service::{
        catalog_import::ImportJobs,
        forecast::ForecastEngine,
        passwords::PasswordHasher,
        reads::{ReadPin, Reads},
    },
};
use axum::{
    Router,
    body::Body,
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use leptos::{
    prelude::*,
    server_fn::error::{FromServerFnError, SERVER_FN_ERROR_HEADER},
};
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use sea_orm::DatabaseConnection;
use std::{net::SocketAddr, path::Path, sync::OnceLock};
use tower_http::{compression::CompressionLayer, services::ServeDir};
use tower_sessions::{
    Expiry, SessionManagerLayer,
    cookie::{SameSite, time::Duration},
};

/// Minutes of inactivity after which a session ends.
pub const IDLE_TIMEOUT_MINUTES: i64 = 30;

/// Everything the router needs besides the database.
#[derive(Clone, Debug)]
pub struct RouterConfig {
    /// `Secure` + `__Host-` session cookie, and HSTS.
    pub secure_cookies: bool,
    /// Absolute path of the built site (wasm, JS, CSS, public assets).
    pub site_root: String,
    pub site_addr: SocketAddr,
    /// How many argon2 computations may run at once.
    pub hash_concurrency: usize,
    /// Proxies whose `X-Forwarded-For` decides the client address (none by default).
    pub trusted_proxies: TrustedProxies,
    /// Development mail mode: mail's link secrets in the log and the mail outbox page.
    pub dev_mail: bool,
    /// Connections of the read pool (`HERALD_READ_CONNECTIONS`; 0: none).
    pub read_connections: u32,
    /// The delivery API's rate limit per key.
    pub delivery_limiter: crate::delivery_api::KeyLimiter,
    /// This instance's metrics (served only when a metrics address is set).
    pub metrics: crate::metrics::Metrics,
}

impl RouterConfig {
    pub fn new(site_root: &Path, site_addr: SocketAddr, secure_cookies: bool) -> Self {
        Self {
            secure_cookies,
            site_root: site_root.display().to_string(),
            site_addr,
            hash_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            trusted_proxies: TrustedProxies::default(),
            dev_mail: false,
            // Test servers run several at a time against one PostgreSQL server; `serve` sets
            // HERALD_READ_CONNECTIONS (8 unless configured).
            read_connections: 2,
            delivery_limiter: crate::delivery_api::KeyLimiter::default(),
            metrics: crate::metrics::Metrics::default(),
        }
    }
}

/// The name of the session cookie (`__Host-` prefix when it is `Secure`).
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-herald" } else { "herald" }
}

/// The whole application as an axum router over `db` (loads the forecast index first).
pub async fn build(db: DatabaseConnection, config: &RouterConfig) -> Result<Router, AppError> {
    Ok(routes(state(db, config).await?, config))
}

/// The shared state: database, password hasher, Leptos options, and the forecast index of
/// the catalog as it is now.
pub async fn state(db: DatabaseConnection, config: &RouterConfig) -> Result<AppState, AppError> {
    // An import a dead process left "applying" is failed, and its staged rows go, before this
    // instance serves anyone.
    app::service::catalog_import::recover_abandoned(&db, chrono::Utc::now()).await?;
    let forecast = ForecastEngine::load(&db).await?;
    let delivery = app::service::delivery::DeliveryEngine::default();
    // Loaded before the first request, so readiness means decisions need no cold build.
    delivery.refresh(&db).await?;
    // The forecast competes with the campaigns this instance delivers.
    forecast.compete_with(delivery.clone());
    // A hashed bundle names its files in the site's hash file; Leptos looks for it beside the
    // executable unless the path is absolute (tests run from elsewhere than the server).
    let hash_file = BundleFiles::find(Path::new(&config.site_root))
        .ok()
        .and_then(|files| files.hash_file);
    let leptos_options = LeptosOptions::builder()
        .output_name(app::bundle::OUTPUT_NAME)
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .hash_files(hash_file.is_some())
        .hash_file(
            hash_file
                .map_or_else(|| "hash.txt".to_string(), |p| p.display().to_string())
                .into(),
        )
        .build();
    let reads = match config.read_connections {
        0 => Reads::new(db.clone()),
        n => Reads::with_read_pool(db.clone(), migrations::db::connect_reads(&db, n)),
    };
    Ok(AppState {
        reads,
        db: db.clone(),
        hasher: PasswordHasher::new(config.hash_concurrency),
        leptos_options,
        forecast,
        delivery,
        imports: ImportJobs::default(),
        deferred: Default::default(),
        exports: Default::default(),
        dev_mail: config.dev_mail,
    })
}

/// The app's route list, generated once per process. Generating it runs the app with resource
/// loading suppressed through a process-wide flag, so a page rendering in another router of
/// the same process at that moment (several test servers) would wait forever for its data.
/// Public so the authorization matrix test can enumerate every page route.
pub fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    // Before Leptos sets its executor (it does here, the first time): ours keeps log spans.
    crate::observe::spawn_in_request_span();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The routes, pages, server functions and layers around `state`.
pub fn routes(state: AppState, config: &RouterConfig) -> Router {
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(cookie_name(config.secure_cookies))
        .with_secure(config.secure_cookies)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(Duration::minutes(
            IDLE_TIMEOUT_MINUTES,
        )));
    let routes = route_list();
    let context_state = state.clone();
    let shell_options = state.leptos_options.clone();
    Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(shell_options.clone()),
        )
        // A report's CSV streams, which a server function cannot: a plain route, behind the
        // same session layer (a GET, so the CSRF check has nothing to guard).
        .route(
            "/reports/export.csv",
            axum::routing::get(app::api::reports::export_csv),
        )
        // The builder's Save buttons before the wasm has loaded: a plain form post (the
        // security layer's same-origin check guards it like every other POST).
        .route(
            "/campaigns/save",
            axum::routing::post(app::api::campaigns::save_form),
        )
        .route(
            "/finance/spend.csv",
            axum::routing::get(app::api::finance_console::spend_csv),
        )
        .route(
            "/finance/payables.csv",
            axum::routing::get(app::api::finance_console::payables_csv),
        )
        .route(
            "/billing/statement.csv",
            axum::routing::get(crate::statements::own),
        )
        .route(
            "/finance/accounts/{id}/statement.csv",
            axum::routing::get(crate::statements::finance),
        )
        .nest_service("/pkg", bundle(&config.site_root))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(sessions)
        // Probes carry no session: outside that layer, inside the headers and logging.
        .merge(crate::ops::router())
        .layer(middleware::from_fn(request_memos))
        .layer(middleware::from_fn(error_status))
        .layer(middleware::from_fn(multipart_only))
        .layer(middleware::from_fn(body_limit))
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn_with_state(
            SecurityConfig {
                hsts: config.secure_cookies,
            },
            security::layer,
        ))
        .layer(middleware::from_fn_with_state(
            config.trusted_proxies.clone(),
            client_ip::layer,
        ))
        // Machine clients: bearer keys, no cookies, so outside the session and CSRF layers.
        .merge(crate::delivery_api::router(
            config.delivery_limiter.clone(),
            config.metrics.clone(),
        ))
        // Outermost, so every response (probes and the machine API too) has its id, its log
        // line and its latency.
        .layer(middleware::from_fn_with_state(
            config.metrics.clone(),
            crate::observe::layer,
        ))
        .with_state(state)
}

/// The built bundle (`/pkg`: wasm chunks, JS, CSS). `.ci/build` compresses each file once
/// (brotli 11 and gzip): a browser that takes one of those gets that file as it is, so nothing
/// is compressed per request (the compression layer leaves encoded responses alone). Files
/// whose names carry their content hash are kept by browsers for a year without asking again;
/// an unhashed build's files are revalidated (304 on Last-Modified) before each reuse.
fn bundle(site_root: &str) -> Router {
    let immutable = BundleFiles::find(Path::new(site_root)).is_ok_and(|f| f.immutable());
    let cache_control = HeaderValue::from_static(if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    });
    Router::new()
        .fallback_service(
            ServeDir::new(Path::new(site_root).join("pkg"))
                .precompressed_br()
                .precompressed_gzip(),
        )
        .layer(middleware::map_response(move |mut response: Response| {
            let cache_control = cache_control.clone();
            async move {
                let status = response.status();
                let headers = response.headers_mut();
                if status.is_success() || status == StatusCode::NOT_MODIFIED {
                    headers.insert(header::CACHE_CONTROL, cache_control);
                }
                headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                response
            }
        }))
}

/// Every request gets an empty [`ViewerMemo`]: its page's shell and server functions then
/// load the signed-in viewer once between them; and an empty [`ReadPin`], which holds one
/// read connection for all their reads and gives it back once the response is ready (every
/// page renders whole before answering: `SsrMode::Async`).
async fn request_memos(mut request: Request<Body>, next: Next) -> Response {
    let pin = ReleaseOnDrop(ReadPin::default());
    request.extensions_mut().insert(ViewerMemo::default());
    request.extensions_mut().insert(pin.0.clone());
    let response = next.run(request).await;
    pin.0.release().await;
    response
}

/// Gives a request's read connection back also when the request is dropped unanswered (the
/// client went away, or shutdown's grace ran out).
struct ReleaseOnDrop(ReadPin);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.0.release_soon();
    }
}

/// The largest request body a page, a server function or a plain form post takes: far above
/// any form of ours (the longest text field is a few thousand characters, every list has a
/// maximum of at most a few hundred ids), far below what would cost memory.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Refuses a request body over [`MAX_BODY_BYTES`] with 413 before anything reads it: Leptos
/// collects a server function's whole body into memory with no limit of its own, so without
/// this one request could make the server hold gigabytes. A declared `Content-Length` over the
/// limit is refused at once; a body sent without one (chunked) is read up to the limit and
/// refused as soon as it passes it. The catalog upload streams its multipart body with a
/// limit of its own (`IMPORT_MAX_BYTES`), and the delivery API, outside these layers, has its
/// own too.
async fn body_limit(request: Request<Body>, next: Next) -> Response {
    use axum::body::HttpBody;
    if request.uri().path() == UPLOAD_PATH || request.body().size_hint().exact() == Some(0) {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The request is too large: at most {} KiB.",
                MAX_BODY_BYTES / 1024
            ),
        )
            .into_response()
    };
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let (parts, mut body) = request.into_parts();
    let mut data = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let Ok(frame) = frame else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        if let Ok(chunk) = frame.into_data() {
            if data.len() + chunk.len() > MAX_BODY_BYTES {
                return too_large();
            }
            data.extend_from_slice(&chunk);
        }
    }
    next.run(Request::from_parts(parts, Body::from(data))).await
}

/// The catalog upload's server function, whose multipart body streams.
const UPLOAD_PATH: &str = "/api/admin_catalog_import_upload";

/// server_fn panics (dropping the connection) when a multipart endpoint receives another
/// content type; answer such requests with an honest 415 before they reach it.
async fn multipart_only(request: Request<Body>, next: Next) -> Response {
    let upload = request.uri().path() == UPLOAD_PATH;
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if upload && !multipart {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    next.run(request).await
}

/// Leptos answers every failed server function with `500` and the encoded `AppError`; this
/// layer corrects the status from the error itself (422 for field errors, 404, 403, 429, …), so
/// logs, proxies and clients see what really happened.
async fn error_status(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Encoded errors are a few hundred bytes; anything larger is not ours to inspect.
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    parts.status = match AppError::de(bytes.clone()) {
        AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
        AppError::Forbidden => StatusCode::FORBIDDEN,
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
        AppError::Transport(_) => StatusCode::BAD_REQUEST,
        AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    Response::from_parts(parts, Body::from(bytes))
}
