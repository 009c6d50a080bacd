//! HTTP tests for account members and invitations: every members server function by role and
//! against another account's ids, and the invitation link flows over the real router.

mod support;

use serde_json::Value;
use support::{Client, PASSWORD, TestApp, spawn_all};

/// Creates an invitation as `owner`; returns its id and the link's token.
async fn invite(owner: &Client, email: &str, role: &str) -> (String, String) {
    let reply = owner
        .call(
            "invite_member",
            &[("input[email]", email), ("input[role]", role)],
        )
        .await;
    assert!(reply.status.is_success(), "invite: {reply:?}");
    let path = reply.body["path"].as_str().expect("path").to_owned();
    let token = path.trim_start_matches("/invite/").to_owned();
    (reply.body["id"].to_string(), token)
}

/// A new client that signs up through the invitation link `token` (no account fields).
async fn sign_up_invited(app: &TestApp, email: &str, token: &str) -> (Client, support::Reply) {
    let client = app.client();
    let reply = client
        .call(
            "sign_up",
            &[
                ("input[email]", email),
                ("input[password]", PASSWORD),
                ("invite", token),
            ],
        )
        .await;
    (client, reply)
}

/// A member of `owner`'s account with `role`, signed in (through the mailed link).
async fn member(app: &TestApp, owner: &Client, email: &str, role: &str) -> Client {
    invite(owner, email, role).await;
    let token = support::mailed_token(app, email, "/invite/").await;
    let (client, reply) = sign_up_invited(app, email, &token).await;
    assert!(reply.status.is_success(), "invited sign-up: {reply:?}");
    client
}

/// The current account as the client sees it.
async fn account(client: &Client) -> Value {
    let reply = client.call("account", &[]).await;
    assert!(reply.status.is_success(), "account: {reply:?}");
    reply.body
}

fn user_id(account: &Value, email: &str) -> String {
    account["members"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["email"] == email)
        .map(|m| m["user_id"].to_string())
        .unwrap_or_else(|| panic!("{email} is not in {account}"))
}

