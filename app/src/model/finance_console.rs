//! Finance console wire types beyond balances: corrections (reversing posted charges), spend
//! by account and period, publisher payables and payouts, and reconciliation.

use crate::model::{FinanceRequestStatus, Micros, TransferKind};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use validator::Validate;

/// A correction as finance types it: reverse the posted charges of one decision, or of one
/// channel's decisions made on UTC days `from`–`to`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct CorrectionInput {
    /// `decision` or `channel`.
    pub scope: String,
    /// The decision's number (scope `decision`).
    #[cfg_attr(
        feature = "ssr",
        validate(length(max = 20, message = "Enter a decision number."))
    )]
    pub decision: String,
    /// The channel's handle as in the catalog (scope `channel`).
    #[cfg_attr(
        feature = "ssr",
        validate(length(max = 64, message = "Enter the channel's handle."))
    )]
    pub channel: String,
    /// First UTC day, `YYYY-MM-DD` (scope `channel`).
    #[cfg_attr(feature = "ssr", validate(length(max = 10)))]
    pub from: String,
    /// Last UTC day, `YYYY-MM-DD` (scope `channel`).
    #[cfg_attr(feature = "ssr", validate(length(max = 10)))]
    pub to: String,
    /// Why (e.g. "invalid traffic found by the publisher audit").
    #[cfg_attr(
        feature = "ssr",
        validate(length(
            min = 3,
            max = 500,
            message = "Say why the charges are reversed (3 to 500 characters)."
        ))
    )]
    pub reason: String,
    /// Only show what would be reversed, write nothing.
    #[serde(default)]
    pub preview: bool,
    /// Have a second finance person approve it whatever the amount (above the approval
    /// threshold one must anyway).
    #[serde(default)]
    pub ask_approval: bool,
}

/// What a correction reversed (or, previewed, would reverse), per currency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectionResult {
    /// The correction's number; `None` for a preview or when nothing was left to reverse.
    pub id: Option<i64>,
    pub preview: bool,
    /// Decisions with charges reversed.
    pub decisions: u64,
    /// Ad accounts given money back.
    pub accounts: u64,
    pub totals: Vec<CorrectionTotal>,
    /// Above the approval threshold: carrying it out needs a second finance person.
    pub needs_approval: bool,
    /// The request now waiting for that second person (nothing was reversed yet).
    pub waiting: Option<i64>,
    /// The same correction was already waiting: `waiting` names that request.
    pub already_waiting: bool,
}

/// A correction's sums in one currency: `amount = publisher + platform`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectionTotal {
    pub currency: String,
    pub amount: Micros,
    pub publisher: Micros,
    pub platform: Micros,
}

/// One correction in finance's list (newest first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectionRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// "Decision 17" or "@channel, 2026-11-01 – 2026-11-30".
    pub what: String,
    pub reason: String,
    pub decisions: i64,
    pub totals: Vec<CorrectionTotal>,
    pub by: String,
    /// The second finance person who approved it (corrections above the threshold).
    pub approved_by: Option<String>,
}

/// A correction above the approval threshold, waiting for (or decided by) a second finance
/// person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectionRequestRow {
    pub id: i64,
    pub status: crate::model::FinanceRequestStatus,
    /// "Decision 17" or "@channel, 2026-11-01 – 2026-11-30 (UTC)".
    pub what: String,
    pub reason: String,
    pub decisions: i64,
    /// What it would give back when asked.
    pub totals: Vec<CorrectionTotal>,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    /// Why it was rejected.
    pub rejection: String,
    /// The correction its approval made.
    pub correction: Option<i64>,
    /// The viewer asked for it (and so may cancel it, not decide it).
    pub mine: bool,
}

/// Corrections waiting for a second person (oldest first) and the latest decided.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectionRequests {
    pub waiting: Vec<CorrectionRequestRow>,
    pub recent: Vec<CorrectionRequestRow>,
    /// The approval threshold, in currency units.
    pub threshold_units: i64,
}

/// How spend is grouped in time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpendPeriod {
    #[default]
    Day,
    Month,
}

impl SpendPeriod {
    pub fn code(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "day" => Some(Self::Day),
            "month" => Some(Self::Month),
            _ => None,
        }
    }
}

/// Spend of one ad account in one period (UTC): charged, reversed, and the net.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendRow {
    /// `YYYY-MM-DD` or `YYYY-MM`.
    pub period: String,
    pub account_id: i64,
    pub account_name: String,
    pub currency: String,
    pub charged: Micros,
    pub reversed: Micros,
    pub net: Micros,
}

