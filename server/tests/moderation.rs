//! HTTP tests of moderation over the real router (SQLite, and PostgreSQL when
//! `TEST_DATABASE_URL` is set): only moderators reach the moderation functions and only admins
//! edit reasons; advertisers see and appeal only their own decisions; appeals reach another
//! moderator; the guidelines and review-time pages are public.

mod support;

use app::{
    entity::{app_user, review_task},
    model::{CampaignForm, Schedule, TargetingForm, TaskState},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use support::{Client, PASSWORD, Reply, TestApp, member, spawn_all};

async fn signed_up(app: &TestApp, email: &str) -> Client {
    let client = app.client();
    assert!(client.sign_up(email, PASSWORD).await.status.is_success());
    client
}

async fn grant(app: &TestApp, email: &str, role: &str) {
    // Staff roles key on the address: only a confirmed one holds them.
    support::confirm(app, email).await;
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO staff_role (user_id, role, granted_by, granted_at) \
             SELECT id, '{role}', NULL, CURRENT_TIMESTAMP FROM app_user WHERE email = '{email}'"
        ))
        .await
        .expect("grant");
}

fn kind(reply: &Reply) -> (u16, Option<String>) {
    (reply.status.as_u16(), reply.error_kind())
}

/// The owner's campaign with one ad sent for review; returns (campaign, ad) ids.
async fn submitted(owner: &Client) -> (String, String) {
    let form = serde_json::to_value(CampaignForm {
        name: "Coffee club".into(),
        targeting: TargetingForm {
            languages: vec!["en".into()],
            bid: "1.50".into(),
            ..TargetingForm::default()
        },
        total_budget: "250".into(),
        schedule: Some(Schedule::always()),
        ..CampaignForm::default()
    })
    .expect("json");
    let saved = owner
        .call_json("save_campaign", &json!({ "id": null, "form": form }))
        .await;
    let campaign = saved.body["id"].as_i64().expect("campaign").to_string();
    let ad = owner
        .call(
            "save_ad",
            &[
                ("campaign", campaign.as_str()),
                ("input[title]", "Club"),
                ("input[text]", "Fresh beans every Monday"),
                ("input[button_label]", "Join"),
                ("input[destination_url]", "https://acme.coffee/club"),
            ],
        )
        .await
        .body
        .as_i64()
        .expect("ad")
        .to_string();
    let sent = owner
        .call("submit_campaign", &[("id", campaign.as_str())])
        .await;
    assert!(sent.status.is_success(), "{sent:?}");
    (campaign, ad)
}

async fn first_task(moderator: &Client, appeals: bool) -> Option<String> {
    let queue = moderator
        .call(
            "review_queue",
            &[("filter[appeals]", if appeals { "true" } else { "false" })],
        )
        .await;
    assert!(queue.status.is_success(), "{queue:?}");
    queue.body["rows"][0]["id"]
        .as_i64()
        .map(|id| id.to_string())
}

