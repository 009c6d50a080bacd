//! Ledger and balance wire types: what kind of account money sits in, what kind of transfer
//! moved it, an ad account's balance and its history, and the publisher-share split.

use crate::model::Micros;
use serde::{Deserialize, Serialize};

/// What a ledger account holds money for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LedgerKind {
    /// The outside world (bank transfers in, refunds out); the only account that may be
    /// negative: it is owed what was credited.
    External,
    /// An ad account's available prepaid balance.
    AccountBalance,
    /// What a campaign has reserved for slots it won and not yet been charged.
    CampaignHolds,
    /// The platform's share of posted charges.
    Revenue,
    /// What the platform owes a channel's publisher.
    PublisherPayable,
}

impl LedgerKind {
    pub const ALL: [Self; 5] = [
        Self::External,
        Self::AccountBalance,
        Self::CampaignHolds,
        Self::Revenue,
        Self::PublisherPayable,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::External => "external",
            Self::AccountBalance => "account_balance",
            Self::CampaignHolds => "campaign_holds",
            Self::Revenue => "revenue",
            Self::PublisherPayable => "publisher_payable",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Whether the balance may go below zero (the database refuses it for every other kind).
    pub fn may_go_negative(self) -> bool {
        self == Self::External
    }
}

/// Why money moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransferKind {
    /// Finance credited a prepaid balance.
    TopUp,
    /// A won slot's expected cost, reserved from the balance.
    Hold,
    /// A charge for views, from a hold to the publisher and the platform.
    Post,
    /// The unused rest of a hold, back to the balance.
    Release,
    /// Money back to the outside world.
    Refund,
    /// A correction: a posted charge given back to the advertiser's balance, out of the
    /// publisher's payable and the platform's revenue in the charge's own proportions.
    Reversal,
    /// A publisher's accrued share paid out (payable to the outside world).
    Payout,
}

impl TransferKind {
    pub const ALL: [Self; 7] = [
        Self::TopUp,
        Self::Hold,
        Self::Post,
        Self::Release,
        Self::Refund,
        Self::Reversal,
        Self::Payout,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::TopUp => "top_up",
            Self::Hold => "hold",
            Self::Post => "post",
            Self::Release => "release",
            Self::Refund => "refund",
            Self::Reversal => "reversal",
            Self::Payout => "payout",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// How the account's history names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::TopUp => "Credit",
            Self::Hold => "Reserved for a slot",
            Self::Post => "Charged for views",
            Self::Release => "Unused reservation returned",
            Self::Refund => "Refund",
            Self::Reversal => "Charge reversed",
            Self::Payout => "Paid to publisher",
        }
    }
}

/// The publisher's part of a charge of `amount` at `share_bp` basis points (5,000 = 50 %),
/// rounded down to the micro; the platform's part is the rest, so the two always sum exactly
/// to the charge and any rounding micro goes to the platform.
pub fn publisher_part(amount: Micros, share_bp: i64) -> Micros {
    let share = i128::from(share_bp.clamp(0, 10_000));
    Micros((i128::from(amount.0.max(0)) * share / 10_000) as i64)
}

/// An ad account's money as its owners and billing members see it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub currency: String,
    /// Free to spend.
    pub available: Micros,
    /// Reserved for slots won and not yet charged.
    pub held: Micros,
    /// Charged for views, ever.
    pub spent: Micros,
    /// Credited, ever.
    pub credited: Micros,
    /// Refunded to the advertiser, ever.
    pub refunded: Micros,
    /// Given back by finance's corrections (reversed charges), ever. Available = credited −
    /// refunded − spent + given back − held.
    pub given_back: Micros,
    /// The owner's "balance low" threshold.
    pub low_balance: Option<Micros>,
    /// Below what a thousand views cost at the platform minimum price: campaigns cannot serve.
    pub out_of_funds: bool,
}

/// One line of an ad account's money history (newest first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceEntry {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub kind: TransferKind,
    /// What it is about, in words ("Bank transfer TR-123", "Campaign Spring sale").
    pub about: String,
    /// Positive when the available balance grew, negative when it shrank.
    pub amount: Micros,
    /// What it changed of the money the account's campaigns hold: positive for a hold,
    /// negative for a charge or a release, zero for what does not touch them.
    pub held: Micros,
    /// The delivery decision a hold, release, charge or reversal is about, in finance's
    /// ledger of the account (`None` in members' history).
    pub decision: Option<i64>,
}

/// The balance page: the balance, one page of history, and whether more is older.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancePage {
    pub account_name: String,
    pub balance: Balance,
    pub entries: Vec<BalanceEntry>,
    pub page: u64,
    pub has_more: bool,
    /// Whether the viewer may change the low-balance threshold (owners).
    pub can_set_threshold: bool,
    /// The account's payment reference and (on the members' page) where to send money.
    pub funding: super::FundingInstructions,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_sums_to_the_charge_and_the_platform_gets_the_rounding() {
        assert_eq!(publisher_part(Micros(1_000_001), 5_000), Micros(500_000));
        assert_eq!(publisher_part(Micros(3), 3_333), Micros(0));
        assert_eq!(publisher_part(Micros(10_000), 10_000), Micros(10_000));
        assert_eq!(
            publisher_part(Micros(i64::MAX), 5_000),
            Micros(i64::MAX / 2)
        );
        for amount in [1i64, 7, 999, 1_000_001, 123_456_789] {
            for bp in [0i64, 1, 2_500, 5_000, 9_999, 10_000] {
                let publisher = publisher_part(Micros(amount), bp);
                assert!(publisher.0 >= 0 && publisher.0 <= amount);
            }
        }
    }

    #[test]
    fn codes_round_trip() {
        for k in LedgerKind::ALL {
            assert_eq!(LedgerKind::from_code(k.code()), Some(k));
        }
        for k in TransferKind::ALL {
            assert_eq!(TransferKind::from_code(k.code()), Some(k));
        }
    }
}
