//! Monthly statement wire types: funds at a month's start and end, and what moved them.

use crate::model::{AccountId, CampaignId, Micros};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// One line of a statement section. `amount` is signed as it changed the account's funds
/// (available plus held): top-ups and corrections are positive, spend and refunds negative.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    /// When it happened, for lines that are one transfer (top-ups, refunds); `None` for a
    /// month's sum (spend and corrections per campaign).
    pub at: Option<DateTime<Utc>>,
    /// `at`'s day in the account's time zone.
    pub day: Option<NaiveDate>,
    /// What it is, in words: "Reference TR-123", "Campaign “Spring sale”".
    pub about: String,
    /// The campaign a spend or correction line sums, when it is one campaign's.
    pub campaign: Option<CampaignId>,
    pub amount: Micros,
}

/// The lines of one kind of movement and their total.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementSection {
    pub lines: Vec<StatementLine>,
    /// Σ of the lines' amounts.
    pub total: Micros,
}

/// One ad account's monthly statement. Its funds are the available balance plus what its
/// campaigns hold for won slots (a hold or a release moves money inside them and is not a
/// line); `opening` + the four sections' totals = `closing`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub account: AccountId,
    /// The account's payment reference for top-ups (made on the server: the browser bundle
    /// carries no reference code).
    pub payment_reference: String,
    pub account_name: String,
    pub currency: String,
    /// `YYYY-MM`.
    pub month: String,
    /// The IANA time zone the month's boundaries are taken in (the account's).
    pub time_zone: String,
    /// The month's first instant, and the next month's first (exclusive), as UTC instants.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The month's first and last local days.
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// The month has not ended yet: `closing` is the funds so far.
    pub in_progress: bool,
    /// When the figures become final: the month's end plus the time money stamped before it
    /// may take to arrive (`ledger::SETTLE`). Until then a month that has ended
    /// (`!in_progress`) may still gain a line.
    pub final_from: DateTime<Utc>,
    /// The figures are final (`final_from` has passed).
    pub is_final: bool,
    /// Funds at `from`.
    pub opening: Micros,
    /// Credits received (bank transfers), one line each.
    pub top_ups: StatementSection,
    /// Charges for views, one line per campaign (negative).
    pub spend: StatementSection,
    /// Money returned to the advertiser's bank, one line each (negative).
    pub refunds: StatementSection,
    /// Charges given back, one line per campaign (positive); anything else that moved the
    /// funds is listed here too.
    pub corrections: StatementSection,
    /// Funds at `to` (or now, for a month in progress).
    pub closing: Micros,
    /// Of `closing`: free to spend, and held for won slots.
    pub closing_available: Micros,
    pub closing_held: Micros,
}

impl Statement {
    /// What the closing balance is called: the balance so far in a month that has not ended,
    /// a provisional closing balance while money stamped before the end may still arrive.
    pub fn closing_label(&self) -> String {
        if self.in_progress {
            "Balance so far".to_owned()
        } else if self.is_final {
            "Closing balance".to_owned()
        } else {
            format!(
                "Closing balance (provisional until {} UTC)",
                self.final_from.format("%Y-%m-%d %H:%M")
            )
        }
    }

    /// The four sections in the order a statement shows them, with their headings.
    pub fn sections(&self) -> [(&'static str, &StatementSection); 4] {
        [
            ("Top-ups", &self.top_ups),
            ("Spend by campaign", &self.spend),
            ("Refunds", &self.refunds),
            ("Corrections", &self.corrections),
        ]
    }

    /// Whether `opening` + every line = `closing` (it always should).
    pub fn balances(&self) -> bool {
        self.sections()
            .iter()
            .flat_map(|(_, s)| s.lines.iter())
            .try_fold(self.opening, |sum, line| sum.checked_add(line.amount))
            == Some(self.closing)
    }
}
