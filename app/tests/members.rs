//! Service tests for account members and invitations, on fresh migrated databases (SQLite, and
//! PostgreSQL when `TEST_DATABASE_URL` is set).

use app::{
    entity::{account_member, app_user, audit_event, invitation},
    error::AppError,
    model::{
        AccountId, AccountRole, AuditAction, InvitationId, InvitationInput, InvitationLink,
        InvitationStatus, MemberRoleInput, SignUpInput, UserId,
    },
    service::{Actor, auth, invitations, members, passwords::PasswordHasher},
};
use migrations::db::fresh_all;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};

const PASSWORD: &str = "violet harbour 42 kites";

fn sign_up_input(email: &str) -> SignUpInput {
    SignUpInput {
        email: email.into(),
        password: PASSWORD.into(),
        account_name: "Acme Ads".into(),
        time_zone: "Europe/Berlin".into(),
    }
}

/// The user as a service sees them, working in `account` (or their first account).
async fn actor_in(db: &DatabaseConnection, user: UserId, account: Option<AccountId>) -> Actor {
    let viewer = auth::viewer(db, user, account)
        .await
        .expect("load")
        .expect("exists");
    Actor {
        user_id: user,
        email: viewer.email.clone(),
        staff_roles: viewer.staff_roles.clone(),
        membership: viewer.current_membership().map(|m| (m.account_id, m.role)),
        ip: Some("192.0.2.7".into()),
    }
}

async fn owner(db: &DatabaseConnection, hasher: &PasswordHasher, email: &str) -> Actor {
    let user = auth::sign_up(db, hasher, sign_up_input(email), None)
        .await
        .expect("sign up");
    actor_in(db, user, None).await
}

fn account_of(actor: &Actor) -> AccountId {
    actor.membership.expect("a current account").0
}

async fn invite(
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

fn token(link: &InvitationLink) -> String {
    link.path.trim_start_matches("/invite/").to_owned()
}

/// A new user who signs up through an invitation from `by`; returns them working in it.
async fn join(
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
    let (user, account) = auth::sign_up_invited(db, hasher, input, &token(&link), None)
        .await
        .expect("invited sign-up");
    assert_eq!(account, account_of(by));
    actor_in(db, user, Some(account)).await
}

async fn count_action(db: &DatabaseConnection, action: AuditAction) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action.code()))
        .count(db)
        .await
        .expect("count")
}

async fn owners(db: &DatabaseConnection, account: AccountId) -> u64 {
    account_member::Entity::find()
        .filter(account_member::Column::AccountId.eq(account.0))
        .filter(account_member::Column::Role.eq(AccountRole::Owner))
        .count(db)
        .await
        .expect("count owners")
}

