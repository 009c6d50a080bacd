//! The authorization matrix: every server function and every page route × every kind of
//! caller (signed out, another account, each account role, each staff role), from one table.
//! A server function registered in the process or a route of the app without a row fails the
//! suite, so a new endpoint cannot ship without saying who may call it.

mod support;

use app::model::{CampaignForm, Schedule, TargetingForm};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use support::{Client, PASSWORD, TestApp, member, spawn_all};

/// What a caller gets back, as a class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// 2xx, or 422 (a field error: the call passed authorization). For a page: it renders.
    A,
    /// 401; for a page, the redirect to the sign-in page.
    U,
    /// 403; for a page, the permission message.
    F,
    /// 404; for a page, the "not found" message.
    N,
    /// 409: authorized, refused by the state (sole owner leaving, someone else's invitation).
    C,
    /// A page only for visitors: the redirect of a signed-in user to the dashboard.
    H,
}
use Outcome::{A, C, F, H, N, U};

/// The callers, in the order of every expectation below.
const CALLERS: [&str; 9] = [
    "visitor",
    "foreign",
    "owner",
    "manager",
    "analyst",
    "billing",
    "moderator",
    "finance",
    "admin",
];

/// One outcome per caller, in the order of [`CALLERS`].
type Expect = [Outcome; 9];

// Staff users and the foreign advertiser own an ad account of their own: an endpoint without
// object ids acts there (allowed); one naming the fixture account's objects is "not found".
const PUBLIC: Expect = [A, A, A, A, A, A, A, A, A];
const GUEST_PAGE: Expect = [A, H, H, H, H, H, H, H, H];
const SIGNED_IN: Expect = [U, A, A, A, A, A, A, A, A];
const VIEW_OWN: Expect = [U, A, A, A, A, F, A, A, A];
/// Any member of an account, billing included (each reads what was written to them). Every
/// signed-in caller here is one (staff own an account too), so it matches [`SIGNED_IN`]; it
/// is named for what the endpoint asks.
const ANY_MEMBER: Expect = [U, A, A, A, A, A, A, A, A];
const MANAGE_OWN: Expect = [U, A, A, F, F, F, A, A, A];
const VIEW_CAMPAIGNS: Expect = [U, N, A, A, A, F, N, N, N];
const EDIT_CAMPAIGNS: Expect = [U, N, A, A, F, F, N, N, N];
const MANAGE_ACCOUNT: Expect = [U, N, A, F, F, F, N, N, N];
const MEMBER_OF_FIXTURE: Expect = [U, N, A, A, A, A, N, N, N];
const MODERATOR: Expect = [U, F, F, F, F, F, A, F, F];
const ADMIN: Expect = [U, F, F, F, F, F, F, F, A];
const FINANCE: Expect = [U, F, F, F, F, F, F, A, F];
/// Finance's own pages, which admins may read.
const FINANCE_READ: Expect = [U, F, F, F, F, F, F, A, A];
/// A finance object that does not exist: finance is told so, everyone else is refused first.
const FINANCE_UNKNOWN: Expect = [U, F, F, F, F, F, F, N, F];
/// A finance object that does not exist, on a page admins read too.
const FINANCE_READ_UNKNOWN: Expect = [U, F, F, F, F, F, F, N, N];
/// The fixture account's statement by id: finance and admins read any account's; its own
/// money readers read it too; other accounts' members are told it does not exist.
const STATEMENT_OF_FIXTURE: Expect = [U, N, A, A, F, A, N, A, A];
/// Money of one's own current account: owners, managers and billing members (staff own one).
const VIEW_BILLING: Expect = [U, A, A, A, F, A, A, A, A];
/// Nobody but the invited address may accept an invitation.
const SOMEONE_ELSES_INVITATION: Expect = [U, C, C, C, C, C, C, C, C];
/// An unknown mailed-link token.
const UNKNOWN_LINK: Expect = [N, N, N, N, N, N, N, N, N];
const SIGNED_IN_UNKNOWN_LINK: Expect = [U, N, N, N, N, N, N, N, N];
/// A new confirmation mail: the staff's addresses are confirmed already (roles need that).
const RESEND: Expect = [U, A, A, A, A, A, C, C, C];
/// Sole owners may not leave; other members may.
const LEAVE: Expect = [U, C, C, A, A, A, C, C, C];

