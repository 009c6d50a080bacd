//! HTTP tests: the real router on a random port, driven like a browser would drive it.

mod support;

use support::{PASSWORD, spawn_all, spawn_on};

#[tokio::test]
async fn sign_up_sign_out_and_sign_in_again() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let client = app.client();
        assert_eq!(client.whoami().await, None, "{b}");
        let reply = client.sign_up("ada@example.com", PASSWORD).await;
        assert!(reply.status.is_success(), "{b}: {reply:?}");
        assert!(
            reply.headers.contains_key("serverfnredirect"),
            "{b}: redirects to the dashboard"
        );
        assert_eq!(
            client.whoami().await.as_deref(),
            Some("ada@example.com"),
            "{b}"
        );

        let account = client.call("account", &[]).await;
        assert_eq!(account.body["name"], "Test Ads", "{b}");
        assert_eq!(account.body["my_role"], "Owner", "{b}");

        let out = client.call("sign_out", &[]).await;
        assert!(out.status.is_success(), "{b}: {out:?}");
        assert_eq!(client.whoami().await, None, "{b}");
        assert_eq!(
            client.call("account", &[]).await.error_kind().as_deref(),
            Some("Unauthenticated")
        );

        let reply = client.sign_in("Ada@Example.com", PASSWORD).await;
        assert!(reply.status.is_success(), "{b}: {reply:?}");
        assert_eq!(
            client.whoami().await.as_deref(),
            Some("ada@example.com"),
            "{b}"
        );
    }
}

#[tokio::test]
async fn bad_sign_up_input_comes_back_as_field_errors() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let client = app.client();
        let reply = client
            .call(
                "sign_up",
                &[
                    ("input[email]", "not-an-email"),
                    ("input[password]", "short"),
                    ("input[account_name]", "A"),
                    ("input[time_zone]", "Mars/Base"),
                ],
            )
            .await;
        assert_eq!(
            reply.error_kind().as_deref(),
            Some("Invalid"),
            "{b}: {reply:?}"
        );
        assert_eq!(reply.status, 422, "{b}");
        for field in ["email", "password", "account_name", "time_zone"] {
            assert!(
                reply.field_error(field).is_some(),
                "{b}: {field} in {reply:?}"
            );
        }
        assert_eq!(client.whoami().await, None, "{b}: nothing signed in");
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    for app in spawn_all(false).await {
        let b = app.backend;
        app.client().sign_up("ada@example.com", PASSWORD).await;
        let client = app.client();
        let wrong = client.sign_in("ada@example.com", "not the password").await;
        let unknown = client.sign_in("nobody@example.com", PASSWORD).await;
        assert_eq!(wrong.status, unknown.status, "{b}");
        assert_eq!(wrong.body, unknown.body, "{b}");
        assert_eq!(
            wrong.field_error("form").as_deref(),
            Some("Email or password is incorrect.")
        );
        assert_eq!(client.whoami().await, None, "{b}");
    }
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_with_a_clear_message() {
    for app in spawn_all(false).await {
        let b = app.backend;
        app.client().sign_up("ada@example.com", PASSWORD).await;
        let client = app.client();
        for _ in 0..10 {
            let reply = client.sign_in("ada@example.com", "not the password").await;
            assert_eq!(reply.error_kind().as_deref(), Some("Invalid"), "{b}");
        }
        let reply = client.sign_in("ada@example.com", PASSWORD).await;
        assert_eq!(
            reply.error_kind().as_deref(),
            Some("TooManyAttempts"),
            "{b}: {reply:?}"
        );
        assert_eq!(reply.status, 429, "{b}");
        let message = reply.body["TooManyAttempts"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            message.starts_with("Too many failed sign-in attempts"),
            "{b}: {message}"
        );
        assert_eq!(client.whoami().await, None, "{b}");
    }
}

