//! Security regression tests over HTTP (issue 12): sign-in behind a trusted proxy, oversized
//! sign-in input, writes that name the account the page showed, and sessions that stay ended.

mod support;

use app::{
    entity::{audit_event, invitation, outbox_message, tower_session},
    service::mail::{ConsoleTransport, Transport, deliver_pending},
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use server::{client_ip::TrustedProxies, session_store::DbSessionStore};
use support::{Client, PASSWORD, TestApp, member, spawn_all, spawn_configured};
use tower_sessions::{SessionStore, session::Record};

/// A client whose requests arrive through the proxy at 127.0.0.1 on behalf of `client_ip`.
fn behind_proxy(app: &TestApp, client_ip: &'static str) -> Client {
    let mut client = app.client();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ORIGIN,
        app.url("").parse().expect("origin"),
    );
    headers.insert(
        "x-forwarded-for",
        reqwest::header::HeaderValue::from_static(client_ip),
    );
    client.http = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("client");
    client
}

async fn audit_rows(app: &TestApp, action: &str) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action))
        .count(&app.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_clients_failures_do_not_lock_out_another() {
    for (backend, db) in migrations::db::fresh_all().await {
        let app = spawn_configured(backend, db, false, |config| {
            config.trusted_proxies = TrustedProxies::parse("127.0.0.1/32").expect("cidr");
        })
        .await;
        let b = app.backend;
        assert!(
            app.client()
                .sign_up("ada@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );

        let attacker = behind_proxy(&app, "198.51.100.1");
        for _ in 0..10 {
            let reply = attacker.sign_in("ada@example.com", "wrong guess 1").await;
            assert_eq!(reply.status, 422, "{b}: {reply:?}");
        }
        let refused = attacker.sign_in("ada@example.com", PASSWORD).await;
        assert_eq!(refused.status, 429, "{b}: {refused:?}");

        let owner = behind_proxy(&app, "203.0.113.7");
        let reply = owner.sign_in("ada@example.com", PASSWORD).await;
        assert_eq!(reply.status, 200, "{b}: {reply:?}");
        assert_eq!(
            owner.whoami().await.as_deref(),
            Some("ada@example.com"),
            "{b}"
        );

        // The audit trail names the forwarded client, not the proxy.
        let failed = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("auth.sign_in_failed"))
            .one(&app.db)
            .await
            .expect("query")
            .expect("a failure");
        assert_eq!(failed.ip.as_deref(), Some("198.51.100.1"), "{b}");
    }
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_address_is_ignored() {
    for app in spawn_all(false).await {
        let b = app.backend;
        assert!(
            app.client()
                .sign_up("ada@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );
        // Rotating the header does not escape the per-address limit.
        for i in 0..10 {
            let forged = behind_proxy(&app, ["198.51.100.1", "198.51.100.2"][i % 2]);
            let reply = forged.sign_in("ada@example.com", "wrong guess 1").await;
            assert_eq!(reply.status, 422, "{b}: {reply:?}");
        }
        let next = behind_proxy(&app, "198.51.100.3")
            .sign_in("ada@example.com", "wrong guess 1")
            .await;
        assert_eq!(next.status, 429, "{b}: {next:?}");
    }
}

#[tokio::test]
async fn an_oversized_sign_in_email_is_refused_before_anything_is_written() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let email = format!("{}@example.com", "a".repeat(300));
        let reply = app.client().sign_in(&email, "whatever 123").await;
        assert_eq!(reply.status, 422, "{b}: {reply:?}");
        assert!(reply.field_error("email").is_some(), "{b}: {reply:?}");
        let rows = audit_event::Entity::find()
            .count(&app.db)
            .await
            .expect("count");
        assert_eq!(rows, 0, "{b}: no audit row");
    }
}

/// A request body past the server's limit is refused with 413 before it is read whole — sent
/// with its length declared or chunked without one — while one just under the limit is read
/// and answered as usual (here: the email too long, beside the field).
#[tokio::test]
async fn an_oversized_request_body_is_refused_before_it_is_read() {
    use std::io::{Read, Write};
    let limit = server::router::MAX_BODY_BYTES;
    for app in spawn_all(false).await {
        let b = app.backend;
        let form = |n: usize| format!("input[email]={}&input[password]=x", "a".repeat(n));
        let send = |body: String| {
            reqwest::Client::new()
                .post(app.url("/api/sign_in"))
                .header("origin", app.url(""))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
        };
        let over = send(form(limit)).await.expect(b);
        assert_eq!(over.status(), 413, "{b}");
        assert!(
            over.text().await.expect(b).contains("too large"),
            "{b}: says why"
        );
        let under = send(form(limit - 1_000)).await.expect(b);
        assert_eq!(
            under.status(),
            422,
            "{b}: read and refused beside the field"
        );

        // Chunked, no length declared: refused once the limit is passed, without waiting for
        // the rest (which never comes). A blocking socket, off the runtime the server runs on.
        let addr = app.addr;
        let head = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(addr).expect("connect");
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .expect("timeout");
            write!(
                stream,
                "POST /api/sign_in HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\n\
                 Transfer-Encoding: chunked\r\n\r\n"
            )
            .expect("headers");
            let chunk = "a".repeat(64 * 1024);
            for _ in 0..=(limit / chunk.len()) {
                if write!(stream, "{:x}\r\n{chunk}\r\n", chunk.len()).is_err() {
                    break;
                }
            }
            let mut head = [0_u8; 12];
            stream.read_exact(&mut head).expect("an answer");
            head
        })
        .await
        .expect(b);
        assert_eq!(&head, b"HTTP/1.1 413", "{b}");
        assert_eq!(
            audit_event::Entity::find().count(&app.db).await.expect(b),
            0,
            "{b}: nothing written"
        );
    }
}

/// A client that opens a connection and never finishes its request's headers is cut off at
/// the listener's deadline, instead of holding the connection for as long as it likes; a
/// client that sends its request whole on another connection meanwhile is answered.
#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    use std::io::{Read, Write};
    let db = migrations::db::fresh_sqlite().await.expect("database");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = server::router::RouterConfig::new(&support::site_root(), addr, false);
    let app = server::router::build(db, &config).await.expect("router");
    tokio::spawn(server::listen::serve(
        listener,
        app,
        std::time::Duration::from_millis(300),
        std::future::pending(),
    ));
    let slow = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .expect("timeout");
        write!(stream, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ").expect("write");
        let mut answer = Vec::new();
        // Closed by the server (end of stream, or a reset): never left open.
        let closed = match stream.read_to_end(&mut answer) {
            Ok(_) => true,
            Err(e) => {
                e.kind() != std::io::ErrorKind::WouldBlock
                    && e.kind() != std::io::ErrorKind::TimedOut
            }
        };
        (closed, String::from_utf8_lossy(&answer).into_owned())
    });
    let whole = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("a whole request");
    assert_eq!(whole.status(), 200);
    let (closed, answer) = slow.await.expect("the slow client");
    assert!(closed, "the half-sent request's connection was closed");
    assert!(
        !answer.contains("200 OK"),
        "nothing served for it: {answer}"
    );
}

