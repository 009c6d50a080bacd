//! What a signed-in page's reads cost in statements: the viewer with the header's figures, the
//! builder of a new campaign, a forecast and the dashboard each read what they show in a
//! small, fixed number of statements, however large the catalog — a guard against a page
//! quietly growing a query per item or reading the same table twice. Every statement is a round
//! trip to the database (on SQLite a hand-off to its worker thread and back), which is what a
//! signed-in page's speed is mostly made of: see the README's "Speed of signed-in pages". On SQLite
//! and PostgreSQL.

mod campaign_support;

use app::{
    entity::platform_setting,
    model::{CampaignFilter, ChannelSort, ForecastRequest, Micros, ReportQuery, Targeting},
    service::{
        account_time::AccountClock, auth, campaigns, catalog_seed, dashboard,
        delivery::DeliveryEngine, forecast, ledger, reports, settings,
    },
};
use campaign_support::{engine, owner, record_spend, running};
use chrono::Utc;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::sync::{Arc, Mutex};

/// A connection to the same database that records the SQL of every statement sent through it.
fn recording(db: &DatabaseConnection) -> (DatabaseConnection, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    let mut recorded = db.clone();
    recorded.set_metric_callback(move |info| {
        sink.lock()
            .expect("log")
            .push(info.statement.sql.chars().take(120).collect());
    });
    (recorded, log)
}

/// The statements recorded since the last call.
fn taken(log: &Mutex<Vec<String>>) -> Vec<String> {
    std::mem::take(&mut *log.lock().expect("log"))
}

