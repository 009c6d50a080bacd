//! Moderation service tests on fresh, migrated databases (SQLite, and PostgreSQL when
//! `TEST_DATABASE_URL` is set): the queue, claims and their expiry, the claim race between
//! concurrent moderators, decisions on versions and targeting changes, appeals routed away
//! from the original moderator, notifications, and the published review times.

mod campaign_support;
mod moderation_support;

use app::{
    entity::review_task,
    error::AppError,
    model::{
        AdVersionStatus, AppealInput, AppealState, AuditAction, CampaignStatus, QueueFilter,
        ReviewKind, ReviewTaskId, TargetingForm, TaskState, Verdict,
    },
    service::{
        ads,
        campaigns::write,
        moderation::{self, Claim, appeals, stats},
        notifications,
    },
};
use campaign_support::*;
use chrono::{Duration, Utc};
use migrations::db::fresh_all;
use moderation_support::*;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

#[tokio::test]
async fn claims_hide_items_from_others_and_expire_after_fifteen_minutes() {
    for (b, db) in fresh_all().await {
        let (_me, _id, _ad) = submitted(&db, "ada@example.com").await;
        let alice = moderator(&db, "alice@herald.test").await;
        let bob = moderator(&db, "bob@herald.test").await;
        let tasks = queue(&db, &alice, false).await;
        assert_eq!(tasks.len(), 1, "{b}");
        let task = tasks[0];
        let now = Utc::now();
        let held = moderation::claim(&db, &alice, task, now).await.expect(b);
        assert!(
            matches!(held, Claim::Held(until) if until == now + Duration::minutes(15)),
            "{b}: {held:?}"
        );
        assert!(
            queue(&db, &bob, false).await.is_empty(),
            "{b}: claimed items are not offered"
        );
        assert!(
            matches!(
                moderation::claim(&db, &bob, task, now).await.expect(b),
                Claim::Taken(_)
            ),
            "{b}"
        );
        // Sixteen minutes later the claim has lapsed: Bob sees it and can take it.
        let later = now + Duration::minutes(16);
        assert!(
            matches!(
                moderation::claim(&db, &bob, task, later).await.expect(b),
                Claim::Held(_)
            ),
            "{b}: an expired claim returns to the queue"
        );
        // Alice's decision now fails: her claim is gone.
        let late = moderation::decide(&db, &alice, task, approve()).await;
        assert!(matches!(late, Err(AppError::Conflict(_))), "{b}: {late:?}");
        // Bob gives it back; it is offered to Alice again.
        moderation::release(&db, &bob, task).await.expect(b);
        assert_eq!(queue(&db, &alice, false).await, [task], "{b}");
    }
}

// Worker threads, so the claims really run at the same time, not only interleave at awaits.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_moderators_claiming_at_once_exactly_one_wins() {
    for (b, db) in fresh_all().await {
        submitted(&db, "ada@example.com").await;
        let mut moderators = Vec::new();
        for i in 0..6 {
            moderators.push(moderator(&db, &format!("m{i}@herald.test")).await);
        }
        let task = queue(&db, &moderators[0], false).await[0];
        for round in 0..5 {
            let now = Utc::now() + Duration::minutes(20 * round);
            let handles: Vec<_> = moderators
                .iter()
                .cloned()
                .map(|m| {
                    let db = db.clone();
                    tokio::spawn(async move { moderation::claim(&db, &m, task, now).await })
                })
                .collect();
            let mut held = 0;
            for h in handles {
                match h.await.expect("join").expect(b) {
                    Claim::Held(_) => held += 1,
                    Claim::Taken(_) => {}
                    Claim::Closed => panic!("{b}: the task is open"),
                }
            }
            assert_eq!(held, 1, "{b}, round {round}: exactly one claim wins");
        }
    }
}