#[tokio::test]
async fn only_moderators_moderate_and_advertisers_see_only_their_decisions() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let owner = signed_up(&app, "owner@example.com").await;
        let (campaign, ad) = submitted(&owner).await;
        let alice = signed_up(&app, "alice@herald.test").await;
        grant(&app, "alice@herald.test", "moderator").await;
        let bob = signed_up(&app, "bob@herald.test").await;
        grant(&app, "bob@herald.test", "moderator").await;
        let stranger = signed_up(&app, "eve@example.com").await;
        let visitor = app.client();

        let task = first_task(&alice, false).await.expect("a waiting item");
        let owner_account = owner.current_account().await;
        dashboard_agrees(&app, &owner, "own_review", owner_account).await;
        dashboard_agrees(&app, &alice, "moderation", None).await;
        dashboard_agrees(
            &app,
            &stranger,
            "own_review",
            stranger.current_account().await,
        )
        .await;
        let moderation_calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("review_queue", vec![("filter[appeals]", "false")]),
            ("open_review", vec![("task", task.as_str())]),
            ("claim_review", vec![("task", task.as_str())]),
            ("next_review", vec![("appeals", "false")]),
            ("release_review", vec![("task", task.as_str())]),
            (
                "decide_review",
                vec![("task", task.as_str()), ("input[approve]", "true")],
            ),
        ];
        for (endpoint, args) in &moderation_calls {
            assert_eq!(
                kind(&owner.call(endpoint, args).await),
                (403, Some("Forbidden".into())),
                "{b}: advertiser {endpoint}"
            );
            assert_eq!(
                kind(&visitor.call(endpoint, args).await).0,
                401,
                "{b}: visitor {endpoint}"
            );
        }
        let new_reason = [
            ("input[code]", "crypto-ico"),
            ("input[title]", "Token sales"),
            (
                "input[guideline]",
                "Initial coin offerings are not accepted.",
            ),
            ("input[active]", "true"),
        ];
        assert_eq!(
            kind(&alice.call("save_policy_reason", &new_reason).await),
            (403, Some("Forbidden".into())),
            "{b}: moderators do not edit the guidelines"
        );

        // Alice opens and claims the item; Bob is told it is taken.
        let screen = alice.call("open_review", &[("task", task.as_str())]).await;
        assert!(screen.status.is_success(), "{b}: {screen:?}");
        let claimed = alice.call("claim_review", &[("task", task.as_str())]).await;
        assert!(claimed.status.is_success(), "{b}: {claimed:?}");
        assert_eq!(
            screen.body["ad"]["copy"]["text"], "Fresh beans every Monday",
            "{b}"
        );
        assert_eq!(
            kind(&bob.call("open_review", &[("task", task.as_str())]).await),
            (409, Some("Conflict".into())),
            "{b}"
        );
        // A decline needs a reason, reported beside the reasons.
        let bare = alice
            .call(
                "decide_review",
                &[("task", task.as_str()), ("input[approve]", "false")],
            )
            .await;
        assert_eq!(bare.status, 422, "{b}: {bare:?}");
        assert!(bare.field_error("reasons").is_some(), "{b}: {bare:?}");
        let declined = alice
            .call(
                "decide_review",
                &[
                    ("task", task.as_str()),
                    ("input[approve]", "false"),
                    ("input[reasons][0]", "misleading"),
                    ("input[reasons][1]", "profanity"),
                    ("input[field]", "text"),
                    ("input[note]", "Say what the club costs."),
                ],
            )
            .await;
        assert!(declined.status.is_success(), "{b}: {declined:?}");

        // The owner reads the decision with its reasons and the note, and is notified.
        let editor = owner
            .call(
                "ad_editor",
                &[("campaign", campaign.as_str()), ("ad", ad.as_str())],
            )
            .await;
        let decision = &editor.body["decisions"][0];
        assert_eq!(decision["verdict"], "Declined", "{b}: {editor:?}");
        assert_eq!(decision["reasons"][0]["code"], "misleading", "{b}");
        assert_eq!(decision["note"], "Say what the club costs.", "{b}");
        let decision_id = decision["id"].as_i64().expect("decision id").to_string();
        assert_eq!(
            owner.call("notifications", &[]).await.body["unread"],
            1,
            "{b}"
        );
        assert_eq!(
            stranger.call("notifications", &[]).await.body["unread"],
            0,
            "{b}"
        );
        let viewer = owner.call("viewer", &[]).await;
        assert_eq!(
            viewer.body["unread_notifications"], 1,
            "{b}: the header's count"
        );

        // Within the account: the analyst reads the decision but may not appeal it; billing
        // sees neither campaigns nor their decisions.
        let account = owner.call("account", &[]).await.body["id"]
            .as_i64()
            .expect("account id");
        let analyst = member(&app, "analyst@example.com", "analyst", account).await;
        let billing = member(&app, "billing@example.com", "billing", account).await;
        let read = analyst
            .call(
                "ad_editor",
                &[("campaign", campaign.as_str()), ("ad", ad.as_str())],
            )
            .await;
        assert_eq!(
            read.body["decisions"][0]["verdict"], "Declined",
            "{b}: {read:?}"
        );
        assert_eq!(
            analyst.call("notifications", &[]).await.body["unread"],
            0,
            "{b}: joined after it"
        );
        let why = [
            ("decision", decision_id.as_str()),
            ("input[message]", "The price is on the landing page."),
        ];
        assert_eq!(
            kind(&analyst.call("appeal_decision", &why).await),
            (403, Some("Forbidden".into())),
            "{b}"
        );
        assert_eq!(
            kind(
                &billing
                    .call(
                        "ad_editor",
                        &[("campaign", campaign.as_str()), ("ad", ad.as_str())]
                    )
                    .await
            ),
            (403, Some("Forbidden".into())),
            "{b}"
        );

        // Someone else's decision is "not found", and so is their ad.
        let appeal = [
            ("decision", decision_id.as_str()),
            ("input[message]", "The price is on the landing page."),
        ];
        assert_eq!(
            kind(&stranger.call("appeal_decision", &appeal).await),
            (404, Some("NotFound".into())),
            "{b}"
        );
        assert_eq!(
            kind(
                &stranger
                    .call(
                        "ad_editor",
                        &[("campaign", campaign.as_str()), ("ad", ad.as_str())]
                    )
                    .await
            )
            .0,
            404,
            "{b}"
        );
        let appealed = owner.call("appeal_decision", &appeal).await;
        assert!(appealed.status.is_success(), "{b}: {appealed:?}");
        assert_eq!(
            kind(&owner.call("appeal_decision", &appeal).await),
            (409, Some("Conflict".into())),
            "{b}: once"
        );
        dashboard_agrees(&app, &owner, "own_review", owner_account).await;
        dashboard_agrees(&app, &bob, "moderation", None).await;
        // The appeal is not Alice's to see; Bob gets it.
        assert_eq!(first_task(&alice, true).await, None, "{b}");
        let appeal_task = first_task(&bob, true).await.expect("appeal for Bob");
        let reopened = bob
            .call("open_review", &[("task", appeal_task.as_str())])
            .await;
        assert_eq!(
            reopened.body["appeal"]["message"], "The price is on the landing page.",
            "{b}: {reopened:?}"
        );
        assert_eq!(
            kind(
                &alice
                    .call("open_review", &[("task", appeal_task.as_str())])
                    .await
            ),
            (404, Some("NotFound".into())),
            "{b}"
        );
    }
}

