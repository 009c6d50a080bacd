//! Confirmed email addresses: the single-use links mailed to an address (only their hashes are
//! stored), confirming with one, and taking an address back with one — a new password that
//! ends every session of whoever signed up with it.
//!
//! One kind of link serves both: whoever opens it controls the mailbox. Signed in as the
//! link's user (so they also know the password), it confirms; anyone else sets a new password.
//! So someone who signs up with another person's address gains nothing: they never see the
//! link, nothing that keys on the address works for them unconfirmed, and the address's owner
//! can take the login over at any time.

use crate::{
    entity::{app_user, email_link},
    error::{AppError, FieldErrors},
    model::{
        AuditAction, EmailLinkPreview, EmailLinkState, ForgotPasswordInput, MailKind,
        NewPasswordInput, UserId, limits, normalize_email,
    },
    service::{
        Actor,
        audit::{self, AuditEntry},
        invitations::{hash_token, new_token},
        mail::{self, Mail},
        passwords::{self, PasswordHasher},
        rate_limit::{self, Limit, Reservation},
        sessions,
    },
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait, sea_query::Expr,
};
use validator::Validate;

/// How long a mailed link works.
pub const LINK_HOURS: i64 = 24;
/// Confirmation mails a user may ask for again per hour (each goes to the address).
const RESENDS_PER_HOUR: u32 = 3;
/// "Forgot your password?" requests one client address may make per hour, whatever the
/// addresses asked about (so no one can mail-bomb through Herald or sweep for logins fast).
pub const RESET_REQUESTS_PER_HOUR: u32 = 10;
/// Password-reset mails one address receives per hour at most (more requests change nothing).
pub const RESET_MAILS_PER_HOUR: u32 = 3;

/// What the invitation page and the services say to an unconfirmed user.
pub const CONFIRM_FIRST: &str = "Confirm your email address first: open the link we emailed you \
     (or ask for a new one on your dashboard), then use this invitation again.";

/// The path of a mailed link.
pub fn link_path(token: &str) -> String {
    format!("/verify/{token}")
}

/// Whether `user` has confirmed their address.
pub async fn is_confirmed(db: &impl ConnectionTrait, user: UserId) -> Result<bool, AppError> {
    Ok(app_user::Entity::find_by_id(user.0)
        .one(db)
        .await?
        .is_some_and(|u| u.email_verified_at.is_some()))
}

