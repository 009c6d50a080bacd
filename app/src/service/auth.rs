//! Sign-up, sign-in (with throttling) and loading the signed-in `Viewer`.

use crate::{
    entity::{account_member, ad_account, app_user, audit_event, staff_role},
    error::{AppError, FieldErrors},
    model::{
        AccountId, AccountRole, AuditAction, DEFAULT_CURRENCY, Membership, PlatformRole,
        SignInInput, SignUpInput, UserId, Viewer, normalize_email,
    },
    service::{
        audit::{self, AuditEntry},
        invitations,
        passwords::{self, PasswordHasher},
    },
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use validator::Validate;

/// Failed sign-ins allowed per email and per client address within [`THROTTLE_WINDOW`].
pub const MAX_FAILURES: u64 = 10;
/// The sliding window for [`MAX_FAILURES`].
pub const THROTTLE_WINDOW: Duration = Duration::minutes(15);

/// The one message for a wrong email or a wrong password: both must look the same.
pub const BAD_CREDENTIALS: &str = "Email or password is incorrect.";

/// Creates a user who owns a new ad account; all or nothing. Returns the new user's id.
pub async fn sign_up<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    hasher: &PasswordHasher,
    input: SignUpInput,
    ip: Option<String>,
) -> Result<UserId, AppError> {
    create_user(db, hasher, input, None, ip)
        .await
        .map(|(user, _)| user)
}

/// Creates a user who joins the account of the invitation behind `token` (and owns no account
/// of their own: the account fields of `input` are ignored); all or nothing. Returns the new
/// user and the account joined.
pub async fn sign_up_invited<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    hasher: &PasswordHasher,
    input: SignUpInput,
    token: &str,
    ip: Option<String>,
) -> Result<(UserId, AccountId), AppError> {
    create_user(db, hasher, input, Some(token), ip).await
}

