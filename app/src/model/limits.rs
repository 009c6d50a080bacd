//! The longest value each free-text input accepts, and the checks that refuse a longer one.
//!
//! SQLite does not enforce `varchar(n)`, and a search or a code that is never stored still
//! costs work and may be echoed in a message: so every string a client sends has a maximum
//! here or beside its wire type, and the server checks it before any other work (after the
//! caller's identity, before the database is asked anything about the input). Lengths are in
//! characters of the trimmed value (surrounding whitespace is never stored), as
//! `varchar(n)` counts them.

use crate::error::FieldErrors;

/// An email address (RFC 5321), as the `app_user.email` column holds it.
pub const EMAIL_MAX: usize = 254;
/// A password, as sign-up, sign-in and every form that asks for it again accept it.
pub const PASSWORD_MAX: usize = 128;
/// A search box (part of a name, handle or title).
pub const SEARCH_MAX: usize = 100;
/// A number typed as text: money ("1,250.50"), counts ("12k"), posts per day.
pub const NUMBER_MAX: usize = 32;
/// A date and time as a `datetime-local` input sends it (`2026-12-01T09:30`, with seconds).
pub const DATE_TIME_MAX: usize = 32;
/// A code chosen from a list: a status, a topic slug, a language, a policy reason, a field,
/// an audit action (topic slugs and policy codes are `varchar(40)`).
pub const CODE_MAX: usize = 40;
/// A secret link token as generated: 32 random bytes in hex.
pub const TOKEN_LEN: usize = 64;
/// The longest token argument looked at at all; a longer one is refused unread.
pub const TOKEN_MAX: usize = 128;

/// `max` as `validator` takes it: `#[validate(length(max = limits::u64_of(limits::SEARCH_MAX)))]`
/// (`validator` counts the value as sent, untrimmed)..
pub const fn u64_of(max: usize) -> u64 {
    max as u64
}

/// Whether `value`, trimmed, has more than `max` characters (without counting when its bytes
/// already fit).
pub fn too_long(value: &str, max: usize) -> bool {
    value.len() > max && value.trim().chars().count() > max
}

/// The message beside a field that is too long.
pub fn too_long_message(max: usize) -> String {
    format!("At most {max} characters.")
}

/// Adds [`too_long_message`] for each `(field, value, max)` whose value is too long.
pub fn check_lengths(errors: &mut FieldErrors, fields: &[(&str, &str, usize)]) {
    for (field, value, max) in fields {
        if too_long(value, *max) {
            errors.add(field, too_long_message(*max));
        }
    }
}

/// Adds a message for `field` when any entry of a list is longer than `max` (list lengths are
/// capped separately, before this walks the list).
pub fn check_entries(errors: &mut FieldErrors, field: &str, entries: &[String], max: usize) {
    if entries.iter().any(|e| too_long(e, max)) {
        errors.add(field, format!("Each entry has at most {max} characters."));
    }
}

/// Whether `token` has the shape of a generated token ([`TOKEN_LEN`] hex digits, trimmed).
/// Anything else cannot match a stored hash: it is answered like an unknown token, without a
/// query.
pub fn is_token(token: &str) -> bool {
    token.len() <= TOKEN_MAX && {
        let token = token.trim();
        token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// A bare string argument (not a form field) longer than `max`: refused as a 422 with a plain
/// message.
#[cfg(feature = "ssr")]
pub fn check_argument(name: &str, value: &str, max: usize) -> Result<(), crate::error::AppError> {
    if too_long(value, max) {
        Err(crate::error::AppError::field(
            "form",
            format!("The {name} is longer than {max} characters."),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_trimmed_characters() {
        assert!(!too_long("  abc  ", 3));
        assert!(!too_long("ééé", 3));
        assert!(too_long("abcd", 3));
        let mut errors = FieldErrors::default();
        check_lengths(&mut errors, &[("a", "ok", 2), ("b", "too long", 3)]);
        assert_eq!(errors.get("a"), None);
        assert_eq!(errors.get("b"), Some("At most 3 characters."));
    }

    #[test]
    fn only_generated_tokens_have_the_shape() {
        assert!(is_token(&"ab12".repeat(16)));
        assert!(is_token(&format!(" {} ", "0".repeat(64))));
        assert!(!is_token("matrix-no-such-link"));
        assert!(!is_token(&"a".repeat(65)));
        assert!(!is_token(&"g".repeat(64)));
        assert!(!is_token(&" ".repeat(10_000)));
    }
}
