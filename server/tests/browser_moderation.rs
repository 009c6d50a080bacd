//! Browser test of the review loop, with an advertiser and a moderator in two browser
//! sessions: the advertiser sends an ad → the moderator declines it with a reason → the
//! advertiser sees the reason with its guideline link and the note, edits and resends → the
//! moderator sees the word-level diff and approves — with no console errors.

mod support;

use app::{
    entity::review_task,
    model::{CampaignForm, TargetingForm},
};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::json;
use support::{PASSWORD, browser::*};

#[tokio::test(flavor = "multi_thread")]
async fn decline_with_a_reason_then_edit_resend_and_approve_the_diff() {
    let (app, driver, advertiser) = start_with_catalog(300).await;
    sign_in(&app, &advertiser, "ads@example.com").await;
    // The campaign and its ad are made over HTTP (the campaign journey has its own test).
    let http = app.client();
    assert!(
        http.sign_in("ads@example.com", PASSWORD)
            .await
            .status
            .is_success()
    );
    let campaign = http
        .call_json(
            "save_campaign",
            &json!({ "id": null, "form": CampaignForm {
                name: "Coffee club".into(),
                targeting: TargetingForm {
                    languages: vec!["en".into()],
                    bid: "1.50".into(),
                    ..TargetingForm::default()
                },
                total_budget: "250".into(),
                ..CampaignForm::default()
            }}),
        )
        .await;
    let campaign = campaign.body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{campaign:?}"));
    let ad = http
        .call(
            "save_ad",
            &[
                ("campaign", campaign.to_string().as_str()),
                ("input[title]", "Club"),
                ("input[text]", "The best coffee in the world, guaranteed"),
                ("input[button_label]", "Join"),
                ("input[destination_url]", "https://acme.coffee/club"),
            ],
        )
        .await
        .body
        .as_i64()
        .expect("ad");
    let ad_page = app.url(&format!("/campaigns/{campaign}/ads/{ad}"));

    // The advertiser sends it.
    advertiser.goto(&ad_page).await.expect("ad page");
    hydrated(&advertiser).await;
    click(&advertiser, "#send-ad").await;
    until_contains(&advertiser, "[data-test=sent]", "Sent for review").await;

    // The moderator, in a second browser, opens the oldest item.
    app.client().sign_up("mod@herald.test", PASSWORD).await;
    support::confirm(&app, "mod@herald.test").await;
    app.db
        .execute_unprepared(
            "INSERT INTO staff_role (user_id, role, granted_by, granted_at) \
             SELECT id, 'moderator', NULL, CURRENT_TIMESTAMP FROM app_user WHERE email = 'mod@herald.test'",
        )
        .await
        .expect("grant");
    let moderator = browser(&driver).await;
    sign_in(&app, &moderator, "mod@herald.test").await;
    moderator
        .goto(&app.url("/moderation"))
        .await
        .expect("queue");
    hydrated(&moderator).await;
    until_contains(&moderator, "[data-test=queue-row]", "Ad “Club”, version 1").await;
    click(&moderator, "#review-next").await;
    hydrated(&moderator).await;
    until_contains(&moderator, "[data-test=preview-text]", "guaranteed").await;
    // A decline without a reason is refused beside the reasons, before anything is sent.
    click(&moderator, "#decline").await;
    until_contains(&moderator, "#reasons-error", "at least one policy reason").await;
    // The moderator reloads the item and fills in the decision while the wasm is still on its
    // way (here: asked for once all is filled in): the decline sends the reason and the note
    // the form shows.
    let item = moderator.current_url().await.expect("url");
    scripts(&moderator, false).await;
    moderator.goto(item.as_str()).await.expect("reload");
    click(&moderator, "#reason-misleading").await;
    fill(
        &moderator,
        "#decision-note",
        "Nobody can guarantee the best coffee in the world.",
    )
    .await;
    load_the_wasm_now(&moderator).await;
    // The form says until when the item is held; extending the claim moves it on (in the
    // database) and keeps what is filled in.
    until_contains(
        &moderator,
        "[data-test=claimed-until]",
        "Claimed by you until",
    )
    .await;
    let task: i64 = item
        .path()
        .rsplit('/')
        .next()
        .and_then(|t| t.parse().ok())
        .expect("the item's id");
    let held_until = || async {
        review_task::Entity::find_by_id(task)
            .one(&app.db)
            .await
            .expect("read the task")
            .expect("the task")
            .claimed_until
            .expect("claimed")
    };
    let before = held_until().await;
    hydrated(&moderator).await;
    click(&moderator, "#extend-claim").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while held_until().await <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "Extend claim never moved the claim on"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let refused = moderator
        .find_all(fantoccini::Locator::Css(".decision-form .banner.error"))
        .await
        .expect("banners");
    assert!(refused.is_empty(), "the extension was refused");
    let ticked = moderator
        .execute(
            "return [document.querySelector('#reason-misleading').checked, document.querySelector('#decision-note').value];",
            vec![],
        )
        .await
        .expect("read the form");
    assert_eq!(
        ticked,
        json!([true, "Nobody can guarantee the best coffee in the world."]),
        "an extension leaves the form as it was"
    );
    click(&moderator, "#decline").await;
    until_contains(
        &moderator,
        "#decided-heading + [data-test=decision]",
        "Declined",
    )
    .await;

    // The advertiser is notified, reads the reason, follows its guideline link.
    advertiser.goto(&ad_page).await.expect("ad page");
    hydrated(&advertiser).await;
    until_contains(&advertiser, "[data-test=unread-count]", "1").await;
    let decision = until_contains(&advertiser, "[data-test=decision]", "Misleading claims").await;
    assert!(decision.contains("Nobody can guarantee"), "{decision}");
    let link = wait_for(&advertiser, "[data-test=reason-link]").await;
    assert_eq!(
        link.attr("href").await.expect("href").as_deref(),
        Some("/guidelines#misleading")
    );
    click(&advertiser, "[data-test=reason-link]").await;
    wait_for_path(&advertiser, "/guidelines").await;
    until_contains(&advertiser, "#misleading", "Misleading claims").await;

    // It edits the text and sends the new version.
    advertiser.goto(&ad_page).await.expect("ad page");
    hydrated(&advertiser).await;
    fill(
        &advertiser,
        "#ad-text",
        "Our favourite coffee, roasted every Monday",
    )
    .await;
    click(&advertiser, "#save-ad").await;
    until_contains(&advertiser, ".banner.success", "Saved").await;
    hydrated(&advertiser).await;
    click(&advertiser, "#send-ad").await;
    until_contains(&advertiser, "[data-test=sent]", "Sent for review").await;

    // The moderator sees what changed since the declined version 1, word by word, with the
    // decline in the account's history, and approves.
    moderator
        .goto(&app.url("/moderation"))
        .await
        .expect("queue");
    hydrated(&moderator).await;
    until_contains(&moderator, "[data-test=queue-row]", "version 2").await;
    click(&moderator, "#review-next").await;
    hydrated(&moderator).await;
    until_contains(
        &moderator,
        "[data-test=preview-text]",
        "roasted every Monday",
    )
    .await;
    until_contains(
        &moderator,
        "[data-test=diff] h2",
        "Changes since declined version 1",
    )
    .await;
    until_contains(&moderator, "[data-test=word-diff]", "favourite").await;
    wait_for(&moderator, "[data-test=word-diff] ins").await;
    wait_for(&moderator, "[data-test=word-diff] del").await;
    let history = until_contains(
        &moderator,
        "#history-heading + [data-test=decision]",
        "Declined",
    )
    .await;
    assert!(history.contains("Misleading claims"), "{history}");
    click(&moderator, "#approve").await;
    until_contains(
        &moderator,
        "#decided-heading + [data-test=decision]",
        "Approved",
    )
    .await;

    advertiser.goto(&ad_page).await.expect("ad page");
    hydrated(&advertiser).await;
    until_contains(&advertiser, "[data-test=ad-state]", "Approved").await;

    for (who, client) in [("advertiser", &advertiser), ("moderator", &moderator)] {
        let problems = console_problems(client).await;
        assert!(problems.is_empty(), "{who}: console problems: {problems:?}");
    }
}
