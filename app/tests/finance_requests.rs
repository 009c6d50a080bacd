//! The two-person rule for large top-ups and refunds, on SQLite and PostgreSQL: above the
//! threshold nothing moves until a different finance user approves; the requester can never
//! approve or reject their own request (not through the service, not with a second session,
//! not by writing the row — the database refuses); of an approval and a rejection at once
//! exactly one happens; refunds never take more than is available, held money included, nor
//! more than is left of the top-up they return.

mod delivery_support;

use app::{
    entity::finance_request,
    error::AppError,
    model::{DecideRequestInput, FinanceRequestStatus, Micros, PlatformRole},
    service::{
        Actor,
        finance::{self, requests},
        ledger,
    },
};
use chrono::Utc;
use delivery_support::*;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};

/// `who` credits `owner`'s account through finance's service.
async fn credit_as(
    db: &DatabaseConnection,
    who: &Actor,
    owner: &Actor,
    amount: &str,
    reference: &str,
    now: chrono::DateTime<Utc>,
) -> Result<app::model::CreditResult, AppError> {
    finance::credit(db, who, credit_input(owner, amount, reference), now).await
}

fn decision(request: i64, approve: bool, reason: &str) -> DecideRequestInput {
    DecideRequestInput {
        request,
        approve,
        reason: reason.into(),
    }
}

#[tokio::test]
async fn a_large_credit_waits_for_a_second_person() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        set_setting(&db, "finance_approval_units", 10_000).await;
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let alice = finance_user(&db, "alice@finance.example").await;
        let bob = finance_user(&db, "bob@finance.example").await;

        // At the threshold: credited at once, and recorded as done with nobody deciding.
        let small = finance::credit(&db, &alice, credit_input(&owner, "10000", "W-1"), now)
            .await
            .expect(b);
        assert_eq!(small.pending_request, None, "{b}");
        assert_eq!(available(&db, &owner).await, Micros::units(10_000), "{b}");

        // Above it: a request, nothing credited; the same reference again is the same request.
        let large = finance::credit(&db, &alice, credit_input(&owner, "25000", "W-2"), now)
            .await
            .expect(b);
        let id = large.pending_request.expect("pending");
        let again = finance::credit(&db, &alice, credit_input(&owner, "25000", "W-2"), now)
            .await
            .expect(b);
        assert_eq!(again.pending_request, Some(id), "{b}");
        let other_amount =
            finance::credit(&db, &alice, credit_input(&owner, "26000", "W-2"), now).await;
        assert!(
            matches!(&other_amount, Err(AppError::Invalid(f)) if f.get("reference").is_some()),
            "{b}: {other_amount:?}"
        );
        assert_eq!(available(&db, &owner).await, Micros::units(10_000), "{b}");

        // Alice cannot approve or reject her own request, in this session or another.
        let mut alice_again = actor(&db, alice.user_id.0).await;
        alice_again.staff_roles.push(PlatformRole::Finance);
        for who in [&alice, &alice_again] {
            for approve in [true, false] {
                let own = requests::decide(&db, who, decision(id, approve, "no"), now).await;
                assert!(matches!(own, Err(AppError::Conflict(_))), "{b}: {own:?}");
            }
        }
        // Nor by writing the row: the database refuses a decider who is the requester.
        let row = finance_request::Entity::find_by_id(id)
            .one(&db)
            .await
            .expect(b)
            .expect("row");
        let mut forged: finance_request::ActiveModel = row.into();
        forged.status = Set("done".into());
        forged.decided_by = Set(Some(alice.user_id.0));
        assert!(
            forged.update(&db).await.is_err(),
            "{b}: self-approval written"
        );

        // An advertiser, or a finance user rejecting without a reason, gets nowhere.
        let outsider = requests::decide(&db, &owner, decision(id, true, ""), now).await;
        assert!(
            matches!(outsider, Err(AppError::Forbidden)),
            "{b}: {outsider:?}"
        );
        let no_reason = requests::decide(&db, &bob, decision(id, false, " "), now).await;
        assert!(
            matches!(&no_reason, Err(AppError::Invalid(f)) if f.get("reason").is_some()),
            "{b}: {no_reason:?}"
        );

        // Bob approves: credited now, once; a second approval is refused.
        let done = requests::decide(&db, &bob, decision(id, true, ""), now)
            .await
            .expect(b);
        assert_eq!(done.status, FinanceRequestStatus::Done, "{b}");
        assert_eq!(available(&db, &owner).await, Micros::units(35_000), "{b}");
        let twice = requests::decide(&db, &bob, decision(id, true, ""), now).await;
        assert!(
            matches!(twice, Err(AppError::Conflict(_))),
            "{b}: {twice:?}"
        );
        assert_eq!(available(&db, &owner).await, Micros::units(35_000), "{b}");
        // The reference is now credited: sent again it is "already credited".
        let replay = finance::credit(&db, &alice, credit_input(&owner, "25000", "W-2"), now)
            .await
            .expect(b);
        assert!(replay.already_credited, "{b}");
        assert_eq!(replay.pending_request, None, "{b}");

        // A reference credited directly (as before requests existed: a top-up, no request)
        // is "already credited" when a large credit names it again.
        credit(&db, &owner, Micros::units(30_000), "W-OLD", now)
            .await
            .expect(b);
        finance_request::Entity::delete_many()
            .filter(finance_request::Column::ExternalReference.eq("W-OLD"))
            .exec(&db)
            .await
            .expect(b);
        let old = finance::credit(&db, &alice, credit_input(&owner, "30000", "W-OLD"), now)
            .await
            .expect(b);
        assert!(old.already_credited && old.pending_request.is_none(), "{b}");
        assert_eq!(available(&db, &owner).await, Micros::units(65_000), "{b}");

        // A request cancelled by its requester frees its reference; Bob cannot cancel Alice's.
        let third = finance::credit(&db, &alice, credit_input(&owner, "20000", "W-3"), now)
            .await
            .expect(b)
            .pending_request
            .expect("pending");
        let not_his = requests::cancel(&db, &bob, third, now).await;
        assert!(matches!(not_his, Err(AppError::Conflict(_))), "{b}");
        let cancelled = requests::cancel(&db, &alice, third, now).await.expect(b);
        assert_eq!(cancelled.status, FinanceRequestStatus::Cancelled, "{b}");
        let reused = finance::credit(&db, &alice, credit_input(&owner, "20000", "W-3"), now)
            .await
            .expect(b);
        assert!(reused.pending_request.is_some_and(|r| r != third), "{b}");

        let books = ledger::check(&db).await.expect(b);
        assert!(books.problems.is_empty(), "{b}: {:?}", books.problems);
        let list = requests::list(&db, &bob).await.expect(b);
        assert_eq!(list.pending.len(), 1, "{b}");
        assert_eq!(list.pending_total, 1, "{b}");
        assert!(!list.pending[0].mine, "{b}");
        assert!(list.recent.len() >= 3, "{b}");
    }
}