fn session_cookie(reply_headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    reply_headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

#[tokio::test]
async fn sign_in_rotates_the_session_and_sign_out_ends_it_on_the_server() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let client = app.client();
        let first = client.sign_up("ada@example.com", PASSWORD).await;
        let first_cookie = session_cookie(&first.headers, "herald").expect("cookie on sign-up");
        let second = client.sign_in("ada@example.com", PASSWORD).await;
        let second_cookie = session_cookie(&second.headers, "herald").expect("cookie on sign-in");
        let id = |c: &str| c.split(';').next().unwrap_or_default().to_owned();
        assert_ne!(
            id(&first_cookie),
            id(&second_cookie),
            "{b}: a new session id on sign-in"
        );

        // Replaying the pre-rotation cookie from another client gets nobody.
        let replay = |cookie: String| {
            let url = app.url("/api/viewer");
            let origin = app.url("");
            async move {
                reqwest::Client::new()
                    .post(url)
                    .header("origin", origin)
                    .header("cookie", cookie)
                    .send()
                    .await
                    .expect("replay")
                    .text()
                    .await
                    .expect("body")
            }
        };
        assert_eq!(
            replay(id(&first_cookie)).await,
            "null",
            "{b}: old id is dead"
        );
        assert!(
            replay(id(&second_cookie)).await.contains("ada@example.com"),
            "{b}"
        );
        client.call("sign_out", &[]).await;
        assert_eq!(
            replay(id(&second_cookie)).await,
            "null",
            "{b}: sign-out ends it server-side"
        );
    }
}

#[tokio::test]
async fn secure_cookies_use_the_host_prefix_and_strict_attributes() {
    for app in spawn_all(true).await {
        let b = app.backend;
        let reply = app.client().sign_up("ada@example.com", PASSWORD).await;
        let cookie = session_cookie(&reply.headers, "__Host-herald").expect("__Host- cookie");
        for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(
                cookie.contains(attribute),
                "{b}: {attribute} missing in {cookie}"
            );
        }
        assert!(
            !cookie.contains("Domain="),
            "{b}: __Host- cookies have no Domain"
        );
        let max_age = cookie
            .split(';')
            .find_map(|part| part.trim().strip_prefix("Max-Age="))
            .and_then(|v| v.parse::<i64>().ok())
            .expect("Max-Age");
        assert!(
            (29 * 60..=30 * 60).contains(&max_age),
            "{b}: idle timeout 30 min, got {max_age}"
        );
    }
}

#[tokio::test]
async fn cross_site_writes_are_refused_and_writes_need_post() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let http = reqwest::Client::new();
        let post = |origin: Option<&'static str>, fetch_site: Option<&'static str>| {
            let mut request = http.post(app.url("/api/sign_in")).form(&[
                ("input[email]", "ada@example.com"),
                ("input[password]", PASSWORD),
            ]);
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            if let Some(site) = fetch_site {
                request = request.header("sec-fetch-site", site);
            }
            request.send()
        };
        for (origin, site) in [
            (Some("https://evil.example"), None),
            (None, Some("cross-site")),
            (Some("null"), None),
            (None, None),
        ] {
            let response = post(origin, site).await.expect("post");
            assert_eq!(
                response.status(),
                403,
                "{b}: origin {origin:?} site {site:?}"
            );
        }
        let same = post(None, Some("same-origin")).await.expect("post");
        assert_ne!(same.status(), 403, "{b}: same-origin passes the CSRF check");

        let get = http
            .get(app.url("/api/sign_out"))
            .send()
            .await
            .expect("get");
        assert_eq!(
            get.status(),
            405,
            "{b}: state changes are never reachable by GET"
        );
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    for secure in [false, true] {
        let (backend, db) = migrations::db::fresh_all().await.remove(0);
        let app = spawn_on(backend, db, secure).await;
        let client = app.client();
        for path in ["/sign-in", "/favicon.ico", "/no-such-page"] {
            let response = client.get(path).await;
            let headers = response.headers().clone();
            let csp = headers
                .get("content-security-policy")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            for directive in [
                "'wasm-unsafe-eval'",
                "object-src 'none'",
                "base-uri 'none'",
                "frame-ancestors 'none'",
                "'nonce-",
            ] {
                assert!(
                    csp.contains(directive),
                    "{path}: {directive} missing from {csp}"
                );
            }
            assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
            assert!(headers.contains_key("referrer-policy"), "{path}");
            assert_eq!(
                headers.contains_key("strict-transport-security"),
                secure,
                "{path}"
            );
            if path == "/sign-in" {
                let nonce = csp
                    .split("'nonce-")
                    .nth(1)
                    .and_then(|r| r.split('\'').next());
                let html = response.text().await.expect("html");
                let nonce = nonce.expect("nonce");
                assert!(
                    html.contains(&format!("nonce=\"{nonce}\"")),
                    "inline scripts carry the nonce"
                );
            }
        }
    }
}

