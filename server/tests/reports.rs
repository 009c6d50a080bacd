//! HTTP tests of reports over the real router (SQLite, and PostgreSQL when configured): the
//! CSV download (headers, content, formula neutralisation, who may download it), and share
//! links opened by a signed-out browser until they are revoked.

mod delivery_support;
mod money_support;
mod support;

use delivery_support::*;
use sea_orm::ConnectionTrait;
use serde_json::json;
use support::{PASSWORD, TestApp, member, spawn_on};

/// One app per backend, with a campaign that has delivered on two channels.
async fn apps() -> Vec<(TestApp, World)> {
    let mut out = Vec::new();
    for (backend, db) in migrations::db::fresh_all().await {
        let world = world(&db).await;
        db.execute_unprepared(&format!(
            "UPDATE campaign SET name = '=cmd|calc' WHERE id = {}",
            world.campaign.0
        ))
        .await
        .expect("a campaign name a spreadsheet would run");
        let app = spawn_on(backend, db, false).await;
        let api = Api::new(&app);
        let secret = world.key.secret.clone();
        for (i, (channel, views)) in [(ALPHA, 900), (BETA, 3_000), (ALPHA, 500)]
            .into_iter()
            .enumerate()
        {
            let won = api.win(&secret, channel, &format!("report-{i}")).await;
            let answer = api
                .events(
                    &secret,
                    json!([{
                        "event_id": format!("report-event-{i}"),
                        "decision_id": won["decision_id"],
                        "views": views,
                        "clicks": 4,
                        "at": chrono::Utc::now().to_rfc3339(),
                    }]),
                )
                .await;
            assert_eq!(answer.status, 200, "{backend}: {answer:?}");
        }
        out.push((app, world));
    }
    out
}

async fn owner(app: &TestApp) -> support::Client {
    let client = app.client();
    let reply = client.sign_in("owner@example.com", PASSWORD).await;
    assert!(reply.status.is_success(), "{reply:?}");
    client
}

#[tokio::test]
async fn the_csv_export_is_the_report_as_shown_and_only_for_its_readers() {
    for (app, world) in apps().await {
        let b = app.backend;
        let owner = owner(&app).await;
        let path = format!(
            "/reports/export.csv?campaign={}&range=7d&by=channel",
            world.campaign.0
        );
        let response = owner.get(&path).await;
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
            header("content-disposition").starts_with("attachment; filename=\"herald-campaign-"),
            "{b}"
        );
        assert_eq!(header("cache-control"), "no-store", "{b}");
        let text = response.text().await.expect("body");
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("channel,views,clicks,ctr_percent,spend,spend_micros,effective_cpm,currency"),
            "{b}"
        );
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 2, "{b}: {text}");
        let beta_cost = cost(3_000);
        assert!(
            rows.iter()
                .any(|r| r.starts_with(&format!("{BETA},3000,4,0.13,"))
                    && r.contains(&format!(",{beta_cost},"))),
            "{b}: {text}"
        );
        // By campaign, the campaign's name is a formula a spreadsheet would run: neutralised.
        let text = owner
            .get("/reports/export.csv?range=7d&by=campaign")
            .await
            .text()
            .await
            .expect("body");
        assert!(
            text.lines()
                .nth(1)
                .is_some_and(|l| l.starts_with("'=cmd|calc,")),
            "{b}: {text}"
        );

        // Billing members get the money columns only; analysts everything; strangers and the
        // signed-out nothing.
        let account = world.account.0;
        let billing = member(&app, "billing@example.com", "billing", account).await;
        let text = billing.get(&path).await.text().await.expect("body");
        assert_eq!(
            text.lines().next(),
            Some("channel,spend,spend_micros,currency"),
            "{b}"
        );
        let analyst = member(&app, "analyst@example.com", "analyst", account).await;
        assert_eq!(analyst.get(&path).await.status(), 200, "{b}");
        let stranger = app.client();
        assert!(
            stranger
                .sign_up("stranger@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );
        assert_eq!(
            stranger.get(&path).await.status(),
            404,
            "{b}: another account's campaign"
        );
        assert_eq!(
            app.client().get(&path).await.status(),
            401,
            "{b}: signed out"
        );
        // Who is asking comes first: an address that does not parse (a repeated field) still
        // asks a signed-out caller to sign in, and is named to one who is signed in.
        let unparsed = "/reports/export.csv?range=7d&range=30d";
        assert_eq!(app.client().get(unparsed).await.status(), 401, "{b}");
        assert_eq!(owner.get(unparsed).await.status(), 422, "{b}");
        // Then whether they may read reports at all: one with no account is "not found",
        // whatever the address, before it is parsed.
        let viewer: serde_json::Value = stranger.call("viewer", &[]).await.body;
        let user = viewer["user_id"].as_i64().expect("user id");
        app.db
            .execute_unprepared(&format!(
                "DELETE FROM account_member WHERE user_id = {user}"
            ))
            .await
            .expect("no membership left");
        assert_eq!(
            stranger.get(unparsed).await.status(),
            404,
            "{b}: no account"
        );
        assert_eq!(stranger.get(&path).await.status(), 404, "{b}: no account");
        let bad = owner
            .get("/reports/export.csv?range=custom&from=2026-13-01&to=2026-01-01")
            .await;
        assert_eq!(bad.status(), 422, "{b}");
    }
}

#[tokio::test]
async fn a_share_link_opens_one_report_signed_out_until_revoked() {
    for (app, world) in apps().await {
        let b = app.backend;
        let owner = owner(&app).await;
        let campaign = world.campaign.0.to_string();
        let created = owner
            .call(
                "create_share_link",
                &[
                    ("input[campaign]", campaign.as_str()),
                    ("input[label]", "Client"),
                    ("input[days]", "30"),
                ],
            )
            .await;
        assert!(created.status.is_success(), "{b}: {created:?}");
        let url = created.body["url"].as_str().expect("url").to_owned();
        let outsider = app.client();
        let page = outsider.get(&url).await;
        assert_eq!(page.status(), 200, "{b}");
        let html = page.text().await.expect("page");
        assert!(
            html.contains("Shared report") && html.contains("=cmd|calc"),
            "{b}"
        );
        assert!(
            !html.contains("Acme Ads"),
            "{b}: nothing of the account beyond the campaign"
        );
        let id = created.body["id"].to_string();
        let revoked = owner
            .call("revoke_share_link", &[("id", id.as_str())])
            .await;
        assert!(revoked.status.is_success(), "{b}: {revoked:?}");
        let html = outsider.get(&url).await.text().await.expect("page");
        assert!(html.contains("This link does not open a report"), "{b}");
    }
}
