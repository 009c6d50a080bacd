//! The sign-in throttle (issue 12, items 1, 3 and 4): per (email, address) and per address
//! refusals, a per-account slowdown that spares addresses the owner signed in from, attempts
//! reserved before the password is checked, and a bounded audit trail. SQLite always,
//! PostgreSQL too when `TEST_DATABASE_URL` is set.

use app::{
    entity::audit_event,
    error::AppError,
    model::{AuditAction, SignInInput, SignUpInput, UserId},
    service::{
        auth,
        passwords::PasswordHasher,
        rate_limit::{self, Limit, Reservation},
    },
};
use chrono::{Duration, Utc};
use migrations::db::fresh_all;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

const PASSWORD: &str = "violet harbour 42 kites";

async fn ada(db: &DatabaseConnection, hasher: &PasswordHasher) -> UserId {
    let input = SignUpInput {
        email: "ada@example.com".into(),
        password: PASSWORD.into(),
        account_name: "Acme Ads".into(),
        time_zone: "Europe/Berlin".into(),
    };
    auth::sign_up(db, hasher, input, None)
        .await
        .expect("sign up")
}

async fn attempt(
    db: &DatabaseConnection,
    hasher: &PasswordHasher,
    email: &str,
    password: &str,
    ip: &str,
) -> Result<UserId, AppError> {
    let input = SignInInput {
        email: email.into(),
        password: password.into(),
    };
    auth::sign_in(db, hasher, input, Some(ip.into())).await
}

async fn count_action(db: &DatabaseConnection, action: AuditAction) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action.code()))
        .count(db)
        .await
        .expect("count")
}

#[tokio::test]
async fn failures_from_one_address_never_lock_out_another() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        ada(&db, &hasher).await;
        for _ in 0..auth::MAX_FAILURES {
            let result = attempt(
                &db,
                &hasher,
                "ada@example.com",
                "wrong guess",
                "198.51.100.1",
            )
            .await;
            assert!(
                matches!(result, Err(AppError::Invalid(_))),
                "{backend}: {result:?}"
            );
        }
        // The attacking address is refused, even with the right password …
        let refused = attempt(&db, &hasher, "ada@example.com", PASSWORD, "198.51.100.1").await;
        let Err(AppError::TooManyAttempts(message)) = refused else {
            panic!("{backend}: {refused:?}")
        };
        assert!(message.contains("Try again in"), "{backend}: {message}");
        // … the owner, from an address with no failures, is not.
        let owner = attempt(&db, &hasher, "ada@example.com", PASSWORD, "203.0.113.9").await;
        assert!(owner.is_ok(), "{backend}: {owner:?}");

        // Credential stuffing: one address, many emails, refused past its own limit.
        for i in 0..auth::MAX_ADDRESS_FAILURES {
            let email = format!("guess{i}@example.com");
            let _ = attempt(&db, &hasher, &email, "wrong guess", "192.0.2.77").await;
        }
        let blocked = attempt(
            &db,
            &hasher,
            "someone@example.com",
            "whatever it is",
            "192.0.2.77",
        )
        .await;
        assert!(
            matches!(blocked, Err(AppError::TooManyAttempts(_))),
            "{backend}: {blocked:?}"
        );
    }
}

#[tokio::test]
async fn a_flooded_account_refuses_new_addresses_but_not_known_ones() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        ada(&db, &hasher).await;
        // The owner's usual address.
        attempt(&db, &hasher, "ada@example.com", PASSWORD, "203.0.113.9")
            .await
            .expect(backend);
        // A distributed flood fills the account's slots for the coming hour (as ~100 addresses
        // would): reserve them directly, the way sign-in does.
        let limit = auth::ACCOUNT_LIMIT;
        let now = Utc::now();
        let mut granted = 0;
        for _ in 0..200 {
            let r = rate_limit::reserve(
                &db,
                "signin:email:ada@example.com",
                limit,
                Duration::seconds(30),
                now,
            )
            .await
            .expect("reserve");
            if r.is_granted() {
                granted += 1;
            }
        }
        // Burst plus what the 30-second wait allows, then nothing.
        assert_eq!(granted, 20, "{backend}");
        // A new address is refused while the flood lasts (at most ~100 guesses an hour) …
        let stranger = attempt(&db, &hasher, "ada@example.com", PASSWORD, "198.51.100.50").await;
        assert!(
            matches!(stranger, Err(AppError::TooManyAttempts(_))),
            "{backend}: {stranger:?}"
        );
        // … the owner's known address is not slowed at all.
        let owner = attempt(&db, &hasher, "ada@example.com", PASSWORD, "203.0.113.9").await;
        assert!(owner.is_ok(), "{backend}: {owner:?}");
    }
}