#[tokio::test]
async fn pages_redirect_visitors_and_unknown_paths_are_404() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let client = app.client();
        let home = client.get("/").await;
        assert_eq!(home.status(), 302, "{b}");
        assert_eq!(home.headers()["location"], "/sign-in", "{b}");
        let sign_in = client.get("/sign-in").await;
        assert_eq!(sign_in.status(), 200, "{b}");
        let html = sign_in.text().await.expect("html");
        assert!(
            html.contains("name=\"input[email]\""),
            "{b}: the form renders on the server"
        );
        assert_eq!(client.get("/no-such-page").await.status(), 404, "{b}");

        client.sign_up("ada@example.com", PASSWORD).await;
        let home = client.get("/").await;
        assert_eq!(home.status(), 200, "{b}");
        let html = home.text().await.expect("html");
        assert!(
            html.contains("ada@example.com") && html.contains("Test Ads"),
            "{b}"
        );
        assert!(
            !html.contains("Audit log"),
            "{b}: no admin links for an advertiser"
        );
        assert_eq!(
            client.get("/admin/users").await.status(),
            200,
            "{b}: page shell renders"
        );
    }
}

#[tokio::test]
async fn a_plain_form_post_works_before_the_wasm_loads() {
    for app in spawn_all(false).await {
        let b = app.backend;
        app.client().sign_up("ada@example.com", PASSWORD).await;
        let client = app.client();
        let response = client
            .http
            .post(app.url("/api/sign_in"))
            .header("accept", "text/html")
            .header("referer", app.url("/sign-in"))
            .form(&[
                ("input[email]", "ada@example.com"),
                ("input[password]", PASSWORD),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), 302, "{b}");
        assert_eq!(response.headers()["location"], "/", "{b}");
        assert_eq!(
            client.whoami().await.as_deref(),
            Some("ada@example.com"),
            "{b}"
        );
    }
}

#[tokio::test]
async fn a_member_of_one_account_cannot_reach_another() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let alice = app.client();
        alice.sign_up("alice@example.com", PASSWORD).await;
        let bob = app.client();
        bob.sign_up("bob@example.com", PASSWORD).await;
        let bob_account = bob.call("account", &[]).await.body["id"].to_string();

        let switch = alice
            .call("switch_account", &[("account_id", bob_account.as_str())])
            .await;
        assert_eq!(
            switch.error_kind().as_deref(),
            Some("NotFound"),
            "{b}: {switch:?}"
        );
        assert_eq!(switch.status, 404, "{b}");
        let mine = alice.call("account", &[]).await;
        assert_eq!(mine.body["members"][0]["email"], "alice@example.com", "{b}");
        assert!(!mine.body.to_string().contains("bob@example.com"), "{b}");

        // Staff-only functions refuse advertisers (and the refusal is audited).
        for (endpoint, form) in [
            ("admin_users", vec![("search", ""), ("page", "0")]),
            ("admin_audit", vec![("filter[page]", "0")]),
            (
                "admin_change_role",
                vec![
                    ("input[user_id]", "1"),
                    ("input[role]", "Admin"),
                    ("input[grant]", "true"),
                ],
            ),
        ] {
            let reply = alice.call(endpoint, &form).await;
            assert_eq!(
                reply.error_kind().as_deref(),
                Some("Forbidden"),
                "{b}: {endpoint} {reply:?}"
            );
            assert_eq!(reply.status, 403, "{b}");
        }
        // And visitors are asked to sign in.
        let visitor = app.client();
        let reply = visitor
            .call("admin_users", &[("search", ""), ("page", "0")])
            .await;
        assert_eq!(
            reply.error_kind().as_deref(),
            Some("Unauthenticated"),
            "{b}"
        );
        assert_eq!(reply.status, 401, "{b}");
    }
}

