//! Delivery wire types: network API keys as admins see them, and a campaign's delivery as its
//! advertiser sees it (spend, holds, budget left and why it is or is not serving).

use crate::model::Micros;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use validator::Validate;

/// A delivery network's API key (never its secret, which is shown once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryKeyView {
    pub id: i64,
    pub name: String,
    /// The secret's first characters, to tell keys apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A key just created: its secret, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedDeliveryKey {
    pub id: i64,
    pub name: String,
    pub secret: String,
}

/// The name of a new key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct NewDeliveryKey {
    #[cfg_attr(
        feature = "ssr",
        validate(length(min = 1, max = 80, message = "A name has 1 to 80 characters."))
    )]
    pub name: String,
}

/// Why a running campaign is or is not getting slots now (a delivery state, not a status).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryState {
    /// Not running (draft, scheduled, paused, completed, archived): its status says why.
    NotRunning,
    /// Taking slots.
    Delivering,
    /// The ad account's balance cannot pay for slots; resumes on its own after a top-up.
    OutOfFunds,
    /// Posted + held has reached the total budget (waiting for views or releases).
    BudgetCommitted,
    /// Today's daily budget is committed; resumes tomorrow (account time zone).
    DailyBudgetReached,
    /// Outside its schedule or dates right now.
    OutsideSchedule,
    /// No approved, unpaused ad.
    NoApprovedAd,
}

impl DeliveryState {
    pub fn label(self) -> &'static str {
        match self {
            Self::NotRunning => "Not running",
            Self::Delivering => "Delivering",
            Self::OutOfFunds => "Out of funds",
            Self::BudgetCommitted => "Budget fully committed",
            Self::DailyBudgetReached => "Daily budget reached",
            Self::OutsideSchedule => "Outside schedule",
            Self::NoApprovedAd => "No approved ad",
        }
    }

    /// A CSS modifier for the badge.
    pub fn css(self) -> &'static str {
        match self {
            Self::Delivering => "ok",
            Self::NotRunning => "muted",
            Self::OutOfFunds | Self::NoApprovedAd => "bad",
            _ => "warn",
        }
    }
}

/// A campaign's money and delivery, read from the spend counters and the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDelivery {
    /// Charged for views.
    pub spent: Micros,
    /// Reserved for won slots, not yet charged.
    pub held: Micros,
    /// Total budget − spent − held (never below zero).
    pub budget_left: Micros,
    /// Committed today (account time zone), when there is a daily budget.
    pub today: Micros,
    /// What it may still commit to a slot: the least of the budget left, today's allowance
    /// left and the account's available balance.
    pub can_commit: Micros,
    /// The largest channel (average views per post) whose slot at the bid fits `can_commit`;
    /// delivery skips larger ones.
    pub largest_slot_views: i64,
    pub state: DeliveryState,
}

/// One ad's delivery totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdDelivery {
    pub views: i64,
    pub clicks: i64,
    pub spent: Micros,
}
