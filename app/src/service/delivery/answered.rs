//! The answers already given: each (key, slot id) is claimed with its first answer, and the
//! same slot asked again gets that answer back.

use super::decide::{Decided, DecisionAnswer, Request};
use crate::{
    entity::{ad_version, delivery_decision, delivery_slot},
    error::AppError,
    model::Micros,
    service::sql::Sql,
};
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait};
use std::collections::HashSet;

/// The batch's slots that are claimed already.
pub(super) async fn claimed_slots(
    txn: &DatabaseTransaction,
    batch: &[Request],
) -> Result<HashSet<(i64, String)>, AppError> {
    let backend = txn.get_database_backend();
    let mut sql = Sql::new();
    let pairs: Vec<String> = batch
        .iter()
        .map(|r| {
            format!(
                "(key_id = {} AND slot_id = {})",
                sql.bind(r.key_id),
                sql.bind(r.slot_id.clone())
            )
        })
        .collect();
    sql.text = format!(
        "SELECT key_id, slot_id FROM delivery_slot WHERE {}",
        pairs.join(" OR ")
    );
    let mut out = HashSet::new();
    for row in txn.query_all_raw(sql.build(backend)).await? {
        out.insert((row.try_get_by_index(0)?, row.try_get_by_index(1)?));
    }
    Ok(out)
}

/// The answer already given to (`key_id`, `slot_id`), if any. A slot id used for another
/// channel is a conflict.
pub(super) async fn replay(
    db: &impl ConnectionTrait,
    key_id: i64,
    slot_id: &str,
    channel_id: i64,
) -> Result<Option<Decided>, AppError> {
    let Some(slot) = delivery_slot::Entity::find_by_id((key_id, slot_id.to_owned()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if slot.channel_id != channel_id {
        return Err(AppError::Conflict(
            "This slot id was already used for another channel.".into(),
        ));
    }
    let Some(decision_id) = slot.decision_id else {
        return Ok(Some(Decided::NoAd));
    };
    let decision = delivery_decision::Entity::find_by_id(decision_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("decide", "a slot names a missing decision"))?;
    let version = ad_version::Entity::find_by_id(decision.ad_version_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("decide", "a decision names a missing version"))?;
    Ok(Some(Decided::Ad(DecisionAnswer {
        decision_id,
        ad: version.copy(),
        ad_version_id: version.id,
        price_cpm: Micros(decision.price_cpm),
        currency: decision.currency,
        held: Micros(decision.held),
        expires_at: decision.expires_at,
    })))
}
