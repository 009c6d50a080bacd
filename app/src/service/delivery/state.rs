//! What advertisers see of delivery: each campaign's spend, holds, budget left and delivery
//! state, and each ad's views, clicks and spend — read from the counters the ledger keeps and
//! the reporting rollup (never from raw events).

use super::pacing;
use crate::{
    entity::{campaign, delivery_rollup},
    error::AppError,
    model::{AdDelivery, CampaignDelivery, CampaignStatus, DeliveryState, Micros, Schedule},
    service::{ledger, settings, sql::Sql},
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr,
};
use std::collections::HashMap;

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
    let local = now.with_timezone(&tz).naive_local();
    // One statement (the dashboard and the campaign list ask on every visit): each campaign's
    // counters, today's committed spend and whether an approved ad serves, with the account's
    // balance and the price floor.
    let mut sql = Sql::new();
    let ids = campaigns
        .iter()
        .map(|c| sql.bind(c.id))
        .collect::<Vec<_>>()
        .join(", ");
    let day = sql.bind(local.date());
    let paused = sql.bind(false);
    let balance_of = ledger::balance_subquery(&mut sql, ledger::Side::balance(account), currency);
    let floor_of = settings::min_cpm_subquery(&mut sql);
    sql.text = format!(
        "SELECT c.id, s.posted, s.committed, d.committed AS today, \
                CASE WHEN EXISTS (SELECT 1 FROM ad \
                      WHERE ad.campaign_id = c.id AND ad.paused = {paused} \
                        AND ad.live_version_id IS NOT NULL) THEN 1 ELSE 0 END AS with_ads, \
                {balance_of} AS balance, {floor_of} AS floor \
           FROM campaign c \
           LEFT JOIN campaign_spend s ON s.campaign_id = c.id \
           LEFT JOIN campaign_day_spend d ON d.campaign_id = c.id AND d.day = {day} \
          WHERE c.id IN ({ids})"
    );
    struct Counters {
        posted: i64,
        committed: i64,
        today: i64,
        with_ads: bool,
    }
    let mut counters = HashMap::with_capacity(campaigns.len());
    let (mut balance, mut floor) = (Micros(0), None);
    for row in db
        .query_all_raw(sql.build(db.get_database_backend()))
        .await?
    {
        let id: i64 = row.try_get("", "id")?;
        let zero = |column: &str| -> Result<i64, AppError> {
            Ok(row.try_get::<Option<i64>>("", column)?.unwrap_or(0))
        };
        counters.insert(
            id,
            Counters {
                posted: zero("posted")?,
                committed: zero("committed")?,
                today: zero("today")?,
                with_ads: row.try_get::<i32>("", "with_ads")? != 0,
            },
        );
        // An account never credited has no ledger row yet: zero.
        balance = Micros(zero("balance")?);
        floor = Some(settings::min_cpm_of(&row, "floor")?);
    }
    // No campaign row came back: every campaign then counts as without an approved ad, which
    // is decided before the floor is looked at.
    let floor = floor.unwrap_or(Micros(0));
    Ok(campaigns
        .iter()
        .map(|c| {
            let k = counters.get(&c.id);
            let posted = k.map_or(0, |k| k.posted);
            let committed = k.map_or(0, |k| k.committed);
            let today = k.map_or(0, |k| k.today);
            let left = (c.total_budget_micros - committed).max(0);
            let schedule: Option<Schedule> = c
                .schedule
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok());
            let in_hours = c.start_at.is_none_or(|t| t <= now)
                && c.end_at.is_none_or(|t| now < t)
                && schedule.as_ref().is_none_or(|s| s.allows(local));
            let one_view = pacing::expected_cost(1, Micros(c.bid_micros)).unwrap_or(Micros(1));
            let today_left = c
                .daily_budget_micros
                .map_or(i64::MAX, |d| (d - today).max(0));
            let can_commit = Micros(left.min(today_left).min(balance.0.max(0)));
            let state = if c.status != CampaignStatus::Running {
                DeliveryState::NotRunning
            } else if !k.is_some_and(|k| k.with_ads) {
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
                    can_commit,
                    largest_slot_views: pacing::largest_slot_views(
                        can_commit,
                        Micros(c.bid_micros),
                    ),
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
