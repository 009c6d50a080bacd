//! HTTP tests of sign-up hardening (SQLite, and PostgreSQL when `TEST_DATABASE_URL` is set):
//! a known address gets the same answer as a new one, sign-ups are throttled per client
//! address, the mailed link confirms an address or takes it back, "Forgot your password?" mails
//! such a link without telling anyone whether the address has a login, an unconfirmed address
//! receives neither invitations nor staff roles, and only admins read the mail outbox.

mod support;

use app::{
    entity::{account_member, app_user, audit_event, outbox_message},
    service::mail::{ConsoleTransport, deliver_pending},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use support::{Client, PASSWORD, Reply, TestApp, count_reaches, mailed_token, spawn_all};

const OTHER_PASSWORD: &str = "amber lantern 77 rivers";

/// What the browser is told: status, body and where it goes next.
fn answer(reply: &Reply) -> (u16, String, Option<String>, Option<String>) {
    let header = |name: &str| {
        reply
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    (
        reply.status.as_u16(),
        reply.body.to_string(),
        header("serverfnredirect"),
        header("location"),
    )
}

async fn users(app: &TestApp) -> u64 {
    app_user::Entity::find()
        .count(&app.db)
        .await
        .expect("count")
}

async fn mail_kinds(app: &TestApp, email: &str) -> Vec<String> {
    outbox_message::Entity::find()
        .filter(outbox_message::Column::Recipient.eq(email))
        .order_by_asc(outbox_message::Column::Id)
        .all(&app.db)
        .await
        .expect("outbox")
        .into_iter()
        .map(|m| m.kind)
        .collect()
}

/// Waits until `n` requests to reset a real login's password have been carried out (the
/// answer does not wait for them: each writes its audit event with its mail, if any).
async fn resets_written(app: &TestApp, n: u64) {
    let what = format!("{}: reset requests written", app.backend);
    count_reaches(&what, n, || async move {
        audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("auth.password_reset_requested"))
            .count(&app.db)
            .await
            .expect("audit")
    })
    .await;
}

async fn invited_sign_up(client: &Client, email: &str, password: &str, token: &str) -> Reply {
    client
        .call(
            "sign_up",
            &[
                ("input[email]", email),
                ("input[password]", password),
                ("invite", token),
            ],
        )
        .await
}

/// Invites `email` as `owner`; returns the owner's link token and the mailed one.
async fn invite(app: &TestApp, owner: &Client, email: &str) -> (String, String) {
    let reply = owner
        .call(
            "invite_member",
            &[("input[email]", email), ("input[role]", "Analyst")],
        )
        .await;
    assert!(reply.status.is_success(), "invite: {reply:?}");
    let path = reply.body["path"].as_str().expect("path");
    let owners = path.trim_start_matches("/invite/").to_owned();
    let mailed = mailed_token(app, email, "/invite/").await;
    assert_ne!(owners, mailed, "the owner never sees the mailed token");
    (owners, mailed)
}

#[tokio::test]
async fn a_known_address_gets_the_same_answer_as_a_new_one() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let ada = app.client();
        assert!(
            ada.sign_up("ada@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );

        let new = app.client().sign_up("bob@example.com", PASSWORD).await;
        let attacker = app.client();
        let known = attacker.sign_up("Ada@Example.com", OTHER_PASSWORD).await;
        assert!(new.status.is_success(), "{b}: {new:?}");
        assert_eq!(answer(&new), answer(&known), "{b}: identical answers");

        // Nothing was created or changed for the known address, and nobody is signed in.
        assert_eq!(attacker.whoami().await, None, "{b}");
        assert_eq!(users(&app).await, 2, "{b}");
        let probe = app.client();
        assert!(
            !probe
                .sign_in("ada@example.com", OTHER_PASSWORD)
                .await
                .status
                .is_success()
        );
        assert!(
            probe
                .sign_in("ada@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );
        // The new address got a confirmation, the known one a note about the attempt.
        assert_eq!(
            mail_kinds(&app, "bob@example.com").await,
            ["confirmation"],
            "{b}"
        );
        assert_eq!(
            mail_kinds(&app, "ada@example.com").await,
            ["confirmation", "sign_up_attempt"],
            "{b}"
        );
        let viewer = app.client();
        viewer.sign_in("bob@example.com", PASSWORD).await;
        let me = viewer.call("viewer", &[]).await.body;
        assert_eq!(me["email_verified"], false, "{b}: unconfirmed, yet working");
        assert_eq!(me["memberships"].as_array().map(Vec::len), Some(1), "{b}");

        // Through an invitation: the answer depends on the link, never on the address.
        ada.sign_in("ada@example.com", PASSWORD).await;
        let (carol_owner_link, carol_mailed) = invite(&app, &ada, "carol@example.com").await;
        let (dave_owner_link, _) = invite(&app, &ada, "dave@example.com").await;
        let (_, erin_mailed) = invite(&app, &ada, "erin@example.com").await;
        app.client().sign_up("carol@example.com", PASSWORD).await;
        let known = invited_sign_up(
            &app.client(),
            "carol@example.com",
            OTHER_PASSWORD,
            &carol_owner_link,
        )
        .await;
        let new = invited_sign_up(
            &app.client(),
            "dave@example.com",
            PASSWORD,
            &dave_owner_link,
        )
        .await;
        assert_eq!((known.status, &known.body), (new.status, &new.body), "{b}");
        assert_eq!(
            known.headers["location"],
            format!("/invite/{carol_owner_link}").as_str()
        );
        assert_eq!(
            new.headers["location"],
            format!("/invite/{dave_owner_link}").as_str()
        );
        let known = invited_sign_up(
            &app.client(),
            "carol@example.com",
            OTHER_PASSWORD,
            &carol_mailed,
        )
        .await;
        let new = invited_sign_up(&app.client(), "erin@example.com", PASSWORD, &erin_mailed).await;
        assert!(new.status.is_success(), "{b}: {new:?}");
        assert_eq!(answer(&known), answer(&new), "{b}: identical answers");
    }
}

#[tokio::test]
async fn the_eleventh_sign_up_from_one_address_is_refused() {
    for app in spawn_all(false).await {
        let b = app.backend;
        // Refused input is not counted.
        let bad = app.client().sign_up("not-an-email", PASSWORD).await;
        assert_eq!(bad.status, 422, "{b}");
        for n in 0..9 {
            let reply = app
                .client()
                .sign_up(&format!("u{n}@example.com"), PASSWORD)
                .await;
            assert!(reply.status.is_success(), "{b}: sign-up {n}: {reply:?}");
        }
        // A known address counts like a new one.
        let known = app.client().sign_up("u0@example.com", PASSWORD).await;
        assert!(known.status.is_success(), "{b}: {known:?}");

        let client = app.client();
        let refused = client.sign_up("u9@example.com", PASSWORD).await;
        assert_eq!(refused.status, 429, "{b}: {refused:?}");
        assert_eq!(
            refused.error_kind().as_deref(),
            Some("TooManyAttempts"),
            "{b}"
        );
        let message = refused.body["TooManyAttempts"].as_str().unwrap_or_default();
        assert!(message.starts_with("Too many sign-ups"), "{b}: {message}");
        assert_eq!(client.whoami().await, None, "{b}");
        assert_eq!(users(&app).await, 9, "{b}: the refused one created nothing");
    }
}

/// "Forgot your password?" answers the same for any address; a login's address receives a
/// link (at most three an hour) that sets a new password and ends the login's sessions; a
/// client address may ask ten times an hour.
#[tokio::test]
async fn forgot_password_mails_a_link_and_tells_nobody_which_addresses_have_a_login() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let ada = app.client();
        ada.sign_up("ada@example.com", PASSWORD).await;
        assert!(ada.whoami().await.is_some(), "{b}");
        let ask = |email: &'static str| {
            let client = app.client();
            async move {
                client
                    .call("forgot_password", &[("input[email]", email)])
                    .await
            }
        };
        let bad = ask("not-an-email").await;
        assert!(bad.field_error("email").is_some(), "{b}: {bad:?}");
        let known = ask(" Ada@Example.com ").await;
        let unknown = ask("nobody@example.com").await;
        assert!(known.status.is_success(), "{b}: {known:?}");
        assert_eq!(answer(&known), answer(&unknown), "{b}: identical answers");
        resets_written(&app, 1).await;
        assert_eq!(
            mail_kinds(&app, "ada@example.com").await,
            ["confirmation", "password_reset"],
            "{b}"
        );
        assert!(
            mail_kinds(&app, "nobody@example.com").await.is_empty(),
            "{b}: no mail to an address without a login"
        );
        // Three mails an hour at most: asking again still answers the same, and mails nothing.
        for _ in 0..3 {
            assert_eq!(
                answer(&ask("ada@example.com").await),
                answer(&unknown),
                "{b}"
            );
        }
        resets_written(&app, 4).await;
        assert_eq!(
            mail_kinds(&app, "ada@example.com").await,
            [
                "confirmation",
                "password_reset",
                "password_reset",
                "password_reset"
            ],
            "{b}"
        );

        // The link sets a new password for whoever opens it signed out, signs them in, and
        // ends the login's other sessions.
        let token = mailed_token(&app, "ada@example.com", "/verify/").await;
        let owner = app.client();
        let page = owner
            .get(&format!("/verify/{token}"))
            .await
            .text()
            .await
            .expect("html");
        assert!(page.contains("Choose a password"), "{b}");
        let set = owner
            .call(
                "set_password_by_email",
                &[
                    ("input[token]", &token),
                    ("input[password]", OTHER_PASSWORD),
                ],
            )
            .await;
        assert!(set.status.is_success(), "{b}: {set:?}");
        assert_eq!(
            owner.whoami().await.as_deref(),
            Some("ada@example.com"),
            "{b}"
        );
        assert_eq!(ada.whoami().await, None, "{b}: the other session ended");
        assert!(
            app.client()
                .sign_in("ada@example.com", OTHER_PASSWORD)
                .await
                .status
                .is_success(),
            "{b}"
        );

        // Ten requests an hour from one client address (five counted above; the malformed one
        // was refused before counting): the eleventh is refused, whatever the address.
        for n in 0..5 {
            assert!(
                ask("nobody@example.com").await.status.is_success(),
                "{b}: {n}"
            );
        }
        let refused = ask("ada@example.com").await;
        assert_eq!(refused.status, 429, "{b}: {refused:?}");
        assert_eq!(
            mail_kinds(&app, "ada@example.com").await.len(),
            4,
            "{b}: the refused request mailed nothing"
        );
        assert!(
            mail_kinds(&app, "nobody@example.com").await.is_empty(),
            "{b}: never a mail to an address without a login"
        );
    }
}

