//! The finance console through the real services on SQLite and PostgreSQL: corrections give
//! a charge back exactly in the parts it was charged (and never twice); spend, payables and
//! payouts add up to the ledger; a month is paid once; reconciliation of a period finds no
//! difference after delivery and corrections, and finds an injected one; who may do what.

mod delivery_support;

use app::{
    entity::{delivery_decision, ledger_transfer},
    error::AppError,
    model::{
        BankDetailsInput, Breakdown, CorrectionInput, DecideRequestInput, FinanceRequestStatus,
        Micros, PayoutInput, PlatformRole, ReportQuery, TransferKind,
    },
    service::{
        Actor,
        delivery::{self, Decided, DeliveryEngine, EventInput},
        finance::{correction_requests, corrections, payables, payout_requests, reconcile, spend},
        ledger,
        passwords::PasswordHasher,
        reports,
    },
};
use chrono::{DateTime, Datelike, Duration, Utc};
use delivery_support::*;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};

/// The reconciliation from `from` to today, which must find no difference.
async fn reconciles(
    w: &World,
    b: &str,
    from: &str,
    now: DateTime<Utc>,
) -> app::model::ReconcileReport {
    let to = now.date_naive().to_string();
    let r = reconcile::reconcile(&w.db, &w.finance, from, &to, 0, now)
        .await
        .expect(b);
    assert!(
        r.differences.is_empty() && r.balance_differences.is_empty(),
        "{b}: {:?} {:?}",
        r.differences,
        r.balance_differences
    );
    r
}

/// A streamed CSV download, whole.
async fn collect_csv(mut chunks: reports::export::CsvChunks) -> String {
    let mut bytes = Vec::new();
    while let Some(chunk) = chunks.recv().await {
        bytes.extend(chunk.expect("chunk"));
    }
    String::from_utf8(bytes).expect("utf-8")
}

/// Publishes bank details as `who`, typing the test users' password again.
async fn publish(
    db: &DatabaseConnection,
    who: &Actor,
    input: BankDetailsInput,
) -> Result<(), AppError> {
    app::service::settings::update_bank_details(
        db,
        &PasswordHasher::new(1),
        who,
        input,
        PASSWORD.to_owned(),
    )
    .await
}

struct World {
    db: DatabaseConnection,
    owner: Actor,
    finance: Actor,
    key: i64,
    engine: DeliveryEngine,
    start: DateTime<Utc>,
}

/// An advertiser in Tokyo with a credited balance and a running campaign on two channels.
async fn world(db: DatabaseConnection) -> World {
    set_setting(&db, "ad_slots_per_day", 24).await;
    // 01:00 UTC on the 1st of last month: a month that has ended, so it can be paid.
    let today = Utc::now().date_naive();
    let first = today
        .with_day(1)
        .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
        .expect("last month");
    let start = first.and_hms_opt(1, 0, 0).expect("time").and_utc();
    let owner = advertiser(&db, "owner@example.com", "Asia/Tokyo").await;
    let finance = staff(&db, "finance@example.com", PlatformRole::Finance).await;
    channel(&db, "news", 5_000, "en").await;
    channel(&db, "tech", 3_000, "en").await;
    let form = campaign_form("Correct me", Micros::units(3), Micros::units(5_000), None);
    let (campaign, _) = running_campaign(&db, &owner, form, start - Duration::hours(1)).await;
    backdate_start(&db, campaign, start - Duration::hours(1)).await;
    credit(
        &db,
        &owner,
        Micros::units(1_000),
        "wire-1",
        start - Duration::hours(1),
    )
    .await
    .expect("credit");
    let key = network_key(&db, start - Duration::hours(1)).await;
    World {
        db,
        owner,
        finance,
        key,
        engine: DeliveryEngine::default(),
        start,
    }
}

/// Delivers one slot on `handle` at `at` with `views` (an odd number, so the publisher's part
/// rounds); returns the decision.
async fn deliver(w: &World, handle: &str, slot: &str, views: i64, at: DateTime<Utc>) -> i64 {
    let Decided::Ad(answer) = delivery::decide(&w.db, &w.engine, w.key, handle, slot, at)
        .await
        .expect("decide")
    else {
        panic!("no ad for {handle} {slot}");
    };
    let event = EventInput {
        event_id: format!("{slot}-views"),
        decision_id: answer.decision_id,
        views,
        clicks: 1,
        at,
    };
    delivery::ingest(&w.db, &w.engine, w.key, &[event], at)
        .await
        .expect("ingest");
    answer.decision_id
}

fn by_decision(decision: i64, reason: &str) -> CorrectionInput {
    CorrectionInput {
        scope: "decision".into(),
        decision: decision.to_string(),
        reason: reason.into(),
        ..CorrectionInput::default()
    }
}

/// Σ of what corrections gave back of `decision`'s charges (both parts).
async fn reversed(db: &DatabaseConnection, decision: i64) -> i64 {
    app::entity::charge_reversal::Entity::find()
        .filter(app::entity::charge_reversal::Column::DecisionId.eq(decision))
        .all(db)
        .await
        .expect("reversals")
        .iter()
        .map(|r| r.publisher + r.platform)
        .sum()
}

/// Σ of post transfers of `decision` to each side: (publisher, platform).
async fn charged(db: &DatabaseConnection, decision: i64) -> (i64, i64) {
    let mut out = (0, 0);
    for t in ledger_transfer::Entity::find()
        .filter(ledger_transfer::Column::Kind.eq("post"))
        .filter(ledger_transfer::Column::ObjectId.eq(decision))
        .all(db)
        .await
        .expect("posts")
    {
        if t.idempotency_key.ends_with(":publisher") {
            out.0 += t.amount;
        } else {
            out.1 += t.amount;
        }
    }
    out
}

async fn balance(db: &DatabaseConnection, side: ledger::Side) -> Micros {
    ledger::balance_of(db, side, "EUR").await.expect("balance")
}

fn deciding(request: i64, approve: bool, reason: &str) -> DecideRequestInput {
    DecideRequestInput {
        request,
        approve,
        reason: reason.into(),
    }
}

/// A finance person may ask for a second person's approval of a correction of any size: it
/// waits like one above the threshold, its requester cannot approve it, another person can.
#[tokio::test]
async fn a_correction_can_ask_for_a_second_person_whatever_its_size() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let second = staff(&w.db, "second@example.com", PlatformRole::Finance).await;
        let d1 = deliver(&w, "news", "a1", 3_000, w.start).await;
        let owner = ledger::Side::balance(account(&w.owner).0);
        let now = Utc::now();
        let mut input = by_decision(d1, "Publisher reported bots; please check");
        input.ask_approval = true;
        let mut preview = input.clone();
        preview.preview = true;
        assert!(
            corrections::reverse(&w.db, &w.finance, preview, now)
                .await
                .expect(b)
                .needs_approval,
            "{b}: 1.50 is far below the threshold, but a second person was asked for"
        );
        let available = balance(&w.db, owner).await;
        let asked = corrections::reverse(&w.db, &w.finance, input, now)
            .await
            .expect(b);
        let request = asked.waiting.expect("waits although small");
        assert!(asked.id.is_none() && !asked.already_waiting, "{b}");
        assert_eq!(balance(&w.db, owner).await, available, "{b}");
        // The same correction without asking is pointed to the waiting request.
        let plain = corrections::reverse(&w.db, &w.finance, by_decision(d1, "Bots"), now)
            .await
            .expect(b);
        assert_eq!(
            (plain.waiting, plain.already_waiting),
            (Some(request), true),
            "{b}"
        );
        let own =
            correction_requests::decide(&w.db, &w.finance, deciding(request, true, ""), now).await;
        assert!(matches!(own, Err(AppError::Conflict(_))), "{b}: {own:?}");
        let done = correction_requests::decide(&w.db, &second, deciding(request, true, ""), now)
            .await
            .expect(b);
        assert!(done.id.is_some(), "{b}");
        assert_eq!(
            balance(&w.db, owner).await,
            Micros(available.0 + 1_500_000),
            "{b}"
        );
    }
}

/// A finance person who is a member of the charged account neither corrects its charges nor
/// approves someone else's correction of them: nobody moves their own account's money.
#[tokio::test]
async fn finance_does_not_correct_the_charges_of_their_own_account() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let member = staff(&w.db, "member@example.com", PlatformRole::Finance).await;
        w.db.execute_unprepared(&format!(
            "INSERT INTO account_member (account_id, user_id, role, created_at) \
             VALUES ({}, {}, 'analyst', CURRENT_TIMESTAMP)",
            account(&w.owner).0,
            member.user_id.0
        ))
        .await
        .expect("membership");
        let d1 = deliver(&w, "news", "own-1", 3_000, w.start).await;
        let now = Utc::now();
        let refused = corrections::reverse(&w.db, &member, by_decision(d1, "Mine"), now).await;
        assert!(
            matches!(&refused, Err(AppError::Conflict(m)) if m.contains("member of the ad account")),
            "{b}: {refused:?}"
        );
        // Another finance person asks for a second person; the member may not be that person.
        let mut asked = by_decision(d1, "Bots");
        asked.ask_approval = true;
        let request = corrections::reverse(&w.db, &w.finance, asked, now)
            .await
            .expect(b)
            .waiting
            .expect("waits");
        let approved =
            correction_requests::decide(&w.db, &member, deciding(request, true, ""), now).await;
        assert!(
            matches!(&approved, Err(AppError::Conflict(m)) if m.contains("member of the ad account")),
            "{b}: {approved:?}"
        );
        let other = staff(&w.db, "other@example.com", PlatformRole::Finance).await;
        let done = correction_requests::decide(&w.db, &other, deciding(request, true, ""), now)
            .await
            .expect(b);
        assert!(done.id.is_some(), "{b}: {done:?}");
    }
}