/// The waiting list stops at the oldest 500 and says how many wait in all.
#[tokio::test]
async fn a_full_waiting_list_shows_the_oldest_and_counts_them_all() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        set_setting(&db, "finance_approval_units", 0).await;
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let alice = finance_user(&db, "alice@finance.example").await;
        let bob = finance_user(&db, "bob@finance.example").await;
        let listed = requests::PENDING_LISTED;
        for n in 0..=listed {
            let credited = credit_as(&db, &alice, &owner, "1", &format!("FULL-{n}"), now)
                .await
                .expect(b);
            assert!(credited.pending_request.is_some(), "{b}: waits");
        }
        let list = requests::list(&db, &bob).await.expect(b);
        assert_eq!(list.pending.len() as u64, listed, "{b}");
        assert_eq!(list.pending_total, listed + 1, "{b}");
        assert_eq!(list.pending[0].reference, "FULL-0", "{b}: the oldest first");
        assert!(
            list.pending
                .iter()
                .all(|r| r.reference != format!("FULL-{listed}")),
            "{b}: the newest is the one left out"
        );
    }
}

#[tokio::test]
async fn an_approval_and_a_rejection_at_once_have_one_outcome() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        set_setting(&db, "finance_approval_units", 100).await;
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let alice = finance_user(&db, "alice@finance.example").await;
        let bob = finance_user(&db, "bob@finance.example").await;
        let carol = finance_user(&db, "carol@finance.example").await;
        for round in 0..6 {
            let id = finance::credit(
                &db,
                &alice,
                credit_input(&owner, "500", &format!("RACE-{round}")),
                now,
            )
            .await
            .expect(b)
            .pending_request
            .expect("pending");
            let (approved, rejected) = tokio::join!(
                requests::decide(&db, &bob, decision(id, true, ""), now),
                requests::decide(&db, &carol, decision(id, false, "duplicate wire"), now),
            );
            assert!(
                approved.is_ok() != rejected.is_ok(),
                "{b}: round {round}: {approved:?} / {rejected:?}"
            );
        }
        let credited = available(&db, &owner).await;
        assert_eq!(credited.0 % Micros::units(500).0, 0, "{b}");
        let books = ledger::check(&db).await.expect(b);
        assert!(books.problems.is_empty(), "{b}: {:?}", books.problems);
    }
}

