//! Sign-up: a new user with their own ad account, or one who joins an account by invitation —
//! answered the same way whether or not the address already has a login, and throttled per
//! client address.
//!
//! A new address gets a user (unconfirmed, unless a mailed invitation link proves it), signed in
//! at once, and a confirmation mail; a known address gets nothing created, and its owner a mail
//! saying someone tried (with a link to set a new password). Both take an argon2 hash and one
//! transaction of a few writes, so neither the answer nor its timing tells them apart.

use crate::{
    entity::{account_member, ad_account, app_user},
    error::{AppError, FieldErrors},
    model::{AccountId, AccountRole, AuditAction, SignUpInput, UserId, normalize_email},
    service::{
        audit::{self, AuditEntry},
        invitations,
        passwords::{self, PasswordHasher},
        rate_limit::{self, Limit, Reservation},
        settings,
        verification::{self, CONFIRM_FIRST},
    },
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, SqlErr,
    TransactionSession, TransactionTrait,
};
use validator::Validate;

/// Sign-ups allowed per client address within [`SIGN_UP_WINDOW`]; the next is refused (429).
pub const MAX_SIGN_UPS: u32 = 10;
/// The window of [`MAX_SIGN_UPS`].
pub const SIGN_UP_WINDOW: Duration = Duration::hours(1);
/// "Someone tried to sign up with your address" mails per address within [`SIGN_UP_WINDOW`]:
/// sign-ups from many client addresses cannot flood one mailbox.
const ATTEMPT_MAILS_PER_ADDRESS: u32 = 3;

/// What a sign-up did. The browser gets the same answer either way; only the mailbox differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignUpOutcome {
    /// The new user, for the caller to sign in; `None` when the address already had a login
    /// (nothing was created, and its owner was mailed).
    pub new_user: Option<UserId>,
    /// The account joined by invitation.
    pub joined: Option<AccountId>,
    /// Whether the browser goes on to the invitation page rather than the dashboard: an
    /// invitation through the owner's link, which needs a confirmed address before joining.
    /// It depends on the link only, never on whether the address had a login.
    pub to_invitation: bool,
}

/// Signs up from the web: a user who owns a new ad account, or — with `invite` — one who joins
/// that invitation's account. Invalid input is `Invalid`; more than [`MAX_SIGN_UPS`] per
/// client address `ip` in a window is `TooManyAttempts` (no address, as for a call outside
/// HTTP: not throttled). Everything else answers `Ok`, for a known address as for a new one.
pub async fn register<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    hasher: &PasswordHasher,
    mut input: SignUpInput,
    invite: Option<&str>,
    ip: Option<String>,
) -> Result<SignUpOutcome, AppError> {
    input.email = normalize_email(&input.email);
    check(db, &input, invite).await?;
    let now = Utc::now();
    throttle(db, ip.as_deref(), now).await?;
    let mailed = match invite {
        Some(token) => invitations::is_mailed_token(db, token).await?,
        None => false,
    };
    let to_invitation = invite.is_some() && !mailed;
    // Hashed for a known address too, so that both take the same time.
    let hash = hasher.hash(std::mem::take(&mut input.password)).await?;
    let known = find_user(db, &input.email).await?;
    if known.is_none() {
        let new = NewUser {
            input: &input,
            hash,
            invite,
            proof: if mailed {
                Proof::MailedInvitation
            } else {
                Proof::None
            },
            ip: ip.clone(),
            now,
        };
        match create(db, new).await {
            Ok((user, joined)) => {
                return Ok(SignUpOutcome {
                    new_user: Some(user),
                    joined,
                    to_invitation,
                });
            }
            // Two sign-ups racing for one address: the unique index decides; the loser is
            // answered like any other known address.
            Err(Created::Taken) => {}
            Err(Created::Failed(e)) => return Err(e),
        }
    }
    let user = match known {
        Some(user) => user,
        None => find_user(db, &input.email)
            .await?
            .ok_or_else(|| AppError::internal("sign-up", "address taken but not found"))?,
    };
    notify_owner(db, &user, ip, now).await?;
    Ok(SignUpOutcome {
        new_user: None,
        joined: None,
        to_invitation,
    })
}

