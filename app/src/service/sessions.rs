//! A user's sessions as a whole: ending them all ("sign out everywhere", a new password). The
//! session store never recreates a deleted row, so an ended session stays ended even when a
//! request that loaded it is still running.

use crate::{
    entity::{app_user, tower_session},
    error::{AppError, FieldErrors},
    model::{AuditAction, PasswordChangeInput, UserId},
    service::{
        Actor,
        audit::{self, AuditEntry},
        passwords::{self, PasswordHasher},
        rate_limit::{self, Limit},
    },
};
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use validator::Validate;

/// Wrong current passwords allowed per user in 15 minutes (it is a password guess too).
const CHANGE_ATTEMPTS: Limit = Limit::new(10, Duration::minutes(15));

/// Deletes every session of `user` except the one with id `keep`; returns how many ended.
pub async fn end_all(
    db: &impl ConnectionTrait,
    user: UserId,
    keep: Option<&str>,
) -> Result<u64, AppError> {
    let mut delete =
        tower_session::Entity::delete_many().filter(tower_session::Column::UserId.eq(user.0));
    if let Some(keep) = keep {
        delete = delete.filter(tower_session::Column::Id.ne(keep));
    }
    Ok(delete.exec(db).await?.rows_affected)
}

/// Ends every session of the actor but `keep` (the one asking) and audits it.
pub async fn sign_out_everywhere<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    keep: Option<&str>,
) -> Result<u64, AppError> {
    let txn = db.begin().await?;
    let ended = end_all(&txn, actor.user_id, keep).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            AuditAction::SignedOutEverywhere,
            "user",
            actor.user_id.to_string(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone())
        .detail(serde_json::json!({ "sessions_ended": ended })),
    )
    .await?;
    txn.commit().await?;
    Ok(ended)
}

/// Sets a new password after checking the current one, ends every other session of the user
/// (whoever else knew the old password is signed out), and audits it — one transaction.
/// Wrong current passwords are limited like sign-in guesses.
pub async fn change_password<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    hasher: &PasswordHasher,
    actor: &Actor,
    input: PasswordChangeInput,
    keep: Option<&str>,
) -> Result<(), AppError> {
    let mut errors = input
        .validate()
        .err()
        .map(FieldErrors::from)
        .unwrap_or_default();
    if input.current.is_empty() {
        errors.add("current", "Enter your current password.");
    }
    if errors.get("new").is_none() {
        if let Some(why) = passwords::weakness(&input.new, &actor.email) {
            errors.add("new", why);
        } else if input.new == input.current {
            errors.add("new", "Choose a password different from the current one.");
        }
    }
    errors.into_result()?;

    let user = app_user::Entity::find_by_id(actor.user_id.0)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let key = format!("password_change:{}", actor.user_id);
    if !rate_limit::reserve(db, &key, CHANGE_ATTEMPTS, Duration::zero(), Utc::now())
        .await?
        .is_granted()
    {
        return Err(AppError::TooManyAttempts(
            "Too many wrong passwords. Try again in 15 minutes.".into(),
        ));
    }
    if !hasher
        .verify(input.current, Some(user.password_hash.clone()))
        .await?
    {
        return Err(AppError::field(
            "current",
            "This is not your current password.",
        ));
    }
    rate_limit::refund(db, &key, CHANGE_ATTEMPTS).await?;
    let hash = hasher.hash(input.new).await?;

    let txn = db.begin().await?;
    let mut row: app_user::ActiveModel = user.into();
    row.password_hash = Set(hash);
    row.update(&txn).await?;
    let ended = end_all(&txn, actor.user_id, keep).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            AuditAction::PasswordChanged,
            "user",
            actor.user_id.to_string(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone())
        .detail(serde_json::json!({ "other_sessions_ended": ended })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