#[tokio::test]
async fn refunds_never_take_more_than_their_top_up() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        set_setting(&db, "finance_approval_units", 1_000).await;
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let alice = finance_user(&db, "alice@finance.example").await;
        let bob = finance_user(&db, "bob@finance.example").await;
        credit(&db, &owner, Micros::units(2_800), "W-1", now)
            .await
            .expect(b);
        let w1 = top_up_of(&db, &owner, "W-1").await;
        let refund = |amount: &str, reference: &str| refund_input(&owner, &w1, amount, reference);
        // Small: at once, and idempotent on its reference.
        let r = requests::refund(&db, &alice, refund("400", "OUT-1"), now)
            .await
            .expect(b);
        assert_eq!(r.status, FinanceRequestStatus::Done, "{b}");
        assert_eq!(r.available, Micros::units(2_400), "{b}");
        let again = requests::refund(&db, &alice, refund("400", "OUT-1"), now)
            .await
            .expect(b);
        assert!(again.repeated, "{b}");
        assert_eq!(available(&db, &owner).await, Micros::units(2_400), "{b}");
        // More than is left of the top-up: refused beside the amount, naming what is left.
        let too_much = requests::refund(&db, &alice, refund("2400.01", "OUT-2"), now).await;
        assert!(
            matches!(&too_much, Err(AppError::Invalid(f))
                if f.get("amount").is_some_and(|m| m.contains("€2,400.00") && m.contains("W-1"))),
            "{b}: {too_much:?}"
        );
        // Large: waits, and what it asks for is no longer left to refund while it waits.
        let waiting = requests::refund(&db, &alice, refund("2000", "OUT-3"), now)
            .await
            .expect(b);
        assert_eq!(waiting.status, FinanceRequestStatus::Pending, "{b}");
        let over_waiting = requests::refund(&db, &bob, refund("401", "OUT-4"), now).await;
        assert!(
            matches!(&over_waiting, Err(AppError::Invalid(f)) if f.get("amount").is_some()),
            "{b}: {over_waiting:?}"
        );
        // Bob refunds the last 400 at once: with Alice's 400, what was refunded alone today is
        // at the threshold, not past it.
        let at_once = requests::refund(&db, &bob, refund("400", "OUT-4"), now)
            .await
            .expect(b);
        assert_eq!(at_once.status, FinanceRequestStatus::Done, "{b}");
        let spent = requests::refund(&db, &bob, refund("0.01", "OUT-5"), now).await;
        assert!(
            matches!(&spent, Err(AppError::Invalid(f))
                if f.get("top_up").is_some_and(|m| m.contains("in full"))),
            "{b}: {spent:?}"
        );
        // Money of a later transfer is not refunded against this one.
        credit(&db, &owner, Micros::units(1_000), "W-2", now)
            .await
            .expect(b);
        let later = requests::refund(&db, &bob, refund("100", "OUT-6"), now).await;
        assert!(
            matches!(&later, Err(AppError::Invalid(f)) if f.get("top_up").is_some()),
            "{b}: {later:?}"
        );
        // Rejected, the waiting refund gives its part of the top-up back.
        let list = requests::list(&db, &bob).await.expect(b);
        assert_eq!(list.pending.len(), 1, "{b}");
        assert_eq!(
            list.pending[0].top_up_reference.as_deref(),
            Some("W-1"),
            "{b}"
        );
        requests::decide(
            &db,
            &bob,
            decision(waiting.request, false, "Wrong amount"),
            now,
        )
        .await
        .expect(b);
        let again = requests::refund(&db, &bob, refund("1500", "OUT-7"), now)
            .await
            .expect(b);
        assert_eq!(again.status, FinanceRequestStatus::Pending, "{b}");
        let done = requests::decide(&db, &alice, decision(again.request, true, ""), now)
            .await
            .expect(b);
        assert_eq!(done.status, FinanceRequestStatus::Done, "{b}");
        assert_eq!(available(&db, &owner).await, Micros::units(1_500), "{b}");
        // The account's statement names the top-up each refund returns.
        let month = now.format("%Y-%m").to_string();
        let statement = finance::statement::statement(&db, &owner, None, &month, now)
            .await
            .expect(b);
        let refunds: Vec<&str> = statement
            .refunds
            .lines
            .iter()
            .map(|l| l.about.as_str())
            .collect();
        assert!(
            refunds.contains(&"Reference OUT-1 (returns top-up W-1)"),
            "{b}: {refunds:?}"
        );
        // The refund form offers both top-ups, newest first, with what is left of each.
        let accounts = finance::accounts(&db, &bob, "", "name", 0).await.expect(b);
        let row = accounts.rows.iter().find(|r| r.id == account(&owner));
        let offered: Vec<(String, Micros, Micros)> = row
            .expect("the owner's account")
            .refundable
            .iter()
            .map(|t| (t.reference.clone(), t.amount, t.left))
            .collect();
        assert_eq!(
            offered,
            [
                ("W-2".to_owned(), Micros::units(1_000), Micros::units(1_000)),
                ("W-1".to_owned(), Micros::units(2_800), Micros::units(500)),
            ],
            "{b}"
        );
        let books = ledger::check(&db).await.expect(b);
        assert!(books.problems.is_empty(), "{b}: {:?}", books.problems);
    }
}

/// The refund form offers an account's latest [`app::model::REFUNDABLE_SHOWN`] top-ups with
/// money left, newest first; one refunded in full is not offered.
#[tokio::test]
async fn the_refund_form_offers_the_latest_top_ups_with_money_left() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let alice = finance_user(&db, "alice@finance.example").await;
        let shown = app::model::REFUNDABLE_SHOWN;
        for i in 0..=shown {
            credit(&db, &owner, Micros::units(10), &format!("T-{i}"), now)
                .await
                .expect(b);
        }
        // The newest refunded in full: the twenty before it are offered.
        let newest = top_up_of(&db, &owner, &format!("T-{shown}")).await;
        requests::refund(
            &db,
            &alice,
            refund_input(&owner, &newest, "10", "OUT-1"),
            now,
        )
        .await
        .expect(b);
        let accounts = finance::accounts(&db, &alice, "", "name", 0)
            .await
            .expect(b);
        let row = accounts.rows.iter().find(|r| r.id == account(&owner));
        let offered: Vec<String> = row
            .expect("the owner's account")
            .refundable
            .iter()
            .map(|t| t.reference.clone())
            .collect();
        let expected: Vec<String> = (0..shown).rev().map(|i| format!("T-{i}")).collect();
        assert_eq!(offered, expected, "{b}");
    }
}