/// The two-person rule for corrections: above the threshold (counting what the same person
/// reversed alone in the last day, so it cannot be split into parts) a correction waits; its
/// requester can neither approve it (the service refuses, and so does the database) nor have
/// another person cancel it; an approval carries out exactly what was asked or nothing.
#[tokio::test]
async fn a_large_correction_waits_for_a_second_finance_person() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let second = staff(&w.db, "second@example.com", PlatformRole::Finance).await;
        // Alone at the minimum CPM (0.50): 3,000 views cost 1.50, 999 views 0.4995.
        let d1 = deliver(&w, "news", "s1", 3_000, w.start).await;
        let d2 = deliver(&w, "news", "s2", 3_000, w.start + Duration::hours(1)).await;
        let d3 = deliver(&w, "tech", "s3", 999, w.start + Duration::hours(2)).await;
        set_setting(&w.db, "finance_approval_units", 2).await;
        let owner = ledger::Side::balance(account(&w.owner).0);
        let now = Utc::now();

        // Within the threshold: carried out at once.
        let first = corrections::reverse(&w.db, &w.finance, by_decision(d1, "Bots"), now)
            .await
            .expect(b);
        assert!(
            first.id.is_some() && first.waiting.is_none(),
            "{b}: {first:?}"
        );
        assert_eq!(first.totals[0].amount, Micros(1_500_000), "{b}");

        // A second part that takes what this person reversed alone past the threshold waits.
        let available = balance(&w.db, owner).await;
        let mut preview = by_decision(d2, "More bots");
        preview.preview = true;
        assert!(
            corrections::reverse(&w.db, &w.finance, preview, now)
                .await
                .expect(b)
                .needs_approval,
            "{b}"
        );
        let asked = corrections::reverse(&w.db, &w.finance, by_decision(d2, "More bots"), now)
            .await
            .expect(b);
        let request = asked.waiting.expect("waits");
        assert!(
            asked.id.is_none() && asked.needs_approval && !asked.already_waiting,
            "{b}"
        );
        assert_eq!(
            balance(&w.db, owner).await,
            available,
            "{b}: nothing moved yet"
        );
        let again = corrections::reverse(&w.db, &w.finance, by_decision(d2, "More bots"), now)
            .await
            .expect(b);
        assert_eq!(
            (again.waiting, again.already_waiting),
            (Some(request), true),
            "{b}"
        );
        // Another finance person, who reversed nothing alone, is pointed to the same request
        // rather than carrying it out beside it.
        let theirs = corrections::reverse(&w.db, &second, by_decision(d2, "More bots"), now)
            .await
            .expect(b);
        assert_eq!(theirs.waiting, Some(request), "{b}");

        // The requester cannot decide it, through the service or in the database.
        let own =
            correction_requests::decide(&w.db, &w.finance, deciding(request, true, ""), now).await;
        assert!(matches!(own, Err(AppError::Conflict(_))), "{b}: {own:?}");
        let forged =
            w.db.execute_unprepared(&format!(
                "UPDATE correction_request SET status = 'rejected', decided_by = requested_by \
                 WHERE id = {request}"
            ))
            .await;
        assert!(forged.is_err(), "{b}: the database let a requester decide");
        // Nor can another person cancel it.
        let not_theirs = correction_requests::cancel(&w.db, &second, request, now).await;
        assert!(matches!(not_theirs, Err(AppError::Conflict(_))), "{b}");

        // The charges change before the approval (more views reported): the approval is
        // refused and nothing moves; the request still waits.
        let more = EventInput {
            event_id: "s2-more".into(),
            decision_id: d2,
            views: 500,
            clicks: 0,
            at: w.start + Duration::hours(1),
        };
        delivery::ingest(
            &w.db,
            &w.engine,
            w.key,
            &[more],
            w.start + Duration::hours(1),
        )
        .await
        .expect(b);
        let stale =
            correction_requests::decide(&w.db, &second, deciding(request, true, ""), now).await;
        assert!(
            matches!(stale, Err(AppError::Conflict(_))),
            "{b}: {stale:?}"
        );
        assert_eq!(balance(&w.db, owner).await, available, "{b}");
        let listed = correction_requests::list(&w.db, &second).await.expect(b);
        assert_eq!(listed.waiting.len(), 1, "{b}");
        assert!(!listed.waiting[0].mine, "{b}");
        correction_requests::cancel(&w.db, &w.finance, request, now)
            .await
            .expect(b);
        let twice = correction_requests::cancel(&w.db, &w.finance, request, now).await;
        assert!(matches!(twice, Err(AppError::Conflict(_))), "{b}");

        // Asked again (at its new amount): a rejection needs a reason.
        let asked = corrections::reverse(&w.db, &w.finance, by_decision(d2, "Bots confirmed"), now)
            .await
            .expect(b);
        let rejected = asked.waiting.expect("waits");
        assert_ne!(rejected, request, "{b}");
        assert_eq!(asked.totals[0].amount, Micros(1_750_000), "{b}");
        let no_reason =
            correction_requests::decide(&w.db, &second, deciding(rejected, false, " "), now).await;
        assert!(matches!(no_reason, Err(AppError::Invalid(_))), "{b}");
        correction_requests::decide(&w.db, &second, deciding(rejected, false, "Not proven"), now)
            .await
            .expect(b);
        assert_eq!(balance(&w.db, owner).await, available, "{b}");

        // Asked once more and approved by the second person: carried out, exactly as asked.
        let asked = corrections::reverse(&w.db, &w.finance, by_decision(d2, "Bots, proven"), now)
            .await
            .expect(b);
        let approved = asked.waiting.expect("waits");
        let done = correction_requests::decide(&w.db, &second, deciding(approved, true, ""), now)
            .await
            .expect(b);
        let correction = done.id.expect("carried out");
        assert_eq!(done.totals, asked.totals, "{b}");
        assert_eq!(
            balance(&w.db, owner).await,
            Micros(available.0 + 1_750_000),
            "{b}"
        );
        let twice =
            correction_requests::decide(&w.db, &second, deciding(approved, true, ""), now).await;
        assert!(
            matches!(twice, Err(AppError::Conflict(_))),
            "{b}: {twice:?}"
        );
        let made = corrections::list(&w.db, &w.finance, 0).await.expect(b);
        let row = made.iter().find(|r| r.id == correction).expect("listed");
        assert_eq!(row.by, "finance@example.com", "{b}");
        assert_eq!(
            row.approved_by.as_deref(),
            Some("second@example.com"),
            "{b}"
        );
        let listed = correction_requests::list(&w.db, &w.finance).await.expect(b);
        assert!(listed.waiting.is_empty(), "{b}");
        let statuses: Vec<_> = listed.recent.iter().map(|r| (r.id, r.status)).collect();
        assert_eq!(
            statuses,
            vec![
                (approved, FinanceRequestStatus::Done),
                (rejected, FinanceRequestStatus::Rejected),
                (request, FinanceRequestStatus::Cancelled),
            ],
            "{b}"
        );

        // What a second person approved does not count as reversed alone: 1.50 alone so far,
        // and 0.4995 more stays within 2.
        let small = corrections::reverse(&w.db, &w.finance, by_decision(d3, "Bots"), now)
            .await
            .expect(b);
        assert!(
            small.id.is_some() && small.waiting.is_none(),
            "{b}: {small:?}"
        );

        // An approval and a rejection at once: exactly one happens.
        let third = staff(&w.db, "third@example.com", PlatformRole::Finance).await;
        let d4 = deliver(&w, "tech", "s4", 999, w.start + Duration::hours(3)).await;
        let asked = corrections::reverse(&w.db, &w.finance, by_decision(d4, "Bots"), now)
            .await
            .expect(b);
        let raced = asked.waiting.expect("waits: 1.9995 alone already");
        let before = balance(&w.db, owner).await;
        let (approve, reject) = tokio::join!(
            correction_requests::decide(&w.db, &second, deciding(raced, true, ""), now),
            correction_requests::decide(&w.db, &third, deciding(raced, false, "No"), now),
        );
        assert!(
            approve.is_ok() != reject.is_ok(),
            "{b}: {approve:?} {reject:?}"
        );
        let moved = balance(&w.db, owner).await.0 - before.0;
        assert_eq!(moved, if approve.is_ok() { 499_500 } else { 0 }, "{b}");

        // Two parts at once by one person, each within the threshold, together above it: one is
        // carried out, the other waits (what one reversed alone is read under the lock both take).
        let d5 = deliver(&w, "news", "s5", 3_000, w.start + Duration::hours(4)).await;
        let d6 = deliver(&w, "news", "s6", 3_000, w.start + Duration::hours(5)).await;
        let before = balance(&w.db, owner).await;
        let (five, six) = tokio::join!(
            corrections::reverse(&w.db, &third, by_decision(d5, "Bots"), now),
            corrections::reverse(&w.db, &third, by_decision(d6, "Bots"), now),
        );
        let (five, six) = (five.expect(b), six.expect(b));
        let done = [&five, &six].iter().filter(|r| r.id.is_some()).count();
        let waits = [&five, &six].iter().filter(|r| r.waiting.is_some()).count();
        assert_eq!((done, waits), (1, 1), "{b}: {five:?} {six:?}");
        assert_eq!(balance(&w.db, owner).await.0 - before.0, 1_500_000, "{b}");
        assert!(
            ledger::check(&w.db).await.expect(b).problems.is_empty(),
            "{b}"
        );
        reconciles(&w, b, &w.start.date_naive().to_string(), now).await;
    }
}

/// An approval carries out the very charges that were asked for: when the charges of a
/// channel's period are replaced meanwhile by others of the same amount, the totals still match
/// but the approval refuses.
#[tokio::test]
async fn an_approval_refuses_charges_other_than_those_asked_for() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let second = staff(&w.db, "second@example.com", PlatformRole::Finance).await;
        let third = staff(&w.db, "third@example.com", PlatformRole::Finance).await;
        set_setting(&w.db, "finance_approval_units", 2).await;
        let now = Utc::now();
        // 1.50 reversed alone first, so the next 1.50 this person asks for waits.
        let other = deliver(&w, "tech", "t1", 3_000, w.start).await;
        corrections::reverse(&w.db, &w.finance, by_decision(other, "Bots"), now)
            .await
            .expect(b);
        let first = deliver(&w, "news", "n1", 3_000, w.start).await;
        let day = w.start.date_naive().to_string();
        let period = CorrectionInput {
            scope: "channel".into(),
            channel: "@news".into(),
            from: day.clone(),
            to: day,
            reason: "Bots on news that day".into(),
            ..CorrectionInput::default()
        };
        let asked = corrections::reverse(&w.db, &w.finance, period, now)
            .await
            .expect(b);
        let request = asked.waiting.expect("waits");
        // Meanwhile another person reverses that charge alone, and a new slot of the same
        // day is charged the same amount.
        corrections::reverse(&w.db, &third, by_decision(first, "Bots"), now)
            .await
            .expect(b)
            .id
            .expect("at once: within the threshold for this person");
        deliver(&w, "news", "n2", 3_000, w.start + Duration::hours(2)).await;
        let preview = CorrectionInput {
            scope: "channel".into(),
            channel: "news".into(),
            from: w.start.date_naive().to_string(),
            to: w.start.date_naive().to_string(),
            reason: "Same totals?".into(),
            preview: true,
            ..CorrectionInput::default()
        };
        let same = corrections::reverse(&w.db, &second, preview, now)
            .await
            .expect(b);
        assert_eq!(
            same.totals, asked.totals,
            "{b}: the totals alone cannot tell"
        );
        let owner = ledger::Side::balance(account(&w.owner).0);
        let before = balance(&w.db, owner).await;
        let refused =
            correction_requests::decide(&w.db, &second, deciding(request, true, ""), now).await;
        assert!(
            matches!(refused, Err(AppError::Conflict(_))),
            "{b}: {refused:?}"
        );
        assert_eq!(balance(&w.db, owner).await, before, "{b}");
        let listed = correction_requests::list(&w.db, &second).await.expect(b);
        assert_eq!(listed.waiting.len(), 1, "{b}: it still waits");
    }
}

