//! Helpers shared by the ledger and delivery tests: advertisers in a chosen time zone, catalog
//! channels, campaigns launched through the real services, a delivery-network key, platform
//! settings, and [`audit_books`]: every invariant that must hold between the ledger, the spend
//! counters, decisions, events and the reporting rollup, whatever happened before.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the helpers"
)]

use app::{
    entity::{
        account_top_up, ad_version, campaign_day_spend, campaign_spend, delivery_decision,
        delivery_event, delivery_rollup, finance_request, ledger_account, ledger_transfer,
        staff_role,
    },
    error::AppError,
    model::{
        AccountId, AdId, AdInput, AdVersionId, CampaignForm, CampaignId, CreditInput, CreditResult,
        FinanceRequestKind, FinanceRequestStatus, LedgerKind, Micros, PlatformRole, RefundInput,
        SignUpInput, TargetingForm, TransferKind, Verdict,
    },
    service::{
        Actor, ads, auth, campaigns::write, delivery::keys, finance, forecast::ForecastEngine,
        ledger, passwords::PasswordHasher,
    },
};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use std::collections::{BTreeMap, HashMap};

/// A bank credit of `amount` euros to `owner`'s account balance, written straight to the
/// ledger under `key` (for tests of the ledger's own rules, not of the top-up service).
pub fn top_up_transfer(owner: &Actor, amount: Micros, key: &str) -> ledger::NewTransfer {
    ledger::NewTransfer {
        debit: ledger::Side::external(),
        credit: ledger::Side::balance(account(owner).0),
        amount,
        currency: "EUR".into(),
        kind: TransferKind::TopUp,
        object_type: "account",
        object_id: account(owner).0,
        key: key.into(),
    }
}

/// Every test user's password.
pub const PASSWORD: &str = "violet harbour 42 kites";

/// A user who owns a new ad account kept in `time_zone`.
pub async fn advertiser(db: &DatabaseConnection, email: &str, time_zone: &str) -> Actor {
    let user = auth::sign_up(
        db,
        &PasswordHasher::new(2),
        SignUpInput {
            email: email.into(),
            password: PASSWORD.into(),
            account_name: format!("Ads of {email}"),
            time_zone: time_zone.into(),
        },
        None,
    )
    .await
    .expect("sign up");
    actor(db, user.0).await
}

/// The user `user` as a service caller, working in their own account.
pub async fn actor(db: &DatabaseConnection, user: i64) -> Actor {
    let viewer = auth::viewer(db, app::model::UserId(user), None)
        .await
        .expect("viewer")
        .expect("the user exists");
    Actor::from_viewer(viewer, None)
}

pub fn account(actor: &Actor) -> AccountId {
    actor.membership.expect("a current account").0
}

/// The topic every test channel is filed under.
pub async fn topic(db: &DatabaseConnection) {
    db.execute_unprepared(
        "INSERT INTO topic (slug, name) SELECT 'food', 'Food' \
         WHERE NOT EXISTS (SELECT 1 FROM topic WHERE slug = 'food')",
    )
    .await
    .expect("topic");
}

/// Adds an active catalog channel (50,000 subscribers) and returns its id.
pub async fn channel(db: &DatabaseConnection, handle: &str, avg_views: i64, language: &str) -> i64 {
    topic(db).await;
    db.execute_unprepared(&format!(
        "INSERT INTO channel (handle, title, topic_id, language, subscribers, avg_views, \
         posts_per_day, status, updated_at) \
         SELECT '{handle}', 'Channel {handle}', id, '{language}', 50000, {avg_views}, 3.0, \
         'active', CURRENT_TIMESTAMP FROM topic WHERE slug = 'food'"
    ))
    .await
    .expect("channel");
    app::entity::channel::Entity::find()
        .filter(app::entity::channel::Column::Handle.eq(handle))
        .one(db)
        .await
        .expect("query")
        .expect("the channel was inserted")
        .id
}

