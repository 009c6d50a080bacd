//! Campaign and ad service tests on fresh, migrated databases (SQLite, and PostgreSQL when
//! `TEST_DATABASE_URL` is set): the builder round trip, field errors that write nothing, every
//! function × every account role × a foreign account, ad versions through review, the
//! lifecycle, targeting changes of live campaigns, cloning, the clock, and spend.

use app::{
    entity::{ad_version, audit_event, campaign, channel, delivery_rollup},
    error::AppError,
    model::{
        AccountId, AccountRole, AdId, AdInput, AdVersionId, AdVersionStatus, AuditAction,
        CampaignAction, CampaignFilter, CampaignForm, CampaignId, CampaignStatus, Micros, Schedule,
        SignUpInput, TargetingForm,
    },
    service::{
        Actor, ads, auth,
        campaigns::{self, clock, write},
        forecast::ForecastEngine,
        passwords::PasswordHasher,
    },
};
use chrono::{Duration, Utc};
use migrations::db::fresh_all;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, Set,
};

async fn owner(db: &DatabaseConnection, email: &str) -> Actor {
    let id = auth::sign_up(
        db,
        &PasswordHasher::new(2),
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
    let viewer = auth::viewer(db, id, None)
        .await
        .expect("viewer")
        .expect("exists");
    Actor {
        user_id: id,
        email: viewer.email.clone(),
        staff_roles: vec![],
        membership: viewer.current_membership().map(|m| (m.account_id, m.role)),
        ip: None,
    }
}

/// A user who is `role` in `account` (and works in it).
async fn member(
    db: &DatabaseConnection,
    account: AccountId,
    email: &str,
    role: AccountRole,
) -> Actor {
    let mut actor = owner(db, email).await;
    db.execute_unprepared(&format!(
        "INSERT INTO account_member (account_id, user_id, role, created_at) VALUES ({account}, {}, '{}', CURRENT_TIMESTAMP)",
        actor.user_id,
        role.code()
    ))
    .await
    .expect("membership");
    actor.membership = Some((account, role));
    actor
}

fn account(actor: &Actor) -> AccountId {
    actor.membership.expect("member").0
}

fn local_in(days: i64) -> String {
    // Berlin is UTC+1 in winter and +2 in summer; a day's margin keeps "future" future.
    (Utc::now() + Duration::days(days))
        .format("%Y-%m-%dT08:00")
        .to_string()
}

fn form(name: &str) -> CampaignForm {
    CampaignForm {
        name: name.into(),
        targeting: TargetingForm {
            languages: vec!["en".into(), "de".into()],
            min_subscribers: "10k".into(),
            max_subscribers: "2M".into(),
            bid: "1.25".into(),
            daily_budget: "15".into(),
            ..TargetingForm::default()
        },
        total_budget: "300".into(),
        start: local_in(3),
        end: local_in(30),
        schedule: Some(Schedule::always()),
    }
}

fn ad_input(text: &str) -> AdInput {
    AdInput {
        title: "Launch".into(),
        text: text.into(),
        button_label: "Open".into(),
        destination_url: "https://acme.coffee/club".into(),
    }
}

async fn engine(db: &DatabaseConnection) -> ForecastEngine {
    ForecastEngine::load(db).await.expect("engine")
}

async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Option<CampaignId>,
    f: CampaignForm,
) -> Result<CampaignId, AppError> {
    let engine = engine(db).await;
    write::save(db, &engine.index(), actor, id, f)
        .await
        .map(|o| o.id)
}

async fn versions(db: &DatabaseConnection, ad: AdId) -> Vec<(i32, AdVersionStatus)> {
    let mut rows: Vec<(i32, AdVersionStatus)> = ad_version::Entity::find()
        .filter(ad_version::Column::AdId.eq(ad.0))
        .all(db)
        .await
        .expect("versions")
        .into_iter()
        .map(|v| (v.number, v.status))
        .collect();
    rows.sort_by_key(|(n, _)| *n);
    rows
}

async fn version_id(db: &DatabaseConnection, ad: AdId, number: i32) -> AdVersionId {
    let row = ad_version::Entity::find()
        .filter(ad_version::Column::AdId.eq(ad.0))
        .filter(ad_version::Column::Number.eq(number))
        .one(db)
        .await
        .expect("query")
        .expect("version");
    AdVersionId(row.id)
}

