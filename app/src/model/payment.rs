//! How advertisers pay: each ad account's payment reference for the bank transfers that fund
//! it, and the platform's bank details an admin publishes.
//!
//! The reference is an ISO 11649 creditor reference ("RF" + two check digits + `HERALD` and the
//! account's number): banks across SEPA check its digits when it is typed, so a mistyped digit
//! of the account's number or of the check, or two neighbours swapped, is refused at the
//! payer's bank instead of arriving unmatched (ISO 7064 MOD 97-10 catches every such error in a
//! run of digits; a letter typed for a digit, or a digit for a letter of `HERALD`, can slip
//! through the bank's check, and then finds no account here). Finance pastes it from a bank
//! statement to find the account.

use super::AccountId;
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use validator::Validate;

/// What every reference's body starts with, before the account's number.
const PREFIX: &str = "HERALD";

/// The longest bank details an admin may publish, in characters as kept (line breaks as one).
pub const BANK_DETAILS_MAX: usize = 1_000;

/// The most characters a bank details form may send: a browser sends each line break as two
/// characters, and trailing spaces are trimmed after, so the limit as kept is checked then.
pub const BANK_DETAILS_SENT_MAX: usize = 2 * BANK_DETAILS_MAX;

/// The most lines bank details may have.
pub const BANK_DETAILS_LINES: usize = 12;

/// Characters that payment text (the bank details advertisers pay to, a transfer's reference)
/// may not hold besides the control characters: those that show as nothing, or as a blank,
/// yet change what the text is — bidirectional overrides and marks, zero-width spaces and
/// joiners, the soft hyphen, line and paragraph separators (which would also get round a line
/// limit), fillers that render blank (Hangul, Braille, Khmer), variation selectors and tags,
/// private-use characters, and the specials block (U+FFF0–FFFF) — so that an IBAN or a
/// reference is exactly what it shows.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{2800}' | '\u{3164}' | '\u{E000}'..='\u{F8FF}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFF}'
        | '\u{E0000}'..='\u{E0FFF}' | '\u{F0000}'..='\u{10FFFF}')
}

/// Spaces other than the plain one (no-break, en, em, thin, ideographic …): payment text keeps
/// a plain space in their place, so that what is copied from it is what a bank's form expects.
pub fn is_other_space(c: char) -> bool {
    matches!(
        c,
        '\u{00A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// `text`'s value mod 97 with letters read as numbers (A = 10 … Z = 35), as ISO 7064 MOD 97-10
/// does for IBANs and creditor references; `None` for any other character.
fn mod97(text: &str) -> Option<u32> {
    let mut rest = 0u32;
    for c in text.chars() {
        let value = c.to_digit(36)?;
        rest = if value < 10 {
            (rest * 10 + value) % 97
        } else {
            (rest * 100 + value) % 97
        };
    }
    Some(rest)
}

/// The largest account number a reference can carry (a creditor reference's body is at most 21
/// characters, six of them `HERALD`).
pub const MAX_ACCOUNT_NUMBER: i64 = 999_999_999_999_999;

/// The account's payment reference, grouped by four for reading ("RF25 HERA LD5"). Account
/// numbers run from 1 to [`MAX_ACCOUNT_NUMBER`].
pub fn payment_reference(account: AccountId) -> String {
    debug_assert!(
        (1..=MAX_ACCOUNT_NUMBER).contains(&account.0),
        "account {} has no payment reference",
        account.0
    );
    let body = format!("{PREFIX}{}", account.0);
    // The check digits make the whole reference, body first, equal 1 mod 97.
    let check = 98 - mod97(&format!("{body}RF00")).unwrap_or(0);
    let compact = format!("RF{check:02}{body}");
    let mut grouped = String::with_capacity(compact.len() + compact.len() / 4);
    for (i, c) in compact.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    grouped
}

/// `text` without its spaces, in capitals, as references are compared.
fn compact(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Whether `text` is a creditor reference with valid check digits (spaces and case ignored).
pub fn is_creditor_reference(text: &str) -> bool {
    let compact = compact(text);
    // ASCII first: the slices below are then on character boundaries.
    compact.chars().all(|c| c.is_ascii_alphanumeric())
        && compact.len() >= 5
        && compact.len() <= 25
        && compact.starts_with("RF")
        && compact[2..4].chars().all(|c| c.is_ascii_digit())
        // The check digits the standard makes are 02 to 98.
        && (2..=98).contains(&compact[2..4].parse::<u8>().unwrap_or(0))
        && mod97(&format!("{}{}", &compact[4..], &compact[..4])) == Some(1)
}

/// The account a payment reference names, when `text` is one of Herald's with valid check
/// digits (spaces and case ignored, as a bank statement may print it).
pub fn account_of_reference(text: &str) -> Option<AccountId> {
    if !is_creditor_reference(text) {
        return None;
    }
    let compact = compact(text);
    let number = compact[4..].strip_prefix(PREFIX)?;
    if number.is_empty() || number.starts_with('0') || !number.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let account = number
        .parse()
        .ok()
        .filter(|n| (1..=MAX_ACCOUNT_NUMBER).contains(n))
        .map(AccountId)?;
    // Exactly the reference Herald makes for it, check digits included.
    (self::compact(&payment_reference(account)) == compact).then_some(account)
}

/// The bank details an admin publishes for advertisers' transfers, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct BankDetailsInput {
    /// Payee, bank, IBAN/BIC or account numbers, per currency if they differ; empty to
    /// withdraw them.
    #[cfg_attr(
        feature = "ssr",
        validate(length(max = super::limits::u64_of(BANK_DETAILS_SENT_MAX)))
    )]
    pub bank_details: String,
}

