//! What advertisers see of delivery: each campaign's spend, holds, budget left and delivery
//! state, and each ad's views, clicks and spend — read from the counters the ledger keeps and
//! the reporting rollup (never from raw events).

use super::pacing;
use crate::{
    entity::{ad, campaign, campaign_day_spend, campaign_spend, delivery_rollup},
    error::AppError,
    model::{AdDelivery, CampaignDelivery, CampaignStatus, DeliveryState, Micros, Schedule},
    service::{ledger, settings},
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr,
};
use std::collections::{HashMap, HashSet};

/// The delivery of each campaign in `campaigns` (all of one account, already scoped to it).
pub async fn for_campaigns(
    db: &impl ConnectionTrait,
    campaigns: &[campaign::Model],
    currency: &str,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<HashMap<i64, CampaignDelivery>, AppError> {
    let Some(account) = campaigns.first().map(|c| c.account_id) else {
        return Ok(HashMap::new());
    };
    let ids: Vec<i64> = campaigns.iter().map(|c| c.id).collect();
    let spend: HashMap<i64, campaign_spend::Model> = campaign_spend::Entity::find()
        .filter(campaign_spend::Column::CampaignId.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.campaign_id, s))
        .collect();
    let local = now.with_timezone(&tz).naive_local();
    let today: HashMap<i64, i64> = campaign_day_spend::Entity::find()
        .filter(campaign_day_spend::Column::CampaignId.is_in(ids.clone()))
        .filter(campaign_day_spend::Column::Day.eq(local.date()))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.campaign_id, d.committed))
        .collect();
    let with_ads: HashSet<i64> = ad::Entity::find()
        .select_only()
        .column(ad::Column::CampaignId)
        .filter(ad::Column::CampaignId.is_in(ids))
        .filter(ad::Column::Paused.eq(false))
        .filter(ad::Column::LiveVersionId.is_not_null())
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let balance = ledger::balance_of(db, ledger::Side::balance(account), currency).await?;
    let floor = settings::load(db).await?.money.min_cpm;
    Ok(campaigns
        .iter()
        .map(|c| {
            let s = spend.get(&c.id);
            let posted = s.map_or(0, |s| s.posted);
            let committed = s.map_or(0, |s| s.committed);
            let today = today.get(&c.id).copied().unwrap_or(0);
            let left = (c.total_budget_micros - committed).max(0);
            let schedule: Option<Schedule> = c
                .schedule
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok());
            let in_hours = c.start_at.is_none_or(|t| t <= now)
                && c.end_at.is_none_or(|t| now < t)
                && schedule.as_ref().is_none_or(|s| s.allows(local));
            let one_view = pacing::expected_cost(1, Micros(c.bid_micros)).unwrap_or(Micros(1));
            let state = if c.status != CampaignStatus::Running {
                DeliveryState::NotRunning
            } else if !with_ads.contains(&c.id) {
                DeliveryState::NoApprovedAd
            } else if balance < floor {
                DeliveryState::OutOfFunds
            } else if left < one_view.0 {
                DeliveryState::BudgetCommitted
            } else if c.daily_budget_micros.is_some_and(|d| today >= d) {
                DeliveryState::DailyBudgetReached
            } else if !in_hours {
                DeliveryState::OutsideSchedule
            } else {
                DeliveryState::Delivering
            };
            (
                c.id,
                CampaignDelivery {
                    spent: Micros(posted),
                    held: Micros(committed - posted),
                    budget_left: Micros(left),
                    today: Micros(today),
                    state,
                },
            )
        })
        .collect())
}

/// Views, clicks and spend of each ad of `campaign` (already scoped to the account).
pub async fn for_ads(
    db: &impl ConnectionTrait,
    campaign: i64,
) -> Result<HashMap<i64, AdDelivery>, AppError> {
    let rows: Vec<(i64, i64, i64, i64)> = delivery_rollup::Entity::find()
        .select_only()
        .column(delivery_rollup::Column::AdId)
        .column_as(Expr::cust("CAST(SUM(views) AS BIGINT)"), "views")
        .column_as(Expr::cust("CAST(SUM(clicks) AS BIGINT)"), "clicks")
        .column_as(
            Expr::cust("CAST(SUM(spend_micros - reversed_micros) AS BIGINT)"),
            "spend",
        )
        .filter(delivery_rollup::Column::CampaignId.eq(campaign))
        .group_by(delivery_rollup::Column::AdId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(ad, views, clicks, spend)| {
            (
                ad,
                AdDelivery {
                    views,
                    clicks,
                    spent: Micros(spend),
                },
            )
        })
        .collect())
}