/// Spend by account and period for UTC days `from`–`to`, with totals per currency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub period: SpendPeriod,
    pub rows: Vec<SpendRow>,
    /// The rows were cut at the page's maximum (the CSV has all).
    pub truncated: bool,
    pub totals: Vec<SpendTotal>,
}

/// Totals of a spend report in one currency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendTotal {
    pub currency: String,
    pub charged: Micros,
    pub reversed: Micros,
    pub net: Micros,
}

/// One channel's publisher share for one UTC month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayableRow {
    pub channel_id: i64,
    pub handle: String,
    pub title: String,
    pub currency: String,
    /// The month's publisher parts of charges.
    pub accrued: Micros,
    /// The month's publisher parts of reversals.
    pub reversed: Micros,
    /// `accrued - reversed`: what the month's payout is.
    pub owed: Micros,
    /// The channel's payable balance now (all months, less payouts).
    pub balance: Micros,
    /// Paid: when, and the payment's reference.
    pub paid: Option<(DateTime<Utc>, String)>,
    /// Marked paid above the approval threshold: the payout request waiting for a second
    /// finance person, and its payment's reference.
    pub waiting: Option<(i64, String)>,
}

/// Payables for one UTC month, per channel, with what is owed in all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payables {
    /// `YYYY-MM`.
    pub month: String,
    pub rows: Vec<PayableRow>,
    pub truncated: bool,
    /// Per currency: owed for the month and not yet paid (nor marked paid and waiting for
    /// approval).
    pub unpaid: Vec<(String, Micros)>,
    /// Per currency: every channel's payable balance (what the platform owes publishers now).
    pub owed_now: Vec<(String, Micros)>,
    /// Whether the month has ended (UTC) and its last slots have had time to arrive
    /// (`ledger::SETTLE`), so its payouts can be marked paid.
    pub ended: bool,
    /// Whether the viewer may mark payouts paid (finance; admins read).
    pub can_pay: bool,
    /// Payouts of any month waiting for a second finance person (oldest first) and the latest
    /// decided.
    pub requests: PayoutRequests,
}

/// A payout marked paid above the approval threshold, as finance's payables page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutRequestRow {
    pub id: i64,
    pub status: FinanceRequestStatus,
    pub channel_id: i64,
    pub handle: String,
    pub currency: String,
    /// `YYYY-MM`.
    pub month: String,
    /// What the month owed when asked: an approval pays exactly this.
    pub amount: Micros,
    pub reference: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub rejection: String,
    /// The viewer asked for it (so cannot decide it, only cancel it).
    pub mine: bool,
}

/// Payouts waiting for a second finance person, the latest decided, and the threshold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutRequests {
    /// The oldest waiting, at most 200.
    pub waiting: Vec<PayoutRequestRow>,
    /// How many are waiting in all.
    pub waiting_total: u64,
    pub recent: Vec<PayoutRequestRow>,
    /// A payout above this many units of its currency waits for a second finance person.
    pub threshold_units: i64,
}

/// What marking a channel's month paid moved out of its payable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutPaid {
    pub amount: Micros,
    pub currency: String,
    /// `YYYY-MM`.
    pub month: String,
    /// The channel's handle, as in the catalog.
    pub channel: String,
    /// Above the approval threshold: not paid yet, but this payout request waits for a second
    /// finance person.
    pub waiting: Option<i64>,
}

/// A second finance person's decision on a waiting payout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutDecision {
    pub request: i64,
    /// Approved (and paid) or rejected (nothing paid).
    pub status: FinanceRequestStatus,
    pub payout: PayoutPaid,
}

/// Marking one channel's month paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct PayoutInput {
    pub channel: i64,
    /// An ISO 4217 code, as the payables list names it.
    #[cfg_attr(
        feature = "ssr",
        validate(length(equal = 3, message = "Choose a currency from the list."))
    )]
    pub currency: String,
    /// `YYYY-MM`.
    #[cfg_attr(
        feature = "ssr",
        validate(length(max = 7, message = "Enter a month like 2026-11."))
    )]
    pub month: String,
    /// The outgoing payment's reference.
    #[cfg_attr(
        feature = "ssr",
        validate(
            length(
                min = 1,
                max = 100,
                message = "Enter the payment's reference (up to 100 characters)."
            ),
            custom(function = "super::finance::validate_reference")
        )
    )]
    pub reference: String,
    /// Have a second finance person approve it whatever the amount (above the approval
    /// threshold one must anyway).
    #[serde(default)]
    pub ask_approval: bool,
}