async fn create_user<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    hasher: &PasswordHasher,
    mut input: SignUpInput,
    invite: Option<&str>,
    ip: Option<String>,
) -> Result<(UserId, AccountId), AppError> {
    input.email = normalize_email(&input.email);
    let email = input.email.clone();
    let mut errors = input
        .validate()
        .err()
        .map(FieldErrors::from)
        .unwrap_or_default();
    if let Some(token) = invite {
        errors.0.remove("account_name");
        errors.0.remove("time_zone");
        if errors.get("email").is_none()
            && let Some((field, why)) = invitations::check_open(db, token, &email).await?
        {
            errors.add(field, why);
        }
    }
    if errors.get("password").is_none()
        && let Some(why) = passwords::weakness(&input.password, &email)
    {
        errors.add("password", why);
    }
    if errors.get("email").is_none() && find_user(db, &email).await?.is_some() {
        errors.add(
            "email",
            "An account with this email already exists. Sign in instead.",
        );
    }
    errors.into_result()?;

    let hash = hasher.hash(std::mem::take(&mut input.password)).await?;
    let now = Utc::now();
    let txn = db.begin().await?;
    let user = app_user::ActiveModel {
        email: Set(email.clone()),
        password_hash: Set(hash),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    // Two sign-ups racing for one address: the unique index decides, the loser is told plainly.
    .map_err(|_| AppError::field("email", "An account with this email already exists."))?;
    let account = match invite {
        Some(token) => {
            invitations::accept_in(&txn, UserId(user.id), &email, token, ip.clone()).await?
        }
        None => new_owned_account(&txn, user.id, &input).await?,
    };
    audit::record(
        &txn,
        AuditEntry::new(AuditAction::SignUp, "user", user.id.to_string())
            .by(UserId(user.id))
            .from_ip(ip)
            .detail(serde_json::json!({
                "email": email,
                "account_id": account.0,
                "invited": invite.is_some(),
            })),
    )
    .await?;
    txn.commit().await?;
    Ok((UserId(user.id), account))
}

/// A new ad account owned by `user`, named as the sign-up form says.
async fn new_owned_account(
    txn: &impl ConnectionTrait,
    user: i64,
    input: &SignUpInput,
) -> Result<AccountId, AppError> {
    let now = Utc::now();
    let account = ad_account::ActiveModel {
        name: Set(input.account_name.trim().to_owned()),
        currency: Set(DEFAULT_CURRENCY.to_owned()),
        time_zone: Set(input.time_zone.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    account_member::ActiveModel {
        account_id: Set(account.id),
        user_id: Set(user),
        role: Set(AccountRole::Owner),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(AccountId(account.id))
}

/// Checks credentials. Refuses (and audits) when the email or the client address has had
/// [`MAX_FAILURES`] failures within [`THROTTLE_WINDOW`].
pub async fn sign_in(
    db: &impl ConnectionTrait,
    hasher: &PasswordHasher,
    input: SignInInput,
    ip: Option<String>,
) -> Result<UserId, AppError> {
    let email = normalize_email(&input.email);
    if email.is_empty() || input.password.is_empty() {
        let mut errors = FieldErrors::default();
        if email.is_empty() {
            errors.add("email", "Enter your email address.");
        }
        if input.password.is_empty() {
            errors.add("password", "Enter your password.");
        }
        return Err(AppError::Invalid(errors));
    }
    let now = Utc::now();
    if let Some(until) = throttled_until(db, &email, ip.as_deref(), now).await? {
        audit::record(
            db,
            AuditEntry::new(AuditAction::SignInThrottled, "email", email).from_ip(ip),
        )
        .await?;
        let minutes = (until - now).num_minutes() + 1;
        return Err(AppError::TooManyAttempts(format!(
            "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        )));
    }
    let user = find_user(db, &email).await?;
    let ok = hasher
        .verify(
            input.password,
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
    match user {
        Some(user) if ok => {
            audit::record(
                db,
                AuditEntry::new(AuditAction::SignIn, "user", user.id.to_string())
                    .by(UserId(user.id))
                    .from_ip(ip),
            )
            .await?;
            Ok(UserId(user.id))
        }
        _ => {
            audit::record(
                db,
                AuditEntry::new(AuditAction::SignInFailed, "email", email).from_ip(ip),
            )
            .await?;
            Err(AppError::field("form", BAD_CREDENTIALS))
        }
    }
}

/// When sign-in is blocked, the moment the oldest counted failure leaves the window.
async fn throttled_until(
    db: &impl ConnectionTrait,
    email: &str,
    ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let since = now - THROTTLE_WINDOW;
    let failures = || {
        audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq(AuditAction::SignInFailed.code()))
            .filter(audit_event::Column::At.gt(since))
    };
    let mut until: Option<DateTime<Utc>> = None;
    let by_email = failures().filter(audit_event::Column::TargetId.eq(email));
    let by_ip = ip.map(|ip| failures().filter(audit_event::Column::Ip.eq(ip)));
    for query in std::iter::once(by_email).chain(by_ip) {
        if query.clone().count(db).await? >= MAX_FAILURES {
            // The window reopens when the failure that tipped it over the limit expires.
            let tipping = query
                .order_by_desc(audit_event::Column::At)
                .offset(MAX_FAILURES - 1)
                .one(db)
                .await?;
            if let Some(event) = tipping {
                let reopens = event.at + THROTTLE_WINDOW;
                until = Some(until.map_or(reopens, |u| u.max(reopens)));
            }
        }
    }
    Ok(until)
}

/// Records a sign-out.
pub async fn signed_out(
    db: &impl ConnectionTrait,
    user: UserId,
    ip: Option<String>,
) -> Result<(), AppError> {
    audit::record(
        db,
        AuditEntry::new(AuditAction::SignOut, "user", user.to_string())
            .by(user)
            .from_ip(ip),
    )
    .await
}

async fn find_user(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<app_user::Model>, AppError> {
    Ok(app_user::Entity::find()
        .filter(app_user::Column::Email.eq(email))
        .one(db)
        .await?)
}

/// The user's accounts, oldest membership first.
pub async fn memberships(
    db: &impl ConnectionTrait,
    user: UserId,
) -> Result<Vec<Membership>, AppError> {
    let rows = account_member::Entity::find()
        .filter(account_member::Column::UserId.eq(user.0))
        .find_also_related(ad_account::Entity)
        .order_by_asc(account_member::Column::CreatedAt)
        .order_by_asc(account_member::Column::AccountId)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(member, account)| {
            account.map(|account| Membership {
                account_id: AccountId(account.id),
                account_name: account.name,
                role: member.role,
            })
        })
        .collect())
}

/// The signed-in user as the browser sees them, or `None` if the user no longer exists.
/// `preferred` is the account chosen in the session; it is kept only while still a membership.
pub async fn viewer(
    db: &impl ConnectionTrait,
    user: UserId,
    preferred: Option<AccountId>,
) -> Result<Option<Viewer>, AppError> {
    let Some(found) = app_user::Entity::find_by_id(user.0).one(db).await? else {
        return Ok(None);
    };
    let staff_roles: Vec<PlatformRole> = staff_role::Entity::find()
        .filter(staff_role::Column::UserId.eq(user.0))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.role)
        .collect();
    let memberships = memberships(db, user).await?;
    let current_account = preferred
        .filter(|id| memberships.iter().any(|m| m.account_id == *id))
        .or_else(|| memberships.first().map(|m| m.account_id));
    Ok(Some(Viewer {
        user_id: user,
        email: found.email,
        staff_roles,
        memberships,
        current_account,
        unread_notifications: 0,
    }))
}
