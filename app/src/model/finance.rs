//! Finance wire types: crediting an ad account's prepaid balance, and the accounts finance
//! staff look through.

use crate::model::{AccountId, Micros};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use validator::Validate;

/// A reference is what makes a credit, refund or payout happen once: it must say something
/// (only spaces would trim to nothing, and every such request on an account would then be taken
/// for the same one), and be the text it shows (no control or invisible characters, no spaces
/// but the plain one).
#[cfg(feature = "ssr")]
pub(crate) fn validate_reference(reference: &str) -> Result<(), validator::ValidationError> {
    if reference.trim().is_empty() {
        Err(validator::ValidationError::new("reference")
            .with_message("Enter the reference, not only spaces.".into()))
    } else if reference_key(reference).is_empty() {
        // The key is what makes it one transfer: only punctuation would make every such
        // reference of an account the same one.
        Err(validator::ValidationError::new("reference")
            .with_message("A reference has at least one letter or digit.".into()))
    } else if reference_key(reference).chars().count() > REFERENCE_KEY_MAX {
        // Capitals can be longer than the letters typed ("ß" is "SS"); the key is part of the
        // ledger's idempotency key, which has room for this many.
        Err(validator::ValidationError::new("reference").with_message(
            format!("At most {REFERENCE_KEY_MAX} letters and digits once in capitals.").into(),
        ))
    } else if reference
        .chars()
        .any(|c| c.is_control() || super::is_invisible(c) || super::is_other_space(c))
    {
        // One credit per reference: a reference that looks like another but is not the same
        // text (an invisible character, a no-break space for a space) would credit one
        // transfer twice.
        Err(validator::ValidationError::new("reference").with_message(
            "Type the reference as the bank statement shows it: letters, digits, plain spaces \
             and punctuation (no tabs, invisible characters or special spaces)."
                .into(),
        ))
    } else if !unicode_normalization::is_nfkc(&composed(reference)) {
        // Full-width letters, ligatures, superscripts, circled digits: each shows as another
        // reference's plain letters and digits, yet its key would be its own (NFKC).
        let plain: String = unicode_normalization::UnicodeNormalization::nfkc(reference).collect();
        Err(validator::ValidationError::new("reference").with_message(
            format!(
                "Type the reference in plain letters and digits, as “{}”: full-width letters, \
                 ligatures and the like look like another reference.",
                plain.trim()
            )
            .into(),
        ))
    } else {
        Ok(())
    }
}

/// A reference in Unicode's composed form (NFC), as it is stored and keyed: "é" typed as one
/// character or as "e" and an accent are the same text, shown the same way, so they must be the
/// same transfer. Every service that takes a reference applies it before validating.
#[cfg(feature = "ssr")]
pub fn composed(reference: &str) -> String {
    unicode_normalization::UnicodeNormalization::nfc(reference).collect()
}

/// The longest [`reference_key`] accepted.
#[cfg(feature = "ssr")]
pub const REFERENCE_KEY_MAX: usize = 100;

/// What makes two references the same transfer: their letters and digits, in capitals. A bank
/// statement, a remittance advice and a person typing show one transfer id as "TX-123",
/// "tx 123" or "Tx.123"; compared as typed they would credit one transfer twice. The text as
/// typed is kept for display; the key is what the database keeps unique per account.
///
/// The migration that gave old rows their key (`m20261210_000018_reference_keys`) holds a frozen
/// copy of this rule; `app/tests/finance_references.rs` checks the two agree.
#[cfg(feature = "ssr")]
pub fn reference_key(reference: &str) -> String {
    reference
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// A credit as finance types it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct CreditInput {
    pub account: AccountId,
    /// A decimal amount in the account's currency ("250", "99.50").
    #[cfg_attr(
        feature = "ssr",
        validate(length(max = 32, message = "Enter an amount like 250.00."))
    )]
    pub amount: String,
    /// The bank transfer id (or other proof): one credit per reference and account.
    #[cfg_attr(
        feature = "ssr",
        validate(
            length(
                min = 1,
                max = 100,
                message = "Enter the bank transfer reference (up to 100 characters)."
            ),
            custom(function = "validate_reference")
        )
    )]
    pub reference: String,
    #[cfg_attr(
        feature = "ssr",
        validate(length(max = 500, message = "At most 500 characters."))
    )]
    pub note: String,
}

/// What a credit did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditResult {
    pub account_name: String,
    pub amount: Micros,
    pub currency: String,
    /// The same reference was credited before: nothing new was written.
    pub already_credited: bool,
    /// Above the approval threshold: nothing was credited yet; this request waits for a
    /// second finance user.
    pub pending_request: Option<i64>,
    pub available: Micros,
}

/// One ad account in finance's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinanceAccountRow {
    pub id: AccountId,
    /// The account's payment reference (made on the server: the browser bundle carries no
    /// reference code).
    pub payment_reference: String,
    pub name: String,
    pub currency: String,
    pub available: Micros,
    pub held: Micros,
    pub spent: Micros,
    /// Charged this UTC month, less what corrections gave back this month.
    pub spent_this_month: Micros,
    pub credited: Micros,
    /// When the last credit arrived.
    pub last_top_up: Option<chrono::DateTime<chrono::Utc>>,
    /// The latest top-ups with money left to refund (at most [`REFUNDABLE_SHOWN`]), newest
    /// first: what a refund can return.
    pub refundable: Vec<RefundableTopUp>,
    /// Whole days the available balance lasts at the last week's daily spend (`None`: it
    /// spends nothing).
    pub days_left: Option<i64>,
}

/// Top-ups a finance account row offers to refund.
pub const REFUNDABLE_SHOWN: usize = 20;