/// One ad account's figures from each source for a period (its own time zone's days).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileRow {
    pub account_id: i64,
    pub account_name: String,
    pub currency: String,
    /// Post transfers made in the period.
    pub ledger_charged: Micros,
    /// Σ what accepted events posted, by when they were accepted.
    pub events_charged: Micros,
    /// Σ what accepted events posted, by the day of their views.
    pub events_spend: Micros,
    /// The reporting rollup's spend for the period's days.
    pub rollup_spend: Micros,
    /// Reversal transfers made in the period.
    pub ledger_reversed: Micros,
    /// Σ charge reversals recorded in the period.
    pub corrections_reversed: Micros,
    /// The rollup's reversed money for the period's days.
    pub rollup_reversed: Micros,
    pub events_views: i64,
    pub rollup_views: i64,
    pub events_clicks: i64,
    pub rollup_clicks: i64,
    /// The same period from the rollup without channels (report totals and days read it):
    /// spend, reversed, views and clicks.
    pub daily_rollup: [i64; 4],
}

impl ReconcileRow {
    /// What disagrees, in words; empty when every source agrees.
    pub fn differences(&self) -> Vec<String> {
        self.differences_by_kind()
            .into_iter()
            .map(|(text, _)| text)
            .collect()
    }

    /// What disagrees, each with the kind of ledger transfer that moved the money involved
    /// (charges for the delivery figures, reversals for the corrections), so a page can link
    /// to exactly those transfers in the account's history.
    pub fn differences_by_kind(&self) -> Vec<(String, TransferKind)> {
        let mut out = Vec::new();
        let c = &self.currency;
        if self.ledger_charged != self.events_charged {
            out.push((
                format!(
                    "Ledger charged {} but accepted events posted {}",
                    self.ledger_charged.display(c),
                    self.events_charged.display(c)
                ),
                TransferKind::Post,
            ));
        }
        if self.events_spend != self.rollup_spend {
            out.push((
                format!(
                    "Events' spend {} but reports' rollup {}",
                    self.events_spend.display(c),
                    self.rollup_spend.display(c)
                ),
                TransferKind::Post,
            ));
        }
        if self.ledger_reversed != self.corrections_reversed
            || self.ledger_reversed != self.rollup_reversed
        {
            out.push((
                format!(
                    "Ledger reversed {}, corrections {}, reports' rollup {}",
                    self.ledger_reversed.display(c),
                    self.corrections_reversed.display(c),
                    self.rollup_reversed.display(c)
                ),
                TransferKind::Reversal,
            ));
        }
        if self.events_views != self.rollup_views || self.events_clicks != self.rollup_clicks {
            out.push((
                format!(
                    "Events counted {} views and {} clicks, reports' rollup {} and {}",
                    self.events_views, self.events_clicks, self.rollup_views, self.rollup_clicks
                ),
                TransferKind::Post,
            ));
        }
        // Report totals and days read the rollup without channels: it must agree with the
        // events and the ledger as the per-channel one does.
        let [spend, reversed, views, clicks] = self.daily_rollup;
        if (spend, views, clicks) != (self.events_spend.0, self.events_views, self.events_clicks) {
            out.push((
                format!(
                    "Events' spend {}, {} views and {} clicks but reports' daily totals {}, \
                     {views} and {clicks}",
                    self.events_spend.display(c),
                    self.events_views,
                    self.events_clicks,
                    Micros(spend).display(c),
                ),
                TransferKind::Post,
            ));
        }
        if reversed != self.ledger_reversed.0 {
            out.push((
                format!(
                    "Ledger reversed {} but reports' daily totals {}",
                    self.ledger_reversed.display(c),
                    Micros(reversed).display(c)
                ),
                TransferKind::Reversal,
            ));
        }
        out
    }
}

/// Accounts per page of a reconciliation.
pub const RECONCILE_PAGE_ROWS: u64 = 50;
/// The most accounts with differences a reconciliation lists (it counts them all).
pub const RECONCILE_MAX_DIFFERENCES: usize = 100;

/// Reconciliation of a period: a page of the accounts with money movement (by id), totals per
/// currency over all of them, and the accounts whose sources disagree.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Zero-based page of `rows` ([`RECONCILE_PAGE_ROWS`] each).
    pub page: u64,
    /// Accounts with money movement in the period (all pages).
    pub accounts: u64,
    pub rows: Vec<ReconcileRow>,
    /// Per currency (`account_id` 0), over every account.
    pub totals: Vec<ReconcileRow>,
    /// Accounts with differences, the first [`RECONCILE_MAX_DIFFERENCES`] by id.
    pub differences: Vec<ReconcileRow>,
    /// How many accounts have differences (all of them).
    pub differences_total: u64,
    /// Ledger accounts whose cached balance differs from a replay of their transfers.
    pub balance_differences: Vec<String>,
}
