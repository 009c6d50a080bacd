//! In-app notifications: review decisions and appeals, per user and ad account.

use super::NotificationId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One notification as its recipient reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    pub id: NotificationId,
    pub title: String,
    pub body: String,
    /// Where to read more (a page of the same account).
    pub link: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

/// The newest notifications of the current account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationList {
    pub items: Vec<NotificationView>,
    pub unread: u64,
}