#[tokio::test]
async fn a_reversal_gives_back_each_part_exactly_once() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let d1 = deliver(&w, "news", "s1", 1_333, w.start).await;
        let d2 = deliver(&w, "news", "s2", 777, w.start + Duration::hours(1)).await;
        let channel = delivery_decision::Entity::find_by_id(d1)
            .one(&w.db)
            .await
            .expect(b)
            .expect(b)
            .channel_id;
        let (publisher, platform) = charged(&w.db, d1).await;
        assert!(publisher > 0 && platform > 0, "{b}");
        let available = balance(&w.db, ledger::Side::balance(account(&w.owner).0)).await;
        let payable = balance(&w.db, ledger::Side::payable(channel)).await;
        let revenue = balance(&w.db, ledger::Side::revenue()).await;
        let now = Utc::now();

        // A preview writes nothing.
        let mut input = by_decision(d1, "Invalid traffic found by the publisher audit");
        input.preview = true;
        let preview = corrections::reverse(&w.db, &w.finance, input.clone(), now)
            .await
            .expect(b);
        assert_eq!(preview.id, None, "{b}");
        assert_eq!(
            preview.totals[0].amount,
            Micros(publisher + platform),
            "{b}"
        );
        assert_eq!(
            balance(&w.db, ledger::Side::revenue()).await,
            revenue,
            "{b}"
        );

        input.preview = false;
        let done = corrections::reverse(&w.db, &w.finance, input.clone(), now)
            .await
            .expect(b);
        assert!(done.id.is_some(), "{b}");
        assert_eq!(done.decisions, 1, "{b}");
        let t = &done.totals[0];
        assert_eq!((t.publisher.0, t.platform.0), (publisher, platform), "{b}");
        assert_eq!(
            balance(&w.db, ledger::Side::balance(account(&w.owner).0)).await,
            Micros(available.0 + publisher + platform),
            "{b}"
        );
        assert_eq!(
            balance(&w.db, ledger::Side::payable(channel)).await,
            Micros(payable.0 - publisher),
            "{b}"
        );
        assert_eq!(
            balance(&w.db, ledger::Side::revenue()).await,
            Micros(revenue.0 - platform),
            "{b}"
        );

        // The same correction again finds nothing left; the other decision is untouched.
        let again = corrections::reverse(&w.db, &w.finance, input, now)
            .await
            .expect(b);
        assert_eq!((again.id, again.decisions), (None, 0), "{b}");
        let (p2, f2) = charged(&w.db, d2).await;
        assert!(p2 + f2 > 0, "{b}");
        assert!(
            ledger::check(&w.db).await.expect(b).problems.is_empty(),
            "{b}"
        );

        // With a refund too, the figures an account is shown add up to what is available.
        app::service::finance::requests::refund(
            &w.db,
            &w.finance,
            refund_input(
                &w.owner,
                &latest_top_up(&w.db, &w.owner).await,
                "3",
                "OUT-1",
            ),
            now,
        )
        .await
        .expect(b);
        let figures = ledger::balance::summary(&w.db, account(&w.owner))
            .await
            .expect(b);
        assert_eq!(figures.given_back, Micros(publisher + platform), "{b}");
        assert_eq!(figures.refunded, Micros::units(3), "{b}");
        assert_eq!(
            figures.available.0,
            figures.credited.0 - figures.refunded.0 - figures.spent.0 + figures.given_back.0
                - figures.held.0,
            "{b}: {figures:?}"
        );

        // Reconciliation agrees to the micro-unit, reversal included.
        // Through tomorrow (UTC): the account's days are Tokyo's, which from 15:00 UTC is
        // already tomorrow there, and the reversal belongs to that day.
        let today = (now + Duration::days(1)).date_naive().to_string();
        let from = (w.start - Duration::days(1)).date_naive().to_string();
        let r = reconcile::reconcile(&w.db, &w.finance, &from, &today, 0, now)
            .await
            .expect(b);
        assert!(r.differences.is_empty(), "{b}: {:?}", r.differences);
        let row = &r.rows[0];
        assert_eq!(row.ledger_reversed, Micros(publisher + platform), "{b}");
        assert_eq!(row.rollup_reversed, row.ledger_reversed, "{b}");
        assert_eq!(row.corrections_reversed, row.ledger_reversed, "{b}");

        // Spend shows the charge and the reversal; net is what was kept.
        let s = spend::spend(&w.db, &w.finance, &from, &today, "month", 100, now)
            .await
            .expect(b);
        let total = &s.totals[0];
        let posted_all = charged(&w.db, d1).await;
        assert_eq!(
            total.charged,
            Micros(posted_all.0 + posted_all.1 + p2 + f2),
            "{b}"
        );
        assert_eq!(total.reversed, Micros(publisher + platform), "{b}");
        assert_eq!(total.net, Micros(p2 + f2), "{b}");
        let csv = spend::spend_csv(&s).expect(b);
        assert!(csv.starts_with("month,account_id,account,charged"), "{b}");

        // The advertiser's reports keep the charge on the day of its views and show the
        // reversal on the (Tokyo) day it was made.
        let tokyo: chrono_tz::Tz = "Asia/Tokyo".parse().expect("zone");
        let spend_on = |day: chrono::NaiveDate| {
            let query = ReportQuery {
                range: Some("custom".into()),
                from: Some(day.to_string()),
                to: Some(day.to_string()),
                by: Some(Breakdown::Day.code().into()),
                ..ReportQuery::default()
            };
            let (db, owner) = (&w.db, &w.owner);
            async move {
                reports::report(db, owner, &query, now)
                    .await
                    .expect("report")
                    .totals
                    .spend
            }
        };
        assert_eq!(
            spend_on(w.start.with_timezone(&tokyo).date_naive()).await,
            Micros(posted_all.0 + posted_all.1 + p2 + f2),
            "{b}: the original charge stays on its day"
        );
        assert_eq!(
            spend_on(now.with_timezone(&tokyo).date_naive()).await,
            Micros(-(publisher + platform)),
            "{b}: the reversal shows on the day it was made"
        );

        // An unknown or uncharged decision is said so beside its field.
        let err = corrections::reverse(&w.db, &w.finance, by_decision(999_999, "why not"), now)
            .await
            .expect_err(b);
        assert!(
            matches!(err, AppError::Invalid(ref f) if f.get("decision").is_some()),
            "{b}"
        );
    }
}

