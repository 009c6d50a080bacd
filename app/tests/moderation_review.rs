//! Moderation service tests of what a moderator reviews against (SQLite, and PostgreSQL when
//! `TEST_DATABASE_URL` is set): a lapsed claim, the language filter for campaigns open to
//! every language, the targeting an appeal and a re-review are judged with, and a targeting
//! change shown with the ads it would put in front of new channels.

mod campaign_support;
mod moderation_support;

use app::{
    entity::review_task,
    error::AppError,
    model::{AdVersionStatus, AppealInput, AuditAction, QueueFilter, ReviewKind, TaskState},
    service::{
        ads,
        moderation::{self, appeals},
    },
};
use campaign_support::*;
use chrono::{Duration, Utc};
use migrations::db::fresh_all;
use moderation_support::*;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr};

/// The open ad-version task of the queue, as stored.
async fn open_ad_task(db: &DatabaseConnection) -> review_task::Model {
    review_task::Entity::find()
        .filter(review_task::Column::Kind.eq(ReviewKind::AdVersion))
        .filter(review_task::Column::State.eq(TaskState::Open))
        .one(db)
        .await
        .expect("query")
        .expect("an open ad task")
}

#[tokio::test]
async fn a_lapsed_claim_decides_nothing_and_the_item_is_offered_again() {
    for (b, db) in fresh_all().await {
        let (_me, _id, ad) = submitted(&db, "ada@example.com").await;
        let alice = moderator(&db, "alice@herald.test").await;
        let bob = moderator(&db, "bob@herald.test").await;
        let task = queue(&db, &alice, false).await[0];
        claim_now(&db, &alice, task).await;
        assert!(queue(&db, &bob, false).await.is_empty(), "{b}");
        // The fifteen minutes pass while Alice is away (the clock moved, not Bob).
        review_task::Entity::update_many()
            .col_expr(
                review_task::Column::ClaimedUntil,
                Expr::value(Utc::now() - Duration::minutes(1)),
            )
            .filter(review_task::Column::Id.eq(task.0))
            .exec(&db)
            .await
            .expect(b);
        assert_eq!(
            queue(&db, &bob, false).await,
            [task],
            "{b}: back in the queue"
        );
        let rows = moderation::queue(&db, &alice, &QueueFilter::default())
            .await
            .expect(b)
            .rows;
        assert!(!rows[0].claimed_by_me, "{b}: no longer Alice's");
        let late = moderation::decide(&db, &alice, task, approve()).await;
        assert!(
            matches!(&late, Err(AppError::Conflict(m)) if m.contains("claim has ended")),
            "{b}: {late:?}"
        );
        assert_eq!(
            versions(&db, ad).await,
            [(1, AdVersionStatus::InReview)],
            "{b}: nothing decided"
        );
        assert_eq!(audit_count(&db, AuditAction::ReviewDecided).await, 0, "{b}");
        // Claiming it again holds it afresh, and then the decision goes through.
        claim_now(&db, &alice, task).await;
        let screen = moderation::screen(&db, &engine(&db).await, &alice, task)
            .await
            .expect(b);
        assert!(screen.claimed_until.is_some_and(|u| u > Utc::now()), "{b}");
        moderation::decide(&db, &alice, task, approve())
            .await
            .expect(b);
        assert_eq!(
            versions(&db, ad).await,
            [(1, AdVersionStatus::Approved)],
            "{b}"
        );
    }
}

#[tokio::test]
async fn a_campaign_open_to_every_language_is_listed_under_each_language() {
    for (b, db) in fresh_all().await {
        // Ada targets English and German; Bea targets every language.
        submitted(&db, "ada@example.com").await;
        let bea = owner(&db, "bea@example.com").await;
        let mut any = asap("Everywhere");
        any.targeting.languages.clear();
        let id = save(&db, &bea, None, any).await.expect(b);
        ads::save(&db, &bea, id, None, ad_input("Tea for every reader"))
            .await
            .expect(b);
        app::service::campaigns::write::submit(&db, &bea, id)
            .await
            .expect(b);
        let m = moderator(&db, "alice@herald.test").await;
        let total = |code: &'static str| {
            let db = db.clone();
            let m = m.clone();
            async move {
                moderation::queue(
                    &db,
                    &m,
                    &QueueFilter {
                        language: code.into(),
                        ..Default::default()
                    },
                )
                .await
                .expect("queue")
                .total
            }
        };
        assert_eq!(total("").await, 2, "{b}");
        assert_eq!(total("en").await, 2, "{b}: both reach English channels");
        assert_eq!(total("fr").await, 1, "{b}: only Bea's reaches French ones");
    }
}

