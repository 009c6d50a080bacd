//! Demo data for an empty database: one user per role and the synthetic channel catalog.

use crate::{
    entity::{app_user, platform_setting, staff_role},
    error::AppError,
    model::{AuditAction, PlatformRole, SignUpInput, UserId},
    service::{
        Actor,
        audit::{self, AuditEntry},
        auth, catalog_seed, demo_campaigns,
        passwords::PasswordHasher,
        sign_up,
    },
};
use chrono::Utc;
use rand::{Rng, distr::Alphanumeric};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, EntityTrait, PaginatorTrait, Set, TransactionTrait,
};

/// The demo's published bank details: the IBAN is the standard's example (valid check digits,
/// no real account behind it).
pub const DEMO_BANK_DETAILS: &str = "Herald Demo Platform GmbH\n\
    Example Bank, Frankfurt am Main\n\
    IBAN DE89 3704 0044 0532 0130 00 · BIC COBADEFFXXX (EUR)";

/// A demo login, to be printed once on the console.
#[derive(Clone, Debug)]
pub struct DemoLogin {
    pub email: String,
    pub password: String,
    pub what: &'static str,
}

/// Whether the database has no users yet (the demo command seeds only then).
pub async fn is_empty(db: &impl ConnectionTrait) -> Result<bool, AppError> {
    Ok(app_user::Entity::find().count(db).await? == 0)
}

/// The platform setting that records how far the demo seed got: 0 from its start, 1 once it
/// is complete. The seed is many transactions (users, catalog, campaigns, days of delivery,
/// finance's work), so a process stopped half-way leaves part of the demo, which a later
/// `--seed-if-empty` would otherwise take for a database in use and leave as it is.
const DEMO_SEED: &str = "demo_seed";

/// Records that a demo seed begins; `false` when one had begun already (another instance
/// seeding the same database at the same time: only one of them may).
pub async fn begin(db: &impl ConnectionTrait) -> Result<bool, AppError> {
    let begun = platform_setting::Entity::insert(platform_setting::ActiveModel {
        key: Set(DEMO_SEED.to_owned()),
        value: Set(0),
        updated_at: Set(Utc::now()),
        updated_by: Set(None),
    })
    .on_conflict_do_nothing_on([platform_setting::Column::Key])
    .exec_without_returning(db)
    .await?;
    Ok(matches!(begun, sea_orm::TryInsertResult::Inserted(1)))
}

/// Records that the demo seed [`begin`] recorded is complete.
pub async fn finish(db: &impl ConnectionTrait) -> Result<(), AppError> {
    platform_setting::ActiveModel {
        key: Set(DEMO_SEED.to_owned()),
        value: Set(1),
        updated_at: Set(Utc::now()),
        updated_by: Set(None),
    }
    .update(db)
    .await?;
    Ok(())
}

/// Whether a demo seed began in this database and never finished.
pub async fn interrupted(db: &impl ConnectionTrait) -> Result<bool, AppError> {
    Ok(platform_setting::Entity::find_by_id(DEMO_SEED.to_owned())
        .one(db)
        .await?
        .is_some_and(|row| row.value == 0))
}

/// Creates the demo users (fresh random passwords) and `channels` synthetic channels.
pub async fn seed<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    hasher: &PasswordHasher,
    channels: usize,
    seed: u64,
) -> Result<Vec<DemoLogin>, AppError> {
    let people: [(&str, &str, Option<PlatformRole>, &'static str); 5] = [
        (
            "admin@herald.local",
            "Herald Platform",
            Some(PlatformRole::Admin),
            "admin",
        ),
        (
            "moderator@herald.local",
            "Moderation Team",
            Some(PlatformRole::Moderator),
            "moderator",
        ),
        (
            "finance@herald.local",
            "Finance Team",
            Some(PlatformRole::Finance),
            "finance",
        ),
        (
            "approver@herald.local",
            "Finance Approvals",
            Some(PlatformRole::Finance),
            "finance (a second person, for approvals)",
        ),
        (
            "advertiser@herald.local",
            "Acme Coffee Roasters",
            None,
            "advertiser (owner of Acme Coffee Roasters)",
        ),
    ];
    let new_password = || -> String {
        rand::rng()
            .sample_iter(&Alphanumeric)
            .take(16)
            .map(char::from)
            .collect()
    };
    let mut logins = Vec::new();
    let (mut advertiser, mut moderator, mut admin) = (None, None, None);
    for (email, account_name, role, what) in people {
        let password = new_password();
        // The operator vouches for the demo addresses: confirmed, no mail.
        let user = sign_up::sign_up_confirmed(
            db,
            hasher,
            SignUpInput {
                email: email.into(),
                password: password.clone(),
                account_name: account_name.into(),
                time_zone: "Europe/Berlin".into(),
            },
            None,
        )
        .await?;
        if let Some(role) = role {
            staff_role::ActiveModel {
                user_id: Set(user.0),
                role: Set(role),
                granted_by: Set(None),
                granted_at: Set(Utc::now()),
            }
            .insert(db)
            .await?;
            // Bootstrap grants have no acting admin, but they are still in the trail.
            audit::record(
                db,
                AuditEntry::new(AuditAction::RoleGranted, "user", user.to_string())
                    .detail(serde_json::json!({ "role": role.code(), "by": "server seed" })),
            )
            .await?;
        }
        match role {
            None => advertiser = Some(user),
            Some(PlatformRole::Moderator) => moderator = Some(user),
            Some(PlatformRole::Admin) => admin = Some(user),
            Some(_) => {}
        }
        logins.push(DemoLogin {
            email: email.into(),
            password,
            what,
        });
    }
    catalog_seed::insert(db, channels, seed).await?;
    let actor = async |user: Option<UserId>| -> Result<Option<Actor>, AppError> {
        Ok(match user {
            Some(user) => auth::viewer(db, user, None)
                .await?
                .map(|v| Actor::from_viewer(v, None)),
            None => None,
        })
    };
    // Where advertisers send money (an example IBAN, not a real account).
    if let Some(admin) = actor(admin).await? {
        super::settings::publish_bank_details(db, &admin, DEMO_BANK_DETAILS.to_owned()).await?;
    }
    if let (Some(owner), Some(moderator)) = (actor(advertiser).await?, actor(moderator).await?) {
        demo_campaigns::create(db, &owner, &moderator).await?;
        // An open invitation, so the members page and the mail outbox have something to show.
        let invitation = crate::model::InvitationInput {
            email: "analyst@acme-coffee.example".into(),
            role: crate::model::AccountRole::Analyst,
        };
        super::members::invite(db, &owner, invitation).await?;
        // A billing member (the money pages, nothing of campaigns beyond spend), who joined
        // through the owner's invitation link.
        let email = "billing@herald.local";
        let invitation = crate::model::InvitationInput {
            email: email.into(),
            role: crate::model::AccountRole::Billing,
        };
        let link = super::members::invite(db, &owner, invitation).await?;
        let token = link.path.rsplit('/').next().unwrap_or_default();
        let password = new_password();
        sign_up::sign_up_confirmed(
            db,
            hasher,
            SignUpInput {
                email: email.into(),
                password: password.clone(),
                account_name: String::new(),
                time_zone: "Europe/Berlin".into(),
            },
            Some(token),
        )
        .await?;
        logins.push(DemoLogin {
            email: email.into(),
            password,
            what: "billing member of Acme Coffee Roasters (balance, statements)",
        });
    }
    Ok(logins)
}
