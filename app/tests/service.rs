//! Service tests on fresh, migrated databases: SQLite always, PostgreSQL too when
//! `TEST_DATABASE_URL` is set.

use app::{
    entity::{account_member, audit_event, campaign, channel, review_decision, review_task, topic},
    error::AppError,
    model::{
        AccountPermission, AccountRole, AccountSettingsInput, AuditAction, AuditFilter,
        CampaignStatus, PlatformRole, RoleChangeInput, SignInInput, SignUpInput, TaskState, UserId,
        Verdict,
    },
    service::{self, Actor, auth, passwords::PasswordHasher},
};
use chrono::Utc;
use migrations::db::fresh_all;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
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

async fn actor(db: &DatabaseConnection, user: UserId) -> Actor {
    let viewer = auth::viewer(db, user, None)
        .await
        .expect("load")
        .expect("exists");
    Actor {
        user_id: user,
        email: viewer.email.clone(),
        staff_roles: viewer.staff_roles.clone(),
        membership: viewer.current_membership().map(|m| (m.account_id, m.role)),
        ip: Some("192.0.2.1".into()),
        clock: None,
    }
}

async fn count_action(db: &DatabaseConnection, action: AuditAction) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action.code()))
        .count(db)
        .await
        .expect("count")
}

#[tokio::test]
async fn sign_up_creates_user_account_owner_and_audit_in_one_go() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        let user = auth::sign_up(&db, &hasher, sign_up_input(" Ada@Example.com "), None)
            .await
            .expect(backend);
        let viewer = auth::viewer(&db, user, None)
            .await
            .expect(backend)
            .expect(backend);
        assert_eq!(viewer.email, "ada@example.com", "{backend}");
        assert_eq!(viewer.memberships.len(), 1, "{backend}");
        assert_eq!(viewer.memberships[0].role, AccountRole::Owner, "{backend}");
        assert_eq!(
            viewer.current_account,
            Some(viewer.memberships[0].account_id),
            "{backend}"
        );
        assert_eq!(count_action(&db, AuditAction::SignUp).await, 1, "{backend}");

        // The web's entry point answers a known address like a new one and creates nothing;
        // the programmatic `sign_up`, which must return a new user, says it is taken.
        let again =
            service::sign_up::register(&db, &hasher, sign_up_input("ada@example.com"), None, None)
                .await
                .expect(backend);
        assert_eq!(again.new_user, None, "{backend}");
        let taken = auth::sign_up(&db, &hasher, sign_up_input("ada@example.com"), None).await;
        assert!(
            matches!(taken, Err(AppError::Conflict(_))),
            "{backend}: {taken:?}"
        );
        assert_eq!(
            account_member::Entity::find()
                .count(&db)
                .await
                .expect(backend),
            1,
            "{backend}: a refused sign-up leaves nothing behind"
        );
    }
}

