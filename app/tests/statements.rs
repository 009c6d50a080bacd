//! Monthly statements on SQLite (and PostgreSQL when configured): for random histories of
//! top-ups, holds, posts, releases, refunds and corrections across months in several time
//! zones, every month's opening + movements = closing, each closing is the next opening and
//! what a model of the history says, and the last closing is available + held; months begin
//! at local midnight; who may read which account's statement.

mod delivery_support;

use app::{
    error::AppError,
    model::{AccountId, AccountRole, Micros, PlatformRole, TransferKind},
    service::{
        Actor,
        delivery::{self, Decided, DeliveryEngine, EventInput},
        finance::statement,
        ledger::{self, NewTransfer, Side},
    },
};
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use delivery_support::*;
use history::{Op, Step, ZONES, check_history, op, when};
use proptest::prelude::*;

#[path = "statements/history.rs"]
mod history;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(16),
        ..ProptestConfig::default()
    })]
    #[test]
    fn every_month_opening_plus_movements_is_its_closing(
        zone in 0usize..ZONES.len(),
        steps in prop::collection::vec((when(), op()), 1..40),
    ) {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let db = migrations::db::fresh_sqlite().await.expect("database");
            check_history(&db, ZONES[zone], &steps).await;
            // Each case's file closed, its money writer too (as `ledger_properties` does):
            // thousands of cases otherwise keep thousands of connections open.
            app::service::ledger::close_writer(&db).await;
            db.close().await.expect("close");
        });
    }
}

/// A fixed history with every kind of op on every database (PostgreSQL too when configured).
#[tokio::test]
async fn a_fixed_history_balances_on_every_database() {
    let steps: Vec<Step> = vec![
        ((0, 1, 0, 0), Op::TopUp(100_000_000)),
        (
            (0, 3, 9, 30),
            Op::Hold {
                campaign: 0,
                amount: 30_000_000,
            },
        ),
        (
            (0, 28, 23, 59),
            Op::Post {
                hold: 0,
                per_mille: 500,
            },
        ),
        (
            (1, 1, 0, 0),
            Op::Hold {
                campaign: 1,
                amount: 20_000_000,
            },
        ),
        (
            (1, 2, 12, 0),
            Op::Post {
                hold: 1,
                per_mille: 999,
            },
        ),
        ((1, 5, 8, 0), Op::Release { hold: 0 }),
        (
            (2, 10, 10, 30),
            Op::Reverse {
                hold: 0,
                per_mille: 1_000,
            },
        ),
        ((2, 11, 11, 0), Op::Refund { per_mille: 250 }),
        (
            (3, 28, 23, 59),
            Op::Post {
                hold: 1,
                per_mille: 1_000,
            },
        ),
    ];
    for zone in ["Europe/Berlin", "America/Los_Angeles"] {
        for (_, db) in migrations::db::fresh_all().await {
            check_history(&db, zone, &steps).await;
        }
    }
}

/// Who may read which statement; malformed and future months.
#[tokio::test]
async fn statements_are_for_billing_readers_and_finance() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let acc = account(&owner);
        credit(&db, &owner, Micros::units(50), "T-1", now)
            .await
            .expect(b);
        let read = |who: Actor, account| {
            let db = db.clone();
            async move { statement::statement(&db, &who, account, "", Utc::now()).await }
        };
        for role in [AccountRole::Billing, AccountRole::Manager] {
            let member =
                member_with_role(&db, &owner, &format!("{}@example.com", role.code()), role).await;
            let s = read(member.clone(), None).await.expect(b);
            assert_eq!(
                (s.account, s.closing),
                (acc, Micros::units(50)),
                "{b}: {role:?}"
            );
            // Naming one's own current account is the same statement.
            assert_eq!(read(member, Some(acc)).await.expect(b), s, "{b}: {role:?}");
        }
        let analyst =
            member_with_role(&db, &owner, "analyst@example.com", AccountRole::Analyst).await;
        let refused = read(analyst, None).await;
        assert!(
            matches!(refused, Err(AppError::Forbidden)),
            "{b}: {refused:?}"
        );
        let stranger = advertiser(&db, "stranger@example.com", "UTC").await;
        let foreign = read(stranger.clone(), Some(acc)).await;
        assert!(
            matches!(foreign, Err(AppError::NotFound)),
            "{b}: {foreign:?}"
        );
        assert_ne!(
            read(stranger.clone(), None).await.expect(b).account,
            acc,
            "{b}"
        );
        let mut moderator = stranger.clone();
        moderator.staff_roles.push(PlatformRole::Moderator);
        let moderated = read(moderator, Some(acc)).await;
        assert!(
            matches!(moderated, Err(AppError::NotFound)),
            "{b}: {moderated:?}"
        );
        for role in [PlatformRole::Finance, PlatformRole::Admin] {
            let mut staff = stranger.clone();
            staff.staff_roles.push(role);
            let s = read(staff.clone(), Some(acc)).await.expect(b);
            assert_eq!(
                (s.account, s.top_ups.lines.len()),
                (acc, 1),
                "{b}: {role:?}"
            );
            let unknown = read(staff, Some(AccountId(999_999))).await;
            assert!(
                matches!(unknown, Err(AppError::NotFound)),
                "{b}: {unknown:?}"
            );
        }
        let next = (now.date_naive().with_day(1).expect("day") + Months::new(1))
            .format("%Y-%m")
            .to_string();
        for month in ["2026-13", "november", "2026-1", next.as_str()] {
            let bad = statement::statement(&db, &owner, None, month, now).await;
            assert!(
                matches!(&bad, Err(AppError::Invalid(f)) if f.get("month").is_some()),
                "{b}: {month}: {bad:?}"
            );
        }
    }
}