#[tokio::test]
async fn a_channel_correction_covers_its_period_and_payouts_move_the_payable_once() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let day1 = w.start;
        let a = deliver(&w, "tech", "t1", 1_001, day1).await;
        let c = deliver(&w, "tech", "t2", 999, day1 + Duration::days(1)).await;
        let other = deliver(&w, "news", "n1", 2_001, day1).await;
        let now = Utc::now();
        let input = CorrectionInput {
            scope: "channel".into(),
            channel: "@tech".into(),
            from: day1.date_naive().to_string(),
            to: day1.date_naive().to_string(),
            reason: "Bot traffic on the first day".into(),
            ..CorrectionInput::default()
        };
        let done = corrections::reverse(&w.db, &w.finance, input, now)
            .await
            .expect(b);
        let (pa, fa) = charged(&w.db, a).await;
        assert_eq!(done.decisions, 1, "{b}: only the first day's decision");
        assert_eq!(done.totals[0].amount, Micros(pa + fa), "{b}");
        let listed = corrections::list(&w.db, &w.finance, 0).await.expect(b);
        assert_eq!(listed.len(), 1, "{b}");
        assert!(listed[0].what.starts_with("@tech"), "{b}");

        // Payables of last month: accrued less reversed per channel; it has ended, so it can
        // be paid, and the running month cannot.
        let month = w.start.format("%Y-%m").to_string();
        let p = payables::payables(&w.db, &w.finance, &month, 100, now)
            .await
            .expect(b);
        let tech = p.rows.iter().find(|r| r.handle == "tech").expect(b);
        let (pc, _) = charged(&w.db, c).await;
        assert_eq!(tech.accrued, Micros(pa + pc), "{b}");
        assert_eq!(tech.reversed, Micros(pa), "{b}");
        assert_eq!(tech.owed, Micros(pc), "{b}");
        // The CSV streams every row, the page shows at most its limit and says so.
        let (name, chunks) = payables::payables_csv(
            w.db.clone(),
            &reports::export::Exports::default(),
            &w.finance,
            &month,
            now,
        )
        .await
        .expect(b);
        assert_eq!(name, format!("herald-payables-{month}.csv"), "{b}");
        let csv = collect_csv(chunks).await;
        assert!(csv.contains(",tech,"), "{b}: {csv}");
        assert_eq!(csv.lines().count(), p.rows.len() + 1, "{b}: {csv}");
        assert!(
            p.rows.len() > 1 && !p.truncated,
            "{b}: {} rows",
            p.rows.len()
        );
        let first = payables::payables(&w.db, &w.finance, &month, 1, now)
            .await
            .expect(b);
        assert!(first.truncated, "{b}");
        assert_eq!(first.rows, p.rows[..1], "{b}: largest owed first");
        assert_eq!(first.unpaid, p.unpaid, "{b}: totals are over every row");
        let pay = |reference: &str| PayoutInput {
            channel: tech.channel_id,
            currency: "EUR".into(),
            month: month.clone(),
            reference: reference.into(),
            ask_approval: false,
        };
        let running = PayoutInput {
            month: now.format("%Y-%m").to_string(),
            ..pay("PAY-0")
        };
        let err = payables::mark_paid(&w.db, &w.finance, running, now)
            .await
            .expect_err(b);
        assert!(
            matches!(err, AppError::Invalid(ref f) if f.get("month").is_some()),
            "{b}"
        );
        // A currency that is no code is a field error before anything is looked up or locked
        // (PostgreSQL would refuse the ledger account it names as too long for its column).
        let misspelt = PayoutInput {
            currency: "euro".into(),
            ..pay("PAY-0")
        };
        let err = payables::mark_paid(&w.db, &w.finance, misspelt, now)
            .await
            .expect_err(b);
        assert!(
            matches!(err, AppError::Invalid(ref f) if f.get("currency").is_some()),
            "{b}: {err:?}"
        );
        // A full-width reference looks like "PAY-0" but is other characters: refused beside
        // the field, naming the plain form.
        let err = payables::mark_paid(&w.db, &w.finance, pay("ＰＡＹ－０"), now)
            .await
            .expect_err(b);
        assert!(
            matches!(err, AppError::Invalid(ref f)
                if f.get("reference").is_some_and(|m| m.contains("“PAY-0”"))),
            "{b}: {err:?}"
        );
        // In the minutes after the month's end (ledger::SETTLE) a slot won in its last
        // moments may still be committing: not payable yet, and the page says so.
        let next_month = w
            .start
            .date_naive()
            .checked_add_months(chrono::Months::new(1))
            .expect(b);
        let end = next_month.and_hms_opt(0, 0, 0).expect(b).and_utc();
        for (at, payable) in [
            (end + Duration::seconds(299), false),
            (end + ledger::SETTLE, true),
        ] {
            let listed = payables::payables(&w.db, &w.finance, &month, 1, at)
                .await
                .expect(b);
            assert_eq!(listed.ended, payable, "{b} {at}");
        }
        let err = payables::mark_paid(&w.db, &w.finance, pay("PAY-1"), end + Duration::minutes(4))
            .await
            .expect_err(b);
        assert!(
            matches!(err, AppError::Invalid(ref f)
                if f.get("month").is_some_and(|m| m.contains("may still be arriving"))),
            "{b}: {err:?}"
        );
        // Its slots' holds are still open (not swept yet): they could still be charged, so
        // the month cannot be paid until they are settled.
        let err = payables::mark_paid(&w.db, &w.finance, pay("PAY-1"), now)
            .await
            .expect_err(b);
        assert!(
            matches!(err, AppError::Invalid(ref f)
                if f.get("month").is_some_and(|m| m.contains("still open"))),
            "{b}: {err:?}"
        );
        let swept = delivery::sweep::release_expired(&w.db, now, 100)
            .await
            .expect(b);
        assert!(swept.decisions >= 2, "{b}: {swept:?}");
        let later = now;
        let paid = payables::mark_paid(&w.db, &w.finance, pay("PAY-1"), later)
            .await
            .expect(b);
        assert_eq!(
            (paid.amount, paid.month.as_str()),
            (Micros(pc), month.as_str()),
            "{b}"
        );
        assert_eq!(paid.channel, tech.handle, "{b}");
        assert_eq!(
            balance(&w.db, ledger::Side::payable(tech.channel_id)).await,
            Micros(0),
            "{b}"
        );
        // Again with the same reference, however written: the same payout; another
        // reference: refused.
        for again in ["PAY-1", "pay 1"] {
            assert_eq!(
                payables::mark_paid(&w.db, &w.finance, pay(again), later)
                    .await
                    .expect(b)
                    .amount,
                Micros(pc),
                "{b}: {again}"
            );
        }
        assert!(
            payables::mark_paid(&w.db, &w.finance, pay("PAY-2"), later)
                .await
                .is_err(),
            "{b}"
        );
        // The page and the CSV show the payout; what is unpaid for the month is the other
        // channel's share only.
        let after = payables::payables(&w.db, &w.finance, &month, 100, later)
            .await
            .expect(b);
        let tech_after = after.rows.iter().find(|r| r.handle == "tech").expect(b);
        let (at, reference) = tech_after.paid.clone().expect("paid");
        assert_eq!(reference, "PAY-1", "{b}");
        assert!(at <= Utc::now(), "{b}");
        let news = after.rows.iter().find(|r| r.handle == "news").expect(b);
        assert!(news.paid.is_none(), "{b}");
        assert_eq!(after.unpaid, vec![("EUR".to_owned(), news.owed)], "{b}");
        let (_, chunks) = payables::payables_csv(
            w.db.clone(),
            &reports::export::Exports::default(),
            &w.finance,
            &month,
            later,
        )
        .await
        .expect(b);
        let csv = collect_csv(chunks).await;
        let line = csv.lines().find(|l| l.contains(",tech,")).expect(b);
        assert!(line.ends_with(",PAY-1"), "{b}: {line}");
        // Its month paid out, the channel's other charge of that month can no longer be reversed.
        let err = corrections::reverse(&w.db, &w.finance, by_decision(c, "too late"), later)
            .await
            .expect_err(b);
        assert!(
            matches!(err, AppError::Invalid(ref f) if f.get("scope").is_some()),
            "{b}"
        );
        let (po, fo) = charged(&w.db, other).await;
        assert!(po + fo > 0, "{b}");
        assert!(
            ledger::check(&w.db).await.expect(b).problems.is_empty(),
            "{b}"
        );
    }
}

