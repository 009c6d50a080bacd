//! Money as integer micro-units of a currency (`Micros`): parsed from and shown as decimals,
//! never stored or computed as floating point.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One millionth of a currency unit (1 EUR = 1,000,000 micros).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Micros(pub i64);

/// Micros in one currency unit.
pub const MICROS_PER_UNIT: i64 = 1_000_000;

impl Micros {
    pub const ZERO: Self = Self(0);

    /// Whole currency units.
    pub const fn units(units: i64) -> Self {
        Self(units * MICROS_PER_UNIT)
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }

    /// The price of `views` views at this CPM (price per thousand), rounded down to the micro;
    /// `None` on overflow.
    pub fn cpm_cost(self, views: i64) -> Option<Self> {
        let cost = i128::from(self.0).checked_mul(i128::from(views))? / 1_000;
        i64::try_from(cost).ok().map(Self)
    }

    /// How many whole views `budget` buys at this CPM; `None` when the CPM is not positive.
    pub fn views_for(self, budget: Self) -> Option<i64> {
        if self.0 <= 0 {
            return None;
        }
        let views = i128::from(budget.0.max(0)) * 1_000 / i128::from(self.0);
        Some(i64::try_from(views).unwrap_or(i64::MAX))
    }

    /// Rounded to the nearest cent (half away from zero), for estimates shown to people.
    pub fn round_to_cent(self) -> Self {
        let cent = MICROS_PER_UNIT / 100;
        let half = if self.0 < 0 { -cent / 2 } else { cent / 2 };
        Self(self.0.saturating_add(half) / cent * cent)
    }

    /// Rounded up to a whole cent (for non-negative amounts), for a bid to suggest: never
    /// below the figure it was worked out from.
    pub fn ceil_to_cent(self) -> Self {
        let cent = MICROS_PER_UNIT / 100;
        Self(
            self.0
                .saturating_add(cent - 1)
                .div_euclid(cent)
                .saturating_mul(cent),
        )
    }

