//! File downloads (CSV) as plain axum routes: the headers every download carries, a body
//! streamed from a writer task, and a refusal as the page would show it.

use crate::{error::AppError, service::reports::export::CsvChunks};
use axum::{
    body::Body,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

/// A CSV download, or the error as the page would show it (401, 403, 404, 422; 429 when the
/// instance is already writing as many exports as it may, with `Retry-After`) in plain text:
/// the download links are plain links (no `download` attribute), so a refusal is read as a
/// page instead of being saved as the file.
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
            let mut response = (status, text).into_response();
            if status == StatusCode::TOO_MANY_REQUESTS {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static("60"),
                );
            }
            response
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_instance_says_when_to_try_again() {
        let busy = csv_response::<Body>(Err(AppError::TooManyAttempts(
            crate::service::reports::export::EXPORTS_BUSY.to_owned(),
        )));
        assert_eq!(busy.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(busy.headers()[header::RETRY_AFTER], "60");
        let missing = csv_response::<Body>(Err(AppError::NotFound));
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert!(missing.headers().get(header::RETRY_AFTER).is_none());
    }
}
