//! Campaign lifecycle and ad version tests on fresh, migrated databases (SQLite, and
//! PostgreSQL when `TEST_DATABASE_URL` is set): versions through review, server pre-checks and
//! the ad limit, the transition table, the clock, live targeting changes, archiving, raised
//! money limits, and concurrent writes to one campaign.

mod campaign_support;

use app::{
    entity::{ad_version, campaign},
    error::AppError,
    model::{
        AdInput, AdVersionStatus, AuditAction, CampaignAction, CampaignId, CampaignStatus,
        CompletionReason, Verdict,
    },
    service::{ads, campaigns, campaigns::clock, campaigns::write},
};
use campaign_support::*;
use chrono::{Duration, Utc};
use migrations::db::fresh_all;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
    Value, sea_query::Expr,
};

#[tokio::test]
async fn ad_versions_are_immutable_once_sent_and_the_approved_one_keeps_serving() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let id = save(&db, &me, None, asap("Versions")).await.expect(b);
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
            Verdict::Approved,
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
            Verdict::Declined,
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
            Verdict::Approved,
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
        let changes = audit_count(&db, AuditAction::CampaignStatusChanged).await;
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
            Verdict::Approved,
            Utc::now(),
        )
        .await
        .expect(b);
        assert_eq!(status(&db, id).await, CampaignStatus::Scheduled, "{b}");
        // Approved and waiting: a targeting change already needs review.
        let mut change = form("Later");
        change.targeting.languages = vec!["fr".into()];
        let eng = engine(&db).await;
        let outcome = write::save(&db, &eng.index(), &me, Some(id), change)
            .await
            .expect(b);
        assert!(outcome.targeting_in_review, "{b}");
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
        let mut change = asap("Live");
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
        let data = campaigns::builder(&db, &db, &eng, &me, Some(id), Default::default())
            .await
            .expect(b);
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
        let back = asap("Live");
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
async fn archiving_withdraws_what_waits_for_review() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let id = save(&db, &me, None, form("Archive me")).await.expect(b);
        let ad = ads::save(&db, &me, id, None, ad_input("Soon gone"))
            .await
            .expect(b);
        write::submit(&db, &me, id).await.expect(b);
        assert_eq!(
            write::act(&db, &me, id, CampaignAction::Archive).await,
            Ok(CampaignStatus::Archived),
            "{b}"
        );
        assert_eq!(
            versions(&db, ad).await,
            [(1, AdVersionStatus::Withdrawn)],
            "{b}"
        );
        let late = ads::apply_review(
            &db,
            version_id(&db, ad, 1).await,
            Verdict::Approved,
            Utc::now(),
        )
        .await;
        assert!(matches!(late, Err(AppError::Conflict(_))), "{b}: {late:?}");
        assert_eq!(status(&db, id).await, CampaignStatus::Archived, "{b}");
    }
}

#[tokio::test]
async fn raised_money_limits_stop_old_drafts_and_clones_from_launching() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let (live, _) = running(&db, &me).await;
        let id = save(&db, &me, None, form("Cheap")).await.expect(b);
        ads::save(&db, &me, id, None, ad_input("Cheap words"))
            .await
            .expect(b);
        db.execute_unprepared(
            "UPDATE platform_setting SET value = 2000000 WHERE key = 'min_cpm_micros'",
        )
        .await
        .expect(b);
        let Err(AppError::Invalid(fields)) = write::submit(&db, &me, id).await else {
            panic!("{b}: a draft below the new minimum must not launch");
        };
        assert!(
            fields.get("bid").is_some_and(|m| m.contains("€2.00")),
            "{b}: {fields:?}"
        );
        let copy = write::clone(&db, &me, live).await.expect(b);
        let Err(AppError::Invalid(fields)) = write::submit(&db, &me, copy).await else {
            panic!("{b}: nor may a clone");
        };
        assert!(fields.get("bid").is_some(), "{b}");
    }
}

#[tokio::test]
async fn spending_the_budget_completes_the_campaign() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let (id, ad) = running(&db, &me).await;
        let stored = campaign::Entity::find_by_id(id.0)
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        assert!(
            stored.start_at.is_some(),
            "{b}: an approval-time start is stamped at launch"
        );
        record_spend(&db, id, ad, 20, 299_000_000).await;
        assert_eq!(
            clock::sweep(&db, Utc::now()).await.expect(b).completed,
            0,
            "{b}"
        );
        record_spend(&db, id, ad, 21, 1_000_000).await;
        assert_eq!(
            clock::sweep(&db, Utc::now()).await.expect(b).completed,
            1,
            "{b}"
        );
        let stored = campaign::Entity::find_by_id(id.0)
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(stored.status, CampaignStatus::Completed, "{b}");
        assert_eq!(
            stored.completed_reason.as_deref(),
            Some("budget_spent"),
            "{b}"
        );
    }
}

