//! The thin HTTP side: bearer requests to one loopback server, bounded retries, the journal.

use super::{
    journal::{Journal, JournalEntry, RequestKind},
    totals::StopReason,
    traffic::{Channel, ChannelPage},
};
use reqwest::{Method, StatusCode, header::RETRY_AFTER};
use serde_json::Value;
use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

/// Network failures retried before a request counts as failed.
const RETRIES: u32 = 4;
/// First back-off after a network failure or a 5xx; doubled each time.
const BACKOFF: Duration = Duration::from_millis(200);
/// Longest wait a `Retry-After` may impose.
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Requests in a row that failed after their retries before the server counts as gone.
const FAILURES_IN_A_ROW: u32 = 3;
/// Longest a single attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// A final answer: status and body (JSON, or a JSON string when it was not JSON; `None` empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Option<Value>,
}

/// Why a request has no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum SendError {
    /// A bound was reached (or the server is gone): the run stops here.
    Stop(StopReason),
    /// The network failed after the retries; the run may go on.
    Failed(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Stop(reason) => write!(f, "{reason}"),
            Self::Failed(e) => f.write_str(e),
        }
    }
}

/// Refuses a base URL that is not plain http to a loopback host (127.0.0.0/8, ::1, localhost).
pub fn check_loopback(base_url: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(base_url).map_err(|e| format!("base URL {base_url}: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "base URL {base_url}: only http:// to this machine is simulated"
        ));
    }
    let host = url.host_str().unwrap_or("");
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(url)
    } else {
        Err(format!(
            "base URL {base_url}: the simulator only drives a server on this machine \
             (127.0.0.0/8, ::1 or localhost), not {host:?}"
        ))
    }
}

/// Seconds of a `Retry-After` header (the delta-seconds form), capped; one second otherwise.
pub fn retry_after(header: Option<&str>) -> Duration {
    header
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
        .min(LONGEST_RETRY_AFTER)
}

/// A client of one Herald's delivery API, within a request and a time bound.
pub struct DeliveryClient {
    http: reqwest::Client,
    base: String,
    key: String,
    max_requests: u64,
    deadline: Instant,
    journal: Option<Journal>,
    /// Requests sent so far (every attempt).
    pub requests: u64,
    /// The last network failure, for the report.
    pub last_failure: Option<String>,
    failures_in_a_row: u32,
}

