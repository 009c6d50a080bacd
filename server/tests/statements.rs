//! HTTP tests of monthly statements over the real router (SQLite, and PostgreSQL when
//! configured): the CSV download (headers, content, month errors), who may download which
//! account's statement through each route, and the printable page.

mod support;

use app::{
    model::{AccountId, Micros},
    service::finance,
};
use support::{PASSWORD, TestApp, grant_staff, member, spawn_all};

/// A signed-up advertiser with a credited balance: the client and its account id.
async fn funded_owner(app: &TestApp) -> (support::Client, i64) {
    let owner = app.client();
    assert!(
        owner
            .sign_up("owner@example.com", PASSWORD)
            .await
            .status
            .is_success()
    );
    let account = owner.current_account().await.expect("an account");
    let user = owner.call("viewer", &[]).await.body["user_id"]
        .as_i64()
        .expect("user id");
    finance::credit_account(
        &app.db,
        AccountId(account),
        Micros(25_500_000),
        "=BANK-1",
        "",
        user,
        None,
        chrono::Utc::now(),
    )
    .await
    .expect("credit");
    (owner, account)
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_statement_csv_downloads_for_its_readers_only() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let (owner, account) = funded_owner(&app).await;
        // The account is in Berlin; this month there is the current month.
        let month = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Berlin)
            .format("%Y-%m")
            .to_string();
        let response = owner.get("/billing/statement.csv").await;
        assert_eq!(response.status(), 200, "{b}");
        assert!(
            header(&response, "content-type").starts_with("text/csv"),
            "{b}"
        );
        assert_eq!(
            header(&response, "content-disposition"),
            format!("attachment; filename=\"herald-statement-{account}-{month}.csv\""),
            "{b}"
        );
        assert_eq!(header(&response, "cache-control"), "no-store", "{b}");
        let text = response.text().await.expect("body");
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(
            rows.first().copied(),
            Some("section,day,description,amount,amount_micros,currency"),
            "{b}"
        );
        assert!(
            rows.iter()
                .any(|r| r.starts_with("opening,") && r.ends_with(",0.00,0,EUR")),
            "{b}: {text}"
        );
        // The reference is shown as "Reference =BANK-1", which a spreadsheet does not run.
        assert!(
            rows.iter()
                .any(|r| r.starts_with("top_up,")
                    && r.contains(",Reference =BANK-1,25.50,25500000,EUR")),
            "{b}: {text}"
        );
        assert!(
            rows.iter()
                .any(|r| r.starts_with("closing,") && r.ends_with(",25.50,25500000,EUR")),
            "{b}: {text}"
        );
        let same = owner
            .get(&format!("/billing/statement.csv?month={month}"))
            .await;
        assert_eq!(same.text().await.expect("body"), text, "{b}");

        // Malformed and future months are the month field's error.
        for bad in ["2026-13", "nope", "2999-01"] {
            let response = owner
                .get(&format!("/billing/statement.csv?month={bad}"))
                .await;
            assert_eq!(response.status(), 422, "{b}: {bad}");
        }

        // Through the finance route: the owner may name their own account, nobody else's;
        // a stranger gets "not found", an analyst "forbidden", a visitor "sign in".
        let finance_path = format!("/finance/accounts/{account}/statement.csv");
        assert_eq!(owner.get(&finance_path).await.status(), 200, "{b}");
        let stranger = app.client();
        assert!(
            stranger
                .sign_up("stranger@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );
        assert_eq!(stranger.get(&finance_path).await.status(), 404, "{b}");
        let own = stranger.get("/billing/statement.csv").await;
        assert_eq!(own.status(), 200, "{b}");
        assert!(
            !own.text().await.expect("body").contains("BANK-1"),
            "{b}: another account's money"
        );
        let billing = member(&app, "billing@example.com", "billing", account).await;
        let text = billing
            .get("/billing/statement.csv")
            .await
            .text()
            .await
            .expect("body");
        assert!(text.contains("Reference =BANK-1"), "{b}: {text}");
        let analyst = member(&app, "analyst@example.com", "analyst", account).await;
        assert_eq!(
            analyst.get("/billing/statement.csv").await.status(),
            403,
            "{b}"
        );
        assert_eq!(
            app.client().get("/billing/statement.csv").await.status(),
            401,
            "{b}"
        );
        assert_eq!(app.client().get(&finance_path).await.status(), 401, "{b}");
        // Who is asking comes first: an address that does not parse still asks a signed-out
        // caller to sign in (a repeated field does not parse).
        let unparsed = "/billing/statement.csv?month=2026-01&month=2026-02";
        assert_eq!(app.client().get(unparsed).await.status(), 401, "{b}");
        // ... and refuses a member who may not read the statement, and a stranger naming
        // another account, before it reads the address.
        assert_eq!(analyst.get(unparsed).await.status(), 403, "{b}");
        let unparsed_finance = format!("{finance_path}?month=2026-01&month=2026-02");
        assert_eq!(stranger.get(&unparsed_finance).await.status(), 404, "{b}");

        // Finance staff read any account's statement; an unknown account is "not found".
        grant_staff(&app, "stranger@example.com", "finance").await;
        let response = stranger.get(&finance_path).await;
        assert_eq!(response.status(), 200, "{b}");
        assert!(
            response
                .text()
                .await
                .expect("body")
                .contains("Reference =BANK-1"),
            "{b}"
        );
        assert_eq!(
            stranger
                .get("/finance/accounts/999999/statement.csv")
                .await
                .status(),
            404,
            "{b}"
        );
    }
}

#[tokio::test]
async fn the_statement_page_renders_without_the_wasm() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let (owner, account) = funded_owner(&app).await;
        let response = owner.get("/billing/statement").await;
        assert_eq!(response.status(), 200, "{b}");
        let html = response.text().await.expect("body");
        for part in [
            "data-test=\"statement\"",
            "Monthly statement",
            "type=\"month\"",
            "Download CSV",
            "href=\"/billing/statement.csv?month=",
            "Europe/Berlin",
            "Top-ups",
            "Spend by campaign",
            "Refunds",
            "Corrections",
            "Reference =BANK-1",
            "€25.50",
        ] {
            assert!(html.contains(part), "{b}: {part} missing");
        }
        let balance = owner.get("/balance").await.text().await.expect("body");
        assert!(balance.contains("href=\"/billing/statement\""), "{b}");

        let stranger = app.client();
        assert!(
            stranger
                .sign_up("finance@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );
        let path = format!("/finance/accounts/{account}/statement?month=2025-01");
        let refused = stranger.get(&path).await.text().await.expect("body");
        assert!(!refused.contains("data-test=\"statement\""), "{b}");
        grant_staff(&app, "finance@example.com", "finance").await;
        let html = stranger.get(&path).await.text().await.expect("body");
        assert!(html.contains("data-test=\"statement\""), "{b}: {html}");
        assert!(html.contains("January 2025"), "{b}");
        let ledger = stranger
            .get(&format!("/finance/accounts/{account}"))
            .await
            .text()
            .await
            .expect("body");
        assert!(
            ledger.contains(&format!("href=\"/finance/accounts/{account}/statement\"")),
            "{b}"
        );
    }
}
