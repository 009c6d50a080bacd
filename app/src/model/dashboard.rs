//! The dashboard: what matters now, per role — live campaigns with today's spend against their
//! allowance, the balance and how many days of spend it leaves, items waiting for review, and
//! recent review decisions.

use crate::model::{AccountRole, AdId, CampaignId, DeliveryState, Micros, ReviewKind, Verdict};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Live campaigns listed on the dashboard (largest spend today first).
pub const DASHBOARD_CAMPAIGNS: usize = 8;
/// Review decisions listed.
pub const DASHBOARD_DECISIONS: u64 = 5;
/// Days of spend the rate is averaged over.
pub const SPEND_RATE_DAYS: i64 = 7;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Members: the current ad account, for its card.
    pub account: Option<AccountGlance>,
    /// Members who may see campaigns: the current account's running campaigns.
    pub live: Option<LiveCampaigns>,
    /// Members who may see money: the balance and its runway.
    pub money: Option<MoneyGlance>,
    /// Members who may see campaigns: their account's items in review and latest decisions.
    pub own_review: Option<ReviewGlance>,
    /// Moderators: the platform's review queue and latest decisions.
    pub moderation: Option<ReviewGlance>,
    /// Finance staff: accounts whose balance is low or out.
    pub finance: Option<FinanceGlance>,
}

/// The current ad account as the dashboard's card shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountGlance {
    pub name: String,
    /// The viewer's own role there.
    pub my_role: AccountRole,
    pub currency: String,
    pub time_zone: String,
    pub members: u64,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveCampaigns {
    pub currency: String,
    /// The largest spenders today, at most [`DASHBOARD_CAMPAIGNS`].
    pub rows: Vec<LiveCampaignRow>,
    /// How many campaigns are running.
    pub running: u64,
    /// Committed today by all of them (account time zone).
    pub today: Micros,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveCampaignRow {
    pub id: CampaignId,
    pub name: String,
    /// Committed today (posted and held), account time zone.
    pub today: Micros,
    /// The daily budget, when it has one.
    pub allowance: Option<Micros>,
    pub budget_left: Micros,
    pub state: DeliveryState,
}

impl LiveCampaignRow {
    /// Today's spend as a share of the allowance, in percent (0–100).
    pub fn used_percent(&self) -> Option<u32> {
        self.allowance.filter(|a| a.0 > 0).map(|a| {
            u32::try_from((i128::from(self.today.0) * 100 / i128::from(a.0)).clamp(0, 100))
                .unwrap_or(100)
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyGlance {
    pub currency: String,
    pub available: Micros,
    pub held: Micros,
    /// Average spend per day over the last [`SPEND_RATE_DAYS`] days.
    pub daily_rate: Micros,
    /// Whole days the available balance lasts at that rate (`None`: nothing spent lately).
    pub days_left: Option<i64>,
    /// Out of funds while campaigns are meant to deliver, or below the owner's alert.
    pub low_balance: bool,
    /// The owner's low-balance alert, when the available balance is below it.
    pub below_alert: Option<Micros>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewGlance {
    /// First reviews waiting.
    pub waiting: u64,
    /// Appeals waiting.
    pub appeals: u64,
    /// When the oldest waiting item was submitted.
    pub oldest: Option<DateTime<Utc>>,
    pub recent: Vec<DecisionRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRow {
    pub decided_at: DateTime<Utc>,
    pub campaign: CampaignId,
    pub campaign_name: String,
    /// The advertiser's account (for moderators' rows).
    pub account_name: Option<String>,
    pub kind: ReviewKind,
    /// The ad whose version was decided (none for a targeting change).
    pub ad: Option<DecidedAd>,
    pub outcome: Verdict,
    pub appeal: bool,
}

/// The ad a decision was about: its title and which of its versions was decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecidedAd {
    pub id: AdId,
    pub title: String,
    pub version: i32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinanceGlance {
    /// Ad accounts whose available balance is below the minimum CPM (out of funds).
    pub out_of_funds: u64,
    /// Ad accounts below their owner's low-balance threshold.
    pub low: u64,
    /// Credits (top-ups) recorded in the last 7 days.
    pub recent_credits: u64,
    /// Top-ups and refunds waiting for approval by someone other than the viewer.
    pub awaiting_you: u64,
    /// Corrections waiting for approval by someone other than the viewer.
    pub corrections_awaiting_you: u64,
    /// Payouts waiting for approval by someone other than the viewer.
    pub payouts_awaiting_you: u64,
    /// The bank details advertisers pay to, with their last change, when an admin changed them
    /// in the last [`BANK_DETAILS_CHANGE_DAYS`] days: finance checks them against the bank.
    pub bank_details_changed: Option<(super::BankDetailsChange, String)>,
}

/// How long finance's dashboard points out a change of the bank details.
pub const BANK_DETAILS_CHANGE_DAYS: i64 = 7;