/// A payout above the threshold is only a request until a different finance person approves
/// it: nothing leaves the payable before, the requester can neither decide it nor write the
/// row so, an approval pays exactly what was asked (and is refused once a correction changed
/// it), a rejection needs a reason, and only the requester cancels.
#[tokio::test]
async fn a_payout_above_the_threshold_waits_for_a_second_person() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let second = staff(&w.db, "second@example.com", PlatformRole::Finance).await;
        deliver(&w, "tech", "t1", 1_001, w.start).await;
        let n = deliver(&w, "news", "n1", 2_001, w.start).await;
        let now = Utc::now();
        delivery::sweep::release_expired(&w.db, now, 100)
            .await
            .expect(b);
        set_setting(&w.db, "finance_approval_units", 0).await;
        let month = w.start.format("%Y-%m").to_string();
        let rows = payables::payables(&w.db, &w.finance, &month, 100, now)
            .await
            .expect(b)
            .rows;
        let row = |handle: &str| rows.iter().find(|r| r.handle == handle).expect(b).clone();
        let (tech, news) = (row("tech"), row("news"));
        let pay = |r: &app::model::PayableRow, reference: &str| PayoutInput {
            channel: r.channel_id,
            currency: "EUR".into(),
            month: month.clone(),
            reference: reference.into(),
            ask_approval: false,
        };
        let payable = |r: &app::model::PayableRow| ledger::Side::payable(r.channel_id);

        // Marked paid above the threshold: a request, and nothing leaves the payable.
        let asked = payables::mark_paid(&w.db, &w.finance, pay(&tech, "PAY-T"), now)
            .await
            .expect(b);
        let request = asked.waiting.expect("waits");
        assert_eq!(asked.amount, tech.owed, "{b}");
        assert_eq!(balance(&w.db, payable(&tech)).await, tech.balance, "{b}");
        // Marked again, by anyone and with any reference: the same request, not a payout.
        let again = payables::mark_paid(&w.db, &second, pay(&tech, "PAY-OTHER"), now)
            .await
            .expect(b);
        assert_eq!(again.waiting, Some(request), "{b}");
        assert_eq!(balance(&w.db, payable(&tech)).await, tech.balance, "{b}");
        // The page shows it waiting, on its row and in the list; mine to its requester only.
        for (who, mine) in [(&w.finance, true), (&second, false)] {
            let listed = payables::payables(&w.db, who, &month, 100, now)
                .await
                .expect(b);
            let on_row = listed.rows.iter().find(|r| r.handle == "tech").expect(b);
            assert_eq!(on_row.waiting, Some((request, "PAY-T".to_owned())), "{b}");
            assert_eq!(listed.requests.waiting.len(), 1, "{b}");
            assert_eq!(listed.requests.waiting_total, 1, "{b}");
            let waiting = &listed.requests.waiting[0];
            assert_eq!(
                (waiting.amount, waiting.reference.as_str(), waiting.mine),
                (tech.owed, "PAY-T", mine),
                "{b}"
            );
        }

        // Its requester cannot decide it, through the service or by writing the row; nobody
        // else cancels it; a rejection needs a reason.
        let own =
            payout_requests::decide(&w.db, &w.finance, deciding(request, true, ""), now).await;
        assert!(matches!(own, Err(AppError::Conflict(_))), "{b}: {own:?}");
        let written =
            w.db.execute_unprepared(&format!(
                "UPDATE payout_request SET status = 'rejected', decided_by = requested_by \
                 WHERE id = {request}"
            ))
            .await;
        assert!(written.is_err(), "{b}: the database refuses it");
        let theirs = payout_requests::cancel(&w.db, &second, request, now).await;
        assert!(matches!(theirs, Err(AppError::Conflict(_))), "{b}");
        let bare = payout_requests::decide(&w.db, &second, deciding(request, false, "  "), now)
            .await
            .expect_err(b);
        assert!(
            matches!(bare, AppError::Invalid(ref f) if f.get("reason").is_some()),
            "{b}: {bare:?}"
        );

        // Two others approve at once: one payout, of exactly what was asked, with the
        // requester's reference, as marked by the requester; the other is told it was decided.
        let third = staff(&w.db, "third@example.com", PlatformRole::Finance).await;
        let (one, other) = tokio::join!(
            payout_requests::decide(&w.db, &second, deciding(request, true, ""), now),
            payout_requests::decide(&w.db, &third, deciding(request, true, ""), now),
        );
        assert!(one.is_ok() != other.is_ok(), "{b}: {one:?} / {other:?}");
        let loser = one.as_ref().err().or(other.as_ref().err()).expect(b);
        assert!(matches!(loser, AppError::Conflict(_)), "{b}: {loser:?}");
        let approved = one.or(other).expect(b);
        assert_eq!(approved.status, FinanceRequestStatus::Done, "{b}");
        assert_eq!(approved.payout.amount, tech.owed, "{b}");
        assert_eq!(
            balance(&w.db, payable(&tech)).await,
            Micros(tech.balance.0 - tech.owed.0),
            "{b}"
        );
        let payout = app::entity::publisher_payout::Entity::find()
            .filter(app::entity::publisher_payout::Column::ChannelId.eq(tech.channel_id))
            .one(&w.db)
            .await
            .expect(b)
            .expect("paid");
        assert_eq!(
            (payout.amount, payout.reference.as_str(), payout.paid_by),
            (tech.owed.0, "PAY-T", w.finance.user_id.0),
            "{b}"
        );
        let payouts = app::entity::publisher_payout::Entity::find()
            .filter(app::entity::publisher_payout::Column::ChannelId.eq(tech.channel_id))
            .count(&w.db)
            .await
            .expect(b);
        assert_eq!(payouts, 1, "{b}: paid once");
        let twice = payout_requests::decide(&w.db, &second, deciding(request, true, ""), now).await;
        assert!(
            matches!(twice, Err(AppError::Conflict(_))),
            "{b}: {twice:?}"
        );
        // Marked paid again with its reference: the payout made, answered as paid.
        let repeat = payables::mark_paid(&w.db, &w.finance, pay(&tech, "pay t"), now)
            .await
            .expect(b);
        assert_eq!((repeat.waiting, repeat.amount), (None, tech.owed), "{b}");

        // Its requester cancels a request; asked again, it is a new one.
        let cancelled = payables::mark_paid(&w.db, &w.finance, pay(&news, "PAY-N"), now)
            .await
            .expect(b)
            .waiting
            .expect("waits");
        payout_requests::cancel(&w.db, &w.finance, cancelled, now)
            .await
            .expect(b);
        // Asked again it is a new one — below the threshold too, when its requester asks for
        // a second person.
        set_setting(&w.db, "finance_approval_units", 10_000).await;
        let ask = PayoutInput {
            ask_approval: true,
            ..pay(&news, "PAY-N")
        };
        let asked = payables::mark_paid(&w.db, &w.finance, ask, now)
            .await
            .expect(b)
            .waiting
            .expect("waits");
        assert_ne!(asked, cancelled, "{b}");
        // Waiting, its money has left the bank: below the threshold, which no longer asks for
        // a second person, marking it paid again answers the request and pays nothing; the
        // month counts as not unpaid; and its charges cannot be reversed.
        let again = payables::mark_paid(&w.db, &second, pay(&news, "PAY-N2"), now)
            .await
            .expect(b);
        assert_eq!(again.waiting, Some(asked), "{b}");
        assert_eq!(balance(&w.db, payable(&news)).await, news.balance, "{b}");
        let listed = payables::payables(&w.db, &w.finance, &month, 100, now)
            .await
            .expect(b);
        assert!(listed.unpaid.is_empty(), "{b}: {:?}", listed.unpaid);
        let on_row = listed.rows.iter().find(|r| r.handle == "news").expect(b);
        assert_eq!(on_row.waiting, Some((asked, "PAY-N".to_owned())), "{b}");
        // The payout run's CSV says so, so the next run does not pay it twice.
        let (_, chunks) = payables::payables_csv(
            w.db.clone(),
            &reports::export::Exports::default(),
            &w.finance,
            &month,
            now,
        )
        .await
        .expect(b);
        let csv = collect_csv(chunks).await;
        let line = csv.lines().find(|l| l.contains(",news,")).expect(b);
        assert!(
            line.ends_with(&format!(",waiting_approval,{asked},,PAY-N")),
            "{b}: {line}"
        );
        let refused = corrections::reverse(&w.db, &second, by_decision(n, "Bot traffic"), now)
            .await
            .expect_err(b);
        assert!(
            matches!(refused, AppError::Invalid(ref f)
                if f.get("scope").is_some_and(|m| m.contains("waits for a second finance person"))),
            "{b}: {refused:?}"
        );
        // An approval pays only what was asked: a request whose month owes another amount
        // (here written into the row) is refused and stays waiting.
        w.db.execute_unprepared(&format!(
            "UPDATE payout_request SET amount = amount + 1 WHERE id = {asked}"
        ))
        .await
        .expect(b);
        let changed = payout_requests::decide(&w.db, &second, deciding(asked, true, ""), now).await;
        assert!(
            matches!(changed, Err(AppError::Conflict(_))),
            "{b}: {changed:?}"
        );
        assert_eq!(balance(&w.db, payable(&news)).await, news.balance, "{b}");
        // Rejected with a reason, it is over: the month is unpaid again and can be corrected.
        let rejected =
            payout_requests::decide(&w.db, &second, deciding(asked, false, "Corrected"), now)
                .await
                .expect(b);
        assert_eq!(rejected.status, FinanceRequestStatus::Rejected, "{b}");
        corrections::reverse(&w.db, &second, by_decision(n, "Bot traffic"), now)
            .await
            .expect(b);
        assert_eq!(
            balance(&w.db, payable(&news)).await,
            Micros(0),
            "{b}: all given back"
        );
        let listed = payables::payables(&w.db, &w.finance, &month, 100, now)
            .await
            .expect(b);
        assert!(listed.requests.waiting.is_empty(), "{b}");
        let statuses: Vec<_> = listed
            .requests
            .recent
            .iter()
            .map(|r| (r.id, r.status))
            .collect();
        assert_eq!(
            statuses,
            [
                (asked, FinanceRequestStatus::Rejected),
                (cancelled, FinanceRequestStatus::Cancelled),
                (request, FinanceRequestStatus::Done),
            ],
            "{b}"
        );
        assert_eq!(listed.requests.recent[0].rejection, "Corrected", "{b}");
        assert!(
            ledger::check(&w.db).await.expect(b).problems.is_empty(),
            "{b}"
        );
    }
}

#[tokio::test]
async fn a_correction_beside_a_payout_never_takes_back_a_paid_share() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let first = deliver(&w, "tech", "t1", 1_001, w.start).await;
        let second = deliver(&w, "tech", "t2", 999, w.start + Duration::days(1)).await;
        let now = Utc::now();
        // A slot of this month: the channel's payable holds more than last month owes, so a
        // correction that missed the payout would still find enough to take back.
        let current = deliver(&w, "tech", "t3", 1_001, now).await;
        delivery::sweep::release_expired(&w.db, now, 100)
            .await
            .expect(b);
        let tech = delivery_decision::Entity::find_by_id(first)
            .one(&w.db)
            .await
            .expect(b)
            .expect(b)
            .channel_id;
        let (p1, _) = charged(&w.db, first).await;
        let (p2, _) = charged(&w.db, second).await;
        let (p3, _) = charged(&w.db, current).await;
        let payable = ledger::Side::payable(tech);
        assert_eq!(balance(&w.db, payable).await, Micros(p1 + p2 + p3), "{b}");

        // The payout and the correction start while something else holds the payable, then
        // run as the database lets them.
        let holder = w.db.begin().await.expect(b);
        ledger::lock(&holder, payable, "EUR", now).await.expect(b);
        let input = PayoutInput {
            channel: tech,
            currency: "EUR".into(),
            month: w.start.format("%Y-%m").to_string(),
            reference: "PAY-RACE".into(),
            ask_approval: false,
        };
        let (db, finance) = (w.db.clone(), w.finance.clone());
        let payout =
            tokio::spawn(async move { payables::mark_paid(&db, &finance, input, now).await });
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let (db, finance) = (w.db.clone(), w.finance.clone());
        let correction = tokio::spawn(async move {
            corrections::reverse(&db, &finance, by_decision(first, "Bots"), now).await
        });
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        holder.commit().await.expect(b);
        let paid = payout.await.expect(b).expect(b);
        match correction.await.expect(b) {
            // The correction went first: the payout paid what was left.
            Ok(done) => {
                assert_eq!(done.decisions, 1, "{b}");
                assert_eq!(
                    paid.amount,
                    Micros(p2),
                    "{b}: the reversed share is not paid"
                );
            }
            // The payout went first: its month can no longer give the publisher's part back.
            Err(AppError::Invalid(f)) if f.get("scope").is_some() => {
                assert_eq!(paid.amount, Micros(p1 + p2), "{b}");
            }
            Err(other) => panic!("{b}: {other:?}"),
        }
        assert_eq!(
            balance(&w.db, payable).await,
            Micros(p3),
            "{b}: only this month's share is left"
        );
        assert!(
            ledger::check(&w.db).await.expect(b).problems.is_empty(),
            "{b}"
        );
    }
}

/// Corrections of a channel's decisions while events for the same decisions are posted: both
/// take their locks in one order (revenue, then decisions, then the other accounts), so on
/// PostgreSQL they queue instead of deadlocking; every call succeeds, each decision gives back
/// at most what it was charged, and the books and the reconciliation agree afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn corrections_racing_event_posting_keep_the_books() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let mut decisions = Vec::new();
        for day in 0..6 {
            let at = w.start + Duration::days(day);
            decisions.push((
                deliver(&w, "tech", &format!("race-{day}"), 1_001, at).await,
                at,
            ));
        }
        let now = Utc::now();
        let deadlocks = app::error::deadlocks_seen();
        let post = async {
            for (i, (decision, at)) in decisions.iter().enumerate() {
                let more = EventInput {
                    event_id: format!("race-more-{i}"),
                    decision_id: *decision,
                    views: 999,
                    clicks: 0,
                    at: *at + Duration::minutes(5),
                };
                let results =
                    delivery::ingest(&w.db, &w.engine, w.key, &[more], *at + Duration::minutes(5))
                        .await
                        .expect("ingest beside a correction");
                assert!(
                    matches!(results[0], delivery::EventResult::Accepted { .. }),
                    "{results:?}"
                );
            }
        };
        let correct = async {
            for (decision, _) in &decisions {
                corrections::reverse(&w.db, &w.finance, by_decision(*decision, "bots"), now)
                    .await
                    .expect("a correction beside posting");
            }
        };
        tokio::join!(post, correct);
        // Retries would hide a deadlock from the calls: PostgreSQL reports each one.
        assert_eq!(
            app::error::deadlocks_seen(),
            deadlocks,
            "{b}: a correction and posting deadlocked"
        );
        for (decision, _) in &decisions {
            let (publisher, platform) = charged(&w.db, *decision).await;
            let reversed = reversed(&w.db, *decision).await;
            assert!(
                reversed > 0 && reversed <= publisher + platform,
                "{b}: {decision}"
            );
        }
        assert!(
            ledger::check(&w.db).await.expect(b).problems.is_empty(),
            "{b}"
        );
        let from = (w.start - Duration::days(1)).date_naive().to_string();
        reconciles(&w, b, &from, now).await;
    }
}