#[tokio::test]
async fn every_members_function_by_role_and_against_another_accounts_ids() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let owner = app.client();
        owner.sign_up("ada@example.com", PASSWORD).await;
        let (open_id, _) = invite(&owner, "later@example.com", "Analyst").await;
        let zed = app.client();
        zed.sign_up("zed@example.com", PASSWORD).await;
        let (zed_invite, _) = invite(&zed, "zi@example.com", "Manager").await;
        let zed_id = user_id(&account(&zed).await, "zed@example.com");
        let ada_id = user_id(&account(&owner).await, "ada@example.com");

        let calls = |invitation: String, user: String| {
            vec![
                (
                    "invite_member",
                    vec![
                        ("input[email]".to_owned(), "x@example.com".to_owned()),
                        ("input[role]".to_owned(), "Owner".to_owned()),
                    ],
                ),
                ("invitations", vec![]),
                ("revoke_invitation", vec![("id".to_owned(), invitation)]),
                (
                    "change_member_role",
                    vec![
                        ("input[user_id]".to_owned(), user.clone()),
                        ("input[role]".to_owned(), "Owner".to_owned()),
                    ],
                ),
                ("remove_member", vec![("user_id".to_owned(), user)]),
            ]
        };
        let call = |client: &Client, endpoint: &'static str, form: Vec<(String, String)>| {
            let client = client.clone();
            async move {
                let form: Vec<(&str, &str)> =
                    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                client.call(endpoint, &form).await
            }
        };

        for (email, role) in [
            ("manager@example.com", "Manager"),
            ("analyst@example.com", "Analyst"),
            ("billing@example.com", "Billing"),
        ] {
            let client = member(&app, &owner, email, role).await;
            assert_eq!(account(&client).await["my_role"], role, "{b}");
            for (endpoint, form) in calls(open_id.clone(), ada_id.clone()) {
                let reply = call(&client, endpoint, form).await;
                assert_eq!(reply.status, 403, "{b}: {role} {endpoint} {reply:?}");
                assert_eq!(reply.error_kind().as_deref(), Some("Forbidden"), "{b}");
            }
        }

        // The owner reaching into the other account: not found, and nothing changes there.
        for (endpoint, form) in calls(zed_invite.clone(), zed_id.clone())
            .into_iter()
            .skip(2)
        {
            let reply = call(&owner, endpoint, form).await;
            assert_eq!(reply.status, 404, "{b}: {endpoint} {reply:?}");
        }
        assert_eq!(
            zed.call("invitations", &[])
                .await
                .body
                .as_array()
                .map(Vec::len),
            Some(1),
            "{b}"
        );
        assert_eq!(
            account(&zed).await["members"].as_array().map(Vec::len),
            Some(1)
        );

        // What the owner may do.
        let listed = owner.call("invitations", &[]).await;
        assert_eq!(
            listed.body.as_array().map(Vec::len),
            Some(1),
            "{b}: {listed:?}"
        );
        let team = account(&owner).await;
        let analyst = user_id(&team, "analyst@example.com");
        let billing = user_id(&team, "billing@example.com");
        let changed = owner
            .call(
                "change_member_role",
                &[("input[user_id]", &analyst), ("input[role]", "Manager")],
            )
            .await;
        assert!(changed.status.is_success(), "{b}: {changed:?}");
        let removed = owner.call("remove_member", &[("user_id", &billing)]).await;
        assert!(removed.status.is_success(), "{b}: {removed:?}");
        let revoked = owner.call("revoke_invitation", &[("id", &open_id)]).await;
        assert!(revoked.status.is_success(), "{b}: {revoked:?}");
        let team = account(&owner).await;
        assert_eq!(team["members"].as_array().map(Vec::len), Some(3), "{b}");
        assert!(!team.to_string().contains("billing@example.com"), "{b}");
        let bad = owner
            .call(
                "invite_member",
                &[("input[email]", "not-an-email"), ("input[role]", "Manager")],
            )
            .await;
        assert_eq!(bad.status, 422, "{b}");
        assert!(bad.field_error("email").is_some(), "{b}: {bad:?}");

        // The sole owner may not leave; visitors are asked to sign in.
        let leave = owner.call("leave_account", &[]).await;
        assert_eq!(leave.status, 409, "{b}: {leave:?}");
        let visitor = app.client();
        for (endpoint, form) in calls(open_id.clone(), ada_id.clone()) {
            let reply = call(&visitor, endpoint, form).await;
            assert_eq!(reply.status, 401, "{b}: visitor {endpoint}");
        }
        let accept = visitor.call("accept_invitation", &[("token", "x")]).await;
        assert_eq!(accept.status, 401, "{b}");
    }
}

#[tokio::test]
async fn a_new_user_signs_up_through_the_link_and_lands_in_the_account() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let owner = app.client();
        owner.sign_up("ada@example.com", PASSWORD).await;
        invite(&owner, "bob@example.com", "Analyst").await;
        // The link in the invitation mail (which also confirms the address).
        let token = support::mailed_token(&app, "bob@example.com", "/invite/").await;

        let bob = app.client();
        let page = bob.get(&format!("/invite/{token}")).await;
        assert_eq!(page.status(), 200, "{b}");
        let html = page.text().await.expect("html");
        for text in ["Test Ads", "bob@example.com", "Analyst", "/sign-up?invite="] {
            assert!(
                html.contains(text),
                "{b}: {text} missing from the invite page"
            );
        }
        let preview = bob.call("invitation", &[("token", &token)]).await;
        assert_eq!(preview.body["status"], "Open", "{b}");

        let (bob, reply) = sign_up_invited(&app, "bob@example.com", &token).await;
        assert!(reply.status.is_success(), "{b}: {reply:?}");
        assert_eq!(reply.headers["location"], "/", "{b}");
        let mine = account(&bob).await;
        assert_eq!(mine["name"], "Test Ads", "{b}");
        assert_eq!(mine["my_role"], "Analyst", "{b}");
        let viewer = bob.call("viewer", &[]).await;
        assert_eq!(
            viewer.body["memberships"].as_array().map(Vec::len),
            Some(1),
            "{b}: no account of their own"
        );

        // The link is spent: the page says so and a second sign-up through it is refused.
        let html = app
            .client()
            .get(&format!("/invite/{token}"))
            .await
            .text()
            .await
            .expect("html");
        assert!(html.contains("already been used"), "{b}");
        let (_, again) = sign_up_invited(&app, "bob2@example.com", &token).await;
        assert_eq!(again.status, 422, "{b}");
        assert!(again.field_error("form").is_some(), "{b}: {again:?}");
        let nowhere = app.client().get("/invite/nonsense").await;
        assert_eq!(nowhere.status(), 200, "{b}: a page that explains");
        assert!(nowhere.text().await.expect("html").contains("not valid"));
        let unknown = app
            .client()
            .call("invitation", &[("token", "nonsense")])
            .await;
        assert_eq!(unknown.status, 404, "{b}");
    }
}

