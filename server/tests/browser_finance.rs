//! Browser tests of the two-person rule, in several browser sessions: finance A credits a
//! large bank transfer from "Credit balances" and is told it waits for a second person (nothing
//! is credited, and A is offered only "Cancel request"); finance B approves it under "Waiting
//! for approval"; the advertiser's balance then shows it. And a large correction: A reverses a
//! charge from "Corrections" and is told it waits; B follows the dashboard's count to it and
//! approves it, and it is listed as made by A, approved by B — all with no console errors. B
//! then refunds part of the approved transfer against it, and more than is left of it is
//! refused beside the amount. And a large payout on the demo: A marks a channel's month paid
//! and it waits; B follows the dashboard's count to it and approves it.

mod delivery_support;
mod money_support;
mod support;

use fantoccini::{Client, Locator};
use serde_json::json;
use std::time::Duration;
use support::{PASSWORD, TestApp, browser::*};

const OWNER: &str = "owner@bigspender.test";
const ACCOUNT: &str = "Big Spender Ltd";
const ALICE: &str = "alice@herald.test";
const BOB: &str = "bob@herald.test";

/// Signs in, checks the dashboard's count of requests waiting for this person, and follows
/// the navigation's "Credit balances".
async fn open_finance(app: &TestApp, client: &Client, email: &str, waiting: &str) {
    sign_in(app, client, email).await;
    hydrated(client).await;
    // What waits for this person's approval, on the dashboard.
    shows(client, "[data-test=awaiting-approval]", waiting).await;
    navigate(client, "Credit balances", "/finance").await;
}

/// On the dashboard of a signed-in finance person, checks that the count `test` shows `count`
/// and follows its link to `path`, ready to use.
async fn follow_count(client: &Client, test: &str, count: &str, path: &str) {
    hydrated(client).await;
    let count_at = format!("[data-test={test}]");
    shows(client, &count_at, count).await;
    client
        .find(Locator::Css(&format!("{count_at} a")))
        .await
        .expect("link")
        .click()
        .await
        .expect("follow");
    wait_for_path(client, path).await;
    hydrated(client).await;
}

