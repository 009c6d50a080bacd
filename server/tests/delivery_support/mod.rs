//! Fixtures of the delivery API tests: a small catalog, a running campaign with a funded
//! balance, network keys, and a plain JSON client (no cookies, no Origin) that reads the API's
//! answers.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the fixtures"
)]

use crate::{money_support, support::TestApp};
use app::{
    model::{AccountId, CampaignId, CreatedDeliveryKey, Micros},
    service::{Actor, delivery::keys, finance},
};
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;

/// The platform's minimum CPM in these tests, so the price a lone bid pays: not a multiple of
/// 1,000, so a view's cost has a fraction that must be rounded down.
pub const PRICE_CPM: i64 = 1_234_567;
/// The campaign's bid (above [`PRICE_CPM`]; a lone bid pays the floor).
pub const BID: &str = "2.50";
/// A matching channel: English, 1,000 average views (its hold is one `PRICE_CPM`).
pub const ALPHA: &str = "alpha_news";
pub const ALPHA_VIEWS: i64 = 1_000;
/// Another matching channel, 4,000 average views.
pub const BETA: &str = "beta_news";
pub const BETA_VIEWS: i64 = 4_000;
/// A channel in the catalog that the campaign (English only) does not target.
pub const GAMMA: &str = "gamma_nouvelles";

/// What `views` views cost at [`PRICE_CPM`], rounded down to the micro.
pub fn cost(views: i64) -> i64 {
    views * PRICE_CPM / 1_000
}

/// A catalog, one running campaign that targets its English channels, and two networks.
pub struct World {
    pub owner: Actor,
    pub account: AccountId,
    pub campaign: CampaignId,
    /// The network most tests act as.
    pub key: CreatedDeliveryKey,
    /// Another network, whose decisions the first must not touch.
    pub other: CreatedDeliveryKey,
}

/// Three channels (two English, one French) and the test's minimum CPM, then the world.
pub async fn world(db: &DatabaseConnection) -> World {
    for sql in [
        "INSERT INTO topic (slug, name) VALUES ('tech', 'Tech')".to_owned(),
        channel_sql(ALPHA, "en", 50_000, ALPHA_VIEWS),
        channel_sql(BETA, "en", 20_000, BETA_VIEWS),
        channel_sql(GAMMA, "fr", 30_000, 2_500),
        // Catalog writes move the catalog version; instances rebuild their indexes on it.
        "UPDATE platform_setting SET value = value + 1 WHERE key = 'catalog_version'".to_owned(),
        format!("UPDATE platform_setting SET value = {PRICE_CPM} WHERE key = 'min_cpm_micros'"),
    ] {
        db.execute_unprepared(&sql).await.expect(&sql);
    }
    let owner = owner(db, "owner@example.com").await;
    let account = owner.membership.expect("member").0;
    let campaign = running(db, &owner).await;
    finance::credit_account(
        db,
        account,
        Micros::units(100),
        "bank-1",
        "test funds",
        owner.user_id.0,
        None,
        Utc::now(),
    )
    .await
    .expect("credit");
    let key = keys::create_unchecked(db, "Network A", None, Utc::now())
        .await
        .expect("key");
    let other = keys::create_unchecked(db, "Network B", None, Utc::now())
        .await
        .expect("other key");
    World {
        owner,
        account,
        campaign,
        key,
        other,
    }
}

fn channel_sql(handle: &str, language: &str, subscribers: i64, avg_views: i64) -> String {
    format!(
        "INSERT INTO channel (handle, title, topic_id, language, subscribers, avg_views, posts_per_day, status, updated_at) \
         SELECT '{handle}', '{handle}', id, '{language}', {subscribers}, {avg_views}, 3.0, 'active', CURRENT_TIMESTAMP \
         FROM topic WHERE slug = 'tech'"
    )
}

async fn owner(db: &DatabaseConnection, email: &str) -> Actor {
    money_support::sign_up_owner(db, email, crate::support::PASSWORD, "Acme Ads").await
}

/// A campaign for English channels without a daily budget, with one approved ad: running now.
async fn running(db: &DatabaseConnection, owner: &Actor) -> CampaignId {
    money_support::launch(
        db,
        owner,
        money_support::campaign_form("Coffee club", &["en"], BID, "300"),
    )
    .await
}

/// A machine client of the API: no cookie store, no Origin, no Sec-Fetch-Site.
pub struct Api {
    base: String,
    http: reqwest::Client,
}

/// One answer: status, headers, the raw body, and the body as JSON (`Null` when not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Answer {
    /// The error's `code`, when the body is an API error.
    pub fn code(&self) -> Option<&str> {
        self.body.pointer("/error/code").and_then(Value::as_str)
    }

    pub fn field(&self) -> Option<&str> {
        self.body.pointer("/error/field").and_then(Value::as_str)
    }

    /// Asserts a whole-request refusal: status, error code and field (`None`: null or absent),
    /// with a plain-English message.
    pub fn refused(&self, status: u16, code: &str, field: Option<&str>, what: &str) {
        assert_eq!(self.status, status, "{what}: {self:?}");
        assert_eq!(self.code(), Some(code), "{what}: {self:?}");
        assert_eq!(self.field(), field, "{what}: {self:?}");
        assert!(
            self.body
                .pointer("/error/message")
                .and_then(Value::as_str)
                .is_some_and(|m| !m.is_empty()),
            "{what}: an error says what is wrong: {self:?}"
        );
    }
}

impl Api {
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.url(""),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .expect("client"),
        }
    }

    /// Sends `request` with `secret` as its bearer key (none when `None`).
    pub async fn send(&self, request: reqwest::RequestBuilder, secret: Option<&str>) -> Answer {
        let request = match secret {
            Some(s) => request.bearer_auth(s),
            None => request,
        };
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text,
            body,
        }
    }

    /// `POST /api/delivery/v1/{path}` with a raw JSON body.
    pub async fn post_raw(&self, path: &str, secret: Option<&str>, body: &str) -> Answer {
        let request = self
            .http
            .post(format!("{}/api/delivery/v1/{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        self.send(request, secret).await
    }

    pub async fn post(&self, path: &str, secret: Option<&str>, body: &Value) -> Answer {
        self.post_raw(path, secret, &body.to_string()).await
    }

    pub async fn get(&self, path: &str, secret: Option<&str>) -> Answer {
        let request = self
            .http
            .get(format!("{}/api/delivery/v1/{path}", self.base));
        self.send(request, secret).await
    }

    /// `POST /decisions` for `channel`'s slot `slot_id`.
    pub async fn decide(&self, secret: &str, channel: &str, slot_id: &str) -> Answer {
        self.post(
            "decisions",
            Some(secret),
            &serde_json::json!({ "channel": channel, "slot_id": slot_id }),
        )
        .await
    }

    /// `POST /decisions` that must win: the answer's body.
    pub async fn win(&self, secret: &str, channel: &str, slot_id: &str) -> Value {
        let answer = self.decide(secret, channel, slot_id).await;
        assert_eq!(answer.status, 200, "{channel} {slot_id}: {answer:?}");
        answer.body
    }

    /// `POST /events` with `events` as the list.
    pub async fn events(&self, secret: &str, events: Value) -> Answer {
        self.post(
            "events",
            Some(secret),
            &serde_json::json!({ "events": events }),
        )
        .await
    }
}
