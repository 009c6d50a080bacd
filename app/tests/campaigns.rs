//! Campaign service tests on fresh, migrated databases (SQLite, and PostgreSQL when
//! `TEST_DATABASE_URL` is set): the builder round trip, field errors that write nothing, every
//! function × every account role × a foreign account, cloning, and the list with its spend.

mod campaign_support;

use app::{
    entity::campaign,
    error::AppError,
    model::{
        AccountRole, AdVersionStatus, AuditAction, CampaignAction, CampaignFilter, CampaignStatus,
        Micros, Schedule,
    },
    service::{ads, campaigns, campaigns::write},
};
use campaign_support::*;
use migrations::db::fresh_all;
use sea_orm::{EntityTrait, PaginatorTrait};

#[tokio::test]
async fn the_builder_saves_a_draft_and_shows_it_back_as_typed() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let typed = form("Winter coffee");
        let id = save(&db, &me, None, typed.clone()).await.expect(b);
        let data = campaigns::builder(
            &db,
            &db,
            &engine(&db).await,
            &me,
            Some(id),
            Default::default(),
        )
        .await
        .expect(b);
        let back = data.form;
        assert_eq!(back.name, "Winter coffee", "{b}");
        assert_eq!(back.total_budget, "300", "{b}");
        assert_eq!(back.targeting.bid, "1.25", "{b}");
        assert_eq!(back.targeting.daily_budget, "15", "{b}");
        assert_eq!(back.targeting.min_subscribers, "10000", "{b}");
        assert_eq!(back.targeting.languages, ["de", "en"], "{b}");
        assert_eq!(
            (back.start, back.end),
            (typed.start, typed.end),
            "{b}: local times round trip"
        );
        assert_eq!(back.schedule, Some(Schedule::always()), "{b}");
        assert_eq!(
            data.campaign.map(|c| c.status),
            Some(CampaignStatus::Draft),
            "{b}"
        );
        let stored = campaign::Entity::find_by_id(id.0)
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(
            (stored.bid_micros, stored.total_budget_micros),
            (1_250_000, 300_000_000),
            "{b}"
        );
        let audited = audit_count(&db, AuditAction::CampaignCreated).await;
        assert_eq!(audited, 1, "{b}");
    }
}

#[tokio::test]
async fn a_new_campaign_saves_as_a_draft_with_nothing_but_a_name() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let eng = engine(&db).await;
        // The blank builder starts at the platform's minimum bid and total budget.
        let blank = campaigns::builder(&db, &db, &eng, &me, None, Default::default())
            .await
            .expect(b);
        assert_eq!(
            (
                blank.form.targeting.bid.as_str(),
                blank.form.total_budget.as_str()
            ),
            ("0.5", "20"),
            "{b}"
        );
        let mut named = blank.form;
        named.name = "Just a name".into();
        let id = save(&db, &me, None, named).await.expect(b);
        let stored = campaign::Entity::find_by_id(id.0)
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(
            (stored.bid_micros, stored.total_budget_micros),
            (500_000, 20_000_000),
            "{b}"
        );
        assert_eq!(stored.status, CampaignStatus::Draft, "{b}");
    }
}

#[tokio::test]
async fn bad_input_is_refused_beside_each_field_and_writes_nothing() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let mut bad = form("");
        bad.targeting.bid = "0.10".into();
        bad.targeting.daily_budget = "500".into();
        bad.targeting.min_subscribers = "lots".into();
        bad.total_budget = "5".into();
        bad.start = local_in(-2);
        bad.end = local_in(-3);
        bad.schedule = Some(Schedule::default());
        let Err(AppError::Invalid(fields)) = save(&db, &me, None, bad).await else {
            panic!("{b}: must be refused");
        };
        for (field, words) in [
            ("name", "name"),
            ("bid", "minimum CPM bid is €0.50"),
            ("total_budget", "minimum total budget is €20.00"),
            ("min_subscribers", "number"),
            ("start", "past"),
            ("end", "after the start"),
            ("schedule", "at least one hour"),
        ] {
            let message = fields.get(field).unwrap_or_default();
            assert!(
                message.contains(words),
                "{b}: {field}: {message:?} in {fields:?}"
            );
        }
        let mut daily = form("Daily");
        daily.targeting.daily_budget = "500".into();
        let Err(AppError::Invalid(fields)) = save(&db, &me, None, daily).await else {
            panic!("{b}");
        };
        assert!(
            fields
                .get("daily_budget")
                .is_some_and(|m| m.contains("exceed")),
            "{b}"
        );
        let mut topic = form("Topic");
        topic.targeting.topics = vec!["no-such-topic".into()];
        let Err(AppError::Invalid(fields)) = save(&db, &me, None, topic).await else {
            panic!("{b}");
        };
        assert!(fields.get("topics").is_some(), "{b}");
        assert_eq!(
            campaign::Entity::find().count(&db).await.expect(b),
            0,
            "{b}: nothing written"
        );
    }
}

