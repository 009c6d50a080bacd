//! The append-only audit trail: recording events and reading them back for admins.

use crate::{
    entity::{app_user, audit_event},
    error::AppError,
    model::{AuditAction, AuditEventId, AuditFilter, AuditRow, Page, PlatformRole, UserId},
    service::Actor,
};
use chrono::{Days, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use std::collections::HashMap;
use validator::Validate;

/// One event about to be recorded.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub action: AuditAction,
    pub actor: Option<UserId>,
    pub target_type: String,
    pub target_id: String,
    pub ip: Option<String>,
    pub detail: Option<serde_json::Value>,
}

impl AuditEntry {
    pub fn new(action: AuditAction, target_type: &str, target_id: impl Into<String>) -> Self {
        Self {
            action,
            actor: None,
            target_type: target_type.to_owned(),
            target_id: target_id.into(),
            ip: None,
            detail: None,
        }
    }

    pub fn by(mut self, actor: UserId) -> Self {
        self.actor = Some(actor);
        self
    }

    pub fn from_ip(mut self, ip: Option<String>) -> Self {
        self.ip = ip;
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// Appends one event (inside the caller's transaction when given one).
pub async fn record(db: &impl ConnectionTrait, entry: AuditEntry) -> Result<(), AppError> {
    audit_event::ActiveModel {
        at: Set(Utc::now()),
        actor_user_id: Set(entry.actor.map(|id| id.0)),
        action: Set(entry.action.code().to_owned()),
        target_type: Set(entry.target_type),
        target_id: Set(entry.target_id),
        ip: Set(entry.ip),
        detail: Set(entry.detail.map(|d| d.to_string())),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A page of the trail, newest first, for admins.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &AuditFilter,
) -> Result<Page<AuditRow>, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    filter.validate()?;
    let mut query = audit_event::Entity::find();
    if let Some(email) = filter.actor.as_deref().map(crate::model::normalize_email)
        && !email.is_empty()
    {
        let user = app_user::Entity::find()
            .filter(app_user::Column::Email.eq(email))
            .one(db)
            .await?;
        // An unknown actor matches nothing rather than everything.
        query = query.filter(audit_event::Column::ActorUserId.eq(user.map_or(-1, |u| u.id)));
    }
    if let Some(action) = filter.action.as_deref().filter(|a| !a.is_empty()) {
        query = query.filter(audit_event::Column::Action.eq(action));
    }
    if let Some(from) = filter.from {
        query =
            query.filter(audit_event::Column::At.gte(from.and_time(Default::default()).and_utc()));
    }
    if let Some(to) = filter.to.and_then(|d| d.checked_add_days(Days::new(1))) {
        query = query.filter(audit_event::Column::At.lt(to.and_time(Default::default()).and_utc()));
    }
    let query = query
        .order_by_desc(audit_event::Column::At)
        .order_by_desc(audit_event::Column::Id);
    let (events, total, page) = super::paging::rows_and_total(db, query, filter.page).await?;

    let actor_ids: Vec<i64> = events.iter().filter_map(|e| e.actor_user_id).collect();
    let emails: HashMap<i64, String> = app_user::Entity::find()
        .filter(app_user::Column::Id.is_in(actor_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let rows = events
        .into_iter()
        .map(|e| AuditRow {
            id: AuditEventId(e.id),
            at: e.at,
            actor_email: e.actor_user_id.and_then(|id| emails.get(&id).cloned()),
            action: e.action,
            target: format!("{}:{}", e.target_type, e.target_id),
            ip: e.ip,
            detail: e.detail,
        })
        .collect();
    Ok(Page { rows, page, total })
}
