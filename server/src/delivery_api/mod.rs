//! The delivery API for machine clients (`/api/delivery/v1`): bearer keys (no cookies, so no
//! CSRF check; a rate limit per key instead), JSON in and out, and a JSON error naming the
//! problem for every bad request. Handlers parse, authenticate, and call `service::delivery`.

mod limit;
pub mod openapi;
pub mod wire;

use crate::metrics::Metrics;
use app::{
    api::ctx::AppState,
    error::AppError,
    service::delivery::{self, EventInput, EventResult, keys},
};
use axum::{
    Extension, Json, Router,
    extract::{
        FromRequestParts, Query, State,
        rejection::{JsonRejection, QueryRejection},
    },
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post},
};
pub use limit::KeyLimiter;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use wire::*;

/// The API's routes, outside the browser's session and CSRF layers.
pub fn router(limiter: KeyLimiter, metrics: Metrics) -> Router<AppState> {
    Router::new()
        .route("/api/delivery/v1/decisions", post(decisions))
        .route("/api/delivery/v1/events", post(events))
        .route("/api/delivery/v1/channels", get(channels))
        .route("/api/delivery/v1/openapi.json", get(openapi::document))
        .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024))
        .layer(axum::middleware::from_fn(headers))
        .layer(axum::Extension(limiter))
        .layer(axum::Extension(metrics))
}

/// JSON responses are never cached or sniffed.
async fn headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// An error as the API answers it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// A service error in API terms; `not_found` names what an unknown id was.
    fn from_app(e: AppError, not_found: &'static str) -> Self {
        match e {
            AppError::NotFound => Self::new(
                StatusCode::NOT_FOUND,
                not_found,
                match not_found {
                    "unknown_channel" => "No channel with this handle in the catalog.",
                    _ => "Not found.",
                },
            ),
            AppError::Invalid(errors) => {
                let (field, message) = errors
                    .0
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| ("request".into(), "Invalid input.".into()));
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message).field(field)
            }
            AppError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            AppError::TooManyAttempts(m) => {
                let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", m);
                e.retry_after = Some(1);
                e
            }
            _ => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Something went wrong on our side; nothing was saved. Please retry.",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// The JSON body, or an error naming what is wrong with it.
fn body<T>(parsed: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    parsed.map(|Json(v)| v).map_err(|rejection| {
        let status = match rejection {
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            JsonRejection::BytesRejection(_) => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, "malformed_json", rejection.body_text())
    })
}

/// The calling network, from `Authorization: Bearer <secret>`, within its rate limit.
pub struct Network(pub keys::NetworkKey);

impl FromRequestParts<AppState> for Network {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_key",
                "Send the API key as `Authorization: Bearer <key>`.",
            ));
        };
        // The scheme name is case-insensitive (RFC 9110).
        let secret = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, secret)| secret.trim())
            .unwrap_or_default();
        let now = chrono::Utc::now();
        let key = keys::authenticate(&state.db, secret, now)
            .await
            .map_err(|e| ApiError::from_app(e, "invalid_key"))?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_key",
                    "This API key is not valid (wrong or revoked).",
                )
            })?;
        let limiter = parts
            .extensions
            .get::<KeyLimiter>()
            .cloned()
            .unwrap_or_default();
        if let Err(wait) = limiter.check(key.id, std::time::Instant::now()) {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests for this key; retry after the time in Retry-After.",
            );
            e.retry_after = Some(wait.as_secs().max(1));
            return Err(e);
        }
        Ok(Network(key))
    }
}

/// `POST /decisions`: the ad for a channel's new post, or 204.
async fn decisions(
    State(state): State<AppState>,
    Extension(metrics): Extension<Metrics>,
    Network(key): Network,
    parsed: Result<Json<DecisionRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(parsed)?;
    let decided = delivery::decide(
        &state.db,
        &state.delivery,
        key.id,
        &request.channel,
        &request.slot_id,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| ApiError::from_app(e, "unknown_channel"))?;
    metrics.decision(matches!(decided, delivery::Decided::Ad(_)));
    Ok(match decided {
        delivery::Decided::NoAd => StatusCode::NO_CONTENT.into_response(),
        delivery::Decided::Ad(a) => Json(DecisionResponse::from(a)).into_response(),
    })
}