#[tokio::test]
async fn every_function_checks_the_role_and_the_account() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "owner@example.com").await;
        let acct = account(&me);
        let id = save(&db, &me, None, form("Mine")).await.expect(b);
        let ad = ads::save(&db, &me, id, None, ad_input("Hello there"))
            .await
            .expect(b);
        let manager = member(&db, acct, "manager@example.com", AccountRole::Manager).await;
        let analyst = member(&db, acct, "analyst@example.com", AccountRole::Analyst).await;
        let billing = member(&db, acct, "billing@example.com", AccountRole::Billing).await;
        let stranger = owner(&db, "stranger@example.com").await;
        let eng = engine(&db).await;

        // Owners and managers write.
        save(&db, &manager, Some(id), form("Renamed"))
            .await
            .expect(b);
        ads::save(&db, &manager, id, Some(ad), ad_input("Hello again"))
            .await
            .expect(b);
        // Analysts read and may not write.
        assert!(
            campaigns::list(&db, &analyst, &CampaignFilter::default())
                .await
                .is_ok(),
            "{b}"
        );
        assert!(
            campaigns::builder(&db, &db, &eng, &analyst, Some(id), Default::default())
                .await
                .is_ok(),
            "{b}"
        );
        assert!(
            ads::editor(&db, &analyst, id, Some(ad)).await.is_ok(),
            "{b}"
        );
        // Billing sees money pages only.
        for reader in [&billing] {
            assert_eq!(
                campaigns::list(&db, reader, &CampaignFilter::default())
                    .await
                    .err(),
                Some(AppError::Forbidden),
                "{b}"
            );
            assert_eq!(
                campaigns::builder(&db, &db, &eng, reader, Some(id), Default::default())
                    .await
                    .err(),
                Some(AppError::Forbidden),
                "{b}"
            );
            assert_eq!(
                ads::list(&db, reader, id).await.err(),
                Some(AppError::Forbidden),
                "{b}"
            );
        }
        for who in [&analyst, &billing] {
            assert_eq!(
                save(&db, who, Some(id), form("No")).await.err(),
                Some(AppError::Forbidden),
                "{b}"
            );
            assert_eq!(
                save(&db, who, None, form("No")).await.err(),
                Some(AppError::Forbidden),
                "{b}"
            );
            assert_eq!(
                write::submit(&db, who, id).await.err(),
                Some(AppError::Forbidden),
                "{b}"
            );
            assert_eq!(
                write::act(&db, who, id, CampaignAction::Archive)
                    .await
                    .err(),
                Some(AppError::Forbidden),
                "{b}"
            );
            assert_eq!(
                write::clone(&db, who, id).await.err(),
                Some(AppError::Forbidden),
                "{b}"
            );
            assert_eq!(
                ads::save(&db, who, id, Some(ad), ad_input("x")).await.err(),
                Some(AppError::Forbidden),
                "{b}"
            );
            assert_eq!(
                ads::submit(&db, who, ad).await.err(),
                Some(AppError::Forbidden),
                "{b}"
            );
            assert_eq!(
                ads::set_paused(&db, who, ad, true).await.err(),
                Some(AppError::Forbidden),
                "{b}"
            );
        }
        // Another account's ids are not found, and its lists do not show them.
        assert_eq!(
            campaigns::builder(&db, &db, &eng, &stranger, Some(id), Default::default())
                .await
                .err(),
            Some(AppError::NotFound),
            "{b}"
        );
        assert_eq!(
            save(&db, &stranger, Some(id), form("Theirs")).await.err(),
            Some(AppError::NotFound),
            "{b}"
        );
        assert_eq!(
            write::submit(&db, &stranger, id).await.err(),
            Some(AppError::NotFound),
            "{b}"
        );
        assert_eq!(
            write::act(&db, &stranger, id, CampaignAction::Archive)
                .await
                .err(),
            Some(AppError::NotFound),
            "{b}"
        );
        assert_eq!(
            write::clone(&db, &stranger, id).await.err(),
            Some(AppError::NotFound),
            "{b}"
        );
        assert_eq!(
            ads::list(&db, &stranger, id).await.err(),
            Some(AppError::NotFound),
            "{b}"
        );
        assert_eq!(
            ads::editor(&db, &stranger, id, Some(ad)).await.err(),
            Some(AppError::NotFound),
            "{b}"
        );
        assert_eq!(
            ads::save(&db, &stranger, id, Some(ad), ad_input("x"))
                .await
                .err(),
            Some(AppError::NotFound),
            "{b}"
        );
        assert_eq!(
            ads::submit(&db, &stranger, ad).await.err(),
            Some(AppError::NotFound),
            "{b}"
        );
        assert_eq!(
            ads::set_paused(&db, &stranger, ad, true).await.err(),
            Some(AppError::NotFound),
            "{b}"
        );
        let theirs = campaigns::list(
            &db,
            &stranger,
            &CampaignFilter {
                status: "all".into(),
                ..CampaignFilter::default()
            },
        )
        .await
        .expect(b);
        assert_eq!(theirs.page.total, 0, "{b}");
        // The stranger's own campaign cannot borrow our ad.
        let own = save(&db, &stranger, None, form("Theirs")).await.expect(b);
        assert_eq!(
            ads::save(&db, &stranger, own, Some(ad), ad_input("x"))
                .await
                .err(),
            Some(AppError::NotFound),
            "{b}"
        );
        assert_eq!(
            ads::editor(&db, &me, own, None).await.err(),
            Some(AppError::NotFound),
            "{b}"
        );
        // Refusals are audited.
        let denied = audit_count(&db, AuditAction::AccessDenied).await;
        assert!(denied >= 19, "{b}: {denied}");
    }
}