#[tokio::test]
async fn sign_up_refuses_bad_fields_and_common_passwords() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        let mut input = sign_up_input("bob@example.com");
        input.password = "Password123".into();
        let result = auth::sign_up(&db, &hasher, input, None).await;
        let Err(AppError::Invalid(fields)) = result else {
            panic!("{backend}: {result:?}")
        };
        assert!(
            fields
                .get("password")
                .is_some_and(|m| m.contains("too common")),
            "{backend}"
        );

        let input = SignUpInput {
            email: "nope".into(),
            password: "short".into(),
            account_name: String::new(),
            time_zone: "Nowhere/Land".into(),
        };
        let Err(AppError::Invalid(fields)) = auth::sign_up(&db, &hasher, input, None).await else {
            panic!("{backend}: expected field errors")
        };
        for field in ["email", "password", "account_name", "time_zone"] {
            assert!(fields.get(field).is_some(), "{backend}: {field}");
        }
        // An account name goes into mail subjects and every list: no line break, no
        // right-to-left override, no zero-width space.
        for name in ["Acme\r\nBcc: x", "Ads \u{202E}emcA", "Ac\u{200B}me Ads"] {
            let mut input = sign_up_input("named@example.com");
            input.account_name = name.into();
            let Err(AppError::Invalid(fields)) = auth::sign_up(&db, &hasher, input, None).await
            else {
                panic!("{backend}: {name:?} accepted")
            };
            assert!(
                fields
                    .get("account_name")
                    .is_some_and(|m| m.contains("invisible")),
                "{backend}: {name:?}"
            );
        }
        // Joiners and variation selectors are spelling, not tricks.
        for (i, name) in [
            "\u{0645}\u{06CC}\u{200C}\u{0631}\u{0648}\u{0645} Ads",
            "Love \u{2764}\u{FE0F} Ads",
        ]
        .into_iter()
        .enumerate()
        {
            let mut input = sign_up_input(&format!("joined{i}@example.com"));
            input.account_name = name.into();
            auth::sign_up(&db, &hasher, input, None)
                .await
                .unwrap_or_else(|e| panic!("{backend}: {name:?} refused: {e:?}"));
        }
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same_and_are_audited() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        auth::sign_up(&db, &hasher, sign_up_input("ada@example.com"), None)
            .await
            .expect(backend);
        let attempt = |email: &str, password: &str| SignInInput {
            email: email.into(),
            password: password.into(),
        };
        let wrong = auth::sign_in(
            &db,
            &hasher,
            attempt("ada@example.com", "not it at all"),
            None,
        )
        .await
        .expect_err(backend);
        let unknown = auth::sign_in(
            &db,
            &hasher,
            attempt("eve@example.com", "violet harbour 42 kites"),
            None,
        )
        .await
        .expect_err(backend);
        assert_eq!(wrong, unknown, "{backend}");
        assert_eq!(
            count_action(&db, AuditAction::SignInFailed).await,
            2,
            "{backend}"
        );
        let ok = auth::sign_in(
            &db,
            &hasher,
            attempt("ADA@example.com", "violet harbour 42 kites"),
            None,
        )
        .await
        .expect(backend);
        assert_eq!(count_action(&db, AuditAction::SignIn).await, 1, "{backend}");
        let viewer = auth::viewer(&db, ok, None)
            .await
            .expect(backend)
            .expect(backend);
        assert_eq!(viewer.email, "ada@example.com");
    }
}

/// Instances started together on a new PostgreSQL database take turns migrating it: both
/// starts succeed and every migration is applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_migrate_a_new_postgres_database_once() {
    use migrations::MigratorTrait;
    let Some(url) = migrations::db::empty_postgres_url()
        .await
        .expect("new PostgreSQL database (TEST_DATABASE_URL)")
    else {
        return;
    };
    let (one, two) = tokio::join!(migrations::db::connect(&url), migrations::db::connect(&url));
    let (one, two) = (one.expect("connect"), two.expect("connect"));
    let (a, b) = tokio::join!(migrations::db::migrate(&one), migrations::db::migrate(&two));
    a.expect("the first start migrates");
    b.expect("the second start waits, then finds nothing to do");
    let applied = migrations::Migrator::get_applied_migrations(&one)
        .await
        .expect("applied");
    assert_eq!(applied.len(), migrations::Migrator::migrations().len());
}