/// A builder form for English channels of 10k–2M subscribers, starting when approved, with
/// no end and no schedule.
pub fn campaign_form(
    name: &str,
    bid: Micros,
    total: Micros,
    daily: Option<Micros>,
) -> CampaignForm {
    CampaignForm {
        name: name.into(),
        targeting: TargetingForm {
            languages: vec!["en".into()],
            min_subscribers: "10k".into(),
            max_subscribers: "2M".into(),
            bid: bid.to_decimal(),
            daily_budget: daily.map(Micros::to_decimal).unwrap_or_default(),
            ..TargetingForm::default()
        },
        total_budget: total.to_decimal(),
        start: String::new(),
        end: String::new(),
        schedule: None,
    }
}

/// Creates (`id` = `None`) or updates a campaign through the builder's service.
pub async fn save_campaign(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Option<CampaignId>,
    form: CampaignForm,
) -> Result<CampaignId, AppError> {
    let engine = ForecastEngine::load(db).await.expect("forecast engine");
    write::save(db, &engine.index(), actor, id, form)
        .await
        .map(|o| o.id)
}

pub fn ad_input(text: &str) -> AdInput {
    AdInput {
        title: "Beans".into(),
        text: text.into(),
        button_label: "Open".into(),
        destination_url: "https://acme.coffee/club".into(),
    }
}

/// Writes a first ad and sends the campaign for review (nothing approved yet).
pub async fn submit_with_ad(
    db: &DatabaseConnection,
    actor: &Actor,
    campaign: CampaignId,
    text: &str,
) -> AdId {
    let ad = ads::save(db, actor, campaign, None, ad_input(text))
        .await
        .expect("save ad");
    write::submit(db, actor, campaign)
        .await
        .expect("submit campaign");
    ad
}

/// The newest version of `ad`.
pub async fn latest_version(db: &DatabaseConnection, ad: AdId) -> AdVersionId {
    let versions = ad_version::Entity::find()
        .filter(ad_version::Column::AdId.eq(ad.0))
        .all(db)
        .await
        .expect("versions");
    AdVersionId(
        versions
            .iter()
            .max_by_key(|v| v.number)
            .expect("an ad has a version")
            .id,
    )
}

/// Approves the version in review as the system does (launching a campaign that asked to run).
pub async fn approve(db: &DatabaseConnection, version: AdVersionId, now: DateTime<Utc>) {
    ads::apply_review(db, version, Verdict::Approved, now)
        .await
        .expect("approve");
}

/// A campaign with one approved ad: running from now.
pub async fn running_campaign(
    db: &DatabaseConnection,
    actor: &Actor,
    form: CampaignForm,
    now: DateTime<Utc>,
) -> (CampaignId, AdId) {
    let id = save_campaign(db, actor, None, form)
        .await
        .expect("save campaign");
    let ad = submit_with_ad(db, actor, id, "Fresh beans every Monday").await;
    approve(db, latest_version(db, ad).await, now).await;
    (id, ad)
}

/// A delivery-network key.
pub async fn network_key(db: &DatabaseConnection, now: DateTime<Utc>) -> i64 {
    keys::create_unchecked(db, "Test network", None, now)
        .await
        .expect("key")
        .id
}

/// Sets a platform setting (a fixture: admins do it through the settings page). The catalog's
/// own settings also move the catalog version, as the settings service does.
pub async fn set_setting(db: &DatabaseConnection, key: &str, value: i64) {
    db.execute_unprepared(&format!(
        "UPDATE platform_setting SET value = {value} WHERE key = '{key}'"
    ))
    .await
    .expect("setting");
    if matches!(key, "ad_slots_per_day" | "eligibility_min_subscribers") {
        db.execute_unprepared(
            "UPDATE platform_setting SET value = value + 1 WHERE key = 'catalog_version'",
        )
        .await
        .expect("catalog version");
    }
}

