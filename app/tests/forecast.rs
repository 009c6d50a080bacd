//! Catalog and forecast service tests on fresh, migrated databases (SQLite, and PostgreSQL when
//! `TEST_DATABASE_URL` is set): forecasts equal a scan of the stored catalog, follow admin
//! edits on every instance, refuse bad targeting field by field; channel edits are admin-only
//! and audited; the browser filters.

use app::{
    entity::{audit_event, channel, topic},
    error::AppError,
    model::{
        AuditAction, ChannelFilter, ChannelId, ChannelSort, ForecastRequest, Micros, SignUpInput,
        Targeting, TopicInput, UserId,
    },
    service::{
        Actor, auth, catalog, catalog_seed,
        forecast::{self, ForecastEngine, index},
        passwords::PasswordHasher,
        settings,
    },
};
use migrations::db::fresh_all;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};
use std::collections::HashMap;

/// The currency forecasts are asked in (the caller's account's, which the server function
/// passes; any will do here).
const CURRENCY: &str = "USD";

async fn user(db: &DatabaseConnection, email: &str, admin: bool) -> Actor {
    let hasher = PasswordHasher::new(2);
    let id: UserId = auth::sign_up(
        db,
        &hasher,
        SignUpInput {
            email: email.into(),
            password: "violet harbour 42 kites".into(),
            account_name: "Acme Ads".into(),
            time_zone: "Europe/Berlin".into(),
        },
        None,
    )
    .await
    .expect("sign up");
    if admin {
        // Staff roles key on the address: only a confirmed one holds them.
        db.execute_unprepared(&format!(
            "UPDATE app_user SET email_verified_at = CURRENT_TIMESTAMP WHERE id = {id}"
        ))
        .await
        .expect("confirm");
        db.execute_unprepared(&format!(
            "INSERT INTO staff_role (user_id, role, granted_by, granted_at) VALUES ({id}, 'admin', NULL, CURRENT_TIMESTAMP)"
        ))
        .await
        .expect("grant admin");
    }
    let viewer = auth::viewer(db, id, None)
        .await
        .expect("load")
        .expect("exists");
    Actor {
        user_id: id,
        email: viewer.email.clone(),
        staff_roles: viewer.staff_roles.clone(),
        membership: viewer.current_membership().map(|m| (m.account_id, m.role)),
        ip: Some("192.0.2.1".into()),
        clock: None,
    }
}

/// The stored catalog as the scan reference sees it.
async fn stored(db: &DatabaseConnection) -> Vec<index::IndexedChannel> {
    let topics: HashMap<i64, String> = topic::Entity::find()
        .all(db)
        .await
        .expect("topics")
        .into_iter()
        .map(|t| (t.id, t.slug))
        .collect();
    channel::Entity::find()
        .all(db)
        .await
        .expect("channels")
        .into_iter()
        .map(|c| index::IndexedChannel {
            id: c.id,
            topic: topics[&c.topic_id].clone(),
            language: c.language,
            subscribers: c.subscribers,
            avg_views: c.avg_views,
            posts_per_day: c.posts_per_day,
            active: c.status == "active",
            name_rank: 0,
        })
        .collect()
}

fn request(targeting: Targeting) -> ForecastRequest {
    ForecastRequest {
        targeting,
        bid: Micros(2_000_000),
        daily_budget: None,
        sort: ChannelSort::Subscribers,
        page: 0,
    }
}

fn crypto_or_tech_in_english() -> Targeting {
    Targeting {
        topics: vec!["crypto".into(), "tech".into()],
        languages: vec!["en".into()],
        min_subscribers: Some(2_000),
        ..Targeting::default()
    }
}

