//! One bank transfer is one credit however its reference is typed: "TX-123", "tx 123" and
//! "Tx.123" are the same id (its letters and digits in capitals), on SQLite and PostgreSQL, for
//! credits at once, credits waiting for a second person and refunds; and the migration that
//! keyed old rows keeps the rule from then on without rewriting what was credited before it.

mod delivery_support;

use app::{
    entity::{account_top_up, finance_request},
    error::AppError,
    model::{FinanceRequestStatus, Micros, finance},
    service::{
        finance::{self as finance_service, requests},
        ledger,
    },
};
use chrono::Utc;
use delivery_support::*;
use migrations::{Migrator, MigratorTrait};
use proptest::prelude::*;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Statement};

fn reference_error(result: &Result<impl std::fmt::Debug, AppError>) -> String {
    match result {
        Err(AppError::Invalid(fields)) => fields
            .get("reference")
            .unwrap_or_else(|| panic!("no reference error: {result:?}"))
            .to_string(),
        other => panic!("expected a reference error, got {other:?}"),
    }
}

proptest! {
    /// The migration's frozen rule and the application's living one give every reference the
    /// same key: an old row and a new credit of one transfer can never be told apart wrongly.
    #[test]
    fn the_migrations_key_is_the_applications(reference in "\\PC{0,40}") {
        prop_assert_eq!(
            migrations::frozen_reference_key(&reference),
            finance::reference_key(&reference)
        );
    }
}

#[tokio::test]
async fn one_transfer_typed_three_ways_is_credited_once() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        set_setting(&db, "finance_approval_units", 10_000).await;
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let alice = finance_user(&db, "alice@finance.example").await;
        let bob = finance_user(&db, "bob@finance.example").await;

        let first =
            finance_service::credit(&db, &alice, credit_input(&owner, "250", "TX-123"), now)
                .await
                .expect(b);
        assert!(!first.already_credited, "{b}");
        // Another finance person types it from a remittance advice: nothing new.
        let again =
            finance_service::credit(&db, &bob, credit_input(&owner, "250", " tx 123 "), now)
                .await
                .expect(b);
        assert!(again.already_credited, "{b}");
        assert_eq!(available(&db, &owner).await, Micros::units(250), "{b}");
        // With another amount it is refused, naming how it was first typed.
        let other =
            finance_service::credit(&db, &bob, credit_input(&owner, "300", "Tx.123"), now).await;
        let message = reference_error(&other);
        assert!(message.contains("(as “TX-123”)"), "{b}: {message}");
        assert!(message.contains("250.00"), "{b}: {message}");
        // The same transfer for another account is refused: it was credited once, to this
        // one (named), and crediting it again would make money out of nothing.
        let other_owner = advertiser(&db, "other@example.com", "UTC").await;
        let theirs =
            finance_service::credit(&db, &alice, credit_input(&other_owner, "250", "tx123"), now)
                .await;
        let message = reference_error(&theirs);
        assert!(
            message.contains(&format!("ad account #{}", account(&owner).0))
                && message.contains("(as “TX-123”)"),
            "{b}: {message}"
        );
        assert_eq!(available(&db, &other_owner).await, Micros::ZERO, "{b}");
        // A reference of punctuation only says nothing.
        let blank =
            finance_service::credit(&db, &alice, credit_input(&owner, "5", "-/-"), now).await;
        reference_error(&blank);

        // Above the threshold: one request, however the reference is typed.
        let large = finance_service::credit(&db, &alice, credit_input(&owner, "25000", "W 9"), now)
            .await
            .expect(b);
        let id = large.pending_request.expect("pending");
        let same = finance_service::credit(&db, &bob, credit_input(&owner, "25000", "w-9"), now)
            .await
            .expect(b);
        assert_eq!(same.pending_request, Some(id), "{b}");
        let waiting = finance_request::Entity::find()
            .filter(finance_request::Column::Status.eq(FinanceRequestStatus::Pending.code()))
            .all(&db)
            .await
            .expect(b);
        assert_eq!(waiting.len(), 1, "{b}");
        assert_eq!(waiting[0].reference_key, "W9", "{b}");

        // Refunds: one per reference, however typed.
        let source = latest_top_up(&db, &owner).await;
        let refund = |reference: &str| refund_input(&owner, &source, "40", reference);
        let out = requests::refund(&db, &alice, refund("OUT-1"), now)
            .await
            .expect(b);
        assert!(!out.repeated, "{b}");
        let repeated = requests::refund(&db, &bob, refund("out 1"), now)
            .await
            .expect(b);
        assert!(repeated.repeated, "{b}");
        assert_eq!(repeated.request, out.request, "{b}");
        assert_eq!(available(&db, &owner).await, Micros::units(210), "{b}");

        let books = ledger::check(&db).await.expect(b);
        assert!(books.problems.is_empty(), "{b}: {:?}", books.problems);
    }
}

