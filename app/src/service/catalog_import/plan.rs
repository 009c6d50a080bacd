//! Comparing a parsed file with the catalog as it is now: which valid rows are new, which
//! change a channel, which change nothing.

use super::{parse::ParsedFile, staging};
use crate::{
    entity::channel,
    error::AppError,
    model::{CatalogImportId, ChannelFacts, Topic},
    service::catalog::ACTIVE,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;

/// Handles looked up per query when comparing a file with the catalog.
const LOOKUP_CHUNK: usize = 500;

/// While applying, the comparison renews the import's heartbeat at least this often, however
/// slow its lookups are (well inside [`staging::HEARTBEAT_LEASE`]).
const BEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// What applying a file's valid rows would do to the catalog as it is now.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// New and changed rows with their topic id, ready to upsert, in handle order.
    pub writes: Vec<(ChannelFacts, i64)>,
    pub new_rows: u64,
    pub changed_rows: u64,
    pub unchanged_rows: u64,
}

/// Topic ids by slug.
pub(super) fn topic_ids(topics: &[Topic]) -> HashMap<String, i64> {
    topics.iter().map(|t| (t.slug.clone(), t.id.0)).collect()
}

fn unchanged(current: &channel::Model, facts: &ChannelFacts, topic_id: i64) -> bool {
    current.title == facts.title
        && current.topic_id == topic_id
        && current.language == facts.language
        && current.subscribers == facts.subscribers
        && current.avg_views == facts.avg_views
        && current.posts_per_day == facts.posts_per_day
        && (current.status == ACTIVE) == facts.active
}

/// Compares the valid rows with the catalog, a chunk of handles per query. The writes come
/// sorted by handle: staged in that order, they are published in the order of the channel's
/// handle index, which that index's pages are then visited in, one after the other. When
/// `applying` names an import, its heartbeat is renewed as the comparison goes, so a slow
/// comparison is never taken for an abandoned import.
pub(super) async fn plan(
    db: &impl ConnectionTrait,
    parsed: &ParsedFile,
    topic_ids: &HashMap<String, i64>,
    applying: Option<CatalogImportId>,
) -> Result<Plan, AppError> {
    let mut plan = Plan::default();
    let mut last_beat = std::time::Instant::now();
    for chunk in parsed.valid.chunks(LOOKUP_CHUNK) {
        if let Some(id) = applying
            && last_beat.elapsed() >= BEAT_EVERY
        {
            staging::heartbeat(db, id).await?;
            last_beat = std::time::Instant::now();
        }
        let handles = chunk.iter().map(|row| row.facts.handle.clone());
        let current: HashMap<String, channel::Model> = channel::Entity::find()
            .filter(channel::Column::Handle.is_in(handles))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.handle.clone(), c))
            .collect();
        for row in chunk {
            let topic_id = *topic_ids.get(&row.facts.topic).ok_or_else(|| {
                AppError::internal("catalog import", format!("topic {}", row.facts.topic))
            })?;
            match current.get(&row.facts.handle) {
                Some(c) if unchanged(c, &row.facts, topic_id) => {
                    plan.unchanged_rows += 1;
                    continue;
                }
                Some(_) => plan.changed_rows += 1,
                None => plan.new_rows += 1,
            }
            plan.writes.push((row.facts.clone(), topic_id));
        }
    }
    plan.writes
        .sort_unstable_by(|(a, _), (b, _)| a.handle.cmp(&b.handle));
    Ok(plan)
}