#[tokio::test]
async fn approval_launches_and_a_declined_edit_leaves_the_approved_version_serving() {
    for (b, db) in fresh_all().await {
        let (me, id, ad) = submitted(&db, "ada@example.com").await;
        let m = moderator(&db, "alice@herald.test").await;
        let task = queue(&db, &m, false).await[0];
        // Deciding needs a claim.
        assert!(
            matches!(
                moderation::decide(&db, &m, task, approve()).await,
                Err(AppError::Conflict(_))
            ),
            "{b}"
        );
        claim_now(&db, &m, task).await;
        moderation::decide(&db, &m, task, approve()).await.expect(b);
        assert_eq!(status(&db, id).await, CampaignStatus::Running, "{b}");
        assert_eq!(
            versions(&db, ad).await,
            [(1, AdVersionStatus::Approved)],
            "{b}"
        );
        assert!(queue(&db, &m, false).await.is_empty(), "{b}");

        // An edit goes to review; declining it keeps version 1 serving.
        ads::save(&db, &me, id, Some(ad), ad_input("Fresh beans every Friday"))
            .await
            .expect(b);
        ads::submit(&db, &me, ad).await.expect(b);
        let edit = queue(&db, &m, false).await[0];
        claim_now(&db, &m, edit).await;
        let screen = moderation::screen(&db, &engine(&db).await, &m, edit)
            .await
            .expect(b);
        let diff = screen.diff.expect("a re-review has a diff");
        assert_eq!(diff.against_version, Some(1), "{b}");
        assert!(
            diff.text
                .iter()
                .any(|p| p.change == app::model::Change::Added && p.text == "Friday"),
            "{b}: {:?}",
            diff.text
        );
        // A decline without a reason is refused beside the reasons.
        let refused = moderation::decide(&db, &m, edit, decline(&[], "")).await;
        assert!(
            matches!(&refused, Err(AppError::Invalid(f)) if f.get("reasons").is_some()),
            "{b}"
        );
        moderation::decide(
            &db,
            &m,
            edit,
            decline(&["misleading", "capitals-emoji"], "Which Friday?"),
        )
        .await
        .expect(b);
        assert_eq!(
            versions(&db, ad).await,
            [
                (1, AdVersionStatus::Approved),
                (2, AdVersionStatus::Declined)
            ],
            "{b}"
        );
        let editor = ads::editor(&db, &me, id, Some(ad)).await.expect(b);
        assert_eq!(
            editor.ad.as_ref().and_then(|a| a.live_version),
            Some(1),
            "{b}: v1 keeps serving"
        );
        let latest = &editor.decisions[0];
        assert_eq!(latest.verdict, Verdict::Declined, "{b}");
        assert_eq!(latest.note, "Which Friday?", "{b}");
        let codes: Vec<&str> = latest.reasons.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(
            codes,
            ["misleading", "capitals-emoji"],
            "{b}: in the guidelines' order"
        );
        assert_eq!(latest.reasons[0].href(), "/guidelines#misleading", "{b}");
        assert_eq!(latest.appeal, AppealState::Open, "{b}");
        assert_eq!(editor.decisions[1].verdict, Verdict::Approved, "{b}");
        assert_eq!(audit_count(&db, AuditAction::ReviewDecided).await, 2, "{b}");
        // Both decisions were notified to the owner.
        let inbox = notifications::list(&db, &me).await.expect(b);
        assert_eq!(inbox.unread, 2, "{b}");
        assert!(
            inbox.items[0].title.contains("declined"),
            "{b}: {:?}",
            inbox.items[0]
        );
        notifications::mark_read(&db, &me, inbox.items[0].id)
            .await
            .expect(b);
        assert_eq!(
            notifications::list(&db, &me).await.expect(b).unread,
            0,
            "{b}"
        );
    }
}

