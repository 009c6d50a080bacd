//! The channel catalog: topics, the channel browser (any signed-in user), and admin edits of
//! one channel (audited; each bumps the catalog version so forecasts follow).

use crate::{
    entity::{channel, topic},
    error::{AppError, FieldErrors},
    model::{
        AuditAction, ChannelFilter, ChannelId, ChannelInput, ChannelRow, ChannelSort, MAX_TOPICS,
        Page, PlatformRole, Topic, TopicId, TopicInput, TopicRow,
    },
    service::{
        Actor,
        audit::{self, AuditEntry},
        forecast::index::CatalogIndex,
        reads::all_in,
        settings,
    },
};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use std::collections::{HashMap, HashSet};

/// Stored status of a channel that may carry ads.
pub const ACTIVE: &str = "active";
/// Stored status of a channel taken out of the catalog.
pub const INACTIVE: &str = "inactive";

/// Every topic, A–Z by name.
pub async fn topics(db: &impl ConnectionTrait) -> Result<Vec<Topic>, AppError> {
    Ok(topic::Entity::find()
        .order_by_asc(topic::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|t| Topic {
            id: TopicId(t.id),
            slug: t.slug,
            name: t.name,
        })
        .collect())
}

/// Every topic with how many channels are filed under it, A–Z by name (admins).
pub async fn topic_rows(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<Vec<TopicRow>, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    let counts: HashMap<i64, i64> = channel::Entity::find()
        .select_only()
        .column(channel::Column::TopicId)
        .column_as(channel::Column::Id.count(), "n")
        .group_by(channel::Column::TopicId)
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(topics(db)
        .await?
        .into_iter()
        .map(|t| TopicRow {
            channels: counts
                .get(&t.id.0)
                .map_or(0, |&n| u64::try_from(n).unwrap_or(0)),
            id: t.id,
            slug: t.slug,
            name: t.name,
        })
        .collect())
}

/// Adds a topic (`input.id` empty) or renames one (admins); a slug never changes. Names and
/// slugs are unique regardless of case, and no name may read as another topic's slug: a
/// catalog file names a topic by either. Audited; bumps the catalog version, so every
/// instance's forecast index re-reads the taxonomy within seconds. The topics are read and
/// checked first, then written only if the catalog has not changed since (read and checked
/// again, a few times, when it has), so two admins saving at once cannot make two topics of
/// one name. Saving a topic's own name again writes nothing.
pub async fn save_topic<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    input: TopicInput,
) -> Result<TopicId, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    input.check().into_result()?;
    for _ in 0..3 {
        let version = settings::catalog_version(db).await?;
        let all = topics(db).await?;
        let Some(change) = topic_change(&input, &all)? else {
            // Only a rename can keep its name.
            return input.id.ok_or(AppError::NotFound);
        };
        let txn = db.begin().await?;
        if !settings::bump_catalog_version_from(&txn, version).await? {
            txn.rollback().await?;
            continue;
        }
        let id = match input.id {
            Some(id) => {
                topic::Entity::update_many()
                    .col_expr(topic::Column::Name, Expr::value(change.name.clone()))
                    .filter(topic::Column::Id.eq(id.0))
                    .exec(&txn)
                    .await?;
                id
            }
            None => TopicId(
                topic::ActiveModel {
                    slug: Set(change.slug.clone()),
                    name: Set(change.name.clone()),
                    ..Default::default()
                }
                .insert(&txn)
                .await?
                .id,
            ),
        };
        let mut detail =
            serde_json::json!({ "slug": change.slug, "after": { "name": change.name } });
        if let Some(before) = change.before {
            detail["before"] = serde_json::json!({ "name": before });
        }
        audit::record(
            &txn,
            AuditEntry::new(AuditAction::TopicSaved, "topic", id.to_string())
                .by(actor.user_id)
                .from_ip(actor.ip.clone())
                .detail(detail),
        )
        .await?;
        txn.commit().await?;
        return Ok(id);
    }
    Err(AppError::Conflict(
        "The catalog kept changing while this was saved. Nothing was saved; please try again."
            .to_owned(),
    ))
}