/// The last change of the bank details: when, and by whom (`None` when no one has changed them
/// since they were set up).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankDetailsChange {
    pub at: chrono::DateTime<chrono::Utc>,
    /// The admin's email address.
    pub by: Option<String>,
}

/// The bank details as the admin settings page shows them: the form, and its last change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedBankDetails {
    pub input: BankDetailsInput,
    pub last_change: Option<BankDetailsChange>,
}

/// How an account's members add funds: its reference and the platform's bank details, when an
/// admin has published them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingInstructions {
    pub reference: String,
    pub bank_details: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standards_examples_are_creditor_references() {
        // ISO 11649's example, printed and compact.
        assert!(is_creditor_reference("RF18 5390 0754 7034"));
        assert!(is_creditor_reference("RF18000000000539007547034"));
        assert!(is_creditor_reference("rf18539007547034"));
        assert!(!is_creditor_reference("RF19 5390 0754 7034"));
        assert!(!is_creditor_reference("RF18 5390 0754 7035"));
        assert!(!is_creditor_reference("RF18"));
        assert!(!is_creditor_reference("RF18 5390-0754"));
        assert!(!is_creditor_reference("Acme"));
        assert!(!is_creditor_reference("RFé1 2345"));
        assert!(!is_creditor_reference("RF1é 2345"));
    }

    #[test]
    fn a_reference_names_its_account_and_a_mistyped_digit_or_swap_is_caught() {
        for id in [1i64, 5, 42, 999, 123_456, MAX_ACCOUNT_NUMBER] {
            let reference = payment_reference(AccountId(id));
            assert!(reference.starts_with("RF"), "{reference}");
            assert!(is_creditor_reference(&reference), "{reference}");
            assert_eq!(account_of_reference(&reference), Some(AccountId(id)));
            assert_eq!(
                account_of_reference(&reference.replace(' ', "").to_lowercase()),
                Some(AccountId(id))
            );
            let compact: Vec<char> = reference.chars().filter(|c| *c != ' ').collect();
            let text = |chars: &[char]| chars.iter().collect::<String>();
            for i in 2..compact.len() {
                // Any other digit in place of a digit fails the bank's check itself.
                if compact[i].is_ascii_digit() {
                    for digit in '0'..='9' {
                        if digit == compact[i] {
                            continue;
                        }
                        let mut typo = compact.clone();
                        typo[i] = digit;
                        assert!(!is_creditor_reference(&text(&typo)), "{}", text(&typo));
                        assert_eq!(account_of_reference(&text(&typo)), None);
                    }
                }
                // Any other character anywhere finds no account here.
                for other in ['0', '1', '8', '9', 'A', 'E', 'Z'] {
                    if other == compact[i] {
                        continue;
                    }
                    let mut typo = compact.clone();
                    typo[i] = other;
                    assert_eq!(account_of_reference(&text(&typo)), None, "{}", text(&typo));
                }
                // Two neighbours swapped fail the bank's check.
                if i + 1 < compact.len() && compact[i] != compact[i + 1] {
                    let mut swapped = compact.clone();
                    swapped.swap(i, i + 1);
                    assert!(
                        !is_creditor_reference(&text(&swapped)),
                        "{}",
                        text(&swapped)
                    );
                }
            }
        }
        assert_eq!(payment_reference(AccountId(5)), "RF25 HERA LD5");
    }

    #[test]
    fn check_digits_outside_the_standards_range_are_refused() {
        // Each body's value makes 00, 01 or 99 satisfy the sum: the standard never issues
        // them, so they are not references.
        for (body, bad) in [("HERALD22", "00"), ("HERALD136", "01"), ("HERALD83", "99")] {
            let typed = format!("RF{bad}{body}");
            assert_eq!(mod97(&format!("{body}RF{bad}")), Some(1), "{typed}");
            assert!(!is_creditor_reference(&typed), "{typed}");
            assert_eq!(account_of_reference(&typed), None, "{typed}");
        }
        assert_eq!(account_of_reference("RF98HERALD0"), None);
        assert_eq!(
            account_of_reference(&format!("RF00HERALD{}", MAX_ACCOUNT_NUMBER + 1)),
            None
        );
    }

    #[test]
    fn other_references_name_no_account() {
        assert_eq!(account_of_reference("RF18 5390 0754 7034"), None);
        assert_eq!(account_of_reference("HERALD5"), None);
        assert_eq!(account_of_reference(""), None);
    }
}
