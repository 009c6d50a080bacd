//! The statement property's history: random ops on one account's money, run through the
//! services at chosen local times, and [`check_history`], which compares every month's
//! statement with a model of what the ops did.

use crate::delivery_support::*;
use app::{
    model::{Micros, Statement, TransferKind},
    service::{
        account_time::AccountClock,
        finance::{requests, statement},
        ledger::{self, Charge, NewTransfer, Outcome, Side},
    },
};
use chrono::{Datelike, Months, NaiveDate, Utc};
use proptest::prelude::*;
use sea_orm::DatabaseConnection;
use std::collections::BTreeMap;

pub const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Australia/Sydney",
];
/// The histories happen in the four local months from this one on (all in the past).
const FIRST_YEAR: i32 = 2025;
const MONTHS: u32 = 4;
/// The publisher channel the test's charges go to (a ledger owner id only).
const CHANNEL: i64 = 1;

/// One thing that happens to the account's money.
#[derive(Clone, Debug)]
pub enum Op {
    TopUp(i64),
    /// Reserve an amount for a won slot of campaign 0 or 1.
    Hold {
        campaign: usize,
        amount: i64,
    },
    /// Charge this many thousandths of what a hold has left.
    Post {
        hold: usize,
        per_mille: i64,
    },
    /// Return what a hold has left.
    Release {
        hold: usize,
    },
    /// Refund this many thousandths of what is available.
    Refund {
        per_mille: i64,
    },
    /// Give back this many thousandths of what a hold's charges paid the platform.
    Reverse {
        hold: usize,
        per_mille: i64,
    },
}

/// An op at a local time: (month 0..MONTHS, day, hour, minute).
pub type Step = ((u32, u32, u32, u32), Op);

pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1i64..=300_000_000).prop_map(Op::TopUp),
        4 => (0usize..2, 1i64..=40_000_000).prop_map(|(campaign, amount)| Op::Hold { campaign, amount }),
        4 => (0usize..64, 1i64..=1_000).prop_map(|(hold, per_mille)| Op::Post { hold, per_mille }),
        2 => (0usize..64).prop_map(|hold| Op::Release { hold }),
        1 => (1i64..=1_000).prop_map(|per_mille| Op::Refund { per_mille }),
        1 => (0usize..64, 1i64..=1_000).prop_map(|(hold, per_mille)| Op::Reverse { hold, per_mille }),
    ]
}

pub fn when() -> impl Strategy<Value = (u32, u32, u32, u32)> {
    prop_oneof![
        // Exactly at a month's first instant, or its last minute.
        1 => (0..MONTHS).prop_map(|m| (m, 1, 0, 0)),
        1 => (0..MONTHS).prop_map(|m| (m, 28, 23, 59)),
        4 => (0..MONTHS, 1u32..=28, 0u32..24, prop::sample::select(vec![0u32, 30, 59])),
    ]
}

/// A hold as the model sees it.
#[derive(Clone, Debug, Default)]
struct HoldModel {
    campaign: usize,
    left: i64,
    posted: i64,
    platform: i64,
    reversed: i64,
    released: bool,
}

/// What one month must show.
#[derive(Clone, Debug, Default)]
struct MonthModel {
    top_ups: i64,
    spend: BTreeMap<usize, i64>,
    refunds: i64,
    corrections: i64,
    /// Σ changes of the available balance and of the holds in the month.
    available: i64,
    held: i64,
}

fn local_first(month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1)
        .and_then(|d| d.checked_add_months(Months::new(month)))
        .expect("a month")
}

fn month_key(day: NaiveDate) -> (i32, u32) {
    (day.year(), day.month())
}