#[tokio::test]
async fn an_admin_grants_a_role_and_the_audit_log_shows_it() {
    use sea_orm::ConnectionTrait;
    for app in spawn_all(false).await {
        let b = app.backend;
        let admin = app.client();
        admin.sign_up("admin@example.com", PASSWORD).await;
        support::confirm(&app, "admin@example.com").await;
        app.db
            .execute_unprepared(
                "INSERT INTO staff_role (user_id, role, granted_by, granted_at) \
                 SELECT id, 'admin', NULL, CURRENT_TIMESTAMP FROM app_user WHERE email = 'admin@example.com'",
            )
            .await
            .expect(b);
        let moderator = app.client();
        moderator.sign_up("mod@example.com", PASSWORD).await;
        support::confirm(&app, "mod@example.com").await;

        let users = admin
            .call("admin_users", &[("search", "mod@"), ("page", "0")])
            .await;
        assert_eq!(users.body["total"], 1, "{b}: {users:?}");
        let id = users.body["rows"][0]["id"].to_string();
        // A grant without the admin's password (the field left out) is refused beside it.
        let asked = admin
            .call(
                "admin_change_role",
                &[
                    ("input[user_id]", id.as_str()),
                    ("input[role]", "Moderator"),
                    ("input[grant]", "true"),
                ],
            )
            .await;
        assert_eq!(asked.status, 422, "{b}: {asked:?}");
        assert_eq!(
            asked.field_error("password").as_deref(),
            Some("Enter your current password."),
            "{b}"
        );
        let viewer = moderator.call("viewer", &[]).await;
        assert_eq!(
            viewer.body["staff_roles"],
            serde_json::json!([]),
            "{b}: {viewer:?}"
        );
        let grant = admin
            .call(
                "admin_change_role",
                &[
                    ("input[user_id]", id.as_str()),
                    ("input[role]", "Moderator"),
                    ("input[grant]", "true"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert!(grant.status.is_success(), "{b}: {grant:?}");
        let viewer = moderator.call("viewer", &[]).await;
        assert_eq!(
            viewer.body["staff_roles"][0], "Moderator",
            "{b}: takes effect at once"
        );

        let trail = admin
            .call(
                "admin_audit",
                &[("filter[action]", "role.granted"), ("filter[page]", "0")],
            )
            .await;
        assert_eq!(trail.body["total"], 1, "{b}: {trail:?}");
        assert_eq!(
            trail.body["rows"][0]["actor_email"], "admin@example.com",
            "{b}"
        );

        // Before the page's code has loaded (or without JavaScript): the chip's address opens
        // the step in the server's HTML, and its form posts as a plain form.
        // The chip is a link on our own page: the browser says so (`Sec-Fetch-Site`), and
        // only then is `grant` kept (from elsewhere it is stripped, see the security layer).
        let step = format!("/admin/users?grant={id}.finance");
        let html = admin.follow(&step).await;
        assert!(
            html.contains(r#"id="grant-confirm""#),
            "{b}: no step in the HTML"
        );
        assert!(html.contains(r#"id="grant-role-password""#), "{b}");
        let post = |password: &'static str| {
            admin
                .http
                .post(app.url("/api/admin_change_role"))
                .header("accept", "text/html")
                .header("referer", app.url(&step))
                .form(&[
                    ("input[user_id]", id.as_str()),
                    ("input[role]", "Finance"),
                    ("input[grant]", "true"),
                    ("password", password),
                ])
                .send()
        };
        let refused = post("not my password").await.expect(b);
        assert!(refused.status().is_redirection(), "{b}: {refused:?}");
        let back = refused.headers()["location"].to_str().expect(b).to_owned();
        assert!(back.starts_with(&app.url(&step)), "{b}: {back}");
        // Back on the step, the refusal is beside the field.
        let again = admin.follow(&back).await;
        assert!(
            again.contains("This is not your current password."),
            "{b}: the refusal is not shown: {back}"
        );
        let viewer = moderator.call("viewer", &[]).await;
        assert_eq!(
            viewer.body["staff_roles"],
            serde_json::json!(["Moderator"]),
            "{b}: nothing granted by a wrong password"
        );
        let granted = post(PASSWORD).await.expect(b);
        assert!(granted.status().is_redirection(), "{b}: {granted:?}");
        let viewer = moderator.call("viewer", &[]).await;
        assert_eq!(
            viewer.body["staff_roles"],
            serde_json::json!(["Finance", "Moderator"]),
            "{b}: {viewer:?}"
        );
    }
}

/// A read refreshes the idle timeout by writing the session at most once a minute, and a
/// session that has run out of idle time, or was deleted, signs nobody in (a signed-in page
/// reads the stored session with its viewer in one statement: the same rules apply there).
#[tokio::test]
async fn reads_touch_the_session_at_most_once_a_minute() {
    use app::entity::tower_session;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
    for app in spawn_all(false).await {
        let b = app.backend;
        let client = app.client();
        client.sign_up("ada@example.com", PASSWORD).await;
        let row = tower_session::Entity::find()
            .one(&app.db)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(
            client.whoami().await.as_deref(),
            Some("ada@example.com"),
            "{b}"
        );
        let unchanged = tower_session::Entity::find_by_id(row.id.clone())
            .one(&app.db)
            .await
            .expect(b)
            .expect(b);
        assert_eq!(
            unchanged, row,
            "{b}: a read within the minute writes nothing"
        );

        // Last written two minutes ago, idle time nearly over: the next read writes it.
        let record: serde_json::Value = serde_json::from_str(&row.data).expect(b);
        let seen_at = record["data"]["seen_at"].as_i64().expect("seen_at");
        let aged = row.data.replace(
            &format!("\"seen_at\":{seen_at}"),
            &format!("\"seen_at\":{}", seen_at - 120),
        );
        assert_ne!(aged, row.data, "{b}");
        let nearly_over = chrono::Utc::now() + chrono::Duration::minutes(1);
        let mut active = row.clone().into_active_model();
        active.data = Set(aged);
        active.expiry_date = Set(nearly_over);
        active.update(&app.db).await.expect(b);
        assert_eq!(
            client.whoami().await.as_deref(),
            Some("ada@example.com"),
            "{b}"
        );
        let touched = tower_session::Entity::find_by_id(row.id.clone())
            .one(&app.db)
            .await
            .expect(b)
            .expect("still stored");
        let record: serde_json::Value = serde_json::from_str(&touched.data).expect(b);
        let now = chrono::Utc::now().timestamp();
        assert!(
            record["data"]["seen_at"].as_i64().expect("seen_at") >= now - 5,
            "{b}: touched: {record}"
        );
        assert!(
            touched.expiry_date > nearly_over + chrono::Duration::minutes(25),
            "{b}: the idle timeout starts over"
        );
        assert_eq!(touched.user_id, row.user_id, "{b}");

        // Out of idle time: nobody, although the row is still there.
        let mut active = touched.into_active_model();
        active.expiry_date = Set(chrono::Utc::now() - chrono::Duration::seconds(1));
        active.update(&app.db).await.expect(b);
        assert_eq!(client.whoami().await, None, "{b}: idle too long");

        // Deleted (signed out elsewhere): nobody.
        client.sign_in("ada@example.com", PASSWORD).await;
        assert_eq!(
            client.whoami().await.as_deref(),
            Some("ada@example.com"),
            "{b}"
        );
        let row = tower_session::Entity::find()
            .filter(tower_session::Column::ExpiryDate.gt(chrono::Utc::now()))
            .one(&app.db)
            .await
            .expect(b)
            .expect("signed in again");
        tower_session::Entity::delete_by_id(row.id.clone())
            .exec(&app.db)
            .await
            .expect(b);
        assert_eq!(client.whoami().await, None, "{b}: deleted");
    }
}

#[tokio::test]
async fn sessions_end_twelve_hours_after_sign_in_however_active() {
    use app::entity::tower_session;
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
    for app in spawn_all(false).await {
        let b = app.backend;
        let client = app.client();
        client.sign_up("ada@example.com", PASSWORD).await;
        let rows = tower_session::Entity::find().all(&app.db).await.expect(b);
        assert_eq!(
            rows.len(),
            1,
            "{b}: one session row, none for anonymous requests"
        );
        let row = rows.into_iter().next().expect(b);
        let idle = row.expiry_date - chrono::Utc::now();
        assert!(
            idle > chrono::Duration::minutes(29) && idle <= chrono::Duration::minutes(30),
            "{b}"
        );

        // Edit the stored text itself: the record's 128-bit id does not survive a round trip
        // through `serde_json::Value`.
        let record: serde_json::Value = serde_json::from_str(&row.data).expect(b);
        let signed_in_at = record["data"]["signed_in_at"]
            .as_i64()
            .expect("signed_in_at");
        let aged = row.data.replace(
            &format!("\"signed_in_at\":{signed_in_at}"),
            &format!("\"signed_in_at\":{}", signed_in_at - 12 * 3600 - 1),
        );
        assert_ne!(aged, row.data, "{b}");
        let mut active = row.into_active_model();
        active.data = Set(aged);
        active.update(&app.db).await.expect(b);

        assert_eq!(
            client.whoami().await,
            None,
            "{b}: past the absolute timeout"
        );
        let left = tower_session::Entity::find().all(&app.db).await.expect(b);
        assert!(left.is_empty(), "{b}: the expired session is deleted");
    }
}