#[tokio::test]
async fn clone_copies_settings_and_ads_as_a_new_draft() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let (id, _) = running(&db, &me).await;
        ads::save(&db, &me, id, None, ad_input("Second ad"))
            .await
            .expect(b);
        let copy = write::clone(&db, &me, id).await.expect(b);
        let data = campaigns::builder(
            &db,
            &db,
            &engine(&db).await,
            &me,
            Some(copy),
            Default::default(),
        )
        .await
        .expect(b);
        assert_eq!(data.form.name, "Copy of Live", "{b}");
        assert_eq!(data.form.targeting.bid, "1.25", "{b}");
        assert_eq!(
            data.campaign.map(|c| c.status),
            Some(CampaignStatus::Draft),
            "{b}"
        );
        assert_eq!(data.ads.len(), 2, "{b}");
        for ad in &data.ads {
            assert_eq!(ad.versions.len(), 1, "{b}");
            assert_eq!(ad.versions[0].status, AdVersionStatus::Draft, "{b}");
            assert_eq!(ad.live_version, None, "{b}");
        }
        assert_eq!(
            status(&db, id).await,
            CampaignStatus::Running,
            "{b}: the source is untouched"
        );
    }
}

#[tokio::test]
async fn the_list_filters_sorts_and_reads_spend_from_the_rollup() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let (live, ad) = running(&db, &me).await;
        for name in ["Alpha winter", "Beta summer", "Gamma winter"] {
            save(&db, &me, None, form(name)).await.expect(b);
        }
        record_spend(&db, live, ad, 20, 12_500_000).await;
        record_spend(&db, live, ad, 21, 25_000_000).await;
        let all = campaigns::list(&db, &me, &CampaignFilter::default())
            .await
            .expect(b);
        assert_eq!(all.page.total, 4, "{b}");
        let row = all.page.rows.iter().find(|r| r.id == live).expect(b);
        assert_eq!(row.spent, Micros(37_500_000), "{b}");
        assert_eq!(row.ads, 1, "{b}");
        let winter = campaigns::list(
            &db,
            &me,
            &CampaignFilter {
                search: "WINTER".into(),
                sort: app::model::CampaignSort::Name,
                ..CampaignFilter::default()
            },
        )
        .await
        .expect(b);
        let names: Vec<_> = winter.page.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["Alpha winter", "Gamma winter"], "{b}");
        let running_only = campaigns::list(
            &db,
            &me,
            &CampaignFilter {
                status: "running".into(),
                ..CampaignFilter::default()
            },
        )
        .await
        .expect(b);
        assert_eq!(running_only.page.total, 1, "{b}");
        // A budget below what is spent is refused beside the field.
        let mut low = asap("Live");
        low.total_budget = "30".into();
        low.targeting.daily_budget = String::new();
        let limits_note = save(&db, &me, Some(live), low).await;
        assert!(
            matches!(limits_note, Err(AppError::Invalid(ref f)) if f.get("total_budget").is_some_and(|m| m.contains("already spent"))),
            "{b}: {limits_note:?}"
        );
    }
}