    /// Parses a decimal amount in currency units ("12", "0.5", "1,234.50") into micros.
    /// At most six decimals; no sign, no exponent. An amount that names a currency ("€12",
    /// "12 USD") is refused: nothing here knows which currency it should be, so a sign cannot
    /// be checked, and silently dropping it would read "$100" as 100 of any currency. Where
    /// the currency is known, [`Micros::parse_in`] accepts its own sign.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        match Self::parse_named(text)? {
            (amount, None) => Ok(amount),
            (_, Some(_)) => Err(MoneyError::CurrencyNamed),
        }
    }

    /// Parses an amount meant in `currency` (an ISO code): a sign or a code before
    /// or after the number is accepted when it is that currency's ("€12" or "12 EUR" for
    /// EUR), refused when it is another's ("$100" for a EUR account).
    pub fn parse_in(text: &str, currency: &str) -> Result<Self, MoneyError> {
        let (amount, named) = Self::parse_named(text)?;
        match named {
            Some(code) if !code.eq_ignore_ascii_case(currency) => Err(MoneyError::OtherCurrency),
            _ => Ok(amount),
        }
    }

    /// Parses an amount and the currency it names, if any: a sign (€, $, £) or a
    /// three-letter code before or after the number. The caller checks the currency against
    /// the one the amount is for (see [`Micros::parse_in`]).
    pub fn parse_named(text: &str) -> Result<(Self, Option<String>), MoneyError> {
        let mut number = text.trim();
        let mut named = None;
        if let Some(first) = number.chars().next()
            && let Some(code) = sign_currency(first)
        {
            named = Some(code.to_owned());
            number = &number[first.len_utf8()..];
        } else if let Some(last) = number.chars().next_back()
            && let Some(code) = sign_currency(last)
        {
            named = Some(code.to_owned());
            number = &number[..number.len() - last.len_utf8()];
        }
        let is_code = |part: &str| part.len() == 3 && part.bytes().all(|b| b.is_ascii_alphabetic());
        if named.is_none() && number.len() > 3 {
            if number.is_char_boundary(3) && is_code(&number[..3]) {
                named = Some(number[..3].to_ascii_uppercase());
                number = &number[3..];
            } else if number.is_char_boundary(number.len() - 3)
                && is_code(&number[number.len() - 3..])
            {
                named = Some(number[number.len() - 3..].to_ascii_uppercase());
                number = &number[..number.len() - 3];
            }
        }
        // Spaces and underscores inside the number separate thousands, as commas do.
        let number: String = number
            .trim()
            .chars()
            .map(|c| {
                if c.is_whitespace() || c == '_' {
                    ','
                } else {
                    c
                }
            })
            .collect();
        Self::parse_number(&number).map(|amount| (amount, named))
    }

    /// The number itself: digits, at most one decimal point, and commas only between groups
    /// of three digits of the whole part. "12,50" is refused, not read as 1,250 — a comma
    /// between two decimals is somebody's decimal comma.
    fn parse_number(text: &str) -> Result<Self, MoneyError> {
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |part: &str| part.chars().all(|c| c.is_ascii_digit() || c == ',');
        if !digits(whole) || !digits(fraction) {
            return Err(MoneyError::NotANumber);
        }
        if whole.contains(',') {
            let mut groups = whole.split(',');
            let lead = groups.next().unwrap_or_default();
            if lead.is_empty() || lead.len() > 3 || groups.any(|g| g.len() != 3) {
                return Err(MoneyError::DecimalComma);
            }
        }
        if fraction.contains(',') {
            return Err(MoneyError::DecimalComma);
        }
        let whole = whole.replace(',', "");
        let whole = whole.as_str();
        if whole.is_empty() && fraction.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !fraction.chars().all(|c| c.is_ascii_digit())
        {
            return Err(MoneyError::NotANumber);
        }
        if fraction.len() > 6 {
            return Err(MoneyError::TooPrecise);
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| MoneyError::TooLarge)?
        };
        let fraction: i64 = format!("{fraction:0<6}")
            .parse()
            .map_err(|_| MoneyError::NotANumber)?;
        whole
            .checked_mul(MICROS_PER_UNIT)
            .and_then(|w| w.checked_add(fraction))
            .map(Self)
            .ok_or(MoneyError::TooLarge)
    }

    /// The amount as a plain decimal for an input field ("12.5", "0.000001", "20").
    pub fn to_decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / MICROS_PER_UNIT as u64;
        let fraction = abs % MICROS_PER_UNIT as u64;
        if fraction == 0 {
            format!("{sign}{whole}")
        } else {
            let digits = format!("{fraction:06}");
            format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
        }
    }

    /// The amount rounded down to the cent, with its currency, for a glance (the header's
    /// balance): `€879.65` for €879.6515 — never more than there is. [`Micros::display`]
    /// gives it exactly.
    pub fn display_cents(self, currency: &str) -> String {
        const CENT: i64 = MICROS_PER_UNIT / 100;
        Self(self.0.div_euclid(CENT) * CENT).display(currency)
    }

    /// The amount with its currency, to the cent unless sub-cent digits matter:
    /// `€1,234.50`, `€0.000125`, `-$3.00`.
    pub fn display(self, currency: &str) -> String {
        let symbol = match currency {
            "EUR" => "€",
            "USD" => "$",
            "GBP" => "£",
            _ => "",
        };
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / MICROS_PER_UNIT as u64;
        let fraction = abs % MICROS_PER_UNIT as u64;
        let fraction = if fraction.is_multiple_of(10_000) {
            format!("{:02}", fraction / 10_000)
        } else {
            format!("{fraction:06}").trim_end_matches('0').to_owned()
        };
        let amount = format!("{}.{fraction}", group_thousands(whole));
        if symbol.is_empty() {
            format!("{sign}{amount} {currency}")
        } else {
            format!("{sign}{symbol}{amount}")
        }
    }
}

