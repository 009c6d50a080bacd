//! The dashboard shows each role what matters now, and nothing its role may not see: live
//! campaigns with today's spend against the daily budget, the balance with the days it lasts
//! at the last week's rate, the account's items in review and latest decisions (campaign
//! roles); the platform's queue (moderators); accounts low on money (finance); running out of
//! funds warns those who see billing — on SQLite and PostgreSQL.

mod delivery_support;

use app::{
    entity::staff_role,
    model::{AccountRole, DecisionInput, DeliveryState, Micros, PlatformRole, QueueFilter},
    service::{
        Actor, dashboard,
        delivery::{self, Decided, DeliveryEngine, EventInput},
        moderation, notifications,
    },
};
use chrono::{Duration, Utc};
use delivery_support::*;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, Set};

/// A new user who is a platform moderator (and in no ad account of `owner`'s).
async fn moderator(db: &DatabaseConnection, owner: &Actor) -> Actor {
    let mut m = advertiser(db, &format!("mod-{}@example.com", owner.user_id.0), "UTC").await;
    staff_role::ActiveModel {
        user_id: Set(m.user_id.0),
        role: Set(PlatformRole::Moderator),
        granted_by: Set(None),
        granted_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .expect("grant");
    m.staff_roles.push(PlatformRole::Moderator);
    m
}

#[tokio::test]
async fn each_role_sees_what_matters_now_and_nothing_else() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        let yesterday = now - Duration::days(1);
        set_setting(&db, "min_cpm_micros", Micros::units(1).0).await;
        set_setting(&db, "ad_slots_per_day", 24).await;
        channel(&db, "beans", 10_000, "en").await;
        let me = advertiser(&db, "owner@example.com", "UTC").await;
        credit(
            &db,
            &me,
            Micros::units(1_000),
            "wire-1",
            yesterday - Duration::hours(2),
        )
        .await
        .expect(b);
        let form = campaign_form(
            "Morning brew",
            Micros::units(2),
            Micros::units(500),
            Some(Micros::units(100)),
        );
        let (campaign, _) = running_campaign(&db, &me, form, now).await;
        // Delivered yesterday (a fixture moves the start back, as the demo's history does).
        db.execute_unprepared(&format!(
            "UPDATE campaign SET start_at = NULL WHERE id = {}",
            campaign.0
        ))
        .await
        .expect(b);
        let engine = DeliveryEngine::default();
        let key = network_key(&db, yesterday).await;
        let Decided::Ad(won) = delivery::decide(&db, &engine, key, "beans", "s1", yesterday)
            .await
            .expect(b)
        else {
            panic!("{b}: the campaign wins yesterday's slot");
        };
        delivery::ingest(
            &db,
            &engine,
            key,
            &[EventInput {
                event_id: "e1".into(),
                decision_id: won.decision_id,
                views: 7_000,
                clicks: 3,
                at: yesterday,
            }],
            yesterday,
        )
        .await
        .expect(b);
        // And one slot today, held.
        let Decided::Ad(today) = delivery::decide(&db, &engine, key, "beans", "s2", now)
            .await
            .expect(b)
        else {
            panic!("{b}: the campaign wins today's slot");
        };

        // A second campaign waits for review, then a moderator approves it.
        let second = save_campaign(
            &db,
            &me,
            None,
            campaign_form("Evening brew", Micros::units(2), Micros::units(50), None),
        )
        .await
        .expect(b);
        let decaf = submit_with_ad(&db, &me, second, "Decaf for late readers").await;
        let waiting = dashboard::dashboard(&db, &me, now).await.expect(b);
        let review = waiting.own_review.expect("reviews");
        assert_eq!(
            (review.waiting, review.appeals),
            (1, 0),
            "{b}: sent for review"
        );
        assert!(
            review.oldest.is_some_and(|at| at <= Utc::now()),
            "{b}: {:?}",
            review.oldest
        );
        // The card, read in the same statement as the balance and the review counts.
        let card = waiting.account.expect("the owner's card");
        assert_eq!(card.members, 1, "{b}");
        assert_eq!(card.currency, "EUR", "{b}");
        assert!(!card.time_zone.is_empty() && !card.name.is_empty(), "{b}");
        let moderator = moderator(&db, &me).await;
        let task = moderation::queue(&db, &moderator, &QueueFilter::default())
            .await
            .expect(b)
            .rows[0]
            .id;
        moderation::claim(&db, &moderator, task, Utc::now())
            .await
            .expect(b);
        moderation::decide(
            &db,
            &moderator,
            task,
            DecisionInput {
                approve: true,
                ..Default::default()
            },
        )
        .await
        .expect(b);

        let owner = dashboard::dashboard(&db, &me, now).await.expect(b);
        let live = owner.live.expect("owners see live campaigns");
        assert_eq!(live.running, 2, "{b}: approved, the second runs too");
        assert_eq!(live.rows.len(), 2, "{b}");
        let row = &live.rows[0];
        assert_eq!(row.name, "Morning brew", "{b}");
        assert_eq!(
            row.today, today.held,
            "{b}: today's committed spend is the held slot"
        );
        assert_eq!(row.allowance, Some(Micros::units(100)), "{b}");
        assert_eq!(row.state, DeliveryState::Delivering, "{b}");
        assert_eq!(live.today, today.held, "{b}");
        let money = owner.money.expect("owners see money");
        // €1 CPM (alone: the floor) on 7,000 views = €7 yesterday: €1 a day over 7 days.
        assert_eq!(money.daily_rate, Micros::units(1), "{b}");
        // Both holds are still out (yesterday's settles when it expires); €7 of one was posted.
        assert_eq!(
            money.available,
            Micros(Micros::units(1_000).0 - won.held.0 - today.held.0),
            "{b}"
        );
        assert_eq!(
            money.held,
            Micros(won.held.0 - Micros::units(7).0 + today.held.0),
            "{b}"
        );
        assert_eq!(
            money.days_left,
            Some(money.available.0 / Micros::units(1).0),
            "{b}"
        );
        assert!(!money.low_balance && money.below_alert.is_none(), "{b}");
        // Below the owner's alert, the card says so, and names the alert.
        app::service::ledger::balance::set_low_balance(&db, &me, "5000")
            .await
            .expect(b);
        let alerted = dashboard::dashboard(&db, &me, now)
            .await
            .expect(b)
            .money
            .expect("owners see money");
        assert!(alerted.low_balance, "{b}");
        assert_eq!(alerted.below_alert, Some(Micros::units(5_000)), "{b}");
        app::service::ledger::balance::set_low_balance(&db, &me, "")
            .await
            .expect(b);
        let review = owner.own_review.expect("owners see their reviews");
        assert_eq!((review.waiting, review.appeals), (0, 0), "{b}");
        assert_eq!(review.recent.len(), 1, "{b}: the moderator's approval");
        assert_eq!(review.recent[0].campaign, second, "{b}");
        let decided = review.recent[0]
            .ad
            .as_ref()
            .expect("an ad's decision names the ad");
        assert_eq!(
            (decided.id, decided.title.as_str(), decided.version),
            (decaf, "Beans", 1),
            "{b}"
        );
        assert!(owner.moderation.is_none() && owner.finance.is_none(), "{b}");

        let analyst = member_with_role(&db, &me, "analyst@example.com", AccountRole::Analyst).await;
        let seen = dashboard::dashboard(&db, &analyst, now).await.expect(b);
        assert!(seen.live.is_some() && seen.own_review.is_some(), "{b}");
        assert!(seen.money.is_none(), "{b}: analysts see no money");
        let billing = member_with_role(&db, &me, "billing@example.com", AccountRole::Billing).await;
        let seen = dashboard::dashboard(&db, &billing, now).await.expect(b);
        assert!(seen.money.is_some(), "{b}");
        assert!(
            seen.live.is_none() && seen.own_review.is_none(),
            "{b}: billing sees money, not campaigns"
        );

        let staff = |roles: Vec<PlatformRole>| Actor {
            membership: None,
            clock: None,
            staff_roles: roles,
            ..me.clone()
        };
        let seen = dashboard::dashboard(&db, &staff(vec![PlatformRole::Moderator]), now)
            .await
            .expect(b);
        let queue = seen.moderation.expect("moderators see the queue");
        assert_eq!(queue.recent.len(), 1, "{b}");
        assert!(
            queue.recent[0].account_name.is_some(),
            "{b}: moderators see whose it was"
        );
        assert_eq!((queue.waiting, queue.appeals), (0, 0), "{b}");
        assert!(seen.live.is_none() && seen.money.is_none(), "{b}");
        let finance = dashboard::dashboard(&db, &staff(vec![PlatformRole::Finance]), now)
            .await
            .expect(b)
            .finance
            .expect("finance sees balances");
        assert_eq!(finance.recent_credits, 1, "{b}: the credit of yesterday");
        assert_eq!(finance.out_of_funds, 0, "{b}");
        assert_eq!(finance.awaiting_you, 0, "{b}: nothing waits for approval");
        let stranger = advertiser(&db, "stranger@example.com", "UTC").await;
        let theirs = dashboard::dashboard(&db, &stranger, now).await.expect(b);
        let live = theirs.live.expect("their own (empty) account");
        assert_eq!(
            (live.running, live.rows.len()),
            (0, 0),
            "{b}: nothing of another account"
        );
        assert_eq!(theirs.money.expect("own money").available, Micros(0), "{b}");
    }
}