/// `server staff grant`: the operator makes the first admin of a new installation — only of
/// a confirmed address, once, audited as the server command's doing.
#[tokio::test]
async fn the_operator_grants_the_first_admin_to_a_confirmed_user() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        let user = auth::sign_up(&db, &hasher, sign_up_input("first@example.com"), None)
            .await
            .expect(backend);
        let unconfirmed =
            service::admin::grant_by_operator(&db, "first@example.com", PlatformRole::Admin).await;
        assert!(
            matches!(unconfirmed, Err(AppError::Conflict(_))),
            "{backend}: {unconfirmed:?}"
        );
        let unknown =
            service::admin::grant_by_operator(&db, "nobody@example.com", PlatformRole::Admin).await;
        assert_eq!(unknown, Err(AppError::NotFound), "{backend}");
        db.execute_unprepared("UPDATE app_user SET email_verified_at = CURRENT_TIMESTAMP")
            .await
            .expect(backend);
        let granted =
            service::admin::grant_by_operator(&db, " First@Example.com ", PlatformRole::Admin)
                .await
                .expect(backend);
        assert!(granted, "{backend}");
        let again =
            service::admin::grant_by_operator(&db, "first@example.com", PlatformRole::Admin)
                .await
                .expect(backend);
        assert!(!again, "{backend}: held already, nothing changes");
        let viewer = auth::viewer(&db, user, None)
            .await
            .expect(backend)
            .expect(backend);
        assert_eq!(viewer.staff_roles, vec![PlatformRole::Admin], "{backend}");
        let audited: Vec<audit_event::Model> = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq(AuditAction::RoleGranted.code()))
            .all(&db)
            .await
            .expect(backend);
        assert_eq!(audited.len(), 1, "{backend}");
        assert!(
            audited[0]
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("server command")),
            "{backend}: {:?}",
            audited[0].detail
        );
    }
}

/// Two confirmed users, the first made admin directly (as `server seed` does): "admin@" and
/// "other@example.com".
async fn admin_and_other(db: &DatabaseConnection, hasher: &PasswordHasher) -> (UserId, UserId) {
    let admin = auth::sign_up(db, hasher, sign_up_input("admin@example.com"), None)
        .await
        .expect("sign up the admin");
    let other = auth::sign_up(db, hasher, sign_up_input("other@example.com"), None)
        .await
        .expect("sign up the other");
    // Staff roles key on the address: both are confirmed.
    db.execute_unprepared("UPDATE app_user SET email_verified_at = CURRENT_TIMESTAMP")
        .await
        .expect("confirm");
    db.execute_unprepared(&format!(
        "INSERT INTO staff_role (user_id, role, granted_by, granted_at) VALUES ({}, 'admin', NULL, CURRENT_TIMESTAMP)",
        admin.0
    ))
    .await
    .expect("make the first admin");
    (admin, other)
}

/// A loop of refused requests (a script, or a link on another site opened again and again)
/// does not write the audit trail, which cannot be deleted, row after row: one person's
/// refusals are audited up to a limit per window; others' are audited as before.
#[tokio::test]
async fn refusals_are_audited_up_to_a_limit_per_person() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        let (_, other) = admin_and_other(&db, &hasher).await;
        let outsider = actor(&db, other).await;
        let limit = u64::from(service::actor::DENIALS_AUDITED.burst);
        for _ in 0..limit + 10 {
            let listing = service::admin::list_users(&db, &outsider, "", 0).await;
            assert_eq!(
                listing,
                Err(AppError::Forbidden),
                "{backend}: refused every time"
            );
        }
        // The limit's refusals, and one row that says the limit was reached.
        assert_eq!(
            count_action(&db, AuditAction::AccessDenied).await,
            limit + 1,
            "{backend}"
        );
        let third = auth::sign_up(&db, &hasher, sign_up_input("third@example.com"), None)
            .await
            .expect("sign up");
        let third = actor(&db, third).await;
        let listing = service::admin::list_users(&db, &third, "", 0).await;
        assert_eq!(listing, Err(AppError::Forbidden), "{backend}");
        assert_eq!(
            count_action(&db, AuditAction::AccessDenied).await,
            limit + 2,
            "{backend}: another person's refusal is audited"
        );
    }
}