#[tokio::test]
async fn a_removed_member_cannot_write_into_the_account_the_page_showed() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let owner = app.client();
        assert!(
            owner
                .sign_up("owner@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );
        let shared = owner.current_account().await.expect("account");
        let colleague = member(&app, "colleague@example.com", "owner", shared).await;
        assert_eq!(colleague.current_account().await, Some(shared), "{b}");

        // The colleague's page shows the shared account; meanwhile they are removed from it.
        let id = colleague_id(&colleague).await;
        let removed = owner
            .call("remove_member", &[("user_id", id.to_string().as_str())])
            .await;
        assert!(removed.status.is_success(), "{b}: {removed:?}");

        let shown = shared.to_string();
        let invite = colleague
            .call(
                "invite_member",
                &[
                    ("account", shown.as_str()),
                    ("input[email]", "friend@example.com"),
                    ("input[role]", "Analyst"),
                ],
            )
            .await;
        assert_eq!(invite.status, 404, "{b}: {invite:?}");
        let renamed = colleague
            .call(
                "update_account",
                &[
                    ("account", shown.as_str()),
                    ("input[name]", "Hijacked"),
                    ("input[time_zone]", "Europe/Berlin"),
                ],
            )
            .await;
        assert_eq!(renamed.status, 404, "{b}: {renamed:?}");
        // Nothing was written anywhere: not in the shared account, not in their own one.
        let invitations = invitation::Entity::find()
            .count(&app.db)
            .await
            .expect("count");
        assert_eq!(invitations, 0, "{b}");
        let name = owner.call("account", &[]).await.body["name"].clone();
        assert_eq!(name, "Test Ads", "{b}");
        let own = colleague.call("account", &[]).await.body["name"].clone();
        assert_eq!(own, "Test Ads", "{b}: their own account untouched");
    }
}

