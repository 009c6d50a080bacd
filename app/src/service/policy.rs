//! Policy reasons: the published guideline set (anyone may read it), the active reasons a
//! decline may cite, and admins' edits.

use crate::{
    entity::policy_reason,
    error::{AppError, FieldErrors},
    model::{AuditAction, PlatformRole, PolicyReason, PolicyReasonId, PolicyReasonInput},
    service::{
        Actor,
        audit::{self, AuditEntry},
    },
};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set, SqlErr, TransactionSession, TransactionTrait,
    sea_query::{Expr, Func},
};

fn code_taken() -> AppError {
    AppError::Invalid(FieldErrors::one(
        "code",
        "A reason with this code exists already.",
    ))
}

fn view(m: policy_reason::Model) -> PolicyReason {
    PolicyReason {
        id: PolicyReasonId(m.id),
        code: m.code,
        title: m.title,
        guideline: m.guideline,
        position: m.position,
        active: m.active,
    }
}

/// Every reason in the published order, retired ones included (old decisions cite them).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<PolicyReason>, AppError> {
    Ok(policy_reason::Entity::find()
        .order_by_asc(policy_reason::Column::Position)
        .order_by_asc(policy_reason::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// The reasons a decline may cite now.
pub async fn active(db: &impl ConnectionTrait) -> Result<Vec<PolicyReason>, AppError> {
    Ok(all(db).await?.into_iter().filter(|r| r.active).collect())
}

/// Adds a reason (at the end) or edits one; codes never change once created. Admins only.
pub async fn save<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    input: PolicyReasonInput,
) -> Result<PolicyReasonId, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    input.check().into_result()?;
    let now = Utc::now();
    let txn = db.begin().await?;
    let saved = match input.id {
        Some(id) => {
            let found = policy_reason::Entity::find_by_id(id.0)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound)?;
            let mut active = found.into_active_model();
            active.title = Set(input.title.trim().to_owned());
            active.guideline = Set(input.guideline.trim().to_owned());
            active.active = Set(input.active);
            active.updated_at = Set(now);
            active.update(&txn).await?
        }
        None => {
            let code = input.code.trim().to_owned();
            let taken = policy_reason::Entity::find()
                .filter(policy_reason::Column::Code.eq(code.clone()))
                .one(&txn)
                .await?;
            if taken.is_some() {
                return Err(code_taken());
            }
            let last: Option<Option<i32>> = policy_reason::Entity::find()
                .select_only()
                .expr(Func::max(Expr::col(policy_reason::Column::Position)))
                .into_tuple()
                .one(&txn)
                .await?;
            let inserted = policy_reason::ActiveModel {
                code: Set(code),
                title: Set(input.title.trim().to_owned()),
                guideline: Set(input.guideline.trim().to_owned()),
                position: Set(last.flatten().unwrap_or(0) + 1),
                active: Set(input.active),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await;
            match inserted {
                // Another admin added the same code a moment ago.
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    return Err(code_taken());
                }
                other => other?,
            }
        }
    };
    audit::record(
        &txn,
        AuditEntry::new(
            AuditAction::PolicyReasonSaved,
            "policy_reason",
            saved.code.clone(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone())
        .detail(serde_json::json!({
            "title": saved.title,
            "guideline": saved.guideline,
            "active": saved.active,
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(PolicyReasonId(saved.id))
}