async fn status(db: &DatabaseConnection, id: CampaignId) -> CampaignStatus {
    campaign::Entity::find_by_id(id.0)
        .one(db)
        .await
        .expect("query")
        .expect("campaign")
        .status
}

/// A campaign with one approved ad, running now.
async fn running(db: &DatabaseConnection, actor: &Actor) -> (CampaignId, AdId) {
    let id = save(
        db,
        actor,
        None,
        CampaignForm {
            start: String::new(),
            ..form("Live")
        },
    )
    .await
    .expect("save");
    let ad = ads::save(db, actor, id, None, ad_input("Fresh beans every Monday"))
        .await
        .expect("ad");
    write::submit(db, actor, id).await.expect("submit");
    ads::apply_review(
        db,
        version_id(db, ad, 1).await,
        ads::ReviewOutcome::Approve,
        Utc::now(),
    )
    .await
    .expect("approve");
    assert_eq!(status(db, id).await, CampaignStatus::Running);
    (id, ad)
}

#[tokio::test]
async fn the_builder_saves_a_draft_and_shows_it_back_as_typed() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let typed = form("Winter coffee");
        let id = save(&db, &me, None, typed.clone()).await.expect(b);
        let data = campaigns::builder(&db, &engine(&db).await, &me, Some(id))
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
        let audited = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq(AuditAction::CampaignCreated.code()))
            .count(&db)
            .await
            .expect(b);
        assert_eq!(audited, 1, "{b}");
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
            campaigns::builder(&db, &eng, &analyst, Some(id))
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
                campaigns::builder(&db, &eng, reader, Some(id)).await.err(),
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
            campaigns::builder(&db, &eng, &stranger, Some(id))
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
        let denied = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq(AuditAction::AccessDenied.code()))
            .count(&db)
            .await
            .expect(b);
        assert!(denied >= 19, "{b}: {denied}");
    }
}

#[tokio::test]
async fn ad_versions_are_immutable_once_sent_and_the_approved_one_keeps_serving() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let id = save(
            &db,
            &me,
            None,
            CampaignForm {
                start: String::new(),
                ..form("Versions")
            },
        )
        .await
        .expect(b);
        let ad = ads::save(&db, &me, id, None, ad_input("First words"))
            .await
            .expect(b);
        ads::save(&db, &me, id, Some(ad), ad_input("First words, amended"))
            .await
            .expect(b);
        assert_eq!(
            versions(&db, ad).await,
            [(1, AdVersionStatus::Draft)],
            "{b}: a draft is amended"
        );
        ads::submit(&db, &me, ad).await.expect(b);
        assert_eq!(
            ads::submit(&db, &me, ad).await.err(),
            Some(AppError::Conflict(
                "This version is already in review.".into()
            )),
            "{b}"
        );
        ads::apply_review(
            &db,
            version_id(&db, ad, 1).await,
            ads::ReviewOutcome::Approve,
            Utc::now(),
        )
        .await
        .expect(b);
        assert_eq!(
            status(&db, id).await,
            CampaignStatus::Running,
            "{b}: the approval launched it"
        );

        // An edit of the approved version is a new version; v1 keeps serving through review and decline.
        ads::save(&db, &me, id, Some(ad), ad_input("Second words"))
            .await
            .expect(b);
        ads::submit(&db, &me, ad).await.expect(b);
        assert_eq!(
            versions(&db, ad).await,
            [
                (1, AdVersionStatus::Approved),
                (2, AdVersionStatus::InReview)
            ],
            "{b}"
        );
        ads::apply_review(
            &db,
            version_id(&db, ad, 2).await,
            ads::ReviewOutcome::Decline,
            Utc::now(),
        )
        .await
        .expect(b);
        let details = ads::list(&db, &me, id).await.expect(b);
        assert_eq!(
            details[0].live_version,
            Some(1),
            "{b}: a declined edit leaves v1 serving"
        );
        let v1 = ad_version::Entity::find_by_id(version_id(&db, ad, 1).await.0)
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(
            v1.text, "First words, amended",
            "{b}: approved copy never changes"
        );

        // Sending a newer edit withdraws an older one still waiting.
        ads::save(&db, &me, id, Some(ad), ad_input("Third words"))
            .await
            .expect(b);
        ads::submit(&db, &me, ad).await.expect(b);
        ads::save(&db, &me, id, Some(ad), ad_input("Fourth words"))
            .await
            .expect(b);
        ads::submit(&db, &me, ad).await.expect(b);
        assert_eq!(
            versions(&db, ad).await,
            [
                (1, AdVersionStatus::Approved),
                (2, AdVersionStatus::Declined),
                (3, AdVersionStatus::Withdrawn),
                (4, AdVersionStatus::InReview)
            ],
            "{b}"
        );
        ads::apply_review(
            &db,
            version_id(&db, ad, 4).await,
            ads::ReviewOutcome::Approve,
            Utc::now(),
        )
        .await
        .expect(b);
        let details = ads::list(&db, &me, id).await.expect(b);
        assert_eq!(details[0].live_version, Some(4), "{b}");
        assert_eq!(details[0].state_label(), "Approved", "{b}");
    }
}