#[tokio::test]
async fn only_admins_change_roles_refusals_are_audited_and_one_admin_remains() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        let (admin, other) = admin_and_other(&db, &hasher).await;

        let outsider = actor(&db, other).await;
        let grant = RoleChangeInput {
            user_id: other,
            role: PlatformRole::Admin,
            grant: true,
        };
        let refused =
            service::admin::change_role(&db, &hasher, &outsider, grant.clone(), PASSWORD.into())
                .await;
        assert_eq!(refused, Err(AppError::Forbidden), "{backend}");
        assert_eq!(
            count_action(&db, AuditAction::AccessDenied).await,
            1,
            "{backend}"
        );
        let listing = service::admin::list_users(&db, &outsider, "", 0).await;
        assert_eq!(listing, Err(AppError::Forbidden), "{backend}");

        let boss = actor(&db, admin).await;
        // Nobody widens their own rights: an admin who could make themselves finance would
        // move money alone.
        let own = RoleChangeInput {
            user_id: admin,
            role: PlatformRole::Finance,
            grant: true,
        };
        // Refused before the password is read: no attempt is spent on it.
        let refused = service::admin::change_role(&db, &hasher, &boss, own, String::new()).await;
        assert!(
            matches!(refused, Err(AppError::Conflict(_))),
            "{backend}: {refused:?}"
        );
        // A grant asks for the admin's password again: none, or a wrong one, grants nothing.
        for (password, message) in [
            ("", "Enter your current password."),
            ("not my password", "This is not your current password."),
        ] {
            let refused =
                service::admin::change_role(&db, &hasher, &boss, grant.clone(), password.into())
                    .await;
            assert_eq!(
                refused,
                Err(AppError::field("password", message)),
                "{backend}"
            );
        }
        assert_eq!(
            count_action(&db, AuditAction::RoleGranted).await,
            0,
            "{backend}"
        );
        service::admin::change_role(&db, &hasher, &boss, grant, PASSWORD.into())
            .await
            .expect(backend);
        assert_eq!(
            count_action(&db, AuditAction::RoleGranted).await,
            1,
            "{backend}"
        );
        let users = service::admin::list_users(&db, &boss, "other@", 0)
            .await
            .expect(backend);
        assert_eq!(users.total, 1, "{backend}");
        assert_eq!(
            users.rows[0].staff_roles,
            vec![PlatformRole::Admin],
            "{backend}"
        );

        // Two admins: one may step down; the last one may not.
        let revoke = |user| RoleChangeInput {
            user_id: user,
            role: PlatformRole::Admin,
            grant: false,
        };
        // Revoking narrows rights: no password is asked.
        service::admin::change_role(&db, &hasher, &boss, revoke(admin), String::new())
            .await
            .expect(backend);
        let new_boss = actor(&db, other).await;
        let last =
            service::admin::change_role(&db, &hasher, &new_boss, revoke(other), String::new())
                .await;
        assert!(
            matches!(last, Err(AppError::Conflict(_))),
            "{backend}: {last:?}"
        );

        let trail = service::audit::list(
            &db,
            &new_boss,
            &AuditFilter {
                action: Some("role.revoked".into()),
                ..Default::default()
            },
        )
        .await
        .expect(backend);
        assert_eq!(trail.total, 1, "{backend}");
        assert_eq!(
            trail.rows[0].actor_email.as_deref(),
            Some("admin@example.com"),
            "{backend}"
        );
    }
}

/// A role grant and a password change ask for the same password, so they count wrong guesses
/// together: a stolen session cannot guess ten times on each form (nor on the bank details,
/// which go through the same check). After ten wrong ones, even the right password is refused
/// until the window passes, and nothing is granted.
#[tokio::test]
async fn a_grant_and_a_password_change_share_one_count_of_wrong_passwords() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        let (admin, other) = admin_and_other(&db, &hasher).await;
        let boss = actor(&db, admin).await;
        let grant = RoleChangeInput {
            user_id: other,
            role: PlatformRole::Finance,
            grant: true,
        };
        let change = |current: &str| app::model::PasswordChangeInput {
            current: current.into(),
            new: "a brand new passphrase 7".into(),
        };
        // Nine wrong guesses on the grant, the tenth on the password change: each is told
        // beside its field.
        for _ in 0..9 {
            let refused =
                service::admin::change_role(&db, &hasher, &boss, grant.clone(), "guess".into())
                    .await;
            assert_eq!(
                refused,
                Err(AppError::field(
                    "password",
                    "This is not your current password."
                )),
                "{backend}"
            );
        }
        let refused =
            service::sessions::change_password(&db, &hasher, &boss, change("guess"), None).await;
        assert!(
            matches!(refused, Err(AppError::Invalid(ref f)) if f.get("current").is_some()),
            "{backend}: {refused:?}"
        );
        // The count is spent for both: the right password is refused on either form.
        for refused in [
            service::admin::change_role(&db, &hasher, &boss, grant.clone(), PASSWORD.into()).await,
            service::sessions::change_password(&db, &hasher, &boss, change(PASSWORD), None).await,
        ] {
            assert!(
                matches!(refused, Err(AppError::TooManyAttempts(_))),
                "{backend}: {refused:?}"
            );
        }
        assert_eq!(
            count_action(&db, AuditAction::RoleGranted).await,
            0,
            "{backend}"
        );
        // The old password still signs in: the refused change changed nothing.
        auth::sign_in(
            &db,
            &hasher,
            SignInInput {
                email: "admin@example.com".into(),
                password: PASSWORD.into(),
            },
            None,
        )
        .await
        .expect(backend);
    }
}

