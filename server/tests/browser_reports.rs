//! Browser test of reports: an advertiser whose campaign has delivered over the real API opens
//! "Reports" from the navigation, picks the campaign, reads the spend the ledger has, changes
//! the period and sees the chart and the table change (and the URL keep the view), downloads
//! the CSV, creates a share link, and a second, signed-out browser opens it — no console
//! errors in either.

mod money_support;
mod support;

use app::{model::Micros, service::delivery::keys};
use chrono::Utc;
use fantoccini::{Client, Locator};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use std::time::Duration;
use support::{PASSWORD, TestApp, browser::*};

const OWNER: &str = "owner@acme.test";
const CAMPAIGN: &str = "Spring espresso";

async fn catalog(app: &TestApp) {
    for sql in [
        "INSERT INTO topic (slug, name) VALUES ('food', 'Food')".to_owned(),
        "INSERT INTO channel (handle, title, topic_id, language, subscribers, avg_views, posts_per_day, status, updated_at) \
         SELECT 'coffee_daily', 'Coffee daily', id, 'en', 50000, 4000, 3.0, 'active', CURRENT_TIMESTAMP FROM topic WHERE slug = 'food'"
            .to_owned(),
        "UPDATE platform_setting SET value = value + 1 WHERE key = 'catalog_version'".to_owned(),
    ] {
        app.db.execute_unprepared(&sql).await.expect(&sql);
    }
}

