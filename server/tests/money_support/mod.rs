//! Fixtures and proofs shared by the money tests: an advertiser (made or looked up through the
//! services), a campaign launched the way moderation launches one, and the books — the sums
//! every part of the money trail must agree on, checked against the database.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the fixtures"
)]

use app::{
    entity::{ad_version, app_user},
    model::{
        AdInput, CampaignForm, CampaignId, CampaignStatus, Schedule, SignUpInput, TargetingForm,
        UserId, Verdict,
    },
    service::{
        Actor, ads, auth, campaigns::write, forecast::ForecastEngine, ledger,
        passwords::PasswordHasher,
    },
};
use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Statement,
};

/// Signs up `email` as the owner of a new ad account called `account_name`.
pub async fn sign_up_owner(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
    account_name: &str,
) -> Actor {
    let id = auth::sign_up(
        db,
        &PasswordHasher::new(2),
        SignUpInput {
            email: email.into(),
            password: password.into(),
            account_name: account_name.into(),
            time_zone: "Europe/Berlin".into(),
        },
        None,
    )
    .await
    .expect("sign up");
    actor(db, id).await
}

/// The id of the user signed up as `email`.
pub async fn user_id(db: &DatabaseConnection, email: &str) -> UserId {
    let user = app_user::Entity::find()
        .filter(app_user::Column::Email.eq(email))
        .one(db)
        .await
        .expect("find user")
        .unwrap_or_else(|| panic!("no user {email}"));
    UserId(user.id)
}

/// The user `id` acting in their current account, as a request of theirs would.
pub async fn actor(db: &DatabaseConnection, id: UserId) -> Actor {
    let viewer = auth::viewer(db, id, None)
        .await
        .expect("viewer")
        .expect("the user exists");
    Actor::from_viewer(viewer, None)
}

/// A campaign form for `languages` at the CPM `bid`, with a total budget and no daily budget,
/// serving at any hour.
pub fn campaign_form(name: &str, languages: &[&str], bid: &str, total: &str) -> CampaignForm {
    CampaignForm {
        name: name.into(),
        targeting: TargetingForm {
            languages: languages.iter().map(|l| (*l).to_owned()).collect(),
            bid: bid.into(),
            ..TargetingForm::default()
        },
        total_budget: total.into(),
        start: String::new(),
        end: String::new(),
        schedule: Some(Schedule::always()),
    }
}

/// The ad [`launch`] writes.
pub const AD_TEXT: &str = "Fresh beans roasted every Monday";
pub const AD_BUTTON: &str = "Order";
pub const AD_URL: &str = "https://acme.coffee/club";

/// Saves `form` as `owner`, writes one ad, sends it for review and approves it: the campaign
/// is running when this returns.
pub async fn launch(db: &DatabaseConnection, owner: &Actor, form: CampaignForm) -> CampaignId {
    let engine = ForecastEngine::load(db).await.expect("forecast engine");
    let id = write::save(db, &engine.index(), owner, None, form)
        .await
        .expect("save campaign")
        .id;
    let ad = ads::save(
        db,
        owner,
        id,
        None,
        AdInput {
            title: "Launch".into(),
            text: AD_TEXT.into(),
            button_label: AD_BUTTON.into(),
            destination_url: AD_URL.into(),
        },
    )
    .await
    .expect("save ad");
    write::submit(db, owner, id).await.expect("submit");
    let version = ad_version::Entity::find()
        .filter(ad_version::Column::AdId.eq(ad.0))
        .one(db)
        .await
        .expect("query")
        .expect("version");
    ads::apply_review(
        db,
        app::model::AdVersionId(version.id),
        Verdict::Approved,
        Utc::now(),
    )
    .await
    .expect("approve");
    let status = app::entity::campaign::Entity::find_by_id(id.0)
        .one(db)
        .await
        .expect("query")
        .expect("campaign")
        .status;
    assert_eq!(status, CampaignStatus::Running, "the approval launched it");
    id
}

/// One integer the database computes (`COALESCE`d to 0; sums cast back to BIGINT).
pub async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
    .and_then(|row| row.try_get_by_index::<i64>(0).ok())
    .unwrap_or_else(|| panic!("{sql}: no number"))
}

/// The money trail's totals, each counted from its own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Books {
    /// Σ amount of `post` ledger transfers.
    pub posted_transfers: i64,
    /// Σ `campaign_spend.posted`.
    pub campaign_spend: i64,
    /// Σ `delivery_rollup.spend_micros`.
    pub rollup_spend: i64,
    /// Σ `delivery_event.posted`.
    pub event_posted: i64,
    /// Σ `delivery_decision.posted`.
    pub decision_posted: i64,
    /// Σ `delivery_event.views`.
    pub event_views: i64,
    /// Event rows stored.
    pub events: i64,
    /// Decisions stored.
    pub decisions: i64,
}

