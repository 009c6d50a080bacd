//! Every free-text input a client sends has a maximum the server checks before any other work
//! (issue 12, item 4): one row per field of every write (and of the reads that take a search or
//! a token), each sent one character over its limit, must be refused — 422 beside the field
//! or with a plain message, "not found" for a token — with nothing written. SQLite, and
//! PostgreSQL when `TEST_DATABASE_URL` is set.

mod support;

use app::model::{CampaignForm, Schedule, TargetingForm};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use support::{Client, PASSWORD, Reply, TestApp, spawn_all};

/// Who sends a row.
#[derive(Clone, Copy, Debug)]
enum Who {
    Visitor,
    Owner,
    Moderator,
    Admin,
}
use Who::{Admin, Moderator, Owner, Visitor};

/// How a row's arguments travel.
enum Body {
    /// Form fields, as `ActionForm` sends them: the oversized value replaces (or joins) the
    /// row's `key`.
    Form(&'static [(&'static str, &'static str)]),
    /// `save_campaign`'s JSON body: the oversized value goes at the row's `key`, a pointer
    /// into a valid campaign form.
    CampaignForm,
}

struct Row {
    who: Who,
    endpoint: &'static str,
    body: Body,
    /// The argument that gets the oversized value.
    key: &'static str,
    /// Characters of the oversized value: the documented maximum + 1.
    len: usize,
    /// The expected status: 422, or for a token what an unknown one gets.
    status: u16,
    /// The field the error is beside (`"form"`: a plain message; `None`: not looked at).
    field: Option<&'static str>,
}

const fn field(
    who: Who,
    endpoint: &'static str,
    args: &'static [(&'static str, &'static str)],
    key: &'static str,
    len: usize,
    field: &'static str,
) -> Row {
    Row {
        who,
        endpoint,
        body: Body::Form(args),
        key,
        len,
        status: 422,
        field: Some(field),
    }
}

const fn token(
    who: Who,
    endpoint: &'static str,
    args: &'static [(&'static str, &'static str)],
    key: &'static str,
    status: u16,
) -> Row {
    Row {
        who,
        endpoint,
        body: Body::Form(args),
        key,
        len: 129,
        status,
        field: None,
    }
}

const fn campaign(pointer: &'static str, len: usize, field: &'static str) -> Row {
    Row {
        who: Owner,
        endpoint: "save_campaign",
        body: Body::CampaignForm,
        key: pointer,
        len,
        status: 422,
        field: Some(field),
    }
}

const SIGN_UP: &[(&str, &str)] = &[
    ("input[email]", "new@limits.test"),
    ("input[password]", PASSWORD),
    ("input[account_name]", "Limits"),
    ("input[time_zone]", "Europe/Berlin"),
];
const FORGOT: &[(&str, &str)] = &[("input[email]", "owner@limits.test")];
const SIGN_IN: &[(&str, &str)] = &[
    ("input[email]", "owner@limits.test"),
    ("input[password]", PASSWORD),
];
const PASSWORD_CHANGE: &[(&str, &str)] = &[
    ("input[current]", PASSWORD),
    ("input[new]", "a brand new passphrase 7"),
];
const NEW_PASSWORD: &[(&str, &str)] = &[("input[password]", "a brand new passphrase 7")];
const ACCOUNT: &[(&str, &str)] = &[("input[name]", "Limits"), ("input[time_zone]", "UTC")];
const INVITE: &[(&str, &str)] = &[
    ("input[email]", "invitee@limits.test"),
    ("input[role]", "Analyst"),
];
const CAMPAIGNS: &[(&str, &str)] = &[("filter[page]", "0")];
// The ids need not exist: sizes are checked before anything is looked up.
const AD: &[(&str, &str)] = &[
    ("campaign", "1"),
    ("input[title]", "Ad"),
    ("input[text]", "Fresh beans every Monday"),
    ("input[button_label]", "Join"),
    ("input[destination_url]", "https://acme.coffee/club"),
];
const APPEAL: &[(&str, &str)] = &[("decision", "1")];
const CHANNELS: &[(&str, &str)] = &[("filter[page]", "0")];
const FORECAST: &[(&str, &str)] = &[
    ("request[bid]", "1500000"),
    ("request[sort]", "Subscribers"),
    ("request[page]", "0"),
];
const TARGETING_PAGE: &[(&str, &str)] = &[
    ("form[min_subscribers]", ""),
    ("form[max_subscribers]", ""),
    ("form[min_avg_views]", ""),
    ("form[daily_budget]", ""),
    ("form[bid]", "1.50"),
    ("form[sort]", "Subscribers"),
    ("form[page]", "0"),
    ("form[languages][0]", "en"),
];
const QUEUE: &[(&str, &str)] = &[("filter[appeals]", "false")];
const DECLINE: &[(&str, &str)] = &[
    ("task", "1"),
    ("input[approve]", "false"),
    ("input[reasons][0]", "misleading"),
    ("input[note]", "Say what the club costs."),
];
const USERS: &[(&str, &str)] = &[("page", "0")];
const AUDIT: &[(&str, &str)] = &[("filter[page]", "0")];
const POLICY: &[(&str, &str)] = &[
    ("input[code]", "limits"),
    ("input[title]", "Limits"),
    ("input[guideline]", "Written by the input limits test."),
];
const CHANNEL: &[(&str, &str)] = &[
    ("id", "1"),
    ("input[handle]", "limits_channel"),
    ("input[title]", "Limits"),
    ("input[topic]", "crypto"),
    ("input[language]", "en"),
    ("input[subscribers]", "12000"),
    ("input[avg_views]", "3000"),
    ("input[posts_per_day]", "2"),
    ("input[active]", "true"),
];
const SETTINGS_WRITE: &str = "admin_update_catalog_settings";
const SETTINGS: &[(&str, &str)] = &[
    ("input[min_subscribers]", "1000"),
    ("input[slots_per_day]", "3"),
    ("input[min_cpm]", ""),
    ("input[min_total_budget]", ""),
];

/// One row per free-text field of every write, and of the reads that take a search, a filter
/// code or a token.
#[rustfmt::skip]
static ROWS: &[Row] = &[
    // Sign-up, sign-in and passwords.
    field(Visitor, "sign_up", SIGN_UP, "input[email]", 255, "email"),
    field(Visitor, "sign_up", SIGN_UP, "input[password]", 129, "password"),
    field(Visitor, "sign_up", SIGN_UP, "input[account_name]", 81, "account_name"),
    field(Visitor, "sign_up", SIGN_UP, "input[time_zone]", 65, "time_zone"),
    field(Visitor, "sign_up", SIGN_UP, "invite", 129, "form"),
    field(Visitor, "sign_in", SIGN_IN, "input[email]", 255, "email"),
    field(Visitor, "sign_in", SIGN_IN, "input[password]", 129, "password"),
    field(Visitor, "sign_in", SIGN_IN, "invite", 129, "form"),
    field(Owner, "change_password", PASSWORD_CHANGE, "input[current]", 129, "current"),
    field(Owner, "change_password", PASSWORD_CHANGE, "input[new]", 129, "new"),
    // Mailed links and invitations: a token longer than any is unknown, and not looked up.
    token(Visitor, "set_password_by_email", NEW_PASSWORD, "input[token]", 404),
    field(Visitor, "forgot_password", FORGOT, "input[email]", 255, "email"),
    token(Visitor, "email_link", &[], "token", 404),
    token(Owner, "confirm_email", &[], "token", 404),
    token(Visitor, "invitation", &[], "token", 404),
    token(Owner, "accept_invitation", &[], "token", 409),
    // The account and its members.
    field(Owner, "update_account", ACCOUNT, "input[name]", 81, "name"),
    field(Owner, "update_account", ACCOUNT, "input[time_zone]", 65, "time_zone"),
    field(Owner, "invite_member", INVITE, "input[email]", 255, "email"),
    // Campaigns.
    campaign("/name", 81, "name"),
    campaign("/total_budget", 33, "total_budget"),
    campaign("/start", 33, "start"),
    campaign("/end", 33, "end"),
    campaign("/targeting/bid", 33, "bid"),
    campaign("/targeting/daily_budget", 33, "daily_budget"),
    campaign("/targeting/min_subscribers", 33, "min_subscribers"),
    campaign("/targeting/max_subscribers", 33, "max_subscribers"),
    campaign("/targeting/min_avg_views", 33, "min_avg_views"),
    campaign("/targeting/topics/0", 41, "topics"),
    campaign("/targeting/languages/0", 41, "languages"),
    field(Owner, "campaigns", CAMPAIGNS, "filter[search]", 101, "search"),
    field(Owner, "campaigns", CAMPAIGNS, "filter[status]", 41, "status"),
    // Ads and appeals.
    field(Owner, "save_ad", AD, "input[title]", 81, "title"),
    field(Owner, "save_ad", AD, "input[text]", 161, "text"),
    field(Owner, "save_ad", AD, "input[button_label]", 25, "button_label"),
    field(Owner, "save_ad", AD, "input[destination_url]", 2049, "destination_url"),
    field(Owner, "appeal_decision", APPEAL, "input[message]", 1001, "message"),
    // The catalog and forecasts.
    field(Owner, "catalog_channels", CHANNELS, "filter[search]", 101, "search"),
    field(Owner, "catalog_channels", CHANNELS, "filter[topics][0]", 41, "topics"),
    field(Owner, "catalog_channels", CHANNELS, "filter[languages][0]", 41, "languages"),
    field(Owner, "forecast", FORECAST, "request[targeting][topics][0]", 41, "topics"),
    field(Owner, "forecast", FORECAST, "request[targeting][languages][0]", 41, "languages"),
    field(Owner, "targeting_page", TARGETING_PAGE, "find", 101, "form"),
    // Moderation.
    field(Moderator, "review_queue", QUEUE, "filter[language]", 41, "language"),
    field(Moderator, "review_queue", QUEUE, "filter[account]", 33, "account"),
    field(Moderator, "decide_review", DECLINE, "input[note]", 1001, "note"),
    field(Moderator, "decide_review", DECLINE, "input[reasons][0]", 41, "reasons"),
    field(Moderator, "decide_review", DECLINE, "input[field]", 41, "field"),
    // Administration.
    field(Admin, "admin_users", USERS, "search", 255, "form"),
    field(Admin, "admin_audit", AUDIT, "filter[actor]", 255, "actor"),
    field(Admin, "admin_audit", AUDIT, "filter[action]", 41, "action"),
    field(Admin, "save_policy_reason", POLICY, "input[code]", 41, "code"),
    field(Admin, "save_policy_reason", POLICY, "input[title]", 121, "title"),
    field(Admin, "save_policy_reason", POLICY, "input[guideline]", 4001, "guideline"),
    field(Admin, "admin_update_channel", CHANNEL, "input[handle]", 41, "handle"),
    field(Admin, "admin_update_channel", CHANNEL, "input[title]", 129, "title"),
    field(Admin, "admin_update_channel", CHANNEL, "input[topic]", 41, "topic"),
    field(Admin, "admin_update_channel", CHANNEL, "input[language]", 41, "language"),
    field(Admin, "admin_update_channel", CHANNEL, "input[subscribers]", 33, "subscribers"),
    field(Admin, "admin_update_channel", CHANNEL, "input[avg_views]", 33, "avg_views"),
    field(Admin, "admin_update_channel", CHANNEL, "input[posts_per_day]", 33, "posts_per_day"),
    field(Admin, SETTINGS_WRITE, SETTINGS, "input[min_subscribers]", 33, "min_subscribers"),
    field(Admin, SETTINGS_WRITE, SETTINGS, "input[slots_per_day]", 33, "slots_per_day"),
    field(Admin, SETTINGS_WRITE, SETTINGS, "input[min_cpm]", 33, "min_cpm"),
    field(Admin, SETTINGS_WRITE, SETTINGS, "input[min_total_budget]", 33, "min_total_budget"),
    field(Admin, "admin_update_bank_details", &[("password", PASSWORD)], "input[bank_details]", 1001, "bank_details"),
    field(Admin, "admin_update_bank_details", &[("input[bank_details]", "Payee")], "password", 129, "password"),
    field(Admin, "admin_change_role", &[("input[user_id]", "1"), ("input[role]", "Finance"), ("input[grant]", "true")], "password", 129, "password"),
];

/// The campaign form every `save_campaign` row starts from (valid as it is).
fn campaign_form() -> Value {
    serde_json::to_value(CampaignForm {
        name: "Limits".into(),
        targeting: TargetingForm {
            topics: vec!["crypto".into()],
            languages: vec!["en".into()],
            bid: "1.50".into(),
            ..TargetingForm::default()
        },
        total_budget: "250".into(),
        schedule: Some(Schedule::always()),
        ..CampaignForm::default()
    })
    .expect("json")
}

/// Rows of every table a refused call could have written to, per table.
const TABLES: [&str; 15] = [
    "audit_event",
    "platform_text",
    "app_user",
    "ad_account",
    "account_member",
    "campaign",
    "ad",
    "ad_version",
    "invitation",
    "review_decision",
    "appeal",
    "policy_reason",
    "outbox_message",
    "email_link",
    "rate_limit",
];

async fn row_counts(app: &TestApp) -> Vec<(&'static str, i64)> {
    let backend = app.db.get_database_backend();
    let mut counts = Vec::new();
    for table in TABLES {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let count = app
            .db
            .query_one_raw(Statement::from_string(backend, sql))
            .await
            .expect("count")
            .and_then(|row| row.try_get_by_index::<i64>(0).ok())
            .unwrap_or_else(|| panic!("{}: no count of {table}", app.backend));
        counts.push((table, count));
    }
    counts
}

/// A signed-up user (signed in on the returned client) with a confirmed address and `role`.
async fn staff(app: &TestApp, email: &str, role: &str) -> Client {
    let client = app.client();
    let reply = client.sign_up(email, PASSWORD).await;
    assert!(reply.status.is_success(), "{}: {reply:?}", app.backend);
    support::grant_staff(app, email, role).await;
    client
}

async fn send(client: &Client, row: &Row) -> Reply {
    let big = "a".repeat(row.len);
    match row.body {
        Body::Form(args) => {
            let mut args: Vec<(&str, &str)> = args
                .iter()
                .copied()
                .filter(|(k, _)| *k != row.key)
                .collect();
            args.push((row.key, big.as_str()));
            client.call(row.endpoint, &args).await
        }
        Body::CampaignForm => {
            let mut form = campaign_form();
            *form.pointer_mut(row.key).expect("pointer into the form") = json!(big);
            client
                .call_json(row.endpoint, &json!({ "id": null, "form": form }))
                .await
        }
    }
}

#[tokio::test]
async fn every_free_text_input_is_refused_over_its_maximum_with_nothing_written() {
    for app in spawn_all(false).await {
        let b = app.backend;
        app::service::catalog_seed::insert(&app.db, 5, 21)
            .await
            .expect("catalog");
        let visitor = app.client();
        let owner = app.client();
        assert!(
            owner
                .sign_up("owner@limits.test", PASSWORD)
                .await
                .status
                .is_success()
        );
        let moderator = staff(&app, "moderator@limits.test", "moderator").await;
        let admin = staff(&app, "admin@limits.test", "admin").await;
        let before = row_counts(&app).await;
        for row in ROWS {
            let client = match row.who {
                Visitor => &visitor,
                Owner => &owner,
                Moderator => &moderator,
                Admin => &admin,
            };
            let reply = send(client, row).await;
            let what = format!("{b}: {} {} ({} characters)", row.endpoint, row.key, row.len);
            assert_eq!(reply.status.as_u16(), row.status, "{what}: {reply:?}");
            if let Some(field) = row.field {
                assert!(
                    reply.field_error(field).is_some(),
                    "{what}: no error beside {field}: {reply:?}"
                );
            }
            // The oversized value is never repeated back.
            assert!(
                !reply.body.to_string().contains(&"a".repeat(row.len)),
                "{what}: the value was echoed"
            );
            assert_eq!(
                row_counts(&app).await,
                before,
                "{what}: something was written"
            );
        }
        // The callers are still who they were (no row signed anyone in or out).
        assert_eq!(owner.whoami().await.as_deref(), Some("owner@limits.test"));
        assert_eq!(visitor.whoami().await, None, "{b}");
    }
}

#[tokio::test]
async fn values_at_their_maximum_are_accepted() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let owner = app.client();
        assert!(
            owner
                .sign_up("owner@limits.test", PASSWORD)
                .await
                .status
                .is_success()
        );
        let name = "n".repeat(80);
        let renamed = owner
            .call(
                "update_account",
                &[("input[name]", name.as_str()), ("input[time_zone]", "UTC")],
            )
            .await;
        assert!(renamed.status.is_success(), "{b}: {renamed:?}");
        let search = "s".repeat(100);
        let listed = owner
            .call(
                "campaigns",
                &[("filter[search]", search.as_str()), ("filter[page]", "0")],
            )
            .await;
        assert!(listed.status.is_success(), "{b}: {listed:?}");
    }
}