#[tokio::test]
async fn signed_in_pages_read_in_a_few_statements() {
    for (b, db) in migrations::db::fresh_all().await {
        catalog_seed::insert(&db, 2_000, 5).await.expect(b);
        let me = owner(&db, &format!("reads-{b}@example.com")).await;
        // As the server runs it: the forecast competes with the running campaigns, whose
        // index carries the platform's limits.
        let engine = engine(&db).await;
        let delivery = DeliveryEngine::default();
        delivery.refresh(&db).await.expect(b);
        engine.compete_with(delivery);
        // The competition is built by the first forecast and kept until the catalog or the
        // running campaigns change (or ten minutes pass): built here, before counting.
        campaigns::builder(&db, &db, &engine, &me, None, Default::default())
            .await
            .expect(b);
        let (recorded, log) = recording(&db);

        // Who is asking, with what the header shows: one statement.
        let viewer = auth::viewer(&recorded, me.user_id, None)
            .await
            .expect(b)
            .expect("viewer");
        assert_eq!(
            viewer.current_account,
            me.membership.map(|(id, _)| id),
            "{b}"
        );
        assert_eq!(viewer.unread_notifications, 0, "{b}");
        assert_eq!(viewer.balance, Some((Micros(0), "EUR".to_owned())), "{b}");
        let statements = taken(&log);
        assert!(statements.len() <= 1, "{b}: {statements:#?}");

        // A new campaign: the delivery version (the platform's limits come with the running
        // campaigns it names, in memory) and the channels shown. The account's currency and
        // time zone came with the viewer.
        let data = campaigns::builder(&recorded, &recorded, &engine, &me, None, Default::default())
            .await
            .expect(b);
        let forecast = data.targeting.forecast.expect("forecast");
        assert!(!data.targeting.options.topics.is_empty(), "{b}");
        assert!(!forecast.top.rows.is_empty(), "{b}");
        let statements = taken(&log);
        assert!(statements.len() <= 2, "{b}: {statements:#?}");
        assert_eq!(
            data.limits,
            settings::load(&db).await.expect(b).money,
            "{b}"
        );
        let account = me.membership.expect("account").0;
        let clock = AccountClock::load(&db, account).await.expect(b);
        assert_eq!(me.clock.as_ref(), Some(&clock), "{b}");
        assert_eq!(
            (data.currency.as_str(), data.time_zone.as_str()),
            (clock.currency.as_str(), clock.time_zone.as_str()),
            "{b}"
        );
        // A change of the limits moves the delivery version (a trigger), so the next builder
        // shows it, on every instance.
        platform_setting::Entity::update_many()
            .col_expr(
                platform_setting::Column::Value,
                sea_orm::sea_query::Expr::value(77_000_000i64),
            )
            .filter(platform_setting::Column::Key.eq("min_total_budget_micros"))
            .exec(&db)
            .await
            .expect(b);
        let data = campaigns::builder(&db, &db, &engine, &me, None, Default::default())
            .await
            .expect(b);
        assert_eq!(data.limits.min_total_budget, Micros(77_000_000), "{b}");

        // A forecast naming topics and included and excluded channels: the delivery version
        // (is the competition current?) and one read for the rows of all three lists (topics
        // and eligibility come from the index).
        let topic = data.targeting.options.topics[0].0.clone();
        let rows = &forecast.top.rows;
        let request = ForecastRequest {
            targeting: Targeting {
                topics: vec![topic],
                include: vec![rows[0].id],
                exclude: rows.iter().skip(1).take(2).map(|r| r.id).collect(),
                ..Targeting::default()
            },
            bid: Micros::units(2),
            daily_budget: None,
            sort: ChannelSort::Subscribers,
            page: 0,
        };
        let answer = forecast::forecast(&recorded, &recorded, &engine, "EUR", request)
            .await
            .expect(b);
        assert_eq!(answer.included.len(), 1, "{b}");
        assert!(!answer.excluded.is_empty(), "{b}");
        // Their topics are named from the index's taxonomy.
        assert!(
            answer
                .included
                .iter()
                .chain(&answer.top.rows)
                .all(|r| !r.topic_slug.is_empty() && r.topic_name != "—"),
            "{b}"
        );
        let statements = taken(&log);
        assert!(statements.len() <= 2, "{b}: {statements:#?}");

        // The dashboard of an owner: the account's card (with the clock), the live campaigns,
        // the review figures and the latest decisions, the balance and the spend rate.
        let board = dashboard::dashboard(&recorded, &me, Utc::now())
            .await
            .expect(b);
        assert!(board.account.is_some() && board.money.is_some(), "{b}");
        let statements = taken(&log);
        assert!(statements.len() <= 5, "{b}: {statements:#?}");

        // A running campaign's builder: the delivery version, the campaign, its delivery
        // figures, its ads (with versions and delivery), its targeting decisions (none: no
        // lookups by an empty list) and the forecast's channels.
        let (live, _) = running(&db, &me).await;
        // A campaign starting moves the delivery version: the running campaigns and the
        // competition are rebuilt once per change on each instance, here before counting.
        campaigns::builder(&db, &db, &engine, &me, Some(live), Default::default())
            .await
            .expect(b);
        let data = campaigns::builder(
            &recorded,
            &recorded,
            &engine,
            &me,
            Some(live),
            Default::default(),
        )
        .await
        .expect(b);
        assert_eq!(data.ads.len(), 1, "{b}");
        assert!(data.targeting_decisions.is_empty(), "{b}");
        let statements = taken(&log);
        assert!(statements.len() <= 8, "{b}: {statements:#?}");

        // The campaign list: its page of campaigns, their delivery figures, their ads and
        // reviews (the clock came with the viewer; a short page needs no count).
        let list = campaigns::list(&recorded, &me, &CampaignFilter::default())
            .await
            .expect(b);
        assert!(!list.page.rows.is_empty(), "{b}");
        let statements = taken(&log);
        assert!(statements.len() <= 3, "{b}: {statements:#?}");

        // The balance page of an account never credited: the figures with the account's name
        // and its ledger account (none yet), and the bank details members pay to — an empty
        // history looks nothing up.
        let balance = ledger::balance::page(&recorded, &me, 0).await.expect(b);
        assert!(balance.entries.is_empty(), "{b}");
        let statements = taken(&log);
        assert!(statements.len() <= 2, "{b}: {statements:#?}");

        // That campaign's report by topic: the account (its name and clock) read once, the
        // channels' topics named in the statement that sums them.
        record_spend(&db, live, data.ads[0].id, 10, 5_000_000).await;
        let channel = app::entity::channel::Entity::find()
            .one(&db)
            .await
            .expect(b)
            .expect("the spending channel");
        let topic = app::entity::topic::Entity::find_by_id(channel.topic_id)
            .one(&db)
            .await
            .expect(b)
            .expect("its topic")
            .name;
        let query = ReportQuery {
            campaign: Some(live.0.to_string()),
            range: Some("custom".to_owned()),
            from: Some("2026-11-01".to_owned()),
            to: Some("2026-11-30".to_owned()),
            by: Some("topic".to_owned()),
            ..ReportQuery::default()
        };
        taken(&log);
        let report = reports::report(&recorded, &me, &query, Utc::now())
            .await
            .expect(b);
        assert_eq!(report.rows.len(), 1, "{b}: {:?}", report.rows);
        assert_eq!(report.rows[0].label, topic, "{b}");
        assert_eq!(report.totals.spend, Micros(5_000_000), "{b}");
        let statements = taken(&log);
        assert!(statements.len() <= 10, "{b}: {statements:#?}");
    }
}

