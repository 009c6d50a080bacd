//! Browser test of money end to end, in two browser sessions: the advertiser reads the
//! account's payment reference under "Add funds", finance finds the account by it and credits
//! its balance from "Credit balances" (a second credit adds, the same bank reference again adds
//! nothing); the advertiser sees the credits in the header balance and on "Balance & billing";
//! a network then wins slots and reports views over the real delivery API, and the campaign
//! page, the campaign list and the balance page show the spend and the holds exactly as the
//! ledger has them; after a run of the traffic simulator, finance's reconciliation finds no
//! difference, its spend page shows every charge and the statement closes at what was credited
//! less what was charged — with no console errors.

mod money_support;
mod support;

use app::{
    entity::account_top_up,
    model::{Micros, payment_reference},
    service::{
        delivery::keys,
        ledger::{self, Side},
    },
};
use chrono::{SecondsFormat, Utc};
use fantoccini::{Client, Locator};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::time::Duration;
use support::{PASSWORD, TestApp, browser::*};

const OWNER: &str = "owner@acme.test";
const ACCOUNT: &str = "Acme Coffee Roasters";
const FINANCE: &str = "finance@herald.test";
const CAMPAIGN: &str = "Winter coffee club";

/// Two English channels the campaign targets: (handle, average views).
const CHANNELS: [(&str, i64); 2] = [("coffee_daily", 4_000), ("brew_weekly", 2_500)];

fn euros(micros: i64) -> String {
    Micros(micros).display("EUR")
}

/// A topic and the two channels, then a new catalog version so the delivery index loads them.
async fn catalog(app: &TestApp) {
    let mut statements = vec!["INSERT INTO topic (slug, name) VALUES ('food', 'Food')".to_owned()];
    for (handle, avg_views) in CHANNELS {
        statements.push(format!(
            "INSERT INTO channel (handle, title, topic_id, language, subscribers, avg_views, posts_per_day, status, updated_at) \
             SELECT '{handle}', '{handle}', id, 'en', 50000, {avg_views}, 3.0, 'active', CURRENT_TIMESTAMP \
             FROM topic WHERE slug = 'food'"
        ));
    }
    statements.push(
        "UPDATE platform_setting SET value = value + 1 WHERE key = 'catalog_version'".to_owned(),
    );
    for sql in statements {
        app.db.execute_unprepared(&sql).await.expect(&sql);
    }
}

/// Credits `amount` under `reference` from the account's card on the finance page, with the
/// form found by its visible labels, and returns the banner's text once it shows `expect`.
async fn credit(client: &Client, amount: &str, reference: &str, expect: &str) -> String {
    let card =
        format!("//article[@data-test='finance-account'][h2[normalize-space()='{ACCOUNT}']]");
    // The form exists while its summary is open; the list (and so the card) is built again
    // after each credit, closed, possibly just after the last one's banner showed: open it
    // until its fields are there.
    let first_label = format!("{card}//label[normalize-space()='Credit amount (EUR)']");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while client.find(Locator::XPath(&first_label)).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the credit form never opened"
        );
        let details = wait_for_xpath(client, &format!("{card}//details")).await;
        if details.prop("open").await.ok().flatten().as_deref() != Some("true") {
            // A card replaced meanwhile makes this element stale: the next round finds the new one.
            let _ = wait_for_xpath(
                client,
                &format!("{card}//summary[normalize-space()='Credit {ACCOUNT}']"),
            )
            .await
            .click()
            .await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (label, value) in [
        ("Credit amount (EUR)", amount),
        ("Bank transfer reference", reference),
    ] {
        let field = wait_for_xpath(
            client,
            &format!("{card}//label[normalize-space()='{label}']"),
        )
        .await
        .attr("for")
        .await
        .expect("for")
        .unwrap_or_else(|| panic!("the label {label} names no field"));
        fill(client, &format!("#{field}"), value).await;
    }
    wait_for_xpath(
        client,
        &format!("{card}//button[normalize-space()='Credit balance']"),
    )
    .await
    .click()
    .await
    .expect("submit the credit");
    until_contains(client, "[data-test=credit-result]", expect).await
}