/// A refund names one of its own account's top-ups: none, an unknown one or another
/// account's is refused beside the field, and the database refuses such a row (or one past
/// what is left of its top-up) however it is written.
#[tokio::test]
async fn a_refund_returns_a_top_up_of_its_own_account() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let other = advertiser(&db, "other@example.com", "UTC").await;
        let alice = finance_user(&db, "alice@finance.example").await;
        credit(&db, &owner, Micros::units(100), "W-1", now)
            .await
            .expect(b);
        credit(&db, &other, Micros::units(100), "W-9", now)
            .await
            .expect(b);
        let theirs = top_up_of(&db, &other, "W-9").await;
        for (top_up, field) in [("", "top_up"), ("x", "top_up"), ("999999", "top_up")] {
            let refused = requests::refund(
                &db,
                &alice,
                refund_input(&owner, top_up, "10", "OUT-1"),
                now,
            )
            .await;
            assert!(
                matches!(&refused, Err(AppError::Invalid(f)) if f.get(field).is_some()),
                "{b}: {top_up:?}: {refused:?}"
            );
        }
        let refused = requests::refund(
            &db,
            &alice,
            refund_input(&owner, &theirs, "10", "OUT-1"),
            now,
        )
        .await;
        assert!(
            matches!(&refused, Err(AppError::Invalid(f))
                if f.get("top_up").is_some_and(|m| m.contains("this account's"))),
            "{b}: {refused:?}"
        );
        assert_eq!(available(&db, &owner).await, Micros::units(100), "{b}");
        assert_eq!(available(&db, &other).await, Micros::units(100), "{b}");

        // Written straight to the table, past the service.
        let mine: i64 = top_up_of(&db, &owner, "W-1").await.parse().expect("id");
        let row =
            |top_up: Option<i64>, amount: i64, reference: &str| finance_request::ActiveModel {
                kind: Set("refund".into()),
                account_id: Set(account(&owner).0),
                amount: Set(amount),
                currency: Set("EUR".into()),
                external_reference: Set(reference.into()),
                reference_key: Set(reference.into()),
                note: Set("forged".into()),
                status: Set("pending".into()),
                requested_by: Set(alice.user_id.0),
                requested_at: Set(now),
                top_up_id: Set(top_up),
                ..Default::default()
            };
        for (top_up, amount, what) in [
            (None, 1, "no top-up"),
            (
                Some(theirs.parse().expect("id")),
                1,
                "another account's top-up",
            ),
            (Some(mine), Micros::units(100).0 + 1, "more than the top-up"),
        ] {
            assert!(
                row(top_up, amount, "FORGED").insert(&db).await.is_err(),
                "{b}: a refund of {what} was written"
            );
        }
        let written = row(Some(mine), Micros::units(60).0, "FORGED1")
            .insert(&db)
            .await
            .expect(b);
        assert!(
            row(Some(mine), Micros::units(41).0, "FORGED2")
                .insert(&db)
                .await
                .is_err(),
            "{b}: two refunds past their top-up"
        );
        let mut moved: finance_request::ActiveModel = written.into();
        moved.top_up_id = Set(Some(theirs.parse().expect("id")));
        assert!(
            moved.update(&db).await.is_err(),
            "{b}: a refund's top-up changed"
        );
    }
}