#[tokio::test]
async fn two_admins_revoking_each_other_at_once_leave_exactly_one() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        let mut users = Vec::new();
        for email in ["ada@herald.test", "bob@herald.test"] {
            let user = auth::sign_up(&db, &hasher, sign_up_input(email), None)
                .await
                .expect(backend);
            users.push(user);
        }
        let revoke = |user| RoleChangeInput {
            user_id: user,
            role: PlatformRole::Admin,
            grant: false,
        };
        for round in 0..8 {
            // Both are admins again at the start of each round.
            for user in &users {
                db.execute_unprepared(&format!(
                    "INSERT INTO staff_role (user_id, role, granted_by, granted_at) \
                     SELECT {0}, 'admin', NULL, CURRENT_TIMESTAMP WHERE NOT EXISTS \
                     (SELECT 1 FROM staff_role WHERE user_id = {0} AND role = 'admin')",
                    user.0
                ))
                .await
                .expect(backend);
            }
            // Admins as the session sees them (whatever else gates a staff role at sign-in).
            let admin = |user: UserId, email: &str| Actor {
                user_id: user,
                email: email.into(),
                staff_roles: vec![PlatformRole::Admin],
                membership: None,
                ip: Some("192.0.2.1".into()),
                clock: None,
            };
            let ada = admin(users[0], "ada@herald.test");
            let bob = admin(users[1], "bob@herald.test");
            // Two pooled connections, each revoking the other admin in its own transaction.
            let (first, second) = tokio::join!(
                service::admin::change_role(&db, &hasher, &ada, revoke(users[1]), String::new()),
                service::admin::change_role(&db, &hasher, &bob, revoke(users[0]), String::new()),
            );
            let admins = app::entity::staff_role::Entity::find()
                .filter(app::entity::staff_role::Column::Role.eq(PlatformRole::Admin))
                .count(&db)
                .await
                .expect(backend);
            assert_eq!(admins, 1, "{backend}, round {round}: {first:?} {second:?}");
            let outcomes = [&first, &second];
            assert_eq!(
                outcomes.iter().filter(|r| r.is_ok()).count(),
                1,
                "{backend}, round {round}: {first:?} {second:?}"
            );
            // The loser either lost its own admin role first or found itself the last admin.
            assert!(
                outcomes.iter().all(|r| matches!(
                    r,
                    Ok(()) | Err(AppError::Conflict(_) | AppError::Forbidden)
                )),
                "{backend}, round {round}: {first:?} {second:?}"
            );
        }
    }
}

