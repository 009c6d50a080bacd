//! Browser test of the advertiser's main journey: build a campaign from scratch (targeting,
//! bid, budget, schedule), see a refused bid beside its field with the form kept, save the
//! draft, write an ad with its live preview and pre-checks, reload and find everything as
//! typed, and send it for review — with no console errors.

mod support;

use fantoccini::Locator;
use support::browser::*;

async fn value(client: &fantoccini::Client, css: &str) -> String {
    wait_for(client, css)
        .await
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default()
}

/// Waits until the field at `css` holds `expected` (a page may render before its data).
async fn until_value(client: &fantoccini::Client, css: &str, expected: &str) {
    let mut last = String::new();
    for _ in 0..100 {
        last = value(client, css).await;
        if last == expected {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{css}: wanted {expected:?}, found {last:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn build_a_campaign_write_an_ad_reload_and_send_it_for_review() {
    let (app, _driver, client) = start_with_catalog(2_000).await;
    sign_in(&app, &client, "ads@example.com").await;

    client.goto(&app.url("/campaigns")).await.expect("list");
    hydrated(&client).await;
    click(&client, "#new-campaign").await;
    wait_for_path(&client, "/campaigns/new").await;
    hydrated(&client).await;

    fill(&client, "#c-name", "Winter coffee club").await;
    click(&client, "input[name=lang][value=en]").await;
    let before = text_of(&client, "[data-test=channels]").await;
    fill(&client, "#t-min-subs", "5k").await;
    changed(&client, "[data-test=channels]", &before).await;
    fill(&client, "#t-bid", "0.20").await;
    fill(&client, "#t-daily", "20").await;
    fill(&client, "#c-total", "150").await;
    click(&client, "#c-scheduled").await;
    click(&client, ".schedule-presets button:nth-child(2)").await;
    until_contains(&client, ".schedule-presets .hint", "45 hours").await;

    // A bid under the minimum: refused beside the field, and nothing typed is lost.
    click(&client, "#save-campaign").await;
    let message = until_contains(&client, "#t-bid-error", "minimum CPM bid").await;
    assert!(message.contains("€0.50"), "{message}");
    assert_eq!(value(&client, "#c-name").await, "Winter coffee club");
    assert_eq!(value(&client, "#c-total").await, "150");
    assert_eq!(value(&client, "#t-daily").await, "20");
    assert_eq!(value(&client, "#t-min-subs").await, "5k");
    assert_eq!(
        client.current_url().await.expect("url").path(),
        "/campaigns/new"
    );

    fill(&client, "#t-bid", "1.20").await;
    click(&client, "#save-campaign").await;
    until_contains(&client, "[data-test=builder-banner]", "Draft saved").await;
    let campaign_path = client.current_url().await.expect("url").path().to_owned();
    assert!(campaign_path.starts_with("/campaigns/"), "{campaign_path}");

    // Write the ad: the preview and the pre-checks follow the typing.
    click(&client, "#new-ad").await;
    wait_for_path(&client, &format!("{campaign_path}/ads/new")).await;
    hydrated(&client).await;
    fill(&client, "#ad-title", "Launch").await;
    fill(&client, "#ad-text", "Fresh beans roasted EVERY Monday").await;
    until_contains(&client, "[data-test=preview-text]", "Fresh beans roasted").await;
    until_contains(&client, "[data-test=findings]", "ALL-CAPS").await;
    assert!(
        text_of(&client, "[data-test=counter]")
            .await
            .starts_with("32 / 160")
    );
    // Twenty characters or fewer left: the counter turns amber.
    fill(&client, "#ad-text", &"Beans ".repeat(24)).await;
    until_contains(&client, "[data-test=counter]", "144 / 160").await;
    let tone = wait_for(&client, "[data-test=counter]")
        .await
        .attr("class")
        .await
        .expect("class")
        .unwrap_or_default();
    assert!(tone.contains("amber"), "{tone}");
    fill(
        &client,
        "#ad-text",
        "Fresh beans roasted every Monday, delivered to your door",
    )
    .await;
    until_contains(&client, "[data-test=findings]", "Link").await;
    fill(&client, "#ad-button", "Order").await;
    fill(&client, "#ad-url", "https://acme.coffee/club").await;
    until_contains(&client, "[data-test=findings]", "Passes every pre-check").await;
    until_contains(&client, "[data-test=preview-button]", "Order").await;
    click(&client, "#save-ad").await;
    until_contains(&client, ".banner.success", "Saved").await;
    assert!(
        client
            .current_url()
            .await
            .expect("url")
            .path()
            .starts_with(&format!("{campaign_path}/ads/"))
    );

    // A reload shows everything as typed.
    client.goto(&app.url(&campaign_path)).await.expect("reload");
    hydrated(&client).await;
    assert_eq!(value(&client, "#c-name").await, "Winter coffee club");
    assert_eq!(value(&client, "#t-bid").await, "1.2");
    assert_eq!(value(&client, "#c-total").await, "150");
    assert_eq!(value(&client, "#t-daily").await, "20");
    assert_eq!(value(&client, "#t-min-subs").await, "5000");
    let english = client
        .find(Locator::Css("input[name=lang][value=en]"))
        .await
        .expect("en")
        .prop("checked")
        .await
        .expect("checked");
    assert_eq!(english.as_deref(), Some("true"));
    until_contains(&client, ".schedule-presets .hint", "45 hours").await;
    until_contains(&client, "[data-test=ad-item]", "Launch").await;
    // The ad too, field by field, in its editor.
    click(&client, "[data-test=ad-item] .actions a").await;
    hydrated(&client).await;
    until_value(&client, "#ad-title", "Launch").await;
    until_value(
        &client,
        "#ad-text",
        "Fresh beans roasted every Monday, delivered to your door",
    )
    .await;
    until_value(&client, "#ad-button", "Order").await;
    until_value(&client, "#ad-url", "https://acme.coffee/club").await;
    client.goto(&app.url(&campaign_path)).await.expect("back");
    hydrated(&client).await;

    // Send it for review.
    click(&client, "#submit-campaign").await;
    until_contains(
        &client,
        "[data-test=builder-banner]",
        "sent 1 ad for review",
    )
    .await;
    until_contains(&client, "[data-test=ad-item]", "In review").await;

    let problems = console_problems(&client).await;
    assert!(problems.is_empty(), "console problems: {problems:#?}");
    client.close().await.expect("close");
}

/// The builder before its wasm has loaded (here: never, the bundle is blocked): the page is a
/// plain form. A refused save comes back with everything typed and the reason beside its
/// field; a good one saves the draft and opens it.
#[tokio::test(flavor = "multi_thread")]
async fn the_builder_saves_as_a_plain_form_when_the_wasm_never_arrives() {
    let (app, _driver, client) = start_with_catalog(200).await;
    sign_in(&app, &client, "plain@example.com").await;
    for (cmd, params) in [
        ("Network.enable", serde_json::json!({})),
        (
            "Network.setBlockedURLs",
            serde_json::json!({ "urls": ["*/pkg/*"] }),
        ),
    ] {
        client.issue_cmd(Cdp(cmd, params)).await.expect(cmd);
    }
    client
        .goto(&app.url("/campaigns/new"))
        .await
        .expect("builder");
    fill(&client, "#c-name", "No-script coffee").await;
    fill(&client, "#c-total", "5").await;
    wait_for(&client, "#save-campaign")
        .await
        .click()
        .await
        .expect("save");
    until_contains(&client, "#c-total-error", "minimum total budget").await;
    assert_eq!(value(&client, "#c-name").await, "No-script coffee");
    assert_eq!(value(&client, "#c-total").await, "5");
    let url = client.current_url().await.expect("url");
    assert_eq!(url.path(), "/campaigns/new", "{url}");

    fill(&client, "#c-total", "250").await;
    wait_for(&client, "#save-campaign")
        .await
        .click()
        .await
        .expect("save");
    until_contains(&client, "[data-test=builder-banner]", "Draft saved").await;
    let url = client.current_url().await.expect("url");
    assert!(
        url.path().starts_with("/campaigns/") && url.path() != "/campaigns/new",
        "{url}"
    );
    assert_eq!(value(&client, "#c-name").await, "No-script coffee");
    assert_eq!(value(&client, "#c-total").await, "250");
    // All of it without the wasm.
    assert!(
        client
            .find(Locator::Css("body[data-hydrated]"))
            .await
            .is_err()
    );
}

async fn ticked(client: &fantoccini::Client, css: &str) -> bool {
    wait_for(client, css)
        .await
        .prop("checked")
        .await
        .expect("checked")
        == Some("true".into())
}

/// A visitor on a slow connection fills the builder while the wasm is still on its way (here
/// it is asked for only once everything is typed). Hydration keeps every field as typed —
/// text fields, a ticked language, the schedule — and the hydrated page works from it: the
/// forecast is asked again for the typed targeting, "Unsaved changes" shows, and the save
/// stores what the page shows. The ad editor's preview and pre-checks follow its typed text;
/// the targeting page forecasts what was typed and puts it in its address.
#[tokio::test(flavor = "multi_thread")]
async fn what_is_typed_before_the_wasm_arrives_is_kept_and_saved() {
    let (app, _driver, client) = start_with_catalog(2_000).await;
    sign_in(&app, &client, "early@example.com").await;

    scripts(&client, false).await;
    client
        .goto(&app.url("/campaigns/new"))
        .await
        .expect("builder");
    let served = text_of(&client, "[data-test=channels]").await;
    fill(&client, "#c-name", "Early bird coffee").await;
    fill(&client, "#c-total", "300").await;
    fill(&client, "#t-bid", "0.80").await;
    fill(&client, "#t-min-subs", "5k").await;
    // Two languages, the one shown first sorting last where the page allows (a campaign
    // stores its languages sorted; the page lists them by channels).
    let mut shown = Vec::new();
    for input in client
        .find_all(Locator::Css("input[name=lang]"))
        .await
        .expect("languages")
    {
        shown.push(
            input
                .attr("value")
                .await
                .expect("value")
                .unwrap_or_default(),
        );
    }
    let (first, second) = shown
        .iter()
        .enumerate()
        .flat_map(|(i, a)| shown[i + 1..].iter().map(move |b| (a, b)))
        .find(|(a, b)| a > b)
        .unwrap_or((&shown[0], &shown[1]));
    let (first, second) = (first.clone(), second.clone());
    for language in [&first, &second] {
        click(&client, &format!("input[name=lang][value={language}]")).await;
    }
    click(&client, "#c-scheduled").await;
    assert!(
        client
            .find(Locator::Css("body[data-hydrated]"))
            .await
            .is_err(),
        "typed before the wasm"
    );
    load_the_wasm_now(&client).await;

    assert_eq!(value(&client, "#c-name").await, "Early bird coffee");
    assert_eq!(value(&client, "#c-total").await, "300");
    assert_eq!(value(&client, "#t-bid").await, "0.80");
    assert_eq!(value(&client, "#t-min-subs").await, "5k");
    for language in [&first, &second] {
        assert!(ticked(&client, &format!("input[name=lang][value={language}]")).await);
    }
    assert!(ticked(&client, "#c-scheduled").await);
    // The page's state took it, not only the fields: what reads it follows.
    let hint = text_of(&client, "[data-test=languages-ticked]").await;
    assert!(
        hint.starts_with("Ticked: ") && hint.contains(", "),
        "{hint}"
    );
    wait_for(&client, ".schedule-presets").await;
    until_contains(&client, ".unsaved", "Unsaved changes").await;
    changed(&client, "[data-test=channels]", &served).await;

    click(&client, "#save-campaign").await;
    until_contains(&client, "[data-test=builder-banner]", "Draft saved").await;
    let campaign = client.current_url().await.expect("url").path().to_owned();
    client.goto(&app.url(&campaign)).await.expect("reload");
    hydrated(&client).await;
    assert_eq!(value(&client, "#c-name").await, "Early bird coffee");
    assert_eq!(value(&client, "#c-total").await, "300");
    assert_eq!(value(&client, "#t-bid").await, "0.8");
    assert_eq!(value(&client, "#t-min-subs").await, "5000");
    for language in [&first, &second] {
        assert!(ticked(&client, &format!("input[name=lang][value={language}]")).await);
    }
    assert!(ticked(&client, "#c-scheduled").await);
    until_contains(&client, ".schedule-presets .hint", "168 hours").await;
    // A page loaded with scripts on and left alone reads its form too: nothing changed.
    assert!(
        client.find(Locator::Css(".unsaved")).await.is_err(),
        "an untouched campaign has no unsaved changes"
    );

    // The ad editor: its preview and pre-checks follow what was typed before the wasm.
    scripts(&client, false).await;
    client
        .goto(&app.url(&format!("{campaign}/ads/new")))
        .await
        .expect("ad editor");
    fill(&client, "#ad-title", "Early").await;
    fill(
        &client,
        "#ad-text",
        "Beans roasted at dawn, BEFORE the wasm",
    )
    .await;
    load_the_wasm_now(&client).await;
    assert_eq!(
        value(&client, "#ad-text").await,
        "Beans roasted at dawn, BEFORE the wasm"
    );
    until_contains(&client, "[data-test=preview-text]", "roasted at dawn").await;
    until_contains(&client, "[data-test=findings]", "ALL-CAPS").await;
    until_contains(&client, "[data-test=counter]", "38 / 160").await;

    // The targeting page: typed before the wasm, then in the forecast and the address.
    scripts(&client, false).await;
    client
        .goto(&app.url("/targeting"))
        .await
        .expect("targeting");
    let served = text_of(&client, "[data-test=channels]").await;
    fill(&client, "#t-min-subs", "10k").await;
    load_the_wasm_now(&client).await;
    assert_eq!(value(&client, "#t-min-subs").await, "10k");
    changed(&client, "[data-test=channels]", &served).await;
    let url = client.current_url().await.expect("url");
    assert!(
        url.query().unwrap_or_default().contains("min_subs=10k"),
        "{url}"
    );

    let problems = console_problems(&client).await;
    assert!(problems.is_empty(), "console problems: {problems:#?}");
    client.close().await.expect("close");
}