/// Approvals of waiting corrections race event posting on the same decisions: nothing
/// deadlocks (an approval locks what a correction locks, in posting's order), each approval
/// either carries out exactly what was asked or refuses because views were posted since, and
/// the books still balance.
#[tokio::test]
async fn approvals_racing_event_posting_keep_the_books() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let second = staff(&w.db, "second@example.com", PlatformRole::Finance).await;
        set_setting(&w.db, "finance_approval_units", 0).await;
        let now = Utc::now();
        let mut waiting = Vec::new();
        for day in 0..6 {
            let at = w.start + Duration::days(day);
            let decision = deliver(&w, "tech", &format!("race-{day}"), 1_001, at).await;
            let asked = corrections::reverse(&w.db, &w.finance, by_decision(decision, "bots"), now)
                .await
                .expect(b);
            waiting.push((decision, at, asked.waiting.expect("waits above zero")));
        }
        let deadlocks = app::error::deadlocks_seen();
        let post = async {
            for (i, (decision, at, _)) in waiting.iter().enumerate() {
                let more = EventInput {
                    event_id: format!("race-more-{i}"),
                    decision_id: *decision,
                    views: 999,
                    clicks: 0,
                    at: *at + Duration::minutes(5),
                };
                delivery::ingest(&w.db, &w.engine, w.key, &[more], *at + Duration::minutes(5))
                    .await
                    .expect("ingest beside an approval");
            }
        };
        let approve = async {
            let mut outcomes = Vec::new();
            for (_, _, request) in &waiting {
                outcomes.push(
                    correction_requests::decide(&w.db, &second, deciding(*request, true, ""), now)
                        .await,
                );
            }
            outcomes
        };
        let ((), outcomes) = tokio::join!(post, approve);
        assert_eq!(
            app::error::deadlocks_seen(),
            deadlocks,
            "{b}: an approval and posting deadlocked"
        );
        for ((decision, ..), outcome) in waiting.iter().zip(&outcomes) {
            let reversed = reversed(&w.db, *decision).await;
            match outcome {
                // Carried out: exactly the 1,001 views asked for (0.5005 at 0.50 CPM).
                Ok(done) => assert_eq!(
                    (done.id.is_some(), reversed),
                    (true, 500_500),
                    "{b}: {decision}"
                ),
                Err(AppError::Conflict(_)) => assert_eq!(reversed, 0, "{b}: {decision}"),
                Err(e) => panic!("{b}: {decision}: {e:?}"),
            }
        }
        assert!(
            ledger::check(&w.db).await.expect(b).problems.is_empty(),
            "{b}"
        );
        let from = (w.start - Duration::days(1)).date_naive().to_string();
        reconciles(&w, b, &from, now).await;
    }
}

#[tokio::test]
async fn reconciliation_of_a_period_finds_an_injected_difference() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        deliver(&w, "news", "r1", 1_500, w.start).await;
        let now = Utc::now();
        let from = (w.start - Duration::days(1)).date_naive().to_string();
        let to = now.date_naive().to_string();
        let clean = reconcile::reconcile(&w.db, &w.finance, &from, &to, 0, now)
            .await
            .expect(b);
        assert!(clean.differences.is_empty(), "{b}");
        assert_eq!((clean.rows.len(), clean.accounts), (1, 1), "{b}");
        assert!(clean.rows[0].ledger_charged.0 > 0, "{b}");
        let past_the_last = reconcile::reconcile(&w.db, &w.finance, &from, &to, 7, now)
            .await
            .expect(b);
        assert_eq!(
            (past_the_last.page, past_the_last.rows),
            (0, clean.rows.clone()),
            "{b}: a page past the last is the last"
        );
        w.db.execute_unprepared("UPDATE delivery_rollup SET spend_micros = spend_micros + 1")
            .await
            .expect(b);
        let found = reconcile::reconcile(&w.db, &w.finance, &from, &to, 0, now)
            .await
            .expect(b);
        assert_eq!(
            (found.differences.len(), found.differences_total),
            (1, 1),
            "{b}"
        );
        assert_eq!(found.differences[0].account_id, account(&w.owner).0, "{b}");
        assert_eq!(
            found.differences[0].differences_by_kind()[0].1,
            TransferKind::Post,
            "{b}: a spend difference points at the account's charges"
        );
        assert!(
            found.differences[0].differences()[0].contains("rollup"),
            "{b}: {:?}",
            found.differences[0].differences()
        );
    }
}

/// The ledger's own check (run in the database) finds each way its books can be wrong: a
/// cached balance that is not the replay of its transfers, an account that must not be
/// negative and is, a transfer in another currency than its accounts, balances of a currency
/// that do not sum to zero; and lists at most `MAX_PROBLEM_ACCOUNTS` accounts. The
/// reconciliation page shows what it finds.
#[tokio::test]
async fn the_ledger_check_finds_each_kind_of_broken_book() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        deliver(&w, "news", "k1", 1_500, w.start).await;
        let sound = ledger::check(&w.db).await.expect(b);
        assert!(sound.problems.is_empty(), "{b}: {:?}", sound.problems);
        assert!(sound.transfers >= 4, "{b}: top-up, hold, post, split");
        assert!(sound.accounts >= 5, "{b}");
        assert!(sound.moved.get("EUR").copied().unwrap_or(0) > 0, "{b}");
        let balance = ledger::account_id(
            &w.db,
            ledger::Side::balance(account(&w.owner).0),
            "EUR",
            Utc::now(),
        )
        .await
        .expect(b);

        // A cached balance one micro-unit more than its transfers give (and so the currency's
        // sum too); the row agrees with itself, as the database insists.
        w.db.execute_unprepared(&format!(
            "UPDATE ledger_account SET credits = credits + 1, balance = balance + 1 \
             WHERE id = {balance}"
        ))
        .await
        .expect(b);
        let found = ledger::check(&w.db).await.expect(b).problems;
        assert!(
            found
                .iter()
                .any(|p| p.starts_with(&format!("account {balance} ")) && p.contains("replayed")),
            "{b}: {found:?}"
        );
        assert!(
            found.iter().any(|p| p.contains("sum to 1, not zero")),
            "{b}: {found:?}"
        );
        let now = Utc::now();
        let from = (w.start - Duration::days(1)).date_naive().to_string();
        let to = now.date_naive().to_string();
        let page = reconcile::reconcile(&w.db, &w.finance, &from, &to, 0, now)
            .await
            .expect(b);
        assert_eq!(page.balance_differences, found, "{b}");
        w.db.execute_unprepared(&format!(
            "UPDATE ledger_account SET credits = credits - 1, balance = balance - 1 \
             WHERE id = {balance}"
        ))
        .await
        .expect(b);
        let mended = ledger::check(&w.db).await.expect(b).problems;
        assert!(mended.is_empty(), "{b}: {mended:?}");

        // A balance below zero, or one that is not credits less debits, the database refuses.
        for broken in [
            "balance = -5, debits = credits + 5",
            "balance = balance + 1",
        ] {
            let refused =
                w.db.execute_unprepared(&format!(
                    "UPDATE ledger_account SET {broken} WHERE id = {balance}"
                ))
                .await;
            assert!(refused.is_err(), "{b}: {broken}");
        }

        // A transfer in another currency between EUR accounts.
        let external = ledger::account_id(&w.db, ledger::Side::external(), "EUR", Utc::now())
            .await
            .expect(b);
        w.db.execute_unprepared(&format!(
            "INSERT INTO ledger_transfer (debit_account_id, credit_account_id, amount, currency, \
             kind, object_type, object_id, idempotency_key, created_at) VALUES \
             ({external}, {balance}, 7, 'USD', 'top_up', 'account', 1, 'injected', \
             '2026-01-01 00:00:00')"
        ))
        .await
        .expect(b);
        let found = ledger::check(&w.db).await.expect(b).problems;
        assert!(
            found.contains(&format!(
                "transfers in USD touch account {balance} kept in EUR"
            )),
            "{b}: {found:?}"
        );
        assert!(
            found.contains(&format!(
                "transfers in USD touch account {external} kept in EUR"
            )),
            "{b}: {found:?}"
        );

        // Many accounts off: the first MAX_PROBLEM_ACCOUNTS are listed, then one line.
        let many = ledger::check::MAX_PROBLEM_ACCOUNTS + 5;
        for i in 0..many {
            ledger::account_id(&w.db, ledger::Side::payable(100_000 + i as i64), "EUR", now)
                .await
                .expect(b);
        }
        w.db.execute_unprepared(
            "UPDATE ledger_account SET credits = credits + 1, balance = balance + 1 \
             WHERE kind = 'publisher_payable' AND owner_id >= 100000",
        )
        .await
        .expect(b);
        let found = ledger::check(&w.db).await.expect(b).problems;
        let named: std::collections::BTreeSet<&str> = found
            .iter()
            .filter_map(|p| {
                p.strip_prefix("account ")
                    .or_else(|| p.split("touch account ").nth(1))
            })
            .filter_map(|rest| rest.split(' ').next())
            .collect();
        assert_eq!(
            named.len(),
            ledger::check::MAX_PROBLEM_ACCOUNTS,
            "{b}: {found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("more than 100 ledger accounts differ")),
            "{b}: {found:?}"
        );
    }
}