#[tokio::test]
async fn the_server_runs_the_prechecks_and_the_ad_limit() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let id = save(&db, &me, None, form("Checks")).await.expect(b);
        assert!(
            write::submit(&db, &me, id)
                .await
                .err()
                .is_some_and(|e| matches!(e, AppError::Invalid(f) if f.get("ads").is_some())),
            "{b}: no ads, nothing to send"
        );
        let shouting = ads::save(&db, &me, id, None, ad_input("BUY NOW, this is AMAZING"))
            .await
            .expect(b);
        let Err(AppError::Invalid(fields)) = ads::submit(&db, &me, shouting).await else {
            panic!("{b}");
        };
        assert!(
            fields.get("text").is_some_and(|m| m.contains("ALL-CAPS")),
            "{b}: {fields:?}"
        );
        let Err(AppError::Invalid(fields)) = write::submit(&db, &me, id).await else {
            panic!("{b}");
        };
        assert!(
            fields.get("ads").is_some_and(|m| m.contains("ALL-CAPS")),
            "{b}: {fields:?}"
        );
        let Err(AppError::Invalid(fields)) = ads::save(
            &db,
            &me,
            id,
            None,
            AdInput {
                title: String::new(),
                ..ad_input(&"x".repeat(161))
            },
        )
        .await
        else {
            panic!("{b}");
        };
        assert!(
            fields.get("title").is_some() && fields.get("text").is_some(),
            "{b}: {fields:?}"
        );
        for n in 1..10 {
            ads::save(&db, &me, id, None, ad_input(&format!("Ad number {n}")))
                .await
                .expect(b);
        }
        let Err(AppError::Invalid(fields)) =
            ads::save(&db, &me, id, None, ad_input("Eleventh")).await
        else {
            panic!("{b}: the eleventh ad must be refused");
        };
        assert!(
            fields.get("form").is_some_and(|m| m.contains("at most 10")),
            "{b}"
        );
    }
}

#[tokio::test]
async fn the_lifecycle_follows_the_transition_table() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let draft = save(&db, &me, None, form("Draft")).await.expect(b);
        assert!(
            matches!(write::act(&db, &me, draft, CampaignAction::Pause).await, Err(AppError::Conflict(m)) if m.contains("Only a running")),
            "{b}"
        );
        let (id, _) = running(&db, &me).await;
        assert_eq!(
            write::act(&db, &me, id, CampaignAction::Pause).await,
            Ok(CampaignStatus::Paused),
            "{b}"
        );
        assert_eq!(
            write::act(&db, &me, id, CampaignAction::Resume).await,
            Ok(CampaignStatus::Running),
            "{b}"
        );
        assert!(
            matches!(
                write::act(&db, &me, id, CampaignAction::Archive).await,
                Err(AppError::Conflict(_))
            ),
            "{b}"
        );
        // The clock completes it after its end.
        let swept = clock::sweep(&db, Utc::now() + Duration::days(31))
            .await
            .expect(b);
        assert_eq!(swept.completed, 1, "{b}");
        assert_eq!(status(&db, id).await, CampaignStatus::Completed, "{b}");
        assert!(
            matches!(
                save(&db, &me, Some(id), form("Again")).await,
                Err(AppError::Conflict(_))
            ),
            "{b}: read-only"
        );
        assert_eq!(
            write::act(&db, &me, id, CampaignAction::Archive).await,
            Ok(CampaignStatus::Archived),
            "{b}"
        );
        let changes = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq(AuditAction::CampaignStatusChanged.code()))
            .count(&db)
            .await
            .expect(b);
        assert_eq!(changes, 5, "{b}: launch, pause, resume, complete, archive");
    }
}

