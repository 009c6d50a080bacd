//! HTTP tests of the catalog and forecast: who may call what, and the targeting page working
//! by plain GET form submission (no wasm).

mod support;

use sea_orm::ConnectionTrait;
use support::{PASSWORD, TestApp, spawn_on};

/// One app per backend, with a generated catalog loaded before the server starts.
async fn apps_with_catalog(channels: usize) -> Vec<TestApp> {
    let mut apps = Vec::new();
    for (backend, db) in migrations::db::fresh_all().await {
        app::service::catalog_seed::insert(&db, channels, 21)
            .await
            .expect(backend);
        apps.push(spawn_on(backend, db, false).await);
    }
    apps
}

async fn make_admin(app: &TestApp, email: &str) {
    // Staff roles key on the address: only a confirmed one holds them.
    support::confirm(app, email).await;
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO staff_role (user_id, role, granted_by, granted_at) \
             SELECT id, 'admin', NULL, CURRENT_TIMESTAMP FROM app_user WHERE email = '{email}'"
        ))
        .await
        .expect("grant admin");
}

const FORECAST: &[(&str, &str)] = &[
    ("request[targeting][topics][0]", "crypto"),
    ("request[targeting][topics][1]", "tech"),
    ("request[targeting][min_subscribers]", "1000"),
    ("request[bid]", "1500000"),
    ("request[sort]", "Subscribers"),
    ("request[page]", "0"),
];

#[tokio::test]
async fn forecasts_need_a_session_and_only_admins_edit_channels() {
    for app in apps_with_catalog(1_500).await {
        let b = app.backend;
        let visitor = app.client();
        let refused = visitor.call("forecast", FORECAST).await;
        assert_eq!(refused.status, 401, "{b}: {refused:?}");

        let advertiser = app.client();
        advertiser.sign_up("ads@example.com", PASSWORD).await;
        let forecast = advertiser.call("forecast", FORECAST).await;
        assert!(forecast.status.is_success(), "{b}: {forecast:?}");
        let channels = forecast.body["channels"].as_u64().expect("channels");
        assert!(channels > 0, "{b}");
        assert_eq!(
            forecast.body["currency"], "EUR",
            "{b}: the account's currency"
        );
        // Priced in the caller's account's currency, whatever it is.
        app.db
            .execute_unprepared(
                "UPDATE ad_account SET currency = 'USD' WHERE id IN (SELECT m.account_id \
                 FROM account_member m JOIN app_user u ON u.id = m.user_id \
                 WHERE u.email = 'ads@example.com')",
            )
            .await
            .expect("currency");
        let in_dollars = advertiser.call("forecast", FORECAST).await;
        assert_eq!(in_dollars.body["currency"], "USD", "{b}: {in_dollars:?}");
        let top = forecast.body["top"]["rows"][0].clone();
        let id = top["id"].to_string();

        let bad = advertiser
            .call(
                "forecast",
                &[
                    ("request[targeting][min_subscribers]", "9000"),
                    ("request[targeting][max_subscribers]", "10"),
                    ("request[bid]", "1"),
                    ("request[sort]", "Subscribers"),
                    ("request[page]", "0"),
                ],
            )
            .await;
        assert_eq!(bad.status, 422, "{b}: {bad:?}");
        assert!(bad.field_error("max_subscribers").is_some(), "{b}: {bad:?}");

        let edit = [
            ("id", id.as_str()),
            ("input[handle]", "ignored_handle"),
            ("input[title]", "Renamed"),
            ("input[topic]", "crypto"),
            ("input[language]", "en"),
            ("input[subscribers]", "10"),
            ("input[avg_views]", "1"),
            ("input[posts_per_day]", "1"),
            ("input[active]", "false"),
        ];
        let settings = [
            ("input[min_subscribers]", "1"),
            ("input[slots_per_day]", "2"),
        ];
        for (endpoint, form) in [
            ("admin_update_channel", &edit[..]),
            ("admin_channel", &edit[..1]),
            ("admin_catalog_settings", &[][..]),
            ("admin_update_catalog_settings", &settings[..]),
        ] {
            let reply = advertiser.call(endpoint, form).await;
            assert_eq!(reply.status, 403, "{b}/{endpoint}: {reply:?}");
        }

        let admin = app.client();
        admin.sign_up("admin@example.com", PASSWORD).await;
        make_admin(&app, "admin@example.com").await;
        let saved = admin.call("admin_update_channel", &edit).await;
        assert!(saved.status.is_success(), "{b}: {saved:?}");
        let after = advertiser.call("forecast", FORECAST).await;
        assert_eq!(
            after.body["channels"].as_u64(),
            Some(channels - 1),
            "{b}: the deactivated channel left the forecast at once"
        );
        let loaded = admin.call("admin_channel", &[("id", id.as_str())]).await;
        assert_eq!(loaded.body[1]["title"], "Renamed", "{b}: {loaded:?}");
        assert_eq!(
            loaded.body[1]["handle"], top["handle"],
            "{b}: the handle stays"
        );
    }
}

