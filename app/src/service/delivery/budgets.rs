//! The budget side of a decision: reading the candidates' spend counters and balances into
//! [`Budgets`], and committing a won slot's cost against the caps with conditional UPDATEs
//! that re-check each cap against the row as it is when the UPDATE runs.

use super::{
    index::LiveCampaign,
    pacing::{self, Budgets},
};
use crate::{
    entity::{campaign_day_spend, campaign_spend, ledger_account},
    error::AppError,
    model::{LedgerKind, Micros},
};
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, ExprTrait, QueryFilter, Set,
    sea_query::Expr,
};
use std::collections::HashMap;

/// The budget state of each candidate, read in three queries.
pub async fn budgets<'a>(
    db: &impl ConnectionTrait,
    campaigns: impl Iterator<Item = &'a LiveCampaign>,
    now: DateTime<Utc>,
) -> Result<HashMap<i64, Budgets>, AppError> {
    let campaigns: Vec<&LiveCampaign> = campaigns.collect();
    let ids: Vec<i64> = campaigns.iter().map(|c| c.id).collect();
    let spend: HashMap<i64, i64> = campaign_spend::Entity::find()
        .filter(campaign_spend::Column::CampaignId.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.campaign_id, s.committed))
        .collect();
    let days: HashMap<(i64, NaiveDate), campaign_day_spend::Model> =
        campaign_day_spend::Entity::find()
            .filter(campaign_day_spend::Column::CampaignId.is_in(ids))
            .filter(campaign_day_spend::Column::Day.gte(now.date_naive() - Duration::days(1)))
            .all(db)
            .await?
            .into_iter()
            .map(|d| ((d.campaign_id, d.day), d))
            .collect();
    let balances: HashMap<(i64, String), i64> = ledger_account::Entity::find()
        .filter(ledger_account::Column::Kind.eq(LedgerKind::AccountBalance.code()))
        .filter(
            ledger_account::Column::OwnerId
                .is_in(campaigns.iter().map(|c| c.account_id).collect::<Vec<_>>()),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|a| ((a.owner_id, a.currency), a.balance))
        .collect();
    Ok(campaigns
        .into_iter()
        .map(|c| {
            let local = c.local(now);
            let today = days.get(&(c.id, local.date()));
            let committed_today = today.map_or(0, |d| d.committed);
            let hour_base = match today {
                Some(d) if d.hour == local.hour() as i32 => d.hour_base,
                _ => committed_today,
            };
            let b = Budgets {
                total: c.total_budget,
                committed: Micros(spend.get(&c.id).copied().unwrap_or(0)),
                daily: c.daily_budget,
                committed_today: Micros(committed_today),
                hour_base: Micros(hour_base),
                hours_left: pacing::hours_left(c.schedule.as_ref(), local),
                balance: Micros(
                    balances
                        .get(&(c.account_id, c.currency.clone()))
                        .copied()
                        .unwrap_or(0),
                ),
            };
            (c.id, b)
        })
        .collect())
}

/// Commits `cost` against the campaign's total budget and today's allowance and pace, each a
/// conditional UPDATE that re-checks the cap against the row as it is now. `false` when a cap
/// no longer admits it (a concurrent decision got there first).
pub async fn commit_budgets(
    txn: &DatabaseTransaction,
    c: &LiveCampaign,
    day: NaiveDate,
    hour: i32,
    hours_left: i64,
    cost: Micros,
) -> Result<bool, AppError> {
    campaign_spend::Entity::insert(campaign_spend::ActiveModel {
        campaign_id: Set(c.id),
        posted: Set(0),
        committed: Set(0),
    })
    .on_conflict_do_nothing_on([campaign_spend::Column::CampaignId])
    .exec(txn)
    .await?;
    let total = campaign_spend::Entity::update_many()
        .col_expr(
            campaign_spend::Column::Committed,
            Expr::col(campaign_spend::Column::Committed).add(cost.0),
        )
        .filter(campaign_spend::Column::CampaignId.eq(c.id))
        .filter(
            Expr::col(campaign_spend::Column::Committed)
                .add(cost.0)
                .lte(c.total_budget.0),
        )
        .exec(txn)
        .await?;
    if total.rows_affected != 1 {
        return Ok(false);
    }
    campaign_day_spend::Entity::insert(campaign_day_spend::ActiveModel {
        campaign_id: Set(c.id),
        day: Set(day),
        committed: Set(0),
        hour: Set(-1),
        hour_base: Set(0),
    })
    .on_conflict_do_nothing_on([
        campaign_day_spend::Column::CampaignId,
        campaign_day_spend::Column::Day,
    ])
    .exec(txn)
    .await?;
    let this_day = || {
        campaign_day_spend::Entity::update_many()
            .filter(campaign_day_spend::Column::CampaignId.eq(c.id))
            .filter(campaign_day_spend::Column::Day.eq(day))
    };
    // A new hour's pace starts from what the day has committed so far.
    this_day()
        .col_expr(campaign_day_spend::Column::Hour, Expr::value(hour))
        .col_expr(
            campaign_day_spend::Column::HourBase,
            Expr::col(campaign_day_spend::Column::Committed),
        )
        .filter(campaign_day_spend::Column::Hour.ne(hour))
        .exec(txn)
        .await?;
    let mut add = this_day().col_expr(
        campaign_day_spend::Column::Committed,
        Expr::col(campaign_day_spend::Column::Committed).add(cost.0),
    );
    if let Some(daily) = c.daily_budget {
        let committed = || Expr::col(campaign_day_spend::Column::Committed);
        let base = || Expr::col(campaign_day_spend::Column::HourBase);
        add = add
            .filter(committed().add(cost.0).lte(daily.0))
            // The pace: committed < base + (daily − base) / hours left (integer division).
            .filter(
                committed()
                    .lt(base().add(Expr::val(daily.0).sub(base()).div(Ord::max(hours_left, 1)))),
            );
    }
    Ok(add.exec(txn).await?.rows_affected == 1)
}