#[tokio::test]
async fn forecast_equals_a_scan_and_follows_edits_on_every_instance() {
    for (backend, db) in fresh_all().await {
        catalog_seed::insert(&db, 3_000, 11).await.expect(backend);
        let admin = user(&db, "admin@example.com", true).await;
        let engine = ForecastEngine::load(&db).await.expect(backend);
        // A second instance on the same database.
        let other = ForecastEngine::load(&db).await.expect(backend);
        let platform = settings::load(&db).await.expect(backend);
        let model = index::IndexSettings {
            min_subscribers: platform.min_subscribers,
            slots_per_day: platform.slots_per_day,
        };

        let targeting = crypto_or_tech_in_english();
        let answer = forecast::forecast(&db, &db, &engine, CURRENCY, request(targeting.clone()))
            .await
            .expect(backend);
        let expected = index::scan(
            &stored(&db).await,
            model,
            &targeting,
            ChannelSort::Subscribers,
            0,
            10,
        );
        assert!(
            expected.totals.channels > 10,
            "{backend}: a meaningful sample"
        );
        assert_eq!(answer.channels, expected.totals.channels, "{backend}");
        assert_eq!(answer.subscribers, expected.totals.subscribers, "{backend}");
        assert_eq!(answer.daily_capacity, expected.totals.capacity, "{backend}");
        let ids: Vec<i64> = answer.top.rows.iter().map(|r| r.id.0).collect();
        assert_eq!(ids, expected.page, "{backend}: top channels by subscribers");
        assert!(answer.top.rows.iter().all(|r| r.eligible), "{backend}");
        assert_eq!(
            answer.daily_views, answer.daily_capacity,
            "{backend}: full win, no budget"
        );
        assert_eq!(
            Some(answer.daily_spend),
            Micros(2_000_000).cpm_cost(answer.daily_views),
            "{backend}"
        );
        assert_eq!(answer.currency, CURRENCY, "{backend}");

        // A daily budget caps views and spend.
        let capped = forecast::forecast(
            &db,
            &db,
            &engine,
            CURRENCY,
            ForecastRequest {
                daily_budget: Some(Micros(1_000_000)),
                ..request(targeting.clone())
            },
        )
        .await
        .expect(backend);
        assert!(capped.budget_limited, "{backend}");
        assert_eq!(
            capped.daily_views, 500,
            "{backend}: €1 at €2 CPM buys 500 views"
        );
        assert_eq!(capped.daily_spend, Micros(1_000_000), "{backend}");

        // The admin deactivates the largest match: both instances stop counting it.
        let largest = answer.top.rows[0].clone();
        let (_, mut input) = catalog::channel_input(&db, &admin, largest.id)
            .await
            .expect(backend);
        input.active = false;
        catalog::update_channel(&db, &admin, largest.id, input)
            .await
            .expect(backend);
        assert!(
            engine.refresh(&db).await.expect(backend),
            "{backend}: rebuilt"
        );
        assert!(
            other.refresh(&db).await.expect(backend),
            "{backend}: other instance rebuilt"
        );
        assert!(
            !engine.refresh(&db).await.expect(backend),
            "{backend}: nothing new"
        );
        for instance in [&engine, &other] {
            let after =
                forecast::forecast(&db, &db, instance, CURRENCY, request(targeting.clone()))
                    .await
                    .expect(backend);
            assert_eq!(after.channels, answer.channels - 1, "{backend}");
            assert_eq!(
                after.subscribers,
                answer.subscribers - largest.subscribers,
                "{backend}"
            );
            assert_ne!(after.top.rows[0].id, largest.id, "{backend}");
        }
        let audited = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq(AuditAction::ChannelUpdated.code()))
            .count(&db)
            .await
            .expect(backend);
        assert_eq!(audited, 1, "{backend}");
    }
}