/// The review figures of `client`'s dashboard (`part`: `own_review` or `moderation`) agree
/// with the open review tasks (of `account`, or of the platform), read here one by one.
async fn dashboard_agrees(app: &TestApp, client: &Client, part: &str, account: Option<i64>) {
    let b = app.backend;
    let dashboard = client.call("dashboard", &[]).await;
    assert!(dashboard.status.is_success(), "{b}: {dashboard:?}");
    let glance = &dashboard.body[part];
    let mut open =
        review_task::Entity::find().filter(review_task::Column::State.eq(TaskState::Open));
    if let Some(account) = account {
        open = open.filter(review_task::Column::AccountId.eq(account));
    }
    let open = open.all(&app.db).await.expect("tasks");
    let waiting = open.iter().filter(|t| t.appeal_id.is_none()).count() as u64;
    let appeals = open.len() as u64 - waiting;
    assert_eq!(
        glance["waiting"].as_u64(),
        Some(waiting),
        "{b}: {part} {glance}"
    );
    assert_eq!(
        glance["appeals"].as_u64(),
        Some(appeals),
        "{b}: {part} {glance}"
    );
    let oldest = open.iter().map(|t| t.submitted_at).min();
    let shown = glance["oldest"]
        .as_str()
        .map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().expect("a time"));
    assert_eq!(shown, oldest, "{b}: {part} {glance}");
}

/// Who holds a live or expired claim on `task`, by email.
async fn claimed_by(app: &TestApp, task: &str) -> Option<String> {
    let id: i64 = task.parse().expect("task id");
    let row = review_task::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("query")
        .expect("task");
    let user = app_user::Entity::find()
        .filter(app_user::Column::Id.eq(row.claimed_by?))
        .one(&app.db)
        .await
        .expect("query")?;
    Some(user.email)
}

