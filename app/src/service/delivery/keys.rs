//! Delivery-network API keys: created by admins (or the command line) with the secret shown
//! once and only its SHA-256 stored, revocable, and checked on every API request.

use crate::{
    entity::delivery_key,
    error::AppError,
    model::{AuditAction, CreatedDeliveryKey, DeliveryKeyView, NewDeliveryKey, PlatformRole},
    service::{
        Actor,
        audit::{self, AuditEntry},
        invitations::hash_token,
        passwords::PasswordHasher,
        sessions,
    },
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait, sea_query::Expr,
};
use validator::Validate;

/// Every secret starts with this, so a leaked one is easy to recognise.
pub const SECRET_PREFIX: &str = "hd_";
/// Most keys listed (the newest).
pub const MAX_LISTED: u64 = 200;
/// `last_used_at` is written at most this often per key.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// A key as a request presents it, once checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkKey {
    pub id: i64,
}

/// Creates a key named `name` (no actor: the command line, which has the database already);
/// the key and its audit row in one transaction.
pub async fn create_unchecked(
    db: &(impl ConnectionTrait + TransactionTrait),
    name: &str,
    created_by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<CreatedDeliveryKey, AppError> {
    let input = checked(name)?;
    let txn = db.begin().await?;
    let random: [u8; 32] = rand::random();
    let secret = format!(
        "{SECRET_PREFIX}{}",
        random
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let model = delivery_key::ActiveModel {
        name: Set(input.name.clone()),
        secret_sha256: Set(hash_token(&secret)),
        prefix: Set(secret.chars().take(10).collect()),
        created_by: Set(created_by),
        created_at: Set(now),
        revoked_at: Set(None),
        last_used_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        AuditEntry::new(
            AuditAction::DeliveryKeyCreated,
            "delivery_key",
            model.id.to_string(),
        )
        .detail(serde_json::json!({ "name": input.name, "by": created_by })),
    )
    .await?;
    txn.commit().await?;
    Ok(CreatedDeliveryKey {
        id: model.id,
        name: model.name,
        secret,
    })
}

/// A key's name, trimmed and checked.
fn checked(name: &str) -> Result<NewDeliveryKey, AppError> {
    let input = NewDeliveryKey {
        name: name.trim().to_owned(),
    };
    input.validate()?;
    Ok(input)
}

/// Creates a key (admins only), once the admin has typed their password again: a key lets a
/// network report views, which charge advertisers, for as long as it lives, so a session left
/// open or taken over must not mint one by itself. The name is checked first, so a mistyped
/// name does not spend a password attempt.
pub async fn create(
    db: &(impl ConnectionTrait + TransactionTrait),
    hasher: &PasswordHasher,
    actor: &Actor,
    input: NewDeliveryKey,
    password: String,
    now: DateTime<Utc>,
) -> Result<CreatedDeliveryKey, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    checked(&input.name)?;
    // Wrong passwords count against the same per-user limit as a password change.
    sessions::confirm_password(db, hasher, actor, password, "password").await?;
    create_unchecked(db, &input.name, Some(actor.user_id.0), now).await
}

/// The newest keys (admins only).
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<Vec<DeliveryKeyView>, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    Ok(delivery_key::Entity::find()
        .order_by_desc(delivery_key::Column::Id)
        .limit(MAX_LISTED)
        .all(db)
        .await?
        .into_iter()
        .map(|k| DeliveryKeyView {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
        })
        .collect())
}

/// Revokes a key (admins only); at once on every instance, since each request checks it. The
/// revocation and its audit row are one transaction.
pub async fn revoke(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &Actor,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    let txn = db.begin().await?;
    let done = delivery_key::Entity::update_many()
        .col_expr(delivery_key::Column::RevokedAt, Expr::value(now))
        .filter(delivery_key::Column::Id.eq(id))
        .filter(delivery_key::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if done.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &txn,
        AuditEntry::new(
            AuditAction::DeliveryKeyRevoked,
            "delivery_key",
            id.to_string(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The live key whose secret this is, or `None` (unknown, or revoked). Notes its use.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Option<NetworkKey>, AppError> {
    if !secret.starts_with(SECRET_PREFIX) || secret.len() > 200 {
        return Ok(None);
    }
    let Some(key) = delivery_key::Entity::find()
        .filter(delivery_key::Column::SecretSha256.eq(hash_token(secret)))
        .filter(delivery_key::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if key.last_used_at.is_none_or(|t| now - t >= TOUCH_EVERY) {
        delivery_key::Entity::update_many()
            .col_expr(delivery_key::Column::LastUsedAt, Expr::value(now))
            .filter(delivery_key::Column::Id.eq(key.id))
            .exec(db)
            .await?;
    }
    Ok(Some(NetworkKey { id: key.id }))
}
