//! Ad account views and inputs: settings, members, the dashboard summary.

use super::{AccountId, AccountRole, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use validator::{Validate, ValidationError};

/// Currency of a new account until an admin chooses another (platform settings).
pub const DEFAULT_CURRENCY: &str = "EUR";

/// The currencies a new ad account can be opened in (ISO 4217): each shows with its own sign
/// or code, and the platform's money limits (minimum CPM and budget, the second-approval
/// threshold) mean about the same in each. An account keeps the currency it was opened in.
pub const ACCOUNT_CURRENCIES: [(&str, &str); 4] = [
    ("EUR", "Euro (EUR)"),
    ("USD", "US dollar (USD)"),
    ("GBP", "Pound sterling (GBP)"),
    ("CHF", "Swiss franc (CHF)"),
];

/// Time zones offered for an account (IANA names). Kept short on purpose: the select must be
/// usable, and every entry is a zone with a large advertiser population.
pub const TIME_ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Warsaw",
    "Europe/Kyiv",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Asia/Dubai",
    "Asia/Tehran",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Tashkent",
    "Asia/Almaty",
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Africa/Lagos",
    "Africa/Cairo",
    "Africa/Nairobi",
    "America/Sao_Paulo",
    "America/Buenos_Aires",
    "America/Mexico_City",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
];

#[cfg(feature = "ssr")]
pub(crate) fn validate_time_zone(zone: &str) -> Result<(), ValidationError> {
    if TIME_ZONES.contains(&zone) {
        Ok(())
    } else {
        Err(ValidationError::new("time_zone")
            .with_message("Choose a time zone from the list.".into()))
    }
}

/// An account's name is shown to its members, to staff, in page titles and in the subjects
/// of the mails it sends (invitations): no control characters (a line break in a mail's
/// subject), and none that show as nothing yet change how the text reads or compares —
/// direction overrides, isolates and marks (a right-to-left override would make "Ads of
/// Acme" read otherwise in every list), the zero-width space, the byte-order mark, line and
/// paragraph separators. Joiners and variation selectors stay allowed: Persian and Indic
/// spelling and emoji need them.
#[cfg(feature = "ssr")]
pub fn validate_account_name(name: &str) -> Result<(), ValidationError> {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c,
                '\u{061C}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{2028}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
    };
    if name.chars().any(hidden) {
        return Err(ValidationError::new("account_name").with_message(
            "Use letters, digits, spaces and punctuation: no line breaks, tabs or invisible \
             characters that change how the name reads."
                .into(),
        ));
    }
    Ok(())
}

/// Editable settings of an ad account (owner only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct AccountSettingsInput {
    #[cfg_attr(
        feature = "ssr",
        validate(
            length(min = 2, max = 80, message = "Use between 2 and 80 characters."),
            custom(function = "validate_account_name")
        )
    )]
    pub name: String,
    #[cfg_attr(feature = "ssr", validate(custom(function = "validate_time_zone")))]
    pub time_zone: String,
}

/// One member of an ad account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub role: AccountRole,
    pub joined_at: DateTime<Utc>,
}

/// An ad account as its members see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountDetails {
    pub id: AccountId,
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub created_at: DateTime<Utc>,
    /// The viewer's own role here.
    pub my_role: AccountRole,
    pub members: Vec<Member>,
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn time_zone_must_be_listed() {
        assert!(validate_time_zone("Europe/Berlin").is_ok());
        assert!(validate_time_zone("Europe/Atlantis").is_err());
        assert!(validate_time_zone("").is_err());
    }

    #[test]
    fn settings_validation() {
        let input = AccountSettingsInput {
            name: "A".into(),
            time_zone: "UTC".into(),
        };
        let errors = crate::error::FieldErrors::from(input.validate().expect_err("short name"));
        assert!(errors.get("name").is_some());
        assert!(errors.get("time_zone").is_none());
    }
}