#[tokio::test]
async fn appeals_go_to_another_moderator_once() {
    for (b, db) in fresh_all().await {
        let (me, id, ad) = submitted(&db, "ada@example.com").await;
        let alice = moderator(&db, "alice@herald.test").await;
        let bob = moderator(&db, "bob@herald.test").await;
        let task = queue(&db, &alice, false).await[0];
        claim_now(&db, &alice, task).await;
        moderation::decide(&db, &alice, task, decline(&["political"], ""))
            .await
            .expect(b);
        let decision = ads::editor(&db, &me, id, Some(ad))
            .await
            .expect(b)
            .decisions[0]
            .id;

        let short = appeals::appeal(
            &db,
            &me,
            decision,
            AppealInput {
                message: "no".into(),
            },
        )
        .await;
        assert!(
            matches!(&short, Err(AppError::Invalid(f)) if f.get("message").is_some()),
            "{b}"
        );
        let why = AppealInput {
            message: "It is a coffee club, not a party.".into(),
        };
        appeals::appeal(&db, &me, decision, why.clone())
            .await
            .expect(b);
        assert_eq!(
            versions(&db, ad).await,
            [(1, AdVersionStatus::InReview)],
            "{b}"
        );
        let again = appeals::appeal(&db, &me, decision, why).await;
        assert!(
            matches!(again, Err(AppError::Conflict(_))),
            "{b}: once only"
        );

        // Alice, who declined, neither sees nor can open the appeal; Bob does.
        assert!(queue(&db, &alice, true).await.is_empty(), "{b}");
        let appeal_task = queue(&db, &bob, true).await;
        assert_eq!(appeal_task.len(), 1, "{b}");
        assert_eq!(
            moderation::claim(&db, &alice, appeal_task[0], Utc::now())
                .await
                .err(),
            Some(AppError::NotFound),
            "{b}"
        );
        assert!(
            queue(&db, &bob, false).await.is_empty(),
            "{b}: appeals are a queue of their own"
        );
        claim_now(&db, &bob, appeal_task[0]).await;
        let screen = moderation::screen(&db, &engine(&db).await, &bob, appeal_task[0])
            .await
            .expect(b);
        assert_eq!(
            screen.appeal.as_ref().map(|a| a.message.as_str()),
            Some("It is a coffee club, not a party."),
            "{b}"
        );
        moderation::decide(&db, &bob, appeal_task[0], approve())
            .await
            .expect(b);
        assert_eq!(
            status(&db, id).await,
            CampaignStatus::Running,
            "{b}: the overturn launched it"
        );
        let decisions = ads::editor(&db, &me, id, Some(ad))
            .await
            .expect(b)
            .decisions;
        assert!(
            decisions[0].is_appeal && decisions[0].verdict == Verdict::Approved,
            "{b}"
        );
        assert_eq!(decisions[0].appeal, AppealState::NotAppealable, "{b}");
        assert_eq!(decisions[1].appeal, AppealState::Decided, "{b}");

        // Another account's decision is not found.
        let stranger = owner(&db, "eve@example.com").await;
        assert_eq!(
            appeals::appeal(
                &db,
                &stranger,
                decision,
                AppealInput {
                    message: "Let me appeal this one.".into()
                }
            )
            .await
            .err(),
            Some(AppError::NotFound),
            "{b}"
        );
    }
}

#[tokio::test]
async fn targeting_changes_of_live_campaigns_are_reviewed_and_edits_withdraw_stale_items() {
    for (b, db) in fresh_all().await {
        let me = owner(&db, "ada@example.com").await;
        let (id, ad) = running(&db, &me).await;
        let m = moderator(&db, "alice@herald.test").await;
        let mut changed = asap("Live");
        changed.targeting = TargetingForm {
            languages: vec!["de".into()],
            ..changed.targeting.clone()
        };
        save(&db, &me, Some(id), changed.clone()).await.expect(b);
        let rows = moderation::queue(&db, &m, &QueueFilter::default())
            .await
            .expect(b)
            .rows;
        assert_eq!(rows.len(), 1, "{b}");
        assert_eq!(rows[0].kind, ReviewKind::Targeting, "{b}");
        assert_eq!(rows[0].languages, ["de"], "{b}");
        let by_language = |code: &str| QueueFilter {
            language: code.into(),
            ..Default::default()
        };
        assert_eq!(
            moderation::queue(&db, &m, &by_language("de"))
                .await
                .expect(b)
                .total,
            1,
            "{b}"
        );
        assert_eq!(
            moderation::queue(&db, &m, &by_language("fr"))
                .await
                .expect(b)
                .total,
            0,
            "{b}"
        );
        let first = rows[0].id;
        // Changing it again replaces the waiting item.
        changed.targeting.languages = vec!["fr".into()];
        save(&db, &me, Some(id), changed).await.expect(b);
        let stale = review_task::Entity::find_by_id(first.0)
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(stale.state, TaskState::Withdrawn, "{b}");
        let task = queue(&db, &m, false).await[0];
        claim_now(&db, &m, task).await;
        let screen = moderation::screen(&db, &engine(&db).await, &m, task)
            .await
            .expect(b);
        let diff = screen.diff.expect("targeting diff");
        assert!(
            diff.targeting
                .iter()
                .any(|c| c.field == "Languages" && c.after == "fr"),
            "{b}: {:?}",
            diff.targeting
        );
        moderation::decide(&db, &m, task, approve()).await.expect(b);
        let builder = app::service::campaigns::builder(
            &db,
            &db,
            &engine(&db).await,
            &me,
            Some(id),
            Default::default(),
        )
        .await
        .expect(b);
        assert_eq!(builder.form.targeting.languages, ["fr"], "{b}");
        assert!(
            builder.campaign.expect("info").serving_targeting.is_none(),
            "{b}: nothing pending"
        );
        assert_eq!(builder.targeting_decisions.len(), 1, "{b}");

        // A new ad version waiting when the campaign is archived leaves the queue.
        ads::save(&db, &me, id, Some(ad), ad_input("Fresh beans, new words"))
            .await
            .expect(b);
        ads::submit(&db, &me, ad).await.expect(b);
        assert_eq!(queue(&db, &m, false).await.len(), 1, "{b}");
        write::act(&db, &me, id, app::model::CampaignAction::Pause)
            .await
            .expect(b);
        let mut row = app::entity::campaign::Entity::find_by_id(id.0)
            .one(&db)
            .await
            .expect(b)
            .expect(b)
            .into_active_model();
        row.status = Set(CampaignStatus::Completed);
        row.update(&db).await.expect(b);
        write::act(&db, &me, id, app::model::CampaignAction::Archive)
            .await
            .expect(b);
        assert!(
            queue(&db, &m, false).await.is_empty(),
            "{b}: archived campaigns have nothing to review"
        );
    }
}