/// A top-up with money left to refund: its amount less its refunds waiting or done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundableTopUp {
    pub id: i64,
    /// The incoming transfer's reference, as credited.
    pub reference: String,
    pub amount: Micros,
    pub left: Micros,
    pub credited_at: chrono::DateTime<chrono::Utc>,
}

/// A page of ad accounts, searched by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinanceAccounts {
    pub rows: Vec<FinanceAccountRow>,
    pub page: u64,
    pub total: u64,
    pub query: String,
    /// `name`, `available` or `held` (largest first for money).
    pub sort: String,
}

/// What a finance request moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FinanceRequestKind {
    /// Money in: a bank transfer credited to the account's balance.
    TopUp,
    /// Money out: part of the available balance returned to the advertiser.
    Refund,
}

impl FinanceRequestKind {
    pub const ALL: [Self; 2] = [Self::TopUp, Self::Refund];

    pub fn code(self) -> &'static str {
        match self {
            Self::TopUp => "top_up",
            Self::Refund => "refund",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::TopUp => "Credit",
            Self::Refund => "Refund",
        }
    }
}

/// Where a finance request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FinanceRequestStatus {
    /// Above the threshold: waiting for a second finance user.
    Pending,
    /// Carried out (at once below the threshold, or when approved).
    Done,
    /// A second finance user said no.
    Rejected,
    /// Its requester withdrew it.
    Cancelled,
}

impl FinanceRequestStatus {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Done, Self::Rejected, Self::Cancelled];

    pub fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Waiting for approval",
            Self::Done => "Done",
            Self::Rejected => "Rejected",
            Self::Cancelled => "Cancelled",
        }
    }
}

/// A refund as finance types it: part or all of one top-up, back to whoever paid it in, never
/// more than the account has available.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct RefundInput {
    pub account: AccountId,
    /// The top-up it returns (its id, as the form's list of [`RefundableTopUp`]s offers it):
    /// money goes back against the payment that brought it in.
    #[serde(default)]
    pub top_up: String,
    /// A decimal amount in the account's currency.
    #[cfg_attr(
        feature = "ssr",
        validate(length(max = 32, message = "Enter an amount like 250.00."))
    )]
    pub amount: String,
    /// The outgoing bank transfer's reference: one refund per reference and account.
    #[cfg_attr(
        feature = "ssr",
        validate(
            length(
                min = 1,
                max = 100,
                message = "Enter the outgoing transfer's reference (up to 100 characters)."
            ),
            custom(function = "validate_reference")
        )
    )]
    pub reference: String,
    /// Why the money goes back.
    #[cfg_attr(
        feature = "ssr",
        validate(length(
            min = 1,
            max = 500,
            message = "Say why the money goes back (up to 500 characters)."
        ))
    )]
    pub reason: String,
}

/// What a top-up or refund did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestResult {
    pub request: i64,
    pub kind: FinanceRequestKind,
    pub status: FinanceRequestStatus,
    pub account_name: String,
    pub amount: Micros,
    pub currency: String,
    /// The same reference was used before: nothing new was written.
    pub repeated: bool,
    pub available: Micros,
}

/// A second finance user's decision on a pending request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct DecideRequestInput {
    pub request: i64,
    pub approve: bool,
    /// Required to reject.
    #[cfg_attr(
        feature = "ssr",
        validate(length(max = 500, message = "At most 500 characters."))
    )]
    pub reason: String,
}

/// One request as finance's list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinanceRequestRow {
    pub id: i64,
    pub kind: FinanceRequestKind,
    pub status: FinanceRequestStatus,
    pub account: AccountId,
    pub account_name: String,
    pub amount: Micros,
    pub currency: String,
    pub reference: String,
    pub note: String,
    pub requested_by: String,
    pub requested_at: chrono::DateTime<chrono::Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    pub reason: String,
    /// The incoming transfer's reference of the top-up a refund returns (none for a top-up,
    /// and for refunds made before refunds named their source).
    pub top_up_reference: Option<String>,
    /// Made by the finance user looking: they may cancel it, never approve or reject it.
    pub mine: bool,
}

/// Finance's requests: everything waiting, and the latest decided.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinanceRequests {
    /// The oldest waiting requests, at most 500.
    pub pending: Vec<FinanceRequestRow>,
    /// How many are waiting in all.
    pub pending_total: u64,
    pub recent: Vec<FinanceRequestRow>,
    /// Top-ups and refunds above this many units of the account's currency wait for a second
    /// finance user.
    pub threshold_units: i64,
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn a_reference_of_only_spaces_is_refused() {
        let credit = |reference: &str| CreditInput {
            account: AccountId(1),
            amount: "250".into(),
            reference: reference.into(),
            note: String::new(),
        };
        let errors = credit("   ").validate().expect_err("blank");
        assert!(
            errors.field_errors().contains_key("reference"),
            "{errors:?}"
        );
        assert!(credit(" WIRE-7 ").validate().is_ok());
        let errors = credit("--/--").validate().expect_err("no letter or digit");
        assert!(
            errors.field_errors().contains_key("reference"),
            "{errors:?}"
        );
        // 100 characters typed, 150 once in capitals: too long for the ledger's key.
        let errors = credit(&"aß".repeat(50))
            .validate()
            .expect_err("too long in capitals");
        assert!(
            errors.field_errors().contains_key("reference"),
            "{errors:?}"
        );
        assert!(credit(&"a".repeat(100)).validate().is_ok());
    }

    #[test]
    fn one_transfer_id_written_three_ways_is_one_key() {
        assert_eq!(reference_key("TX-123"), "TX123");
        assert_eq!(reference_key(" tx 123 "), "TX123");
        assert_eq!(reference_key("Tx.123"), "TX123");
        assert_ne!(reference_key("TX123"), reference_key("TX1234"));
        assert_eq!(reference_key("straße 7"), "STRASSE7");
    }
}