async fn colleague_id(client: &Client) -> i64 {
    client.call("viewer", &[]).await.body["user_id"]
        .as_i64()
        .expect("user id")
}

#[tokio::test]
async fn a_deleted_session_stays_deleted_when_a_stale_request_saves_it() {
    for (backend, db) in migrations::db::fresh_all().await {
        let store = DbSessionStore::new(db.clone());
        let mut record = Record {
            id: Default::default(),
            data: [("user_id".to_owned(), serde_json::json!(7))].into(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::minutes(30),
        };
        store.create(&mut record).await.expect("create");
        let row = tower_session::Entity::find_by_id(record.id.to_string())
            .one(&db)
            .await
            .expect("load")
            .expect("stored");
        assert_eq!(row.user_id, Some(7), "{backend}");
        // Sign-out deletes it while another request still holds the record …
        store.delete(&record.id).await.expect("delete");
        // … which then saves its stale copy.
        store.save(&record).await.expect("save");
        let rows = tower_session::Entity::find()
            .count(&db)
            .await
            .expect("count");
        assert_eq!(rows, 0, "{backend}: the session must stay deleted");
    }
}

#[tokio::test]
async fn sign_out_everywhere_and_a_password_change_end_the_other_sessions() {
    for app in spawn_all(false).await {
        let b = app.backend;
        let laptop = app.client();
        assert!(
            laptop
                .sign_up("ada@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );
        let phone = app.client();
        assert!(
            phone
                .sign_in("ada@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );
        let tablet = app.client();
        assert!(
            tablet
                .sign_in("ada@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );

        let ended = laptop.call("sign_out_everywhere", &[]).await;
        assert_eq!(ended.body, serde_json::json!(2), "{b}: {ended:?}");
        assert_eq!(
            laptop.whoami().await.as_deref(),
            Some("ada@example.com"),
            "{b}"
        );
        assert_eq!(phone.whoami().await, None, "{b}");
        assert_eq!(tablet.whoami().await, None, "{b}");
        assert_eq!(
            audit_rows(&app, "auth.signed_out_everywhere").await,
            1,
            "{b}"
        );

        assert!(
            phone
                .sign_in("ada@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );
        let wrong = laptop
            .call(
                "change_password",
                &[
                    ("input[current]", "not it at all"),
                    ("input[new]", "a new harbour 77"),
                ],
            )
            .await;
        assert_eq!(wrong.status, 422, "{b}: {wrong:?}");
        assert!(wrong.field_error("current").is_some(), "{b}: {wrong:?}");
        assert_eq!(
            phone.whoami().await.as_deref(),
            Some("ada@example.com"),
            "{b}"
        );

        let changed = laptop
            .call(
                "change_password",
                &[
                    ("input[current]", PASSWORD),
                    ("input[new]", "a new harbour 77"),
                ],
            )
            .await;
        assert!(changed.status.is_success(), "{b}: {changed:?}");
        assert_eq!(
            laptop.whoami().await.as_deref(),
            Some("ada@example.com"),
            "{b}"
        );
        assert_eq!(phone.whoami().await, None, "{b}: the other session ended");
        assert_eq!(
            phone.sign_in("ada@example.com", PASSWORD).await.status,
            422,
            "{b}"
        );
        let again = phone.sign_in("ada@example.com", "a new harbour 77").await;
        assert!(again.status.is_success(), "{b}: {again:?}");
        assert_eq!(audit_rows(&app, "auth.password_changed").await, 1, "{b}");
    }
}

#[tokio::test]
async fn outside_development_mail_the_outbox_hides_link_secrets() {
    for (backend, db) in migrations::db::fresh_all().await {
        let app = spawn_configured(backend, db, false, |config| config.dev_mail = false).await;
        let b = app.backend;
        let admin = app.client();
        assert!(
            admin
                .sign_up("admin@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );
        support::grant_staff(&app, "admin@example.com", "admin").await;
        // A known address signs up again: its owner is mailed a link that sets a password.
        assert!(
            app.client()
                .sign_up("admin@example.com", PASSWORD)
                .await
                .status
                .is_success()
        );
        let token = support::mailed_token(&app, "admin@example.com", "/verify/").await;

        let mail = admin.call("admin_mail", &[("page", "0")]).await;
        assert!(mail.status.is_success(), "{b}: {mail:?}");
        let bodies = mail.body["rows"].to_string();
        assert!(!bodies.contains(&token), "{b}: the secret is hidden");
        assert!(bodies.contains("secret hidden"), "{b}: {bodies}");

        // A send that fails leaves the message as it was, secret included, for the retry.
        assert_eq!(deliver_pending(&app.db, &Refusing, 50).await, Ok(0), "{b}");
        let waiting = outbox(&app).await;
        assert!(
            waiting
                .iter()
                .all(|m| m.sent_at.is_none() && m.last_error.as_deref() == Some("relay down")),
            "{b}: {waiting:?}"
        );
        assert!(
            waiting.iter().any(|m| m.body.contains(&token)),
            "{b}: the body is put back whole"
        );
        // Once sent, the database itself holds the secret no longer: a copy of it (a backup, a
        // replica) cannot set anyone's password.
        let sent = deliver_pending(&app.db, &ConsoleTransport::default(), 50).await;
        assert_eq!(sent, Ok(waiting.len() as u64), "{b}");
        let stored = outbox(&app).await;
        assert!(
            stored
                .iter()
                .all(|m| m.sent_at.is_some() && !m.body.contains(&token)),
            "{b}: {stored:?}"
        );
        assert!(
            stored.iter().any(|m| m.body.contains("secret hidden")),
            "{b}: {stored:?}"
        );
    }
}

/// Every message in the outbox, as stored.
async fn outbox(app: &TestApp) -> Vec<outbox_message::Model> {
    outbox_message::Entity::find()
        .all(&app.db)
        .await
        .expect("outbox")
}

/// A mail relay that is down.
struct Refusing;

impl Transport for Refusing {
    async fn send(&self, _: &outbox_message::Model) -> Result<(), String> {
        Err("relay down".to_owned())
    }
}

#[tokio::test]
async fn development_mail_keeps_link_secrets_after_sending() {
    for (backend, db) in migrations::db::fresh_all().await {
        let app = spawn_configured(backend, db, false, |config| config.dev_mail = true).await;
        let b = app.backend;
        // The second sign-up with a known address mails a link that sets a password.
        for _ in 0..2 {
            assert!(
                app.client()
                    .sign_up("ada@example.com", PASSWORD)
                    .await
                    .status
                    .is_success()
            );
        }
        let token = support::mailed_token(&app, "ada@example.com", "/verify/").await;
        let dev = ConsoleTransport { show_links: true };
        assert!(deliver_pending(&app.db, &dev, 50).await.is_ok(), "{b}");
        let stored = outbox(&app).await;
        assert!(
            stored.iter().all(|m| m.sent_at.is_some())
                && stored.iter().any(|m| m.body.contains(&token)),
            "{b}: the demo's mail page still shows the link: {stored:?}"
        );
    }
}