#[tokio::test]
async fn only_moderators_reach_the_queue_and_review_times_come_from_decisions() {
    for (b, db) in fresh_all().await {
        let (me, _id, _ad) = submitted(&db, "ada@example.com").await;
        let refused = moderation::queue(&db, &me, &QueueFilter::default()).await;
        assert_eq!(refused.err(), Some(AppError::Forbidden), "{b}");
        assert_eq!(
            audit_count(&db, AuditAction::AccessDenied).await,
            1,
            "{b}: refusals are audited"
        );
        let task = review_task::Entity::find()
            .filter(review_task::Column::State.eq(TaskState::Open))
            .one(&db)
            .await
            .expect(b)
            .expect(b);
        assert!(
            matches!(
                moderation::claim(&db, &me, ReviewTaskId(task.id), Utc::now()).await,
                Err(AppError::Forbidden)
            ),
            "{b}"
        );

        let empty = stats::review_times(&db, Utc::now()).await.expect(b);
        assert_eq!(
            (empty.reviewed, empty.median_secs, empty.waiting),
            (0, None, 1),
            "{b}"
        );

        // Backdate submissions so the waits are known: 10, 20, 30 and 40 minutes; one declined.
        let m = moderator(&db, "alice@herald.test").await;
        for (i, minutes) in [10i64, 20, 30, 40].into_iter().enumerate() {
            if i > 0 {
                submitted(&db, &format!("adv{i}@example.com")).await;
            }
            let open = queue(&db, &m, false).await[0];
            let mut row = review_task::Entity::find_by_id(open.0)
                .one(&db)
                .await
                .expect(b)
                .expect(b)
                .into_active_model();
            row.submitted_at = Set(Utc::now() - Duration::minutes(minutes));
            row.update(&db).await.expect(b);
            claim_now(&db, &m, open).await;
            let input = if minutes == 40 {
                decline(&["adult"], "")
            } else {
                approve()
            };
            moderation::decide(&db, &m, open, input).await.expect(b);
        }
        let times = stats::review_times(&db, Utc::now()).await.expect(b);
        assert_eq!(times.reviewed, 4, "{b}");
        assert_eq!(times.approved, 3, "{b}");
        assert_eq!(times.approval_percent(), Some(75), "{b}");
        let median = times.median_secs.expect("median");
        assert!(
            (1500..1510).contains(&median),
            "{b}: median of 10/20/30/40 min is 25 min, got {median}"
        );
        let p95 = times.p95_secs.expect("p95");
        assert!(
            (2400..2410).contains(&p95),
            "{b}: p95 is the slowest of four, got {p95}"
        );
        assert_eq!(times.waiting, 0, "{b}");
        // A week later none of it counts.
        let later = stats::review_times(&db, Utc::now() + Duration::days(8))
            .await
            .expect(b);
        assert_eq!(later.reviewed, 0, "{b}");
    }
}

