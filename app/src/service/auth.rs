//! Sign-in (with throttling) and loading the signed-in `Viewer`; sign-up is in `sign_up`.

use crate::{
    entity::{app_user, audit_event},
    error::{AppError, FieldErrors},
    model::{
        AccountId, AccountPermission, AccountRole, AuditAction, LedgerKind, Membership, Micros,
        PlatformRole, SignInInput, UserId, Viewer, normalize_email,
    },
    service::{
        audit::{self, AuditEntry},
        ledger,
        passwords::PasswordHasher,
        rate_limit::{self, Limit, Reservation},
        sql::Sql,
    },
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use validator::Validate;

/// Sign-in attempts allowed per (email, client address) within [`THROTTLE_WINDOW`]; a correct
/// password gives its attempt back.
pub const MAX_FAILURES: u32 = 10;
/// Attempts allowed per client address, over every email, within [`THROTTLE_WINDOW`]
/// (credential stuffing from one place).
pub const MAX_ADDRESS_FAILURES: u32 = 30;
/// The window of the per-pair and per-address limits.
pub const THROTTLE_WINDOW: Duration = Duration::minutes(15);
/// Attempts per account in any hour from addresses it has not signed in from (ASVS 5.0 6.3.1:
/// at most 100 failures an hour per account): a burst of [`ACCOUNT_BURST`] plus one slot every
/// 3600 / (100 − burst) seconds.
pub const MAX_ACCOUNT_FAILURES_PER_HOUR: u32 = 100;
/// Attempts that may come at once; beyond them each attempt waits for its slot.
const ACCOUNT_BURST: u32 = 20;
/// The per-account limit: [`ACCOUNT_BURST`] at once, then one every 45 s, so that no hour holds
/// more than [`MAX_ACCOUNT_FAILURES_PER_HOUR`].
pub const ACCOUNT_LIMIT: Limit = Limit::new(
    ACCOUNT_BURST,
    Duration::seconds(
        3600 * ACCOUNT_BURST as i64 / (MAX_ACCOUNT_FAILURES_PER_HOUR - ACCOUNT_BURST) as i64,
    ),
);
/// The longest an attempt waits for its slot before it is refused instead.
const MAX_ACCOUNT_WAIT: Duration = Duration::seconds(30);
/// An address the user signed in from within this many days is "known".
const KNOWN_ADDRESS_DAYS: i64 = 30;

/// The one message for a wrong email or a wrong password: both must look the same.
pub const BAD_CREDENTIALS: &str = "Email or password is incorrect.";

/// Sign-up lives in its own module (answered alike for known and new addresses).
pub use super::sign_up::{sign_up, sign_up_invited};

/// Checks credentials, throttled so that guessing is slow and nobody can lock anyone else out
/// (see [`SignInThrottle`]). Every attempt is counted before its password is verified.
pub async fn sign_in(
    db: &impl ConnectionTrait,
    hasher: &PasswordHasher,
    input: SignInInput,
    ip: Option<String>,
) -> Result<UserId, AppError> {
    let email = normalize_email(&input.email);
    check_sign_in_input(&email, &input)?;
    let now = Utc::now();
    let user = find_user(db, &email).await?;
    let known = match &user {
        Some(user) => known_address(db, UserId(user.id), ip.as_deref(), now).await?,
        None => false,
    };
    let throttle = SignInThrottle::new(&email, ip.as_deref());
    let wait = match throttle.reserve(db, known, now).await? {
        Ok(wait) => wait,
        Err(retry_after) => return Err(throttled(db, &email, ip, retry_after, now).await?),
    };
    if let Ok(wait) = wait.to_std()
        && !wait.is_zero()
    {
        tokio::time::sleep(wait).await;
    }
    let ok = hasher
        .verify(
            input.password,
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
    let known_user = user.is_some();
    match user {
        Some(user) if ok => {
            throttle.succeeded(db, known).await?;
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
            // For whoever watches the logs for guessing: the request's id leads to the
            // audit entry (which names the address); the log itself names nobody.
            tracing::info!(
                target: "herald::auth",
                known_user,
                "sign-in refused: wrong email or password"
            );
            Err(AppError::field("form", BAD_CREDENTIALS))
        }
    }
}

/// Presence and size of the sign-in fields, before anything is counted or stored.
fn check_sign_in_input(email: &str, input: &SignInInput) -> Result<(), AppError> {
    let mut errors = input
        .validate()
        .err()
        .map(FieldErrors::from)
        .unwrap_or_default();
    if email.is_empty() {
        errors.add("email", "Enter your email address.");
    }
    if input.password.is_empty() {
        errors.add("password", "Enter your password.");
    }
    errors.into_result()
}

/// The refusal of a throttled attempt. At most one audit row per client address and window is
/// written, however many throttled requests arrive (the audit trail cannot be deleted).
async fn throttled(
    db: &impl ConnectionTrait,
    email: &str,
    ip: Option<String>,
    retry_after: Duration,
    now: DateTime<Utc>,
) -> Result<AppError, AppError> {
    let key = format!("signin:audit:{}", rate_limit::address_key(ip.as_deref()));
    let once = Limit::new(1, THROTTLE_WINDOW);
    if rate_limit::reserve(db, &key, once, Duration::zero(), now)
        .await?
        .is_granted()
    {
        audit::record(
            db,
            AuditEntry::new(AuditAction::SignInThrottled, "email", email).from_ip(ip),
        )
        .await?;
        tracing::warn!(
            target: "herald::auth",
            "sign-ins throttled: too many failures (audited once per address and window)"
        );
    }
    Ok(AppError::TooManyAttempts(format!(
        "Too many failed sign-in attempts. Try again {}.",
        rate_limit::in_minutes(retry_after)
    )))
}

/// Whether `user` signed in successfully from `ip` within [`KNOWN_ADDRESS_DAYS`]: such an
/// address is not slowed down by failures that others cause on the account.
async fn known_address(
    db: &impl ConnectionTrait,
    user: UserId,
    ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let Some(ip) = ip else { return Ok(false) };
    let found = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(AuditAction::SignIn.code()))
        .filter(audit_event::Column::TargetId.eq(user.to_string()))
        .filter(audit_event::Column::Ip.eq(ip))
        .filter(audit_event::Column::At.gt(now - Duration::days(KNOWN_ADDRESS_DAYS)))
        .select_only()
        .column(audit_event::Column::Id)
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// The sign-in throttle of one (email, client address): three database rate limits, each
/// reserved atomically before the password is verified.
///
/// - per (email, address): [`MAX_FAILURES`] per window, then refused — stops one source
///   guessing one account without touching anyone else;
/// - per address: [`MAX_ADDRESS_FAILURES`] per window over all emails, then refused;
/// - per email, from addresses the account has not signed in from: slowed, not refused — past
///   a burst each attempt waits for its slot (at most 100 in any hour), and only a flood that
///   fills the next [`MAX_ACCOUNT_WAIT`] is refused. Addresses with a recent successful sign-in are
///   exempt, so an attacker can neither lock the owner out nor guess more than about 100 times
///   an hour.
///
/// A correct password gives its reservations back.
struct SignInThrottle {
    pair: String,
    address: String,
    account: String,
}

impl SignInThrottle {
    const PAIR: Limit = Limit::new(MAX_FAILURES, THROTTLE_WINDOW);
    const ADDRESS: Limit = Limit::new(MAX_ADDRESS_FAILURES, THROTTLE_WINDOW);
    const ACCOUNT: Limit = ACCOUNT_LIMIT;

    fn new(email: &str, ip: Option<&str>) -> Self {
        let ip = rate_limit::address_key(ip);
        Self {
            pair: format!("signin:pair:{ip}|{email}"),
            address: format!("signin:ip:{ip}"),
            account: format!("signin:email:{email}"),
        }
    }

    /// Reserves the attempt: `Ok(wait)` to go ahead after `wait`, `Err(retry_after)` when
    /// refused (then nothing stays reserved).
    async fn reserve(
        &self,
        db: &impl ConnectionTrait,
        known: bool,
        now: DateTime<Utc>,
    ) -> Result<Result<Duration, Duration>, AppError> {
        let zero = Duration::zero();
        if let Reservation::Refused { retry_after } =
            rate_limit::reserve(db, &self.pair, Self::PAIR, zero, now).await?
        {
            return Ok(Err(retry_after));
        }
        if let Reservation::Refused { retry_after } =
            rate_limit::reserve(db, &self.address, Self::ADDRESS, zero, now).await?
        {
            rate_limit::refund(db, &self.pair, Self::PAIR).await?;
            return Ok(Err(retry_after));
        }
        if known {
            return Ok(Ok(zero));
        }
        match rate_limit::reserve(db, &self.account, Self::ACCOUNT, MAX_ACCOUNT_WAIT, now).await? {
            Reservation::Granted { wait } => Ok(Ok(wait)),
            Reservation::Refused { retry_after } => {
                rate_limit::refund(db, &self.pair, Self::PAIR).await?;
                rate_limit::refund(db, &self.address, Self::ADDRESS).await?;
                Ok(Err(retry_after))
            }
        }
    }

    /// A correct password: the pair starts afresh and the other reservations are given back.
    async fn succeeded(&self, db: &impl ConnectionTrait, known: bool) -> Result<(), AppError> {
        rate_limit::reset(db, &self.pair).await?;
        rate_limit::refund(db, &self.address, Self::ADDRESS).await?;
        if !known {
            rate_limit::refund(db, &self.account, Self::ACCOUNT).await?;
        }
        Ok(())
    }
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

/// The signed-in user as the browser sees them, or `None` if the user no longer exists.
/// `preferred` is the account chosen in the session; it is kept only while still a membership.
///
/// One statement (every signed-in page asks, so it is on the hot path of every request): the
/// user's row, their staff roles and their memberships with each account's name, currency and
/// time zone, as one `UNION ALL` whose rows say which of the three they are.
pub async fn viewer(
    db: &impl ConnectionTrait,
    user: UserId,
    preferred: Option<AccountId>,
) -> Result<Option<Viewer>, AppError> {
    let (_, rows) = viewer_rows(db, ViewerOf::User(user)).await?;
    Ok(rows.map(|rows| rows.into_viewer(preferred)))
}

/// A stored session that has not expired at `now` — its record as the session store keeps it
/// (JSON) — and the viewer of the user it names (`None` when it names none, or one that no
/// longer exists), in the same single statement as [`viewer`]: a signed-in page's first
/// question costs one statement, not one for the session and one for its user. `None` when no
/// such session is stored (ended, expired, never saved).
pub async fn session_viewer(
    db: &impl ConnectionTrait,
    session_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<(String, Option<ViewerRows>)>, AppError> {
    let (record, rows) = viewer_rows(db, ViewerOf::Session(session_id, now)).await?;
    Ok(record.map(|record| (record, rows)))
}

/// Whose viewer [`viewer_rows`] reads.
enum ViewerOf<'a> {
    User(UserId),
    /// The user of this stored session, if it has not expired at the given time.
    Session(&'a str, DateTime<Utc>),
}

/// A viewer as read, before the current account is chosen ([`ViewerRows::into_viewer`]).
#[derive(Clone, Debug)]
pub struct ViewerRows {
    pub user: UserId,
    email: String,
    email_verified: bool,
    staff_roles: Vec<PlatformRole>,
    memberships: Vec<Membership>,
    /// Per membership: (unread notifications, available balance; none when never used).
    header: Vec<(i64, Option<i64>)>,
}

/// The viewer's rows (and with [`ViewerOf::Session`], the session's stored record).
async fn viewer_rows(
    db: &impl ConnectionTrait,
    of: ViewerOf<'_>,
) -> Result<(Option<String>, Option<ViewerRows>), AppError> {
    use sea_orm::ActiveEnum;
    let mut sql = Sql::new();
    // The user: bound, or the one the session row names (its `user_id` column is written with
    // its data, every time).
    let (with, who, session_part) = match of {
        ViewerOf::User(user) => (String::new(), sql.bind(user.0), ""),
        ViewerOf::Session(id, now) => (
            format!(
                "WITH s AS (SELECT data, user_id FROM tower_session \
                             WHERE id = {} AND expiry_date > {}) ",
                sql.bind(id),
                sql.bind(now)
            ),
            "(SELECT user_id FROM s)".to_owned(),
            " UNION ALL \
             SELECT 'a', s.data, NULL, NULL, NULL, 0, CAST(NULL AS BIGINT), NULL, 0, \
                    CAST(NULL AS BIGINT) FROM s",
        ),
    };
    let available =
        ledger::balance_lookup(&mut sql, LedgerKind::AccountBalance, "a.id", "a.currency");
    let readable = crate::service::notifications::readable_sql("m.role");
    // Each membership comes with what the header shows when it is the current account: the
    // user's unread notifications there (of the kinds their role reads) and the account's
    // available balance (a membership row per account the user belongs to, each figure an
    // indexed lookup). `ref_id` is the account of a membership row and the user of the
    // user's row.
    sql.text = format!(
        "{with}SELECT 'm' AS part, m.role AS code, a.name AS name, a.currency AS currency, \
                a.time_zone AS time_zone, 0 AS verified, a.id AS ref_id, m.created_at AS since, \
                (SELECT COUNT(*) FROM notification n \
                  WHERE n.user_id = m.user_id AND n.account_id = a.id AND n.read_at IS NULL \
                    AND {readable}) \
                  AS unread, \
                {available} AS available \
           FROM account_member m JOIN ad_account a ON a.id = m.account_id \
          WHERE m.user_id = {who} \
         UNION ALL \
         SELECT 's', r.role, NULL, NULL, NULL, 0, CAST(NULL AS BIGINT), NULL, 0, \
                CAST(NULL AS BIGINT) \
           FROM staff_role r WHERE r.user_id = {who} \
         UNION ALL \
         SELECT 'u', u.email, NULL, NULL, NULL, \
                CASE WHEN u.email_verified_at IS NULL THEN 0 ELSE 1 END, u.id, NULL, \
                0, CAST(NULL AS BIGINT) \
           FROM app_user u WHERE u.id = {who}{session_part} \
         ORDER BY part, since, ref_id, code",
    );
    let rows = db
        .query_all_raw(sql.build(db.get_database_backend()))
        .await?;
    let mut record = None;
    let mut found: Option<(UserId, String, bool)> = None;
    let mut roles = Vec::new();
    let mut memberships = Vec::new();
    let mut header = Vec::new();
    for row in rows {
        let part: String = row.try_get("", "part")?;
        let code: String = row.try_get("", "code")?;
        match part.as_str() {
            "a" => record = Some(code),
            "u" => {
                found = Some((
                    UserId(row.try_get("", "ref_id")?),
                    code,
                    row.try_get::<i32>("", "verified")? != 0,
                ));
            }
            "s" => roles.push(PlatformRole::try_from_value(&code)?),
            _ => {
                memberships.push(Membership {
                    account_id: AccountId(row.try_get("", "ref_id")?),
                    account_name: row.try_get("", "name")?,
                    role: AccountRole::try_from_value(&code)?,
                    currency: row.try_get("", "currency")?,
                    time_zone: row.try_get("", "time_zone")?,
                });
                header.push((row.try_get("", "unread")?, row.try_get("", "available")?));
            }
        }
    }
    let rows = found.map(|(user, email, email_verified)| ViewerRows {
        user,
        email,
        email_verified,
        // Staff roles key on the address: they hold only while it is confirmed. Every staff
        // check starts from this list, so an unconfirmed user cannot use a role however it got
        // there.
        staff_roles: if email_verified { roles } else { Vec::new() },
        memberships,
        header,
    });
    Ok((record, rows))
}

impl ViewerRows {
    /// The viewer with `preferred` as the current account while it is still a membership,
    /// else the first.
    pub fn into_viewer(self, preferred: Option<AccountId>) -> Viewer {
        let memberships = self.memberships;
        let current = preferred
            .and_then(|id| memberships.iter().position(|m| m.account_id == id))
            .or((!memberships.is_empty()).then_some(0));
        let (unread_notifications, balance) = match current {
            Some(i) => {
                let (unread, available) = self.header[i];
                let m = &memberships[i];
                // The balance only for those who may see money.
                let balance = m
                    .role
                    .allows(AccountPermission::ViewBilling)
                    .then(|| (Micros(available.unwrap_or(0)), m.currency.clone()));
                (u64::try_from(unread).unwrap_or(0), balance)
            }
            None => (0, None),
        };
        Viewer {
            user_id: self.user,
            email: self.email,
            staff_roles: self.staff_roles,
            current_account: current.map(|i| memberships[i].account_id),
            memberships,
            email_verified: self.email_verified,
            unread_notifications,
            balance,
        }
    }
}
