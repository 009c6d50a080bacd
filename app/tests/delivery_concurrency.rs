//! Concurrent money writers on one campaign (PostgreSQL when `TEST_DATABASE_URL` is set, and
//! SQLite): eight tasks decide slots and send events for them — each event twice, from two
//! tasks — for a campaign whose small total budget and balance run out mid-way, while a
//! sweeper settles holds as their events arrive and two more tasks race top-ups (a reference
//! each, and one reference from both at once). Throughout, the campaign commits no more than
//! its total budget to the micro; afterwards the spend counters and the ledger agree, each
//! event, hold release and top-up counted once, and after a last sweep every hold is either
//! posted or released.
//!
//! Also: a slot asked again answers the same instant even when the clock has nanoseconds, and
//! an event may be dated at its decision's very instant; two credits of one reference at
//! once are both answered, one as already credited; a time zone moved a day ahead opens
//! no second daily budget; and the largest slot the campaign page says a campaign can still
//! pay for is the largest delivery gives it.

mod delivery_support;

use app::{
    entity::campaign_spend,
    error::AppError,
    model::{CampaignForm, CreditResult, Micros},
    service::delivery::{self, Decided, DeliveryEngine, EventInput, EventResult, sweep},
};
use chrono::{Duration, SubsecRound, Utc};
use delivery_support::*;
use sea_orm::{DatabaseConnection, EntityTrait};
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};
use tokio::sync::Barrier;

const TASKS: usize = 8;
const SLOTS_PER_TASK: usize = 24;
const TOTAL: Micros = Micros::units(5);
/// €1.00 CPM, the platform's minimum here, on 400 views: €0.40 a slot, so the total budget is
/// twelve slots and a half.
const BID: Micros = Micros::units(1);
const AVG_VIEWS: i64 = 400;
const FIRST_CREDIT: Micros = Micros::units(3);
const TOP_UP: Micros = Micros::units(2);
const SHARED_TOP_UP: Micros = Micros::units(1);