/// What [`save_topic`] writes: the topic's slug, its name, and its name before a rename.
struct TopicChange {
    slug: String,
    name: String,
    before: Option<String>,
}

/// Checks `input` against every topic (`all`, as read at one catalog version): `None` when a
/// rename keeps the name, otherwise the change, or the clashes beside their fields.
fn topic_change(input: &TopicInput, all: &[Topic]) -> Result<Option<TopicChange>, AppError> {
    let name = input.name.trim().to_owned();
    let folded = name.to_lowercase();
    let others = || all.iter().filter(|t| Some(t.id) != input.id);
    let mut errors = FieldErrors::default();
    if let Some(clash) = others().find(|t| t.name.to_lowercase() == folded || t.slug == folded) {
        errors.add(
            "name",
            format!(
                "The topic “{}” ({}) already goes by this name.",
                clash.name, clash.slug
            ),
        );
    }
    let change = match input.id {
        Some(id) => {
            let current = all.iter().find(|t| t.id == id).ok_or(AppError::NotFound)?;
            errors.into_result()?;
            if current.name == name {
                return Ok(None);
            }
            TopicChange {
                slug: current.slug.clone(),
                name,
                before: Some(current.name.clone()),
            }
        }
        None => {
            let slug = input.slug_or_from_name();
            if let Some(clash) = others().find(|t| t.slug == slug || t.name.to_lowercase() == slug)
            {
                errors.add(
                    "slug",
                    format!(
                        "The topic “{}” ({}) already answers to this slug.",
                        clash.name, clash.slug
                    ),
                );
            }
            if all.len() >= MAX_TOPICS {
                errors.add(
                    "form",
                    format!("The taxonomy has its most topics ({MAX_TOPICS}): rename one instead."),
                );
            }
            errors.into_result()?;
            TopicChange {
                slug,
                name,
                before: None,
            }
        }
    };
    Ok(Some(change))
}

/// A channel as lists show it; `topic` is its topic's (slug, name) when known.
fn to_row(c: channel::Model, topic: Option<(&str, &str)>, min_subscribers: i64) -> ChannelRow {
    let active = c.status == ACTIVE;
    ChannelRow {
        id: ChannelId(c.id),
        eligible: active && c.subscribers >= min_subscribers,
        handle: c.handle,
        title: c.title,
        topic_slug: topic.map(|(slug, _)| slug.to_owned()).unwrap_or_default(),
        topic_name: topic.map_or_else(|| "—".to_owned(), |(_, name)| name.to_owned()),
        language: c.language,
        subscribers: c.subscribers,
        avg_views: c.avg_views,
        posts_per_day: c.posts_per_day,
        active,
    }
}

/// The (slug, name) of topic `id` in a map read by [`topic_map`].
fn named(topics: &HashMap<i64, topic::Model>, id: i64) -> Option<(&str, &str)> {
    topics.get(&id).map(|t| (t.slug.as_str(), t.name.as_str()))
}

async fn topic_map(db: &impl ConnectionTrait) -> Result<HashMap<i64, topic::Model>, AppError> {
    Ok(topic::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect())
}

