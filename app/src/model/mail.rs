//! Mail as the admin's outbox viewer shows it, and the emailed confirmation link as its page
//! sees it (with the form that sets a new password through it).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use validator::Validate;

/// Why a mail was sent. The code is what the outbox stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailKind {
    /// "Confirm your address", after a sign-up or on request.
    Confirmation,
    /// "Someone tried to sign up with your address", to the address's existing user.
    SignUpAttempt,
    /// An invitation to join an ad account.
    Invitation,
    /// "Choose a new password", asked for from the sign-in page.
    PasswordReset,
}

impl MailKind {
    pub const ALL: [Self; 4] = [
        Self::Confirmation,
        Self::SignUpAttempt,
        Self::Invitation,
        Self::PasswordReset,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Confirmation => "confirmation",
            Self::SignUpAttempt => "sign_up_attempt",
            Self::Invitation => "invitation",
            Self::PasswordReset => "password_reset",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Confirmation => "Address confirmation",
            Self::SignUpAttempt => "Sign-up with a known address",
            Self::Invitation => "Invitation",
            Self::PasswordReset => "Password reset",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// One outbox message for the admin's mail viewer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MailRow {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// The kind's label (or the stored code of a kind this version does not know).
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// Where an emailed confirmation link stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmailLinkState {
    Open,
    Used,
    Expired,
}

impl EmailLinkState {
    /// What to tell someone who opens a link that no longer works.
    pub fn explain(self) -> &'static str {
        match self {
            Self::Open => "This link is valid.",
            Self::Used => "This link has already been used. Each link works once.",
            Self::Expired => "This link has expired. Sign in and ask for a new one.",
        }
    }
}

/// An emailed link as its page shows it to whoever holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmailLinkPreview {
    /// The address the link was sent to.
    pub email: String,
    pub state: EmailLinkState,
    /// Whether the visitor is signed in as the user the link belongs to (then one click
    /// confirms; anyone else sets a new password instead).
    pub yours: bool,
}

/// Sets a new password through an emailed link (which proves the address).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct NewPasswordInput {
    #[cfg_attr(
        feature = "ssr",
        validate(length(max = 128, message = "This link is not valid."))
    )]
    pub token: String,
    #[cfg_attr(
        feature = "ssr",
        validate(length(min = 10, max = 128, message = "Use between 10 and 128 characters."))
    )]
    pub password: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_codes() {
        for kind in MailKind::ALL {
            assert_eq!(MailKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(MailKind::from_code("nope"), None);
    }
}
