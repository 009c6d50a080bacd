//! `Actor`: who is asking, resolved from the session by `api::ctx`, and the checks on it.

use crate::{
    error::AppError,
    model::{AccountId, AccountPermission, AccountRole, AuditAction, PlatformRole, UserId, Viewer},
    service::{
        account_time::AccountClock,
        audit::{self, AuditEntry},
        rate_limit::{self, Limit},
    },
};
use chrono::{Duration, Utc};
use sea_orm::ConnectionTrait;

/// How many refusals of one person the audit trail records at once, and per window as it
/// refills ([`Actor::deny`]).
pub const DENIALS_AUDITED: Limit = Limit::new(30, Duration::minutes(10));

/// The signed-in caller of a service, with the account they are working in.
#[derive(Clone, Debug, PartialEq)]
pub struct Actor {
    pub user_id: UserId,
    pub email: String,
    pub staff_roles: Vec<PlatformRole>,
    /// The current ad account and the caller's role in it (verified against the database).
    pub membership: Option<(AccountId, AccountRole)>,
    /// Client address, for the audit trail.
    pub ip: Option<String>,
    /// The current account's currency and time zone when they were read with the viewer
    /// (the session's one statement); `None` when the actor was made otherwise, and services
    /// read them ([`AccountClock::of`]).
    pub clock: Option<AccountClock>,
}

impl Actor {
    /// The signed-in viewer as a service caller, working in their current account.
    pub fn from_viewer(viewer: Viewer, ip: Option<String>) -> Self {
        let current = viewer.current_membership();
        let membership = current.map(|m| (m.account_id, m.role));
        let clock = current
            .map(|m| AccountClock::new(m.account_id, m.currency.clone(), m.time_zone.clone()));
        Self {
            user_id: viewer.user_id,
            email: viewer.email,
            staff_roles: viewer.staff_roles,
            membership,
            ip,
            clock,
        }
    }

    /// Whether the caller's role in the current account allows `permission` (for showing or
    /// hiding controls; the operations themselves check with [`Actor::account`]).
    pub fn may(&self, permission: AccountPermission) -> bool {
        self.membership
            .is_some_and(|(_, role)| role.allows(permission))
    }

    /// Passes when the actor holds `role`; otherwise audits the refusal and returns `Forbidden`.
    pub async fn require_staff(
        &self,
        db: &impl ConnectionTrait,
        role: PlatformRole,
    ) -> Result<(), AppError> {
        if self.staff_roles.contains(&role) {
            return Ok(());
        }
        self.deny(db, "staff_role", role.code()).await
    }

    /// The current account id when the actor's role there allows `permission`. Without a
    /// current account the answer is `NotFound`; a role that may not is `Forbidden` (audited).
    pub async fn account(
        &self,
        db: &impl ConnectionTrait,
        permission: AccountPermission,
    ) -> Result<AccountId, AppError> {
        let (account, role) = self.membership.ok_or(AppError::NotFound)?;
        if role.allows(permission) {
            Ok(account)
        } else {
            self.deny(db, "account", &format!("{account}:{permission:?}"))
                .await
        }
    }

    /// Records the refusal of what the actor asked (`AccessDenied`, on `db`) and answers
    /// `Forbidden`. One person's refusals are written to the audit trail (which cannot be
    /// deleted) at the rate [`DENIALS_AUDITED`] allows: past it, a loop of refused requests —
    /// a script, or a link on another site that a signed-in person opens again and again — is
    /// logged as a warning, not written row after row over the real denials; the first refusal
    /// past it writes one row more that says so (`limit_reached`).
    pub(crate) async fn deny<T>(
        &self,
        db: &impl ConnectionTrait,
        target_type: &str,
        target_id: &str,
    ) -> Result<T, AppError> {
        let now = Utc::now();
        let key = format!("denied:audit:{}", self.user_id.0);
        let audited = rate_limit::reserve(db, &key, DENIALS_AUDITED, Duration::zero(), now)
            .await?
            .is_granted();
        // Past the limit the trail still says so: one row per window, the first time.
        let limit_reached = !audited && {
            let over = format!("denied:audit:over:{}", self.user_id.0);
            let once = Limit::new(1, DENIALS_AUDITED.period);
            rate_limit::reserve(db, &over, once, Duration::zero(), now)
                .await?
                .is_granted()
        };
        if audited || limit_reached {
            let mut entry = AuditEntry::new(AuditAction::AccessDenied, target_type, target_id)
                .by(self.user_id)
                .from_ip(self.ip.clone());
            if limit_reached {
                entry = entry.detail(serde_json::json!({
                    "limit_reached": true,
                    "note": "further refusals of this person in this window are logged, not audited",
                }));
            }
            audit::record(db, entry).await?;
        }
        if !audited {
            tracing::warn!(
                target: "herald::audit",
                user = self.user_id.0,
                target_type,
                target_id,
                "access denied, not audited: this person's refusals passed the audited limit"
            );
        }
        Err(AppError::Forbidden)
    }
}
