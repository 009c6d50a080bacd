//! Sign-up / sign-in inputs and `Viewer`, the signed-in person as the browser sees them.

use super::{AccountId, AccountRole, PlatformRole, UserId};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use validator::Validate;

/// Sign-up form: a new user who becomes the owner of a new ad account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct SignUpInput {
    #[cfg_attr(
        feature = "ssr",
        validate(email(message = "Enter a valid email address."), length(max = 254))
    )]
    pub email: String,
    #[cfg_attr(
        feature = "ssr",
        validate(length(min = 10, max = 128, message = "Use between 10 and 128 characters."))
    )]
    pub password: String,
    /// Absent (and ignored) when signing up from an invitation, which creates no account.
    #[cfg_attr(
        feature = "ssr",
        validate(
            length(min = 2, max = 80, message = "Use between 2 and 80 characters."),
            custom(function = "super::account::validate_account_name")
        )
    )]
    #[serde(default)]
    pub account_name: String,
    #[cfg_attr(
        feature = "ssr",
        validate(custom(function = "super::account::validate_time_zone"))
    )]
    #[serde(default)]
    pub time_zone: String,
}

/// Sign-in form. Validated only for size (before anything is counted or stored): a wrong
/// address and a wrong password must look the same.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct SignInInput {
    #[cfg_attr(
        feature = "ssr",
        validate(length(max = 254, message = "An email address has at most 254 characters."))
    )]
    pub email: String,
    #[cfg_attr(
        feature = "ssr",
        validate(length(max = 128, message = "A password has at most 128 characters."))
    )]
    pub password: String,
}

/// Changing one's password while signed in: the current one proves it is really them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct PasswordChangeInput {
    #[cfg_attr(
        feature = "ssr",
        validate(length(max = 128, message = "A password has at most 128 characters."))
    )]
    pub current: String,
    #[cfg_attr(
        feature = "ssr",
        validate(length(min = 10, max = 128, message = "Use between 10 and 128 characters."))
    )]
    pub new: String,
}

/// "Forgot your password?": the address to mail a link to choose a new one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct ForgotPasswordInput {
    #[cfg_attr(
        feature = "ssr",
        validate(email(message = "Enter a valid email address."), length(max = 254))
    )]
    pub email: String,
}

/// What "Forgot your password?" answers, whether or not a login uses the address.
pub const RESET_SENT: &str = "If a Herald login uses that address, we have emailed it a link to \
     choose a new password. The link works once, for 24 hours. No mail? Check the address and \
     your spam folder, or ask again later (an address receives at most three such mails an \
     hour).";

/// Normalises an email address for storage and lookup.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// One ad account the viewer belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub account_id: AccountId,
    pub account_name: String,
    pub role: AccountRole,
    /// The account's currency (the header shows its balance in it).
    pub currency: String,
    /// The account's IANA time zone (its campaigns' schedules and days are in it).
    pub time_zone: String,
}

/// The signed-in user, for the header and navigation. Carries no secrets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: UserId,
    pub email: String,
    pub staff_roles: Vec<PlatformRole>,
    pub memberships: Vec<Membership>,
    /// The account the user is working in (one of `memberships`), if they have any.
    pub current_account: Option<AccountId>,
    /// Whether the user has confirmed their email address (needed to join an account by
    /// invitation and for staff roles, not to advertise).
    #[serde(default)]
    pub email_verified: bool,
    /// Unread notifications in the current account (for the header).
    pub unread_notifications: u64,
    /// The current account's available balance and currency, for those who may see money
    /// (for the header).
    #[serde(default)]
    pub balance: Option<(crate::model::Micros, String)>,
}

impl Viewer {
    pub fn has_staff_role(&self, role: PlatformRole) -> bool {
        self.staff_roles.contains(&role)
    }

    /// Whether the user is a member of `account`.
    pub fn is_member_of(&self, account: AccountId) -> bool {
        self.memberships.iter().any(|m| m.account_id == account)
    }

    pub fn current_membership(&self) -> Option<&Membership> {
        let current = self.current_account?;
        self.memberships.iter().find(|m| m.account_id == current)
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn good() -> SignUpInput {
        SignUpInput {
            email: "ada@example.com".into(),
            password: "correct horse battery".into(),
            account_name: "Ada's Ads".into(),
            time_zone: "Europe/Berlin".into(),
        }
    }

    #[test]
    fn accepts_a_good_sign_up() {
        assert!(good().validate().is_ok());
    }

    #[test]
    fn reports_each_bad_field() {
        let input = SignUpInput {
            email: "not-an-email".into(),
            password: "short".into(),
            account_name: "x".into(),
            time_zone: "Mars/Olympus".into(),
        };
        let errors = crate::error::FieldErrors::from(input.validate().expect_err("invalid"));
        for field in ["email", "password", "account_name", "time_zone"] {
            assert!(errors.get(field).is_some(), "{field} should have an error");
        }
    }

    #[test]
    fn normalises_email() {
        assert_eq!(normalize_email("  Ada@Example.COM "), "ada@example.com");
    }
}