#[tokio::test]
async fn an_existing_user_signs_in_through_the_link_joins_and_switches_accounts() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let owner = app.client();
        owner.sign_up("ada@example.com", PASSWORD).await;
        app.client().sign_up("carol@example.com", PASSWORD).await;
        invite(&owner, "carol@example.com", "Manager").await;
        let token = support::mailed_token(&app, "carol@example.com", "/invite/").await;

        let carol = app.client();
        let reply = carol
            .call(
                "sign_in",
                &[
                    ("input[email]", "carol@example.com"),
                    ("input[password]", PASSWORD),
                    ("invite", &token),
                ],
            )
            .await;
        assert!(reply.status.is_success(), "{b}: {reply:?}");
        assert_eq!(reply.headers["location"], "/", "{b}");
        let joined = account(&carol).await;
        assert_eq!(
            joined["name"], "Test Ads",
            "{b}: the joined account is current"
        );
        assert_eq!(joined["my_role"], "Manager", "{b}");

        // Two accounts: switch to her own and back.
        let viewer = carol.call("viewer", &[]).await.body;
        let ids: Vec<String> = viewer["memberships"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["account_id"].to_string())
            .collect();
        assert_eq!(ids.len(), 2, "{b}");
        let joined_id = joined["id"].to_string();
        let own = ids
            .iter()
            .find(|id| **id != joined_id)
            .expect("her own account")
            .clone();
        let switched = carol.call("switch_account", &[("account_id", &own)]).await;
        assert!(switched.status.is_success(), "{b}: {switched:?}");
        let mine = account(&carol).await;
        assert_eq!(mine["my_role"], "Owner", "{b}");
        assert!(!mine.to_string().contains("ada@example.com"), "{b}");
        let back = joined["id"].to_string();
        carol.call("switch_account", &[("account_id", &back)]).await;
        assert_eq!(account(&carol).await["my_role"], "Manager", "{b}");

        // Someone else signing in with a link for another address stays out and is sent to
        // the invitation page, which explains.
        let (_, dave_token) = invite(&owner, "dave@example.com", "Billing").await;
        app.client().sign_up("eve@example.com", PASSWORD).await;
        let eve = app.client();
        let reply = eve
            .call(
                "sign_in",
                &[
                    ("input[email]", "eve@example.com"),
                    ("input[password]", PASSWORD),
                    ("invite", &dave_token),
                ],
            )
            .await;
        assert!(reply.status.is_success(), "{b}: {reply:?}");
        assert_eq!(
            reply.headers["location"],
            format!("/invite/{dave_token}").as_str(),
            "{b}"
        );
        assert_eq!(
            account(&eve).await["my_role"],
            "Owner",
            "{b}: her own account only"
        );
        let refused = eve
            .call("accept_invitation", &[("token", &dave_token)])
            .await;
        assert_eq!(refused.status, 409, "{b}: {refused:?}");
        let html = eve
            .get(&format!("/invite/{dave_token}"))
            .await
            .text()
            .await
            .expect("html");
        assert!(
            html.contains("You are signed in as") && html.contains("Sign out, then sign in"),
            "{b}: the invitation page explains"
        );

        // A signed-in user with the right address joins with the button's server function
        // (through the mailed link: the owner's needs a confirmed address).
        let dave = app.client();
        dave.sign_up("dave@example.com", PASSWORD).await;
        let unconfirmed = dave
            .call("accept_invitation", &[("token", &dave_token)])
            .await;
        assert_eq!(unconfirmed.status, 409, "{b}: {unconfirmed:?}");
        let mailed = support::mailed_token(&app, "dave@example.com", "/invite/").await;
        let accepted = dave.call("accept_invitation", &[("token", &mailed)]).await;
        assert!(accepted.status.is_success(), "{b}: {accepted:?}");
        assert_eq!(account(&dave).await["my_role"], "Billing", "{b}");
    }
}