proptest! {
    /// Composing a reference (NFC) never changes what it shows nor splits one transfer in two:
    /// the composed text keys as its canonically equivalent spellings do once composed, and
    /// composing twice is composing once.
    #[test]
    fn composing_a_reference_is_stable(reference in "\\PC{0,40}") {
        let once = finance::composed(&reference);
        prop_assert_eq!(finance::composed(&once), once.clone());
        let decomposed: String =
            unicode_normalization::UnicodeNormalization::nfd(reference.as_str()).collect();
        prop_assert_eq!(
            finance::reference_key(&finance::composed(&decomposed)),
            finance::reference_key(&once)
        );
    }
}

/// "é" typed as one character or as "e" and a combining accent is one transfer (the service
/// composes the reference before keying it); full-width letters and ligatures, which look like
/// plain letters but are other characters, are refused beside the field with the plain form,
/// for credits, refunds and payouts alike.
#[tokio::test]
async fn a_reference_is_one_transfer_however_its_accents_are_encoded() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let alice = finance_user(&db, "alice@finance.example").await;

        let composed = "VIREMENT-CAFÉ-7";
        let decomposed = "VIREMENT-CAFE\u{301}-7";
        assert_ne!(composed, decomposed);
        let first =
            finance_service::credit(&db, &alice, credit_input(&owner, "50", decomposed), now)
                .await
                .expect(b);
        assert!(!first.already_credited, "{b}");
        let again = finance_service::credit(&db, &alice, credit_input(&owner, "50", composed), now)
            .await
            .expect(b);
        assert!(
            again.already_credited,
            "{b}: é in two encodings credited twice"
        );
        let stored = account_top_up::Entity::find().all(&db).await.expect(b);
        assert_eq!(stored.len(), 1, "{b}");
        assert_eq!(stored[0].external_reference, composed, "{b}: kept composed");
        assert_eq!(available(&db, &owner).await, Micros::units(50), "{b}");

        // Ｔ Ｘ (full-width) looks like TX but keys apart: refused, naming the plain form.
        let wide =
            finance_service::credit(&db, &alice, credit_input(&owner, "50", "ＴＸ－１２３"), now)
                .await;
        let message = reference_error(&wide);
        assert!(message.contains("“TX-123”"), "{b}: {message}");
        let ligature =
            finance_service::credit(&db, &alice, credit_input(&owner, "50", "ﬁle-9"), now).await;
        assert!(reference_error(&ligature).contains("“file-9”"), "{b}");
        let refund = requests::refund(
            &db,
            &alice,
            refund_input(&owner, &latest_top_up(&db, &owner).await, "10", "ＯＵＴ１"),
            now,
        )
        .await;
        assert!(reference_error(&refund).contains("“OUT1”"), "{b}");
        assert_eq!(available(&db, &owner).await, Micros::units(50), "{b}");
        assert_eq!(
            account_top_up::Entity::find()
                .all(&db)
                .await
                .expect(b)
                .len(),
            1,
            "{b}: a refused reference wrote nothing"
        );
        // Accented letters of other scripts are references like any other.
        let greek =
            finance_service::credit(&db, &alice, credit_input(&owner, "5", "ΑΝΑΦΟΡΆ-3"), now)
                .await
                .expect(b);
        assert!(!greek.already_credited, "{b}");
    }
}