#[tokio::test]
async fn a_draft_retargeted_during_review_ends_the_claim_and_moderators_skip_their_own_accounts() {
    for (b, db) in fresh_all().await {
        let (me, id, _ad) = submitted(&db, "ada@example.com").await;
        let m = moderator(&db, "alice@herald.test").await;
        let task = queue(&db, &m, false).await[0];
        claim_now(&db, &m, task).await;
        // The advertiser changes the draft's targeting while the moderator reads the ad.
        let mut changed = asap("Winter");
        changed.targeting.languages = vec!["de".into()];
        save(&db, &me, Some(id), changed).await.expect(b);
        let stale = moderation::decide(&db, &m, task, approve()).await;
        assert!(
            matches!(&stale, Err(AppError::Conflict(m)) if m.contains("claim")),
            "{b}: approving against targeting no longer shown is refused: {stale:?}"
        );
        let rows = moderation::queue(&db, &m, &QueueFilter::default())
            .await
            .expect(b)
            .rows;
        assert_eq!(rows[0].languages, ["de"], "{b}: the item follows the draft");
        claim_now(&db, &m, task).await;
        let screen = moderation::screen(&db, &engine(&db).await, &m, task)
            .await
            .expect(b);
        assert!(screen.targeting_languages.contains(&"de".to_owned()), "{b}");
        moderation::decide(&db, &m, task, approve()).await.expect(b);

        // A moderator who is also a member of the advertiser's account never gets its items.
        let (_other, other_id, other_ad) = submitted(&db, "bob@example.com").await;
        let insider = moderator(&db, "insider@herald.test").await;
        let bob_account = app::entity::campaign::Entity::find_by_id(other_id.0)
            .one(&db)
            .await
            .expect(b)
            .expect(b)
            .account_id;
        app::entity::account_member::ActiveModel {
            account_id: Set(bob_account),
            user_id: Set(insider.user_id.0),
            role: Set(app::model::AccountRole::Analyst),
            created_at: Set(Utc::now()),
        }
        .insert(&db)
        .await
        .expect(b);
        assert!(queue(&db, &insider, false).await.is_empty(), "{b}");
        let theirs = queue(&db, &m, false).await[0];
        assert_eq!(
            moderation::claim(&db, &insider, theirs, Utc::now())
                .await
                .err(),
            Some(AppError::NotFound),
            "{b}"
        );
        assert_eq!(
            versions(&db, other_ad).await[0].1,
            AdVersionStatus::InReview,
            "{b}"
        );
    }
}

#[tokio::test]
async fn decisions_notify_the_members_who_read_campaigns_and_nobody_else() {
    for (b, db) in fresh_all().await {
        let (me, _id, _ad) = submitted(&db, "ada@example.com").await;
        let account = account(&me);
        let manager = member(
            &db,
            account,
            "max@example.com",
            app::model::AccountRole::Manager,
        )
        .await;
        let analyst = member(
            &db,
            account,
            "ana@example.com",
            app::model::AccountRole::Analyst,
        )
        .await;
        let billing = member(
            &db,
            account,
            "bill@example.com",
            app::model::AccountRole::Billing,
        )
        .await;
        let stranger = owner(&db, "eve@example.com").await;
        let m = moderator(&db, "alice@herald.test").await;
        let task = queue(&db, &m, false).await[0];
        claim_now(&db, &m, task).await;
        moderation::decide(&db, &m, task, decline(&["adult"], ""))
            .await
            .expect(b);
        for (who, actor) in [("owner", &me), ("manager", &manager), ("analyst", &analyst)] {
            let inbox = notifications::list(&db, actor).await.expect(b);
            assert_eq!(inbox.unread, 1, "{b}: {who}");
            assert!(
                inbox.items[0].body.contains("Adult content"),
                "{b}: {who}: {:?}",
                inbox.items[0]
            );
        }
        assert!(
            notifications::list(&db, &billing)
                .await
                .expect(b)
                .items
                .is_empty(),
            "{b}: a billing member reads only their own (money) notifications, not review decisions"
        );
        assert_eq!(
            notifications::list(&db, &stranger).await.expect(b).unread,
            0,
            "{b}"
        );
        // Reading marks only the reader's own notifications.
        let top = notifications::list(&db, &manager).await.expect(b).items[0].id;
        notifications::mark_read(&db, &manager, top).await.expect(b);
        assert_eq!(
            notifications::list(&db, &manager).await.expect(b).unread,
            0,
            "{b}"
        );
        assert_eq!(
            notifications::list(&db, &me).await.expect(b).unread,
            1,
            "{b}"
        );
        // Marking someone else's notification id does nothing to theirs.
        let owners = notifications::list(&db, &me).await.expect(b).items[0].id;
        notifications::mark_read(&db, &stranger, owners)
            .await
            .expect(b);
        assert_eq!(
            notifications::list(&db, &me).await.expect(b).unread,
            1,
            "{b}"
        );
    }
}