/// The statement's month is the account's: a credit one second before local midnight on the
/// 1st is last month's, one at midnight this month's.
#[tokio::test]
async fn months_begin_at_local_midnight() {
    for (b, db) in migrations::db::fresh_all().await {
        let owner = advertiser(&db, "owner@example.com", "Europe/Berlin").await;
        // Berlin is UTC+1 in November: 1 November 00:00 there is 31 October 23:00 UTC.
        let midnight: DateTime<Utc> = "2025-10-31T23:00:00Z".parse().expect("instant");
        let before = midnight - chrono::Duration::seconds(1);
        credit(&db, &owner, Micros::units(5), "OCT", before)
            .await
            .expect(b);
        credit(&db, &owner, Micros::units(7), "NOV", midnight)
            .await
            .expect(b);
        let now = Utc::now();
        let october = statement::statement(&db, &owner, None, "2025-10", now)
            .await
            .expect(b);
        let november = statement::statement(&db, &owner, None, "2025-11", now)
            .await
            .expect(b);
        assert_eq!(november.from, midnight, "{b}");
        assert_eq!(october.to, midnight, "{b}");
        assert_eq!(october.time_zone, "Europe/Berlin", "{b}");
        assert_eq!(october.top_ups.lines[0].about, "Reference OCT", "{b}");
        assert_eq!(
            october.top_ups.lines[0].day,
            NaiveDate::from_ymd_opt(2025, 10, 31),
            "{b}"
        );
        assert_eq!(
            (october.opening, october.closing),
            (Micros(0), Micros::units(5)),
            "{b}"
        );
        assert_eq!(november.top_ups.lines[0].about, "Reference NOV", "{b}");
        assert_eq!(
            november.top_ups.lines[0].day,
            NaiveDate::from_ymd_opt(2025, 11, 1),
            "{b}"
        );
        assert_eq!(
            (november.opening, november.closing),
            (Micros::units(5), Micros::units(12)),
            "{b}"
        );
        let csv = statement::statement_csv(&november).expect(b);
        assert!(
            csv.contains("top_up,2025-11-01,Reference NOV,7.00,7000000,EUR"),
            "{b}: {csv}"
        );
        // October read just after its end: ended, but provisional for `ledger::SETTLE`
        // (money stamped before midnight may still be committing); final from then on.
        assert!(!october.in_progress && october.is_final, "{b}");
        for (after, is_final) in [(-1, false), (0, false), (299, false), (300, true)] {
            let read_at = midnight + chrono::Duration::seconds(after);
            let s = statement::statement(&db, &owner, None, "2025-10", read_at)
                .await
                .expect(b);
            assert_eq!(s.in_progress, after < 0, "{b} {after}");
            assert_eq!(s.is_final, is_final, "{b} {after}");
            assert_eq!(s.final_from, midnight + ledger::SETTLE, "{b}");
            let label = s.closing_label();
            assert_eq!(
                label.starts_with("Closing balance (provisional until 2025-10-31 23:05 UTC)"),
                after >= 0 && !is_final,
                "{b} {after}: {label}"
            );
        }
    }
}

