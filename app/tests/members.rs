//! Service tests for invitations: inviting, accepting by sign-up or sign-in, and the links
//! that must be refused; on fresh migrated databases (SQLite, and PostgreSQL when
//! `TEST_DATABASE_URL` is set).

mod support;

use app::{
    entity::{app_user, invitation},
    error::AppError,
    model::{AccountRole, AuditAction, InvitationInput, InvitationStatus},
    service::{auth, invitations, members, passwords::PasswordHasher},
};
use migrations::db::fresh_all;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use support::*;

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
        // The mailed link (the owner's needs a confirmed address; the mailed one confirms it).
        let mailed = mailed_token(&db, "bob@example.com", "/invite/").await;
        assert_ne!(
            mailed,
            token(&link),
            "{b}: the owner never sees the mailed token"
        );
        let (bob, _) = auth::sign_up_invited(&db, &hasher, input, &mailed, None)
            .await
            .expect(b);
        let viewer = auth::viewer(&db, bob, None).await.expect(b).expect(b);
        assert!(
            viewer.email_verified,
            "{b}: the mailed link proved the address"
        );
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
        // Oldest membership first: their own account, then the one they joined, each with
        // its name and currency; without a choice in the session, the oldest is current.
        let own = account_of(&carol);
        assert_eq!(viewer.memberships[0].account_id, own, "{b}");
        assert_eq!(viewer.memberships[0].role, AccountRole::Owner, "{b}");
        assert_eq!(viewer.memberships[1].account_name, "Acme Ads", "{b}");
        assert_eq!(viewer.memberships[1].currency, "EUR", "{b}");
        let fallback = auth::viewer(&db, carol.user_id, None)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(fallback.current_account, Some(own), "{b}");
        assert_eq!(fallback.email, "carol@example.com", "{b}");
        let nobody = auth::viewer(&db, app::model::UserId(i64::MAX), Some(own))
            .await
            .expect(b);
        assert!(nobody.is_none(), "{b}: a deleted user has no viewer");
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

/// Every invitation is a mail to an address the inviter typed: an account sends at most
/// [`members::INVITATIONS_PER_DAY`] a day, and one address is sent at most
/// [`members::INVITATIONS_PER_ADDRESS_HOUR`] an hour from any accounts; past either, the answer
/// is beside the email field and nothing is written or mailed.
#[tokio::test]
async fn invitations_are_limited_per_account_and_per_address() {
    let hasher = PasswordHasher::new(2);
    for (b, db) in fresh_all().await {
        let ada = owner(&db, &hasher, "ada@example.com").await;
        let eve = owner(&db, &hasher, "eve@example.com").await;
        let ask = |by, email: &str| {
            members::invite(
                &db,
                by,
                InvitationInput {
                    email: email.into(),
                    role: AccountRole::Analyst,
                },
            )
        };
        let per_address = members::INVITATIONS_PER_ADDRESS_HOUR as usize;
        for _ in 0..per_address {
            ask(&ada, "target@example.com").await.expect(b);
        }
        async fn mails(db: &sea_orm::DatabaseConnection) -> u64 {
            app::entity::outbox_message::Entity::find()
                .count(db)
                .await
                .expect("mails")
        }
        let before = mails(&db).await;
        // From another account too: the address has had its share this hour.
        let refused = ask(&eve, "Target@Example.com").await;
        assert!(
            matches!(&refused, Err(AppError::Invalid(f))
                if f.get("email").is_some_and(|m| m.contains("Try again in"))),
            "{b}: {refused:?}"
        );
        assert_eq!(mails(&db).await, before, "{b}: nothing mailed");
        // Per account: the day's invitations to other addresses, then one more is refused.
        let per_day = members::INVITATIONS_PER_DAY as usize;
        for i in per_address..per_day {
            ask(&ada, &format!("person{i}@example.com")).await.expect(b);
        }
        let refused = ask(&ada, "one-more@example.com").await;
        assert!(
            matches!(&refused, Err(AppError::Invalid(f))
                if f.get("email").is_some_and(|m| m.contains("20 a day"))),
            "{b}: {refused:?}"
        );
        let open = invitation::Entity::find()
            .filter(invitation::Column::Email.eq("one-more@example.com"))
            .count(&db)
            .await
            .expect(b);
        assert_eq!(open, 0, "{b}: nothing written");
        // Another account still invites.
        ask(&eve, "someone@example.com").await.expect(b);
    }
}