#[tokio::test]
async fn the_mailed_link_confirms_or_takes_the_address_back() {
    for app in spawn_all(false).await {
        let b = app.backend;
        // Someone signs up with another person's address.
        let squatter = app.client();
        squatter.sign_up("victim@example.com", PASSWORD).await;
        let token = mailed_token(&app, "victim@example.com", "/verify/").await;
        let bogus = squatter
            .call("confirm_email", &[("token", &"0".repeat(64))])
            .await;
        assert_eq!(bogus.status, 404, "{b}: {bogus:?}");

        // The address's owner opens the link from the mail and chooses a password.
        let owner = app.client();
        let preview = owner.call("email_link", &[("token", &token)]).await;
        assert_eq!(preview.body["email"], "victim@example.com", "{b}");
        assert_eq!(preview.body["state"], "Open", "{b}");
        assert_eq!(preview.body["yours"], false, "{b}");
        let page = owner
            .get(&format!("/verify/{token}"))
            .await
            .text()
            .await
            .expect("html");
        assert!(page.contains("Choose a password"), "{b}");
        let weak = owner
            .call(
                "set_password_by_email",
                &[("input[token]", &token), ("input[password]", "password123")],
            )
            .await;
        assert!(weak.field_error("password").is_some(), "{b}: {weak:?}");
        let set = owner
            .call(
                "set_password_by_email",
                &[
                    ("input[token]", &token),
                    ("input[password]", OTHER_PASSWORD),
                ],
            )
            .await;
        assert!(set.status.is_success(), "{b}: {set:?}");
        assert_eq!(set.headers["location"], "/", "{b}");
        assert_eq!(
            owner.whoami().await.as_deref(),
            Some("victim@example.com"),
            "{b}"
        );
        assert_eq!(
            owner.call("viewer", &[]).await.body["email_verified"],
            true,
            "{b}"
        );

        // The squatter is out and their password is gone; the link works once.
        assert_eq!(squatter.whoami().await, None, "{b}: their session ended");
        let probe = app.client();
        assert!(
            !probe
                .sign_in("victim@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );
        let again = app
            .client()
            .call(
                "set_password_by_email",
                &[("input[token]", &token), ("input[password]", PASSWORD)],
            )
            .await;
        assert_eq!(again.status, 409, "{b}: {again:?}");

        // A user who signed up themselves confirms with one click while signed in.
        let frank = app.client();
        frank.sign_up("frank@example.com", PASSWORD).await;
        let token = mailed_token(&app, "frank@example.com", "/verify/").await;
        let page = frank
            .get(&format!("/verify/{token}"))
            .await
            .text()
            .await
            .expect("html");
        assert!(page.contains("Confirm my address"), "{b}");
        let confirmed = frank.call("confirm_email", &[("token", &token)]).await;
        assert!(confirmed.status.is_success(), "{b}: {confirmed:?}");
        assert_eq!(
            frank.call("viewer", &[]).await.body["email_verified"],
            true,
            "{b}"
        );
        let used = app.client().call("email_link", &[("token", &token)]).await;
        assert_eq!(used.body["state"], "Used", "{b}");
        let resend = frank.call("resend_confirmation", &[]).await;
        assert_eq!(resend.status, 409, "{b}: already confirmed");
    }
}

#[tokio::test]
async fn an_unconfirmed_address_cannot_join_by_invitation() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let ada = app.client();
        ada.sign_up("ada@example.com", PASSWORD).await;
        let account = ada.call("account", &[]).await.body["id"]
            .as_i64()
            .expect("id");
        let (owner_link, _mailed) = invite(&app, &ada, "bob@example.com").await;

        // Signed up with bob's address, unconfirmed (whoever it is): the owner's link does not
        // let them in, by the button or by signing in through it.
        let bob = app.client();
        bob.sign_up("bob@example.com", PASSWORD).await;
        let refused = bob
            .call("accept_invitation", &[("token", &owner_link)])
            .await;
        assert_eq!(refused.status, 409, "{b}: {refused:?}");
        assert!(
            refused.body.to_string().contains("Confirm your email"),
            "{b}"
        );
        let signed_in = app
            .client()
            .call(
                "sign_in",
                &[
                    ("input[email]", "bob@example.com"),
                    ("input[password]", PASSWORD),
                    ("invite", &owner_link),
                ],
            )
            .await;
        assert_eq!(
            signed_in.headers["location"],
            format!("/invite/{owner_link}").as_str(),
            "{b}"
        );
        let members = account_member::Entity::find()
            .filter(account_member::Column::AccountId.eq(account))
            .count(&app.db)
            .await
            .expect("members");
        assert_eq!(members, 1, "{b}: nobody joined");

        // Once the address is confirmed with the mailed link, the owner's link works.
        let token = mailed_token(&app, "bob@example.com", "/verify/").await;
        assert!(
            bob.call("confirm_email", &[("token", &token)])
                .await
                .status
                .is_success()
        );
        let joined = bob
            .call("accept_invitation", &[("token", &owner_link)])
            .await;
        assert!(joined.status.is_success(), "{b}: {joined:?}");

        // A new login through the owner's link: created, unconfirmed, not joined yet.
        let (erin_link, _) = invite(&app, &ada, "erin@example.com").await;
        let erin = app.client();
        let reply = invited_sign_up(&erin, "erin@example.com", PASSWORD, &erin_link).await;
        assert!(reply.status.is_success(), "{b}: {reply:?}");
        let me = erin.call("viewer", &[]).await.body;
        assert_eq!(me["email"], "erin@example.com", "{b}");
        assert_eq!(me["memberships"].as_array().map(Vec::len), Some(0), "{b}");
        let early = erin
            .call("accept_invitation", &[("token", &erin_link)])
            .await;
        assert_eq!(early.status, 409, "{b}: {early:?}");
    }
}

