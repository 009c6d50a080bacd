//! Mail: the outbox every message goes through (enqueued in the caller's transaction, so a
//! mail exists exactly when what it announces was committed), the transports that deliver it,
//! and the admins' view of it.
//!
//! Herald has no mail server of its own. A delivery loop hands unsent messages to a
//! [`Transport`]; the built-in [`ConsoleTransport`] writes them to the log (the demo's "mail
//! server"), and an SMTP transport plugs in at the same trait.

use crate::{
    entity::outbox_message,
    error::AppError,
    model::{MailKind, MailRow, Page, PlatformRole},
    service::Actor,
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, sea_query::Expr,
};
use std::sync::OnceLock;

/// The site's address as users reach it, for the links in mail (`HERALD_PUBLIC_URL`). Never
/// taken from a request's `Host` header, which the sender of the request chooses: a link to the
/// attacker's host in a password mail would hand them the token.
pub const PUBLIC_URL_VAR: &str = "HERALD_PUBLIC_URL";
/// The public address when [`PUBLIC_URL_VAR`] is unset (the default listen address).
const DEFAULT_PUBLIC_URL: &str = "http://localhost:3000";

/// A message to enqueue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    /// Plain text.
    pub body: String,
    pub kind: MailKind,
}

/// The site's public address, without a trailing slash.
pub fn public_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let configured = std::env::var(PUBLIC_URL_VAR).unwrap_or_default();
        let configured = configured.trim().trim_end_matches('/');
        if configured.starts_with("https://") || configured.starts_with("http://") {
            configured.to_owned()
        } else {
            if !configured.is_empty() {
                tracing::warn!("{PUBLIC_URL_VAR} must start with http:// or https://; ignored");
            }
            DEFAULT_PUBLIC_URL.to_owned()
        }
    })
}

/// The absolute address of a site path (`/verify/…`) for a mail.
pub fn link(path: &str) -> String {
    format!("{}{path}", public_url())
}