/// A hold that takes the balance below a thousand views at the minimum price warns those who
/// see billing — the billing member included, who reads and clears it — and not an analyst.
#[tokio::test]
async fn running_out_of_funds_warns_the_members_who_see_billing() {
    for (b, db) in migrations::db::fresh_all().await {
        let now = Utc::now();
        set_setting(&db, "min_cpm_micros", Micros::units(1).0).await;
        set_setting(&db, "ad_slots_per_day", 24).await;
        channel(&db, "beans", 12_000, "en").await;
        let me = advertiser(&db, "owner@example.com", "UTC").await;
        let billing = member_with_role(&db, &me, "billing@example.com", AccountRole::Billing).await;
        let analyst = member_with_role(&db, &me, "analyst@example.com", AccountRole::Analyst).await;
        // €12.50: bidding the minimum price (€1), a 12,000-view slot holds €12, leaving €0.50
        // — under €1, what 1,000 views cost at the minimum price.
        credit(
            &db,
            &me,
            Micros(12_500_000),
            "wire-1",
            now - Duration::hours(1),
        )
        .await
        .expect(b);
        let form = campaign_form("Morning brew", Micros::units(1), Micros::units(500), None);
        let (campaign, _) = running_campaign(&db, &me, form, now).await;
        backdate_start(&db, campaign, now - Duration::hours(1)).await;
        let engine = DeliveryEngine::default();
        let key = network_key(&db, now).await;
        let won = delivery::decide(&db, &engine, key, "beans", "s1", now)
            .await
            .expect(b);
        assert!(matches!(won, Decided::Ad(_)), "{b}: {won:?}");

        for who in [&me, &billing] {
            let inbox = notifications::list(&db, who).await.expect(b);
            assert_eq!(inbox.unread, 1, "{b}");
            assert!(
                inbox.items[0].title.starts_with("Out of funds")
                    && inbox.items[0].link == "/balance#add-funds",
                "{b}: {:?}",
                inbox.items[0]
            );
        }
        let theirs = notifications::list(&db, &analyst).await.expect(b);
        assert!(theirs.items.is_empty(), "{b}: analysts see no money");
        let top = notifications::list(&db, &billing).await.expect(b).items[0].id;
        notifications::mark_read(&db, &billing, top).await.expect(b);
        assert_eq!(
            notifications::list(&db, &billing).await.expect(b).unread,
            0,
            "{b}: the billing member clears their count"
        );
    }
}