/// A signed-in request's first question — whose session is this, and who is that — is one
/// statement: the stored session (unexpired) and its user's viewer together.
#[tokio::test]
async fn a_stored_session_and_its_viewer_are_one_statement() {
    use app::entity::tower_session;
    use sea_orm::{ActiveModelTrait, Set};
    for (b, db) in migrations::db::fresh_all().await {
        let me = owner(&db, &format!("session-{b}@example.com")).await;
        let now = Utc::now();
        let store = |id: &str, user: Option<i64>, expiry: chrono::DateTime<Utc>| {
            tower_session::ActiveModel {
                id: Set(id.to_owned()),
                data: Set(format!("{{\"record\":\"{id}\"}}")),
                expiry_date: Set(expiry),
                user_id: Set(user),
            }
        };
        let live = chrono::Duration::minutes(30);
        store("live", Some(me.user_id.0), now + live)
            .insert(&db)
            .await
            .expect(b);
        store(
            "expired",
            Some(me.user_id.0),
            now - chrono::Duration::seconds(1),
        )
        .insert(&db)
        .await
        .expect(b);
        store("anonymous", None, now + live)
            .insert(&db)
            .await
            .expect(b);
        store("orphan", Some(i64::MAX), now + live)
            .insert(&db)
            .await
            .expect(b);
        // Another user's session: each session yields its own user.
        let other = owner(&db, &format!("session-other-{b}@example.com")).await;
        store("other", Some(other.user_id.0), now + live)
            .insert(&db)
            .await
            .expect(b);
        let (recorded, log) = recording(&db);
        let (_, rows) = auth::session_viewer(&recorded, "other", now)
            .await
            .expect(b)
            .expect("the other session");
        let theirs = rows.expect("its user").into_viewer(None);
        assert_eq!(theirs.user_id, other.user_id, "{b}");
        assert_ne!(
            theirs.current_account,
            me.membership.map(|(id, _)| id),
            "{b}"
        );
        taken(&log);

        let (record, rows) = auth::session_viewer(&recorded, "live", now)
            .await
            .expect(b)
            .expect("a live session");
        assert_eq!(record, "{\"record\":\"live\"}", "{b}");
        let statements = taken(&log);
        assert_eq!(statements.len(), 1, "{b}: {statements:#?}");
        let viewer = rows.expect("its user").into_viewer(None);
        let alone = auth::viewer(&db, me.user_id, None).await.expect(b);
        assert_eq!(
            Some(&viewer),
            alone.as_ref(),
            "{b}: the same viewer either way"
        );

        for gone in ["expired", "never-stored"] {
            let found = auth::session_viewer(&recorded, gone, now).await.expect(b);
            assert!(found.is_none(), "{b}: {gone}");
        }
        for (id, what) in [("anonymous", "no user"), ("orphan", "a deleted user")] {
            let (record, rows) = auth::session_viewer(&recorded, id, now)
                .await
                .expect(b)
                .expect(what);
            assert_eq!(record, format!("{{\"record\":\"{id}\"}}"), "{b}");
            assert!(rows.is_none(), "{b}: {what}");
        }
    }
}