/// Uploads a CSV file as the import page's form does.
async fn upload(client: &support::Client, csv: &str) -> reqwest::Response {
    let part = reqwest::multipart::Part::text(csv.to_owned())
        .file_name("channels.csv")
        .mime_str("text/csv")
        .expect("mime");
    client
        .http
        .post(format!("{}/api/admin_catalog_import_upload", client.base))
        .header("accept", "application/json")
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("upload")
}

const CSV: &str = "handle,title,topic,language,subscribers,avg_views,posts_per_day\n\
                   new_channel_one,New One,crypto,en,12000,3000,2\n";

#[tokio::test]
async fn only_admins_import_catalogs() {
    for app in apps_with_catalog(50).await {
        let b = app.backend;
        let advertiser = app.client();
        advertiser.sign_up("ads@example.com", PASSWORD).await;
        let refused = upload(&advertiser, CSV).await;
        assert_eq!(refused.status(), 403, "{b}");
        let not_a_file = advertiser
            .call("admin_catalog_import_upload", &[("file", CSV)])
            .await;
        assert_eq!(not_a_file.status, 415, "{b}: {not_a_file:?}");

        let admin = app.client();
        admin.sign_up("admin@example.com", PASSWORD).await;
        make_admin(&app, "admin@example.com").await;
        let staged = upload(&admin, CSV).await;
        assert!(staged.status().is_success(), "{b}: {}", staged.status());
        let preview: serde_json::Value = staged.json().await.expect("preview");
        assert_eq!(preview["new_rows"], 1, "{b}: {preview}");
        let id = preview["id"].to_string();

        for endpoint in [
            "admin_catalog_import",
            "admin_catalog_import_apply",
            "admin_catalog_import_progress",
            "admin_catalog_import_discard",
        ] {
            let reply = advertiser.call(endpoint, &[("id", id.as_str())]).await;
            assert_eq!(reply.status, 403, "{b}/{endpoint}: {reply:?}");
        }
        let applied = admin
            .call("admin_catalog_import_apply", &[("id", id.as_str())])
            .await;
        assert!(applied.status.is_success(), "{b}: {applied:?}");
        let again = admin
            .call("admin_catalog_import_apply", &[("id", id.as_str())])
            .await;
        assert_eq!(again.status, 409, "{b}: applied once only: {again:?}");
    }
}

#[tokio::test]
async fn the_targeting_page_works_by_plain_form_submission() {
    for app in apps_with_catalog(800).await {
        let b = app.backend;
        let client = app.client();
        client.sign_up("ads@example.com", PASSWORD).await;

        let page = client
            .get("/targeting?topic=crypto&lang=en&min_subs=2k&bid=1.50")
            .await;
        assert_eq!(page.status(), 200, "{b}");
        let html = page.text().await.expect("html");
        assert!(html.contains("Matching channels"), "{b}");
        assert!(
            !html.contains("Internal"),
            "{b}: no resource failed while rendering"
        );
        assert!(
            html.contains("data-test=\"channels\""),
            "{b}: forecast figures rendered on the server"
        );
        assert!(
            html.contains("value=\"crypto\" checked"),
            "{b}: the choice is kept"
        );

        let invalid = client.get("/targeting?min_subs=lots&bid=1").await;
        let html = invalid.text().await.expect("html");
        assert!(
            html.contains("Must be a whole number"),
            "{b}: the error is beside the field"
        );
        assert!(
            html.contains("value=\"lots\""),
            "{b}: what was typed is kept"
        );

        let channels = client.get("/channels?q=crypto&sort=views").await;
        assert_eq!(channels.status(), 200, "{b}");
        assert!(
            channels.text().await.expect("html").contains("@crypto"),
            "{b}"
        );
    }
}

/// What the hydrated page sends when it navigates to the targeting page or the builder: the
/// server function's URL-encoded arguments, which leave out empty lists (serde_qs cannot
/// express one) and arguments at their default. Both must still be read.
#[tokio::test]
async fn page_loads_from_the_browser_leave_out_empty_lists() {
    for app in support::spawn_all(false).await {
        let b = app.backend;
        let client = app.client();
        client.sign_up("browser@example.com", PASSWORD).await;
        let targeting = client
            .call(
                "targeting_page",
                &[
                    ("form[min_subscribers]", ""),
                    ("form[max_subscribers]", ""),
                    ("form[min_avg_views]", ""),
                    ("form[bid]", "1.00"),
                    ("form[daily_budget]", ""),
                    ("form[page]", "0"),
                    ("find", ""),
                ],
            )
            .await;
        assert!(targeting.status.is_success(), "{b}: {targeting:?}");
        let builder = client.call("campaign_builder", &[]).await;
        assert!(builder.status.is_success(), "{b}: {builder:?}");
        let with_form = client
            .call(
                "campaign_builder",
                &[("query", "form=1&name=From%20the%20address&lang=en&bid=2.5")],
            )
            .await;
        assert!(with_form.status.is_success(), "{b}: {with_form:?}");
        assert_eq!(
            with_form.body["posted"]["form"]["name"], "From the address",
            "{b}: {with_form:?}"
        );
    }
}
