//! Expired holds: the unused rest of each decision past its expiry goes back to the ad
//! account's balance, exactly once even when several instances sweep at the same time (the
//! decision is settled by one conditional UPDATE, and the release's ledger key is the
//! decision's).

use crate::{
    entity::{campaign_day_spend, campaign_spend, delivery_decision},
    error::AppError,
    model::Micros,
    service::ledger,
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Released {
    pub decisions: u64,
    pub amount: Micros,
    /// The run stopped at its time limit with holds still due: run it again.
    pub more: bool,
}

/// How long after its expiry a hold is settled. A batch of events that arrived before the
/// expiry charges the hold; it may still be waiting for its turn to commit, for at most
/// [`ledger::WRITE_DEADLINE`] from its arrival (then it is rolled back). Settling only after
/// that — plus a minute for the clocks of several instances to differ — means such a batch is
/// charged as if no sweeper had run, instead of finding the rest already released when a
/// sweeper came first. Views reported after the expiry are free either way.
pub const SETTLE_AFTER: chrono::TimeDelta =
    chrono::TimeDelta::seconds(ledger::WRITE_DEADLINE.as_secs() as i64 + 60);

/// Settles up to `limit` decisions whose hold expired at or before `now` − [`SETTLE_AFTER`].
pub async fn release_expired(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Released, AppError> {
    // Every release of this run is stamped `now`, so each must commit within
    // `WRITE_DEADLINE` of the run's start, not of its own (a statement read five minutes
    // after a month ends must already see every transfer stamped in it); the run stops
    // starting new ones halfway there and leaves the rest to the next, with a new `now`.
    let started = std::time::Instant::now();
    let due: Vec<i64> = delivery_decision::Entity::find()
        .select_only()
        .column(delivery_decision::Column::Id)
        .filter(delivery_decision::Column::SettledAt.is_null())
        .filter(delivery_decision::Column::ExpiresAt.lte(now - SETTLE_AFTER))
        .order_by_asc(delivery_decision::Column::ExpiresAt)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let mut done = Released::default();
    for id in due {
        if started.elapsed() >= ledger::WRITE_DEADLINE / 2 {
            done.more = true;
            break;
        }
        let released = crate::with_retry!(db, since started, |txn| { settle(txn, id, now).await })?;
        if let Some(amount) = released {
            done.decisions += 1;
            done.amount = Micros(done.amount.0 + amount.0);
        }
    }
    Ok(done)
}

/// Settles one decision if it is still open and due (expired at or before `now` −
/// [`SETTLE_AFTER`]): `None` when another sweeper did, or it is not due.
pub async fn settle(
    txn: &sea_orm::DatabaseTransaction,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Option<Micros>, AppError> {
    // Lock order everywhere: the campaign's spend counter, the decision, then the ledger.
    let Some(open) = delivery_decision::Entity::find_by_id(id).one(txn).await? else {
        return Ok(None);
    };
    campaign_spend::Entity::update_many()
        .col_expr(
            campaign_spend::Column::Committed,
            Expr::col(campaign_spend::Column::Committed),
        )
        .filter(campaign_spend::Column::CampaignId.eq(open.campaign_id))
        .exec(txn)
        .await?;
    let claimed = delivery_decision::Entity::update_many()
        .col_expr(delivery_decision::Column::SettledAt, Expr::value(now))
        .col_expr(
            delivery_decision::Column::Released,
            Expr::col(delivery_decision::Column::Held)
                .sub(Expr::col(delivery_decision::Column::Posted)),
        )
        .filter(delivery_decision::Column::Id.eq(id))
        .filter(delivery_decision::Column::SettledAt.is_null())
        .filter(delivery_decision::Column::ExpiresAt.lte(now - SETTLE_AFTER))
        .exec(txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(None);
    }
    let d = delivery_decision::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::internal("sweep", "a settled decision vanished"))?;
    let amount = Micros(d.released);
    if amount.0 > 0 {
        campaign_spend::Entity::update_many()
            .col_expr(
                campaign_spend::Column::Committed,
                Expr::col(campaign_spend::Column::Committed).sub(amount.0),
            )
            .filter(campaign_spend::Column::CampaignId.eq(d.campaign_id))
            .exec(txn)
            .await?;
        campaign_day_spend::Entity::update_many()
            .col_expr(
                campaign_day_spend::Column::Committed,
                Expr::col(campaign_day_spend::Column::Committed).sub(amount.0),
            )
            .filter(campaign_day_spend::Column::CampaignId.eq(d.campaign_id))
            .filter(campaign_day_spend::Column::Day.eq(d.local_day))
            .exec(txn)
            .await?;
        let released = ledger::release(
            txn,
            d.account_id,
            d.campaign_id,
            &d.currency,
            amount,
            d.id,
            now,
        )
        .await?;
        if released == ledger::Outcome::Insufficient {
            // The books say a campaign's holds cover its open decisions; if they ever did
            // not, nothing of this settlement may stand.
            return Err(AppError::internal(
                "sweep",
                format!(
                    "campaign {}'s holds are short of decision {}",
                    d.campaign_id, d.id
                ),
            ));
        }
    }
    Ok(Some(amount))
}