/// Credits and refunds each below the threshold but together past it within a day — to one
/// account by anyone, or by one person to any accounts: the one that would take what was moved
/// alone past the threshold waits for a second person (so no one moves a large sum alone in
/// small parts); approved amounts do not count, and parts sent at once cannot both slip under
/// it.
#[tokio::test]
async fn small_parts_of_a_large_sum_wait_for_a_second_person() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        set_setting(&db, "finance_approval_units", 1_000).await;
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let alice = finance_user(&db, "alice@finance.example").await;
        let bob = finance_user(&db, "bob@finance.example").await;
        assert_eq!(
            credit_as(&db, &alice, &owner, "600", "P-1", now)
                .await
                .expect(b)
                .pending_request,
            None
        );
        // 600 + 500 is past 1,000, whoever asks.
        let second = credit_as(&db, &bob, &owner, "500", "P-2", now)
            .await
            .expect(b);
        let waiting = second.pending_request.expect("the second part waits");
        assert_eq!(available(&db, &owner).await, Micros::units(600), "{b}");
        // Its replay answers the same request; 400 more still fits.
        let replay = credit_as(&db, &bob, &owner, "500", "P-2", now)
            .await
            .expect(b);
        assert_eq!(replay.pending_request, Some(waiting), "{b}");
        assert_eq!(
            credit_as(&db, &bob, &owner, "400", "P-3", now)
                .await
                .expect(b)
                .pending_request,
            None
        );
        // Approved by a second person, it does not count as moved alone; yet the day's
        // 1,000 alone is used up: a single unit more waits.
        requests::decide(&db, &alice, decision(waiting, true, ""), now)
            .await
            .expect(b);
        assert_eq!(available(&db, &owner).await, Micros::units(1_500), "{b}");
        assert!(
            credit_as(&db, &alice, &owner, "1", "P-4", now)
                .await
                .expect(b)
                .pending_request
                .is_some()
        );
        // A day later the window has moved on.
        let tomorrow =
            now + chrono::Duration::hours(requests::ALONE_HOURS) + chrono::Duration::seconds(1);
        let later = finance::credit(&db, &alice, credit_input(&owner, "900", "P-5"), tomorrow)
            .await
            .expect(b);
        assert_eq!(later.pending_request, None, "{b}");

        // Refunds count on their own: 700 at once, then 400 waits.
        let (p5, p2) = (
            top_up_of(&db, &owner, "P-5").await,
            top_up_of(&db, &owner, "P-2").await,
        );
        let first = requests::refund(
            &db,
            &alice,
            refund_input(&owner, &p5, "700", "R-1"),
            tomorrow,
        )
        .await
        .expect(b);
        assert_eq!(first.status, FinanceRequestStatus::Done, "{b}");
        let second = requests::refund(&db, &bob, refund_input(&owner, &p2, "400", "R-2"), tomorrow)
            .await
            .expect(b);
        assert_eq!(second.status, FinanceRequestStatus::Pending, "{b}");

        // Two parts at once (a fresh account, two people who moved nothing alone): exactly
        // one goes through alone.
        let other = advertiser(&db, "other@example.com", "UTC").await;
        let carol = finance_user(&db, "carol@finance.example").await;
        let dave = finance_user(&db, "dave@finance.example").await;
        let (one, two) = tokio::join!(
            credit_as(&db, &carol, &other, "700", "Q-1", now),
            credit_as(&db, &dave, &other, "700", "Q-2", now),
        );
        let pending = [one.expect(b), two.expect(b)]
            .iter()
            .filter(|r| r.pending_request.is_some())
            .count();
        assert_eq!(pending, 1, "{b}: one of the two parts waits");
        assert_eq!(available(&db, &other).await, Micros::units(700), "{b}");

        // One person spreading a large sum over many accounts: what they credited alone to
        // any account counts too. Erin credits 600 to one account; 500 to another, which has
        // had nothing, waits.
        let erin = finance_user(&db, "erin@finance.example").await;
        let third = advertiser(&db, "third@example.com", "UTC").await;
        let fourth = advertiser(&db, "fourth@example.com", "UTC").await;
        let alone = |r: &app::model::CreditResult| r.pending_request.is_none();
        assert!(alone(
            &credit_as(&db, &erin, &third, "600", "S-1", now)
                .await
                .expect(b)
        ));
        assert!(
            !alone(
                &credit_as(&db, &erin, &fourth, "500", "S-2", now)
                    .await
                    .expect(b)
            ),
            "{b}: past the threshold over two accounts"
        );
        // Refunds too: Erin refunds 600 of her credit, then 401 of a credit Frank made to
        // another account waits, though nothing was refunded from that one.
        let frank = finance_user(&db, "frank@finance.example").await;
        assert!(alone(
            &credit_as(&db, &frank, &fourth, "900", "S-3", now)
                .await
                .expect(b)
        ));
        let (s1, s3) = (
            top_up_of(&db, &third, "S-1").await,
            top_up_of(&db, &fourth, "S-3").await,
        );
        let refunded = requests::refund(&db, &erin, refund_input(&third, &s1, "600", "RE-1"), now)
            .await
            .expect(b);
        assert_eq!(refunded.status, FinanceRequestStatus::Done, "{b}");
        let waits = requests::refund(&db, &erin, refund_input(&fourth, &s3, "401", "RE-2"), now)
            .await
            .expect(b);
        assert_eq!(waits.status, FinanceRequestStatus::Pending, "{b}");
        // One person's two parts at once, to two fresh accounts: exactly one goes alone.
        let grace = finance_user(&db, "grace@finance.example").await;
        let fifth = advertiser(&db, "fifth@example.com", "UTC").await;
        let sixth = advertiser(&db, "sixth@example.com", "UTC").await;
        let (one, two) = tokio::join!(
            credit_as(&db, &grace, &fifth, "700", "G-1", now),
            credit_as(&db, &grace, &sixth, "700", "G-2", now),
        );
        let pending = [one.expect(b), two.expect(b)]
            .iter()
            .filter(|r| !alone(r))
            .count();
        assert_eq!(pending, 1, "{b}: one person's parts to two accounts");
        // And one person's two refunds at once from two accounts (each credited by someone
        // else): exactly one goes alone.
        let (seventh, eighth) = (
            advertiser(&db, "seventh@example.com", "UTC").await,
            advertiser(&db, "eighth@example.com", "UTC").await,
        );
        let (ivan, judy, henry) = (
            finance_user(&db, "ivan@finance.example").await,
            finance_user(&db, "judy@finance.example").await,
            finance_user(&db, "henry@finance.example").await,
        );
        assert!(alone(
            &credit_as(&db, &ivan, &seventh, "900", "H-1", now)
                .await
                .expect(b)
        ));
        assert!(alone(
            &credit_as(&db, &judy, &eighth, "900", "H-2", now)
                .await
                .expect(b)
        ));
        let (h1, h2) = (
            top_up_of(&db, &seventh, "H-1").await,
            top_up_of(&db, &eighth, "H-2").await,
        );
        let (one, two) = tokio::join!(
            requests::refund(&db, &henry, refund_input(&seventh, &h1, "700", "HR-1"), now),
            requests::refund(&db, &henry, refund_input(&eighth, &h2, "700", "HR-2"), now),
        );
        let statuses = [one.expect(b).status, two.expect(b).status];
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == FinanceRequestStatus::Pending)
                .count(),
            1,
            "{b}: one person's refunds from two accounts: {statuses:?}"
        );
        let books = ledger::check(&db).await.expect(b);
        assert!(books.problems.is_empty(), "{b}: {:?}", books.problems);
    }
}