fn conflict(result: Result<impl std::fmt::Debug, AppError>, backend: &str) -> String {
    match result {
        Err(AppError::Conflict(message)) => message,
        other => panic!("{backend}: expected Conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn an_invited_sign_up_joins_with_the_role_and_owns_no_account() {
    let hasher = PasswordHasher::new(2);
    for (b, db) in fresh_all().await {
        let ada = owner(&db, &hasher, "ada@example.com").await;
        let link = invite(&db, &ada, " Bob@Example.com ", AccountRole::Analyst).await;
        assert_eq!(link.email, "bob@example.com", "{b}: normalised");
        let preview = invitations::preview(&db, &token(&link)).await.expect(b);
        assert_eq!(preview.account_name, "Acme Ads", "{b}");
        assert_eq!(preview.status, InvitationStatus::Open, "{b}");
        assert_eq!(
            members::pending(&db, &ada).await.expect(b).len(),
            1,
            "{b}: one open invitation"
        );

        // Only the token's hash is stored.
        let row = invitation::Entity::find()
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(row.token_sha256.len(), 64, "{b}");
        assert_ne!(row.token_sha256, token(&link), "{b}");
        assert_eq!(token(&link).len(), 64, "{b}: 32 random bytes, hex");

        let mut input = sign_up_input("BOB@example.com");
        input.account_name = String::new();
        input.time_zone = String::new();
        let (bob, _) = auth::sign_up_invited(&db, &hasher, input, &token(&link), None)
            .await
            .expect(b);
        let viewer = auth::viewer(&db, bob, None).await.expect(b).expect(b);
        assert_eq!(viewer.memberships.len(), 1, "{b}: no account of their own");
        assert_eq!(viewer.memberships[0].account_id, account_of(&ada), "{b}");
        assert_eq!(viewer.memberships[0].role, AccountRole::Analyst, "{b}");
        assert!(
            members::pending(&db, &ada).await.expect(b).is_empty(),
            "{b}"
        );
        assert_eq!(
            count_action(&db, AuditAction::MemberInvited).await,
            1,
            "{b}"
        );
        assert_eq!(count_action(&db, AuditAction::MemberJoined).await, 1, "{b}");
        let accepted = invitation::Entity::find_by_id(link.id.0)
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(accepted.accepted_by, Some(bob.0), "{b}");
    }
}

#[tokio::test]
async fn an_existing_user_accepts_and_then_belongs_to_two_accounts() {
    let hasher = PasswordHasher::new(2);
    for (b, db) in fresh_all().await {
        let ada = owner(&db, &hasher, "ada@example.com").await;
        let carol = owner(&db, &hasher, "carol@example.com").await;
        let link = invite(&db, &ada, "carol@example.com", AccountRole::Manager).await;
        let joined = invitations::accept(&db, carol.user_id, &token(&link), None)
            .await
            .expect(b);
        assert_eq!(joined, account_of(&ada), "{b}");
        let viewer = auth::viewer(&db, carol.user_id, Some(joined))
            .await
            .expect(b)
            .expect(b);
        assert_eq!(viewer.memberships.len(), 2, "{b}");
        assert_eq!(viewer.current_account, Some(joined), "{b}");
        assert_eq!(
            viewer.current_membership().map(|m| m.role),
            Some(AccountRole::Manager),
            "{b}"
        );
        // Already a member: inviting again is refused beside the email field.
        let again = members::invite(
            &db,
            &ada,
            InvitationInput {
                email: "carol@example.com".into(),
                role: AccountRole::Billing,
            },
        )
        .await;
        assert!(
            matches!(&again, Err(AppError::Invalid(f)) if f.get("email").is_some()),
            "{b}: {again:?}"
        );
    }
}

#[tokio::test]
async fn used_revoked_expired_unknown_and_wrong_email_links_are_refused() {
    let hasher = PasswordHasher::new(2);
    for (b, db) in fresh_all().await {
        let ada = owner(&db, &hasher, "ada@example.com").await;
        let eve = owner(&db, &hasher, "eve@example.com").await;
        let users_before = app_user::Entity::find().count(&db).await.expect(b);

        // Wrong email: neither an existing user nor a sign-up with another address may use it.
        let dave = invite(&db, &ada, "dave@example.com", AccountRole::Manager).await;
        let wrong = invitations::accept(&db, eve.user_id, &token(&dave), None).await;
        assert!(conflict(wrong, b).contains("dave@example.com"), "{b}");
        let mut input = sign_up_input("mallory@example.com");
        input.account_name = String::new();
        let refused = auth::sign_up_invited(&db, &hasher, input, &token(&dave), None).await;
        assert!(
            matches!(&refused, Err(AppError::Invalid(f)) if f.get("email").is_some()),
            "{b}: {refused:?}"
        );

        // Used once, then refused.
        let frank = owner(&db, &hasher, "frank@example.com").await;
        let link = invite(&db, &ada, "frank@example.com", AccountRole::Billing).await;
        invitations::accept(&db, frank.user_id, &token(&link), None)
            .await
            .expect(b);
        let reused = invitations::accept(&db, frank.user_id, &token(&link), None).await;
        assert!(conflict(reused, b).contains("already been used"), "{b}");

        // Revoked: the link stops working; revoking twice says why.
        let revoked = members::revoke(&db, &ada, dave.id).await;
        assert_eq!(revoked, Ok(()), "{b}");
        let revoked = invitations::accept(&db, eve.user_id, &token(&dave), None).await;
        assert!(conflict(revoked, b).contains("withdrawn"), "{b}");
        assert!(conflict(members::revoke(&db, &ada, dave.id).await, b).contains("withdrawn"));

        // Expired.
        let gina = owner(&db, &hasher, "gina@example.com").await;
        let old = invite(&db, &ada, "gina@example.com", AccountRole::Analyst).await;
        invitation::Entity::update_many()
            .col_expr(
                invitation::Column::ExpiresAt,
                Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
            )
            .filter(invitation::Column::Id.eq(old.id.0))
            .exec(&db)
            .await
            .expect(b);
        let expired = invitations::accept(&db, gina.user_id, &token(&old), None).await;
        assert!(conflict(expired, b).contains("expired"), "{b}");
        let preview = invitations::preview(&db, &token(&old)).await.expect(b);
        assert_eq!(preview.status, InvitationStatus::Expired, "{b}");

        // Unknown: not found for the page, a form error for sign-up, nothing created.
        let unknown = "0".repeat(64);
        assert_eq!(
            invitations::preview(&db, &unknown).await,
            Err(AppError::NotFound),
            "{b}"
        );
        let refused = auth::sign_up_invited(
            &db,
            &hasher,
            sign_up_input("new@example.com"),
            &unknown,
            None,
        )
        .await;
        assert!(
            matches!(&refused, Err(AppError::Invalid(f)) if f.get("form").is_some()),
            "{b}: {refused:?}"
        );
        assert_eq!(
            app_user::Entity::find().count(&db).await.expect(b),
            users_before + 2,
            "{b}: only frank and gina were added; refused sign-ups leave nothing"
        );
        let viewer = auth::viewer(&db, eve.user_id, None)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(viewer.memberships.len(), 1, "{b}: eve joined nothing");
    }
}

#[tokio::test]
async fn inviting_again_replaces_the_open_invitation() {
    let hasher = PasswordHasher::new(2);
    for (b, db) in fresh_all().await {
        let ada = owner(&db, &hasher, "ada@example.com").await;
        let first = invite(&db, &ada, "hal@example.com", AccountRole::Analyst).await;
        let second = invite(&db, &ada, "hal@example.com", AccountRole::Manager).await;
        let pending = members::pending(&db, &ada).await.expect(b);
        assert_eq!(pending.len(), 1, "{b}");
        assert_eq!(pending[0].id, second.id, "{b}");
        assert_eq!(pending[0].role, AccountRole::Manager, "{b}");
        let preview = invitations::preview(&db, &token(&first)).await.expect(b);
        assert_eq!(preview.status, InvitationStatus::Revoked, "{b}");
        let hal = join(&db, &hasher, &ada, "hal@example.com", AccountRole::Manager).await;
        assert_eq!(hal.membership.map(|m| m.1), Some(AccountRole::Manager));
    }
}

#[tokio::test]
async fn the_last_owner_cannot_be_demoted_removed_or_leave() {
    let hasher = PasswordHasher::new(2);
    for (b, db) in fresh_all().await {
        let ada = owner(&db, &hasher, "ada@example.com").await;
        let account = account_of(&ada);
        let demote_self = MemberRoleInput {
            user_id: ada.user_id,
            role: AccountRole::Manager,
        };
        conflict(
            members::change_role(&db, &ada, demote_self.clone()).await,
            b,
        );
        conflict(members::remove(&db, &ada, ada.user_id).await, b);
        assert!(conflict(members::leave(&db, &ada).await, b).contains("only owner"));
        assert_eq!(owners(&db, account).await, 1, "{b}");

        // With a second owner, the first may step down; then the second is the last one.
        let ben = join(&db, &hasher, &ada, "ben@example.com", AccountRole::Owner).await;
        members::change_role(&db, &ada, demote_self).await.expect(b);
        conflict(members::leave(&db, &ben).await, b);
        assert_eq!(owners(&db, account).await, 1, "{b}");

        // Members come and go, every change audited with before and after.
        let ana = join(&db, &hasher, &ben, "ana@example.com", AccountRole::Analyst).await;
        members::leave(&db, &ana).await.expect(b);
        members::remove(&db, &ben, ada.user_id).await.expect(b);
        let viewer = auth::viewer(&db, ada.user_id, None)
            .await
            .expect(b)
            .expect(b);
        assert!(viewer.memberships.is_empty(), "{b}");
        assert_eq!(
            count_action(&db, AuditAction::MemberRemoved).await,
            2,
            "{b}"
        );
        let change = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq(AuditAction::MemberRoleChanged.code()))
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        let detail: serde_json::Value =
            serde_json::from_str(change.detail.as_deref().unwrap_or("{}")).expect(b);
        assert_eq!(detail["before"]["role"], "owner", "{b}");
        assert_eq!(detail["after"]["role"], "manager", "{b}");
        assert_eq!(change.actor_user_id, Some(ada.user_id.0), "{b}");
    }
}

#[tokio::test]
async fn two_owners_stepping_down_at_once_leave_exactly_one_owner() {
    let hasher = PasswordHasher::new(2);
    for (b, db) in fresh_all().await {
        let ada = owner(&db, &hasher, "ada@example.com").await;
        let account = account_of(&ada);
        let ben = join(&db, &hasher, &ada, "ben@example.com", AccountRole::Owner).await;
        for round in 0..4 {
            let step_down = |actor: &Actor| MemberRoleInput {
                user_id: actor.user_id,
                role: AccountRole::Analyst,
            };
            let (a, c) = tokio::join!(
                members::change_role(&db, &ada, step_down(&ada)),
                members::change_role(&db, &ben, step_down(&ben)),
            );
            assert!(
                a.is_ok() != c.is_ok(),
                "{b} round {round}: exactly one succeeds: {a:?} {c:?}"
            );
            let loser = if a.is_ok() { c } else { a };
            conflict(loser, b);
            assert_eq!(owners(&db, account).await, 1, "{b} round {round}");

            // Both owners again, then both leave at once: one stays.
            let (winner, stepped) = if owners_include(&db, account, ada.user_id).await {
                (&ada, &ben)
            } else {
                (&ben, &ada)
            };
            let promote = MemberRoleInput {
                user_id: stepped.user_id,
                role: AccountRole::Owner,
            };
            members::change_role(&db, winner, promote.clone())
                .await
                .expect(b);
            // Cross-demotions: the second one finds its actor no longer an owner, or no
            // other owner left — never zero owners.
            let (x, y) = tokio::join!(
                members::change_role(&db, &ada, step_down(&ben)),
                members::change_role(&db, &ben, step_down(&ada)),
            );
            assert!(x.is_ok() != y.is_ok(), "{b} round {round}: {x:?} {y:?}");
            assert_eq!(owners(&db, account).await, 1, "{b} round {round}");
            let winner = if x.is_ok() { &ada } else { &ben };
            let loser = if x.is_ok() { &ben } else { &ada };
            members::change_role(
                &db,
                winner,
                MemberRoleInput {
                    user_id: loser.user_id,
                    role: AccountRole::Owner,
                },
            )
            .await
            .expect(b);
        }
        let (a, c) = tokio::join!(members::leave(&db, &ada), members::leave(&db, &ben));
        assert!(a.is_ok() != c.is_ok(), "{b}: one leaves: {a:?} {c:?}");
        assert_eq!(owners(&db, account).await, 1, "{b}");
    }
}

async fn owners_include(db: &DatabaseConnection, account: AccountId, user: UserId) -> bool {
    account_member::Entity::find_by_id((account.0, user.0))
        .one(db)
        .await
        .expect("member")
        .is_some_and(|m| m.role == AccountRole::Owner)
}

#[tokio::test]
async fn only_owners_manage_members_and_refusals_are_audited() {
    let hasher = PasswordHasher::new(2);
    for (b, db) in fresh_all().await {
        let ada = owner(&db, &hasher, "ada@example.com").await;
        let open = invite(&db, &ada, "later@example.com", AccountRole::Analyst).await;
        let mut refused = 0;
        for (email, role) in [
            ("manager@example.com", AccountRole::Manager),
            ("analyst@example.com", AccountRole::Analyst),
            ("billing@example.com", AccountRole::Billing),
        ] {
            let member = join(&db, &hasher, &ada, email, role).await;
            let input = InvitationInput {
                email: "x@example.com".into(),
                role: AccountRole::Owner,
            };
            let promote = MemberRoleInput {
                user_id: member.user_id,
                role: AccountRole::Owner,
            };
            let results = [
                members::invite(&db, &member, input).await.map(|_| ()),
                members::pending(&db, &member).await.map(|_| ()),
                members::revoke(&db, &member, open.id).await,
                members::change_role(&db, &member, promote).await,
                members::remove(&db, &member, ada.user_id).await,
            ];
            for result in results {
                assert_eq!(result, Err(AppError::Forbidden), "{b}: {role:?}");
                refused += 1;
            }
        }
        assert_eq!(
            count_action(&db, AuditAction::AccessDenied).await,
            refused,
            "{b}: every refusal audited"
        );
        assert_eq!(owners(&db, account_of(&ada)).await, 1, "{b}");
        assert_eq!(members::pending(&db, &ada).await.expect(b).len(), 1, "{b}");
    }
}

#[tokio::test]
async fn another_accounts_members_and_invitations_are_not_found() {
    let hasher = PasswordHasher::new(2);
    for (b, db) in fresh_all().await {
        let ada = owner(&db, &hasher, "ada@example.com").await;
        let zed = owner(&db, &hasher, "zed@example.com").await;
        let zeds_member = join(&db, &hasher, &zed, "zm@example.com", AccountRole::Analyst).await;
        let zeds_invite = invite(&db, &zed, "zi@example.com", AccountRole::Manager).await;
        for user in [zed.user_id, zeds_member.user_id, UserId(999_999)] {
            let change = MemberRoleInput {
                user_id: user,
                role: AccountRole::Billing,
            };
            assert_eq!(
                members::change_role(&db, &ada, change).await,
                Err(AppError::NotFound),
                "{b}"
            );
            assert_eq!(
                members::remove(&db, &ada, user).await,
                Err(AppError::NotFound),
                "{b}"
            );
        }
        for id in [zeds_invite.id, InvitationId(999_999)] {
            assert_eq!(
                members::revoke(&db, &ada, id).await,
                Err(AppError::NotFound),
                "{b}"
            );
        }
        assert_eq!(members::pending(&db, &zed).await.expect(b).len(), 1, "{b}");
        let roles: Vec<AccountRole> = account_member::Entity::find()
            .filter(account_member::Column::AccountId.eq(account_of(&zed).0))
            .order_by_asc(account_member::Column::CreatedAt)
            .all(&db)
            .await
            .expect(b)
            .into_iter()
            .map(|m| m.role)
            .collect();
        assert_eq!(
            roles,
            [AccountRole::Owner, AccountRole::Analyst],
            "{b}: untouched"
        );
    }
}
