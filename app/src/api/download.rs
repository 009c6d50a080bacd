//! File downloads (CSV) as plain axum routes: the headers every download carries, a body
//! streamed from a writer task, and a refusal as the page would show it.

use crate::{error::AppError, service::reports::export::CsvChunks};
use axum::{
    body::Body,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

/// A CSV download, or the error as the page would show it (401, 403, 404, 422) in plain text.
pub fn csv_response<B: Into<Body>>(result: Result<(String, B), AppError>) -> Response {
    match result {
        Ok((name, body)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            body.into(),
        )
            .into_response(),
        Err(e) => {
            let status = match &e {
                AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
                AppError::Forbidden => StatusCode::FORBIDDEN,
                AppError::NotFound => StatusCode::NOT_FOUND,
                AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            // A field error names what to change; anything else says what happened.
            let text = match &e {
                AppError::Invalid(fields) => {
                    fields.0.values().cloned().collect::<Vec<_>>().join(" ")
                }
                other => other.to_string(),
            };
            (status, text).into_response()
        }
    }
}

/// The body of a CSV written by a writer task ([`crate::service::reports::export::spawn_csv`]),
/// sent as its chunks arrive.
pub fn streamed(chunks: CsvChunks) -> Body {
    use futures_util::StreamExt;
    // Fused: the compression layer may poll the body once more after its end.
    let stream = futures_util::stream::unfold(chunks, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (chunk.map_err(|e| std::io::Error::other(e.to_string())), rx))
    })
    .fuse();
    Body::from_stream(stream)
}