/// An amount typed with a currency sign or code: its own currency's is read as the number,
/// another currency's is refused beside the amount and moves nothing ("$100" on a EUR account
/// was once credited as €100).
#[tokio::test]
async fn an_amount_in_another_currency_moves_nothing() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let alice = finance_user(&db, "alice@finance.example").await;
        for (amount, reference) in [("$100", "W-USD"), ("100 GBP", "W-GBP")] {
            let refused =
                finance::credit(&db, &alice, credit_input(&owner, amount, reference), now).await;
            assert!(
                matches!(&refused, Err(AppError::Invalid(f))
                    if f.get("amount").is_some_and(|m| m.contains("EUR"))),
                "{b}: {amount}: {refused:?}"
            );
        }
        assert_eq!(available(&db, &owner).await, Micros::ZERO, "{b}");
        finance::credit(&db, &alice, credit_input(&owner, "€100", "W-EUR"), now)
            .await
            .expect(b);
        finance::credit(
            &db,
            &alice,
            credit_input(&owner, "50.5 eur", "W-EUR-2"),
            now,
        )
        .await
        .expect(b);
        assert_eq!(available(&db, &owner).await, Micros(150_500_000), "{b}");
        let w_eur = top_up_of(&db, &owner, "W-EUR").await;
        let refund = |amount: &str| refund_input(&owner, &w_eur, amount, "OUT-1");
        let refused = requests::refund(&db, &alice, refund("$10"), now).await;
        assert!(
            matches!(&refused, Err(AppError::Invalid(f)) if f.get("amount").is_some()),
            "{b}: {refused:?}"
        );
        requests::refund(&db, &alice, refund("€10"), now)
            .await
            .expect(b);
        assert_eq!(available(&db, &owner).await, Micros(140_500_000), "{b}");
    }
}

/// Refunds of everything available race decisions holding money for slots: each refund takes
/// at most what is available at its moment, nothing ever goes below zero, and the books
/// balance.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refunds_racing_holds_never_overdraw() {
    use app::service::delivery::{self, DeliveryEngine};
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        set_setting(&db, "finance_approval_units", 1_000_000).await;
        set_setting(&db, "min_total_budget_micros", Micros::units(1).0).await;
        set_setting(&db, "min_cpm_micros", Micros::units(1).0).await;
        set_setting(&db, "ad_slots_per_day", 24).await;
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let alice = finance_user(&db, "alice@finance.example").await;
        for i in 0..4 {
            channel(&db, &format!("ch{i}"), 1_000, "en").await;
        }
        let form = campaign_form("Race", Micros::units(1), Micros::units(50), None);
        running_campaign(&db, &owner, form, now).await;
        credit(&db, &owner, Micros::units(20), "W-1", now)
            .await
            .expect(b);
        let key = network_key(&db, now).await;
        let engine = DeliveryEngine::default();
        // One refund before the race, so the books below always include one.
        let w1 = top_up_of(&db, &owner, "W-1").await;
        let first = refund_input(&owner, &w1, "5", "OUT-first");
        let mut refunded = requests::refund(&db, &alice, first, now)
            .await
            .expect(b)
            .amount;
        let deciding = {
            let (db, engine) = (db.clone(), engine.clone());
            tokio::spawn(async move {
                for j in 0..40 {
                    let _ = delivery::decide(
                        &db,
                        &engine,
                        key,
                        &format!("ch{}", j % 4),
                        &format!("slot-{j}"),
                        Utc::now(),
                    )
                    .await;
                }
            })
        };
        for r in 0..20 {
            let left = available(&db, &owner).await;
            if left.0 <= 0 {
                break;
            }
            // Ask for all of it: a hold may take some first, and then the refund is refused.
            let input = refund_input(&owner, &w1, &left.to_decimal(), &format!("OUT-{r}"));
            match requests::refund(&db, &alice, input, Utc::now()).await {
                Ok(done) => refunded = Micros(refunded.0 + done.amount.0),
                Err(AppError::Invalid(f)) if f.get("amount").is_some() => {}
                Err(e) => panic!("{b}: refund {r}: {e:?}"),
            }
        }
        deciding.await.expect("decisions");
        let books = ledger::check(&db).await.expect(b);
        assert!(books.problems.is_empty(), "{b}: {:?}", books.problems);
        let summary = ledger::balance::summary(&db, account(&owner))
            .await
            .expect(b);
        assert!(summary.available.0 >= 0, "{b}");
        assert_eq!(
            summary.available.0 + summary.held.0 + summary.spent.0 + refunded.0,
            Micros::units(20).0,
            "{b}: credited = available + held + spent + refunded"
        );
    }
}

