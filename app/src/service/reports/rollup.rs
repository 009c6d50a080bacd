//! The one way the reporting rollups are written: `delivery_rollup` (per campaign, ad, channel
//! and local day) and `delivery_rollup_day` (the same without the channel), added to together
//! in the caller's transaction — by accepted events, by finance's reversals, and by the
//! benchmark's bulk history — so the two always agree (the reconciliation checks it).

use crate::entity::{delivery_rollup, delivery_rollup_day};
use chrono::NaiveDate;
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, Set,
    sea_query::{Expr, OnConflict},
};
use std::collections::BTreeMap;

/// A row's key: (campaign, ad, channel, local day).
pub type Key = (i64, i64, i64, NaiveDate);

/// What a row gains: views, clicks, spend charged, spend reversed (micro-units), of the
/// campaign's account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Add {
    pub account: i64,
    pub views: i64,
    pub clicks: i64,
    pub spend: i64,
    pub reversed: i64,
}

impl Add {
    fn add(&mut self, other: &Add) {
        self.account = other.account;
        self.views += other.views;
        self.clicks += other.clicks;
        self.spend += other.spend;
        self.reversed += other.reversed;
    }
}

/// Rows per statement (9 or 8 values each: far below either database's limit on binds).
const CHUNK: usize = 500;

/// Adds `rows` to both rollups, a row at a time created or added to. Rows are written in key
/// order (a `BTreeMap`, and the day rows sorted as well), so two writers touching the same
/// rows on PostgreSQL lock them in the same order.
pub async fn add(db: &impl ConnectionTrait, rows: &BTreeMap<Key, Add>) -> Result<(), DbErr> {
    let mut days: BTreeMap<(i64, NaiveDate, i64), Add> = BTreeMap::new();
    let detail: Vec<delivery_rollup::ActiveModel> = rows
        .iter()
        .map(|(&(campaign_id, ad_id, channel_id, day), a)| {
            days.entry((campaign_id, day, ad_id)).or_default().add(a);
            delivery_rollup::ActiveModel {
                campaign_id: Set(campaign_id),
                ad_id: Set(ad_id),
                channel_id: Set(channel_id),
                day: Set(day),
                account_id: Set(a.account),
                views: Set(a.views),
                clicks: Set(a.clicks),
                spend_micros: Set(a.spend),
                reversed_micros: Set(a.reversed),
            }
        })
        .collect();
    for chunk in detail.chunks(CHUNK) {
        delivery_rollup::Entity::insert_many(chunk.to_vec())
            .on_conflict(adding(
                "delivery_rollup",
                [
                    delivery_rollup::Column::CampaignId,
                    delivery_rollup::Column::AdId,
                    delivery_rollup::Column::ChannelId,
                    delivery_rollup::Column::Day,
                ],
                [
                    delivery_rollup::Column::Views,
                    delivery_rollup::Column::Clicks,
                    delivery_rollup::Column::SpendMicros,
                    delivery_rollup::Column::ReversedMicros,
                ],
            ))
            .exec_without_returning(db)
            .await?;
    }
    let daily: Vec<delivery_rollup_day::ActiveModel> = days
        .into_iter()
        .map(
            |((campaign_id, day, ad_id), a)| delivery_rollup_day::ActiveModel {
                campaign_id: Set(campaign_id),
                day: Set(day),
                ad_id: Set(ad_id),
                account_id: Set(a.account),
                views: Set(a.views),
                clicks: Set(a.clicks),
                spend_micros: Set(a.spend),
                reversed_micros: Set(a.reversed),
            },
        )
        .collect();
    for chunk in daily.chunks(CHUNK) {
        delivery_rollup_day::Entity::insert_many(chunk.to_vec())
            .on_conflict(adding(
                "delivery_rollup_day",
                [
                    delivery_rollup_day::Column::CampaignId,
                    delivery_rollup_day::Column::Day,
                    delivery_rollup_day::Column::AdId,
                ],
                [
                    delivery_rollup_day::Column::Views,
                    delivery_rollup_day::Column::Clicks,
                    delivery_rollup_day::Column::SpendMicros,
                    delivery_rollup_day::Column::ReversedMicros,
                ],
            ))
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// On a key already there, the new row's figures are added to the stored ones.
fn adding<C: sea_orm::sea_query::IntoIden + Copy>(
    table: &str,
    key: impl IntoIterator<Item = C>,
    sums: [C; 4],
) -> OnConflict {
    let mut conflict = OnConflict::columns(key);
    for column in sums {
        let name = column.into_iden().to_string();
        conflict.value(
            column,
            Expr::cust(format!("{table}.{name} + excluded.{name}")),
        );
    }
    conflict
}
