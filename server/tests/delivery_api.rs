//! HTTP tests of the delivery API (`/api/delivery/v1`) over the real router (SQLite, and
//! PostgreSQL when `TEST_DATABASE_URL` is set): bearer keys without cookies or CSRF, decisions
//! (validation, winning, idempotent replay, conflicts, no ad, the channel's daily slots),
//! events (whole-batch refusals that write nothing, per-item outcomes, charges rounded down and
//! capped at the hold, replays, other networks' decisions), the ledger and spend agreeing
//! afterwards, the OpenAPI document, and the per-key rate limit.

mod delivery_support;
mod money_support;
mod support;

use app::{
    entity::{audit_event, delivery_decision, delivery_event, delivery_key},
    model::PlatformRole,
    service::{delivery::keys, ledger, settings, spend},
};
use chrono::{Duration, SecondsFormat, Utc};
use delivery_support::*;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use support::{PASSWORD, TestApp, grant_staff, spawn_all, spawn_configured, spawn_on};

/// One app per configured backend, each with a fresh database and the test world.
async fn apps() -> Vec<(TestApp, World)> {
    let mut out = Vec::new();
    for (backend, db) in migrations::db::fresh_all().await {
        let world = world(&db).await;
        out.push((spawn_on(backend, db, false).await, world));
    }
    out
}

