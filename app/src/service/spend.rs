//! Spend figures: what each campaign has been charged, from the spend counter the ledger keeps
//! in step with its posted transfers (never from raw events).

use crate::{
    entity::campaign_spend,
    error::AppError,
    model::{CampaignId, Micros},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
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
    Ok(campaign_spend::Entity::find()
        .filter(campaign_spend::Column::CampaignId.is_in(ids.iter().map(|c| c.0)))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (CampaignId(s.campaign_id), Micros(s.posted)))
        .collect())
}

/// Total spend of one campaign, its spend counter locked until the caller's transaction ends
/// (`FOR UPDATE` on PostgreSQL; SQLite's writer holds the database): a batch of events posts
/// only under that lock and reads the campaign's total budget after taking it, so a budget
/// checked against this figure cannot be overtaken by spend committed meanwhile.
pub async fn of_campaign_locked(
    txn: &impl ConnectionTrait,
    id: CampaignId,
) -> Result<Micros, AppError> {
    Ok(campaign_spend::Entity::find()
        .filter(campaign_spend::Column::CampaignId.eq(id.0))
        .lock_exclusive()
        .one(txn)
        .await?
        .map_or(Micros::ZERO, |s| Micros(s.posted)))
}

/// Total spend of one campaign.
pub async fn of_campaign(db: &impl ConnectionTrait, id: CampaignId) -> Result<Micros, AppError> {
    Ok(by_campaign(db, &[id])
        .await?
        .get(&id)
        .copied()
        .unwrap_or(Micros::ZERO))
}
