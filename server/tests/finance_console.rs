//! HTTP tests of the finance console's downloads over the real router (SQLite, and PostgreSQL
//! when configured): the spend and payables CSVs (headers, content, formula neutralisation)
//! and who may download them — finance and admins; no member of an advertiser's account
//! (owner, manager, analyst, billing), no other advertiser, no moderator, nobody signed out —
//! and the reconciliation page's links from a difference to the transfers behind it.

mod delivery_support;
mod money_support;
mod support;

use delivery_support::*;
use sea_orm::ConnectionTrait;
use serde_json::json;
use support::{PASSWORD, TestApp, grant_staff, member, spawn_on};

/// One app per backend whose campaign delivered on one channel, and whose account's name is a
/// formula a spreadsheet would run.
async fn apps() -> Vec<TestApp> {
    let mut out = Vec::new();
    for (backend, db) in migrations::db::fresh_all().await {
        let world = world(&db).await;
        db.execute_unprepared(&format!(
            "UPDATE ad_account SET name = '=HYPERLINK(1)' WHERE id = {}",
            world.account.0
        ))
        .await
        .expect("rename");
        let app = spawn_on(backend, db, false).await;
        let api = Api::new(&app);
        let won = api.win(&world.key.secret, BETA, "finance-csv").await;
        let answer = api
            .events(
                &world.key.secret,
                json!([{
                    "event_id": "finance-csv-1",
                    "decision_id": won["decision_id"],
                    "views": 2_500,
                    "clicks": 3,
                    "at": chrono::Utc::now().to_rfc3339(),
                }]),
            )
            .await;
        assert_eq!(answer.status, 200, "{backend}: {answer:?}");
        out.push(app);
    }
    out
}

async fn signed_up(app: &TestApp, email: &str, role: Option<&str>) -> support::Client {
    let client = app.client();
    assert!(client.sign_up(email, PASSWORD).await.status.is_success());
    if let Some(role) = role {
        grant_staff(app, email, role).await;
    }
    client
}

/// The delivering account's owner, signed in, and the account's id.
async fn signed_in_owner(app: &TestApp) -> (support::Client, i64) {
    let owner = app.client();
    assert!(
        owner
            .sign_in("owner@example.com", PASSWORD)
            .await
            .status
            .is_success()
    );
    let account = owner.current_account().await.expect("owner's account");
    (owner, account)
}

#[tokio::test]
async fn finance_downloads_spend_and_payables_and_nobody_else_does() {
    for app in apps().await {
        let b = app.backend;
        let finance = signed_up(&app, "finance@example.com", Some("finance")).await;
        let today = chrono::Utc::now().date_naive();
        let spend = format!("/finance/spend.csv?from={today}&to={today}&period=day");
        let response = finance.get(&spend).await;
        assert_eq!(response.status(), 200, "{b}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(header("content-type").starts_with("text/csv"), "{b}");
        assert!(
            header("content-disposition")
                .starts_with("attachment; filename=\"herald-spend-by-day-"),
            "{b}"
        );
        assert_eq!(header("cache-control"), "no-store", "{b}");
        let text = response.text().await.expect("body");
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(
                "day,account_id,account,charged,reversed,net,charged_micros,reversed_micros,net_micros,currency"
            ),
            "{b}"
        );
        let row = lines.next().unwrap_or_default();
        assert!(row.starts_with(&format!("{today},")), "{b}: {text}");
        assert!(row.contains(",'=HYPERLINK(1),"), "{b}: neutralised: {text}");
        assert!(row.ends_with(",EUR"), "{b}: {text}");

        let month = today.format("%Y-%m");
        let payables = format!("/finance/payables.csv?month={month}");
        let text = finance.get(&payables).await.text().await.expect("body");
        assert!(
            text.starts_with(
                "month,channel_id,handle,title,accrued,reversed,owed,owed_micros,currency"
            ),
            "{b}: {text}"
        );
        assert_eq!(text.lines().count(), 2, "{b}: {text}");

        // A bad period is named; admins read; advertisers and moderators are refused.
        let bad = finance.get("/finance/spend.csv?from=2026-13-01").await;
        assert_eq!(bad.status(), 422, "{b}");
        assert!(bad.text().await.expect("body").contains("date"), "{b}");
        let admin = signed_up(&app, "admin@example.com", Some("admin")).await;
        assert_eq!(admin.get(&spend).await.status(), 200, "{b}");
        assert_eq!(admin.get(&payables).await.status(), 200, "{b}");
        let (owner, account) = signed_in_owner(&app).await;
        let moderator = signed_up(&app, "mod@example.com", Some("moderator")).await;
        let manager = member(&app, "manager@example.com", "manager", account).await;
        let analyst = member(&app, "analyst@example.com", "analyst", account).await;
        let billing = member(&app, "billing@example.com", "billing", account).await;
        let stranger = signed_up(&app, "stranger@example.com", None).await;
        for (who, client) in [
            ("owner", &owner),
            ("manager", &manager),
            ("analyst", &analyst),
            ("billing", &billing),
            ("another account's owner", &stranger),
            ("moderator", &moderator),
        ] {
            for path in [&spend, &payables] {
                assert_eq!(client.get(path).await.status(), 403, "{b}: {who} {path}");
            }
        }
        assert_eq!(app.client().get(&spend).await.status(), 401, "{b}");
        // Who is asking comes first: an address that does not parse (a repeated field) still
        // asks a signed-out caller to sign in, and refuses an advertiser as any address does.
        let unparsed = "/finance/spend.csv?period=day&period=month";
        assert_eq!(app.client().get(unparsed).await.status(), 401, "{b}");
        assert_eq!(owner.get(unparsed).await.status(), 403, "{b}");
        assert_eq!(finance.get(unparsed).await.status(), 422, "{b}");
    }
}

/// The reconciliation page names each difference it finds and links to the transfers behind
/// it in the account's ledger history.
#[tokio::test]
async fn reconciliation_links_a_difference_to_the_transfers_involved() {
    for app in apps().await {
        let b = app.backend;
        let finance = signed_up(&app, "finance@example.com", Some("finance")).await;
        let today = chrono::Utc::now().date_naive();
        let (from, to) = (
            today - chrono::Duration::days(1),
            today + chrono::Duration::days(1),
        );
        let page = format!("/finance/reconciliation?from={from}&to={to}");
        let clean = finance.get(&page).await.text().await.expect("page");
        assert!(clean.contains("0 differences"), "{b}");

        app.db
            .execute_unprepared("UPDATE delivery_rollup SET spend_micros = spend_micros + 1")
            .await
            .expect(b);
        let html = finance.get(&page).await.text().await.expect("page");
        assert!(html.contains("1 difference(s) found"), "{b}");
        assert!(html.contains("but reports"), "{b}: the difference in words");
        let (_, account) = signed_in_owner(&app).await;
        let day = chrono::Duration::days(1);
        let link = format!(
            "/finance/accounts/{account}?kind=post&amp;from={}&amp;to={}",
            from - day,
            to + day
        );
        assert!(html.contains(&link), "{b}: no link {link} in the page");
        // The link opens that account's charges.
        let history = finance
            .get(&link.replace("&amp;", "&"))
            .await
            .text()
            .await
            .expect("history");
        assert!(history.contains("Charged for views"), "{b}");
        assert!(
            history.contains(": the publisher&#x27;s part")
                || history.contains(": the publisher's part"),
            "{b}: the charges themselves are listed"
        );
    }
}