#[tokio::test]
async fn account_settings_follow_roles_and_are_audited() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        let owner_id = auth::sign_up(&db, &hasher, sign_up_input("owner@example.com"), None)
            .await
            .expect(backend);
        let owner = actor(&db, owner_id).await;
        let input = AccountSettingsInput {
            name: "Renamed Ads".into(),
            time_zone: "UTC".into(),
        };
        service::accounts::update_settings(&db, &owner, input.clone(), Utc::now())
            .await
            .expect(backend);
        let details = service::accounts::details(&db, &owner)
            .await
            .expect(backend);
        assert_eq!(
            (details.name.as_str(), details.time_zone.as_str()),
            ("Renamed Ads", "UTC")
        );
        assert_eq!(
            count_action(&db, AuditAction::AccountUpdated).await,
            1,
            "{backend}"
        );

        for role in [
            AccountRole::Manager,
            AccountRole::Analyst,
            AccountRole::Billing,
        ] {
            let mut member = owner.clone();
            member.membership = owner.membership.map(|(id, _)| (id, role));
            assert!(
                service::accounts::details(&db, &member).await.is_ok(),
                "{backend} {role:?}"
            );
            let refused =
                service::accounts::update_settings(&db, &member, input.clone(), Utc::now()).await;
            assert_eq!(refused, Err(AppError::Forbidden), "{backend} {role:?}");
            assert_eq!(
                member
                    .account(&db, AccountPermission::EditCampaigns)
                    .await
                    .is_ok(),
                role == AccountRole::Manager,
                "{backend} {role:?}"
            );
        }
        let mut stranger = owner.clone();
        stranger.membership = None;
        assert_eq!(
            service::accounts::details(&db, &stranger).await,
            Err(AppError::NotFound)
        );

        let bad = AccountSettingsInput {
            name: "x".into(),
            time_zone: "Mars/Base".into(),
        };
        let Err(AppError::Invalid(fields)) =
            service::accounts::update_settings(&db, &owner, bad, Utc::now()).await
        else {
            panic!("{backend}: expected field errors")
        };
        assert!(fields.get("name").is_some() && fields.get("time_zone").is_some());
    }
}

#[tokio::test]
async fn the_audit_trail_refuses_updates_and_deletes() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        auth::sign_up(&db, &hasher, sign_up_input("ada@example.com"), None)
            .await
            .expect(backend);
        let update = db
            .execute_unprepared("UPDATE audit_event SET action = 'forged'")
            .await;
        assert!(update.is_err(), "{backend}: UPDATE must fail");
        let delete = db.execute_unprepared("DELETE FROM audit_event").await;
        assert!(delete.is_err(), "{backend}: DELETE must fail");
        assert_eq!(count_action(&db, AuditAction::SignUp).await, 1, "{backend}");
    }
}

#[tokio::test]
async fn demo_seed_creates_every_role_and_the_catalog() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        assert!(service::seed::is_empty(&db).await.expect(backend));
        let logins = service::seed::seed(&db, &hasher, 2_000, 7)
            .await
            .expect(backend);
        assert_eq!(logins.len(), 6, "{backend}");
        assert_eq!(
            count_action(&db, AuditAction::RoleGranted).await,
            4,
            "{backend}"
        );
        assert!(!service::seed::is_empty(&db).await.expect(backend));
        assert_eq!(
            topic::Entity::find().count(&db).await.expect(backend),
            40,
            "{backend}"
        );
        assert_eq!(
            channel::Entity::find().count(&db).await.expect(backend),
            2_000,
            "{backend}"
        );
        let statuses: Vec<CampaignStatus> = campaign::Entity::find()
            .all(&db)
            .await
            .expect(backend)
            .into_iter()
            .map(|c| c.status)
            .collect();
        assert_eq!(statuses.len(), 3, "{backend}: demo campaigns");
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == CampaignStatus::Running)
                .count(),
            1,
            "{backend}: one demo campaign runs"
        );
        // The demo moderator approved the running campaign's two ads and declined one; an
        // edit waits in the queue.
        let decisions: Vec<(Verdict, bool)> = review_decision::Entity::find()
            .all(&db)
            .await
            .expect(backend)
            .into_iter()
            .map(|d| (d.outcome, d.is_appeal))
            .collect();
        assert_eq!(
            decisions,
            [
                (Verdict::Approved, false),
                (Verdict::Approved, false),
                (Verdict::Declined, false)
            ],
            "{backend}"
        );
        let waiting = review_task::Entity::find()
            .filter(review_task::Column::State.eq(TaskState::Open))
            .count(&db)
            .await
            .expect(backend);
        assert_eq!(waiting, 1, "{backend}: the demo queue");
        let mut billing = 0;
        for login in &logins {
            let user = auth::sign_in(
                &db,
                &hasher,
                SignInInput {
                    email: login.email.clone(),
                    password: login.password.clone(),
                },
                None,
            )
            .await
            .expect(backend);
            let viewer = auth::viewer(&db, user, None)
                .await
                .expect(backend)
                .expect(backend);
            // The billing member joined the advertiser's account by invitation, with no
            // account of their own.
            if login.email == "billing@herald.local" {
                let memberships: Vec<(&str, AccountRole)> = viewer
                    .memberships
                    .iter()
                    .map(|m| (m.account_name.as_str(), m.role))
                    .collect();
                assert_eq!(
                    memberships,
                    [("Acme Coffee Roasters", AccountRole::Billing)],
                    "{backend}"
                );
                billing += 1;
            }
            let staff = viewer.staff_roles.len();
            assert_eq!(
                staff,
                usize::from(
                    !["advertiser@", "billing@"]
                        .iter()
                        .any(|p| login.email.starts_with(p))
                ),
                "{backend}"
            );
        }
        assert_eq!(billing, 1, "{backend}: a billing member's login");
    }
}