#[tokio::test]
async fn only_finance_moves_money_and_admins_read() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let d = deliver(&w, "news", "x1", 1_000, w.start).await;
        let admin = staff(&w.db, "admin@example.com", PlatformRole::Admin).await;
        let moderator = staff(&w.db, "mod@example.com", PlatformRole::Moderator).await;
        let now = Utc::now();
        let (from, to) = ("", "");
        for who in [&w.owner, &moderator] {
            assert!(
                matches!(
                    corrections::reverse(&w.db, who, by_decision(d, "mine"), now).await,
                    Err(AppError::Forbidden)
                ),
                "{b}"
            );
            assert!(
                matches!(
                    corrections::list(&w.db, who, 0).await,
                    Err(AppError::Forbidden)
                ),
                "{b}"
            );
            assert!(
                matches!(
                    spend::spend(&w.db, who, from, to, "", 10, now).await,
                    Err(AppError::Forbidden)
                ),
                "{b}"
            );
            assert!(
                matches!(
                    payables::payables(&w.db, who, "", 10, now).await,
                    Err(AppError::Forbidden)
                ),
                "{b}"
            );
            assert!(
                matches!(
                    reconcile::reconcile(&w.db, who, from, to, 0, now).await,
                    Err(AppError::Forbidden)
                ),
                "{b}"
            );
        }
        // Admins read every page and change nothing.
        assert!(
            spend::spend(&w.db, &admin, from, to, "", 10, now)
                .await
                .is_ok(),
            "{b}"
        );
        assert!(
            reconcile::reconcile(&w.db, &admin, from, to, 0, now)
                .await
                .is_ok(),
            "{b}"
        );
        let p = payables::payables(&w.db, &admin, "", 10, now)
            .await
            .expect(b);
        assert!(!p.can_pay, "{b}");
        assert!(
            matches!(
                corrections::reverse(&w.db, &admin, by_decision(d, "admin"), now).await,
                Err(AppError::Forbidden)
            ),
            "{b}"
        );
        // Bad input is named by field.
        let err = spend::spend(&w.db, &w.finance, "2026-13-01", "", "", 10, now)
            .await
            .expect_err(b);
        assert!(
            matches!(err, AppError::Invalid(ref f) if f.get("from").is_some()),
            "{b}"
        );
        let err = payables::payables(&w.db, &w.finance, "May", 10, now)
            .await
            .expect_err(b);
        assert!(
            matches!(err, AppError::Invalid(ref f) if f.get("month").is_some()),
            "{b}"
        );
        // No month chosen: the latest that can be paid, for the payout run — last month,
        // or the one before while last month's slots settle (until 00:05 UTC on the 1st).
        let at = |text: &str| text.parse::<DateTime<Utc>>().expect("time");
        for (when, month) in [
            ("2026-12-15T12:00:00Z", "2026-11"),
            ("2026-12-01T00:05:00Z", "2026-11"),
            ("2026-12-01T00:04:59Z", "2026-10"),
            ("2027-01-01T00:00:00Z", "2026-11"),
            ("2027-01-31T23:59:59Z", "2026-12"),
            ("2027-03-01T08:00:00Z", "2027-02"),
        ] {
            let shown = payables::payables(&w.db, &w.finance, "", 10, at(when))
                .await
                .expect(b);
            assert_eq!(shown.month, month, "{b}: at {when}");
        }
    }
}

/// The balances page's "spent this month" is each listed account's net charges since the
/// UTC month began (charges less reversals), read for that page's accounts only; last
/// month's charges and other accounts' do not count.
#[tokio::test]
async fn the_balances_page_shows_each_accounts_spend_this_month() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let other = advertiser(&w.db, "other@example.com", "UTC").await;
        let now = Utc::now();
        let last_month = deliver(&w, "tech", "t1", 1_001, w.start).await;
        let current = deliver(&w, "news", "n1", 2_000, now).await;
        let (pl, fl) = charged(&w.db, last_month).await;
        let (pc, fc) = charged(&w.db, current).await;
        assert!(pl + fl > 0 && pc + fc > 0, "{b}");
        let listed = app::service::finance::accounts(&w.db, &w.finance, "", "name", 0)
            .await
            .expect(b);
        let row = |id: i64| {
            listed
                .rows
                .iter()
                .find(|r| r.id.0 == id)
                .unwrap_or_else(|| panic!("{b}: account {id} listed"))
        };
        assert_eq!(
            row(account(&w.owner).0).spent_this_month,
            Micros(pc + fc),
            "{b}: this month's charge only"
        );
        assert_eq!(row(account(&other).0).spent_this_month, Micros(0), "{b}");
        // The same figure as the spend report of this month.
        let month_start = now.date_naive().with_day(1).expect(b).to_string();
        let report = spend::spend(
            &w.db,
            &w.finance,
            &month_start,
            &now.date_naive().to_string(),
            "month",
            100,
            now,
        )
        .await
        .expect(b);
        let net: i64 = report
            .rows
            .iter()
            .filter(|r| r.account_id == account(&w.owner).0)
            .map(|r| r.net.0)
            .sum();
        assert_eq!(Micros(net), Micros(pc + fc), "{b}");
    }
}

/// An account that changes its time zone keeps reconciling to zero: its events are compared
/// with the rollups by the day they were filed under then, not by their time in the new zone
/// (Tokyo's 1st at 10:00 is Los Angeles's last day of the month before, outside a period
/// that begins on the 1st).
#[tokio::test]
async fn reconciliation_stays_clean_after_a_time_zone_change() {
    use app::{model::AccountSettingsInput, service::accounts};
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        deliver(&w, "news", "z1", 1_500, w.start).await;
        deliver(&w, "tech", "z2", 900, w.start + Duration::days(2)).await;
        let now = Utc::now();
        let input = AccountSettingsInput {
            name: "Tokyo Roasters".into(),
            time_zone: "America/Los_Angeles".into(),
        };
        accounts::update_settings(&w.db, &w.owner, input, now)
            .await
            .expect(b);
        let r = reconciles(&w, b, &w.start.date_naive().to_string(), now).await;
        let row = r
            .rows
            .iter()
            .find(|row| row.account_id == account(&w.owner).0)
            .expect(b);
        assert!(row.events_spend.0 > 0, "{b}: {row:?}");
        assert_eq!(row.events_spend, row.rollup_spend, "{b}: {row:?}");
    }
}

/// Finance's account search ignores case on both databases (a name beyond A–Z is found as
/// typed) and takes `%` and `_` literally;
/// the list sorts by last credit.
#[tokio::test]
async fn the_account_search_ignores_case_and_wildcards() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let other = advertiser(&w.db, "Other_Shop@example.com", "UTC").await;
        let found = |q: &'static str| {
            let (db, finance) = (&w.db, &w.finance);
            async move {
                app::service::finance::accounts(db, finance, q, "name", 0)
                    .await
                    .expect(b)
                    .rows
                    .into_iter()
                    .map(|r| r.id.0)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(found("ADS OF OTHER_SHOP").await, [account(&other).0], "{b}");
        assert_eq!(found("other_shop").await, [account(&other).0], "{b}");
        assert!(
            found("other%shop").await.is_empty(),
            "{b}: % is a character"
        );
        assert!(
            found("ads of othe_").await.is_empty(),
            "{b}: _ is a character"
        );
        // Beyond A–Z: the name as typed is found on both databases.
        let umlaut = advertiser(&w.db, "oel@example.com", "UTC").await;
        w.db.execute_unprepared(&format!(
            "UPDATE ad_account SET name = 'Ölwerk GmbH' WHERE id = {}",
            account(&umlaut).0
        ))
        .await
        .expect(b);
        assert_eq!(found("Ölwerk").await, [account(&umlaut).0], "{b}");
        assert_eq!(found("ÖLWERK gmbh").await, [account(&umlaut).0], "{b}");
        // Sorted by last credit: the account credited just now first, one never credited after.
        let never = advertiser(&w.db, "never@example.com", "UTC").await;
        credit(&w.db, &other, Micros::units(5), "wire-new", Utc::now())
            .await
            .expect(b);
        let sorted: Vec<i64> =
            app::service::finance::accounts(&w.db, &w.finance, "", "last_credit", 0)
                .await
                .expect(b)
                .rows
                .into_iter()
                .map(|r| r.id.0)
                .collect();
        assert_eq!(sorted.first(), Some(&account(&other).0), "{b}: {sorted:?}");
        let at = |id: i64| sorted.iter().position(|s| *s == id).expect(b);
        assert!(
            at(account(&w.owner).0) < at(account(&never).0),
            "{b}: an account never credited comes after the credited ones: {sorted:?}"
        );
    }
}

