//! A user's sessions as a whole: ending them all ("sign out everywhere", a new password). The
//! session store never recreates a deleted row, so an ended session stays ended even when a
//! request that loaded it is still running.

use crate::{
    entity::{app_user, tower_session},
    error::{AppError, FieldErrors},
    model::{AuditAction, PasswordChangeInput, UserId, limits::PASSWORD_MAX},
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

/// Wrong current passwords allowed per user in 15 minutes (it is a password guess too), over
/// every form that asks for it again (a new password, new bank details, a staff role granted).
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

/// Checks that `password` is the signed-in user's own, before a change that a stolen session
/// must not make alone (a new password, new bank details, a staff role granted). A wrong one is
/// answered beside `field`; wrong ones count against the user ([`CHANGE_ATTEMPTS`] in 15
/// minutes, then 429), a right one gives its attempt back. Returns the user's row.
pub async fn confirm_password(
    db: &impl ConnectionTrait,
    hasher: &PasswordHasher,
    actor: &Actor,
    password: String,
    field: &str,
) -> Result<app_user::Model, AppError> {
    if password.is_empty() {
        return Err(AppError::field(field, "Enter your current password."));
    }
    // Checked before any work: hashing a long text costs the server, not the sender.
    if password.chars().count() > PASSWORD_MAX {
        return Err(AppError::field(
            field,
            format!("A password has at most {PASSWORD_MAX} characters."),
        ));
    }
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
        .verify(password, Some(user.password_hash.clone()))
        .await?
    {
        return Err(AppError::field(field, "This is not your current password."));
    }
    rate_limit::refund(db, &key, CHANGE_ATTEMPTS).await?;
    Ok(user)
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

    let user = confirm_password(db, hasher, actor, input.current, "current").await?;
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