#[tokio::test]
async fn an_appeal_and_a_resubmission_are_judged_with_the_targeting_as_it_is_now() {
    for (b, db) in fresh_all().await {
        let (me, id, ad) = submitted(&db, "ada@example.com").await;
        let alice = moderator(&db, "alice@herald.test").await;
        let bob = moderator(&db, "bob@herald.test").await;
        let task = queue(&db, &alice, false).await[0];
        claim_now(&db, &alice, task).await;
        moderation::decide(&db, &alice, task, decline(&["language"], ""))
            .await
            .expect(b);
        // Declined for reaching the wrong languages, Ada narrows the draft to French.
        let mut french = asap("Winter");
        french.targeting.languages = vec!["fr".into()];
        save(&db, &me, Some(id), french).await.expect(b);

        // Her appeal is reviewed against French, not the English and German of the decline.
        let decision = ads::editor(&db, &me, id, Some(ad))
            .await
            .expect(b)
            .decisions[0]
            .id;
        appeals::appeal(
            &db,
            &me,
            decision,
            AppealInput {
                message: "The campaign now targets French channels only.".into(),
            },
        )
        .await
        .expect(b);
        let appeal = queue(&db, &bob, true).await[0];
        let stored = review_task::Entity::find_by_id(appeal.0)
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(stored.languages, ",fr,", "{b}: the queue filter follows");
        claim_now(&db, &bob, appeal).await;
        let screen = moderation::screen(&db, &engine(&db).await, &bob, appeal)
            .await
            .expect(b);
        assert_eq!(screen.targeting_languages, ["fr"], "{b}");
        // Bob sees what changed since the decline he is asked to overturn.
        let since = screen.diff.expect("a diff against the declined version");
        assert!(
            since
                .targeting
                .iter()
                .any(|c| c.field == "Languages" && c.before.contains("en") && c.after == "fr"),
            "{b}: {:?}",
            since.targeting
        );
        moderation::decide(&db, &bob, appeal, decline(&["misleading"], ""))
            .await
            .expect(b);

        // Ada moves on to Spanish channels and rewrites the ad. The new version is compared
        // with the last decision on the declined one: its words, and the targeting then.
        let mut spanish = asap("Winter");
        spanish.targeting.languages = vec!["es".into()];
        save(&db, &me, Some(id), spanish).await.expect(b);
        ads::save(
            &db,
            &me,
            id,
            Some(ad),
            ad_input("Fresh beans every Tuesday"),
        )
        .await
        .expect(b);
        ads::submit(&db, &me, ad).await.expect(b);
        let resent = queue(&db, &alice, false).await[0];
        let screen = moderation::screen(&db, &engine(&db).await, &alice, resent)
            .await
            .expect(b);
        let diff = screen.diff.expect("a diff against the declined version");
        assert_eq!(diff.against_version, Some(1), "{b}");
        assert!(
            diff.targeting
                .iter()
                .any(|c| c.field == "Languages" && c.before == "fr" && c.after == "es"),
            "{b}: {:?}",
            diff.targeting
        );
    }
}

#[tokio::test]
async fn a_targeting_change_is_shown_with_the_serving_ads_and_retargets_waiting_ones() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let (id, _ad) = running(&db, &me).await;
        let m = moderator(&db, "alice@herald.test").await;
        let mut german = asap("Live");
        german.targeting.languages = vec!["de".into()];
        save(&db, &me, Some(id), german).await.expect(b);
        // A second ad is sent while the change waits: it is reviewed with what serves now.
        let second = ads::save(&db, &me, id, None, ad_input("Second roast, same club"))
            .await
            .expect(b);
        ads::submit(&db, &me, second).await.expect(b);
        assert_eq!(open_ad_task(&db).await.languages, ",de,en,", "{b}");

        let rows = moderation::queue(&db, &m, &QueueFilter::default())
            .await
            .expect(b)
            .rows;
        let change = rows
            .iter()
            .find(|r| r.kind == ReviewKind::Targeting)
            .expect("the targeting change")
            .id;
        claim_now(&db, &m, change).await;
        let screen = moderation::screen(&db, &engine(&db).await, &m, change)
            .await
            .expect(b);
        assert!(screen.ad.is_none(), "{b}");
        let serving: Vec<&str> = screen
            .serving_ads
            .iter()
            .map(|a| a.copy.text.as_str())
            .collect();
        assert_eq!(
            serving,
            ["Fresh beans every Monday"],
            "{b}: the approved ad, not the one waiting"
        );
        moderation::decide(&db, &m, change, approve())
            .await
            .expect(b);

        // The waiting ad will serve German channels only: it is reviewed against that.
        let waiting = open_ad_task(&db).await;
        assert_eq!(waiting.languages, ",de,", "{b}");
        assert_eq!(waiting.claimed_by, None, "{b}");
        let screen = moderation::screen(
            &db,
            &engine(&db).await,
            &m,
            app::model::ReviewTaskId(waiting.id),
        )
        .await
        .expect(b);
        assert_eq!(screen.targeting_languages, ["de"], "{b}");
        assert!(
            screen.serving_ads.is_empty(),
            "{b}: an ad task shows its own ad"
        );
    }
}