/// Runs `steps` through the services on a fresh account in `zone`, then checks every month's
/// statement against the model.
pub async fn check_history(db: &DatabaseConnection, zone: &str, steps: &[Step]) {
    set_setting(db, "finance_approval_units", 10_000_000).await;
    let owner = advertiser(db, "owner@example.com", zone).await;
    let account = account(&owner);
    let clock = AccountClock::load(db, account).await.expect("clock");
    // Not the owner: nobody in finance refunds from an account they belong to.
    let finance = finance_user(db, "finance@example.com").await;
    let mut campaigns = Vec::new();
    for name in ["Alpha", "Beta"] {
        let form = campaign_form(name, Micros::units(1), Micros::units(100), None);
        campaigns.push(
            save_campaign(db, &owner, None, form)
                .await
                .expect("campaign"),
        );
    }
    let mut ordered: Vec<&Step> = steps.iter().collect();
    ordered.sort_by_key(|(when, _)| *when);
    let (mut available, mut holds) = (0i64, Vec::<HoldModel>::new());
    // Each top-up's id and what is left of it to refund.
    let mut top_ups: Vec<(String, i64)> = Vec::new();
    let mut months: BTreeMap<(i32, u32), MonthModel> = BTreeMap::new();
    for (i, ((month, day, hour, minute), op)) in ordered.into_iter().enumerate() {
        let local = local_first(*month)
            .with_day(*day)
            .and_then(|d| d.and_hms_opt(*hour, *minute, 0))
            .expect("a local time");
        let at = clock.utc(local);
        let m = months.entry(month_key(clock.local(at).date())).or_default();
        let decision = |h: usize| 1_000 + h as i64;
        match *op {
            Op::TopUp(amount) => {
                credit(db, &owner, Micros(amount), &format!("T-{i}"), at)
                    .await
                    .expect("credit");
                top_ups.push((top_up_of(db, &owner, &format!("T-{i}")).await, amount));
                available += amount;
                (m.top_ups, m.available) = (m.top_ups + amount, m.available + amount);
            }
            Op::Hold { campaign, amount } if amount <= available => {
                let w = ledger::begin(db).await.expect("begin");
                let done = ledger::hold(
                    &*w,
                    account.0,
                    campaigns[campaign].0,
                    &clock.currency,
                    Micros(amount),
                    decision(holds.len()),
                    None,
                    at,
                )
                .await
                .expect("hold");
                assert!(matches!(done, Outcome::Applied(_)), "{done:?}");
                w.commit().await.expect("commit");
                available -= amount;
                (m.available, m.held) = (m.available - amount, m.held + amount);
                holds.push(HoldModel {
                    campaign,
                    left: amount,
                    ..HoldModel::default()
                });
            }
            Op::Post { hold, per_mille } => {
                let Some(h) = holds.get_mut(hold) else {
                    continue;
                };
                let amount = h.left * per_mille / 1_000;
                if amount == 0 || h.released {
                    continue;
                }
                let publisher = amount / 2;
                let charge = Charge {
                    campaign: campaigns[h.campaign].0,
                    channel: CHANNEL,
                    currency: clock.currency.clone(),
                    amount: Micros(amount),
                    publisher: Micros(publisher),
                    decision: decision(hold),
                    posted_after: h.posted + amount,
                };
                let w = ledger::begin(db).await.expect("begin");
                ledger::post_many(&*w, &[charge], at).await.expect("post");
                w.commit().await.expect("commit");
                (h.left, h.posted) = (h.left - amount, h.posted + amount);
                h.platform += amount - publisher;
                m.held -= amount;
                *m.spend.entry(h.campaign).or_default() += amount;
            }
            Op::Release { hold } => {
                let Some(h) = holds.get_mut(hold) else {
                    continue;
                };
                if h.released || h.left == 0 {
                    continue;
                }
                let w = ledger::begin(db).await.expect("begin");
                let campaign = campaigns[h.campaign].0;
                let amount = Micros(h.left);
                ledger::release(
                    &*w,
                    account.0,
                    campaign,
                    &clock.currency,
                    amount,
                    decision(hold),
                    at,
                )
                .await
                .expect("release");
                w.commit().await.expect("commit");
                available += h.left;
                (m.available, m.held) = (m.available + h.left, m.held - h.left);
                (h.left, h.released) = (0, true);
            }
            Op::Refund { per_mille } => {
                // Against the top-up with the most left, at most that much.
                let Some(source) = top_ups.iter_mut().max_by_key(|(_, left)| *left) else {
                    continue;
                };
                let amount = (available * per_mille / 1_000).min(source.1);
                if amount == 0 {
                    continue;
                }
                let input = refund_input(
                    &owner,
                    &source.0,
                    &Micros(amount).to_decimal(),
                    &format!("R-{i}"),
                );
                requests::refund(db, &finance, input, at)
                    .await
                    .expect("refund");
                source.1 -= amount;
                available -= amount;
                (m.refunds, m.available) = (m.refunds + amount, m.available - amount);
            }
            Op::Reverse { hold, per_mille } => {
                let Some(h) = holds.get_mut(hold) else {
                    continue;
                };
                let amount = (h.platform - h.reversed) * per_mille / 1_000;
                if amount == 0 {
                    continue;
                }
                let w = ledger::begin(db).await.expect("begin");
                let t = NewTransfer {
                    debit: Side::revenue(),
                    credit: Side::balance(account.0),
                    amount: Micros(amount),
                    currency: clock.currency.clone(),
                    kind: TransferKind::Reversal,
                    object_type: "decision",
                    object_id: decision(hold),
                    key: format!("test-reversal:{i}"),
                };
                let done = ledger::transfer(&*w, &t, at).await.expect("reverse");
                assert!(matches!(done, Outcome::Applied(_)), "{done:?}");
                w.commit().await.expect("commit");
                h.reversed += amount;
                available += amount;
                (m.corrections, m.available) = (m.corrections + amount, m.available + amount);
            }
            Op::Hold { .. } => {}
        }
    }
    // Every month from the one before the history to the one after it.
    let now = Utc::now();
    let (mut funds, mut free, mut previous) = (0i64, 0i64, None::<Statement>);
    for k in 0..=MONTHS + 1 {
        let first = local_first(k)
            .checked_sub_months(Months::new(1))
            .expect("month");
        let text = first.format("%Y-%m").to_string();
        let s = statement::statement(db, &owner, None, &text, now)
            .await
            .unwrap_or_else(|e| panic!("{zone} {text}: {e:?}"));
        let m = months.remove(&month_key(first)).unwrap_or_default();
        let at = |what: &str| format!("{zone} {text} {what}: {s:#?}");
        assert!(!s.in_progress, "{}", at("ended"));
        assert_eq!(s.opening.0, funds, "{}", at("opening"));
        assert!(s.balances(), "{}", at("opening + lines = closing"));
        for (_, section) in s.sections() {
            let sum: i64 = section.lines.iter().map(|l| l.amount.0).sum();
            assert_eq!(section.total.0, sum, "{}", at("section total"));
        }
        assert_eq!(s.top_ups.total.0, m.top_ups, "{}", at("top-ups"));
        assert_eq!(s.refunds.total.0, -m.refunds, "{}", at("refunds"));
        assert_eq!(
            s.corrections.total.0,
            m.corrections,
            "{}",
            at("corrections")
        );
        assert_eq!(
            s.top_ups.lines.len() + s.refunds.lines.len() > 0,
            m.top_ups + m.refunds > 0
        );
        let spend: BTreeMap<usize, i64> = s
            .spend
            .lines
            .iter()
            .map(|l| {
                let c = campaigns
                    .iter()
                    .position(|c| Some(*c) == l.campaign)
                    .expect("a campaign");
                (c, -l.amount.0)
            })
            .collect();
        let expected: BTreeMap<usize, i64> = m.spend.into_iter().filter(|(_, v)| *v != 0).collect();
        assert_eq!(spend, expected, "{}", at("spend per campaign"));
        funds += m.available + m.held;
        free += m.available;
        assert_eq!(s.closing.0, funds, "{}", at("closing"));
        assert_eq!(s.closing_available.0, free, "{}", at("closing available"));
        assert_eq!(s.closing_held.0, funds - free, "{}", at("closing held"));
        if let Some(p) = &previous {
            assert_eq!(p.closing, s.opening, "{}", at("previous closing"));
            assert_eq!(p.to, s.from, "{}", at("adjacent months"));
        }
        let from = clock.local(s.from);
        assert_eq!(
            (from.date(), from.time()),
            (first, chrono::NaiveTime::MIN),
            "{}",
            at("from")
        );
        previous = Some(s);
    }
    let balance = ledger::balance::summary(db, account)
        .await
        .expect("summary");
    let last = previous.expect("a statement");
    assert_eq!(
        last.closing.0,
        balance.available.0 + balance.held.0,
        "{zone}"
    );
    assert_eq!(last.closing_available, balance.available, "{zone}");
    let now_statement = statement::statement(db, &owner, None, "", now)
        .await
        .expect("now");
    assert!(
        now_statement.in_progress && now_statement.balances(),
        "{zone}"
    );
    assert_eq!(
        now_statement.opening, last.closing,
        "{zone}: nothing moved since"
    );
    let books = ledger::check(db).await.expect("check");
    assert!(books.problems.is_empty(), "{zone}: {:?}", books.problems);
}