/// The currency a leading sign stands for (only the signs [`Micros::display`] writes).
fn sign_currency(sign: char) -> Option<&'static str> {
    match sign {
        '€' => Some("EUR"),
        '$' => Some("USD"),
        '£' => Some("GBP"),
        _ => None,
    }
}

/// `1234567` → `1,234,567`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Why a typed amount is not money.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoneyError {
    Empty,
    NotANumber,
    TooPrecise,
    TooLarge,
    /// A currency sign or code where no currency can be checked.
    CurrencyNamed,
    /// A sign or code of another currency than the amount's.
    OtherCurrency,
    /// A comma where a decimal point belongs ("12,50"), or between digits that are not
    /// groups of three.
    DecimalComma,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "Enter an amount.",
            Self::NotANumber => "Enter an amount like 12.50.",
            Self::TooPrecise => "Use at most six decimals.",
            Self::TooLarge => "That amount is too large.",
            Self::CurrencyNamed => "Enter the number only, without a currency sign.",
            Self::DecimalComma => {
                "Use a point for decimals (12.50); commas only between thousands (1,234.50)."
            }
            Self::OtherCurrency => {
                "That is another currency: enter the amount in this account's currency."
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(Micros::parse("12"), Ok(Micros(12_000_000)));
        assert_eq!(Micros::parse(" 0.5 "), Ok(Micros(500_000)));
        assert_eq!(Micros::parse(".25"), Ok(Micros(250_000)));
        assert_eq!(Micros::parse("1,234.567891"), Ok(Micros(1_234_567_891)));
        assert_eq!(Micros::parse("1 234 567.5"), Ok(Micros(1_234_567_500_000)));
        assert_eq!(Micros::parse("1_000"), Ok(Micros::units(1_000)));
        // A decimal comma is refused, never read as thousands.
        for text in [
            "12,50", "1.234,50", ",5", "1234,567", "1,23,456", "12 50", "1,",
        ] {
            assert_eq!(Micros::parse(text), Err(MoneyError::DecimalComma), "{text}");
        }
        assert_eq!(Micros::parse("€3.10"), Err(MoneyError::CurrencyNamed));
        assert_eq!(Micros::parse("3 EUR"), Err(MoneyError::CurrencyNamed));
        assert_eq!(Micros::parse(""), Err(MoneyError::Empty));
        assert_eq!(Micros::parse("-1"), Err(MoneyError::NotANumber));
        assert_eq!(Micros::parse("1e3"), Err(MoneyError::NotANumber));
        assert_eq!(Micros::parse("."), Err(MoneyError::NotANumber));
        assert_eq!(Micros::parse("0.0000001"), Err(MoneyError::TooPrecise));
        assert_eq!(
            Micros::parse("99999999999999999"),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn an_amount_naming_a_currency_must_name_the_right_one() {
        assert_eq!(Micros::parse_in("€3.10", "EUR"), Ok(Micros(3_100_000)));
        assert_eq!(Micros::parse_in("3.10", "EUR"), Ok(Micros(3_100_000)));
        assert_eq!(
            Micros::parse_in("1,000 eur", "EUR"),
            Ok(Micros::units(1_000))
        );
        assert_eq!(Micros::parse_in("EUR 12", "EUR"), Ok(Micros::units(12)));
        assert_eq!(Micros::parse_in("7 CHF", "CHF"), Ok(Micros::units(7)));
        // The bug this guards against: "$100" on a EUR account was read as €100.
        assert_eq!(
            Micros::parse_in("$100", "EUR"),
            Err(MoneyError::OtherCurrency)
        );
        assert_eq!(
            Micros::parse_in("£5", "USD"),
            Err(MoneyError::OtherCurrency)
        );
        assert_eq!(
            Micros::parse_in("100 USD", "EUR"),
            Err(MoneyError::OtherCurrency)
        );
        assert_eq!(Micros::parse_in("€", "EUR"), Err(MoneyError::Empty));
        assert_eq!(Micros::parse_in("€€5", "EUR"), Err(MoneyError::NotANumber));
        assert_eq!(Micros::parse_in("5 €", "EUR"), Ok(Micros::units(5)));
        assert_eq!(
            Micros::parse_in("5 $", "EUR"),
            Err(MoneyError::OtherCurrency)
        );
        assert_eq!(
            Micros::parse_in("12 ab", "EUR"),
            Err(MoneyError::NotANumber)
        );
        assert_eq!(
            Micros::parse_in("12 abc", "EUR"),
            Err(MoneyError::OtherCurrency)
        );
        assert_eq!(Micros::parse_in("1€00", "EUR"), Err(MoneyError::NotANumber));
        assert_eq!(Micros::parse_in("ab€5", "EUR"), Err(MoneyError::NotANumber));
        assert_eq!(
            Micros::parse_named("$2.5"),
            Ok((Micros(2_500_000), Some("USD".to_owned())))
        );
    }

    proptest::proptest! {
        /// What Herald shows ("€1,234.50", "7.00 CHF") reads back as the same amount in its
        /// own currency and is refused in any other; no text makes the parser panic.
        #[test]
        fn shown_amounts_read_back_only_in_their_currency(
            micros in 0i64..1_000_000_000_000_000,
            shown in 0usize..4,
            other in 0usize..4,
            text in proptest::prelude::any::<String>(),
        ) {
            let currencies = ["EUR", "USD", "GBP", "CHF"];
            let amount = Micros(micros);
            let display = amount.display(currencies[shown]);
            proptest::prop_assert_eq!(Micros::parse_in(&display, currencies[shown]), Ok(amount));
            if other != shown {
                proptest::prop_assert_eq!(
                    Micros::parse_in(&display, currencies[other]),
                    Err(MoneyError::OtherCurrency)
                );
            }
            let _ = Micros::parse_named(&text);
        }
    }

    #[test]
    fn displays_with_currency_and_round_trips() {
        assert_eq!(Micros(1_234_500_000).display("EUR"), "€1,234.50");
        assert_eq!(Micros(125).display("EUR"), "€0.000125");
        assert_eq!(Micros(-3_000_000).display("USD"), "-$3.00");
        assert_eq!(Micros(7_000_000).display("CHF"), "7.00 CHF");
        // To the cent, rounded down: never more than there is.
        assert_eq!(Micros(879_651_500).display_cents("EUR"), "€879.65");
        assert_eq!(Micros(879_659_999).display_cents("EUR"), "€879.65");
        assert_eq!(Micros(125).display_cents("EUR"), "€0.00");
        assert_eq!(Micros(1_234_500_000).display_cents("EUR"), "€1,234.50");
        assert_eq!(Micros(-1).display_cents("USD"), "-$0.01");
        for text in ["0", "12.5", "0.000001", "20"] {
            assert_eq!(
                Micros::parse(text).map(Micros::to_decimal).as_deref(),
                Ok(text)
            );
        }
    }

    #[test]
    fn cpm_arithmetic_is_integer_and_checked() {
        // 2,000 views at €1.50 CPM cost €3.
        assert_eq!(Micros(1_500_000).cpm_cost(2_000), Some(Micros(3_000_000)));
        // Rounded down to the micro.
        assert_eq!(Micros(1).cpm_cost(999), Some(Micros(0)));
        assert_eq!(Micros(i64::MAX).cpm_cost(i64::MAX), None);
        assert_eq!(Micros(1_500_000).views_for(Micros(3_000_000)), Some(2_000));
        assert_eq!(Micros(0).views_for(Micros(3_000_000)), None);
        assert_eq!(Micros(5).checked_add(Micros(i64::MAX)), None);
        assert_eq!(Micros(24_999_600).round_to_cent(), Micros(25_000_000));
        assert_eq!(Micros(24_994_999).round_to_cent(), Micros(24_990_000));
        assert_eq!(Micros(-5_000).round_to_cent(), Micros(-10_000));
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(999), "999");
    }
}