/// How an advertiser pays: the balance page shows the account's payment reference and the
/// bank details an admin published (kept tidy, refused when malformed, audited, withdrawn
/// when emptied); finance finds the account by that reference however a bank prints it.
#[tokio::test]
async fn advertisers_see_where_to_pay_and_finance_finds_them_by_reference() {
    use app::model::{BankDetailsInput, account_of_reference, payment_reference};
    use app::service::settings;
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let admin = staff(&w.db, "admin@example.com", PlatformRole::Admin).await;
        let details = |text: &str| BankDetailsInput {
            bank_details: text.to_owned(),
        };
        let page = ledger::balance::page(&w.db, &w.owner, 0).await.expect(b);
        let reference = payment_reference(account(&w.owner));
        assert_eq!(page.funding.reference, reference, "{b}");
        assert_eq!(
            page.funding.bank_details, None,
            "{b}: nothing published yet"
        );
        assert_eq!(account_of_reference(&reference), Some(account(&w.owner)));

        for who in [&w.owner, &w.finance] {
            assert_eq!(
                publish(&w.db, who, details("Payee")).await,
                Err(AppError::Forbidden),
                "{b}: only admins publish bank details"
            );
        }
        // The admin types their password again: none, or a wrong one, changes nothing.
        for (wrong, why) in [
            ("", "no password"),
            ("violet harbour 42 kite", "a wrong one"),
        ] {
            let Err(AppError::Invalid(errors)) = settings::update_bank_details(
                &w.db,
                &PasswordHasher::new(1),
                &admin,
                details("Payee"),
                wrong.to_owned(),
            )
            .await
            else {
                panic!("{b}: {why} accepted")
            };
            assert!(errors.get("password").is_some(), "{b}: {why}: {errors:?}");
        }
        let (thirteen_lines, too_long) = ("line\n".repeat(13), "x".repeat(1_001));
        for (bad, why) in [
            ("Payee\tIBAN", "a tab"),
            ("Payee\u{1b}[31m", "an escape"),
            ("IBAN DE89\u{202E}00 0310", "a direction override"),
            ("IBAN DE89\u{200B}3704", "a zero-width space"),
            ("Payee\u{2028}Bank", "a line separator"),
            ("Payee\u{3164}", "a Hangul filler (shows blank)"),
            ("IBAN DE89\u{FE0F}", "a variation selector"),
            ("Payee\u{E0041}", "a tag character"),
            ("Payee\u{E000}", "a private-use character"),
            (thirteen_lines.as_str(), "13 lines"),
            (too_long.as_str(), "1,001 characters"),
        ] {
            let Err(AppError::Invalid(errors)) = publish(&w.db, &admin, details(bad)).await else {
                panic!("{b}: {why} accepted")
            };
            assert!(
                errors.get("bank_details").is_some(),
                "{b}: {why}: {errors:?}"
            );
        }
        // Each recorded change's before and after, oldest first.
        let audited = |db: &DatabaseConnection| {
            let db = db.clone();
            async move {
                app::entity::audit_event::Entity::find()
                    .filter(app::entity::audit_event::Column::TargetType.eq("platform_text"))
                    .all(&db)
                    .await
                    .expect("audit")
                    .into_iter()
                    .map(|e| {
                        let detail: serde_json::Value =
                            serde_json::from_str(&e.detail.unwrap_or_default()).expect("json");
                        (detail["before"].clone(), detail["after"].clone())
                    })
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(audited(&w.db).await, [], "{b}: nothing refused was written");
        assert_eq!(
            settings::bank_details_settings(&w.db, &admin)
                .await
                .expect(b)
                .last_change,
            None,
            "{b}: set up by the migration, changed by no one"
        );
        // 1,000 characters on 10 lines, each break sent as two (as a browser does) and lines
        // ending in spaces: kept, at 1,000 characters.
        let full = vec!["y".repeat(99); 10].join("\n") + "y";
        let sent = full.replace('\n', "   \r\n");
        assert!(sent.chars().count() > 1_000);
        publish(&w.db, &admin, details(&sent)).await.expect(b);
        assert_eq!(
            settings::bank_details(&w.db).await.expect(b),
            Some(full.clone()),
            "{b}"
        );

        // No-break and thin spaces (pasted from a document) become plain ones.
        publish(
            &w.db,
            &admin,
            details(
                "\r\nHerald\u{00A0}Ltd \u{2009}\r\nIBAN DE89\u{202F}3704 0044 0532 0130 00\r\n\r\n",
            ),
        )
        .await
        .expect(b);
        let page = ledger::balance::page(&w.db, &w.owner, 0).await.expect(b);
        assert_eq!(
            page.funding.bank_details.as_deref(),
            Some("Herald Ltd\nIBAN DE89 3704 0044 0532 0130 00"),
            "{b}: plain spaces, line ends and blank edges trimmed"
        );
        // Admins see who changed them last; finance sees a recent change on its dashboard,
        // with the text, for a week.
        let change = settings::bank_details_settings(&w.db, &admin)
            .await
            .expect(b)
            .last_change
            .expect("changed");
        assert_eq!(change.by.as_deref(), Some("admin@example.com"), "{b}");
        assert_eq!(
            settings::bank_details_settings(&w.db, &w.finance).await,
            Err(AppError::Forbidden),
            "{b}: the settings page is the admins'"
        );
        let glance = |at: chrono::DateTime<Utc>| {
            let (db, finance) = (&w.db, &w.finance);
            async move {
                app::service::dashboard::dashboard(db, finance, at)
                    .await
                    .expect("dashboard")
                    .finance
                    .expect("finance's card")
                    .bank_details_changed
            }
        };
        let (seen, text) = glance(Utc::now()).await.expect("a recent change is shown");
        assert_eq!(seen, change, "{b}");
        assert_eq!(text, "Herald Ltd\nIBAN DE89 3704 0044 0532 0130 00", "{b}");
        assert_eq!(
            glance(change.at + chrono::Duration::days(8)).await,
            None,
            "{b}: a week later it is old news"
        );
        // The same text again changes nothing and records nothing.
        publish(
            &w.db,
            &admin,
            details("Herald Ltd\nIBAN DE89 3704 0044 0532 0130 00"),
        )
        .await
        .expect(b);
        let text = "Herald Ltd\nIBAN DE89 3704 0044 0532 0130 00";
        assert_eq!(
            audited(&w.db).await,
            [
                (serde_json::Value::Null, serde_json::json!(full)),
                (serde_json::json!(full), serde_json::json!(text)),
            ],
            "{b}: each change once, with what it replaced"
        );

        // Finance pastes the reference as a bank statement prints it.
        let found = |q: String| {
            let (db, finance) = (&w.db, &w.finance);
            async move {
                app::service::finance::accounts(db, finance, &q, "name", 0)
                    .await
                    .expect("search")
                    .rows
                    .into_iter()
                    .map(|r| r.id)
                    .collect::<Vec<_>>()
            }
        };
        let other = advertiser(&w.db, "other@example.com", "UTC").await;
        assert_eq!(found(reference.clone()).await, [account(&w.owner)], "{b}");
        assert_eq!(
            found(reference.replace(' ', "").to_lowercase()).await,
            [account(&w.owner)],
            "{b}"
        );
        assert_eq!(
            found(payment_reference(account(&other))).await,
            [account(&other)],
            "{b}"
        );
        let mut typo = reference.replace(' ', "");
        let last = typo.pop().expect(b);
        typo.push(if last == '9' { '8' } else { '9' });
        assert!(
            found(typo).await.is_empty(),
            "{b}: a mistyped reference finds nobody"
        );

        // A credit under an account's payment reference (its own, or another's) is refused
        // beside the field: every transfer of the account carries it, so it cannot stand for one.
        // So is a reference with an invisible character: it would look like another and credit
        // one transfer twice.
        let top_ups = || app::entity::account_top_up::Entity::find().count(&w.db);
        let requests = || app::entity::finance_request::Entity::find().count(&w.db);
        let before = (top_ups().await.expect(b), requests().await.expect(b));
        for (typed, what, amount) in [
            (reference.clone(), "its own payment reference", "100"),
            (
                payment_reference(account(&other)),
                "another account's payment reference",
                "100",
            ),
            (
                reference.clone(),
                "its own payment reference (a sum waiting for approval)",
                "25000",
            ),
            (
                "TX\u{200B}1001".to_owned(),
                "a reference with a zero-width space",
                "100",
            ),
            (
                "TX\u{00A0}1001".to_owned(),
                "a reference with a no-break space",
                "100",
            ),
        ] {
            let Err(AppError::Invalid(errors)) = app::service::finance::credit(
                &w.db,
                &w.finance,
                app::model::CreditInput {
                    account: account(&w.owner),
                    amount: amount.into(),
                    reference: typed,
                    note: String::new(),
                },
                Utc::now(),
            )
            .await
            else {
                panic!("{b}: a credit under {what} was accepted")
            };
            assert!(errors.get("reference").is_some(), "{b}: {errors:?}");
        }
        assert_eq!(
            (top_ups().await.expect(b), requests().await.expect(b)),
            before,
            "{b}: nothing credited or asked for"
        );

        publish(&w.db, &admin, details("  \n ")).await.expect(b);
        let page = ledger::balance::page(&w.db, &w.owner, 0).await.expect(b);
        assert_eq!(page.funding.bank_details, None, "{b}: withdrawn");
        assert_eq!(
            audited(&w.db).await.last(),
            Some(&(serde_json::json!(text), serde_json::Value::Null)),
            "{b}"
        );
        assert_eq!(audited(&w.db).await.len(), 3, "{b}");
    }
}

/// Finance's ledger of an account lists the charges too (they move held money to the publisher
/// and the platform, not the balance), each with what it changed of the balance and of what
/// is held; the members' balance history keeps to their balance.
#[tokio::test]
async fn finances_account_ledger_lists_the_charges() {
    for (b, db) in migrations::db::fresh_all().await {
        let w = world(db).await;
        let decision = deliver(&w, "news", "n1", 2_000, Utc::now()).await;
        let (publisher, platform) = charged(&w.db, decision).await;
        assert!(publisher > 0 && platform > 0, "{b}");
        let history = |kind: &'static str| {
            let (db, finance, owner) = (&w.db, &w.finance, account(&w.owner));
            async move {
                app::service::finance::account_history(db, finance, owner, kind, "", "", 0)
                    .await
                    .expect(b)
                    .entries
            }
        };
        let posts = history("post").await;
        assert_eq!(
            posts.len(),
            2,
            "{b}: the publisher's and the platform's part"
        );
        assert!(
            posts
                .iter()
                .all(|e| e.amount.0 == 0 && e.decision == Some(decision)),
            "{b}: {posts:?}"
        );
        assert_eq!(
            -posts.iter().map(|e| e.held.0).sum::<i64>(),
            publisher + platform,
            "{b}"
        );
        assert!(
            posts
                .iter()
                .any(|e| e.about.ends_with("the publisher's part")),
            "{b}: {posts:?}"
        );
        // Each charge names its decision's campaign (looked up with its name in one statement).
        assert!(
            posts.iter().all(|e| e.about.starts_with("Campaign “")),
            "{b}: {posts:?}"
        );
        // Reversed: both parts come back to the balance, each named by where it comes from,
        // in the members' history too.
        app::service::finance::corrections::reverse(
            &w.db,
            &w.finance,
            by_decision(decision, "Invalid traffic"),
            Utc::now(),
        )
        .await
        .expect(b);
        let members = app::service::ledger::balance::page(&w.db, &w.owner, 0)
            .await
            .expect(b)
            .entries;
        let mut parts: Vec<(&str, i64)> = members
            .iter()
            .filter(|e| e.kind == TransferKind::Reversal)
            .map(|e| (e.about.rsplit(": ").next().unwrap_or_default(), e.amount.0))
            .collect();
        parts.sort();
        assert_eq!(
            parts,
            [
                ("the platform's part", platform),
                ("the publisher's part", publisher)
            ],
            "{b}: {members:?}"
        );
        let holds = history("hold").await;
        assert!(
            !holds.is_empty()
                && holds
                    .iter()
                    .all(|e| e.held.0 == -e.amount.0 && e.held.0 > 0),
            "{b}: a hold moves the balance into what is held: {holds:?}"
        );
        let members = app::service::ledger::balance::page(&w.db, &w.owner, 0)
            .await
            .expect(b)
            .entries;
        assert!(
            members.iter().any(|e| e.kind == TransferKind::Hold),
            "{b}: the members' history has the holds: {members:?}"
        );
        assert!(
            members
                .iter()
                .all(|e| e.kind != TransferKind::Post && e.decision.is_none()),
            "{b}: members see their balance's transfers only"
        );
    }
}