/// Signs up a user who owns a new ad account, for callers that need the new user (the demo
/// seed, tools, tests). A known address is a `Conflict` — never hand that answer to a browser:
/// [`register`] is the web's entry point.
pub async fn sign_up<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    hasher: &PasswordHasher,
    input: SignUpInput,
    ip: Option<String>,
) -> Result<UserId, AppError> {
    register(db, hasher, input, None, ip)
        .await?
        .new_user
        .ok_or_else(taken)
}

/// Signs up a user who joins the account of the invitation behind `token` (the account fields
/// of `input` are ignored), like [`sign_up`]: a known address is a `Conflict`, and so is the
/// owner's link, with which a new user cannot join before confirming their address.
pub async fn sign_up_invited<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    hasher: &PasswordHasher,
    input: SignUpInput,
    token: &str,
    ip: Option<String>,
) -> Result<(UserId, AccountId), AppError> {
    let outcome = register(db, hasher, input, Some(token), ip).await?;
    match (outcome.new_user, outcome.joined) {
        (Some(user), Some(account)) => Ok((user, account)),
        (Some(_), None) => Err(AppError::Conflict(CONFIRM_FIRST.into())),
        (None, _) => Err(taken()),
    }
}

/// Signs up a user whose address the operator vouches for (the demo seed): confirmed from the
/// start, no mail, not throttled. The user owns a new ad account, or with `invite` (an open
/// invitation's token for this address, the owner's link included) joins that account
/// instead. A known address is a `Conflict`.
pub async fn sign_up_confirmed<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    hasher: &PasswordHasher,
    mut input: SignUpInput,
    invite: Option<&str>,
) -> Result<UserId, AppError> {
    input.email = normalize_email(&input.email);
    check(db, &input, invite).await?;
    let hash = hasher.hash(std::mem::take(&mut input.password)).await?;
    let new = NewUser {
        input: &input,
        hash,
        invite,
        proof: Proof::Operator,
        ip: None,
        now: Utc::now(),
    };
    match create(db, new).await {
        Ok((user, _)) => Ok(user),
        Err(Created::Taken) => Err(taken()),
        Err(Created::Failed(e)) => Err(e),
    }
}

fn taken() -> AppError {
    AppError::Conflict("This address already has a login.".into())
}

/// The form's fields (and the invitation's, when there is one), before anything is counted.
async fn check(
    db: &impl ConnectionTrait,
    input: &SignUpInput,
    invite: Option<&str>,
) -> Result<(), AppError> {
    let mut errors = input
        .validate()
        .err()
        .map(FieldErrors::from)
        .unwrap_or_default();
    if let Some(token) = invite {
        errors.0.remove("account_name");
        errors.0.remove("time_zone");
        if errors.get("email").is_none()
            && let Some((field, why)) = invitations::check_open(db, token, &input.email).await?
        {
            errors.add(field, why);
        }
    }
    if errors.get("password").is_none()
        && let Some(why) = passwords::weakness(&input.password, &input.email)
    {
        errors.add("password", why);
    }
    errors.into_result()
}

/// Counts one sign-up against the client address; the one past [`MAX_SIGN_UPS`] is refused.
async fn throttle(
    db: &impl ConnectionTrait,
    ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some(ip) = ip else { return Ok(()) };
    let limit = Limit::new(MAX_SIGN_UPS, SIGN_UP_WINDOW);
    let key = format!("signup:{}", rate_limit::address_key(Some(ip)));
    match rate_limit::reserve(db, &key, limit, Duration::zero(), now).await? {
        Reservation::Granted { .. } => Ok(()),
        Reservation::Refused { retry_after } => Err(AppError::TooManyAttempts(format!(
            "Too many sign-ups from your network. Try again {}.",
            rate_limit::in_minutes(retry_after)
        ))),
    }
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

struct NewUser<'a> {
    input: &'a SignUpInput,
    hash: String,
    invite: Option<&'a str>,
    proof: Proof,
    ip: Option<String>,
    now: DateTime<Utc>,
}