#[tokio::test]
async fn the_slowdown_waits_for_a_slot_instead_of_refusing() {
    for (backend, db) in fresh_all().await {
        let limit = Limit::new(2, Duration::seconds(60));
        let now = Utc::now();
        let key = "test:slowdown";
        let wait = Duration::seconds(45);
        let mut answers = Vec::new();
        for _ in 0..4 {
            answers.push(
                rate_limit::reserve(&db, key, limit, wait, now)
                    .await
                    .expect("reserve"),
            );
        }
        let zero = Reservation::Granted {
            wait: Duration::zero(),
        };
        assert_eq!(answers[0], zero, "{backend}");
        assert_eq!(answers[1], zero, "{backend}");
        assert_eq!(
            answers[2],
            Reservation::Granted {
                wait: Duration::seconds(30)
            },
            "{backend}"
        );
        assert!(
            matches!(answers[3], Reservation::Refused { .. }),
            "{backend}: {answers:?}"
        );
        // A refusal counted nothing; time frees the slots.
        let later = now + Duration::seconds(90);
        assert_eq!(
            rate_limit::reserve(&db, key, limit, wait, later)
                .await
                .expect("r"),
            zero,
            "{backend}"
        );
        // A refund gives one back.
        rate_limit::refund(&db, key, limit).await.expect("refund");
        assert_eq!(
            rate_limit::reserve(&db, key, limit, Duration::zero(), later)
                .await
                .expect("r"),
            zero,
            "{backend}"
        );
        assert_eq!(
            rate_limit::prune(&db, later + Duration::hours(1))
                .await
                .expect("prune"),
            1,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn concurrent_wrong_guesses_are_counted_before_verifying() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        ada(&db, &hasher).await;
        let tries = (0..50).map(|_| {
            let (db, hasher) = (db.clone(), hasher.clone());
            tokio::spawn(async move {
                attempt(
                    &db,
                    &hasher,
                    "ada@example.com",
                    "wrong guess",
                    "198.51.100.1",
                )
                .await
            })
        });
        let mut throttled = 0;
        let mut wrong = 0;
        for task in tries.collect::<Vec<_>>() {
            match task.await.expect("task") {
                Err(AppError::TooManyAttempts(_)) => throttled += 1,
                Err(AppError::Invalid(_)) => wrong += 1,
                other => panic!("{backend}: {other:?}"),
            }
        }
        let failed_rows = count_action(&db, AuditAction::SignInFailed).await;
        assert!(
            wrong <= auth::MAX_FAILURES,
            "{backend}: {wrong} verifications"
        );
        assert_eq!(failed_rows, u64::from(wrong), "{backend}");
        assert_eq!(throttled + wrong, 50, "{backend}");
        assert!(throttled >= 40, "{backend}: {throttled}");
    }
}

#[tokio::test]
async fn oversized_input_and_throttled_floods_write_little_to_the_audit_trail() {
    let hasher = PasswordHasher::new(2);
    for (backend, db) in fresh_all().await {
        let long = format!("{}@example.com", "a".repeat(300));
        let result = attempt(&db, &hasher, &long, "whatever", "198.51.100.1").await;
        let Err(AppError::Invalid(errors)) = result else {
            panic!("{backend}: {result:?}")
        };
        assert!(errors.get("email").is_some(), "{backend}");
        assert_eq!(
            count_action(&db, AuditAction::SignInFailed).await,
            0,
            "{backend}"
        );

        for _ in 0..auth::MAX_FAILURES {
            let _ = attempt(
                &db,
                &hasher,
                "ada@example.com",
                "wrong guess",
                "198.51.100.2",
            )
            .await;
        }
        for _ in 0..100 {
            let r = attempt(
                &db,
                &hasher,
                "ada@example.com",
                "wrong guess",
                "198.51.100.2",
            )
            .await;
            assert!(
                matches!(r, Err(AppError::TooManyAttempts(_))),
                "{backend}: {r:?}"
            );
        }
        assert_eq!(
            count_action(&db, AuditAction::SignInThrottled).await,
            1,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn no_hour_holds_more_than_a_hundred_guesses_on_one_account() {
    for (backend, db) in fresh_all().await {
        // A flood from ever-new addresses: an attempt every 5 s for three hours. Each granted
        // attempt is verified once its wait is over; count verifications in every hour.
        let start = Utc::now();
        let mut verified = Vec::new();
        for i in 0..(3 * 3600 / 5) {
            let now = start + Duration::seconds(i * 5);
            let r = rate_limit::reserve(
                &db,
                "flood",
                auth::ACCOUNT_LIMIT,
                Duration::seconds(30),
                now,
            )
            .await
            .expect("reserve");
            if let Reservation::Granted { wait } = r {
                verified.push(now + wait);
            }
        }
        let busiest = verified
            .iter()
            .map(|from| {
                verified
                    .iter()
                    .filter(|t| *t >= from && **t < *from + Duration::hours(1))
                    .count()
            })
            .max()
            .unwrap_or(0);
        assert!(
            busiest <= auth::MAX_ACCOUNT_FAILURES_PER_HOUR as usize,
            "{backend}: {busiest} in one hour"
        );
        assert!(
            busiest >= 90,
            "{backend}: the limit still lets {busiest} through"
        );
    }
}
