//! Invitation links: their tokens (only hashes are stored), the preview anyone holding a link
//! sees, and accepting one — single-use, for the invited email only, by a user who has
//! confirmed that address.
//!
//! Each invitation has two tokens: the owner's link (shown once, to pass on by hand) and the
//! mailed link (only in the invitation mail). Using the mailed one proves the address, so it
//! also confirms it; the owner's link works only for a user whose address is confirmed —
//! otherwise anyone who signed up with someone else's address could join with it, and an owner
//! could confirm any address by inviting it and using the link themselves.

use crate::{
    entity::{account_member, ad_account, app_user, invitation},
    error::AppError,
    model::{
        AccountId, AuditAction, InvitationPreview, InvitationStatus, UNKNOWN_INVITATION, UserId,
        limits,
    },
    service::{
        audit::{self, AuditEntry},
        verification::{self, CONFIRM_FIRST},
    },
};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait, sea_query::Expr,
};
use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh random token (32 bytes from the thread's CSPRNG, hex) and its hash.
pub(crate) fn new_token() -> (String, String) {
    let token = hex(&rand::random::<[u8; 32]>());
    let hash = hash_token(&token);
    (token, hash)
}

/// What the database stores and looks tokens up by.
pub(crate) fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.trim().as_bytes()))
}

/// Either of the invitation's tokens.
fn either_token(hash: &str) -> Condition {
    Condition::any()
        .add(invitation::Column::TokenSha256.eq(hash))
        .add(invitation::Column::MailTokenSha256.eq(hash))
}

/// The invitation behind `token`; a value that is not shaped like a token is unknown without
/// a query.
async fn by_token(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<invitation::Model>, AppError> {
    if !limits::is_token(token) {
        return Ok(None);
    }
    Ok(invitation::Entity::find()
        .filter(either_token(&hash_token(token)))
        .one(db)
        .await?)
}

/// Whether `token` is the mailed token of an invitation (using it proves the address).
pub(crate) async fn is_mailed_token(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<bool, AppError> {
    let hash = hash_token(token);
    Ok(by_token(db, token)
        .await?
        .is_some_and(|row| row.mail_token_sha256.as_deref() == Some(hash.as_str())))
}

fn status(row: &invitation::Model) -> InvitationStatus {
    InvitationStatus::at(row.accepted_at, row.revoked_at, row.expires_at, Utc::now())
}

/// The invitation behind `token` as its page shows it (to anyone holding the link).
/// An unknown token is `NotFound`.
pub async fn preview(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<InvitationPreview, AppError> {
    let row = by_token(db, token).await?.ok_or(AppError::NotFound)?;
    let account = ad_account::Entity::find_by_id(row.account_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(InvitationPreview {
        account_name: account.name,
        status: status(&row),
        email: row.email,
        role: row.role,
        expires_at: row.expires_at,
    })
}

/// Checks, before anything is written, that `token` is an open invitation for `email`.
/// Otherwise: the form field the problem belongs to and the message to show there.
pub async fn check_open(
    db: &impl ConnectionTrait,
    token: &str,
    email: &str,
) -> Result<Option<(&'static str, String)>, AppError> {
    Ok(match by_token(db, token).await? {
        None => Some(("form", UNKNOWN_INVITATION.to_owned())),
        Some(row) if status(&row) != InvitationStatus::Open => {
            Some(("form", status(&row).explain().to_owned()))
        }
        Some(row) if row.email != email => Some(("email", wrong_email(&row.email))),
        Some(_) => None,
    })
}

fn wrong_email(invited: &str) -> String {
    format!("This invitation is for {invited}. Use that address to join.")
}

/// Accepts the invitation behind `token` for the signed-in `user`, in one transaction.
/// Returns the account joined.
pub async fn accept<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    user: UserId,
    token: &str,
    ip: Option<String>,
) -> Result<AccountId, AppError> {
    let found = app_user::Entity::find_by_id(user.0)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let confirmed = found.email_verified_at.is_some();
    let txn = db.begin().await?;
    let account = accept_in(&txn, user, &found.email, confirmed, token, ip).await?;
    txn.commit().await?;
    Ok(account)
}

/// Accepts inside the caller's transaction (sign-up uses it for the user it just created).
/// `confirmed`: whether `user` has confirmed `email`; if not, only the mailed token passes,
/// and then confirms it.
///
/// Single use is one conditional update — the transaction's first write, so that SQLite takes
/// its write lock before reading — that only an open invitation for `email` passes; of two
/// racing acceptances exactly one changes the row.
pub(crate) async fn accept_in(
    txn: &impl ConnectionTrait,
    user: UserId,
    email: &str,
    confirmed: bool,
    token: &str,
    ip: Option<String>,
) -> Result<AccountId, AppError> {
    let now = Utc::now();
    let hash = hash_token(token);
    let usable = if confirmed {
        either_token(&hash)
    } else {
        Condition::all().add(invitation::Column::MailTokenSha256.eq(hash.as_str()))
    };
    let claimed = invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedAt, Expr::value(now))
        .col_expr(invitation::Column::AcceptedBy, Expr::value(user.0))
        .filter(usable)
        .filter(invitation::Column::Email.eq(email))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .exec(txn)
        .await?
        .rows_affected;
    let row = by_token(txn, token).await?;
    let row = match row {
        Some(row) if claimed == 1 => row,
        None => return Err(AppError::Conflict(UNKNOWN_INVITATION.into())),
        Some(row) if status(&row) != InvitationStatus::Open => {
            return Err(AppError::Conflict(status(&row).explain().into()));
        }
        Some(row) if row.email != email => {
            return Err(AppError::Conflict(wrong_email(&row.email)));
        }
        Some(_) => return Err(AppError::Conflict(CONFIRM_FIRST.into())),
    };
    let newly_confirmed = !confirmed && verification::mark_confirmed(txn, user, now).await?;
    let already = account_member::Entity::find_by_id((row.account_id, user.0))
        .one(txn)
        .await?;
    if already.is_some() {
        return Err(AppError::Conflict(
            "You are already a member of this account.".into(),
        ));
    }
    account_member::ActiveModel {
        account_id: Set(row.account_id),
        user_id: Set(user.0),
        role: Set(row.role),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    audit::record(
        txn,
        AuditEntry::new(
            AuditAction::MemberJoined,
            "account_member",
            format!("{}:{}", row.account_id, user.0),
        )
        .by(user)
        .from_ip(ip)
        .detail(serde_json::json!({
            "invitation_id": row.id,
            "email": email,
            "confirmed_by_mailed_link": newly_confirmed,
            "after": { "role": row.role.code() },
        })),
    )
    .await?;
    Ok(AccountId(row.account_id))
}