/// Two finance users refund one top-up at once, each for more than half of it: exactly one
/// refund is made, the other is refused beside the amount (the account's balance lock orders
/// them; the database's trigger would refuse the second row too).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refunds_of_one_top_up_at_once_never_exceed_it() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let alice = finance_user(&db, "alice@finance.example").await;
        let bob = finance_user(&db, "bob@finance.example").await;
        credit(&db, &owner, Micros::units(100), "W-1", now)
            .await
            .expect(b);
        credit(&db, &owner, Micros::units(100), "W-2", now)
            .await
            .expect(b);
        let w1 = top_up_of(&db, &owner, "W-1").await;
        for round in 0..5 {
            let (one, two) = tokio::join!(
                requests::refund(
                    &db,
                    &alice,
                    refund_input(&owner, &w1, "12", &format!("A-{round}")),
                    now
                ),
                requests::refund(
                    &db,
                    &bob,
                    refund_input(&owner, &w1, "12", &format!("B-{round}")),
                    now
                ),
            );
            for r in [&one, &two] {
                assert!(
                    matches!(r, Ok(_) | Err(AppError::Invalid(_))),
                    "{b}: round {round}: {r:?}"
                );
            }
        }
        // 100 refunded in parts of 12: at most eight fit, whatever the order.
        let refunded: i64 = finance_request::Entity::find()
            .filter(finance_request::Column::Kind.eq("refund"))
            .all(&db)
            .await
            .expect(b)
            .iter()
            .map(|r| r.amount)
            .sum();
        assert_eq!(refunded, Micros::units(96).0, "{b}");
        assert_eq!(available(&db, &owner).await, Micros::units(104), "{b}");
        let books = ledger::check(&db).await.expect(b);
        assert!(books.problems.is_empty(), "{b}: {:?}", books.problems);
    }
}

/// Refunds made before refunds named their top-up are given one by the migration (the oldest
/// that covers each whole, else the one with the most left), so what they returned is not
/// offered again; a rejected one names none. A decided request's amount or status then never
/// changes.
#[tokio::test]
async fn the_migration_ties_old_refunds_to_their_top_ups() {
    use migrations::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Statement};
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let alice = finance_user(&db, "alice@finance.example").await;
        credit(&db, &owner, Micros::units(100), "W-1", now)
            .await
            .expect(b);
        credit(&db, &owner, Micros::units(50), "W-2", now)
            .await
            .expect(b);
        // Back to before the refund sources' migration (undoing it and every later one).
        Migrator::down_through(&db, "m20261211_000019_refund_sources")
            .await
            .expect(b);
        // As the old service wrote them (the rows only: this test reads no ledger).
        for (reference, units, status) in [
            ("OLD-1", 80, "done"),
            ("OLD-2", 60, "pending"),
            ("OLD-3", 10, "rejected"),
        ] {
            db.execute_raw(Statement::from_string(
                db.get_database_backend(),
                format!(
                    "INSERT INTO finance_request (kind, account_id, amount, currency, \
                     external_reference, reference_key, note, status, requested_by, \
                     requested_at, reason) VALUES ('refund', {}, {}, 'EUR', '{reference}', \
                     '{}', '', '{status}', {}, CURRENT_TIMESTAMP, '')",
                    account(&owner).0,
                    Micros::units(units).0,
                    reference.replace('-', ""),
                    alice.user_id.0
                ),
            ))
            .await
            .expect(b);
        }
        Migrator::up(&db, None).await.expect(b);

        let (w1, w2) = (
            top_up_of(&db, &owner, "W-1")
                .await
                .parse::<i64>()
                .expect("id"),
            top_up_of(&db, &owner, "W-2")
                .await
                .parse::<i64>()
                .expect("id"),
        );
        let sources: Vec<(String, Option<i64>)> = finance_request::Entity::find()
            .filter(finance_request::Column::Kind.eq("refund"))
            .order_by_asc(finance_request::Column::Id)
            .all(&db)
            .await
            .expect(b)
            .into_iter()
            .map(|r| (r.external_reference, r.top_up_id))
            .collect();
        // 80 fits W-1 (100); 60 fits neither whole (20 and 50 left): W-2, with the most left.
        assert_eq!(
            sources,
            [
                ("OLD-1".to_owned(), Some(w1)),
                ("OLD-2".to_owned(), Some(w2)),
                ("OLD-3".to_owned(), None),
            ],
            "{b}"
        );
        let accounts = finance::accounts(&db, &alice, "", "name", 0)
            .await
            .expect(b);
        let row = accounts.rows.iter().find(|r| r.id == account(&owner));
        let offered: Vec<(String, Micros)> = row
            .expect("the owner's account")
            .refundable
            .iter()
            .map(|t| (t.reference.clone(), t.left))
            .collect();
        assert_eq!(offered, [("W-1".to_owned(), Micros::units(20))], "{b}");

        // What a request moves, and a decision once made, never change.
        let done = finance_request::Entity::find()
            .filter(finance_request::Column::ExternalReference.eq("OLD-1"))
            .one(&db)
            .await
            .expect(b)
            .expect("row");
        for change in [
            "amount = amount + 1",
            "status = 'pending'",
            "account_id = account_id",
        ] {
            let changed = db
                .execute_raw(Statement::from_string(
                    db.get_database_backend(),
                    format!("UPDATE finance_request SET {change} WHERE id = {}", done.id),
                ))
                .await;
            if change == "account_id = account_id" {
                changed.expect(b);
            } else {
                assert!(changed.is_err(), "{b}: {change} was written");
            }
        }
    }
}