#[tokio::test]
async fn a_scheduled_campaign_starts_on_time() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let id = save(&db, &me, None, form("Later")).await.expect(b);
        let ad = ads::save(&db, &me, id, None, ad_input("Soon"))
            .await
            .expect(b);
        write::submit(&db, &me, id).await.expect(b);
        ads::apply_review(
            &db,
            version_id(&db, ad, 1).await,
            ads::ReviewOutcome::Approve,
            Utc::now(),
        )
        .await
        .expect(b);
        assert_eq!(status(&db, id).await, CampaignStatus::Scheduled, "{b}");
        assert_eq!(
            clock::sweep(&db, Utc::now()).await.expect(b).started,
            0,
            "{b}"
        );
        assert_eq!(
            clock::sweep(&db, Utc::now() + Duration::days(4))
                .await
                .expect(b)
                .started,
            1,
            "{b}"
        );
        assert_eq!(status(&db, id).await, CampaignStatus::Running, "{b}");
    }
}

#[tokio::test]
async fn a_live_campaign_changes_money_at_once_and_targeting_after_review() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let (id, _) = running(&db, &me).await;
        let mut change = CampaignForm {
            start: String::new(),
            ..form("Live")
        };
        change.targeting.languages = vec!["fr".into()];
        change.targeting.bid = "2".into();
        let eng = engine(&db).await;
        let outcome = write::save(&db, &eng.index(), &me, Some(id), change.clone())
            .await
            .expect(b);
        assert!(outcome.targeting_in_review, "{b}");
        let stored = campaign::Entity::find_by_id(id.0)
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(stored.bid_micros, 2_000_000, "{b}: the bid applies now");
        assert!(
            stored.targeting.contains("\"de\""),
            "{b}: the approved targeting still serves"
        );
        assert!(
            stored
                .pending_targeting
                .as_deref()
                .is_some_and(|t| t.contains("\"fr\"")),
            "{b}"
        );
        let data = campaigns::builder(&db, &eng, &me, Some(id)).await.expect(b);
        assert_eq!(
            data.form.targeting.languages,
            ["fr"],
            "{b}: the builder shows the requested targeting"
        );
        assert!(
            data.campaign
                .and_then(|c| c.serving_targeting)
                .is_some_and(|t| t.languages == ["de", "en"]),
            "{b}"
        );
        // Going back to the approved targeting withdraws the change.
        let back = CampaignForm {
            start: String::new(),
            ..form("Live")
        };
        let outcome = write::save(&db, &eng.index(), &me, Some(id), back)
            .await
            .expect(b);
        assert!(!outcome.targeting_in_review, "{b}");
        let stored = campaign::Entity::find_by_id(id.0)
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(stored.pending_targeting, None, "{b}");
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
        let data = campaigns::builder(&db, &engine(&db).await, &me, Some(copy))
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
        db.execute_unprepared("INSERT INTO topic (slug, name) VALUES ('food', 'Food')")
            .await
            .expect(b);
        db.execute_unprepared(
            "INSERT INTO channel (handle, title, topic_id, language, subscribers, avg_views, posts_per_day, status, updated_at) \
             SELECT 'beans', 'Beans', id, 'en', 50000, 9000, 3.0, 'active', CURRENT_TIMESTAMP FROM topic WHERE slug = 'food'",
        )
        .await
        .expect(b);
        let channel = channel::Entity::find().one(&db).await.expect(b).expect(b);
        for (day, spend) in [(20, 12_500_000), (21, 25_000_000)] {
            delivery_rollup::ActiveModel {
                campaign_id: Set(live.0),
                ad_id: Set(ad.0),
                channel_id: Set(channel.id),
                day: Set(chrono::NaiveDate::from_ymd_opt(2026, 11, day).expect("date")),
                views: Set(10_000),
                clicks: Set(10),
                spend_micros: Set(spend),
            }
            .insert(&db)
            .await
            .expect(b);
        }
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
        let mut low = CampaignForm {
            start: String::new(),
            ..form("Live")
        };
        low.total_budget = "30".into();
        low.targeting.daily_budget = String::new();
        let limits_note = save(&db, &me, Some(live), low).await;
        assert!(
            matches!(limits_note, Err(AppError::Invalid(ref f)) if f.get("total_budget").is_some_and(|m| m.contains("already spent"))),
            "{b}: {limits_note:?}"
        );
    }
}
