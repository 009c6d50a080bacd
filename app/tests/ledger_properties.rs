//! The money path as a state machine: random sequences of top-ups (new, repeated, and a
//! reference reused with another amount), decisions (fresh and repeated slot ids, on matching
//! and unmatched channels), event batches (duplicates, changed bodies, unknown decisions, out
//! of order, before their decision, after expiry), budget and bid edits, pauses, ad approvals,
//! platform setting changes, sweeps and clock jumps across the local midnights of two time
//! zones — run through the real services on a fresh SQLite database per case. After every step
//! the books are audited (`delivery_support::audit_books`) and compared with a model of what
//! each step must have done.
//!
//! A total budget may be lowered to what is posted though more is held: those holds then post
//! only up to the new total (the rest is served free), which the model follows and a test
//! below checks on its own.

mod delivery_support;

// The parts live beside this file, in `ledger_properties/`, so that cargo does not take them
// for test targets of their own.
#[path = "ledger_properties/apply.rs"]
mod apply;
#[path = "ledger_properties/campaigns.rs"]
mod campaigns;
#[path = "ledger_properties/case.rs"]
mod case;
#[path = "ledger_properties/decide.rs"]
mod decide;
#[path = "ledger_properties/events.rs"]
mod events;
#[path = "ledger_properties/invariants.rs"]
mod invariants;
#[path = "ledger_properties/model.rs"]
mod model;
#[path = "ledger_properties/steps.rs"]
mod steps;

use app::{
    model::Micros,
    service::delivery::{self, Decided, DeliveryEngine, EventInput},
};
use case::{fresh_case, runtime, template};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use delivery_support::*;
use model::Run;
use proptest::{prelude::*, test_runner::FileFailurePersistence};
use steps::{op, setup};

/// The smallest total budget the platform accepts (the migration's default).
const MIN_TOTAL: Micros = Micros::units(20);
/// The second account's time zone: ahead of Berlin, behind it, and a half-hour offset.
const SECOND_ZONES: [&str; 3] = ["Australia/Sydney", "America/Los_Angeles", "Asia/Kolkata"];
/// A decision id no decision has.
const UNKNOWN_DECISION: i64 = 9_000_000_000;

/// The simulated clock starts within three days of this instant: two days before Europe moves
/// to summer time next year (so the clock's jumps also cross a daylight-saving change, and it
/// is always later than the real clock, which campaign starts are set from).
fn epoch() -> DateTime<Utc> {
    let year = Utc::now().year() + 1;
    let last_sunday = (25..=31)
        .rev()
        .filter_map(|day| NaiveDate::from_ymd_opt(year, 3, day))
        .find(|d| d.weekday() == Weekday::Sun)
        .expect("March has a last Sunday");
    (last_sunday - Duration::days(2))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
}

/// 256 cases unless `PROPTEST_CASES` says otherwise; a failing case is kept beside this file
/// (cargo runs the test in the package's directory) and tried first next time.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/ledger_properties.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_step_keeps_the_books_and_does_what_the_model_says(
        setup in setup(),
        ops in prop::collection::vec(op(), 4..40),
    ) {
        let template = template();
        runtime().block_on(async {
            let (db, _scratch) = fresh_case(template).await;
            let mut run = Run::start(db, template, &setup).await;
            for op in &ops {
                run.apply(op).await;
            }
            app::service::ledger::close_writer(&run.db).await;
            run.db.close().await.expect("close");
        });
    }
}

#[tokio::test]
async fn a_lowered_total_budget_still_caps_what_the_campaign_is_charged() {
    for (b, db) in migrations::db::fresh_all().await {
        set_setting(&db, "ad_slots_per_day", 24).await;
        let me = advertiser(&db, "ada@example.com", "Europe/Berlin").await;
        channel(&db, "big", 9_000, "en").await;
        let form = |units| campaign_form("Lowered", Micros::units(1), Micros::units(units), None);
        let (id, _) = running_campaign(&db, &me, form(40), Utc::now()).await;
        credit(&db, &me, Micros::units(100), "first", Utc::now())
            .await
            .expect(b);
        let key = network_key(&db, Utc::now()).await;
        let engine = DeliveryEngine::default();
        let now = Utc::now();
        // A lone bidder pays the €0.50 floor: €4.50 held a slot on 9,000 views; seven slots fit
        // €40 (a slot is admitted only while its cost at the €1 bid, €9, still fits).
        let mut events = Vec::new();
        for slot in 0..7 {
            let decided = delivery::decide(&db, &engine, key, "big", &format!("s{slot}"), now)
                .await
                .expect(b);
            let Decided::Ad(answer) = decided else {
                panic!("{b}: slot {slot} found no ad");
            };
            events.push(EventInput {
                event_id: format!("seen-{slot}"),
                decision_id: answer.decision_id,
                views: 9_000,
                clicks: 0,
                at: now,
            });
        }
        save_campaign(&db, &me, Some(id), form(20))
            .await
            .expect("nothing is posted yet, so the total may go down to €20");
        delivery::ingest(&db, &engine, key, &events, now)
            .await
            .expect(b);
        let books = audit_books(&db, b).await;
        let (posted, _) = books.spend.get(&id.0).copied().unwrap_or((0, 0));
        assert!(
            posted <= Micros::units(20).0,
            "{b}: charged {posted} micros against a total budget of €20"
        );
    }
}

/// An idempotency key names one transfer: the same transfer again is a replay that moves
/// nothing; the key with any other field changed — what it is about included — is refused.
#[tokio::test]
async fn a_reused_key_replays_only_the_same_transfer() {
    use app::{
        error::AppError,
        service::ledger::{self, NewTransfer, Outcome, Side},
    };
    use delivery_support::{account, advertiser, top_up_transfer};
    for (b, db) in migrations::db::fresh_all().await {
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        let other = advertiser(&db, "other@example.com", "UTC").await;
        let now = Utc::now();
        let top_up = top_up_transfer(&owner, Micros::units(3), "wire-7");
        let write = |t: NewTransfer| {
            let db = db.clone();
            async move {
                let w = ledger::begin(&db).await?;
                let outcome = ledger::transfer(&*w, &t, now).await;
                w.commit().await?;
                outcome
            }
        };
        let first = write(top_up.clone()).await.expect(b);
        let Outcome::Applied(id) = first else {
            panic!("{b}: {first:?}");
        };
        assert_eq!(
            write(top_up.clone()).await.expect(b),
            Outcome::Replayed(id),
            "{b}"
        );
        let changed = [
            NewTransfer {
                amount: Micros::units(4),
                ..top_up.clone()
            },
            NewTransfer {
                credit: Side::balance(account(&other).0),
                ..top_up.clone()
            },
            NewTransfer {
                object_id: account(&other).0,
                ..top_up.clone()
            },
            NewTransfer {
                object_type: "campaign",
                ..top_up.clone()
            },
        ];
        for t in changed {
            let answer = write(t.clone()).await;
            assert!(
                matches!(answer, Err(AppError::Conflict(ref m)) if m.contains("wire-7")),
                "{b}: {t:?} → {answer:?}"
            );
        }
        let balance = ledger::balance::summary(&db, account(&owner))
            .await
            .expect(b);
        assert_eq!(balance.available, Micros::units(3), "{b}: credited once");
        assert!(
            ledger::check(&db).await.expect(b).problems.is_empty(),
            "{b}"
        );
    }
}
