//! Helpers shared by the members service tests: users, actors, invitations, counts.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the helpers"
)]

use app::{
    entity::{account_member, audit_event, outbox_message},
    error::AppError,
    model::{
        AccountId, AccountRole, AuditAction, InvitationInput, InvitationLink, SignUpInput, UserId,
    },
    service::{Actor, auth, members, passwords::PasswordHasher},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

pub const PASSWORD: &str = "violet harbour 42 kites";

pub fn sign_up_input(email: &str) -> SignUpInput {
    SignUpInput {
        email: email.into(),
        password: PASSWORD.into(),
        account_name: "Acme Ads".into(),
        time_zone: "Europe/Berlin".into(),
    }
}

/// The user as a service sees them, working in `account` (or their first account).
pub async fn actor_in(db: &DatabaseConnection, user: UserId, account: Option<AccountId>) -> Actor {
    let viewer = auth::viewer(db, user, account)
        .await
        .expect("load")
        .expect("exists");
    Actor::from_viewer(viewer, Some("192.0.2.7".into()))
}

/// A user who owns a new account, with a confirmed address (so that the owner's invitation
/// links work for them).
pub async fn owner(db: &DatabaseConnection, hasher: &PasswordHasher, email: &str) -> Actor {
    let user = auth::sign_up(db, hasher, sign_up_input(email), None)
        .await
        .expect("sign up");
    db.execute_unprepared(&format!(
        "UPDATE app_user SET email_verified_at = CURRENT_TIMESTAMP WHERE id = {user}"
    ))
    .await
    .expect("confirm");
    actor_in(db, user, None).await
}

pub fn account_of(actor: &Actor) -> AccountId {
    actor.membership.expect("a current account").0
}

pub async fn invite(
    db: &DatabaseConnection,
    by: &Actor,
    email: &str,
    role: AccountRole,
) -> InvitationLink {
    members::invite(
        db,
        by,
        InvitationInput {
            email: email.into(),
            role,
        },
    )
    .await
    .expect("invite")
}

pub fn token(link: &InvitationLink) -> String {
    link.path.trim_start_matches("/invite/").to_owned()
}

/// The token of the newest link under `prefix` (`/invite/`, `/verify/`) mailed to `email`.
pub async fn mailed_token(db: &DatabaseConnection, email: &str, prefix: &str) -> String {
    let mails = outbox_message::Entity::find()
        .filter(outbox_message::Column::Recipient.eq(email))
        .order_by_desc(outbox_message::Column::Id)
        .all(db)
        .await
        .expect("outbox");
    mails
        .iter()
        .find_map(|m| {
            let start = m.body.find(prefix)? + prefix.len();
            let token: String = m.body[start..]
                .chars()
                .take_while(char::is_ascii_hexdigit)
                .collect();
            (!token.is_empty()).then_some(token)
        })
        .unwrap_or_else(|| panic!("no {prefix} link mailed to {email}"))
}

/// A new user who signs up through an invitation from `by`; returns them working in it.
pub async fn join(
    db: &DatabaseConnection,
    hasher: &PasswordHasher,
    by: &Actor,
    email: &str,
    role: AccountRole,
) -> Actor {
    let link = invite(db, by, email, role).await;
    let mut input = sign_up_input(email);
    input.account_name = String::new();
    input.time_zone = String::new();
    // The mailed link: it also confirms the address.
    let mailed = mailed_token(db, &link.email, "/invite/").await;
    let (user, account) = auth::sign_up_invited(db, hasher, input, &mailed, None)
        .await
        .expect("invited sign-up");
    assert_eq!(account, account_of(by));
    actor_in(db, user, Some(account)).await
}

pub async fn count_action(db: &DatabaseConnection, action: AuditAction) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action.code()))
        .count(db)
        .await
        .expect("count")
}

pub async fn owners(db: &DatabaseConnection, account: AccountId) -> u64 {
    account_member::Entity::find()
        .filter(account_member::Column::AccountId.eq(account.0))
        .filter(account_member::Column::Role.eq(AccountRole::Owner))
        .count(db)
        .await
        .expect("count owners")
}

pub fn conflict(result: Result<impl std::fmt::Debug, AppError>, backend: &str) -> String {
    match result {
        Err(AppError::Conflict(message)) => message,
        other => panic!("{backend}: expected Conflict, got {other:?}"),
    }
}

pub async fn owners_include(db: &DatabaseConnection, account: AccountId, user: UserId) -> bool {
    account_member::Entity::find_by_id((account.0, user.0))
        .one(db)
        .await
        .expect("member")
        .is_some_and(|m| m.role == AccountRole::Owner)
}