/// An RFC 3339 time `minutes` from now, to the nanosecond.
fn at(minutes: i64) -> String {
    (Utc::now() + Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

async fn events_stored(db: &DatabaseConnection) -> u64 {
    delivery_event::Entity::find()
        .count(db)
        .await
        .expect("count events")
}

#[tokio::test]
async fn every_request_needs_a_live_key_and_no_cookie_or_csrf_token() {
    for (app, world) in apps().await {
        let b = app.backend;
        let api = Api::new(&app);
        let body = json!({ "channel": ALPHA, "slot_id": "auth-1" });

        let answer = api.post("decisions", None, &body).await;
        answer.refused(401, "missing_key", None, &format!("{b}: no Authorization"));
        let answer = api.get("channels", None).await;
        answer.refused(401, "missing_key", None, &format!("{b}: GET without a key"));

        let wrong = format!("hd_{}", "0".repeat(64));
        for (secret, what) in [
            (wrong.as_str(), "an unknown secret"),
            ("not-a-key", "a secret without the prefix"),
            ("", "an empty secret"),
        ] {
            let answer = api.post("decisions", Some(secret), &body).await;
            answer.refused(401, "invalid_key", None, &format!("{b}: {what}"));
        }
        let basic = api
            .send(
                reqwest::Client::new()
                    .get(app.url("/api/delivery/v1/channels"))
                    .basic_auth("user", Some(&world.key.secret)),
                None,
            )
            .await;
        basic.refused(401, "invalid_key", None, &format!("{b}: Basic, not Bearer"));

        // A paging query that does not parse is named in JSON, like every other refusal.
        for (query, field) in [
            ("channels?limit=abc", "limit"),
            ("channels?after=first", "after"),
            ("channels?limit=0", "limit"),
        ] {
            let answer = api.get(query, Some(&world.key.secret)).await;
            answer.refused(422, "invalid_input", Some(field), &format!("{b}: {query}"));
        }

        // A key works until it is revoked, and is refused at once afterwards.
        let doomed = keys::create_unchecked(&app.db, "Doomed network", None, Utc::now())
            .await
            .expect(b);
        let listed = api.get("channels", Some(&doomed.secret)).await;
        assert_eq!(listed.status, 200, "{b}: {listed:?}");
        let handles: Vec<&str> = listed.body["channels"]
            .as_array()
            .expect("channels")
            .iter()
            .filter_map(|c| c["handle"].as_str())
            .map(|h| h.trim_start_matches('@'))
            .collect();
        assert_eq!(handles, [ALPHA, BETA, GAMMA], "{b}: the eligible catalog");
        assert_eq!(listed.body["next"], Value::Null, "{b}: one page");
        let mut admin = world.owner.clone();
        admin.staff_roles.push(PlatformRole::Admin);
        keys::revoke(&app.db, &admin, doomed.id, Utc::now())
            .await
            .expect(b);
        let answer = api.post("decisions", Some(&doomed.secret), &body).await;
        answer.refused(401, "invalid_key", None, &format!("{b}: a revoked key"));
        let answer = api.get("channels", Some(&doomed.secret)).await;
        answer.refused(401, "invalid_key", None, &format!("{b}: a revoked key"));
        assert_eq!(
            events_stored(&app.db).await,
            0,
            "{b}: refused requests wrote nothing"
        );

        // No Origin, no Sec-Fetch-Site, no cookie: a machine's POST is served, not refused as
        // cross-site, and sets no cookie.
        let answer = api.post("decisions", Some(&world.key.secret), &body).await;
        assert_eq!(answer.status, 200, "{b}: a plain machine POST: {answer:?}");
        assert!(
            answer.headers.get(reqwest::header::SET_COOKIE).is_none(),
            "{b}: the API starts no session: {answer:?}"
        );
        assert_eq!(
            answer
                .headers
                .get(reqwest::header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{b}: answers are not cached"
        );
        // A browser's cross-site headers do not matter either: the key is the credential.
        let cross_site = api
            .send(
                reqwest::Client::new()
                    .post(app.url("/api/delivery/v1/decisions"))
                    .header("origin", "https://elsewhere.example")
                    .header("sec-fetch-site", "cross-site")
                    .json(&json!({ "channel": ALPHA, "slot_id": "auth-1" })),
                Some(&world.key.secret),
            )
            .await;
        assert_eq!(cross_site.status, 200, "{b}: {cross_site:?}");
        assert_eq!(
            cross_site.body["decision_id"], answer.body["decision_id"],
            "{b}: the same slot's decision"
        );
    }
}

/// A key charges advertisers for what its network reports, so an admin types their password
/// again to create one: without it, or with a wrong one, nothing is created and the problem is
/// named beside the field; a bad name is named before any password attempt is spent.
#[tokio::test]
async fn an_admin_creates_a_key_only_after_typing_their_password_again() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let email = "keys-admin@example.com";
        let admin = app.client();
        assert!(
            admin.sign_up(email, PASSWORD).await.status.is_success(),
            "{b}"
        );
        grant_staff(&app, email, "admin").await;
        let keys_made = || async {
            delivery_key::Entity::find()
                .count(&app.db)
                .await
                .expect("count keys")
        };

        for (name, password, field, what) in [
            ("Acme network", "", "password", "no password"),
            (
                "Acme network",
                "not my password",
                "password",
                "a wrong password",
            ),
            (
                "   ",
                "not my password",
                "name",
                "an empty name, before the password",
            ),
        ] {
            let answer = admin
                .call(
                    "create_delivery_key",
                    &[("input[name]", name), ("password", password)],
                )
                .await;
            assert_eq!(answer.status, 422, "{b}: {what}: {answer:?}");
            assert!(
                answer.field_error(field).is_some(),
                "{b}: {what}: {answer:?}"
            );
            assert_eq!(keys_made().await, 0, "{b}: {what} creates nothing");
        }
        // The right password creates it: its secret is shown once and works at once, and the
        // audit says which admin made it.
        let answer = admin
            .call(
                "create_delivery_key",
                &[("input[name]", " Acme network "), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(answer.status, 200, "{b}: {answer:?}");
        assert_eq!(answer.body["name"], "Acme network", "{b}: trimmed");
        let secret = answer.body["secret"].as_str().expect("secret").to_owned();
        assert!(secret.starts_with(keys::SECRET_PREFIX), "{b}: {secret}");
        assert_eq!(keys_made().await, 1, "{b}");
        let listed = Api::new(&app).get("channels", Some(&secret)).await;
        assert_eq!(listed.status, 200, "{b}: the new key works: {listed:?}");
        let by = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("delivery_key.created"))
            .one(&app.db)
            .await
            .expect("audit")
            .expect("a key's creation is audited");
        let detail: Value =
            serde_json::from_str(by.detail.as_deref().expect("detail")).expect("json");
        let admin_id = admin.call("viewer", &[]).await.body["user_id"].clone();
        assert_eq!(detail["by"], admin_id, "{b}: {by:?}");

        // Wrong passwords count against the limit of a password change (10 in 15 minutes; the
        // right one gave its attempt back): nine more are answered beside the field, then even
        // the right one is refused for a while.
        for _ in 0..9 {
            let answer = admin
                .call(
                    "create_delivery_key",
                    &[("input[name]", "Acme network"), ("password", "wrong")],
                )
                .await;
            assert_eq!(answer.status, 422, "{b}: {answer:?}");
        }
        let answer = admin
            .call(
                "create_delivery_key",
                &[("input[name]", "Acme network"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(answer.status, 429, "{b}: locked out: {answer:?}");
        assert_eq!(keys_made().await, 1, "{b}: nothing created while locked");
    }
}

#[tokio::test]
async fn decisions_validate_win_replay_and_respect_the_daily_slots() {
    for (app, world) in apps().await {
        let b = app.backend;
        let api = Api::new(&app);
        let key = world.key.secret.as_str();

        // Whole-request problems.
        let answer = api
            .post_raw(
                "decisions",
                Some(key),
                r#"{"channel": "alpha_news", "slot_id": "#,
            )
            .await;
        answer.refused(400, "malformed_json", None, &format!("{b}: truncated JSON"));
        let answer = api
            .post(
                "decisions",
                Some(key),
                &json!({ "channel": ALPHA, "slot_id": "s", "price": 1 }),
            )
            .await;
        answer.refused(400, "malformed_json", None, &format!("{b}: unknown field"));
        let answer = api
            .post("decisions", Some(key), &json!({ "channel": ALPHA }))
            .await;
        answer.refused(400, "malformed_json", None, &format!("{b}: no slot_id"));
        for (slot_id, what) in [
            (String::new(), "empty slot_id"),
            ("s".repeat(129), "129-character slot_id"),
            ("tab\there".to_owned(), "control character in slot_id"),
        ] {
            let answer = api.decide(key, ALPHA, &slot_id).await;
            answer.refused(
                422,
                "invalid_input",
                Some("slot_id"),
                &format!("{b}: {what}"),
            );
        }
        let answer = api.decide(key, "no_such_channel", "s-unknown").await;
        answer.refused(
            404,
            "unknown_channel",
            None,
            &format!("{b}: unknown channel"),
        );

        // A winning decision: the ad, the lone bid's price (the floor) and the slot's hold.
        let before = Utc::now();
        let won = api.win(key, &format!("@{ALPHA}"), "slot-a").await;
        let after = Utc::now();
        assert!(
            won["decision_id"].as_i64().is_some_and(|id| id > 0),
            "{b}: {won}"
        );
        assert_eq!(won["ad"]["text"], money_support::AD_TEXT, "{b}");
        assert_eq!(won["ad"]["button"], money_support::AD_BUTTON, "{b}");
        assert_eq!(won["ad"]["url"], money_support::AD_URL, "{b}");
        assert!(
            won["ad_version_id"].as_i64().is_some_and(|id| id > 0),
            "{b}: {won}"
        );
        assert_eq!(
            won["price_cpm"], PRICE_CPM,
            "{b}: a lone bid pays the floor"
        );
        assert_eq!(won["currency"], "EUR", "{b}");
        assert_eq!(
            won["held"],
            cost(ALPHA_VIEWS),
            "{b}: average views at the price"
        );
        assert!(won["held"].as_i64().is_some_and(|h| h > 0), "{b}");
        let ttl = settings::load(&app.db).await.expect(b).hold_ttl_minutes;
        let expires: chrono::DateTime<Utc> = won["expires_at"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("{b}: expires_at {won}"));
        assert!(
            before + Duration::minutes(ttl) <= expires && expires <= after + Duration::minutes(ttl),
            "{b}: the hold lasts {ttl} minutes: {won}"
        );

        // The same slot again: the identical answer, nothing new held.
        let again = api.decide(key, ALPHA, "slot-a").await;
        assert_eq!(again.status, 200, "{b}: {again:?}");
        assert_eq!(
            again.text,
            api.decide(key, ALPHA, "slot-a").await.text,
            "{b}"
        );
        // (The expiry is compared at the end of the test.)
        let but_expiry = |body: &Value| {
            let mut body = body.clone();
            body["expires_at"] = Value::Null;
            body
        };
        assert_eq!(
            but_expiry(&again.body),
            but_expiry(&won),
            "{b}: a replay answers the same decision"
        );
        // The same slot id for another channel is a conflict.
        let answer = api.decide(key, GAMMA, "slot-a").await;
        answer.refused(409, "conflict", None, &format!("{b}: slot id reused"));
        // Another network's slot ids are its own.
        let theirs = api.decide(&world.other.secret, GAMMA, "slot-a").await;
        assert_eq!(theirs.status, 204, "{b}: {theirs:?}");

        // A channel no campaign targets: 204, empty, and the same again.
        for _ in 0..2 {
            let answer = api.decide(key, GAMMA, "slot-g").await;
            assert_eq!(answer.status, 204, "{b}: {answer:?}");
            assert_eq!(answer.text, "", "{b}: 204 has no body");
        }
        let longest = api.decide(key, GAMMA, &"é".repeat(128)).await;
        assert_eq!(
            longest.status, 204,
            "{b}: 128 characters is allowed: {longest:?}"
        );

        // The channel's sponsored messages per day: then 204 until tomorrow.
        let per_day = settings::load(&app.db).await.expect(b).slots_per_day;
        assert!(per_day >= 1, "{b}: ad_slots_per_day is {per_day}");
        let mut ids = vec![won["decision_id"].as_i64()];
        for n in 1..per_day {
            let next = api.win(key, ALPHA, &format!("slot-{n}")).await;
            ids.push(next["decision_id"].as_i64());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len() as i64, per_day, "{b}: one decision per slot");
        let full = api.decide(key, ALPHA, "slot-full").await;
        assert_eq!(full.status, 204, "{b}: {per_day} slots used: {full:?}");
        assert_eq!(full.text, "", "{b}");
        let full = api.decide(&world.other.secret, ALPHA, "slot-full").await;
        assert_eq!(
            full.status, 204,
            "{b}: the limit is the channel's: {full:?}"
        );
        // An earlier slot still replays its ad.
        let later = api.decide(key, ALPHA, "slot-a").await;
        assert_eq!(but_expiry(&later.body), but_expiry(&won), "{b}");
        // Another channel still has its slots.
        api.win(key, BETA, "slot-beta").await;

        let decisions = delivery_decision::Entity::find()
            .all(&app.db)
            .await
            .expect(b);
        assert_eq!(decisions.len() as i64, per_day + 1, "{b}: one per won slot");
        let held: i64 = decisions.iter().map(|d| d.held).sum();
        assert_eq!(
            held,
            per_day * cost(ALPHA_VIEWS) + cost(BETA_VIEWS),
            "{b}: each won slot held once"
        );
        let check = ledger::check(&app.db).await.expect(b);
        assert!(check.problems.is_empty(), "{b}: {:?}", check.problems);

        // The replay is the first answer exactly, its expiry included.
        assert_eq!(again.body, won, "{b}: a replay answers the same body");
    }
}

/// One event as the API takes it.
fn event(id: &str, decision: i64, views: i64, clicks: i64, at: &str) -> Value {
    json!({ "event_id": id, "decision_id": decision, "views": views, "clicks": clicks, "at": at })
}

/// Asserts one item's result: `(status, outcome, posted)` and the error's code and field.
fn item(
    r: &Value,
    status: u16,
    outcome: &str,
    posted: i64,
    error: Option<(&str, &str)>,
    what: &str,
) {
    assert_eq!(r["status"], status, "{what}: {r}");
    assert_eq!(r["outcome"], outcome, "{what}: {r}");
    assert_eq!(r["posted"], posted, "{what}: {r}");
    match error {
        None => assert_eq!(r["error"], Value::Null, "{what}: {r}"),
        Some((code, field)) => {
            assert_eq!(r["error"]["code"], code, "{what}: {r}");
            assert_eq!(r["error"]["field"], field, "{what}: {r}");
        }
    }
}

#[tokio::test]
async fn event_batches_with_a_whole_request_problem_write_nothing() {
    for (app, world) in apps().await {
        let b = app.backend;
        let api = Api::new(&app);
        let key = world.key.secret.as_str();
        let won = api.win(key, ALPHA, "batch-slot").await;
        let decision = won["decision_id"].as_i64().expect("decision");
        let now = at(0);

        let many: Vec<Value> = (0..1_001)
            .map(|i| event(&format!("e{i}"), decision, 1, 0, &now))
            .collect();
        let answer = api.events(key, Value::Array(many)).await;
        answer.refused(
            413,
            "batch_too_large",
            Some("events"),
            &format!("{b}: 1,001 events"),
        );
        let answer = api.events(key, json!([])).await;
        answer.refused(
            422,
            "invalid_input",
            Some("events"),
            &format!("{b}: no events"),
        );
        let answer = api
            .events(
                key,
                json!([
                    event("ok", decision, 1, 0, &now),
                    event("bad", decision, 1, 0, "yesterday")
                ]),
            )
            .await;
        answer.refused(400, "malformed_json", None, &format!("{b}: malformed at"));
        let answer = api
            .events(key, json!([{ "event_id": "x", "decision_id": decision, "views": 1, "clicks": 0, "at": now, "cost": 5 }]))
            .await;
        answer.refused(400, "malformed_json", None, &format!("{b}: unknown field"));
        let answer = api.post_raw("events", Some(key), "{\"events\": [").await;
        answer.refused(400, "malformed_json", None, &format!("{b}: truncated JSON"));
        let answer = api.post("events", None, &json!({ "events": [] })).await;
        answer.refused(401, "missing_key", None, &format!("{b}: no key"));
        assert_eq!(events_stored(&app.db).await, 0, "{b}: nothing was written");

        // Exactly 1,000 is a batch.
        let most: Vec<Value> = (0..1_000)
            .map(|i| event(&format!("e{i}"), decision, 1, 0, &now))
            .collect();
        let answer = api.events(key, Value::Array(most)).await;
        assert_eq!(answer.status, 200, "{b}: {}", answer.text.len());
        let results = answer.body["results"].as_array().expect("results");
        assert_eq!(results.len(), 1_000, "{b}");
        assert!(results.iter().all(|r| r["outcome"] == "accepted"), "{b}");
        let posted: i64 = results.iter().filter_map(|r| r["posted"].as_i64()).sum();
        assert_eq!(
            posted,
            cost(1_000),
            "{b}: increments add up to the total's cost"
        );
        assert_eq!(events_stored(&app.db).await, 1_000, "{b}");
    }
}

#[tokio::test]
async fn events_post_views_against_the_hold_once_and_only_for_their_network() {
    for (app, world) in apps().await {
        let b = app.backend;
        let api = Api::new(&app);
        let (key, other) = (world.key.secret.as_str(), world.other.secret.as_str());
        let mine = api.win(key, ALPHA, "ev-alpha").await;
        let d = mine["decision_id"].as_i64().expect("decision");
        let held = mine["held"].as_i64().expect("held");
        assert_eq!(held, cost(ALPHA_VIEWS), "{b}");
        let theirs = api.win(other, BETA, "ev-beta").await;
        let their_d = theirs["decision_id"].as_i64().expect("their decision");

        let t1 = at(0);
        let first = json!([
            event("e1", d, 7, 1, &t1),
            event("e-unknown", 999_999, 5, 0, &t1),
            event("e-theirs", their_d, 5, 0, &t1),
            event("e-early", d, 5, 0, "2020-01-01T00:00:00Z"),
            event("e-negative", d, -1, 0, &t1),
            event("e-clicky", d, 2, 50, &t1),
            event("e-future", d, 5, 0, &at(10)),
            event("", d, 5, 0, &t1),
        ]);
        let answer = api.events(key, first.clone()).await;
        assert_eq!(answer.status, 200, "{b}: {answer:?}");
        let r = answer.body["results"].as_array().expect("results");
        assert_eq!(r.len(), 8, "{b}: one result per event");
        let ids: Vec<&str> = r.iter().filter_map(|r| r["event_id"].as_str()).collect();
        assert_eq!(
            ids,
            [
                "e1",
                "e-unknown",
                "e-theirs",
                "e-early",
                "e-negative",
                "e-clicky",
                "e-future",
                ""
            ],
            "{b}: in the order sent"
        );
        // 7 × 1,234,567 / 1,000 = 8,641.969: rounded down.
        assert_eq!(cost(7), 8_641);
        item(&r[0], 200, "accepted", cost(7), None, &format!("{b}: e1"));
        let unknown = Some(("unknown_decision", "decision_id"));
        item(
            &r[1],
            404,
            "rejected",
            0,
            unknown,
            &format!("{b}: unknown decision"),
        );
        item(
            &r[2],
            404,
            "rejected",
            0,
            unknown,
            &format!("{b}: another network's decision"),
        );
        let invalid = |field| Some(("invalid_input", field));
        item(
            &r[3],
            422,
            "rejected",
            0,
            invalid("at"),
            &format!("{b}: before the decision"),
        );
        item(
            &r[4],
            422,
            "rejected",
            0,
            invalid("views"),
            &format!("{b}: negative views"),
        );
        item(
            &r[5],
            422,
            "rejected",
            0,
            invalid("clicks"),
            &format!("{b}: clicks > views"),
        );
        item(
            &r[6],
            422,
            "rejected",
            0,
            invalid("at"),
            &format!("{b}: 10 minutes ahead"),
        );
        item(
            &r[7],
            422,
            "rejected",
            0,
            invalid("event_id"),
            &format!("{b}: empty event id"),
        );

        // The same batch again: e1 replays its first answer, the rest are refused again.
        let replay = api.events(key, first).await;
        assert_eq!(replay.status, 200, "{b}: {replay:?}");
        let rr = replay.body["results"].as_array().expect("results");
        item(
            &rr[0],
            200,
            "replayed",
            cost(7),
            None,
            &format!("{b}: e1 replayed"),
        );
        for (a, b2) in r.iter().zip(rr).skip(1) {
            assert_eq!(a, b2, "{b}: a rejected event is rejected the same way");
        }
        // The same event id with another body is a conflict, and charges nothing.
        let answer = api.events(key, json!([event("e1", d, 8, 1, &t1)])).await;
        assert_eq!(answer.status, 200, "{b}: {answer:?}");
        item(
            &answer.body["results"][0],
            409,
            "rejected",
            0,
            Some(("conflict", "event_id")),
            &format!("{b}: e1 with other views"),
        );

        // Views past the hold are free: the charge stops at what was held.
        let answer = api
            .events(
                key,
                json!([
                    event("e2", d, 2_000, 3, &at(0)),
                    event("e3", d, 5, 0, &at(0))
                ]),
            )
            .await;
        assert_eq!(answer.status, 200, "{b}: {answer:?}");
        let r = answer.body["results"].as_array().expect("results");
        item(
            &r[0],
            200,
            "accepted",
            held - cost(7),
            None,
            &format!("{b}: up to the hold"),
        );
        item(
            &r[1],
            200,
            "accepted",
            0,
            None,
            &format!("{b}: past the hold"),
        );

        // The other network's own decision, with an event id the first also used.
        let answer = api
            .events(other, json!([event("e1", their_d, 10, 0, &at(0))]))
            .await;
        assert_eq!(answer.status, 200, "{b}: {answer:?}");
        item(
            &answer.body["results"][0],
            200,
            "accepted",
            cost(10),
            None,
            &format!("{b}: theirs"),
        );

        // Afterwards: the ledger is sound, and spend is exactly what the events posted.
        let check = ledger::check(&app.db).await.expect(b);
        assert!(check.problems.is_empty(), "{b}: {:?}", check.problems);
        let events = delivery_event::Entity::find().all(&app.db).await.expect(b);
        assert_eq!(events.len(), 4, "{b}: accepted events only");
        let posted: i64 = events.iter().map(|e| e.posted).sum();
        assert_eq!(posted, held + cost(10), "{b}");
        let spent = spend::of_campaign(&app.db, world.campaign).await.expect(b);
        assert_eq!(spent.0, posted, "{b}: spend is Σ posted");
        let decision = delivery_decision::Entity::find_by_id(d)
            .one(&app.db)
            .await
            .expect(b)
            .expect("decision");
        assert_eq!(
            (decision.views, decision.clicks, decision.posted),
            (7 + 2_000 + 5, 1 + 3, held),
            "{b}: the decision's totals; posted never exceeds held"
        );

        // An event dated at its decision's very instant (the expiry less the hold's lifetime,
        // to the nanosecond) is not before the decision.
        let ttl = settings::load(&app.db).await.expect(b).hold_ttl_minutes;
        let fresh = api.win(key, BETA, "ev-instant").await;
        let decided_at = fresh["expires_at"]
            .as_str()
            .and_then(|t| t.parse::<chrono::DateTime<Utc>>().ok())
            .expect("expires_at")
            - Duration::minutes(ttl);
        let instant = decided_at.to_rfc3339_opts(SecondsFormat::Nanos, true);
        let id = fresh["decision_id"].as_i64().expect("decision");
        let answer = api
            .events(key, json!([event("e-instant", id, 1, 0, &instant)]))
            .await;
        assert_eq!(answer.status, 200, "{b}: {answer:?}");
        item(
            &answer.body["results"][0],
            200,
            "accepted",
            cost(1),
            None,
            &format!("{b}: dated {instant}, its decision's instant"),
        );
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_routes() {
    for (app, _world) in apps().await {
        let b = app.backend;
        let answer = Api::new(&app).get("openapi.json", None).await;
        assert_eq!(answer.status, 200, "{b}: {answer:?}");
        assert!(
            answer
                .headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json")),
            "{b}: {answer:?}"
        );
        let doc = &answer.body;
        assert!(
            doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
            "{b}: {doc}"
        );
        for path in [
            "/api/delivery/v1/decisions",
            "/api/delivery/v1/events",
            "/api/delivery/v1/channels",
        ] {
            assert!(doc["paths"][path].is_object(), "{b}: {path} documented");
        }
        assert!(
            doc["paths"]["/api/delivery/v1/decisions"]["post"].is_object(),
            "{b}"
        );
        assert!(
            doc["paths"]["/api/delivery/v1/events"]["post"].is_object(),
            "{b}"
        );
    }
}

#[tokio::test]
async fn a_key_over_its_rate_limit_is_told_when_to_retry() {
    for (backend, db) in migrations::db::fresh_all().await {
        let world = world(&db).await;
        let app = spawn_configured(backend, db, false, |config| {
            config.delivery_limiter = server::delivery_api::KeyLimiter::new(1, 2);
        })
        .await;
        let b = app.backend;
        let api = Api::new(&app);
        let key = world.key.secret.as_str();
        // A burst of two, then one a second: the third request at once is refused.
        for n in 0..2 {
            let answer = api.get("channels", Some(key)).await;
            assert_eq!(answer.status, 200, "{b}: request {n}: {answer:?}");
        }
        let answer = api.decide(key, ALPHA, "limited").await;
        answer.refused(429, "rate_limited", None, &format!("{b}: third request"));
        let retry = answer
            .headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        assert!(
            retry.is_some_and(|s| (1..=2).contains(&s)),
            "{b}: Retry-After {retry:?}"
        );
        // Another key has its own allowance; a refused request decided nothing.
        let theirs = api.get("channels", Some(&world.other.secret)).await;
        assert_eq!(theirs.status, 200, "{b}: {theirs:?}");
        let decisions = delivery_decision::Entity::find()
            .count(&app.db)
            .await
            .expect(b);
        assert_eq!(decisions, 0, "{b}: the refused decision held nothing");
    }
}