/// A new user added to `owner`'s account with `role` (a fixture: owners invite through the
/// members page), working in that account.
pub async fn member_with_role(
    db: &DatabaseConnection,
    owner: &Actor,
    email: &str,
    role: app::model::AccountRole,
) -> Actor {
    let user = advertiser(db, email, "UTC").await;
    db.execute_unprepared(&format!(
        "INSERT INTO account_member (account_id, user_id, role, created_at) VALUES ({}, {}, '{}', CURRENT_TIMESTAMP)",
        account(owner).0,
        user.user_id.0,
        role.code()
    ))
    .await
    .expect("membership");
    let viewer = auth::viewer(db, user.user_id, Some(account(owner)))
        .await
        .expect("viewer")
        .expect("user");
    Actor::from_viewer(viewer, None)
}

/// A new user holding the platform role `role` (a grant by the operator).
pub async fn staff(db: &DatabaseConnection, email: &str, role: PlatformRole) -> Actor {
    let mut f = advertiser(db, email, "UTC").await;
    staff_role::ActiveModel {
        user_id: Set(f.user_id.0),
        role: Set(role),
        granted_by: Set(None),
        granted_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .expect("grant");
    f.staff_roles.push(role);
    f
}

/// A new finance user.
pub async fn finance_user(db: &DatabaseConnection, email: &str) -> Actor {
    staff(db, email, PlatformRole::Finance).await
}

/// A credit of `amount` under `reference` to `owner`'s account, as finance types it.
pub fn credit_input(owner: &Actor, amount: &str, reference: &str) -> CreditInput {
    CreditInput {
        account: account(owner),
        amount: amount.into(),
        reference: reference.into(),
        note: String::new(),
    }
}

/// The id of `owner`'s top-up under `reference`, as finance's refund form offers it.
pub async fn top_up_of(db: &DatabaseConnection, owner: &Actor, reference: &str) -> String {
    account_top_up::Entity::find()
        .filter(account_top_up::Column::AccountId.eq(account(owner).0))
        .filter(
            account_top_up::Column::ReferenceKey.eq(app::model::finance::reference_key(reference)),
        )
        .one(db)
        .await
        .expect("top-up")
        .expect("a top-up under that reference")
        .id
        .to_string()
}

/// The id of `owner`'s latest top-up.
pub async fn latest_top_up(db: &DatabaseConnection, owner: &Actor) -> String {
    account_top_up::Entity::find()
        .filter(account_top_up::Column::AccountId.eq(account(owner).0))
        .order_by_desc(account_top_up::Column::Id)
        .one(db)
        .await
        .expect("top-up")
        .expect("a top-up")
        .id
        .to_string()
}

/// A refund of `amount` of `owner`'s top-up `top_up` (its id) under the outgoing `reference`.
pub fn refund_input(owner: &Actor, top_up: &str, amount: &str, reference: &str) -> RefundInput {
    RefundInput {
        account: account(owner),
        top_up: top_up.into(),
        amount: amount.into(),
        reference: reference.into(),
        reason: "Part of the prepayment back".into(),
    }
}

/// What `owner`'s account has available.
pub async fn available(db: &DatabaseConnection, owner: &Actor) -> Micros {
    ledger::balance::summary(db, account(owner))
        .await
        .expect("summary")
        .available
}

/// Credits the actor's account through finance's service.
pub async fn credit(
    db: &DatabaseConnection,
    actor: &Actor,
    amount: Micros,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<CreditResult, AppError> {
    finance::credit_account(
        db,
        account(actor),
        amount,
        reference,
        "bank transfer",
        actor.user_id.0,
        None,
        now,
    )
    .await
}

/// What [`audit_books`] read, for callers that compare it with what they expect.
#[derive(Clone, Debug, Default)]
pub struct Books {
    /// Ledger balance of each ad account's available money.
    pub available: HashMap<i64, i64>,
    /// `campaign_spend` per campaign: (posted, committed).
    pub spend: HashMap<i64, (i64, i64)>,
    /// `campaign_day_spend.committed` per (campaign, local day).
    pub day_committed: BTreeMap<(i64, NaiveDate), i64>,
    pub decisions: BTreeMap<i64, delivery_decision::Model>,
    pub events: Vec<delivery_event::Model>,
    /// Every post transfer (a publisher part and a platform part per charge).
    pub posts: Vec<ledger_transfer::Model>,
    pub top_ups: Vec<account_top_up::Model>,
    /// Σ posted of every event (and of every post transfer, and of the rollup).
    pub posted_total: i64,
}

fn sum<T>(rows: &[T], f: impl Fn(&T) -> i64) -> i64 {
    rows.iter().map(f).sum()
}

/// A rollup row's key: campaign, ad, channel, day.
type RollupKey = (i64, i64, i64, NaiveDate);

/// Reads the whole money side of the database and asserts every invariant that holds whatever
/// happened before (`when` names the moment in failure messages):
///
/// - the ledger replays to its cached balances, sums to zero per currency, and nothing but the
///   outside world is below zero ([`ledger::check`], and again here);
/// - each campaign's holds balance is `committed − posted` of its spend counter; `posted` is
///   the sum of post transfers out of its holds, and of its decisions' posted amounts;
///   `committed` is the sum of its decisions' `held − released`, and so is each local day's;
/// - each decision: `posted + released ≤ held`; one hold (balance → campaign holds), at most
///   one release (back), its posts from the holds to the channel's payable and to revenue;
///   its events add up to its views, clicks and posted amount; once settled it has released
///   all it did not post, and nothing before;
/// - the rollup adds up to the events (views, clicks) and to the posted transfers (spend), per
///   campaign and in all;
/// - each account's available balance is its top-ups less its refunds, less its decisions'
///   holds plus their releases; each top-up has its one transfer, and so has each refund
///   carried out, which returns one of the account's top-ups, never more than it brought in.
pub async fn audit_books(db: &impl ConnectionTrait, when: &str) -> Books {
    let check = ledger::check(db).await.expect("ledger check");
    assert!(check.problems.is_empty(), "{when}: {:?}", check.problems);
    let accounts = ledger_account::Entity::find()
        .all(db)
        .await
        .expect("accounts");
    let transfers = ledger_transfer::Entity::find()
        .all(db)
        .await
        .expect("transfers");
    let spend_rows = campaign_spend::Entity::find().all(db).await.expect("spend");
    let day_rows = campaign_day_spend::Entity::find()
        .all(db)
        .await
        .expect("days");
    let decisions = delivery_decision::Entity::find()
        .all(db)
        .await
        .expect("decisions");
    let events = delivery_event::Entity::find()
        .all(db)
        .await
        .expect("events");
    let rollup = delivery_rollup::Entity::find()
        .all(db)
        .await
        .expect("rollup");
    let top_ups = account_top_up::Entity::find()
        .all(db)
        .await
        .expect("top-ups");
    let refunds = finance_request::Entity::find()
        .filter(finance_request::Column::Kind.eq(FinanceRequestKind::Refund.code()))
        .filter(finance_request::Column::Status.eq(FinanceRequestStatus::Done.code()))
        .all(db)
        .await
        .expect("refunds");

    let kind_of = |id: i64| {
        accounts
            .iter()
            .find(|a| a.id == id)
            .map(|a| (LedgerKind::from_code(&a.kind), a.owner_id))
            .expect("a transfer's account exists")
    };
    for a in &accounts {
        assert!(
            a.balance >= 0 || a.kind == LedgerKind::External.code(),
            "{when}: ledger account {} ({} of {}) is {}",
            a.id,
            a.kind,
            a.owner_id,
            a.balance
        );
    }
    let of_kind = |t: &ledger_transfer::Model, kind: TransferKind| t.kind == kind.code();
    let posts: Vec<ledger_transfer::Model> = transfers
        .iter()
        .filter(|t| of_kind(t, TransferKind::Post))
        .cloned()
        .collect();

    // Per campaign: holds balance, spend counter, posted transfers, decisions.
    let mut books = Books::default();
    for s in &spend_rows {
        books.spend.insert(s.campaign_id, (s.posted, s.committed));
    }
    for d in &day_rows {
        books
            .day_committed
            .insert((d.campaign_id, d.day), d.committed);
    }
    let mut campaigns: Vec<i64> = decisions.iter().map(|d| d.campaign_id).collect();
    campaigns.extend(spend_rows.iter().map(|s| s.campaign_id));
    campaigns.sort_unstable();
    campaigns.dedup();
    for c in campaigns {
        let (posted, committed) = books.spend.get(&c).copied().unwrap_or((0, 0));
        let holds = accounts
            .iter()
            .find(|a| a.kind == LedgerKind::CampaignHolds.code() && a.owner_id == c)
            .map_or(0, |a| a.balance);
        assert_eq!(
            holds,
            committed - posted,
            "{when}: campaign {c}: holds balance vs committed − posted"
        );
        let posted_out = sum(
            &posts
                .iter()
                .filter(|t| kind_of(t.debit_account_id) == (Some(LedgerKind::CampaignHolds), c))
                .collect::<Vec<_>>(),
            |t| t.amount,
        );
        assert_eq!(
            posted_out, posted,
            "{when}: campaign {c}: post transfers vs campaign_spend.posted"
        );
        let mine: Vec<&delivery_decision::Model> =
            decisions.iter().filter(|d| d.campaign_id == c).collect();
        assert_eq!(
            sum(&mine, |d| d.posted),
            posted,
            "{when}: campaign {c}: decisions' posted vs campaign_spend.posted"
        );
        assert_eq!(
            sum(&mine, |d| d.held - d.released),
            committed,
            "{when}: campaign {c}: decisions' held − released vs campaign_spend.committed"
        );
        let rolled = sum(
            &rollup
                .iter()
                .filter(|r| r.campaign_id == c)
                .collect::<Vec<_>>(),
            |r| r.spend_micros,
        );
        assert_eq!(
            rolled, posted,
            "{when}: campaign {c}: rollup spend vs posted"
        );
    }
    let mut by_day: BTreeMap<(i64, NaiveDate), i64> = BTreeMap::new();
    for d in &decisions {
        *by_day.entry((d.campaign_id, d.local_day)).or_default() += d.held - d.released;
    }
    for (key, committed) in &books.day_committed {
        assert_eq!(
            by_day.get(key).copied().unwrap_or(0),
            *committed,
            "{when}: campaign_day_spend {key:?} vs its decisions' held − released"
        );
    }
    for key in by_day.keys() {
        assert!(
            books.day_committed.contains_key(key),
            "{when}: decisions of {key:?} have no campaign_day_spend row"
        );
    }

    // Per decision: its hold, its release, its posts and its events.
    for d in &decisions {
        assert!(
            d.posted >= 0 && d.released >= 0 && d.posted + d.released <= d.held,
            "{when}: decision {}: posted {} + released {} > held {}",
            d.id,
            d.posted,
            d.released,
            d.held
        );
        let about = |kind: TransferKind| -> Vec<&ledger_transfer::Model> {
            transfers
                .iter()
                .filter(|t| t.object_type == "decision" && t.object_id == d.id && of_kind(t, kind))
                .collect()
        };
        // Each transfer between the accounts it must move money between.
        let balance = (Some(LedgerKind::AccountBalance), d.account_id);
        let holds_of = (Some(LedgerKind::CampaignHolds), d.campaign_id);
        let sides = |t: &ledger_transfer::Model| {
            (kind_of(t.debit_account_id), kind_of(t.credit_account_id))
        };
        let holds = about(TransferKind::Hold);
        assert!(
            holds.len() == 1 && holds[0].amount == d.held && sides(holds[0]) == (balance, holds_of),
            "{when}: decision {} held {} but its hold transfers are {holds:?}",
            d.id,
            d.held
        );
        let releases = about(TransferKind::Release);
        assert!(
            releases.len() <= 1
                && sum(&releases, |t| t.amount) == d.released
                && releases.iter().all(|t| sides(t) == (holds_of, balance)),
            "{when}: decision {} released {} but its release transfers are {releases:?}",
            d.id,
            d.released
        );
        let posts_of = about(TransferKind::Post);
        assert_eq!(
            sum(&posts_of, |t| t.amount),
            d.posted,
            "{when}: decision {}: post transfers",
            d.id
        );
        for t in &posts_of {
            let to = if t.idempotency_key.ends_with(":publisher") {
                (Some(LedgerKind::PublisherPayable), d.channel_id)
            } else {
                (Some(LedgerKind::Revenue), 0)
            };
            assert_eq!(sides(t), (holds_of, to), "{when}: post transfer {t:?}");
        }
        let mine: Vec<&delivery_event::Model> =
            events.iter().filter(|e| e.decision_id == d.id).collect();
        assert_eq!(
            (
                sum(&mine, |e| e.views),
                sum(&mine, |e| e.clicks),
                sum(&mine, |e| e.posted)
            ),
            (d.views, d.clicks, d.posted),
            "{when}: decision {}: events' (views, clicks, posted)",
            d.id
        );
        if d.settled_at.is_some() {
            assert_eq!(
                d.released,
                d.held - d.posted,
                "{when}: decision {}: a settled decision releases the rest",
                d.id
            );
        } else {
            assert_eq!(
                d.released, 0,
                "{when}: decision {}: released while open",
                d.id
            );
        }
    }

    // In all: the rollup, the events, the posted transfers and the spend counters agree.
    let posted_transfers = sum(&posts, |t| t.amount);
    let posted_events = sum(&events, |e| e.posted);
    let posted_counters = sum(&spend_rows, |s| s.posted);
    let posted_rollup = sum(&rollup, |r| r.spend_micros);
    assert_eq!(
        (posted_transfers, posted_counters, posted_rollup),
        (posted_events, posted_events, posted_events),
        "{when}: posted as (transfers, campaign_spend, rollup) vs events"
    );
    assert_eq!(
        (sum(&rollup, |r| r.views), sum(&rollup, |r| r.clicks)),
        (sum(&events, |e| e.views), sum(&events, |e| e.clicks)),
        "{when}: rollup views and clicks vs events"
    );
    // Row by row: each rollup row is its events, filed by the day each event keeps (what
    // reconciliation compares by), so no event's day can differ from its rollup's.
    let mut filed: BTreeMap<RollupKey, (i64, i64, i64)> = BTreeMap::new();
    for e in &events {
        let d = decisions
            .iter()
            .find(|d| d.id == e.decision_id)
            .expect("an event's decision exists");
        let day = e
            .day
            .unwrap_or_else(|| panic!("{when}: event {} has no day", e.id));
        let f = filed
            .entry((d.campaign_id, d.ad_id, d.channel_id, day))
            .or_default();
        (f.0, f.1, f.2) = (f.0 + e.views, f.1 + e.clicks, f.2 + e.posted);
    }
    let rows: BTreeMap<RollupKey, (i64, i64, i64)> = rollup
        .iter()
        .filter(|r| (r.views, r.clicks, r.spend_micros) != (0, 0, 0))
        .map(|r| {
            let key = (r.campaign_id, r.ad_id, r.channel_id, r.day);
            (key, (r.views, r.clicks, r.spend_micros))
        })
        .collect();
    filed.retain(|_, v| *v != (0, 0, 0));
    assert_eq!(
        rows, filed,
        "{when}: rollup rows vs events by (campaign, ad, channel, day)"
    );
    let earned = sum(
        &accounts
            .iter()
            .filter(|a| {
                a.kind == LedgerKind::Revenue.code()
                    || a.kind == LedgerKind::PublisherPayable.code()
            })
            .collect::<Vec<_>>(),
        |a| a.balance,
    );
    assert_eq!(
        earned, posted_events,
        "{when}: revenue + payables vs posted"
    );

    // Each ad account: top-ups less holds plus releases.
    let mut owners: Vec<i64> = top_ups.iter().map(|t| t.account_id).collect();
    owners.extend(decisions.iter().map(|d| d.account_id));
    owners.sort_unstable();
    owners.dedup();
    for owner in owners {
        let available = accounts
            .iter()
            .find(|a| a.kind == LedgerKind::AccountBalance.code() && a.owner_id == owner)
            .map_or(0, |a| a.balance);
        let credited = sum(
            &top_ups
                .iter()
                .filter(|t| t.account_id == owner)
                .collect::<Vec<_>>(),
            |t| t.amount,
        );
        let refunded = sum(
            &refunds
                .iter()
                .filter(|r| r.account_id == owner)
                .collect::<Vec<_>>(),
            |r| r.amount,
        );
        let mine: Vec<&delivery_decision::Model> =
            decisions.iter().filter(|d| d.account_id == owner).collect();
        assert_eq!(
            available,
            credited - refunded - sum(&mine, |d| d.held) + sum(&mine, |d| d.released),
            "{when}: account {owner}: available vs top-ups − refunds − holds + releases"
        );
        books.available.insert(owner, available);
    }
    let top_up_transfers: Vec<&ledger_transfer::Model> = transfers
        .iter()
        .filter(|t| of_kind(t, TransferKind::TopUp))
        .collect();
    assert_eq!(
        top_up_transfers.len(),
        top_ups.len(),
        "{when}: one transfer per top-up"
    );
    for t in &top_ups {
        assert!(
            top_up_transfers
                .iter()
                .any(|x| x.id == t.transfer_id && x.amount == t.amount),
            "{when}: top-up {} has no matching transfer",
            t.id
        );
    }

    let refund_transfers: Vec<&ledger_transfer::Model> = transfers
        .iter()
        .filter(|t| of_kind(t, TransferKind::Refund))
        .collect();
    assert_eq!(
        refund_transfers.len(),
        refunds.len(),
        "{when}: one transfer per refund carried out"
    );
    for r in &refunds {
        assert!(
            refund_transfers
                .iter()
                .any(|x| Some(x.id) == r.transfer_id && x.amount == r.amount),
            "{when}: refund {} has no matching transfer",
            r.id
        );
        let top_up = top_ups
            .iter()
            .find(|t| Some(t.id) == r.top_up_id && t.account_id == r.account_id)
            .unwrap_or_else(|| panic!("{when}: refund {} returns no top-up of its account", r.id));
        let returned: i64 = refunds
            .iter()
            .filter(|x| x.top_up_id == r.top_up_id)
            .map(|x| x.amount)
            .sum();
        assert!(
            returned <= top_up.amount,
            "{when}: top-up {} refunded {returned} of {}",
            top_up.id,
            top_up.amount
        );
    }

    books.decisions = decisions.into_iter().map(|d| (d.id, d)).collect();
    books.events = events;
    books.posts = posts;
    books.top_ups = top_ups;
    books.posted_total = posted_events;
    books
}

/// Moves a campaign's start back to `at` (a fixture: the campaign service stamps approval
/// with the real clock, and a history that begins earlier needs the campaign running then).
pub async fn backdate_start(db: &DatabaseConnection, campaign: CampaignId, at: DateTime<Utc>) {
    let backend = db.get_database_backend();
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        match backend {
            sea_orm::DbBackend::Postgres => "UPDATE campaign SET start_at = $1 WHERE id = $2",
            _ => "UPDATE campaign SET start_at = ?1 WHERE id = ?2",
        },
        [at.into(), campaign.0.into()],
    ))
    .await
    .expect("backdate the start");
}