#[tokio::test]
async fn staff_roles_need_a_confirmed_address() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let admin = app.client();
        admin.sign_up("admin@example.com", PASSWORD).await;
        support::grant_staff(&app, "admin@example.com", "admin").await;
        let user = app.client();
        user.sign_up("mod@example.com", PASSWORD).await;
        let id = user.call("viewer", &[]).await.body["user_id"].to_string();
        let grant = [
            ("input[user_id]", id.as_str()),
            ("input[role]", "Moderator"),
            ("input[grant]", "true"),
            ("password", PASSWORD),
        ];
        let refused = admin.call("admin_change_role", &grant).await;
        assert_eq!(refused.status, 409, "{b}: {refused:?}");

        // A role that reached an unconfirmed user anyway (an old grant) does not work.
        app.db
            .execute_unprepared(&format!(
                "INSERT INTO staff_role (user_id, role, granted_by, granted_at) \
                 VALUES ({id}, 'moderator', NULL, CURRENT_TIMESTAMP)"
            ))
            .await
            .expect("role");
        let me = user.call("viewer", &[]).await.body;
        assert_eq!(me["staff_roles"], serde_json::json!([]), "{b}");
        let queue = user
            .call("review_queue", &[("filter[appeals]", "false")])
            .await;
        assert_eq!(queue.status, 403, "{b}: {queue:?}");

        // Confirmed, the role works.
        let token = mailed_token(&app, "mod@example.com", "/verify/").await;
        assert!(
            user.call("confirm_email", &[("token", &token)])
                .await
                .status
                .is_success()
        );
        let queue = user
            .call("review_queue", &[("filter[appeals]", "false")])
            .await;
        assert!(queue.status.is_success(), "{b}: {queue:?}");
    }
}

