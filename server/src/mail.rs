//! Mail delivery: a loop that hands the outbox's waiting messages to a transport. The built-in
//! transport is the console (the log); an SMTP transport plugs in at
//! `app::service::mail::Transport`.

use app::service::mail::{self, ConsoleTransport};
use sea_orm::DatabaseConnection;
use std::time::Duration;

/// Messages handed over per round.
const BATCH: u64 = 50;

/// Every `every`, writes the outbox's new messages to the log (safe with several instances:
/// each message is claimed by exactly one); the links' secrets only when `show_links`.
pub fn deliver_to_console(db: DatabaseConnection, every: Duration, show_links: bool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) =
                mail::deliver_pending(&db, &ConsoleTransport { show_links }, BATCH).await
            {
                tracing::warn!(%e, "could not deliver mail");
            }
        }
    });
}