#[tokio::test]
async fn concurrent_writes_to_one_campaign_keep_its_rules() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        // Two ads of one draft approved at the same moment: both stand; it launches once.
        let id = save(&db, &me, None, asap("Race")).await.expect(b);
        let first = ads::save(&db, &me, id, None, ad_input("One"))
            .await
            .expect(b);
        let second = ads::save(&db, &me, id, None, ad_input("Two"))
            .await
            .expect(b);
        write::submit(&db, &me, id).await.expect(b);
        let approve = |version| {
            let db = db.clone();
            async move {
                let txn = db.begin().await?;
                ads::apply_review(&txn, version, Verdict::Approved, Utc::now()).await?;
                txn.commit().await?;
                Ok::<(), AppError>(())
            }
        };
        let (v1, v2) = (
            version_id(&db, first, 1).await,
            version_id(&db, second, 1).await,
        );
        let (a, c) = tokio::join!(approve(v1), approve(v2));
        assert_eq!((a, c), (Ok(()), Ok(())), "{b}");
        assert_eq!(status(&db, id).await, CampaignStatus::Running, "{b}");
        let launches = audit_count(&db, AuditAction::CampaignStatusChanged).await;
        assert_eq!(launches, 1, "{b}");
        // The tenth and an eleventh ad saved at once: exactly one gets in.
        for n in 3..10 {
            ads::save(&db, &me, id, None, ad_input(&format!("Ad {n}")))
                .await
                .expect(b);
        }
        let (x, y) = tokio::join!(
            ads::save(&db, &me, id, None, ad_input("Tenth")),
            ads::save(&db, &me, id, None, ad_input("Eleventh"))
        );
        assert_eq!(
            u8::from(x.is_ok()) + u8::from(y.is_ok()),
            1,
            "{b}: {x:?} {y:?}"
        );
        assert_eq!(ads::list(&db, &me, id).await.expect(b).len(), 10, "{b}");
    }
}

/// Sets a column of campaign `id` directly, as a concurrent edit would between the sweep's
/// read and its update.
async fn set_campaign(
    db: &DatabaseConnection,
    id: CampaignId,
    column: campaign::Column,
    value: Value,
) {
    campaign::Entity::update_many()
        .col_expr(column, Expr::value(value))
        .filter(campaign::Column::Id.eq(id.0))
        .exec(db)
        .await
        .expect("update campaign");
}

#[tokio::test]
async fn the_clock_completes_only_what_is_still_due_when_it_writes() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let (id, ad) = running(&db, &me).await;
        let now = Utc::now();
        let reasons = |due: &[clock::DueCompletion]| {
            due.iter()
                .map(|d| (CampaignId(d.campaign.id), d.reason))
                .collect::<Vec<_>>()
        };

        // The sweep reads the campaign as ended; the advertiser then moves the end forward.
        let ended = Some(now - Duration::minutes(1));
        set_campaign(&db, id, campaign::Column::EndAt, ended.into()).await;
        let due = clock::due_completions(&db, now).await.expect(b);
        assert_eq!(
            reasons(&due),
            [(id, CompletionReason::EndDateReached)],
            "{b}"
        );
        let later = Some(now + Duration::days(7));
        set_campaign(&db, id, campaign::Column::EndAt, later.into()).await;
        assert!(
            !clock::complete(&db, &due[0], now).await.expect(b),
            "{b}: a stale end date completes nothing"
        );
        assert_eq!(status(&db, id).await, CampaignStatus::Running, "{b}");

        // The same for the budget: spent when read, raised before the update.
        record_spend(&db, id, ad, 20, 300_000_000).await;
        let due = clock::due_completions(&db, now).await.expect(b);
        assert_eq!(reasons(&due), [(id, CompletionReason::BudgetSpent)], "{b}");
        set_campaign(
            &db,
            id,
            campaign::Column::TotalBudgetMicros,
            400_000_000i64.into(),
        )
        .await;
        assert!(
            !clock::complete(&db, &due[0], now).await.expect(b),
            "{b}: a raised budget keeps it running"
        );
        assert_eq!(status(&db, id).await, CampaignStatus::Running, "{b}");
        assert_eq!(
            clock::sweep(&db, now).await.expect(b),
            clock::Sweep::default(),
            "{b}: nothing is due"
        );

        // Still due when written: it completes, once.
        record_spend(&db, id, ad, 21, 100_000_000).await;
        let due = clock::due_completions(&db, now).await.expect(b);
        assert!(clock::complete(&db, &due[0], now).await.expect(b), "{b}");
        assert!(!clock::complete(&db, &due[0], now).await.expect(b), "{b}");
        assert_eq!(status(&db, id).await, CampaignStatus::Completed, "{b}");
    }
}