/// What, if anything, proves that the new user receives mail at their address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proof {
    /// Nothing yet: a confirmation link is mailed.
    None,
    /// The invitation's mailed link (accepting it confirms the address).
    MailedInvitation,
    /// The operator vouches for it.
    Operator,
}

enum Created {
    /// The address got a user meanwhile.
    Taken,
    Failed(AppError),
}

impl From<AppError> for Created {
    fn from(e: AppError) -> Self {
        Self::Failed(e)
    }
}

impl From<DbErr> for Created {
    fn from(e: DbErr) -> Self {
        Self::Failed(e.into())
    }
}

/// The new user with their account (or the invitation's), the audit row and the confirmation
/// mail; all or nothing.
async fn create<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    new: NewUser<'_>,
) -> Result<(UserId, Option<AccountId>), Created> {
    let NewUser {
        input,
        hash,
        invite,
        proof,
        ip,
        now,
    } = new;
    let email = input.email.as_str();
    let txn = db.begin().await?;
    let inserted = app_user::ActiveModel {
        email: Set(email.to_owned()),
        password_hash: Set(hash),
        created_at: Set(now),
        email_verified_at: Set((proof == Proof::Operator).then_some(now)),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let user = match inserted {
        Ok(user) => UserId(user.id),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(Created::Taken);
        }
        Err(e) => return Err(e.into()),
    };
    let account = match invite {
        // Accepting through the mailed link confirms the address.
        Some(token) if proof == Proof::MailedInvitation => {
            Some(invitations::accept_in(&txn, user, email, false, token, ip.clone()).await?)
        }
        // The operator vouches for the address: either of the invitation's tokens.
        Some(token) if proof == Proof::Operator => {
            Some(invitations::accept_in(&txn, user, email, true, token, ip.clone()).await?)
        }
        // The owner's link: the user joins once their address is confirmed.
        Some(_) => None,
        None => Some(new_owned_account(&txn, user, input, now).await?),
    };
    audit::record(
        &txn,
        AuditEntry::new(AuditAction::SignUp, "user", user.to_string())
            .by(user)
            .from_ip(ip)
            .detail(serde_json::json!({
                "email": email,
                "account_id": account.map(|a| a.0),
                "invited": invite.is_some(),
                "confirmed": proof != Proof::None,
            })),
    )
    .await?;
    if proof == Proof::None {
        verification::send_confirmation(&txn, user, email, now).await?;
    }
    txn.commit().await?;
    Ok((user, invite.and(account)))
}

/// A new ad account owned by `user`, named as the sign-up form says.
async fn new_owned_account(
    txn: &impl ConnectionTrait,
    user: UserId,
    input: &SignUpInput,
    now: DateTime<Utc>,
) -> Result<AccountId, AppError> {
    let account = ad_account::ActiveModel {
        name: Set(input.account_name.trim().to_owned()),
        // The platform's currency for new accounts when it opens; the account keeps it.
        currency: Set(settings::account_currency(txn).await?),
        time_zone: Set(input.time_zone.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    account_member::ActiveModel {
        account_id: Set(account.id),
        user_id: Set(user.0),
        role: Set(AccountRole::Owner),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(AccountId(account.id))
}

/// A sign-up for an address that has a login: nothing is created; the audit trail records it
/// and the address's owner is mailed (a few times a window at most).
async fn notify_owner<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    user: &app_user::Model,
    ip: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let key = format!("signup:mail:{}", user.email);
    let limit = Limit::new(ATTEMPT_MAILS_PER_ADDRESS, SIGN_UP_WINDOW);
    let mail = rate_limit::reserve(db, &key, limit, Duration::zero(), now)
        .await?
        .is_granted();
    let owner = UserId(user.id);
    let txn = db.begin().await?;
    audit::record(
        &txn,
        AuditEntry::new(AuditAction::SignUpExisting, "user", owner.to_string())
            .from_ip(ip)
            .detail(serde_json::json!({ "email": user.email, "mailed": mail })),
    )
    .await?;
    if mail {
        verification::send_sign_up_attempt(&txn, owner, &user.email, now).await?;
    }
    txn.commit().await?;
    Ok(())
}