/// A money write that has run past its deadline (its first attempt started more than
/// `ledger::WRITE_DEADLINE` ago) is rolled back at its commit, so no transfer is committed
/// long after its time stamp, when statements may already call its month final.
#[tokio::test]
async fn a_money_write_past_its_deadline_is_rolled_back() {
    for (b, db) in migrations::db::fresh_all().await {
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let now = Utc::now();
        let transfer = |key: &str| top_up_transfer(&owner, Micros::units(3), key);
        let long_ago = std::time::Instant::now()
            .checked_sub(ledger::WRITE_DEADLINE + std::time::Duration::from_secs(1))
            .expect("the machine has been up longer than a minute");
        let w = ledger::begin_from(&db, long_ago).await.expect(b);
        ledger::transfer(&*w, &transfer("late"), now)
            .await
            .expect(b);
        match w.commit().await {
            Err(AppError::TooManyAttempts(m)) => assert_eq!(m, ledger::TOO_SLOW, "{b}"),
            other => panic!("{b}: {other:?}"),
        }
        let balance = ledger::balance::summary(&db, account(&owner))
            .await
            .expect(b);
        assert_eq!(balance.available, Micros(0), "{b}: nothing was committed");
        // Within the deadline the same write commits.
        let w = ledger::begin(&db).await.expect(b);
        ledger::transfer(&*w, &transfer("late"), now)
            .await
            .expect(b);
        w.commit().await.expect(b);
        let balance = ledger::balance::summary(&db, account(&owner))
            .await
            .expect(b);
        assert_eq!(balance.available, Micros::units(3), "{b}");
        assert!(
            ledger::check(&db).await.expect(b).problems.is_empty(),
            "{b}"
        );
    }
}

/// Real delivery: the charge of a won slot is its campaign's spend, and a reversal of that
/// decision is a correction of the same campaign.
#[tokio::test]
async fn spend_and_corrections_name_their_campaign() {
    for (b, db) in migrations::db::fresh_all().await {
        set_setting(&db, "ad_slots_per_day", 24).await;
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        channel(&db, "big", 9_000, "en").await;
        let now = Utc::now();
        let form = campaign_form("Spring sale", Micros::units(1), Micros::units(40), None);
        let (campaign, _) = running_campaign(&db, &owner, form, now).await;
        credit(&db, &owner, Micros::units(100), "T-1", now)
            .await
            .expect(b);
        let key = network_key(&db, now).await;
        // A moment after the launch, as a slot comes in.
        let now = Utc::now() + chrono::Duration::seconds(1);
        let engine = DeliveryEngine::default();
        let Decided::Ad(answer) = delivery::decide(&db, &engine, key, "big", "s1", now)
            .await
            .expect(b)
        else {
            panic!("{b}: no ad");
        };
        let event = EventInput {
            event_id: "seen".into(),
            decision_id: answer.decision_id,
            views: 9_000,
            clicks: 0,
            at: now,
        };
        delivery::ingest(&db, &engine, key, &[event], now)
            .await
            .expect(b);
        let w = ledger::begin(&db).await.expect(b);
        let t = NewTransfer {
            debit: Side::revenue(),
            credit: Side::balance(account(&owner).0),
            amount: Micros::units(1),
            currency: "EUR".into(),
            kind: TransferKind::Reversal,
            object_type: "decision",
            object_id: answer.decision_id,
            key: "test-reversal".into(),
        };
        ledger::transfer(&*w, &t, now).await.expect(b);
        w.commit().await.expect(b);
        let s = statement::statement(&db, &owner, None, "", now)
            .await
            .expect(b);
        assert!(s.in_progress && s.balances(), "{b}: {s:#?}");
        assert_eq!(s.spend.lines.len(), 1, "{b}: {s:#?}");
        assert_eq!(s.spend.lines[0].campaign, Some(campaign), "{b}");
        assert_eq!(s.spend.lines[0].about, "Campaign “Spring sale”", "{b}");
        assert!(s.spend.total.0 < 0, "{b}");
        assert_eq!(s.corrections.lines.len(), 1, "{b}: {s:#?}");
        assert_eq!(s.corrections.lines[0].campaign, Some(campaign), "{b}");
        assert_eq!(s.corrections.total, Micros::units(1), "{b}");
        let balance = ledger::balance::summary(&db, account(&owner))
            .await
            .expect(b);
        assert_eq!(
            (s.closing_available, s.closing_held),
            (balance.available, balance.held),
            "{b}"
        );
    }
}