/// `POST /events`: view and click increments, one result per event.
async fn events(
    State(state): State<AppState>,
    Extension(metrics): Extension<Metrics>,
    Network(key): Network,
    parsed: Result<Json<EventsRequest>, JsonRejection>,
) -> Result<Json<EventsResponse>, ApiError> {
    let request = body(parsed)?;
    if request.events.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "Send at least one event.",
        )
        .field("events"));
    }
    if request.events.len() > delivery::ingest::MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "At most {} events per request.",
                delivery::ingest::MAX_BATCH
            ),
        )
        .field("events"));
    }
    let inputs: Vec<EventInput> = request
        .events
        .iter()
        .map(|e| EventInput {
            event_id: e.event_id.clone(),
            decision_id: e.decision_id,
            views: e.views,
            clicks: e.clicks,
            at: e.at,
        })
        .collect();
    let results = delivery::ingest(
        &state.db,
        &state.delivery,
        key.id,
        &inputs,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| ApiError::from_app(e, "unknown_decision"))?;
    for result in &results {
        metrics.event(match result {
            EventResult::Accepted { .. } => "accepted",
            EventResult::Replayed { .. } => "replayed",
            EventResult::Rejected { .. } => "rejected",
        });
    }
    Ok(Json(EventsResponse {
        results: request
            .events
            .iter()
            .zip(results)
            .map(|(e, r)| EventOutcome::new(&e.event_id, r))
            .collect(),
    }))
}

impl EventOutcome {
    fn new(event_id: &str, result: EventResult) -> Self {
        match result {
            EventResult::Accepted { posted } => Self {
                event_id: event_id.to_owned(),
                status: 200,
                outcome: "accepted".into(),
                posted: posted.0,
                error: None,
            },
            EventResult::Replayed { posted } => Self {
                event_id: event_id.to_owned(),
                status: 200,
                outcome: "replayed".into(),
                posted: posted.0,
                error: None,
            },
            EventResult::Rejected {
                status,
                code,
                field,
                message,
            } => Self {
                event_id: event_id.to_owned(),
                status,
                outcome: "rejected".into(),
                posted: 0,
                error: Some(ErrorDetail {
                    code: code.to_owned(),
                    message,
                    field: (!field.is_empty()).then(|| field.to_owned()),
                }),
            },
        }
    }
}

/// `GET /channels`: the eligible catalog, by id, a page at a time.
async fn channels(
    State(state): State<AppState>,
    Network(_key): Network,
    page: Result<Query<ChannelsQuery>, QueryRejection>,
) -> Result<Json<ChannelsResponse>, ApiError> {
    use app::entity::channel;
    // A query that does not parse ("limit=abc") is named in JSON like every other error here.
    let Query(page) = page.map_err(|rejection| {
        // axum names the parameter first ("limit: invalid digit found in string").
        let text = rejection.body_text();
        let error = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "after and limit are whole numbers (limit from 1 to 1000).",
        );
        match ["after", "limit"]
            .into_iter()
            .find(|f| text.contains(&format!("{f}:")))
        {
            Some(field) => error.field(field),
            None => error,
        }
    })?;
    let limit = page.limit.unwrap_or(1_000);
    if !(1..=1_000).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "limit is from 1 to 1000.",
        )
        .field("limit"));
    }
    let settings = app::service::settings::load(&state.db)
        .await
        .map_err(|e| ApiError::from_app(e, "not_found"))?;
    let rows: Vec<(i64, String, i64, f64)> = channel::Entity::find()
        .select_only()
        .columns([
            channel::Column::Id,
            channel::Column::Handle,
            channel::Column::AvgViews,
            channel::Column::PostsPerDay,
        ])
        .filter(channel::Column::Id.gt(page.after.unwrap_or(0)))
        .filter(channel::Column::Status.eq(app::service::catalog::ACTIVE))
        .filter(channel::Column::Subscribers.gte(settings.min_subscribers))
        .order_by_asc(channel::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(&state.db)
        .await
        .map_err(|e| ApiError::from_app(e.into(), "not_found"))?;
    let next = (rows.len() as u64 == limit)
        .then(|| rows.last().map(|r| r.0))
        .flatten();
    Ok(Json(ChannelsResponse {
        channels: rows
            .into_iter()
            .map(|(id, handle, avg_views, posts_per_day)| ChannelInfo {
                id,
                handle,
                avg_views,
                posts_per_day,
            })
            .collect(),
        next,
    }))
}