#[tokio::test]
async fn only_admins_read_the_mail_outbox_and_each_mail_is_delivered_once() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let admin = app.client();
        admin.sign_up("admin@example.com", PASSWORD).await;
        support::grant_staff(&app, "admin@example.com", "admin").await;
        let advertiser = app.client();
        advertiser.sign_up("ads@example.com", PASSWORD).await;

        let page = [("page", "0")];
        assert_eq!(
            app.client().call("admin_mail", &page).await.status,
            401,
            "{b}"
        );
        assert_eq!(
            advertiser.call("admin_mail", &page).await.status,
            403,
            "{b}"
        );
        let html = advertiser
            .get("/admin/mail")
            .await
            .text()
            .await
            .expect("html");
        assert!(
            !html.contains("/verify/"),
            "{b}: no mail shown to an advertiser"
        );

        let mail = admin.call("admin_mail", &page).await;
        assert!(mail.status.is_success(), "{b}: {mail:?}");
        assert_eq!(mail.body["total"], 2, "{b}");
        let newest = &mail.body["rows"][0];
        assert_eq!(newest["recipient"], "ads@example.com", "{b}");
        assert!(
            newest["body"]
                .as_str()
                .unwrap_or_default()
                .contains("/verify/"),
            "{b}"
        );
        assert_eq!(newest["sent_at"], serde_json::Value::Null, "{b}");
        let html = admin.get("/admin/mail").await.text().await.expect("html");
        assert!(
            html.contains("Mail outbox") && html.contains("ads@example.com"),
            "{b}"
        );
        let home = admin.get("/").await.text().await.expect("html");
        assert!(
            home.contains("href=\"/admin/mail\""),
            "{b}: in the admin navigation"
        );

        assert_eq!(
            deliver_pending(&app.db, &ConsoleTransport::default(), 50).await,
            Ok(2),
            "{b}"
        );
        assert_eq!(
            deliver_pending(&app.db, &ConsoleTransport::default(), 50).await,
            Ok(0),
            "{b}"
        );
        let mail = admin.call("admin_mail", &page).await;
        assert!(mail.body["rows"][0]["sent_at"].is_string(), "{b}: {mail:?}");
    }
}