/// Puts `mail` in the outbox, inside the caller's transaction.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    mail: Mail,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    outbox_message::ActiveModel {
        recipient: Set(mail.to),
        subject: Set(mail.subject),
        body: Set(mail.body),
        kind: Set(mail.kind.code().to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Delivers one message somewhere (the log, an SMTP relay, …).
pub trait Transport {
    /// Hands `message` over; an `Err` describes why not (the message is retried later).
    fn send(
        &self,
        message: &outbox_message::Model,
    ) -> impl Future<Output = Result<(), String>> + Send;

    /// Whether a sent message keeps its links' secrets in the outbox. Only in development mail
    /// mode, where the admins' mail page shows the links so that the demo can be used without
    /// a mail server; otherwise a sent message's secrets are replaced by [`HIDDEN_SECRET`] as
    /// it is claimed, so a copy of the database (a backup, a replica, a read-only login) holds
    /// no live password or invitation link beyond the seconds a message waits to be sent.
    fn keeps_secrets(&self) -> bool {
        false
    }
}

/// Writes each message to the log: the demo's mail server, readable on the console. The links'
/// secrets are written only in development mail mode (`show_links`): anyone who reads the log
/// could otherwise use them (they set passwords).
#[derive(Clone, Copy, Debug, Default)]
pub struct ConsoleTransport {
    pub show_links: bool,
}

impl Transport for ConsoleTransport {
    async fn send(&self, message: &outbox_message::Model) -> Result<(), String> {
        tracing::info!(
            target: "herald::mail",
            "mail #{} to {} — {}\n{}",
            message.id,
            message.recipient,
            message.subject,
            shown_body(&message.body, self.show_links)
        );
        Ok(())
    }

    fn keeps_secrets(&self) -> bool {
        self.show_links
    }
}

/// What stands in for a link's secret outside development mail mode.
pub const HIDDEN_SECRET: &str = "[secret hidden: development mail is off]";

/// `body` with every link secret (a run of 32 or more hex digits) replaced by
/// [`HIDDEN_SECRET`], unless `show_links`.
pub fn shown_body(body: &str, show_links: bool) -> String {
    if show_links {
        return body.to_owned();
    }
    let mut out = String::with_capacity(body.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 32 {
            out.push_str(HIDDEN_SECRET);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in body.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Hands up to `batch` waiting messages to `transport`, oldest first; returns how many were
/// delivered. Each message is claimed by one conditional update before it is sent, so several
/// instances running this loop never send the same message twice; a failed send is released
/// (with its error, and its body as it was) for the next round. Unless the transport keeps
/// secrets, the claim also replaces the links' secrets in the stored body: the message is sent
/// from the copy read here.
pub async fn deliver_pending(
    db: &impl ConnectionTrait,
    transport: &impl Transport,
    batch: u64,
) -> Result<u64, AppError> {
    let waiting = outbox_message::Entity::find()
        .filter(outbox_message::Column::SentAt.is_null())
        .order_by_asc(outbox_message::Column::Id)
        .limit(batch)
        .all(db)
        .await?;
    let mut delivered = 0;
    for message in waiting {
        let mut claim = outbox_message::Entity::update_many()
            .col_expr(outbox_message::Column::SentAt, Expr::value(Utc::now()));
        if !transport.keeps_secrets() {
            claim = claim.col_expr(
                outbox_message::Column::Body,
                Expr::value(shown_body(&message.body, false)),
            );
        }
        let claimed = claim
            .filter(outbox_message::Column::Id.eq(message.id))
            .filter(outbox_message::Column::SentAt.is_null())
            .exec(db)
            .await?
            .rows_affected;
        if claimed == 0 {
            continue;
        }
        match transport.send(&message).await {
            Ok(()) => delivered += 1,
            Err(why) => {
                tracing::warn!(id = message.id, %why, "mail not delivered; will retry");
                outbox_message::Entity::update_many()
                    .col_expr(
                        outbox_message::Column::SentAt,
                        Expr::value(Option::<DateTime<Utc>>::None),
                    )
                    .col_expr(outbox_message::Column::LastError, Expr::value(why))
                    .col_expr(
                        outbox_message::Column::Body,
                        Expr::value(message.body.clone()),
                    )
                    .filter(outbox_message::Column::Id.eq(message.id))
                    .exec(db)
                    .await?;
            }
        }
    }
    Ok(delivered)
}

/// One page of the outbox, newest first, bodies included (admins only). The links' secrets
/// are shown only in development mail mode (`show_links`, the demo): they set passwords and
/// join accounts, so outside it an admin reading the outbox must not be able to use them.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    page: u64,
    show_links: bool,
) -> Result<Page<MailRow>, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    let query = outbox_message::Entity::find().order_by_desc(outbox_message::Column::Id);
    let (messages, total, page) = super::paging::rows_and_total(db, query, page).await?;
    let rows = messages
        .into_iter()
        .map(|m| MailRow {
            id: m.id,
            kind: MailKind::from_code(&m.kind)
                .map_or_else(|| m.kind.clone(), |k| k.label().to_owned()),
            recipient: m.recipient,
            subject: m.subject,
            body: shown_body(&m.body, show_links),
            created_at: m.created_at,
            sent_at: m.sent_at,
            last_error: m.last_error,
        })
        .collect();
    Ok(Page { rows, page, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hidden_outside_development_mail() {
        let token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let body = format!("Open http://x/verify/{token} now. Ref 2026-11-26, id beef.");
        let hidden = shown_body(&body, false);
        assert!(!hidden.contains(token), "{hidden}");
        assert!(
            hidden.contains(HIDDEN_SECRET) && hidden.contains("id beef."),
            "{hidden}"
        );
        assert_eq!(shown_body(&body, true), body);
    }

    #[test]
    fn links_are_absolute_on_the_configured_site() {
        let url = link("/verify/abc");
        assert!(url.starts_with("http"), "{url}");
        assert!(url.ends_with("/verify/abc"), "{url}");
        assert!(!url.contains("//verify"), "{url}");
    }
}