impl DeliveryClient {
    /// A client of `base` (already checked to be loopback) with the bearer `key`, sending at
    /// most `max_requests` requests until `deadline`, journalling POSTs when asked.
    pub fn new(
        base: &reqwest::Url,
        key: &str,
        max_requests: u64,
        deadline: Instant,
        journal: Option<Journal>,
    ) -> Result<Self, String> {
        // No proxy and no redirects: every request goes to the loopback address checked.
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            base: base.as_str().trim_end_matches('/').to_owned(),
            key: key.to_owned(),
            max_requests,
            deadline,
            journal,
            requests: 0,
            last_failure: None,
            failures_in_a_row: 0,
        })
    }

    /// The whole eligible catalog, page by page.
    pub async fn channels(&mut self) -> Result<Vec<Channel>, String> {
        let mut catalog = Vec::new();
        let mut after = 0;
        loop {
            let path = format!("/api/delivery/v1/channels?after={after}&limit=1000");
            let answer = self
                .send(Method::GET, &path, None)
                .await
                .map_err(|e| format!("cannot list the channels: {e}"))?;
            if answer.status != 200 {
                return Err(format!(
                    "listing the channels answered {}: {}",
                    answer.status,
                    answer.body.unwrap_or(Value::Null)
                ));
            }
            let page: ChannelPage = serde_json::from_value(answer.body.unwrap_or(Value::Null))
                .map_err(|e| format!("unexpected channel listing: {e}"))?;
            catalog.extend(page.channels);
            match page.next {
                Some(next) if next > after => after = next,
                _ => return Ok(catalog),
            }
        }
    }

    /// POSTs `body` to `kind`'s endpoint (retrying as the module says) and journals the result.
    pub async fn post(&mut self, kind: RequestKind, body: &Value) -> Result<Answer, SendError> {
        let before = self.requests;
        let result = self.send(Method::POST, kind.path(), Some(body)).await;
        let (status, response) = match &result {
            Ok(answer) => (Some(answer.status), answer.body.clone()),
            // Never sent: nothing to journal.
            Err(SendError::Stop(_)) if self.requests == before => return result,
            // Sent, but no answer came: the server may or may not have acted on it.
            Err(_) => (None, None),
        };
        if let Some(journal) = &mut self.journal {
            let entry = JournalEntry {
                kind,
                body: body.clone(),
                status,
                response,
            };
            journal.append(&entry).map_err(SendError::Failed)?;
        }
        result
    }

    /// One request with its retries: 429 waits `Retry-After`, a network failure or a 5xx
    /// backs off and tries again a few times. Failing requests in a row mean the server is gone.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, SendError> {
        let mut failures = 0;
        loop {
            if self.requests >= self.max_requests {
                return Err(SendError::Stop(StopReason::MaxRequests));
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(SendError::Stop(StopReason::MaxSeconds));
            }
            self.requests += 1;
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .bearer_auth(&self.key)
                .timeout(left.min(ATTEMPT_TIMEOUT));
            if let Some(body) = body {
                request = request.json(body);
            }
            let wait = match attempt(request).await {
                Ok((answer, _)) if answer.status < 500 && answer.status != 429 => {
                    self.failures_in_a_row = 0;
                    return Ok(answer);
                }
                Ok((answer, hint)) if answer.status == 429 => retry_after(hint.as_deref()),
                Ok((answer, _)) if failures >= RETRIES => {
                    self.failures_in_a_row = 0;
                    return Ok(answer);
                }
                Err(e) if failures >= RETRIES => {
                    self.last_failure = Some(e.clone());
                    self.failures_in_a_row += 1;
                    if self.failures_in_a_row >= FAILURES_IN_A_ROW {
                        return Err(SendError::Stop(StopReason::Unreachable));
                    }
                    return Err(SendError::Failed(e));
                }
                _ => {
                    failures += 1;
                    BACKOFF * 2u32.pow(failures - 1)
                }
            };
            if Instant::now() + wait >= self.deadline {
                return Err(SendError::Stop(StopReason::MaxSeconds));
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// Sends one attempt; the answer with its `Retry-After` header, or the network error.
async fn attempt(request: reqwest::RequestBuilder) -> Result<(Answer, Option<String>), String> {
    let response = request.send().await.map_err(|e| causes(&e))?;
    let status = response.status();
    let hint = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.map_err(|e| causes(&e))?;
    let body = if text.is_empty() || status == StatusCode::NO_CONTENT {
        None
    } else {
        Some(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    };
    Ok((
        Answer {
            status: status.as_u16(),
            body,
        },
        hint,
    ))
}

/// An error with its causes (reqwest's own message names only the URL).
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_are_driven() {
        for ok in [
            "http://127.0.0.1:3000",
            "http://127.8.9.10/",
            "http://localhost:3000",
            "http://LOCALHOST",
            "http://[::1]:3000",
        ] {
            assert!(check_loopback(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://10.0.0.1:3000",
            "http://0.0.0.0:3000",
            "http://example.com",
            "http://localhost.example.com",
            "http://[::2]",
            "https://127.0.0.1",
            "ftp://127.0.0.1",
            "not a url",
        ] {
            assert!(check_loopback(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        assert_eq!(retry_after(Some("3")), Duration::from_secs(3));
        assert_eq!(retry_after(Some("100000")), LONGEST_RETRY_AFTER);
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            Duration::from_secs(1)
        );
        assert_eq!(retry_after(None), Duration::from_secs(1));
    }
}
