//! Service tests for member roles: an account always keeps an owner (also under concurrent
//! changes), only owners manage members, another account's ids are not found.

mod support;

use app::{
    entity::{account_member, audit_event},
    error::AppError,
    model::{AccountRole, AuditAction, InvitationId, InvitationInput, MemberRoleInput, UserId},
    service::{Actor, auth, members, passwords::PasswordHasher},
};
use migrations::db::fresh_all;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use support::*;

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
async fn a_demotion_that_lands_mid_request_refuses_and_is_audited() {
    let hasher = PasswordHasher::new(2);
    for (b, db) in fresh_all().await {
        let ada = owner(&db, &hasher, "ada@example.com").await;
        let ben = join(&db, &hasher, &ada, "ben@example.com", AccountRole::Owner).await;
        let ana = join(&db, &hasher, &ada, "ana@example.com", AccountRole::Analyst).await;
        // Ben's request began as an owner's (his actor was read then); Ada demotes him before
        // its transaction re-checks.
        members::change_role(
            &db,
            &ada,
            MemberRoleInput {
                user_id: ben.user_id,
                role: AccountRole::Analyst,
            },
        )
        .await
        .expect(b);
        let before = count_action(&db, AuditAction::AccessDenied).await;
        let promote = MemberRoleInput {
            user_id: ana.user_id,
            role: AccountRole::Owner,
        };
        assert_eq!(
            members::change_role(&db, &ben, promote).await,
            Err(AppError::Forbidden),
            "{b}"
        );
        assert_eq!(
            members::remove(&db, &ben, ada.user_id).await,
            Err(AppError::Forbidden),
            "{b}"
        );
        assert_eq!(
            count_action(&db, AuditAction::AccessDenied).await,
            before + 2,
            "{b}: both refusals audited, after their transactions were rolled back"
        );
        assert_eq!(
            owners(&db, account_of(&ada)).await,
            1,
            "{b}: nothing changed"
        );
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