/// What the tasks saw.
#[derive(Default)]
struct Seen {
    decisions: u64,
    no_ad: u64,
    accepted: u64,
    accepted_posted: i64,
    replayed: u64,
    /// Answers `TooManyAttempts` (busy): allowed under contention, nothing written.
    busy: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_decisions_events_and_top_ups_keep_the_books_on_postgres() {
    let Some(db) = migrations::db::fresh_postgres()
        .await
        .expect("a fresh PostgreSQL database")
    else {
        eprintln!("skipped: set TEST_DATABASE_URL to run the PostgreSQL concurrency test");
        return;
    };
    hammer("postgres", db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_decisions_events_and_top_ups_keep_the_books_on_sqlite() {
    let db = migrations::db::fresh_sqlite()
        .await
        .expect("a fresh SQLite database");
    hammer("sqlite", db).await;
}

/// Budgets as small as [`TOTAL`], a minimum CPM of [`BID`], and the most slots per channel.
async fn platform(db: &DatabaseConnection) {
    set_setting(db, "min_total_budget_micros", Micros::units(1).0).await;
    set_setting(db, "min_cpm_micros", BID.0).await;
    set_setting(db, "ad_slots_per_day", 24).await;
}

async fn hammer(b: &str, db: DatabaseConnection) {
    let now = Utc::now();
    platform(&db).await;
    set_setting(&db, "hold_ttl_minutes", 20).await;
    let me = advertiser(&db, "ada@example.com", "Europe/Berlin").await;
    let handles: Vec<String> = (0..4).map(|i| format!("ch{i}")).collect();
    for h in &handles {
        channel(&db, h, AVG_VIEWS, "en").await;
    }
    let form = campaign_form("Tight", BID, TOTAL, None);
    let (campaign, _) = running_campaign(&db, &me, form, now).await;
    credit(&db, &me, FIRST_CREDIT, "first", now).await.expect(b);
    let key = network_key(&db, now).await;
    let engine = DeliveryEngine::default();
    let seen = Arc::new(Mutex::new(Seen::default()));
    // Each task sends its events and then the previous task's again (the same id and body).
    let outbox: Arc<Mutex<Vec<EventInput>>> = Arc::new(Mutex::new(Vec::new()));

    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..TASKS {
        let (db, engine, seen, outbox, handles) = (
            db.clone(),
            engine.clone(),
            Arc::clone(&seen),
            Arc::clone(&outbox),
            handles.clone(),
        );
        let b = b.to_owned();
        tasks.spawn(async move {
            for j in 0..SLOTS_PER_TASK {
                let slot = format!("t{t}-s{j}");
                let handle = &handles[(t + j) % handles.len()];
                let decided =
                    match delivery::decide(&db, &engine, key, handle, &slot, Utc::now()).await {
                        Ok(d) => d,
                        Err(AppError::TooManyAttempts(_)) => {
                            seen.lock().expect("seen").busy += 1;
                            continue;
                        }
                        Err(e) => panic!("{b}: decide {slot}: {e:?}"),
                    };
                let again = delivery::decide(&db, &engine, key, handle, &slot, Utc::now())
                    .await
                    .expect("the same slot again");
                assert_eq!(again, decided, "{b}: {slot} asked again");
                let Decided::Ad(answer) = decided else {
                    seen.lock().expect("seen").no_ad += 1;
                    continue;
                };
                seen.lock().expect("seen").decisions += 1;
                let at = Utc::now();
                let mine = vec![
                    EventInput {
                        event_id: format!("d{}-a", answer.decision_id),
                        decision_id: answer.decision_id,
                        views: AVG_VIEWS / 2,
                        clicks: 1,
                        at,
                    },
                    EventInput {
                        event_id: format!("d{}-b", answer.decision_id),
                        decision_id: answer.decision_id,
                        views: AVG_VIEWS,
                        clicks: 0,
                        at,
                    },
                ];
                let theirs = std::mem::replace(&mut *outbox.lock().expect("outbox"), mine.clone());
                for batch in [mine, theirs] {
                    if batch.is_empty() {
                        continue;
                    }
                    match delivery::ingest(&db, &engine, key, &batch, Utc::now()).await {
                        Ok(results) => {
                            let mut s = seen.lock().expect("seen");
                            for r in results {
                                match r {
                                    EventResult::Accepted { posted } => {
                                        s.accepted += 1;
                                        s.accepted_posted += posted.0;
                                    }
                                    EventResult::Replayed { .. } => s.replayed += 1,
                                    other => panic!("{b}: event refused: {other:?}"),
                                }
                            }
                        }
                        Err(AppError::TooManyAttempts(_)) => seen.lock().expect("seen").busy += 1,
                        Err(e) => panic!("{b}: ingest: {e:?}"),
                    }
                }
            }
            // The last batch may never have been sent twice: send it once more.
            let last = outbox.lock().expect("outbox").clone();
            if !last.is_empty()
                && let Ok(results) = delivery::ingest(&db, &engine, key, &last, Utc::now()).await
            {
                let mut s = seen.lock().expect("seen");
                for r in results {
                    if let EventResult::Accepted { posted } = r {
                        s.accepted += 1;
                        s.accepted_posted += posted.0;
                    }
                }
            }
        });
    }
    // A sweeper whose clock runs half an hour ahead settles holds while their events may still
    // be arriving (and frees budget for more slots), and checks the cap between sweeps.
    let stop = Arc::new(AtomicBool::new(false));
    let sweeper = {
        let (db, stop, b) = (db.clone(), Arc::clone(&stop), b.to_owned());
        tokio::spawn(async move {
            let (mut settled, mut busy) = (sweep::Released::default(), 0u64);
            while !stop.load(Ordering::Relaxed) {
                let ahead = Utc::now() + Duration::minutes(30);
                match sweep::release_expired(&db, ahead, 4).await {
                    Ok(r) => {
                        settled.decisions += r.decisions;
                        settled.amount = Micros(settled.amount.0 + r.amount.0);
                    }
                    Err(AppError::TooManyAttempts(_)) => busy += 1,
                    Err(e) => panic!("{b}: sweep: {e:?}"),
                }
                let committed = campaign_spend::Entity::find_by_id(campaign.0)
                    .one(&db)
                    .await
                    .expect("spend")
                    .map_or(0, |s| s.committed);
                assert!(committed <= TOTAL.0, "{b}: committed {committed} mid-way");
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
            (settled, busy)
        })
    };
    // Two finance clerks: a reference each, then the same reference at once.
    let barrier = Arc::new(Barrier::new(2));
    let mut clerks = tokio::task::JoinSet::new();
    for clerk in 0..2 {
        let (db, me, barrier) = (db.clone(), me.clone(), Arc::clone(&barrier));
        clerks.spawn(async move {
            let own = credit(&db, &me, TOP_UP, &format!("wire-{clerk}"), Utc::now()).await;
            barrier.wait().await;
            let shared = credit(&db, &me, SHARED_TOP_UP, "wire-shared", Utc::now()).await;
            (own, shared)
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a delivery task panicked");
    }
    stop.store(true, Ordering::Relaxed);
    let (swept, sweeper_busy) = sweeper.await.expect("the sweeper panicked");
    let mut shared: Vec<Result<CreditResult, AppError>> = Vec::new();
    while let Some(done) = clerks.join_next().await {
        let (own, same) = done.expect("a clerk panicked");
        let own = own.unwrap_or_else(|e| panic!("{b}: a top-up of its own reference: {e:?}"));
        assert!(!own.already_credited, "{b}");
        shared.push(same);
    }

    let mut seen = std::mem::take(&mut *seen.lock().expect("seen"));
    seen.busy += sweeper_busy;
    let books = audit_books(&db, b).await;
    let (posted, committed) = books.spend.get(&campaign.0).copied().unwrap_or((0, 0));
    assert!(
        committed <= TOTAL.0,
        "{b}: committed {committed} over the total budget {TOTAL:?}"
    );
    assert_eq!(
        books.decisions.len() as u64,
        seen.decisions,
        "{b}: decisions written vs answered"
    );
    assert!(seen.decisions > 0, "{b}: nothing was decided");
    assert_eq!(
        (books.events.len() as u64, books.posted_total),
        (seen.accepted, seen.accepted_posted),
        "{b}: each event counted once, and charged what its answer said"
    );
    assert_eq!(
        books.posted_total, posted,
        "{b}: the campaign's posted spend vs its events"
    );
    let shared_rows: Vec<_> = books
        .top_ups
        .iter()
        .filter(|t| t.external_reference == "wire-shared")
        .collect();
    assert_eq!(
        shared_rows.len(),
        1,
        "{b}: the shared reference credited once"
    );
    let credited: i64 = books.top_ups.iter().map(|t| t.amount).sum();
    assert_eq!(
        credited,
        FIRST_CREDIT.0 + 2 * TOP_UP.0 + SHARED_TOP_UP.0,
        "{b}: credited"
    );
    // One of the two credits it; the other is told it was credited.
    let fresh: Vec<bool> = shared
        .iter()
        .map(|r| match r {
            Ok(r) => !r.already_credited,
            Err(e) => panic!("{b}: the same reference at once: {e:?}"),
        })
        .collect();
    assert_eq!(
        fresh.iter().filter(|f| **f).count(),
        1,
        "{b}: the same reference at once: {fresh:?}"
    );

    // Once every hold has expired, the sweep settles them: what was not posted goes back.
    let later = Utc::now() + Duration::days(2);
    let released = sweep::release_expired(&db, later, 1_000).await.expect(b);
    assert_eq!(
        swept.decisions + released.decisions,
        seen.decisions,
        "{b}: every hold settled once"
    );
    let books = audit_books(&db, &format!("{b} after the sweep")).await;
    let (after_posted, after_committed) = books.spend.get(&campaign.0).copied().unwrap_or((0, 0));
    assert_eq!(
        (after_posted, after_committed),
        (posted, posted),
        "{b}: after the sweep only what was posted stays committed"
    );
    assert_eq!(
        released.amount,
        Micros(committed - posted),
        "{b}: released the open holds"
    );
    let held: i64 = books.decisions.values().map(|d| d.held).sum();
    assert_eq!(
        swept.amount.0 + released.amount.0,
        held - posted,
        "{b}: released all that was held and not posted"
    );
    eprintln!(
        "{b}: {} decisions ({} settled while running), {} without an ad, {} events accepted \
         ({posted} posted), {} replayed, {} busy",
        seen.decisions, swept.decisions, seen.no_ad, seen.accepted, seen.replayed, seen.busy
    );
}

/// One advertiser with a running campaign on the English channel `ch0` and €10 to spend.
async fn ready(db: &DatabaseConnection, b: &str) -> (app::service::Actor, i64, DeliveryEngine) {
    platform(db).await;
    let me = advertiser(db, "ada@example.com", "Europe/Berlin").await;
    channel(db, "ch0", AVG_VIEWS, "en").await;
    let form = campaign_form("Plain", BID, TOTAL, None);
    running_campaign(db, &me, form, Utc::now()).await;
    credit(db, &me, Micros::units(10), "first", Utc::now())
        .await
        .expect(b);
    let key = network_key(db, Utc::now()).await;
    (me, key, DeliveryEngine::default())
}

/// Views reported once a hold has expired are counted and free, before the sweeper has
/// released the hold as after: the same late report costs the same whenever it arrives.
#[tokio::test]
async fn views_reported_after_the_hold_expired_are_free_swept_or_not() {
    for (b, db) in migrations::db::fresh_all().await {
        let (_, key, engine) = ready(&db, b).await;
        let now = Utc::now();
        let Decided::Ad(answer) = delivery::decide(&db, &engine, key, "ch0", "late-1", now)
            .await
            .expect(b)
        else {
            panic!("{b}: the campaign did not win the slot");
        };
        let report = |id: &str, views: i64, at| EventInput {
            event_id: id.into(),
            decision_id: answer.decision_id,
            views,
            clicks: 0,
            at,
        };
        let before = delivery::ingest(&db, &engine, key, &[report("in-time", 10, now)], now)
            .await
            .expect(b);
        assert!(
            matches!(before[0], EventResult::Accepted { posted } if posted.0 > 0),
            "{b}: {before:?}"
        );
        // Reported (and dated) after the expiry, the hold not yet released by any sweeper.
        let late = answer.expires_at + Duration::minutes(1);
        let after = delivery::ingest(&db, &engine, key, &[report("late", 10, late)], late)
            .await
            .expect(b);
        assert_eq!(
            after[0],
            EventResult::Accepted { posted: Micros(0) },
            "{b}: counted, free"
        );
        let decision = app::entity::delivery_decision::Entity::find_by_id(answer.decision_id)
            .one(&db)
            .await
            .expect(b)
            .expect("decision");
        assert_eq!(decision.views, 20, "{b}: the late views are counted");
        assert!(decision.settled_at.is_none(), "{b}: not swept yet");
        audit_books(&db, &format!("{b} after the late report")).await;
        sweep::release_expired(&db, answer.expires_at + sweep::SETTLE_AFTER, 10)
            .await
            .expect(b);
        let books = audit_books(&db, &format!("{b} after the sweep")).await;
        let swept = &books.decisions[&answer.decision_id];
        assert_eq!(
            swept.posted + swept.released,
            swept.held,
            "{b}: the rest of the hold went back"
        );
        // And after the sweep, the same: counted, free.
        let later = late + Duration::hours(1);
        let swept_late = delivery::ingest(&db, &engine, key, &[report("swept", 10, later)], later)
            .await
            .expect(b);
        assert_eq!(
            swept_late[0],
            EventResult::Accepted { posted: Micros(0) },
            "{b}"
        );
        audit_books(&db, &format!("{b} after a report once swept")).await;
    }
}

/// A batch that arrived just before a hold expired may still be waiting for its turn to
/// commit when a sweeper runs: the sweeper leaves the hold until the write deadline has passed
/// ([`sweep::SETTLE_AFTER`]), so those views are charged whichever commits first.
#[tokio::test]
async fn views_that_arrived_before_the_expiry_are_charged_though_a_sweeper_ran_meanwhile() {
    for (b, db) in migrations::db::fresh_all().await {
        let (_, key, engine) = ready(&db, b).await;
        let now = Utc::now();
        let Decided::Ad(answer) = delivery::decide(&db, &engine, key, "ch0", "edge-1", now)
            .await
            .expect(b)
        else {
            panic!("{b}: the campaign did not win the slot");
        };
        // A sweeper's clock passes the expiry while the batch (stamped before it) waits.
        let arrived = answer.expires_at - Duration::seconds(1);
        let sweeping = answer.expires_at + Duration::seconds(30);
        let early = sweep::release_expired(&db, sweeping, 10).await.expect(b);
        assert_eq!(early.decisions, 0, "{b}: not due yet: {early:?}");
        let charged = delivery::ingest(
            &db,
            &engine,
            key,
            &[EventInput {
                event_id: "edge-views".into(),
                decision_id: answer.decision_id,
                views: 10,
                clicks: 0,
                at: arrived,
            }],
            arrived,
        )
        .await
        .expect(b);
        assert!(
            matches!(charged[0], EventResult::Accepted { posted } if posted.0 > 0),
            "{b}: views reported before the expiry are charged: {charged:?}"
        );
        // Once the deadline has passed, the sweep settles it: the rest goes back.
        let due = answer.expires_at + sweep::SETTLE_AFTER;
        let settled = sweep::release_expired(&db, due, 10).await.expect(b);
        assert_eq!(settled.decisions, 1, "{b}: {settled:?}");
        let books = audit_books(&db, &format!("{b} after the sweep")).await;
        let swept = &books.decisions[&answer.decision_id];
        assert!(swept.posted > 0, "{b}");
        assert_eq!(swept.posted + swept.released, swept.held, "{b}");
    }
}

#[tokio::test]
async fn a_slot_asked_again_answers_the_same_instant_and_takes_events_dated_at_it() {
    for (b, db) in migrations::db::fresh_all().await {
        let (_, key, engine) = ready(&db, b).await;
        let now = Utc::now().trunc_subsecs(0) + Duration::nanoseconds(1_123_456_789);
        let first = delivery::decide(&db, &engine, key, "ch0", "slot-1", now)
            .await
            .expect(b);
        let later = now + Duration::seconds(1);
        let again = delivery::decide(&db, &engine, key, "ch0", "slot-1", later)
            .await
            .expect(b);
        assert_eq!(again, first, "{b}: the same slot asked again");
        let Decided::Ad(answer) = first else {
            panic!("{b}: the campaign did not win the slot");
        };
        let seen = EventInput {
            event_id: "seen".into(),
            decision_id: answer.decision_id,
            views: 10,
            clicks: 0,
            at: now,
        };
        let results = delivery::ingest(&db, &engine, key, &[seen], later)
            .await
            .expect(b);
        assert!(
            matches!(results[0], EventResult::Accepted { .. }),
            "{b}: an event dated at its decision's instant: {results:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_reference_at_once_is_answered_as_already_credited() {
    for (b, db) in migrations::db::fresh_all().await {
        let (me, _, _) = ready(&db, b).await;
        for round in 0..10 {
            let reference = format!("wire-{round}");
            let barrier = Arc::new(Barrier::new(2));
            let mut clerks = tokio::task::JoinSet::new();
            for _ in 0..2 {
                let (db, me, barrier, reference) = (
                    db.clone(),
                    me.clone(),
                    Arc::clone(&barrier),
                    reference.clone(),
                );
                clerks.spawn(async move {
                    barrier.wait().await;
                    credit(&db, &me, SHARED_TOP_UP, &reference, Utc::now()).await
                });
            }
            let mut answers = Vec::new();
            while let Some(done) = clerks.join_next().await {
                answers.push(done.expect("a clerk panicked"));
            }
            let fresh: Vec<bool> = answers
                .iter()
                .map(|r| match r {
                    Ok(r) => !r.already_credited,
                    Err(e) => panic!("{b}: round {round}: {e:?}"),
                })
                .collect();
            assert_eq!(
                fresh.iter().filter(|f| **f).count(),
                1,
                "{b}: round {round}: {fresh:?}"
            );
        }
    }
}

/// Slots that arrive together are decided in shared transactions (group commit) exactly as if
/// one by one: a campaign whose total budget holds twelve slots wins twelve of 64 slots asked
/// at once, holds exactly twelve slots' cost, and each slot asked again, all at once, gets its
/// first answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slots_asked_at_once_share_the_budget_as_if_one_by_one() {
    const AT_ONCE: usize = 64;
    for (b, db) in migrations::db::fresh_all().await {
        platform(&db).await;
        let me = advertiser(&db, "ada@example.com", "Europe/Berlin").await;
        let handles: Vec<String> = (0..4).map(|i| format!("ch{i}")).collect();
        for h in &handles {
            channel(&db, h, AVG_VIEWS, "en").await;
        }
        let form = campaign_form("Plain", BID, TOTAL, None);
        let (campaign, _) = running_campaign(&db, &me, form, Utc::now()).await;
        credit(&db, &me, Micros::units(10), "first", Utc::now())
            .await
            .expect(b);
        let key = network_key(&db, Utc::now()).await;
        let engine = DeliveryEngine::default();
        let ask = |round: &'static str| {
            let barrier = Arc::new(Barrier::new(AT_ONCE));
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..AT_ONCE {
                let (db, engine, barrier) = (db.clone(), engine.clone(), Arc::clone(&barrier));
                let handle = handles[i % handles.len()].clone();
                tasks.spawn(async move {
                    barrier.wait().await;
                    let slot = format!("slot-{i}");
                    let got = delivery::decide(&db, &engine, key, &handle, &slot, Utc::now()).await;
                    (i, got)
                });
            }
            async move {
                let mut answers = vec![None; AT_ONCE];
                while let Some(done) = tasks.join_next().await {
                    let (i, got) = done.expect("a decision task panicked");
                    answers[i] =
                        Some(got.unwrap_or_else(|e| panic!("{b}: {round} slot {i}: {e:?}")));
                }
                answers.into_iter().flatten().collect::<Vec<Decided>>()
            }
        };
        let first = ask("first").await;
        let won: Vec<i64> = first
            .iter()
            .filter_map(|d| match d {
                Decided::Ad(a) => Some(a.decision_id),
                Decided::NoAd => None,
            })
            .collect();
        let mut distinct = won.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(
            (won.len(), distinct.len()),
            (12, 12),
            "{b}: twelve slots fit the budget, each its own decision"
        );
        let books = audit_books(&db, b).await;
        let slot_cost = AVG_VIEWS * BID.0 / 1000;
        assert_eq!(
            books.spend.get(&campaign.0).copied(),
            Some((0, 12 * slot_cost)),
            "{b}: nothing posted, twelve slots committed"
        );
        assert_eq!(ask("again").await, first, "{b}: every slot asked again");
    }
}

/// What a decision batch ranked on an index from before a budget edit believes of a campaign.
fn as_read(
    id: i64,
    owner: &app::service::Actor,
    total: Micros,
    daily: Option<Micros>,
) -> app::service::delivery::index::LiveCampaign {
    app::service::delivery::index::LiveCampaign {
        id,
        account_id: account(owner).0,
        currency: "EUR".into(),
        tz: chrono_tz::Tz::UTC,
        bid: BID,
        total_budget: total,
        daily_budget: daily,
        start_at: None,
        end_at: None,
        schedule: None,
        targeting: app::model::Targeting::default(),
        ads: Vec::new(),
    }
}

/// Commits `cost` against `c` in a batch's book and writes it; whether the write went through
/// (it is kept only when `keep`).
async fn write_batch(
    db: &DatabaseConnection,
    c: &app::service::delivery::index::LiveCampaign,
    cost: Micros,
    keep: bool,
) -> bool {
    use app::service::delivery::budgets::Book;
    use sea_orm::TransactionTrait;
    let now = Utc::now();
    let txn = db.begin().await.expect("begin");
    let mut book = Book::new(now.date_naive() - Duration::days(1));
    book.load(&txn, [c]).await.expect("load");
    book.commit(c, now, cost).expect("commit");
    let written = book.write(&txn).await.expect("write");
    if written && keep {
        txn.commit().await.expect("commit");
    } else {
        txn.rollback().await.expect("rollback");
    }
    written
}

/// A budget lowered after a batch read it (on PostgreSQL an edit can commit between a batch's
/// reads and its write): the write checks the caps in the campaign's row as it is then, so the
/// batch is decided again instead of committing past the new budget.
#[tokio::test]
async fn a_batch_cannot_commit_past_a_budget_lowered_after_it_read() {
    use app::entity::campaign;
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    for (b, db) in migrations::db::fresh_all().await {
        platform(&db).await;
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        channel(&db, "news", 5_000, "en").await;
        let now = Utc::now();
        credit(&db, &owner, Micros::units(1_000), "wire-1", now)
            .await
            .expect(b);
        let set_budgets = |id: i64, total: Micros, daily: Option<Micros>| {
            let db = db.clone();
            async move {
                campaign::Entity::update_many()
                    .col_expr(campaign::Column::TotalBudgetMicros, Expr::value(total.0))
                    .col_expr(
                        campaign::Column::DailyBudgetMicros,
                        Expr::value(daily.map(|d| d.0)),
                    )
                    .filter(campaign::Column::Id.eq(id))
                    .exec(&db)
                    .await
                    .expect("budgets");
            }
        };
        let (total, daily) = (Micros::units(100), Some(Micros::units(20)));
        let form = campaign_form("Lowered", BID, total, daily);
        let (first, _) = running_campaign(&db, &owner, form.clone(), now).await;
        let read = as_read(first.0, &owner, total, daily);
        // First counters and day row of the campaign, within its budgets.
        assert!(write_batch(&db, &read, Micros::units(4), true).await, "{b}");
        // The daily budget lowered to 5 since the batch read 20: 4 + 2 is past it.
        set_budgets(first.0, total, Some(Micros::units(5))).await;
        assert!(
            !write_batch(&db, &read, Micros::units(2), false).await,
            "{b}: past the lowered daily budget"
        );
        assert!(
            write_batch(&db, &read, Micros::units(1), false).await,
            "{b}: within it"
        );
        // The total lowered to 5 (no daily budget): the same.
        set_budgets(first.0, Micros::units(5), None).await;
        assert!(
            !write_batch(&db, &read, Micros::units(2), false).await,
            "{b}: past the lowered total"
        );
        // A campaign's first write (its rows are inserted) is checked the same way.
        let (second, _) = running_campaign(&db, &owner, form, now).await;
        set_budgets(second.0, total, Some(Micros::units(5))).await;
        let read = as_read(second.0, &owner, total, daily);
        assert!(
            !write_batch(&db, &read, Micros::units(6), false).await,
            "{b}: a first day row past the lowered daily budget"
        );
        set_budgets(second.0, Micros::units(5), None).await;
        assert!(
            !write_batch(&db, &read, Micros::units(6), false).await,
            "{b}: first counters past the lowered total"
        );
        assert!(
            write_batch(&db, &read, Micros::units(5), false).await,
            "{b}: up to it"
        );
    }
}

/// A total budget lowered while a batch of events posts to the campaign: the save waits for
/// the campaign's spend counter (which events post under, reading the budget after taking
/// it) and then compares the new budget with the spend as posted, so the two cannot both
/// commit and leave more posted than the budget (on PostgreSQL each had locked a different
/// row and read the other's unlocked). The batch is played by a transaction that locks the
/// counter and posts as ingest does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_lowered_while_events_post_waits_for_them() {
    use app::service::spend;
    use sea_orm::{ActiveModelTrait, Set, TransactionTrait};
    for (b, db) in migrations::db::fresh_all().await {
        platform(&db).await;
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        channel(&db, "news", 5_000, "en").await;
        let now = Utc::now();
        let form = campaign_form("Lowered", BID, Micros::units(100), None);
        let (id, _) = running_campaign(&db, &owner, form.clone(), now).await;
        campaign_spend::ActiveModel {
            campaign_id: Set(id.0),
            posted: Set(Micros::units(50).0),
            committed: Set(Micros::units(50).0),
        }
        .insert(&db)
        .await
        .expect(b);
        // The batch has locked the counter and posted 40 more, not yet committed.
        let batch = db.begin().await.expect(b);
        let posted = spend::of_campaign_locked(&batch, id).await.expect(b);
        assert_eq!(posted, Micros::units(50), "{b}");
        campaign_spend::ActiveModel {
            campaign_id: Set(id.0),
            posted: Set(Micros::units(90).0),
            committed: Set(Micros::units(90).0),
        }
        .update(&batch)
        .await
        .expect(b);
        let lowered = CampaignForm {
            total_budget: Micros::units(60).to_decimal(),
            ..form
        };
        let (db2, owner2) = (db.clone(), owner.clone());
        let save =
            tokio::spawn(async move { save_campaign(&db2, &owner2, Some(id), lowered).await });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !save.is_finished(),
            "{b}: the save waits for the posting batch"
        );
        batch.commit().await.expect(b);
        match save.await.expect(b) {
            Err(AppError::Invalid(f)) => assert!(
                f.get("total_budget")
                    .is_some_and(|m| m.contains("€90.00 is already spent")),
                "{b}: {f:?}"
            ),
            other => panic!("{b}: the budget went below the spend: {other:?}"),
        }
    }
}

/// An account that moves to a time zone already on the next date keeps the day's spend
/// against its daily budget: the new date does not open a second day's budget within the same
/// hours (UTC 23:30 is 08:30 of the next day in Tokyo).
#[tokio::test]
async fn a_time_zone_a_day_ahead_does_not_open_a_second_daily_budget() {
    use app::{entity::campaign_day_spend, model::AccountSettingsInput, service::accounts};
    use sea_orm::{ColumnTrait, QueryFilter};
    for (b, db) in migrations::db::fresh_all().await {
        platform(&db).await;
        let owner = advertiser(&db, "owner@example.com", "UTC").await;
        for i in 0..4 {
            channel(&db, &format!("tz{i}"), AVG_VIEWS, "en").await;
        }
        // €0.40 a slot; the daily budget is two slots. Half an hour of the UTC day is left,
        // so pacing lets the whole day's budget go.
        let daily = Micros(800_000);
        let form = campaign_form("Daily", BID, Micros::units(5), Some(daily));
        let (campaign, _) = running_campaign(&db, &owner, form, Utc::now()).await;
        credit(&db, &owner, Micros::units(10), "first", Utc::now())
            .await
            .expect(b);
        let key = network_key(&db, Utc::now()).await;
        let engine = DeliveryEngine::default();
        let evening = (Utc::now() + Duration::days(1))
            .date_naive()
            .and_hms_opt(23, 30, 0)
            .expect("a time")
            .and_utc();
        let mut won = 0;
        for i in 0..3 {
            let at = evening + Duration::seconds(i);
            let (channel, slot) = (format!("tz{i}"), format!("s{i}"));
            if let Decided::Ad(_) = delivery::decide(&db, &engine, key, &channel, &slot, at)
                .await
                .expect(b)
            {
                won += 1;
            }
        }
        assert_eq!(won, 2, "{b}: the daily budget holds two slots");

        let name = accounts::details(&db, &owner).await.expect(b).name;
        let tokyo = AccountSettingsInput {
            name,
            time_zone: "Asia/Tokyo".into(),
        };
        let moved = evening + Duration::minutes(1);
        accounts::update_settings(&db, &owner, tokyo, moved)
            .await
            .expect(b);
        let next_day = campaign_day_spend::Entity::find()
            .filter(campaign_day_spend::Column::CampaignId.eq(campaign.0))
            .filter(campaign_day_spend::Column::Day.eq(evening.date_naive().succ_opt().expect(b)))
            .one(&db)
            .await
            .expect(b)
            .expect("the day's spend carried into Tokyo's date");
        assert_eq!(
            (next_day.committed, next_day.hour_base, next_day.hour),
            (daily.0, daily.0, 8),
            "{b}"
        );
        let after = delivery::decide(&db, &engine, key, "tz3", "s3", moved + Duration::minutes(1))
            .await
            .expect(b);
        assert_eq!(
            after,
            Decided::NoAd,
            "{b}: no second daily budget in Tokyo's new date"
        );

        // Back to UTC (an earlier date): nothing to carry, and the day stays spent.
        let utc = AccountSettingsInput {
            name: accounts::details(&db, &owner).await.expect(b).name,
            time_zone: "UTC".into(),
        };
        accounts::update_settings(&db, &owner, utc, moved + Duration::minutes(2))
            .await
            .expect(b);
        let again = delivery::decide(&db, &engine, key, "tz3", "s4", moved + Duration::minutes(3))
            .await
            .expect(b);
        assert_eq!(again, Decided::NoAd, "{b}: the UTC day is still spent");

        // And to Tokyo once more: its date has a row already, which is kept, not lowered.
        let tokyo = AccountSettingsInput {
            name: accounts::details(&db, &owner).await.expect(b).name,
            time_zone: "Asia/Tokyo".into(),
        };
        accounts::update_settings(&db, &owner, tokyo, moved + Duration::minutes(4))
            .await
            .expect(b);
        let rows = campaign_day_spend::Entity::find()
            .filter(campaign_day_spend::Column::CampaignId.eq(campaign.0))
            .all(&db)
            .await
            .expect(b);
        assert_eq!(rows.len(), 2, "{b}: {rows:?}");
        assert!(rows.iter().all(|r| r.committed == daily.0), "{b}: {rows:?}");
        let last = delivery::decide(&db, &engine, key, "tz3", "s5", moved + Duration::minutes(5))
            .await
            .expect(b);
        assert_eq!(last, Decided::NoAd, "{b}: still one day's budget");
    }
}

/// The campaign page's "largest slot" is delivery's own rule: with €1.00 left to commit (the
/// balance, here) at a €3.00 bid, a channel averaging 333 views is won and one of 334 is not.
#[tokio::test]
async fn the_largest_slot_shown_is_the_largest_delivery_takes() {
    for (b, db) in migrations::db::fresh_all().await {
        platform(&db).await;
        let now = Utc::now();
        let owner = advertiser(&db, "small@example.com", "UTC").await;
        channel(&db, "edge", 333, "en").await;
        channel(&db, "over", 334, "en").await;
        let form = campaign_form("Small", Micros::units(3), Micros::units(50), None);
        let (campaign, _) = running_campaign(&db, &owner, form, now).await;
        credit(&db, &owner, Micros::units(1), "wire-small", now)
            .await
            .expect(b);
        let key = network_key(&db, now).await;
        let engine = DeliveryEngine::default();
        // A moment after it started running.
        let now = now + Duration::minutes(1);
        let row = app::entity::campaign::Entity::find_by_id(campaign.0)
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        let shown = delivery::state::for_campaigns(&db, &[row], "EUR", chrono_tz::Tz::UTC, now)
            .await
            .expect(b)
            .remove(&campaign.0)
            .expect(b);
        assert_eq!(shown.state, app::model::DeliveryState::Delivering, "{b}");
        assert_eq!(
            (shown.can_commit, shown.largest_slot_views),
            (Micros::units(1), 333),
            "{b}"
        );
        let over = delivery::decide(&db, &engine, key, "over", "over-1", now)
            .await
            .expect(b);
        assert!(matches!(over, Decided::NoAd), "{b}: {over:?}");
        let edge = delivery::decide(&db, &engine, key, "edge", "edge-1", now)
            .await
            .expect(b);
        assert!(matches!(edge, Decided::Ad(_)), "{b}: {edge:?}");
    }
}