async fn delivery(app: &TestApp, secret: &str, path: &str, body: &Value) -> Value {
    let response = reqwest::Client::new()
        .post(app.url(&format!("/api/delivery/v1/{path}")))
        .bearer_auth(secret)
        .json(body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

/// Elements matching `css` once there are `n` of them.
async fn count_becomes(client: &Client, css: &str, n: usize) {
    let mut last = 0;
    for _ in 0..200 {
        last = client
            .find_all(Locator::Css(css))
            .await
            .map(|v| v.len())
            .unwrap_or(0);
        if last == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css}: {last} elements, not {n}");
}

/// Chooses `option` (its visible text) in the select labelled `label`.
async fn choose(client: &Client, label: &str, option: &str) {
    let select = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(&format!(
            "//select[@id=//label[normalize-space()='{label}']/@for]"
        )))
        .await;
    let select = match select {
        Ok(select) => select,
        Err(e) => {
            let page = client.find(Locator::Css("main")).await.expect("main");
            panic!(
                "no select labelled {label}: {e}; the page says {:?}",
                page.text().await
            );
        }
    };
    select
        .find(Locator::XPath(&format!(
            "option[normalize-space()='{option}']"
        )))
        .await
        .unwrap_or_else(|e| panic!("{label} has no option {option}: {e}"))
        .click()
        .await
        .expect("choose");
}

async fn show_report(client: &Client) {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath("//button[normalize-space()='Show report']"))
        .await
        .expect("the Show report button")
        .click()
        .await
        .expect("click");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_advertiser_reads_changes_exports_and_shares_a_report() {
    let (app, driver, advertiser) = start().await;
    catalog(&app).await;
    let owner = money_support::sign_up_owner(&app.db, OWNER, PASSWORD, "Acme Coffee").await;
    let account = owner.membership.expect("owner").0;
    app::service::finance::credit_account(
        &app.db,
        account,
        Micros::units(500),
        "WIRE-1",
        "",
        owner.user_id.0,
        None,
        Utc::now(),
    )
    .await
    .expect("credit");
    let form = money_support::campaign_form(CAMPAIGN, &["en"], "2.00", "300");
    let campaign = money_support::launch(&app.db, &owner, form).await;
    let key = keys::create_unchecked(&app.db, "Network", None, Utc::now())
        .await
        .expect("key");
    for (i, views) in [3_000, 1_200].into_iter().enumerate() {
        let won = delivery(
            &app,
            &key.secret,
            "decisions",
            &json!({ "channel": "coffee_daily", "slot_id": format!("s{i}") }),
        )
        .await;
        delivery(
            &app,
            &key.secret,
            "events",
            &json!({ "events": [{
                "event_id": format!("e{i}"),
                "decision_id": won["decision_id"],
                "views": views,
                "clicks": 30,
                "at": Utc::now().to_rfc3339(),
            }]}),
        )
        .await;
    }
    let spent = money_support::scalar(
        &app.db,
        &format!(
            "SELECT CAST(COALESCE(SUM(posted), 0) AS BIGINT) FROM campaign_spend WHERE campaign_id = {}",
            campaign.0
        ),
    )
    .await;
    assert!(spent > 0);

    // Reports, from the navigation; then this campaign, from the menu.
    sign_in(&app, &advertiser, OWNER).await;
    hydrated(&advertiser).await;
    navigate(&advertiser, "Reports", "/reports").await;
    choose(&advertiser, "Campaign", CAMPAIGN).await;
    show_report(&advertiser).await;
    until_contains(&advertiser, "[data-test=report-title]", CAMPAIGN).await;
    let url = advertiser.current_url().await.expect("url");
    assert!(
        url.query()
            .unwrap_or_default()
            .contains(&format!("campaign={}", campaign.0)),
        "{url}"
    );
    until_contains(
        &advertiser,
        "[data-test=report-spend]",
        &Micros(spent).display("EUR"),
    )
    .await;
    count_becomes(&advertiser, "[data-test=report-row]", 7).await;
    count_becomes(&advertiser, ".chart-point", 14).await;

    // Today only: one day in the table and one point per line chart.
    choose(&advertiser, "Period", "Today").await;
    show_report(&advertiser).await;
    count_becomes(&advertiser, "[data-test=report-row]", 1).await;
    count_becomes(&advertiser, ".chart-point", 2).await;
    let url = advertiser.current_url().await.expect("url");
    assert!(
        url.query().unwrap_or_default().contains("range=today"),
        "{url}"
    );
    // Reloading the address shows the same view.
    advertiser.refresh().await.expect("reload");
    hydrated(&advertiser).await;
    count_becomes(&advertiser, "[data-test=report-row]", 1).await;

    // The CSV of what is shown, with this browser's session.
    let href = wait_for(&advertiser, "[data-test=export-csv]")
        .await
        .attr("href")
        .await
        .expect("href")
        .expect("a link");
    let csv = advertiser
        .execute_async(
            "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.text()).then(done, e => done(String(e)));",
            vec![json!(href)],
        )
        .await
        .expect("fetch the CSV");
    let csv = csv.as_str().unwrap_or_default().to_owned();
    assert!(
        csv.starts_with("day,views,clicks,ctr_percent,spend,spend_micros,effective_cpm,currency"),
        "{csv}"
    );
    assert!(csv.contains(&format!(",{spent},")), "{csv}");

    // A share link, opened by someone without an account.
    fill(&advertiser, "#share-label", "Agency").await;
    advertiser
        .find(Locator::XPath(
            "//button[normalize-space()='Create share link']",
        ))
        .await
        .expect("the share button")
        .click()
        .await
        .expect("click");
    let link = text_of(&advertiser, "[data-test=new-share-link]").await;
    assert!(link.contains("/shared/rs_"), "{link}");
    count_becomes(&advertiser, "[data-test=share-link]", 1).await;
    let problems = console_problems(&advertiser).await;
    assert!(
        problems.is_empty(),
        "advertiser console problems: {problems:#?}"
    );

    let outsider = browser(&driver).await;
    outsider.goto(&link).await.expect("open the link");
    hydrated(&outsider).await;
    until_contains(&outsider, "h1", "Shared report").await;
    until_contains(&outsider, "[data-test=report-title]", CAMPAIGN).await;
    until_contains(
        &outsider,
        "[data-test=report-spend]",
        &Micros(spent).display("EUR"),
    )
    .await;
    assert!(
        outsider
            .find(Locator::XPath("//nav[@aria-label='Main']"))
            .await
            .is_err(),
        "a shared report shows no account navigation"
    );
    let problems = console_problems(&outsider).await;
    assert!(
        problems.is_empty(),
        "outsider console problems: {problems:#?}"
    );
}