/// Marks `user`'s address confirmed (if it was not already), inside the caller's transaction.
pub(crate) async fn mark_confirmed(
    txn: &impl ConnectionTrait,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let changed = app_user::Entity::update_many()
        .col_expr(app_user::Column::EmailVerifiedAt, Expr::value(now))
        .filter(app_user::Column::Id.eq(user.0))
        .filter(app_user::Column::EmailVerifiedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected;
    Ok(changed == 1)
}

/// A new link for `user` at `email`, stored as a hash; returns the link's path.
async fn issue(
    txn: &impl ConnectionTrait,
    user: UserId,
    email: &str,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let (token, token_sha256) = new_token();
    email_link::ActiveModel {
        user_id: Set(user.0),
        email: Set(email.to_owned()),
        token_sha256: Set(token_sha256),
        created_at: Set(now),
        expires_at: Set(now + Duration::hours(LINK_HOURS)),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(link_path(&token))
}

/// Mails `email` a link to confirm it (after a sign-up, or when asked again).
pub(crate) async fn send_confirmation(
    txn: &impl ConnectionTrait,
    user: UserId,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let url = mail::link(&issue(txn, user, email, now).await?);
    let body = format!(
        "Welcome to Herald.\n\n\
         Confirm that {email} is your address by opening this link (it works once, for \
         {LINK_HOURS} hours):\n\n{url}\n\n\
         You can advertise on Herald meanwhile. A confirmed address is needed to join other ad \
         accounts by invitation and for staff roles.\n\n\
         Did not sign up for Herald? Then someone else used your address. Open the link and \
         choose a password: the login becomes yours and everyone else using it is signed out. \
         Or ignore this mail: an unconfirmed address gives them nothing that is meant for you.\n"
    );
    let mail = Mail {
        to: email.to_owned(),
        subject: "Confirm your email address for Herald".into(),
        body,
        kind: MailKind::Confirmation,
    };
    mail::enqueue(txn, mail, now).await
}

/// Mails the owner of `email`, which already has a login, that someone tried to sign up with
/// it — with a link to set a new password, in case it was them and they forgot it.
pub(crate) async fn send_sign_up_attempt(
    txn: &impl ConnectionTrait,
    user: UserId,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let url = mail::link(&issue(txn, user, email, now).await?);
    let sign_in = mail::link("/sign-in");
    let body = format!(
        "Someone — perhaps you — tried to create a Herald login with {email}, which already \
         has one. Nothing was changed.\n\n\
         If it was you, sign in instead:\n\n{sign_in}\n\n\
         Forgot your password, or never created this login yourself? Choose a new password \
         with this link (it works once, for {LINK_HOURS} hours). It also confirms your \
         address and signs out everyone else using the login:\n\n{url}\n\n\
         If it was not you, you can ignore this mail.\n"
    );
    let mail = Mail {
        to: email.to_owned(),
        subject: "Someone tried to sign up to Herald with your address".into(),
        body,
        kind: MailKind::SignUpAttempt,
    };
    mail::enqueue(txn, mail, now).await
}

/// "Forgot your password?", its first half: checks the address and counts the request against
/// its client address — a client address may ask [`RESET_REQUESTS_PER_HOUR`] times an hour
/// (refused beyond, with when to try again) — and returns the address, normalised, for
/// [`mail_password_reset`]. Nothing here depends on whether a login uses the address, so the
/// answer, which the caller gives without waiting for the second half, is the same in what it
/// says and in how long it takes.
pub async fn request_password_reset<C: ConnectionTrait>(
    db: &C,
    input: ForgotPasswordInput,
    ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    // As sign-in does: spaces around the address and its case do not matter.
    let input = ForgotPasswordInput {
        email: normalize_email(&input.email),
    };
    input.validate()?;
    if let Some(ip) = ip {
        let key = format!("reset:{}", rate_limit::address_key(Some(ip)));
        let limit = Limit::new(RESET_REQUESTS_PER_HOUR, Duration::hours(1));
        if let Reservation::Refused { retry_after } =
            rate_limit::reserve(db, &key, limit, Duration::zero(), now).await?
        {
            return Err(AppError::TooManyAttempts(format!(
                "Too many requests from your network. Try again {}.",
                rate_limit::in_minutes(retry_after)
            )));
        }
    }
    Ok(input.email)
}

/// "Forgot your password?", its second half: mails the login that uses `email`, if there is
/// one, a link to choose a new password (the same single-use link as every mailed one: opened
/// signed out, it sets a new password, confirms the address and ends every session of the
/// login), at most [`RESET_MAILS_PER_HOUR`] such mails an hour per address; the audit event
/// records each request for a real login, mailed or not. One transaction: the link, the mail,
/// its count against the address's hourly mails and the event are written together or not at
/// all.
pub async fn mail_password_reset<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    email: String,
    ip: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some(user) = app_user::Entity::find()
        .filter(app_user::Column::Email.eq(&email))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let txn = db.begin().await?;
    let key = format!("reset:mail:{email}");
    let limit = Limit::new(RESET_MAILS_PER_HOUR, Duration::hours(1));
    let mailed = rate_limit::reserve(&txn, &key, limit, Duration::zero(), now)
        .await?
        .is_granted();
    audit::record(
        &txn,
        AuditEntry::new(
            AuditAction::PasswordResetRequested,
            "user",
            user.id.to_string(),
        )
        .from_ip(ip)
        .detail(serde_json::json!({ "email": email, "mailed": mailed })),
    )
    .await?;
    if mailed {
        let url = mail::link(&issue(&txn, UserId(user.id), &email, now).await?);
        let body = format!(
            "Someone — perhaps you — asked to choose a new password for the Herald login \
             {email}.\n\n\
             To choose one, open this link (it works once, for {LINK_HOURS} hours). It also \
             signs out everyone using the login:\n\n{url}\n\n\
             If it was not you, ignore this mail: your password stays as it is.\n"
        );
        let mail = Mail {
            to: email,
            subject: "Choose a new Herald password".into(),
            body,
            kind: MailKind::PasswordReset,
        };
        mail::enqueue(&txn, mail, now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Mails the signed-in, unconfirmed user a new confirmation link (a few an hour).
pub async fn resend<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
) -> Result<(), AppError> {
    if is_confirmed(db, actor.user_id).await? {
        return Err(AppError::Conflict(
            "Your email address is already confirmed.".into(),
        ));
    }
    let now = Utc::now();
    let key = format!("confirm:resend:{}", actor.user_id);
    let limit = Limit::new(RESENDS_PER_HOUR, Duration::hours(1));
    if let Reservation::Refused { retry_after } =
        rate_limit::reserve(db, &key, limit, Duration::zero(), now).await?
    {
        return Err(AppError::TooManyAttempts(format!(
            "We have sent several links already. Ask again {}.",
            rate_limit::in_minutes(retry_after)
        )));
    }
    let txn = db.begin().await?;
    send_confirmation(&txn, actor.user_id, &actor.email, now).await?;
    txn.commit().await?;
    Ok(())
}

/// The link behind `token` with its user; a value that is not shaped like a token is unknown
/// without a query.
async fn by_token(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<(email_link::Model, app_user::Model)>, AppError> {
    if !limits::is_token(token) {
        return Ok(None);
    }
    let Some(link) = email_link::Entity::find()
        .filter(email_link::Column::TokenSha256.eq(hash_token(token)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let user = app_user::Entity::find_by_id(link.user_id).one(db).await?;
    // A link is for the address it was sent to, only while the user still has that address.
    Ok(user.filter(|u| u.email == link.email).map(|u| (link, u)))
}

fn state(link: &email_link::Model, now: DateTime<Utc>) -> EmailLinkState {
    if link.used_at.is_some() {
        EmailLinkState::Used
    } else if link.expires_at <= now {
        EmailLinkState::Expired
    } else {
        EmailLinkState::Open
    }
}

/// The link behind `token` as its page shows it to whoever holds it (`viewer`: who is signed
/// in on that browser). An unknown token is `NotFound`.
pub async fn preview(
    db: &impl ConnectionTrait,
    token: &str,
    viewer: Option<UserId>,
) -> Result<EmailLinkPreview, AppError> {
    let (link, user) = by_token(db, token).await?.ok_or(AppError::NotFound)?;
    Ok(EmailLinkPreview {
        state: state(&link, Utc::now()),
        yours: viewer == Some(UserId(user.id)),
        email: link.email,
    })
}

/// Uses the link once (a conditional update: of two racing uses exactly one passes).
async fn claim(
    txn: &impl ConnectionTrait,
    link: &email_link::Model,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let claimed = email_link::Entity::update_many()
        .col_expr(email_link::Column::UsedAt, Expr::value(now))
        .filter(email_link::Column::Id.eq(link.id))
        .filter(email_link::Column::UsedAt.is_null())
        .filter(email_link::Column::ExpiresAt.gt(now))
        .exec(txn)
        .await?
        .rows_affected;
    if claimed == 1 {
        Ok(())
    } else {
        Err(AppError::Conflict(state(link, now).explain().into()))
    }
}

/// Confirms the address of the signed-in `user` with their link `token`. A link of another
/// user is `NotFound` (confirming needs both the mailbox and the password).
pub async fn confirm<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    user: UserId,
    token: &str,
    ip: Option<String>,
) -> Result<(), AppError> {
    let (link, owner) = by_token(db, token).await?.ok_or(AppError::NotFound)?;
    if owner.id != user.0 {
        return Err(AppError::NotFound);
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    claim(&txn, &link, now).await?;
    if mark_confirmed(&txn, user, now).await? {
        audit::record(
            &txn,
            AuditEntry::new(AuditAction::EmailVerified, "user", user.to_string())
                .by(user)
                .from_ip(ip)
                .detail(serde_json::json!({ "email": link.email })),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Sets a new password for the user of the link in `input` — whoever holds the link controls
/// the address — confirms the address, retires the user's other links and ends every session
/// of the user (a squatter's included). Returns the user, for the caller to sign in.
pub async fn set_password<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    hasher: &PasswordHasher,
    mut input: NewPasswordInput,
    ip: Option<String>,
) -> Result<UserId, AppError> {
    let mut errors = input
        .validate()
        .err()
        .map(FieldErrors::from)
        .unwrap_or_default();
    let found = if errors.get("token").is_none() {
        by_token(db, &input.token).await?
    } else {
        None
    };
    let Some((link, owner)) = found else {
        return Err(AppError::NotFound);
    };
    let now = Utc::now();
    if state(&link, now) != EmailLinkState::Open {
        return Err(AppError::Conflict(state(&link, now).explain().into()));
    }
    if errors.get("password").is_none()
        && let Some(why) = passwords::weakness(&input.password, &owner.email)
    {
        errors.add("password", why);
    }
    errors.into_result()?;
    let hash = hasher.hash(std::mem::take(&mut input.password)).await?;
    let user = UserId(owner.id);
    let txn = db.begin().await?;
    claim(&txn, &link, now).await?;
    app_user::Entity::update_many()
        .col_expr(app_user::Column::PasswordHash, Expr::value(hash))
        .filter(app_user::Column::Id.eq(user.0))
        .exec(&txn)
        .await?;
    let newly_confirmed = mark_confirmed(&txn, user, now).await?;
    email_link::Entity::update_many()
        .col_expr(email_link::Column::UsedAt, Expr::value(now))
        .filter(email_link::Column::UserId.eq(user.0))
        .filter(email_link::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    let ended = sessions::end_all(&txn, user, None).await?;
    audit::record(
        &txn,
        AuditEntry::new(AuditAction::PasswordReset, "user", user.to_string())
            .by(user)
            .from_ip(ip)
            .detail(serde_json::json!({
                "email": link.email,
                "newly_confirmed": newly_confirmed,
                "sessions_ended": ended,
            })),
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}