/// The channels of each list of ids, in the order given (unknown ids are skipped), read in
/// one statement; topics and eligibility as `index` (the forecast's snapshot of the catalog)
/// knows them.
pub async fn rows_by_id<const N: usize>(
    db: &impl ConnectionTrait,
    index: &CatalogIndex,
    lists: [&[i64]; N],
) -> Result<[Vec<ChannelRow>; N], AppError> {
    let mut wanted: Vec<i64> = lists.iter().flat_map(|ids| ids.iter().copied()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let found: HashMap<i64, channel::Model> =
        all_in(db, channel::Entity::find(), channel::Column::Id, wanted)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
    let min_subscribers = index.settings.min_subscribers;
    Ok(lists.map(|ids| {
        ids.iter()
            .filter_map(|id| found.get(id).cloned())
            .map(|c| {
                let topic = index
                    .topic(c.topic_id)
                    .map(|t| (t.slug.as_str(), t.name.as_str()));
                to_row(c, topic, min_subscribers)
            })
            .collect()
    }))
}

/// Whether `column` contains `text` (as typed), ignoring case and taking `%` and `_` in `text`
/// literally. Both sides are lowercased as the database lowercases: PostgreSQL's `lower()`
/// folds every letter (and its LIKE is case-sensitive), SQLite's only A–Z, so there the text
/// keeps its other letters as typed ("Ölwerk" still finds "Ölwerk").
pub(crate) fn contains_text(
    backend: sea_orm::DbBackend,
    column: impl sea_orm::sea_query::IntoColumnRef,
    text: &str,
) -> sea_orm::sea_query::SimpleExpr {
    let lowered = match backend {
        sea_orm::DbBackend::Sqlite => text.to_ascii_lowercase(),
        _ => text.to_lowercase(),
    };
    Expr::expr(Func::lower(Expr::col(column)))
        .like(LikeExpr::new(like_pattern(&lowered)).escape('\\'))
}

/// `%text%` for LIKE, with the wildcards in `text` itself escaped (escape character `\`).
pub(crate) fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The eligible channels matching a channel search typed in the targeting form before the wasm
/// loaded (the targeting page and the builder); `None` when nothing was typed.
pub async fn search_eligible(
    db: &impl ConnectionTrait,
    actor: &Actor,
    find: String,
) -> Result<Option<Page<ChannelRow>>, AppError> {
    crate::model::limits::check_argument("search", &find, crate::model::limits::SEARCH_MAX)?;
    if find.trim().is_empty() {
        return Ok(None);
    }
    let filter = ChannelFilter {
        search: find,
        eligible_only: true,
        ..ChannelFilter::default()
    };
    Ok(Some(list_channels(db, actor, &filter).await?))
}

/// One page of the channel browser (any signed-in user).
pub async fn list_channels(
    db: &impl ConnectionTrait,
    _actor: &Actor,
    filter: &ChannelFilter,
) -> Result<Page<ChannelRow>, AppError> {
    filter.check().into_result()?;
    let platform = settings::load(db).await?;
    let topics = topic_map(db).await?;
    let mut condition = Condition::all();
    if !filter.topics.is_empty() {
        let wanted: HashSet<&str> = filter.topics.iter().map(String::as_str).collect();
        let ids: Vec<i64> = topics
            .values()
            .filter(|t| wanted.contains(t.slug.as_str()))
            .map(|t| t.id)
            .collect();
        condition = condition.add(channel::Column::TopicId.is_in(ids));
    }
    if !filter.languages.is_empty() {
        condition = condition.add(channel::Column::Language.is_in(filter.languages.clone()));
    }
    if let Some(min) = filter.min_subscribers {
        condition = condition.add(channel::Column::Subscribers.gte(min));
    }
    if let Some(max) = filter.max_subscribers {
        condition = condition.add(channel::Column::Subscribers.lte(max));
    }
    if let Some(min) = filter.min_avg_views {
        condition = condition.add(channel::Column::AvgViews.gte(min));
    }
    if filter.eligible_only {
        condition = condition
            .add(channel::Column::Status.eq(ACTIVE))
            .add(channel::Column::Subscribers.gte(platform.min_subscribers));
    }
    let search = filter.search.trim().trim_start_matches('@');
    if !search.is_empty() {
        let backend = db.get_database_backend();
        condition = condition.add(
            Condition::any()
                .add(contains_text(backend, channel::Column::Handle, search))
                .add(contains_text(backend, channel::Column::Title, search)),
        );
    }
    let query = channel::Entity::find().filter(condition);
    let query = match filter.sort {
        ChannelSort::Subscribers => query.order_by_desc(channel::Column::Subscribers),
        ChannelSort::Views => query.order_by_desc(channel::Column::AvgViews),
        ChannelSort::Name => query.order_by_asc(channel::Column::Title),
    }
    .order_by_asc(channel::Column::Id);
    let (channels, total, page) = super::paging::rows_and_total(db, query, filter.page).await?;
    let rows = channels
        .into_iter()
        .map(|c| {
            let topic = named(&topics, c.topic_id);
            to_row(c, topic, platform.min_subscribers)
        })
        .collect();
    Ok(Page { rows, page, total })
}

/// One channel as the admin edit form shows it.
pub async fn channel_input(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: ChannelId,
) -> Result<(ChannelRow, ChannelInput), AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    let platform = settings::load(db).await?;
    let topics = topic_map(db).await?;
    let c = channel::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let input = input_of(&c, &topics);
    let topic = named(&topics, c.topic_id);
    Ok((to_row(c, topic, platform.min_subscribers), input))
}

