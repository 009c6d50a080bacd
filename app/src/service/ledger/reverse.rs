//! Reversals: posted charges given back to the advertiser's balance, each side out of the
//! account it went to (the channel's publisher payable, platform revenue), so a reversal has
//! the proportions of the charges it undoes. Named by the decision and the posted total it
//! covers, so the same charges are never given back twice.

use super::{NewTransfer, Side, post::transfer_many};
use crate::{
    error::AppError,
    model::{Micros, TransferKind},
};
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

/// Give back what `decision` posted beyond what was reversed before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reversal {
    pub decision: i64,
    /// The ad account whose balance gets the money back.
    pub account: i64,
    pub channel: i64,
    pub currency: String,
    /// Out of the channel's payable.
    pub publisher: Micros,
    /// Out of platform revenue.
    pub platform: Micros,
    /// The decision's posted total this reversal brings its reversals up to.
    pub through_posted: i64,
}

/// The idempotency key of one side (`publisher` or `platform`) of a reversal.
pub fn reversal_key(decision: i64, through_posted: i64, side: &str) -> String {
    format!("reversal:{decision}@{through_posted}:{side}")
}

/// Writes `reversals` in the caller's transaction (which holds the decisions' locks). `false`
/// when a channel's payable no longer holds the publisher side (already paid out): balances
/// may have changed, so the caller rolls back.
pub async fn reverse_many(
    db: &impl ConnectionTrait,
    reversals: &[Reversal],
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let mut transfers = Vec::with_capacity(reversals.len() * 2);
    for r in reversals {
        if r.publisher.0 < 0 || r.platform.0 < 0 || r.publisher.0 + r.platform.0 <= 0 {
            return Err(AppError::internal(
                "ledger",
                "a reversal gives back more than zero, neither side negative",
            ));
        }
        for (part, debit, side) in [
            (r.publisher, Side::payable(r.channel), "publisher"),
            (r.platform, Side::revenue(), "platform"),
        ] {
            if part.0 > 0 {
                transfers.push(NewTransfer {
                    debit,
                    credit: Side::balance(r.account),
                    amount: part,
                    currency: r.currency.clone(),
                    kind: TransferKind::Reversal,
                    object_type: "decision",
                    object_id: r.decision,
                    key: reversal_key(r.decision, r.through_posted, side),
                });
            }
        }
    }
    transfer_many(db, &transfers, now).await
}