/// Credits written before the rule: two of one account whose references differ only in case
/// and spaces were both credited then. The migration keeps both (history is not rewritten),
/// gives the later one a key no reference can make, and from then on the transfer is credited.
#[tokio::test]
async fn the_migration_keys_old_credits_and_keeps_them() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        credit(&db, &owner, Micros::units(100), "TX-123", now)
            .await
            .expect(b);
        credit(&db, &owner, Micros::units(7), "OTHER-1", now)
            .await
            .expect(b);
        let transfer = account_top_up::Entity::find()
            .order_by_asc(account_top_up::Column::Id)
            .all(&db)
            .await
            .expect(b)[1]
            .transfer_id;

        // Back to before the rule, and a second credit of the same id typed otherwise, as the
        // old rule allowed (its own transfer or not: the old table did not care).
        Migrator::down_through(&db, "m20261210_000018_reference_keys")
            .await
            .expect(b);
        let backend = db.get_database_backend();
        let insert = |table: &str, columns: &str, values: &str| {
            Statement::from_string(
                backend,
                format!("INSERT INTO {table} ({columns}) VALUES ({values})"),
            )
        };
        db.execute_raw(insert(
            "account_top_up",
            "account_id, amount, currency, external_reference, note, transfer_id, created_by, \
             created_at",
            &format!(
                "{}, 7000000, 'EUR', 'tx 123', '', {transfer}, {}, CURRENT_TIMESTAMP",
                account(&owner).0,
                owner.user_id.0
            ),
        ))
        .await
        .expect(b);
        db.execute_raw(insert(
            "finance_request",
            "kind, account_id, amount, currency, external_reference, note, status, \
             requested_by, requested_at, reason",
            &format!(
                "'top_up', {}, 7000000, 'EUR', 'tx 123', '', 'done', {}, CURRENT_TIMESTAMP, ''",
                account(&owner).0,
                owner.user_id.0
            ),
        ))
        .await
        .expect(b);
        Migrator::up(&db, None).await.expect(b);

        let top_ups = account_top_up::Entity::find()
            .order_by_asc(account_top_up::Column::Id)
            .all(&db)
            .await
            .expect(b);
        let keys: Vec<&str> = top_ups.iter().map(|t| t.reference_key.as_str()).collect();
        let late = top_ups[2].id;
        assert_eq!(
            keys,
            ["TX123", "OTHER1", format!("TX123#{late}").as_str()],
            "{b}"
        );
        assert_eq!(top_ups[2].external_reference, "tx 123", "{b}");
        // A row written without its key is refused: it would escape the comparison.
        let keyless = db
            .execute_raw(insert(
                "account_top_up",
                "account_id, amount, currency, external_reference, note, transfer_id, \
                 created_by, created_at",
                &format!(
                    "{}, 1000000, 'EUR', 'NEW-1', '', {transfer}, {}, CURRENT_TIMESTAMP",
                    account(&owner).0,
                    owner.user_id.0
                ),
            ))
            .await;
        assert!(keyless.is_err(), "{b}: a top-up without its key");
        // The table is append-only again.
        let changed = db
            .execute_raw(Statement::from_string(
                backend,
                "UPDATE account_top_up SET note = 'x'".to_owned(),
            ))
            .await;
        assert!(changed.is_err(), "{b}: the append-only guard is back");
        // From now on the id is credited: the same amount answers "already credited".
        let again = credit(&db, &owner, Micros::units(100), "Tx.123", now)
            .await
            .expect(b);
        assert!(again.already_credited, "{b}");
        let requests = finance_request::Entity::find()
            .filter(finance_request::Column::AccountId.eq(account(&owner).0))
            .order_by_asc(finance_request::Column::Id)
            .all(&db)
            .await
            .expect(b);
        let request_keys: Vec<String> = requests.iter().map(|r| r.reference_key.clone()).collect();
        assert_eq!(
            request_keys,
            [
                "TX123".to_owned(),
                "OTHER1".to_owned(),
                format!("TX123#{}", requests[2].id)
            ],
            "{b}"
        );
    }
}