fn input_of(c: &channel::Model, topics: &HashMap<i64, topic::Model>) -> ChannelInput {
    ChannelInput {
        handle: c.handle.clone(),
        title: c.title.clone(),
        topic: topics
            .get(&c.topic_id)
            .map(|t| t.slug.clone())
            .unwrap_or_default(),
        language: c.language.clone(),
        subscribers: c.subscribers.to_string(),
        avg_views: c.avg_views.to_string(),
        posts_per_day: c.posts_per_day.to_string(),
        active: c.status == ACTIVE,
    }
}

/// A channel's problems as field errors, each beside its field.
fn problems_beside_fields(problems: Vec<(&'static str, String)>) -> AppError {
    let mut errors = FieldErrors::default();
    for (field, message) in problems {
        errors.add(field, message);
    }
    AppError::Invalid(errors)
}

/// Saves an admin's edit of one channel (the handle is its identity and stays). Audited with
/// the before and after; bumps the catalog version.
pub async fn update_channel<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    id: ChannelId,
    input: ChannelInput,
) -> Result<(), AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    let sizes = input.check_sizes();
    if !sizes.is_empty() {
        return Err(problems_beside_fields(sizes));
    }
    // Checked before the transaction (the handle never changes, so it can be read first).
    let topics = topic_map(db).await?;
    let handle = channel::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?
        .handle;
    let input = ChannelInput { handle, ..input };
    let facts = input
        .check(|slug| topics.values().any(|t| t.slug == slug))
        .map_err(problems_beside_fields)?;
    let topic_id = topics
        .values()
        .find(|t| t.slug == facts.topic)
        .map(|t| t.id)
        .ok_or_else(|| AppError::field("topic", "Unknown topic."))?;
    let txn = db.begin().await?;
    let current = channel::Entity::find_by_id(id.0)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let before = input_of(&current, &topics);
    let mut model = current.into_active_model();
    model.title = Set(facts.title);
    model.topic_id = Set(topic_id);
    model.language = Set(facts.language);
    model.subscribers = Set(facts.subscribers);
    model.avg_views = Set(facts.avg_views);
    model.posts_per_day = Set(facts.posts_per_day);
    model.status = Set(if facts.active { ACTIVE } else { INACTIVE }.to_owned());
    model.updated_at = Set(Utc::now());
    let saved = model.update(&txn).await?;
    let after = input_of(&saved, &topics);
    if before != after {
        settings::bump_catalog_version(&txn).await?;
        audit::record(
            &txn,
            AuditEntry::new(AuditAction::ChannelUpdated, "channel", id.to_string())
                .by(actor.user_id)
                .from_ip(actor.ip.clone())
                .detail(serde_json::json!({
                    "handle": saved.handle,
                    "before": before,
                    "after": after,
                })),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("a_b%"), "%a\\_b\\%%");
    }
}
