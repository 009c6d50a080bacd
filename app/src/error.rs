//! `AppError`: the one error type every server function returns, on both targets.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Messages keyed by the name of the form field they belong to (`"email"`, `"password"`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    /// One message for one field.
    pub fn one(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add(field, message);
        errors
    }

    /// Adds a message unless the field already has one (the first problem is the one to fix).
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| message.into());
    }

    /// Adds a message after any the field already has, for problems that are all worth
    /// fixing at once (an ad text both too long and shouting). A repeat is left out.
    pub fn append(&mut self, field: &str, message: impl Into<String>) {
        let message = message.into();
        match self.0.get_mut(field) {
            Some(existing)
                if existing
                    .split_inclusive(". ")
                    .any(|m| m.trim_end() == message) => {}
            Some(existing) => {
                existing.push(' ');
                existing.push_str(&message);
            }
            None => {
                self.0.insert(field.to_owned(), message);
            }
        }
    }

    /// The message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when empty, else `AppError::Invalid`.
    pub fn into_result(self) -> Result<(), AppError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self))
        }
    }
}

#[cfg(feature = "ssr")]
impl From<validator::ValidationErrors> for FieldErrors {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut out = Self::default();
        for (field, list) in errors.field_errors() {
            if let Some(first) = list.first() {
                // A bare `length(max = …)` says what the limit is.
                let max = (first.code == "length")
                    .then(|| first.params.get("max"))
                    .flatten();
                let message = match (&first.message, max) {
                    (Some(message), _) => message.to_string(),
                    (None, Some(max)) => format!("At most {max} characters."),
                    (None, None) => format!("{field} is not valid"),
                };
                out.add(&field, message);
            }
        }
        out
    }
}

/// Everything that can go wrong in a request, as the browser may see it. Internal details (SQL,
/// I/O) never travel: they are logged on the server and become `Internal`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("You do not have permission to do that.")]
    Forbidden,
    #[error("Not found.")]
    NotFound,
    #[error("Please correct the highlighted fields.")]
    Invalid(FieldErrors),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyAttempts(String),
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    /// A single field error.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(FieldErrors::one(field, message))
    }

    /// Logs an unexpected server-side failure and hides it behind `Internal`.
    #[cfg(feature = "ssr")]
    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<validator::ValidationErrors> for AppError {
    fn from(errors: validator::ValidationErrors) -> Self {
        Self::Invalid(errors.into())
    }
}

/// What a client is told when the database gave up on a transaction because of concurrent
/// writers (a PostgreSQL deadlock or serialization failure, a SQLite lock wait that ran out):
/// nothing was written and the same request may simply be sent again.
pub const BUSY: &str = "The system is busy. Nothing was saved; please try again.";

/// Deadlocks the database reported to this process so far (each lost transaction was retried
/// or answered as busy): lock orders are meant to make them impossible, and tests check it.
#[cfg(feature = "ssr")]
static DEADLOCKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The count of deadlocks seen so far ([`DEADLOCKS`]).
#[cfg(feature = "ssr")]
pub fn deadlocks_seen() -> u64 {
    DEADLOCKS.load(std::sync::atomic::Ordering::SeqCst)
}

#[cfg(feature = "ssr")]
impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        let text = error.to_string();
        if text.contains("deadlock detected") {
            DEADLOCKS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        if [
            "deadlock detected",
            "could not serialize access",
            "database is locked",
        ]
        .iter()
        .any(|m| text.contains(m))
        {
            tracing::warn!(%error, "transaction lost to concurrent writers");
            return Self::TooManyAttempts(BUSY.to_owned());
        }
        Self::internal("database error", error)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::MissingArg(message) => {
                Self::Invalid(FieldErrors::one("form", message))
            }
            other => Self::Transport(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_message_per_field_wins() {
        let mut errors = FieldErrors::default();
        errors.add("email", "first");
        errors.add("email", "second");
        assert_eq!(errors.get("email"), Some("first"));
        assert!(matches!(errors.into_result(), Err(AppError::Invalid(_))));
    }

    #[test]
    fn appended_messages_are_all_kept_once() {
        let mut errors = FieldErrors::default();
        errors.append("text", "Too long.");
        errors.append("text", "Avoid ALL-CAPS words: SALE.");
        errors.append("text", "Too long.");
        assert_eq!(
            errors.get("text"),
            Some("Too long. Avoid ALL-CAPS words: SALE.")
        );
    }

    #[test]
    fn round_trips_through_the_wire_encoding() {
        let error = AppError::field("password", "Too short");
        let back = AppError::de(error.ser());
        assert_eq!(back, error);
    }
}