/// The account card's "Available", once it reads `expected` (the list is read again after a
/// credit).
async fn card_shows(client: &Client, expected: &str) {
    let path = format!(
        "//article[@data-test='finance-account'][h2[normalize-space()='{ACCOUNT}']]//dd[@data-test='available']"
    );
    let mut last = String::new();
    for _ in 0..200 {
        if let Ok(text) = wait_for_xpath(client, &path).await.text().await {
            if text == expected {
                return;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the card shows {last:?}, not {expected:?}");
}

/// `POST /api/delivery/v1/{path}` with the bearer `secret`: status and JSON body.
async fn delivery(app: &TestApp, secret: &str, path: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(app.url(&format!("/api/delivery/v1/{path}")))
        .bearer_auth(secret)
        .json(body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn finance_credits_the_advertiser_sees_it_and_delivery_spend_matches_the_ledger() {
    let (app, driver, finance) = start().await;
    catalog(&app).await;
    let owner = money_support::sign_up_owner(&app.db, OWNER, PASSWORD, ACCOUNT).await;
    let account = owner.membership.expect("owner of the account").0;
    assert!(
        app.client()
            .sign_up(FINANCE, PASSWORD)
            .await
            .status
            .is_success()
    );
    support::grant_staff(&app, FINANCE, "finance").await;

    // The advertiser reads how to pay — "Add funds" on the dashboard's balance card — : the
    // account's payment reference (no bank details are published on this instance: the page
    // says whom to ask).
    let advertiser = browser(&driver).await;
    sign_in(&app, &advertiser, OWNER).await;
    hydrated(&advertiser).await;
    until_contains(&advertiser, "[data-test=no-funds]", "add funds").await;
    wait_for_xpath(
        &advertiser,
        "//section[@aria-labelledby='money-card']//a[normalize-space()='Add funds']",
    )
    .await
    .click()
    .await
    .expect("open Add funds");
    wait_for_path(&advertiser, "/balance").await;
    hydrated(&advertiser).await;
    until_contains(
        &advertiser,
        "#add-funds [data-test=bank-details-missing]",
        "not published yet",
    )
    .await;
    let reference = until_contains(
        &advertiser,
        "#add-funds [data-test=payment-reference]",
        "RF",
    )
    .await;
    assert_eq!(reference, payment_reference(account));
    // "Copy" puts it on the clipboard as banks' forms take it, without the grouping spaces.
    advertiser
        .issue_cmd(Cdp(
            "Browser.grantPermissions",
            json!({
                "origin": app.url(""),
                "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
            }),
        ))
        .await
        .expect("allow the clipboard");
    wait_for_xpath(
        &advertiser,
        "//section[@id='add-funds']//button[normalize-space()='Copy']",
    )
    .await
    .click()
    .await
    .expect("copy the reference");
    until_contains(&advertiser, "#add-funds [role=status]", "Copied").await;
    let copied = advertiser
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             navigator.clipboard.readText().then(done, e => done('refused: ' + e));",
            vec![],
        )
        .await
        .expect("read the clipboard");
    assert_eq!(copied, json!(reference.replace(' ', "")));

    // Finance finds the account by the reference on the transfer, credits two bank transfers,
    // then enters the first one again.
    sign_in(&app, &finance, FINANCE).await;
    navigate(&finance, "Credit balances", "/finance").await;
    let search = wait_for_xpath(
        &finance,
        "//form[@role='search']//label[normalize-space()='Account name or payment reference']",
    )
    .await
    .attr("for")
    .await
    .expect("for")
    .expect("the search label names its field");
    fill(&finance, &format!("#{search}"), &reference.to_lowercase()).await;
    wait_for_xpath(
        &finance,
        "//form[@role='search']//button[normalize-space()='Search']",
    )
    .await
    .click()
    .await
    .expect("search");
    // Finance's own account is listed until the search answers: then only the advertiser's.
    let mut names = Vec::new();
    for _ in 0..200 {
        names.clear();
        for card in finance
            .find_all(Locator::Css("[data-test=finance-account] h2"))
            .await
            .expect("cards")
        {
            names.push(card.text().await.unwrap_or_default());
        }
        if names == [ACCOUNT] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(names, [ACCOUNT], "the reference finds its account only");
    hydrated(&finance).await;
    let banner = credit(&finance, "200.00", "WIRE-2041-A", "Credited €200.00").await;
    assert_eq!(
        banner,
        format!("Credited €200.00 to {ACCOUNT}. Available now: €200.00.")
    );
    card_shows(&finance, "€200.00").await;
    let banner = credit(&finance, "50.50", "WIRE-2041-B", "Credited €50.50").await;
    assert_eq!(
        banner,
        format!("Credited €50.50 to {ACCOUNT}. Available now: €250.50.")
    );
    card_shows(&finance, "€250.50").await;
    let banner = credit(&finance, "200.00", "WIRE-2041-A", "already credited").await;
    assert_eq!(
        banner,
        format!(
            "This reference was already credited to {ACCOUNT}: nothing was added. Available: €250.50."
        )
    );
    card_shows(&finance, "€250.50").await;
    let top_ups = account_top_up::Entity::find()
        .filter(account_top_up::Column::AccountId.eq(account.0))
        .count(&app.db)
        .await
        .expect("top-ups");
    assert_eq!(top_ups, 2, "the repeated reference added nothing");
    let available = ledger::balance_of(&app.db, Side::balance(account.0), "EUR")
        .await
        .expect("balance");
    assert_eq!(available, Micros(250_500_000));
    let problems = console_problems(&finance).await;
    assert!(
        problems.is_empty(),
        "finance console problems: {problems:#?}"
    );

    // The advertiser sees the credits: in the header, and on the balance page with its history.
    advertiser.goto(&app.url("/")).await.expect("dashboard");
    hydrated(&advertiser).await;
    shows(&advertiser, "[data-test=header-balance]", "€250.50").await;
    navigate(&advertiser, "Balance & billing", "/balance").await;
    shows(
        &advertiser,
        "[data-test=balance] [data-test=available]",
        "€250.50",
    )
    .await;
    until_contains(
        &advertiser,
        "table[aria-label='Balance history']",
        "WIRE-2041-B",
    )
    .await;
    let mut credits = Vec::new();
    for row in advertiser
        .find_all(Locator::Css("table[aria-label='Balance history'] tbody tr"))
        .await
        .expect("history rows")
    {
        let cells = row.find_all(Locator::Css("td")).await.expect("cells");
        let mut texts = Vec::new();
        for cell in cells {
            texts.push(cell.text().await.expect("cell"));
        }
        credits.push(texts[1..].join(" | "));
    }
    credits.sort();
    assert_eq!(
        credits,
        [
            "Credit | Reference WIRE-2041-A | +€200.00",
            "Credit | Reference WIRE-2041-B | +€50.50",
        ],
        "the history lists each credit once"
    );

    // A network wins a slot on each channel and reports views (then sends the report again).
    let campaign = money_support::launch(
        &app.db,
        &owner,
        money_support::campaign_form(CAMPAIGN, &["en"], "2.00", "100"),
    )
    .await;
    let key = keys::create_unchecked(&app.db, "Browser test network", None, Utc::now())
        .await
        .expect("key");
    let mut held = 0;
    let mut expected_posted = 0;
    let mut events = Vec::new();
    let mut won_slots = Vec::new();
    for ((handle, avg_views), views) in CHANNELS.into_iter().zip([1_234_i64, 321]) {
        let (status, won) = delivery(
            &app,
            &key.secret,
            "decisions",
            &json!({ "channel": handle, "slot_id": format!("post-{handle}") }),
        )
        .await;
        assert_eq!(status, 200, "{handle}: {won}");
        let price = won["price_cpm"].as_i64().expect("price");
        held += won["held"].as_i64().expect("held");
        assert!(views < avg_views, "the views stay within the hold");
        expected_posted += views * price / 1_000;
        won_slots.push((handle, won["decision_id"].clone(), views));
    }
    // Seen after the decisions were made.
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    for (handle, decision, views) in won_slots {
        events.push(json!({
            "event_id": format!("views-{handle}"),
            "decision_id": decision,
            "views": views,
            "clicks": views / 100,
            "at": at,
        }));
    }
    let batch = json!({ "events": events });
    let mut posted = 0;
    for (round, outcome) in [(1, "accepted"), (2, "replayed")] {
        let (status, answer) = delivery(&app, &key.secret, "events", &batch).await;
        assert_eq!(status, 200, "round {round}: {answer}");
        let mut sum = 0;
        for result in answer["results"].as_array().expect("results") {
            assert_eq!(result["outcome"], outcome, "round {round}: {answer}");
            sum += result["posted"].as_i64().expect("posted");
        }
        if round == 1 {
            posted = sum;
        } else {
            assert_eq!(sum, posted, "a replay answers the first charges");
        }
    }
    assert_eq!(posted, expected_posted, "views × price, rounded down");
    assert!(posted % 10_000 != 0, "a charge with a fraction of a cent");

    // The ledger agrees with itself, and the pages agree with the ledger.
    let books = money_support::assert_books(&app.db).await;
    assert_eq!(books.posted_transfers, posted);
    let spent = campaign_spent(&app, campaign.0).await;
    assert_eq!(spent, posted);
    let available = ledger::balance_of(&app.db, Side::balance(account.0), "EUR")
        .await
        .expect("balance");
    assert_eq!(available, Micros(250_500_000 - held));

    advertiser
        .goto(&app.url(&format!("/campaigns/{}", campaign.0)))
        .await
        .expect("campaign page");
    hydrated(&advertiser).await;
    shows(&advertiser, "[data-test=campaign-spent]", &euros(spent)).await;
    // The header's balance is to the cent, rounded down.
    shows(
        &advertiser,
        "[data-test=header-balance]",
        &available.display_cents("EUR"),
    )
    .await;

    navigate(&advertiser, "Campaigns", "/campaigns").await;
    let row = format!(
        "//tr[@data-test='campaign-row'][.//a[normalize-space()='{CAMPAIGN}']]//td[@data-test='spent']"
    );
    let listed = wait_for_xpath(&advertiser, &row)
        .await
        .text()
        .await
        .expect("spent");
    assert_eq!(listed, euros(spent), "the campaign list's spend");

    navigate(&advertiser, "Balance & billing", "/balance").await;
    shows(
        &advertiser,
        "[data-test=balance] [data-test=spent]",
        &euros(spent),
    )
    .await;
    shows(
        &advertiser,
        "[data-test=balance] [data-test=held]",
        &euros(held - spent),
    )
    .await;
    shows(
        &advertiser,
        "[data-test=balance] [data-test=available]",
        &euros(available.0),
    )
    .await;

    let problems = console_problems(&advertiser).await;
    assert!(
        problems.is_empty(),
        "advertiser console problems: {problems:#?}"
    );

    // Then the traffic simulator drives the delivery API over HTTP for a while (loopback,
    // bounded in requests and seconds): more decisions, views, clicks and replays.
    server::simulate::run(&server::simulate::Options {
        base_url: app.url(""),
        key: key.secret.clone(),
        hours: 6.0,
        speed: 3_600.0,
        channels: 50,
        max_requests: 300,
        max_seconds: 15.0,
        seed: 7,
        batch: 50,
        journal: None,
        replay: None,
        quiet: true,
    })
    .await
    .expect("the simulator ran");
    let spent_before_simulation = spent;
    let spent = campaign_spent(&app, campaign.0).await;
    assert!(spent >= spent_before_simulation);
    money_support::assert_books(&app.db).await;

    // Finance's reconciliation of the last 30 days finds the ledger, the events and the
    // reports in agreement after the simulation, and the spend page shows every charge.
    navigate(&finance, "Reconciliation", "/finance/reconciliation").await;
    let summary = text_of(&finance, "[data-test=reconcile-summary]").await;
    assert!(summary.starts_with("0 differences"), "{summary}");
    navigate(&finance, "Spend", "/finance/spend").await;
    shows(&finance, "[data-test=spend-totals] dd", &euros(spent)).await;

    // Finance downloads the account's statement for this month from its ledger page: the
    // file's closing balance is the account's available plus held money.
    navigate(&finance, "Credit balances", "/finance").await;
    wait_for_xpath(
        &finance,
        &format!("//a[normalize-space()='Ledger history of {ACCOUNT}']"),
    )
    .await
    .click()
    .await
    .expect("open the ledger");
    wait_for_xpath(&finance, "//a[normalize-space()='Statement']")
        .await
        .click()
        .await
        .expect("open the statement");
    hydrated(&finance).await;
    let closing = text_of(&finance, "[data-test=closing]").await;
    // Whatever the simulation delivered: what was credited less what was charged.
    assert_eq!(closing, euros(250_500_000 - spent), "statement closing");
    let href = wait_for_xpath(&finance, "//a[normalize-space()='Download CSV']")
        .await
        .attr("href")
        .await
        .expect("href")
        .expect("a download link");
    let csv = finance
        .execute_async(
            "const [url, done] = arguments; \
             fetch(url).then(async r => done([r.status, r.headers.get('content-type'), await r.text()]));",
            vec![json!(href)],
        )
        .await
        .expect("download");
    assert_eq!(csv[0], json!(200), "{csv}");
    assert!(
        csv[1].as_str().unwrap_or_default().starts_with("text/csv"),
        "{csv}"
    );
    let body = csv[2].as_str().unwrap_or_default();
    assert!(
        body.starts_with("section,day,description,amount,amount_micros,currency"),
        "{body}"
    );
    let problems = console_problems(&finance).await;
    assert!(
        problems.is_empty(),
        "finance console problems: {problems:#?}"
    );
    advertiser.close().await.expect("close");
    finance.close().await.expect("close");
    eprintln!(
        "money journey: credited €250.50; held {}, charged {}, available {}; {books:?}",
        euros(held),
        euros(spent),
        euros(available.0)
    );
}

/// What the campaign's spend counter says it was charged.
async fn campaign_spent(app: &TestApp, campaign: i64) -> i64 {
    money_support::scalar(
        &app.db,
        &format!("SELECT posted FROM campaign_spend WHERE campaign_id = {campaign}"),
    )
    .await
}
