//! Account members and invitations: what an owner sends, what an invitee sees.

use super::{AccountRole, InvitationId, UserId, urlencode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use validator::Validate;

/// How long an invitation link stays valid.
pub const INVITATION_DAYS: i64 = 7;

/// An owner's invitation: who may join, and with which role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct InvitationInput {
    #[cfg_attr(
        feature = "ssr",
        validate(email(message = "Enter a valid email address."), length(max = 254))
    )]
    pub email: String,
    pub role: AccountRole,
}

/// A new invitation with its link. The link carries the secret token: it is shown to the
/// owner this once and stored nowhere (the database keeps only the token's hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvitationLink {
    pub id: InvitationId,
    pub email: String,
    pub role: AccountRole,
    /// `/invite/<token>`, relative to the site.
    pub path: String,
    pub expires_at: DateTime<Utc>,
}

/// The site path of the invitation page for `token`.
pub fn invitation_path(token: &str) -> String {
    format!("/invite/{}", urlencode(token))
}

/// An invitation not yet accepted, revoked or expired, as owners see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingInvitation {
    pub id: InvitationId,
    pub email: String,
    pub role: AccountRole,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Give a member another role (owners only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberRoleInput {
    pub user_id: UserId,
    pub role: AccountRole,
}

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvitationStatus {
    Open,
    Accepted,
    Revoked,
    Expired,
}

impl InvitationStatus {
    /// Of an invitation with these timestamps, at `now`.
    pub fn at(
        accepted_at: Option<DateTime<Utc>>,
        revoked_at: Option<DateTime<Utc>>,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        if accepted_at.is_some() {
            Self::Accepted
        } else if revoked_at.is_some() {
            Self::Revoked
        } else if expires_at <= now {
            Self::Expired
        } else {
            Self::Open
        }
    }

    /// Why a link in this state cannot be used (empty for an open one).
    pub fn explain(self) -> &'static str {
        match self {
            Self::Open => "",
            Self::Accepted => "This invitation has already been used. Each link works once.",
            Self::Revoked => "This invitation was withdrawn. Ask the account owner for a new one.",
            Self::Expired => "This invitation has expired. Ask the account owner for a new one.",
        }
    }
}

/// What the invitation page shows to whoever holds the link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvitationPreview {
    pub account_name: String,
    /// Only a user with this email may accept.
    pub email: String,
    pub role: AccountRole,
    pub expires_at: DateTime<Utc>,
    pub status: InvitationStatus,
}

/// The message for a link that matches no invitation.
pub const UNKNOWN_INVITATION: &str =
    "This invitation link is not valid. Check that you copied all of it.";

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn status_follows_the_timestamps() {
        let now = Utc::now();
        let later = now + Duration::days(1);
        assert_eq!(
            InvitationStatus::at(None, None, later, now),
            InvitationStatus::Open
        );
        assert_eq!(
            InvitationStatus::at(None, None, now, now),
            InvitationStatus::Expired
        );
        assert_eq!(
            InvitationStatus::at(Some(now), Some(now), now, now),
            InvitationStatus::Accepted
        );
        assert_eq!(
            InvitationStatus::at(None, Some(now), later, now),
            InvitationStatus::Revoked
        );
    }

    #[test]
    fn paths_are_url_safe() {
        assert_eq!(invitation_path("ab12"), "/invite/ab12");
        assert_eq!(invitation_path("a/b"), "/invite/a%2Fb");
    }
}