/// Reads the books and asserts that they agree: the ledger replays to its cached balances;
/// every decision's views, clicks and charges are the sum of its events; each spend total
/// (ledger posts, campaign spend, rollup, events, decisions) is the same number; views agree
/// between events and the rollup; no event id is stored twice; and each campaign's holds and
/// committed spend are what its decisions say.
pub async fn assert_books(db: &DatabaseConnection) -> Books {
    let check = ledger::check(db).await.expect("ledger check");
    assert!(
        check.problems.is_empty(),
        "the ledger does not replay: {:#?}",
        check.problems
    );
    let sum = |sql: &str| format!("SELECT CAST(COALESCE(SUM({sql}), 0) AS BIGINT)");
    let books = Books {
        posted_transfers: scalar(
            db,
            &format!("{} FROM ledger_transfer WHERE kind = 'post'", sum("amount")),
        )
        .await,
        campaign_spend: scalar(db, &format!("{} FROM campaign_spend", sum("posted"))).await,
        rollup_spend: scalar(db, &format!("{} FROM delivery_rollup", sum("spend_micros"))).await,
        event_posted: scalar(db, &format!("{} FROM delivery_event", sum("posted"))).await,
        decision_posted: scalar(db, &format!("{} FROM delivery_decision", sum("posted"))).await,
        event_views: scalar(db, &format!("{} FROM delivery_event", sum("views"))).await,
        events: scalar(db, "SELECT COUNT(*) FROM delivery_event").await,
        decisions: scalar(db, "SELECT COUNT(*) FROM delivery_decision").await,
    };
    let spend = [
        ("campaign_spend.posted", books.campaign_spend),
        ("delivery_rollup.spend_micros", books.rollup_spend),
        ("delivery_event.posted", books.event_posted),
        ("delivery_decision.posted", books.decision_posted),
    ];
    for (what, total) in spend {
        assert_eq!(
            total, books.posted_transfers,
            "Σ {what} differs from Σ posted ledger transfers: {books:?}"
        );
    }
    let rollup_views = scalar(db, &format!("{} FROM delivery_rollup", sum("views"))).await;
    assert_eq!(rollup_views, books.event_views, "views: rollup vs events");

    // Per decision: its counters are exactly the sum of its events.
    let drifting = scalar(
        db,
        "SELECT COUNT(*) FROM delivery_decision d LEFT JOIN ( \
           SELECT decision_id, SUM(views) AS v, SUM(clicks) AS c, SUM(posted) AS p \
           FROM delivery_event GROUP BY decision_id) e ON e.decision_id = d.id \
         WHERE d.views <> COALESCE(e.v, 0) OR d.clicks <> COALESCE(e.c, 0) \
            OR d.posted <> COALESCE(e.p, 0)",
    )
    .await;
    assert_eq!(
        drifting, 0,
        "decisions whose views, clicks or posted differ from their events"
    );
    let orphans = scalar(
        db,
        "SELECT COUNT(*) FROM delivery_event e \
         LEFT JOIN delivery_decision d ON d.id = e.decision_id WHERE d.id IS NULL",
    )
    .await;
    assert_eq!(orphans, 0, "events of no decision");
    let over = scalar(
        db,
        "SELECT COUNT(*) FROM delivery_decision WHERE posted + released > held OR posted < 0",
    )
    .await;
    assert_eq!(over, 0, "decisions charged or released past their hold");

    // Nothing counted twice: one row per (key, event id), one post per event row.
    let distinct = scalar(
        db,
        "SELECT COUNT(*) FROM (SELECT DISTINCT key_id, event_id FROM delivery_event) AS ids",
    )
    .await;
    assert_eq!(distinct, books.events, "an event id is stored twice");
    let keys = scalar(
        db,
        "SELECT COUNT(*) - COUNT(DISTINCT idempotency_key) FROM ledger_transfer",
    )
    .await;
    assert_eq!(keys, 0, "a ledger key is used twice");

    // Each campaign's holds account holds what its decisions still hold, and its committed
    // spend is what they held and did not release.
    let holds_off = scalar(
        db,
        "SELECT COUNT(*) FROM ( \
           SELECT d.campaign_id, SUM(d.held - d.posted - d.released) AS open, \
                  SUM(d.held - d.released) AS committed \
           FROM delivery_decision d GROUP BY d.campaign_id) x \
         LEFT JOIN ledger_account a ON a.kind = 'campaign_holds' AND a.owner_id = x.campaign_id \
         LEFT JOIN campaign_spend s ON s.campaign_id = x.campaign_id \
         WHERE COALESCE(a.balance, 0) <> x.open OR COALESCE(s.committed, 0) <> x.committed",
    )
    .await;
    assert_eq!(
        holds_off, 0,
        "campaigns whose holds or committed spend differ from their decisions"
    );
    books
}
