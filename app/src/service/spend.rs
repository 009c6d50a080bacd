//! Spend figures, read from the daily delivery rollup (never from raw events).

use crate::{
    entity::delivery_rollup,
    error::AppError,
    model::{CampaignId, Micros},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr,
};
use std::collections::HashMap;

/// Total spend of each campaign in `ids` (campaigns without delivery are absent). The caller
/// has scoped `ids` to the session's account.
pub async fn by_campaign(
    db: &impl ConnectionTrait,
    ids: &[CampaignId],
) -> Result<HashMap<CampaignId, Micros>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, Option<i64>)> = delivery_rollup::Entity::find()
        .select_only()
        .column(delivery_rollup::Column::CampaignId)
        // PostgreSQL sums BIGINT into NUMERIC: cast back so both databases answer an i64.
        .column_as(Expr::cust("CAST(SUM(spend_micros) AS BIGINT)"), "spent")
        .filter(delivery_rollup::Column::CampaignId.is_in(ids.iter().map(|c| c.0)))
        .group_by(delivery_rollup::Column::CampaignId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, spent)| (CampaignId(id), Micros(spent.unwrap_or(0))))
        .collect())
}

/// Total spend of one campaign.
pub async fn of_campaign(db: &impl ConnectionTrait, id: CampaignId) -> Result<Micros, AppError> {
    Ok(by_campaign(db, &[id])
        .await?
        .get(&id)
        .copied()
        .unwrap_or(Micros::ZERO))
}