#[tokio::test]
async fn bad_targeting_is_refused_field_by_field() {
    for (backend, db) in fresh_all().await {
        catalog_seed::insert(&db, 500, 3).await.expect(backend);
        let engine = ForecastEngine::load(&db).await.expect(backend);
        let inactive = channel::Entity::find()
            .filter(channel::Column::Status.eq("inactive"))
            .one(&db)
            .await
            .expect(backend)
            .expect("the seed has inactive channels");
        let cases: Vec<(Targeting, &str)> = vec![
            (
                Targeting {
                    topics: vec!["astrology".into()],
                    ..Targeting::default()
                },
                "topics",
            ),
            (
                Targeting {
                    languages: vec!["xx".into()],
                    ..Targeting::default()
                },
                "languages",
            ),
            (
                Targeting {
                    min_subscribers: Some(5_000),
                    max_subscribers: Some(10),
                    ..Targeting::default()
                },
                "max_subscribers",
            ),
            (
                Targeting {
                    include: vec![ChannelId(inactive.id)],
                    ..Targeting::default()
                },
                "include",
            ),
            (
                Targeting {
                    include: vec![ChannelId(1)],
                    exclude: vec![ChannelId(1)],
                    ..Targeting::default()
                },
                "exclude",
            ),
        ];
        for (targeting, field) in cases {
            let result = forecast::forecast(&db, &db, &engine, CURRENCY, request(targeting)).await;
            let Err(AppError::Invalid(errors)) = result else {
                panic!("{backend}/{field}: {result:?}")
            };
            assert!(errors.get(field).is_some(), "{backend}/{field}: {errors:?}");
        }
        let zero_bid = ForecastRequest {
            bid: Micros(0),
            ..request(Targeting::default())
        };
        let result = forecast::forecast(&db, &db, &engine, CURRENCY, zero_bid).await;
        assert!(
            matches!(result, Err(AppError::Invalid(ref e)) if e.get("bid").is_some()),
            "{backend}"
        );

        // Empty targeting = the whole eligible catalog; an include list = only those channels.
        let all = forecast::forecast(&db, &db, &engine, CURRENCY, request(Targeting::default()))
            .await
            .expect(backend);
        assert_eq!(all.channels, all.eligible_channels, "{backend}");
        let mut pick: Vec<ChannelId> = all.top.rows.iter().take(2).map(|r| r.id).collect();
        pick.sort();
        let only = forecast::forecast(
            &db,
            &db,
            &engine,
            CURRENCY,
            request(Targeting {
                include: pick.clone(),
                topics: vec!["news".into()],
                ..Targeting::default()
            }),
        )
        .await
        .expect(backend);
        assert_eq!(
            only.channels, 2,
            "{backend}: filters do not apply to an include list"
        );
        assert_eq!(
            only.included.iter().map(|r| r.id).collect::<Vec<_>>(),
            pick,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn channel_edits_are_admin_only_and_checked() {
    for (backend, db) in fresh_all().await {
        catalog_seed::insert(&db, 50, 5).await.expect(backend);
        let advertiser = user(&db, "ads@example.com", false).await;
        let admin = user(&db, "admin@example.com", true).await;
        let id = ChannelId(
            channel::Entity::find()
                .one(&db)
                .await
                .expect(backend)
                .expect("one")
                .id,
        );
        let (_, input) = catalog::channel_input(&db, &admin, id)
            .await
            .expect(backend);
        let refused = catalog::update_channel(&db, &advertiser, id, input.clone()).await;
        assert_eq!(refused, Err(AppError::Forbidden), "{backend}");
        assert_eq!(
            catalog::channel_input(&db, &advertiser, id)
                .await
                .map(|_| ()),
            Err(AppError::Forbidden),
            "{backend}"
        );
        let version = settings::catalog_version(&db).await.expect(backend);
        let bad = app::model::ChannelInput {
            subscribers: "-3".into(),
            language: "zz".into(),
            topic: "astrology".into(),
            ..input.clone()
        };
        let Err(AppError::Invalid(errors)) = catalog::update_channel(&db, &admin, id, bad).await
        else {
            panic!("{backend}: bad input accepted")
        };
        for field in ["subscribers", "language", "topic"] {
            assert!(errors.get(field).is_some(), "{backend}/{field}");
        }
        assert_eq!(
            settings::catalog_version(&db).await.expect(backend),
            version,
            "{backend}: nothing written"
        );
        let missing = catalog::update_channel(&db, &admin, ChannelId(999_999), input).await;
        assert_eq!(missing, Err(AppError::NotFound), "{backend}");
    }
}

#[tokio::test]
async fn admins_add_and_rename_topics_and_every_forecast_follows() {
    for (backend, db) in fresh_all().await {
        catalog_seed::insert(&db, 200, 3).await.expect(backend);
        let advertiser = user(&db, "ads@example.com", false).await;
        let admin = user(&db, "admin@example.com", true).await;
        let engine = ForecastEngine::load(&db).await.expect(backend);
        let other = ForecastEngine::load(&db).await.expect(backend);
        let new = |slug: &str, name: &str| TopicInput {
            id: None,
            slug: slug.into(),
            name: name.into(),
        };
        let catalog_version = || async { settings::catalog_version(&db).await.expect(backend) };

        // Admins only, and nothing written for anyone else.
        let version = catalog_version().await;
        assert_eq!(
            catalog::save_topic(&db, &advertiser, new("", "Food & Drink")).await,
            Err(AppError::Forbidden),
            "{backend}"
        );
        assert_eq!(
            catalog::topic_rows(&db, &advertiser).await.map(|_| ()),
            Err(AppError::Forbidden),
            "{backend}"
        );
        assert_eq!(catalog_version().await, version, "{backend}");

        // A new topic: its slug made from the name, no channels yet, in every instance's
        // targeting controls once its index follows the version.
        let food = catalog::save_topic(&db, &admin, new("", "Food & Drink"))
            .await
            .expect(backend);
        catalog::save_topic(&db, &admin, new("nibbles", "Snacks"))
            .await
            .expect(backend);
        let rows = catalog::topic_rows(&db, &admin).await.expect(backend);
        let row = rows.iter().find(|t| t.id == food).expect("listed");
        assert_eq!(
            (row.slug.as_str(), row.channels),
            ("food-drink", 0),
            "{backend}"
        );
        let crypto = rows.iter().find(|t| t.slug == "crypto").expect("seeded");
        assert_eq!(
            crypto.channels,
            channel::Entity::find()
                .filter(channel::Column::TopicId.eq(crypto.id.0))
                .count(&db)
                .await
                .expect(backend),
            "{backend}: channels counted per topic"
        );
        assert_eq!(catalog_version().await, version + 2, "{backend}");
        for instance in [&engine, &other] {
            assert!(instance.refresh(&db).await.expect(backend), "{backend}");
            assert_eq!(
                offered(instance, "food-drink", "Food & Drink"),
                Some(0),
                "{backend}: the new topic is offered"
            );
        }

        // Clashes, each beside its field: a name or slug another topic answers to (in any
        // case: catalog files name topics by either), and nothing written.
        let version = catalog_version().await;
        for (input, field) in [
            (new("", "CRYPTO"), "name"),
            (new("meals", "food-drink"), "name"),
            (new("", "Nibbles"), "name"),
            (new("crypto", "Coins"), "slug"),
            (new("snacks", "Crisps"), "slug"),
        ] {
            let Err(AppError::Invalid(errors)) =
                catalog::save_topic(&db, &admin, input.clone()).await
            else {
                panic!("{backend}: {input:?} accepted")
            };
            assert!(
                errors.get(field).is_some(),
                "{backend}: {input:?} {errors:?}"
            );
        }
        assert_eq!(
            catalog_version().await,
            version,
            "{backend}: nothing written"
        );

        // A rename keeps the slug (campaigns and channels still point at it), is audited with
        // before and after, and reaches the forecast's taxonomy.
        let rename = TopicInput {
            id: Some(crypto.id),
            slug: "ignored".into(),
            name: "Crypto & Web3".into(),
        };
        assert_eq!(
            catalog::save_topic(&db, &admin, rename).await,
            Ok(crypto.id),
            "{backend}"
        );
        let stored = topic::Entity::find_by_id(crypto.id.0)
            .one(&db)
            .await
            .expect(backend)
            .expect("kept");
        assert_eq!(
            (stored.slug.as_str(), stored.name.as_str()),
            ("crypto", "Crypto & Web3"),
            "{backend}"
        );
        assert!(engine.refresh(&db).await.expect(backend), "{backend}");
        assert!(
            offered(&engine, "crypto", "Crypto & Web3").is_some_and(|n| n > 0),
            "{backend}: renamed, with its channels"
        );
        let audited = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq(AuditAction::TopicSaved.code()))
            .all(&db)
            .await
            .expect(backend);
        assert_eq!(audited.len(), 3, "{backend}");
        let detail = audited
            .iter()
            .find(|a| a.target_id == crypto.id.to_string())
            .and_then(|a| a.detail.clone())
            .expect("audited rename");
        assert!(
            detail.contains("\"before\"") && detail.contains("Crypto & Web3"),
            "{backend}: {detail}"
        );

        // The same name again changes nothing; an unknown topic is not found.
        let version = catalog_version().await;
        let same = TopicInput {
            id: Some(crypto.id),
            slug: String::new(),
            name: "Crypto & Web3".into(),
        };
        assert_eq!(
            catalog::save_topic(&db, &admin, same).await,
            Ok(crypto.id),
            "{backend}"
        );
        let missing = TopicInput {
            id: Some(app::model::TopicId(999_999)),
            slug: String::new(),
            name: "Ghost".into(),
        };
        assert_eq!(
            catalog::save_topic(&db, &admin, missing).await,
            Err(AppError::NotFound),
            "{backend}"
        );
        assert_eq!(
            catalog_version().await,
            version,
            "{backend}: neither wrote anything"
        );
        assert_eq!(
            catalog::topic_rows(&db, &admin).await.expect(backend).len(),
            rows.len(),
            "{backend}"
        );
    }
}

/// How many channels `engine`'s targeting controls offer under the topic `slug` named `name`
/// (none: not offered under that name).
fn offered(engine: &ForecastEngine, slug: &str, name: &str) -> Option<u64> {
    forecast::options(engine)
        .topics
        .into_iter()
        .find(|(s, n, _)| s == slug && n == name)
        .map(|(_, _, channels)| channels)
}

#[tokio::test]
async fn the_channel_browser_filters_searches_and_sorts() {
    for (backend, db) in fresh_all().await {
        catalog_seed::insert(&db, 4_000, 9).await.expect(backend);
        let advertiser = user(&db, "ads@example.com", false).await;
        let page = catalog::list_channels(
            &db,
            &advertiser,
            &ChannelFilter {
                topics: vec!["crypto".into()],
                languages: vec!["en".into(), "ru".into()],
                min_subscribers: Some(1_000),
                eligible_only: true,
                sort: ChannelSort::Views,
                ..ChannelFilter::default()
            },
        )
        .await
        .expect(backend);
        assert!(page.total > 0, "{backend}");
        assert!(
            page.rows.iter().all(|r| r.topic_slug == "crypto"
                && ["en", "ru"].contains(&r.language.as_str())
                && r.subscribers >= 1_000
                && r.eligible),
            "{backend}"
        );
        assert!(
            page.rows
                .windows(2)
                .all(|w| w[0].avg_views >= w[1].avg_views),
            "{backend}"
        );

        let first = page.rows[0].clone();
        let needle = first.handle[1..first.handle.len() - 1].to_uppercase();
        let found = catalog::list_channels(
            &db,
            &advertiser,
            &ChannelFilter {
                search: format!("@{needle}"),
                ..ChannelFilter::default()
            },
        )
        .await
        .expect(backend);
        assert!(
            found.rows.iter().any(|r| r.id == first.id),
            "{backend}: case-insensitive search"
        );
        let wildcard = catalog::list_channels(
            &db,
            &advertiser,
            &ChannelFilter {
                search: "%".into(),
                ..ChannelFilter::default()
            },
        )
        .await
        .expect(backend);
        assert_eq!(
            wildcard.total, 0,
            "{backend}: % is a character, not a wildcard"
        );
    }
}

#[tokio::test]
async fn admins_change_eligibility_and_forecasts_follow() {
    for (backend, db) in fresh_all().await {
        catalog_seed::insert(&db, 1_000, 13).await.expect(backend);
        let advertiser = user(&db, "ads@example.com", false).await;
        let admin = user(&db, "admin@example.com", true).await;
        let engine = ForecastEngine::load(&db).await.expect(backend);
        let before = forecast::forecast(&db, &db, &engine, CURRENCY, request(Targeting::default()))
            .await
            .expect(backend);

        let input = app::model::CatalogSettingsInput {
            min_subscribers: "5k".into(),
            slots_per_day: "1".into(),
            min_cpm: "0.80".into(),
            min_total_budget: String::new(),
            publisher_share: String::new(),
            hold_hours: String::new(),
            report_min_views: String::new(),
            approval_units: "2,500".into(),
            currency: String::new(),
        };
        assert_eq!(
            settings::update_catalog(&db, &advertiser, input.clone()).await,
            Err(AppError::Forbidden),
            "{backend}"
        );
        let bad = app::model::CatalogSettingsInput {
            min_subscribers: "-1".into(),
            slots_per_day: "99".into(),
            min_cpm: "0".into(),
            min_total_budget: "abc".into(),
            publisher_share: "101".into(),
            hold_hours: "0".into(),
            report_min_views: "x".into(),
            approval_units: "0".into(),
            currency: "JPY".into(),
        };
        let Err(AppError::Invalid(errors)) = settings::update_catalog(&db, &admin, bad).await
        else {
            panic!("{backend}: bad settings accepted")
        };
        assert!(
            [
                "min_subscribers",
                "slots_per_day",
                "min_cpm",
                "min_total_budget",
                "publisher_share",
                "hold_hours",
                "report_min_views",
                "approval_units",
                "currency"
            ]
            .iter()
            .all(|f| errors.get(f).is_some()),
            "{backend}: {errors:?}"
        );

        settings::update_catalog(&db, &admin, input)
            .await
            .expect(backend);
        assert!(
            engine.refresh(&db).await.expect(backend),
            "{backend}: a new catalog version"
        );
        let money = settings::load(&db).await.expect(backend).money;
        assert_eq!(
            (money.min_cpm, money.min_total_budget),
            (Micros(800_000), Micros(20_000_000)),
            "{backend}: an empty money field keeps its value"
        );
        assert_eq!(
            settings::finance_approval_units(&db).await.expect(backend),
            2_500,
            "{backend}: finance's approval threshold"
        );
        // An admin who is also in finance does not move the threshold that binds them.
        let mut both = admin.clone();
        both.staff_roles.push(app::model::PlatformRole::Finance);
        let raise = app::model::CatalogSettingsInput {
            approval_units: "1000000".into(),
            ..settings::catalog_input(&db, &admin).await.expect(backend)
        };
        let Err(AppError::Invalid(errors)) = settings::update_catalog(&db, &both, raise).await
        else {
            panic!("{backend}: an admin in finance raised the threshold")
        };
        assert!(errors.get("approval_units").is_some(), "{backend}");
        assert_eq!(
            settings::finance_approval_units(&db).await.expect(backend),
            2_500,
            "{backend}"
        );
        let after = forecast::forecast(&db, &db, &engine, CURRENCY, request(Targeting::default()))
            .await
            .expect(backend);
        assert!(
            after.eligible_channels < before.eligible_channels,
            "{backend}"
        );
        assert_eq!(
            (after.min_subscribers, after.slots_per_day),
            (5_000, 1),
            "{backend}"
        );
        assert!(
            after.top.rows.iter().all(|r| r.subscribers >= 5_000),
            "{backend}"
        );
        let audited = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq(AuditAction::SettingsUpdated.code()))
            .count(&db)
            .await
            .expect(backend);
        assert_eq!(audited, 1, "{backend}");

        // The currency new accounts open in: the next sign-up's, never an existing account's.
        assert_eq!(
            settings::account_currency(&db).await.expect(backend),
            "EUR",
            "{backend}: the default"
        );
        let usd = app::model::CatalogSettingsInput {
            currency: "usd".into(),
            ..settings::catalog_input(&db, &admin).await.expect(backend)
        };
        settings::update_catalog(&db, &admin, usd)
            .await
            .expect(backend);
        assert_eq!(
            settings::catalog_input(&db, &admin)
                .await
                .expect(backend)
                .currency,
            "USD",
            "{backend}"
        );
        let newcomer = user(&db, "new@example.com", false).await;
        let currency_of = |actor: &Actor| {
            let id = actor.membership.expect("an account").0;
            let db = db.clone();
            async move {
                app::entity::ad_account::Entity::find_by_id(id.0)
                    .one(&db)
                    .await
                    .expect("read")
                    .expect("account")
                    .currency
            }
        };
        assert_eq!(currency_of(&newcomer).await, "USD", "{backend}");
        assert_eq!(currency_of(&advertiser).await, "EUR", "{backend}: kept");
        // Chosen again (the row exists now), and audited each time.
        let back = app::model::CatalogSettingsInput {
            currency: "EUR".into(),
            ..settings::catalog_input(&db, &admin).await.expect(backend)
        };
        settings::update_catalog(&db, &admin, back)
            .await
            .expect(backend);
        assert_eq!(
            settings::account_currency(&db).await.expect(backend),
            "EUR",
            "{backend}"
        );
        let audited = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq(AuditAction::SettingsUpdated.code()))
            .count(&db)
            .await
            .expect(backend);
        assert_eq!(audited, 3, "{backend}");
    }
}