/// SQLite is built with the query planner stability guarantee (`.cargo/config.toml`): without
/// it every `LIMIT ?` statement (each sea-orm `.one()`) is parsed and planned again on every
/// execution instead of reusing SQLx's cached statement.
#[tokio::test]
async fn sqlite_plans_do_not_depend_on_bound_values() {
    let db = migrations::db::fresh_sqlite().await.expect("sqlite");
    let options: Vec<String> = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "PRAGMA compile_options",
        ))
        .await
        .expect("compile options")
        .into_iter()
        .map(|row| row.try_get_by_index::<String>(0).expect("text"))
        .collect();
    assert!(
        options.iter().any(|o| o == "ENABLE_QPSG"),
        "SQLite built without ENABLE_QPSG: {options:?}"
    );
}

/// Under a steady stream of money writes, the background checkpoint (`checkpoint_log`) still
/// completes, so the write-ahead log starts over instead of growing until a writer's commit
/// has to checkpoint it (with everything since the last one to `fsync`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_completes_while_money_writes_go_on() {
    use app::service::ledger::{self, RESTART_LOG_PAGES};
    use std::sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    };
    let db = migrations::db::fresh_sqlite().await.expect("sqlite");
    db.execute_unprepared("CREATE TABLE wal_test (id INTEGER PRIMARY KEY, body BLOB)")
        .await
        .expect("table");
    let (stop, commits) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    async fn money_write(db: &DatabaseConnection) {
        let w = ledger::begin(db).await.expect("begin");
        w.execute_unprepared("INSERT INTO wal_test (body) VALUES (randomblob(3000))")
            .await
            .expect("insert");
        w.commit().await.expect("commit");
    }
    let writer = {
        let (db, stop, commits) = (db.clone(), Arc::clone(&stop), Arc::clone(&commits));
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                money_write(&db).await;
                commits.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    // A log well past the size at which the checkpoint completes between two writes.
    while commits.load(Ordering::SeqCst) < 2 * RESTART_LOG_PAGES as u64 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let (log, left) = ledger::checkpoint_log(&db)
        .await
        .expect("checkpoint")
        .expect("SQLite");
    stop.store(true, Ordering::SeqCst);
    writer.await.expect("writer");
    assert!(log >= RESTART_LOG_PAGES, "the log had {log} pages");
    assert_eq!(left, 0, "pages left to copy after the checkpoint");
    // The next write starts the log over: it holds only the pages written since.
    money_write(&db).await;
    let (after, _) = ledger::checkpoint_log(&db)
        .await
        .expect("checkpoint")
        .expect("SQLite");
    assert!(
        after < log / 2,
        "the log did not start over: {after} pages after, {log} before"
    );
}