/// How a row's arguments travel.
enum Body {
    /// `application/x-www-form-urlencoded`, as `ActionForm` sends it.
    Form(&'static [(&'static str, &'static str)]),
    /// A JSON body (`input = Json`).
    Json(&'static str),
    /// A CSV file as multipart form data.
    Upload,
}

/// An object made anew before each cell (so a write does not use up the fixture), named
/// `{fresh}` in the arguments.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fresh {
    No,
    /// The caller signs in again on a new client (the call ends its session).
    Session,
    /// A draft ad in a new campaign.
    Ad,
    /// A draft campaign.
    Campaign,
    /// A draft campaign with one draft ad.
    CampaignWithAd,
    /// An open invitation.
    Invitation,
    /// The spare user is (again) an analyst of the fixture account.
    Member,
    /// A staged catalog import.
    Import,
    /// A declined decision on a new ad.
    Decision,
    /// A review task, claimed by the moderator caller.
    Task,
}

struct Row {
    endpoint: &'static str,
    body: Body,
    fresh: Fresh,
    expect: Expect,
}

const fn row(
    endpoint: &'static str,
    args: &'static [(&'static str, &'static str)],
    expect: Expect,
) -> Row {
    Row {
        endpoint,
        body: Body::Form(args),
        fresh: Fresh::No,
        expect,
    }
}

const fn fresh(
    endpoint: &'static str,
    args: &'static [(&'static str, &'static str)],
    fresh: Fresh,
    expect: Expect,
) -> Row {
    Row {
        endpoint,
        body: Body::Form(args),
        fresh,
        expect,
    }
}

/// Every server function. Rows run in this order, each for every caller: rows that end a
/// caller's session use fresh sessions, and `leave_account` (which ends memberships) is last.
static ENDPOINTS: &[Row] = &[
    // Sign-in and the session.
    row("viewer", &[], PUBLIC),
    row("unread_notifications", &[], PUBLIC),
    row(
        "sign_up",
        &[
            ("input[email]", "not-an-email"),
            ("input[password]", "short"),
            ("input[account_name]", "Matrix"),
            ("input[time_zone]", "Europe/Berlin"),
        ],
        PUBLIC,
    ),
    row(
        "sign_in",
        &[("input[email]", "not-an-email"), ("input[password]", "")],
        PUBLIC,
    ),
    row(
        "switch_account",
        &[("account_id", "{account}")],
        MEMBER_OF_FIXTURE,
    ),
    // The dashboard: each part only where the role allows (checked in the service tests).
    row("dashboard", &[], SIGNED_IN),
    // The account and its members.
    row("account", &[], SIGNED_IN),
    row(
        "update_account",
        &[
            ("input[name]", "{own_account_name}"),
            ("input[time_zone]", "Europe/Berlin"),
        ],
        MANAGE_OWN,
    ),
    row(
        "invite_member",
        &[
            ("input[email]", "newcomer@example.com"),
            ("input[role]", "Analyst"),
        ],
        MANAGE_OWN,
    ),
    row("invitations", &[], MANAGE_OWN),
    fresh(
        "revoke_invitation",
        &[("id", "{fresh}")],
        Fresh::Invitation,
        MANAGE_ACCOUNT,
    ),
    fresh(
        "change_member_role",
        &[("input[user_id]", "{spare}"), ("input[role]", "Analyst")],
        Fresh::Member,
        MANAGE_ACCOUNT,
    ),
    fresh(
        "remove_member",
        &[("user_id", "{spare}")],
        Fresh::Member,
        MANAGE_ACCOUNT,
    ),
    row("invitation", &[("token", "{token}")], PUBLIC),
    row(
        "accept_invitation",
        &[("token", "{token}")],
        SOMEONE_ELSES_INVITATION,
    ),
    // Campaigns and ads.
    row("campaigns", &[("filter[page]", "0")], VIEW_OWN),
    row("campaign_builder", &[("id", "{campaign}")], VIEW_CAMPAIGNS),
    Row {
        endpoint: "save_campaign",
        body: Body::Json(r#"{"id": {campaign}, "form": {campaign_form}}"#),
        fresh: Fresh::No,
        expect: EDIT_CAMPAIGNS,
    },
    fresh(
        "submit_campaign",
        &[("id", "{fresh}")],
        Fresh::CampaignWithAd,
        EDIT_CAMPAIGNS,
    ),
    fresh(
        "campaign_action",
        &[("id", "{fresh}"), ("action", "Archive")],
        Fresh::Campaign,
        EDIT_CAMPAIGNS,
    ),
    row("clone_campaign", &[("id", "{campaign}")], EDIT_CAMPAIGNS),
    row("ads", &[("campaign", "{campaign}")], VIEW_CAMPAIGNS),
    row(
        "ad_editor",
        &[("campaign", "{campaign}"), ("ad", "{draft_ad}")],
        VIEW_CAMPAIGNS,
    ),
    row(
        "save_ad",
        &[
            ("campaign", "{campaign}"),
            ("ad", "{draft_ad}"),
            ("input[title]", "Draft"),
            ("input[text]", "Fresh beans every Tuesday"),
            ("input[button_label]", "Order"),
            ("input[destination_url]", "https://acme.coffee"),
        ],
        EDIT_CAMPAIGNS,
    ),
    fresh("submit_ad", &[("ad", "{fresh}")], Fresh::Ad, EDIT_CAMPAIGNS),
    row(
        "pause_ad",
        &[("ad", "{draft_ad}"), ("paused", "false")],
        EDIT_CAMPAIGNS,
    ),
    fresh(
        "appeal_decision",
        &[
            ("decision", "{fresh}"),
            ("input[message]", "The price is on the landing page."),
        ],
        Fresh::Decision,
        EDIT_CAMPAIGNS,
    ),
    row("notifications", &[], ANY_MEMBER),
    row(
        "notifications_read",
        &[("up_to", "{notification}")],
        ANY_MEMBER,
    ),
    // The catalog and forecasts.
    row("catalog_topics", &[], SIGNED_IN),
    row("targeting_options", &[], SIGNED_IN),
    row(
        "targeting_page",
        &[
            ("form[topics][0]", "crypto"),
            ("form[languages][0]", "en"),
            ("form[min_subscribers]", ""),
            ("form[max_subscribers]", ""),
            ("form[min_avg_views]", ""),
            ("form[daily_budget]", ""),
            ("form[include][0]", "{channel}"),
            ("form[exclude][0]", "{last_channel}"),
            ("form[bid]", "1.50"),
            ("form[sort]", "Subscribers"),
            ("form[page]", "0"),
            ("find", "a"),
        ],
        SIGNED_IN,
    ),
    row("catalog_channels", &[("filter[page]", "0")], SIGNED_IN),
    row(
        "forecast",
        &[
            ("request[targeting][min_subscribers]", "1000"),
            ("request[bid]", "1500000"),
            ("request[sort]", "Subscribers"),
            ("request[page]", "0"),
        ],
        SIGNED_IN,
    ),
    // Moderation.
    row("policy_reasons", &[], PUBLIC),
    row("review_times", &[], PUBLIC),
    row("review_queue", &[("filter[appeals]", "false")], MODERATOR),
    row("next_review", &[("appeals", "false")], MODERATOR),
    row("open_review", &[("task", "{task}")], MODERATOR),
    row("claim_review", &[("task", "{task}")], MODERATOR),
    row("release_review", &[("task", "{task}")], MODERATOR),
    fresh(
        "decide_review",
        &[("task", "{fresh}"), ("input[approve]", "true")],
        Fresh::Task,
        MODERATOR,
    ),
    // Administration.
    row("admin_users", &[("search", ""), ("page", "0")], ADMIN),
    row(
        "admin_change_role",
        &[
            ("input[user_id]", "{finance_user}"),
            ("input[role]", "Finance"),
            ("input[grant]", "true"),
            ("password", PASSWORD),
        ],
        ADMIN,
    ),
    row("admin_audit", &[("filter[page]", "0")], ADMIN),
    row(
        "save_policy_reason",
        &[
            ("input[code]", "matrix-reason"),
            ("input[title]", "Matrix reason"),
            (
                "input[guideline]",
                "Written by the authorization matrix test.",
            ),
            ("input[active]", "false"),
        ],
        ADMIN,
    ),
    row("admin_topics", &[], ADMIN),
    row(
        "admin_save_topic",
        &[
            ("input[slug]", "matrix-topic"),
            ("input[name]", "Matrix topic"),
        ],
        ADMIN,
    ),
    row("admin_channel", &[("id", "{channel}")], ADMIN),
    row(
        "admin_update_channel",
        &[
            ("id", "{channel}"),
            ("input[handle]", "{ch_handle}"),
            ("input[title]", "{ch_title}"),
            ("input[topic]", "{ch_topic}"),
            ("input[language]", "{ch_language}"),
            ("input[subscribers]", "{ch_subscribers}"),
            ("input[avg_views]", "{ch_avg_views}"),
            ("input[posts_per_day]", "{ch_posts_per_day}"),
            ("input[active]", "true"),
        ],
        ADMIN,
    ),
    row("admin_catalog_settings", &[], ADMIN),
    row(
        "admin_update_catalog_settings",
        &[
            ("input[min_subscribers]", "{set_min_subscribers}"),
            ("input[slots_per_day]", "{set_slots_per_day}"),
            ("input[min_cpm]", "{set_min_cpm}"),
            ("input[min_total_budget]", "{set_min_total_budget}"),
        ],
        ADMIN,
    ),
    row("admin_bank_details", &[], ADMIN),
    row(
        "admin_update_bank_details",
        &[
            (
                "input[bank_details]",
                "Matrix Payee\nIBAN DE89 3704 0044 0532 0130 00",
            ),
            ("password", PASSWORD),
        ],
        ADMIN,
    ),
    Row {
        endpoint: "admin_catalog_import_upload",
        body: Body::Upload,
        fresh: Fresh::No,
        expect: ADMIN,
    },
    row("admin_catalog_import", &[("id", "{import}")], ADMIN),
    row(
        "admin_catalog_import_progress",
        &[("id", "{import}")],
        ADMIN,
    ),
    fresh(
        "admin_catalog_import_discard",
        &[("id", "{fresh}")],
        Fresh::Import,
        ADMIN,
    ),
    fresh(
        "admin_catalog_import_apply",
        &[("id", "{fresh}")],
        Fresh::Import,
        ADMIN,
    ),
    // Mailed links: a token nobody was sent is "not found" for everyone.
    row(
        "email_link",
        &[("token", "matrix-no-such-link")],
        UNKNOWN_LINK,
    ),
    row(
        "confirm_email",
        &[("token", "matrix-no-such-link")],
        SIGNED_IN_UNKNOWN_LINK,
    ),
    row(
        "set_password_by_email",
        &[
            ("input[token]", "matrix-no-such-link"),
            ("input[password]", "a brand new passphrase 7"),
        ],
        UNKNOWN_LINK,
    ),
    // Anyone may ask (signed in or not); the answer never says whether the address has a
    // login. Nine callers stay well within the ten requests an hour per client address.
    row(
        "forgot_password",
        &[("input[email]", "nobody@matrix.test")],
        PUBLIC,
    ),
    row("resend_confirmation", &[], RESEND),
    row("admin_mail", &[("page", "0")], ADMIN),
    row("balance", &[("page", "0")], VIEW_BILLING),
    row("set_low_balance", &[("amount", "25")], MANAGE_OWN),
    row(
        "finance_accounts",
        &[("query", ""), ("sort", "available"), ("page", "0")],
        FINANCE_READ,
    ),
    row(
        "reverse_charges",
        &[
            ("input[scope]", "decision"),
            ("input[decision]", "999999"),
            ("input[channel]", ""),
            ("input[from]", ""),
            ("input[to]", ""),
            ("input[reason]", "matrix"),
        ],
        FINANCE,
    ),
    row("list_corrections", &[("page", "0")], FINANCE_READ),
    row("correction_requests", &[], FINANCE_READ),
    row(
        "decide_correction",
        &[
            ("input[request]", "999999"),
            ("input[approve]", "true"),
            ("input[reason]", ""),
        ],
        FINANCE_UNKNOWN,
    ),
    row(
        "cancel_correction",
        &[("request", "999999")],
        FINANCE_UNKNOWN,
    ),
    row(
        "finance_spend",
        &[("from", ""), ("to", ""), ("period", "month")],
        FINANCE_READ,
    ),
    row("finance_payables", &[("month", "")], FINANCE_READ),
    row(
        "decide_payout",
        &[
            ("input[request]", "999999"),
            ("input[approve]", "true"),
            ("input[reason]", ""),
        ],
        FINANCE_UNKNOWN,
    ),
    row("cancel_payout", &[("request", "999999")], FINANCE_UNKNOWN),
    row(
        "mark_payout_paid",
        &[
            ("input[channel]", "999999"),
            ("input[currency]", "EUR"),
            ("input[month]", "2020-01"),
            ("input[reference]", "MATRIX-P"),
        ],
        FINANCE_UNKNOWN,
    ),
    row(
        "finance_reconcile",
        &[("from", ""), ("to", "")],
        FINANCE_READ,
    ),
    row("account_statement", &[("month", "")], VIEW_BILLING),
    row(
        "finance_statement",
        &[("account", "{account}"), ("month", "")],
        STATEMENT_OF_FIXTURE,
    ),
    row(
        "credit_balance",
        &[
            ("input[account]", "{account}"),
            ("input[amount]", "10"),
            ("input[reference]", "MATRIX-1"),
            ("input[note]", ""),
        ],
        FINANCE,
    ),
    row(
        "refund_balance",
        &[
            ("input[account]", "{account}"),
            ("input[top_up]", "999999"),
            ("input[amount]", "10"),
            ("input[reference]", "MATRIX-R"),
            ("input[reason]", "matrix"),
        ],
        FINANCE,
    ),
    row("finance_requests", &[], FINANCE_READ),
    row(
        "finance_account_history",
        &[
            ("account", "{account}"),
            ("kind", ""),
            ("from", ""),
            ("to", ""),
            ("page", "0"),
        ],
        FINANCE_READ,
    ),
    row(
        "decide_finance_request",
        &[
            ("input[request]", "999999"),
            ("input[approve]", "true"),
            ("input[reason]", ""),
        ],
        FINANCE_UNKNOWN,
    ),
    row(
        "cancel_finance_request",
        &[("request", "999999")],
        FINANCE_UNKNOWN,
    ),
    row("delivery_keys", &[], ADMIN),
    row(
        "create_delivery_key",
        &[("input[name]", "Matrix network"), ("password", PASSWORD)],
        ADMIN,
    ),
    row("revoke_delivery_key", &[("id", "{delivery_key}")], ADMIN),
    // Reports: the fixture's campaign (billing members read its money), share links (owners
    // and managers); an account's own report is the `/reports` page below.
    Row {
        endpoint: "report",
        body: Body::Json(r#"{"query": {"campaign": "{campaign}", "by": "channel"}}"#),
        fresh: Fresh::No,
        expect: MEMBER_OF_FIXTURE,
    },
    Row {
        endpoint: "shared_report",
        body: Body::Json(r#"{"token": "rs_matrix-no-such-link", "query": {}}"#),
        fresh: Fresh::No,
        expect: UNKNOWN_LINK,
    },
    row("share_links", &[("campaign", "{campaign}")], EDIT_CAMPAIGNS),
    row(
        "create_share_link",
        &[
            ("input[campaign]", "{campaign}"),
            ("input[label]", "Matrix client"),
            ("input[days]", "7"),
        ],
        EDIT_CAMPAIGNS,
    ),
    row(
        "revoke_share_link",
        &[("id", "{share_link}")],
        EDIT_CAMPAIGNS,
    ),
    // Last: these end memberships, then sessions (on fresh sessions of their own; a password
    // change or "sign out everywhere" also ends the caller's other sessions).
    row("leave_account", &[], LEAVE),
    fresh("sign_out_everywhere", &[], Fresh::Session, SIGNED_IN),
    fresh(
        "change_password",
        &[("input[current]", PASSWORD), ("input[new]", PASSWORD)],
        Fresh::Session,
        SIGNED_IN,
    ),
    fresh("sign_out", &[], Fresh::Session, PUBLIC),
];

/// Every page route (public ones too), with `{placeholders}` for the fixture's ids.
static PAGES: &[(&str, &str, Expect)] = &[
    ("/sign-in", "/sign-in", GUEST_PAGE),
    ("/sign-up", "/sign-up", GUEST_PAGE),
    ("/forgot-password", "/forgot-password", GUEST_PAGE),
    ("/invite/{token}", "/invite/{token}", PUBLIC),
    ("/guidelines", "/guidelines", PUBLIC),
    ("/review-times", "/review-times", PUBLIC),
    ("/", "/", SIGNED_IN),
    ("/account", "/account", SIGNED_IN),
    ("/targeting", "/targeting", SIGNED_IN),
    ("/channels", "/channels", SIGNED_IN),
    ("/notifications", "/notifications", ANY_MEMBER),
    ("/campaigns", "/campaigns", VIEW_OWN),
    ("/campaigns/new", "/campaigns/new", VIEW_OWN),
    ("/campaigns/{id}", "/campaigns/{campaign}", VIEW_CAMPAIGNS),
    (
        "/campaigns/{id}/ads/new",
        "/campaigns/{campaign}/ads/new",
        VIEW_CAMPAIGNS,
    ),
    (
        "/campaigns/{id}/ads/{ad}",
        "/campaigns/{campaign}/ads/{draft_ad}",
        VIEW_CAMPAIGNS,
    ),
    ("/moderation", "/moderation", MODERATOR),
    ("/moderation/{task}", "/moderation/{task}", MODERATOR),
    ("/admin/policy", "/admin/policy", ADMIN),
    ("/admin/topics", "/admin/topics", ADMIN),
    ("/admin/channels/{id}", "/admin/channels/{channel}", ADMIN),
    ("/admin/users", "/admin/users", ADMIN),
    ("/admin/audit", "/admin/audit", ADMIN),
    ("/admin/catalog-import", "/admin/catalog-import", ADMIN),
    ("/admin/settings", "/admin/settings", ADMIN),
    ("/admin/mail", "/admin/mail", ADMIN),
    ("/admin/delivery-keys", "/admin/delivery-keys", ADMIN),
    ("/balance", "/balance", VIEW_BILLING),
    ("/reports", "/reports", SIGNED_IN),
    // A public page: an unknown link says so itself (`shared_report` answers "not found").
    ("/shared/{token}", "/shared/rs_matrix-no-such-link", PUBLIC),
    ("/finance", "/finance", FINANCE_READ),
    (
        "/finance/accounts/{id}",
        "/finance/accounts/999999",
        FINANCE_READ_UNKNOWN,
    ),
    (
        "/finance/accounts/{id}/statement",
        "/finance/accounts/999999/statement",
        FINANCE_READ_UNKNOWN,
    ),
    ("/billing/statement", "/billing/statement", VIEW_BILLING),
    ("/finance/spend", "/finance/spend", FINANCE_READ),
    ("/finance/payables", "/finance/payables", FINANCE_READ),
    ("/finance/corrections", "/finance/corrections", FINANCE_READ),
    (
        "/finance/reconciliation",
        "/finance/reconciliation",
        FINANCE_READ,
    ),
    (
        "/developers/delivery-api",
        "/developers/delivery-api",
        PUBLIC,
    ),
    ("/security", "/security", SIGNED_IN),
    // A public page: it explains an unknown link itself (`email_link` answers "not found").
    ("/verify/{token}", "/verify/matrix-no-such-link", PUBLIC),
];

const CSV: &str = "handle,title,topic,language,subscribers,avg_views,posts_per_day\n\
                   matrix_channel,Matrix,crypto,en,12000,3000,2\n";

/// The campaign every advertiser-side row works on.
fn campaign_form() -> Value {
    serde_json::to_value(CampaignForm {
        name: "Matrix campaign".into(),
        targeting: TargetingForm {
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

fn fill(template: &str, values: &HashMap<&'static str, String>) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (key, value)| {
            text.replace(&format!("{{{key}}}"), value)
        })
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let backend = app.db.get_database_backend();
    app.db
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .expect(sql)
        .and_then(|row| row.try_get_by_index::<i64>(0).ok())
        .unwrap_or_else(|| panic!("{}: no value for {sql}", app.backend))
}

fn id_of(reply: &support::Reply, what: &str) -> String {
    reply
        .body
        .as_i64()
        .or_else(|| reply.body["id"].as_i64())
        .unwrap_or_else(|| panic!("{what}: {reply:?}"))
        .to_string()
}

/// The callers' clients and the fixture's ids.
struct Fixture {
    clients: Vec<Client>,
    emails: [String; 9],
    values: HashMap<&'static str, String>,
    /// A client for the current cell only (a fresh session).
    cell_client: Option<Client>,
}

impl Fixture {
    fn owner(&self) -> &Client {
        &self.clients[2]
    }
    fn moderator(&self) -> &Client {
        &self.clients[6]
    }
    fn admin(&self) -> &Client {
        &self.clients[8]
    }
}

async fn signed_up(app: &TestApp, email: &str) -> Client {
    let client = app.client();
    let reply = client.sign_up(email, PASSWORD).await;
    assert!(
        reply.status.is_success(),
        "{}: {email}: {reply:?}",
        app.backend
    );
    client
}

/// Grants a staff role to a user with a confirmed address (roles key on the address).
async fn grant(app: &TestApp, email: &str, role: &str) {
    app.db
        .execute_unprepared(&format!(
            "UPDATE app_user SET email_verified_at = CURRENT_TIMESTAMP WHERE email = '{email}'"
        ))
        .await
        .expect("verify");
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO staff_role (user_id, role, granted_by, granted_at) \
             SELECT id, '{role}', NULL, CURRENT_TIMESTAMP FROM app_user WHERE email = '{email}'"
        ))
        .await
        .expect("grant");
}

async fn new_campaign(owner: &Client) -> String {
    let saved = owner
        .call_json(
            "save_campaign",
            &json!({ "id": null, "form": campaign_form() }),
        )
        .await;
    id_of(&saved, "save_campaign")
}

async fn new_ad(owner: &Client, campaign: &str) -> String {
    let saved = owner
        .call(
            "save_ad",
            &[
                ("campaign", campaign),
                ("input[title]", "Club"),
                ("input[text]", "Fresh beans every Monday"),
                ("input[button_label]", "Join"),
                ("input[destination_url]", "https://acme.coffee/club"),
            ],
        )
        .await;
    id_of(&saved, "save_ad")
}

/// A new campaign with one ad sent for review; returns the review task's id.
async fn new_task(app: &TestApp, owner: &Client) -> String {
    let campaign = new_campaign(owner).await;
    new_ad(owner, &campaign).await;
    let sent = owner
        .call("submit_campaign", &[("id", campaign.as_str())])
        .await;
    assert!(sent.status.is_success(), "{}: {sent:?}", app.backend);
    scalar(app, "SELECT MAX(id) FROM review_task")
        .await
        .to_string()
}

/// A task on a new ad, declined by the moderator; returns the decision's id.
async fn new_decision(app: &TestApp, fixture: &Fixture) -> String {
    let task = new_task(app, fixture.owner()).await;
    let moderator = fixture.moderator();
    let opened = moderator
        .call("claim_review", &[("task", task.as_str())])
        .await;
    assert!(opened.status.is_success(), "{}: {opened:?}", app.backend);
    let declined = moderator
        .call(
            "decide_review",
            &[
                ("task", task.as_str()),
                ("input[approve]", "false"),
                ("input[reasons][0]", "misleading"),
                ("input[note]", "Say what the club costs."),
            ],
        )
        .await;
    assert!(
        declined.status.is_success(),
        "{}: {declined:?}",
        app.backend
    );
    scalar(app, "SELECT MAX(id) FROM review_decision")
        .await
        .to_string()
}

async fn upload(client: &Client) -> reqwest::Response {
    let part = reqwest::multipart::Part::text(CSV.to_owned())
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

async fn new_import(app: &TestApp, admin: &Client) -> String {
    let staged = upload(admin).await;
    assert!(
        staged.status().is_success(),
        "{}: {}",
        app.backend,
        staged.status()
    );
    let preview: Value = staged.json().await.expect("preview");
    preview["id"].to_string()
}

/// Signs up every caller, and makes the account under test with its objects.
async fn fixture(app: &TestApp) -> Fixture {
    app::service::catalog_seed::insert(&app.db, 20, 21)
        .await
        .expect("catalog");
    let mut values: HashMap<&'static str, String> = HashMap::new();
    let emails = CALLERS.map(|who| format!("{who}@matrix.test"));
    let owner = signed_up(app, &emails[2]).await;
    let account = owner.call("account", &[]).await.body["id"]
        .as_i64()
        .expect("account id");
    let visitor = app.client();
    let foreign = signed_up(app, &emails[1]).await;
    let manager = member(app, &emails[3], "manager", account).await;
    let analyst = member(app, &emails[4], "analyst", account).await;
    let billing = member(app, &emails[5], "billing", account).await;
    let spare = member(app, "spare@matrix.test", "analyst", account).await;
    let spare_id = spare.call("viewer", &[]).await.body["user_id"].to_string();
    let mut staff = Vec::new();
    for (i, role) in [(6, "moderator"), (7, "finance"), (8, "admin")] {
        staff.push(signed_up(app, &emails[i]).await);
        grant(app, &emails[i], role).await;
    }
    let finance_user = staff[1].call("viewer", &[]).await.body["user_id"].to_string();
    let clients: Vec<Client> = [visitor, foreign, owner, manager, analyst, billing]
        .into_iter()
        .chain(staff)
        .collect();
    let mut fixture = Fixture {
        clients,
        emails,
        values: HashMap::new(),
        cell_client: None,
    };
    let owner = fixture.owner();

    // A campaign with an ad in review (its task) and a draft ad to edit.
    let campaign = new_campaign(owner).await;
    new_ad(owner, &campaign).await;
    let sent = owner
        .call("submit_campaign", &[("id", campaign.as_str())])
        .await;
    assert!(sent.status.is_success(), "{}: {sent:?}", app.backend);
    let task = scalar(app, "SELECT MAX(id) FROM review_task").await;
    let draft_ad = new_ad(owner, &campaign).await;
    // A decision, so that the owner has a notification.
    new_decision(app, &fixture).await;
    let notification = scalar(app, "SELECT MAX(id) FROM notification").await;
    let owner = fixture.owner();
    let invited = owner
        .call(
            "invite_member",
            &[
                ("input[email]", "invitee@matrix.test"),
                ("input[role]", "Analyst"),
            ],
        )
        .await;
    let token = invited.body["path"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: {invited:?}", app.backend))
        .trim_start_matches("/invite/")
        .to_owned();

    // Administration: a channel's and the settings' current values, and a staged import.
    let admin = fixture.admin();
    let channel = scalar(app, "SELECT MIN(id) FROM channel").await.to_string();
    let loaded = admin
        .call("admin_channel", &[("id", channel.as_str())])
        .await;
    assert!(loaded.status.is_success(), "{}: {loaded:?}", app.backend);
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    for (key, field) in [
        ("ch_handle", "handle"),
        ("ch_title", "title"),
        ("ch_topic", "topic"),
        ("ch_language", "language"),
        ("ch_subscribers", "subscribers"),
        ("ch_avg_views", "avg_views"),
        ("ch_posts_per_day", "posts_per_day"),
    ] {
        values.insert(key, text(&loaded.body[1][field]));
    }
    let settings = admin.call("admin_catalog_settings", &[]).await;
    assert!(
        settings.status.is_success(),
        "{}: {settings:?}",
        app.backend
    );
    for (key, field) in [
        ("set_min_subscribers", "min_subscribers"),
        ("set_slots_per_day", "slots_per_day"),
        ("set_min_cpm", "min_cpm"),
        ("set_min_total_budget", "min_total_budget"),
    ] {
        values.insert(key, text(&settings.body[field]));
    }
    let import = new_import(app, admin).await;

    values.insert("account", account.to_string());
    values.insert("campaign", campaign);
    values.insert("campaign_form", campaign_form().to_string());
    values.insert("draft_ad", draft_ad);
    values.insert("task", task.to_string());
    values.insert("notification", notification.to_string());
    values.insert("token", token);
    values.insert("spare", spare_id);
    values.insert("finance_user", finance_user);
    values.insert("channel", channel);
    values.insert(
        "last_channel",
        scalar(app, "SELECT MAX(id) FROM channel").await.to_string(),
    );
    values.insert("import", import);
    let key = app::service::delivery::keys::create_unchecked(
        &app.db,
        "Matrix network",
        None,
        chrono::Utc::now(),
    )
    .await
    .expect("delivery key");
    values.insert("delivery_key", key.id.to_string());
    let shared = fixture
        .owner()
        .call(
            "create_share_link",
            &[
                ("input[campaign]", values["campaign"].as_str()),
                ("input[label]", "Matrix fixture"),
                ("input[days]", "7"),
            ],
        )
        .await;
    assert!(shared.status.is_success(), "{}: {shared:?}", app.backend);
    values.insert("share_link", shared.body["id"].to_string());
    fixture.values = values;
    fixture
}

/// Makes the row's fresh object for caller `who`; returns its id (empty when there is none).
async fn make_fresh(app: &TestApp, fixture: &mut Fixture, kind: Fresh, who: usize) -> String {
    let owner = fixture.owner();
    match kind {
        Fresh::No => String::new(),
        Fresh::Session => {
            let client = app.client();
            if who != 0 {
                let reply = client.sign_in(&fixture.emails[who], PASSWORD).await;
                assert!(reply.status.is_success(), "{}: {reply:?}", app.backend);
            }
            fixture.cell_client = Some(client);
            String::new()
        }
        // A campaign of its own: a campaign has at most 10 ads.
        Fresh::Ad => new_ad(owner, &new_campaign(owner).await).await,
        Fresh::Campaign => new_campaign(owner).await,
        Fresh::CampaignWithAd => {
            let campaign = new_campaign(owner).await;
            new_ad(owner, &campaign).await;
            campaign
        }
        Fresh::Invitation => {
            let email = format!("fresh{who}@matrix.test");
            let reply = owner
                .call(
                    "invite_member",
                    &[("input[email]", email.as_str()), ("input[role]", "Analyst")],
                )
                .await;
            id_of(&reply, "invite_member")
        }
        Fresh::Member => {
            let (account, spare) = (&fixture.values["account"], &fixture.values["spare"]);
            app.db
                .execute_unprepared(&format!(
                    "DELETE FROM account_member WHERE account_id = {account} AND user_id = {spare}"
                ))
                .await
                .expect("spare out");
            app.db
                .execute_unprepared(&format!(
                    "INSERT INTO account_member (account_id, user_id, role, created_at) \
                     VALUES ({account}, {spare}, 'analyst', CURRENT_TIMESTAMP)"
                ))
                .await
                .expect("spare in");
            String::new()
        }
        Fresh::Import => new_import(app, fixture.admin()).await,
        Fresh::Decision => new_decision(app, fixture).await,
        Fresh::Task => {
            let task = new_task(app, owner).await;
            let opened = fixture
                .moderator()
                .call("claim_review", &[("task", task.as_str())])
                .await;
            assert!(opened.status.is_success(), "{}: {opened:?}", app.backend);
            task
        }
    }
}

fn classify_status(status: u16) -> Result<Outcome, u16> {
    match status {
        200..=299 | 422 => Ok(A),
        401 => Ok(U),
        403 => Ok(F),
        404 => Ok(N),
        409 => Ok(C),
        other => Err(other),
    }
}

/// A page's class: the sign-in redirect, the error the page shows, or its content.
async fn classify_page(response: reqwest::Response) -> Result<Outcome, String> {
    let status = response.status().as_u16();
    if status == 302 || status == 303 {
        let to = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        return if to == "/sign-in" {
            Ok(U)
        } else if to == "/" {
            Ok(H)
        } else {
            Err(format!("redirect to {to}"))
        };
    }
    let html = response.text().await.unwrap_or_default();
    match status {
        404 => Ok(N),
        200 if html.contains("You do not have permission to do that.") => Ok(F),
        200 if html.contains("Not found.") => Ok(N),
        200 if html.contains("Please sign in to continue.") => Ok(U),
        200 if html.contains("Something went wrong") => Err("an internal error".into()),
        200 => Ok(A),
        other => Err(format!("status {other}")),
    }
}

/// A 422 that only says the row's arguments did not decode proves nothing about authorization.
fn undecoded(reply: &support::Reply) -> bool {
    let text = reply.body.to_string();
    reply.status == 422
        && [
            "missing field",
            "unknown variant",
            "invalid type",
            "invalid digit",
        ]
        .iter()
        .any(|m| text.contains(m))
}

async fn call_row(
    client: &Client,
    row: &Row,
    values: &HashMap<&'static str, String>,
) -> Result<(Outcome, String), String> {
    let status = match &row.body {
        Body::Form(args) => {
            let args: Vec<(&str, String)> =
                args.iter().map(|(k, v)| (*k, fill(v, values))).collect();
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let reply = client.call(row.endpoint, &args).await;
            if undecoded(&reply) {
                return Err(format!("arguments did not decode: {}", reply.body));
            }
            return classify_status(reply.status.as_u16())
                .map_err(|s| format!("status {s}"))
                .map(|o| (o, format!("{} {}", reply.status, reply.body)));
        }
        Body::Json(template) => {
            let body: Value = serde_json::from_str(&fill(template, values)).expect("json row");
            let reply = client.call_json(row.endpoint, &body).await;
            if undecoded(&reply) {
                return Err(format!("arguments did not decode: {}", reply.body));
            }
            return classify_status(reply.status.as_u16())
                .map_err(|s| format!("status {s}"))
                .map(|o| (o, format!("{} {}", reply.status, reply.body)));
        }
        Body::Upload => upload(client).await.status().as_u16(),
    };
    classify_status(status)
        .map_err(|s| format!("status {s}"))
        .map(|o| (o, status.to_string()))
}

/// What keeps the table complete: every server function registered in the process and every
/// route of the app has a row, and every row names one. Returns the problems found.
fn completeness() -> Vec<String> {
    let mut problems = Vec::new();
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_owned())
        .collect();
    let rows: BTreeSet<String> = ENDPOINTS.iter().map(|r| r.endpoint.to_owned()).collect();
    if rows.len() != ENDPOINTS.len() {
        problems.push("an endpoint has two rows in ENDPOINTS".to_owned());
    }
    for missing in registered.difference(&rows) {
        problems.push(format!("server function {missing} has no row in ENDPOINTS"));
    }
    for stale in rows.difference(&registered) {
        problems.push(format!("ENDPOINTS row {stale} names no server function"));
    }
    let routes: BTreeSet<String> = server::router::route_list()
        .iter()
        .map(|r| r.path().to_owned())
        .collect();
    let pages: BTreeSet<String> = PAGES
        .iter()
        .map(|(route, _, _)| (*route).to_owned())
        .collect();
    if pages.len() != PAGES.len() {
        problems.push("a route has two rows in PAGES".to_owned());
    }
    for missing in routes.difference(&pages) {
        problems.push(format!("route {missing} has no row in PAGES"));
    }
    for stale in pages.difference(&routes) {
        problems.push(format!("PAGES row {stale} names no route"));
    }
    problems
}

#[tokio::test]
async fn every_server_function_and_page_by_every_kind_of_caller() {
    let apps = spawn_all(false).await;
    // After the servers are built: the route list is generated once, by the first router.
    let mut wrong = completeness();
    for app in apps {
        let b = app.backend;
        let mut fixture = fixture(&app).await;
        let mut cells = 0;
        // Pages first: they only read (the moderation page may claim the task for its viewer).
        for (route, path, expect) in PAGES {
            let path = fill(path, &fixture.values);
            for (who, expected) in expect.iter().enumerate() {
                cells += 1;
                let got = classify_page(fixture.clients[who].get(&path).await).await;
                if got.as_ref() != Ok(expected) {
                    wrong.push(format!(
                        "{b}: page {route} as {}: expected {expected:?}, got {got:?}",
                        CALLERS[who]
                    ));
                }
            }
        }
        for row in ENDPOINTS {
            for (who, expected) in row.expect.iter().enumerate() {
                cells += 1;
                let fresh = make_fresh(&app, &mut fixture, row.fresh, who).await;
                let mut values = fixture.values.clone();
                values.insert("fresh", fresh);
                if matches!(row.body, Body::Form(args) if args.iter().any(|(_, v)| v.contains("{own_account_name}")))
                {
                    let own = fixture.clients[who].call("account", &[]).await;
                    values.insert(
                        "own_account_name",
                        own.body["name"].as_str().unwrap_or("Test Ads").to_owned(),
                    );
                }
                let client = fixture
                    .cell_client
                    .take()
                    .unwrap_or_else(|| fixture.clients[who].clone());
                let got = call_row(&client, row, &values).await;
                if got.as_ref().map(|(o, _)| o) != Ok(expected) {
                    wrong.push(format!(
                        "{b}: {} as {}: expected {expected:?}, got {got:?}",
                        row.endpoint, CALLERS[who]
                    ));
                }
            }
        }
        eprintln!(
            "{b}: {} server functions, {} routes, {cells} cells",
            ENDPOINTS.len(),
            PAGES.len()
        );
    }
    assert!(
        wrong.is_empty(),
        "{} problems:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