/// Nobody moves the money of an ad account they belong to — as nobody reviews its ads: a
/// finance person who is a member of an account may not credit it, refund from it, or decide
/// a request for it (not even as the second person); another finance person may.
#[tokio::test]
async fn finance_does_not_move_the_money_of_their_own_account() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        set_setting(&db, "finance_approval_units", 1_000).await;
        // `finance_user` signs up as everyone does: each owns an ad account of their own.
        let alice = finance_user(&db, "alice@finance.example").await;
        let bob = finance_user(&db, "bob@finance.example").await;
        fn own<T>(r: &Result<T, AppError>) -> bool {
            matches!(r, Err(AppError::Conflict(m)) if m.contains("member of the ad account"))
        }
        let credited = credit_as(&db, &alice, &alice, "100", "OWN-1", now).await;
        assert!(own(&credited), "{b}: {credited:?}");
        assert_eq!(available(&db, &alice).await, Micros::ZERO, "{b}");
        // Bob credits Alice's account: carried out, and a large one waits for a second person.
        credit_as(&db, &bob, &alice, "500", "OWN-2", now)
            .await
            .expect(b);
        let large = credit_as(&db, &bob, &alice, "2000", "OWN-3", now)
            .await
            .expect(b)
            .pending_request
            .expect("waits");
        // Alice may not approve it, nor reject it: the money is her account's (and her
        // dashboard does not count it as waiting for her).
        let glance = |who: &Actor| {
            let who = who.clone();
            let db = db.clone();
            async move {
                app::service::dashboard::dashboard(&db, &who, now)
                    .await
                    .expect("dashboard")
                    .finance
                    .expect("finance sees its glance")
                    .awaiting_you
            }
        };
        assert_eq!(glance(&alice).await, 0, "{b}");
        let carol_first = finance_user(&db, "carol@finance.example").await;
        assert_eq!(glance(&carol_first).await, 1, "{b}");
        let decided = requests::decide(&db, &alice, decision(large, true, ""), now).await;
        assert!(own(&decided), "{b}: {decided:?}");
        let rejected = requests::decide(&db, &alice, decision(large, false, "No"), now).await;
        assert!(own(&rejected), "{b}: {rejected:?}");
        assert_eq!(available(&db, &alice).await, Micros::units(500), "{b}");
        // Nor refund from it.
        let top_up = top_up_of(&db, &alice, "OWN-2").await;
        let refunded = requests::refund(
            &db,
            &alice,
            refund_input(&alice, &top_up, "100", "OWN-OUT"),
            now,
        )
        .await;
        assert!(own(&refunded), "{b}: {refunded:?}");
        assert_eq!(available(&db, &alice).await, Micros::units(500), "{b}");
        // A third finance person decides it.
        requests::decide(&db, &carol_first, decision(large, true, ""), now)
            .await
            .expect(b);
        assert_eq!(available(&db, &alice).await, Micros::units(2_500), "{b}");
        let books = ledger::check(&db).await.expect(b);
        assert!(books.problems.is_empty(), "{b}: {:?}", books.problems);
    }
}

/// A bank transfer is credited once: its reference credited to one account (or waiting for
/// a second person as a credit to one) is refused for any other, naming that account — else
/// one transfer could be credited to two accounts and money made out of nothing. Two credits
/// of one reference to two accounts at once: exactly one happens.
#[tokio::test]
async fn one_bank_transfer_is_credited_to_one_account() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        set_setting(&db, "finance_approval_units", 1_000).await;
        let alice = finance_user(&db, "alice@finance.example").await;
        let bob = finance_user(&db, "bob@finance.example").await;
        let first = advertiser(&db, "first@example.com", "UTC").await;
        let second = advertiser(&db, "second@example.com", "UTC").await;
        let elsewhere = |r: &Result<app::model::CreditResult, AppError>, who: &Actor| {
            let named = format!("ad account #{}", account(who).0);
            matches!(r, Err(AppError::Invalid(f))
                if f.get("reference").is_some_and(|m| m.contains(&named)))
        };
        credit_as(&db, &alice, &first, "100", "TX-1", now)
            .await
            .expect(b);
        // However it is typed.
        let again = credit_as(&db, &bob, &second, "100", "tx 1", now).await;
        assert!(elsewhere(&again, &first), "{b}: {again:?}");
        assert_eq!(available(&db, &second).await, Micros::ZERO, "{b}");
        // A large one waiting for approval holds its reference too; rejected, it frees it.
        let waiting = credit_as(&db, &alice, &first, "5000", "TX-2", now)
            .await
            .expect(b)
            .pending_request
            .expect("waits");
        let again = credit_as(&db, &bob, &second, "50", "TX-2", now).await;
        assert!(elsewhere(&again, &first), "{b}: {again:?}");
        let large = credit_as(&db, &bob, &second, "5000", "TX-2", now).await;
        assert!(elsewhere(&large, &first), "{b}: {large:?}");
        requests::decide(&db, &bob, decision(waiting, false, "Wrong account"), now)
            .await
            .expect(b);
        credit_as(&db, &bob, &second, "50", "TX-2", now)
            .await
            .expect(b);
        assert_eq!(available(&db, &second).await, Micros::units(50), "{b}");
        // At once, to two accounts: one credit.
        let (one, two) = tokio::join!(
            credit_as(&db, &alice, &first, "70", "TX-3", now),
            credit_as(&db, &bob, &second, "70", "TX-3", now),
        );
        assert_eq!(
            [one.is_ok(), two.is_ok()].iter().filter(|ok| **ok).count(),
            1,
            "{b}: {one:?} {two:?}"
        );
        let books = ledger::check(&db).await.expect(b);
        assert!(books.problems.is_empty(), "{b}: {:?}", books.problems);
    }
}