async fn card_available(client: &Client, expected: &str) {
    let path = format!(
        "//article[@data-test='finance-account'][h2[normalize-space()='{ACCOUNT}']]//dd[@data-test='available']"
    );
    let mut last = String::new();
    for _ in 0..300 {
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

/// The id of the field labelled `label` inside the element at `scope` (an XPath).
async fn field_in(client: &Client, scope: &str, label: &str) -> String {
    wait_for_xpath(
        client,
        &format!("{scope}//label[normalize-space()='{label}']"),
    )
    .await
    .attr("for")
    .await
    .expect("for")
    .expect("a labelled field")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_credit_needs_a_second_finance_person() {
    let (app, driver, alice) = start().await;
    money_support::sign_up_owner(&app.db, OWNER, PASSWORD, ACCOUNT).await;
    for email in [ALICE, BOB] {
        assert!(
            app.client()
                .sign_up(email, PASSWORD)
                .await
                .status
                .is_success()
        );
        support::grant_staff(&app, email, "finance").await;
    }

    // Alice credits €25,000 (above the €10,000 threshold): it waits.
    open_finance(&app, &alice, ALICE, "0").await;
    let card =
        format!("//article[@data-test='finance-account'][h2[normalize-space()='{ACCOUNT}']]");
    wait_for_xpath(
        &alice,
        &format!("{card}//summary[normalize-space()='Credit {ACCOUNT}']"),
    )
    .await
    .click()
    .await
    .expect("open the credit form");
    for (label, value) in [
        ("Credit amount (EUR)", "25000"),
        ("Bank transfer reference", "WIRE-BIG-1"),
    ] {
        let field = field_in(&alice, &card, label).await;
        fill(&alice, &format!("#{field}"), value).await;
    }
    wait_for_xpath(
        &alice,
        &format!("{card}//button[normalize-space()='Credit balance']"),
    )
    .await
    .click()
    .await
    .expect("submit");
    let banner = until_contains(&alice, "[data-test=credit-result]", "waiting").await;
    assert!(
        banner.contains("waiting for a second finance person's approval"),
        "{banner}"
    );
    card_available(&alice, "€0.00").await;
    // Her own request offers her a cancel, never an approval.
    let request = wait_for_xpath(&alice, "//li[@data-test='pending-request']").await;
    let text = request.text().await.expect("request text");
    assert!(text.contains("€25,000.00"), "{text}");
    assert!(
        alice
            .find(Locator::XPath(
                "//li[@data-test='pending-request']//button[starts-with(normalize-space(), 'Approve')]"
            ))
            .await
            .is_err(),
        "the requester is offered an approval"
    );
    wait_for_xpath(
        &alice,
        "//li[@data-test='pending-request']//button[normalize-space()='Cancel request']",
    )
    .await;
    let problems = console_problems(&alice).await;
    assert!(
        problems.is_empty(),
        "finance A console problems: {problems:#?}"
    );

    // Bob approves it.
    let bob = browser(&driver).await;
    open_finance(&app, &bob, BOB, "1").await;
    wait_for_xpath(
        &bob,
        "//li[@data-test='pending-request']//button[starts-with(normalize-space(), 'Approve request #')]",
    )
    .await
    .click()
    .await
    .expect("approve");
    card_available(&bob, "€25,000.00").await;
    let none = until_contains(&bob, ".finance-requests", "Nothing is waiting").await;
    assert!(none.contains("Nothing is waiting for approval."), "{none}");

    // Bob refunds part of that transfer: the form offers it with what is left, refuses more
    // than that beside the amount, and refunds €100 against it at once (below the threshold).
    // A closed form's fields are not in the page (so each label names one field): the refund
    // form exists once its summary is opened.
    let refund_labels = "count(//label[normalize-space()='Refund amount (EUR)'])";
    let count = |client: &Client| {
        let client = client.clone();
        async move {
            client
                .execute(
                    &format!("return document.evaluate(\"{refund_labels}\", document, null, XPathResult.NUMBER_TYPE, null).numberValue;"),
                    vec![],
                )
                .await
                .expect("count labels")
        }
    };
    assert_eq!(count(&bob).await, json!(0), "no closed form's fields");
    wait_for_xpath(
        &bob,
        &format!("{card}//summary[normalize-space()='Refund {ACCOUNT}']"),
    )
    .await
    .click()
    .await
    .expect("open the refund form");
    let source = field_in(&bob, &card, "Top-up it returns").await;
    assert_eq!(count(&bob).await, json!(1), "the opened form's fields");
    let offered = text_of(&bob, &format!("#{source}")).await;
    assert!(
        offered.contains("WIRE-BIG-1 · €25,000.00 left of €25,000.00 · "),
        "{offered}"
    );
    // Nothing is chosen for him: he picks the transfer the money goes back against.
    wait_for(&bob, &format!("#{source}"))
        .await
        .select_by_index(1)
        .await
        .expect("choose the top-up");
    let amount = field_in(&bob, &card, "Refund amount (EUR)").await;
    fill(&bob, &format!("#{amount}"), "25000.01").await;
    for (label, value) in [
        ("Outgoing transfer reference", "OUT-BIG-1"),
        ("Reason for the refund", "Campaign cancelled"),
    ] {
        let field = field_in(&bob, &card, label).await;
        fill(&bob, &format!("#{field}"), value).await;
    }
    let submit = format!("{card}//button[normalize-space()='Refund balance']");
    wait_for_xpath(&bob, &submit)
        .await
        .click()
        .await
        .expect("refund");
    let refused = until_contains(&bob, &format!("#{amount}-error"), "left to refund").await;
    assert!(
        refused.contains("Only €25,000.00 of top-up WIRE-BIG-1 is left to refund."),
        "{refused}"
    );
    fill(&bob, &format!("#{amount}"), "100").await;
    wait_for_xpath(&bob, &submit)
        .await
        .click()
        .await
        .expect("refund");
    let refunded = until_contains(&bob, "[data-test=refund-result]", "Refunded").await;
    assert!(
        refunded.contains("Refunded €100.00 to Big Spender Ltd."),
        "{refunded}"
    );
    card_available(&bob, "€24,900.00").await;
    click(&bob, "details.finance-recent > summary").await;
    let recent = until_contains(&bob, ".finance-recent", "OUT-BIG-1").await;
    assert!(recent.contains("returns top-up WIRE-BIG-1"), "{recent}");
    // The refused refund's 422 is the form's answer, shown beside the amount.
    let problems = console_problems_except_422(&bob, "/api/refund_balance").await;
    assert!(
        problems.is_empty(),
        "finance B console problems: {problems:#?}"
    );

    // The advertiser's balance shows it, less the refund.
    let owner = browser(&driver).await;
    sign_in(&app, &owner, OWNER).await;
    hydrated(&owner).await;
    shows(&owner, "[data-test=header-balance]", "€24,900.00").await;

    for client in [alice, bob, owner] {
        let _ = client.close().await;
    }
    drop(driver);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_correction_needs_a_second_finance_person() {
    let site = support::site_root();
    app::bundle::BundleFiles::find(&site).expect("the bundle (bash .ci/test builds it)");
    let db = migrations::db::fresh_sqlite().await.expect("database");
    let world = delivery_support::world(&db).await;
    let app = support::spawn_on("sqlite", db, false).await;
    // A slot won and charged through the delivery API.
    let api = delivery_support::Api::new(&app);
    let won = api
        .win(&world.key.secret, delivery_support::ALPHA, "slot-1")
        .await;
    let decision = won["decision_id"].as_i64().expect("decision id");
    let at = chrono::Utc::now().to_rfc3339();
    let posted = api
        .events(
            &world.key.secret,
            serde_json::json!([{ "event_id": "e-1", "decision_id": decision, "views": 900, "clicks": 3, "at": at }]),
        )
        .await;
    assert_eq!(posted.status, 200, "{posted:?}");
    // Every correction is above a threshold of zero.
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared(
            "UPDATE platform_setting SET value = 0 WHERE key = 'finance_approval_units'",
        )
        .await
        .expect("threshold");
    for email in [ALICE, BOB] {
        assert!(
            app.client()
                .sign_up(email, PASSWORD)
                .await
                .status
                .is_success()
        );
        support::grant_staff(&app, email, "finance").await;
    }
    let driver = start_driver().await;

    // Alice reverses the charge: it waits for a second person.
    let alice = browser(&driver).await;
    sign_in(&app, &alice, ALICE).await;
    hydrated(&alice).await;
    navigate(&alice, "Corrections", "/finance/corrections").await;
    fill(&alice, "#correction-decision", &decision.to_string()).await;
    fill(
        &alice,
        "#correction-reason",
        "Bot traffic found by the publisher",
    )
    .await;
    wait_for_xpath(&alice, "//button[normalize-space()='Reverse charges']")
        .await
        .click()
        .await
        .expect("reverse");
    let banner = until_contains(&alice, "[data-test=correction-result]", "waits").await;
    assert!(
        banner.contains("waits for a second finance person's approval"),
        "{banner}"
    );
    let waiting = wait_for_xpath(&alice, "//li[@data-test='waiting-correction']").await;
    let text = waiting.text().await.expect("text");
    assert!(text.contains(&format!("Decision {decision}")), "{text}");
    assert!(
        alice
            .find(Locator::XPath(
                "//li[@data-test='waiting-correction']//button[starts-with(normalize-space(), 'Approve')]"
            ))
            .await
            .is_err(),
        "the requester is offered an approval"
    );
    wait_for_xpath(
        &alice,
        "//li[@data-test='waiting-correction']//button[normalize-space()='Cancel correction request']",
    )
    .await;
    let problems = console_problems(&alice).await;
    assert!(
        problems.is_empty(),
        "finance A console problems: {problems:#?}"
    );

    // Bob follows his dashboard's count to it and approves it.
    let bob = browser(&driver).await;
    sign_in(&app, &bob, BOB).await;
    follow_count(&bob, "corrections-awaiting", "1", "/finance/corrections").await;
    wait_for_xpath(
        &bob,
        "//li[@data-test='waiting-correction']//button[starts-with(normalize-space(), 'Approve and reverse #')]",
    )
    .await
    .click()
    .await
    .expect("approve");
    let done = until_contains(&bob, "[data-test=correction-approved]", "gave back").await;
    assert!(done.contains("over 1 decision(s)"), "{done}");
    let row = until_contains(&bob, "[data-test=correction-row]", BOB).await;
    assert!(row.contains(ALICE), "made by Alice, approved by Bob: {row}");
    until_contains(&bob, "#waiting-corrections", "No correction is waiting").await;
    let problems = console_problems(&bob).await;
    assert!(
        problems.is_empty(),
        "finance B console problems: {problems:#?}"
    );

    for client in [alice, bob] {
        let _ = client.close().await;
    }
    drop(driver);
}

/// A large payout, on the demo: finance marks a channel's ended month paid on "Publisher
/// payables" and is told it waits (offered only its cancel); the second finance person follows
/// the dashboard's count to it, is told beside the field that a rejection needs a reason,
/// approves it, and the channel's row shows it paid with the first person's reference.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_payout_needs_a_second_finance_person() {
    use chrono::Datelike;
    use sea_orm::ConnectionTrait;
    let site = support::site_root();
    app::bundle::BundleFiles::find(&site).expect("the bundle (bash .ci/test builds it)");
    let db = migrations::db::fresh_sqlite().await.expect("database");
    let logins = server::seed::populate(&db, 2_000, 7)
        .await
        .expect("demo data")
        .logins;
    let password = |email: &str| {
        logins
            .iter()
            .find(|l| l.email == email)
            .map(|l| l.password.clone())
            .unwrap_or_else(|| panic!("no demo login {email}"))
    };
    // Every payout is above a threshold of zero.
    db.execute_unprepared(
        "UPDATE platform_setting SET value = 0 WHERE key = 'finance_approval_units'",
    )
    .await
    .expect("threshold");
    let app = support::spawn_on("sqlite", db, false).await;
    let today = chrono::Utc::now().date_naive();
    let last_month = (today.with_day(1).expect("the 1st") - chrono::Duration::days(1))
        .format("%Y-%m")
        .to_string();
    let payables = format!("/finance/payables?month={last_month}");
    let driver = start_driver().await;

    // Alice marks the first unpaid channel of last month paid: it waits.
    let alice = browser(&driver).await;
    let (finance, approver) = ("finance@herald.local", "approver@herald.local");
    sign_in_as(&app, &alice, finance, &password(finance)).await;
    navigate(&alice, "Publisher payables", "/finance/payables").await;
    alice.goto(&app.url(&payables)).await.expect("last month");
    hydrated(&alice).await;
    let row = "(//tr[@data-test='payable-row'][.//button[normalize-space()='Mark paid']])[1]";
    let handle = wait_for_xpath(&alice, &format!("{row}//td[1]/strong"))
        .await
        .text()
        .await
        .expect("handle");
    let this_row =
        format!("//tr[@data-test='payable-row'][td[1]/strong[normalize-space()='{handle}']]");
    let reference = field_in(
        &alice,
        &this_row,
        &format!("Payment reference for {handle}"),
    )
    .await;
    fill(&alice, &format!("#{reference}"), "BANK-OUT-77").await;
    wait_for_xpath(
        &alice,
        &format!("{this_row}//button[normalize-space()='Mark paid']"),
    )
    .await
    .click()
    .await
    .expect("mark paid");
    let banner = until_contains(&alice, "[data-test=payout-result]", "waiting").await;
    assert!(
        banner.contains(&format!("to {handle} for {last_month}"))
            && banner.contains("second finance person's approval"),
        "{banner}"
    );
    // Hers, beside the demo's own: the approver asked a second person for it, so Alice may
    // approve that one.
    let item = "//li[@data-test='waiting-payout'][contains(., 'BANK-OUT-77')]";
    let text = wait_for_xpath(&alice, item)
        .await
        .text()
        .await
        .expect("text");
    assert!(text.contains(&handle), "{text}");
    assert!(
        alice
            .find(Locator::XPath(&format!(
                "{item}//button[starts-with(normalize-space(), 'Approve')]"
            )))
            .await
            .is_err(),
        "the requester is offered an approval"
    );
    wait_for_xpath(
        &alice,
        &format!("{item}//button[starts-with(normalize-space(), 'Cancel payout #')]"),
    )
    .await;
    wait_for_xpath(
        &alice,
        "//li[@data-test='waiting-payout'][contains(., 'DEMO-PAYOUT-0002')]//button[starts-with(normalize-space(), 'Approve payout #')]",
    )
    .await;
    let problems = console_problems(&alice).await;
    assert!(
        problems.is_empty(),
        "finance A console problems: {problems:#?}"
    );

    // Bob follows his dashboard's count to it; a rejection without a reason is refused
    // beside the field; he approves it.
    let bob = browser(&driver).await;
    sign_in_as(&app, &bob, approver, &password(approver)).await;
    follow_count(&bob, "payouts-awaiting", "1", "/finance/payables").await;
    wait_for_xpath(
        &bob,
        &format!("{item}//button[starts-with(normalize-space(), 'Reject payout #')]"),
    )
    .await
    .click()
    .await
    .expect("reject");
    until_contains(
        &bob,
        "li[data-test=waiting-payout] .field-error",
        "Say why the payout is rejected.",
    )
    .await;
    wait_for_xpath(
        &bob,
        &format!("{item}//button[starts-with(normalize-space(), 'Approve payout #')]"),
    )
    .await
    .click()
    .await
    .expect("approve");
    let done = until_contains(&bob, "[data-test=payout-decided]", "Approved payout #").await;
    assert!(
        done.contains(&format!("paid to {handle} for {last_month}")),
        "{done}"
    );
    // Decided, it leaves the list (the demo's, Bob's own, stays).
    for tries in 0.. {
        if bob.find(Locator::XPath(item)).await.is_err() {
            break;
        }
        assert!(
            tries < 100,
            "the approved payout is still listed as waiting"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    bob.goto(&app.url(&payables)).await.expect("last month");
    hydrated(&bob).await;
    let badge = wait_for_xpath(
        &bob,
        &format!("{this_row}//span[contains(@class, 'badge')]"),
    )
    .await
    .text()
    .await
    .expect("badge");
    assert!(
        badge.starts_with("Paid ") && badge.ends_with("BANK-OUT-77"),
        "{badge}"
    );
    let problems = console_problems_except_422(&bob, "decide_payout").await;
    assert!(
        problems.is_empty(),
        "finance B console problems: {problems:#?}"
    );

    for client in [alice, bob] {
        let _ = client.close().await;
    }
    drop(driver);
}