#[tokio::test]
async fn opening_the_review_page_claims_nothing_until_the_claim_is_posted() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let owner = signed_up(&app, "owner@example.com").await;
        submitted(&owner).await;
        let alice = signed_up(&app, "alice@herald.test").await;
        grant(&app, "alice@herald.test", "moderator").await;
        let bob = signed_up(&app, "bob@herald.test").await;
        grant(&app, "bob@herald.test", "moderator").await;
        let task = first_task(&alice, false).await.expect("a waiting item");
        let path = format!("/moderation/{task}");

        // A page load (as a cross-site link would make it) reads the item and claims nothing.
        let page = alice.get(&path).await;
        assert_eq!(page.status(), 200, "{b}");
        let html = page.text().await.expect("page");
        assert!(html.contains("Fresh beans every Monday"), "{b}: {html}");
        assert!(
            html.contains(r#"id="claim""#),
            "{b}: the page offers a Claim button without its wasm"
        );
        assert_eq!(claimed_by(&app, &task).await, None, "{b}");
        assert_eq!(first_task(&bob, false).await, Some(task.clone()), "{b}");
        let read = alice.call("open_review", &[("task", task.as_str())]).await;
        assert!(read.status.is_success(), "{b}: {read:?}");
        assert!(read.body["claimed_until"].is_null(), "{b}: {read:?}");
        assert_eq!(claimed_by(&app, &task).await, None, "{b}");

        // The Claim button: a plain form post claims the item and lands back on it.
        let posted = alice
            .http
            .post(app.url("/api/claim_review"))
            .header("accept", "text/html")
            .header("referer", app.url(&path))
            .form(&[("task", task.as_str())])
            .send()
            .await
            .expect("claim post");
        assert!(posted.status().is_redirection(), "{b}: {posted:?}");
        // Back to the page (Leptos appends an empty query when there is no error to report).
        let location = posted
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(|l| l.trim_end_matches('?').to_owned());
        assert_eq!(location, Some(app.url(&path)), "{b}");
        assert_eq!(
            claimed_by(&app, &task).await.as_deref(),
            Some("alice@herald.test"),
            "{b}"
        );
        let held = alice.call("open_review", &[("task", task.as_str())]).await;
        assert!(held.body["claimed_until"].is_string(), "{b}: {held:?}");
        assert_eq!(first_task(&bob, false).await, None, "{b}: hidden from Bob");
        assert_eq!(
            kind(&bob.call("claim_review", &[("task", task.as_str())]).await),
            (409, Some("Conflict".into())),
            "{b}"
        );
        assert_eq!(
            kind(&bob.call("open_review", &[("task", task.as_str())]).await),
            (409, Some("Conflict".into())),
            "{b}"
        );
    }
}

#[tokio::test]
async fn guidelines_and_review_times_are_public_and_admins_edit_reasons() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let visitor = app.client();
        let page = visitor.get("/guidelines").await;
        assert_eq!(page.status(), 200, "{b}");
        let html = page.text().await.expect("html");
        assert!(
            html.contains(r#"id="misleading""#) && html.contains("Misleading claims"),
            "{b}: every reason has its anchor"
        );
        let times = visitor.get("/review-times").await;
        assert_eq!(times.status(), 200, "{b}");
        assert!(
            times
                .text()
                .await
                .expect("html")
                .contains("Median time to decision"),
            "{b}"
        );
        let reasons = visitor.call("policy_reasons", &[]).await;
        assert!(
            reasons.body.as_array().is_some_and(|r| r.len() >= 12),
            "{b}: {reasons:?}"
        );

        let admin = signed_up(&app, "admin@herald.test").await;
        grant(&app, "admin@herald.test", "admin").await;
        let bad = admin
            .call(
                "save_policy_reason",
                &[
                    ("input[code]", "Bad Code"),
                    ("input[title]", ""),
                    ("input[guideline]", "short"),
                ],
            )
            .await;
        assert_eq!(bad.status, 422, "{b}");
        for field in ["code", "title", "guideline"] {
            assert!(bad.field_error(field).is_some(), "{b}: {field}: {bad:?}");
        }
        let added = admin
            .call(
                "save_policy_reason",
                &[
                    ("input[code]", "crypto-ico"),
                    ("input[title]", "Token sales"),
                    (
                        "input[guideline]",
                        "Initial coin offerings are not accepted.",
                    ),
                    ("input[active]", "true"),
                ],
            )
            .await;
        assert!(added.status.is_success(), "{b}: {added:?}");
        let html = visitor.get("/guidelines").await.text().await.expect("html");
        assert!(
            html.contains(r#"id="crypto-ico""#),
            "{b}: published at once"
        );
    }
}
