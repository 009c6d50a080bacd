//! The delivery API's JSON shapes (and their OpenAPI schemas). Money is integer micro-units of
//! the campaign account's currency (1 EUR = 1,000,000).

use app::service::delivery::DecisionAnswer;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A channel's new post needs an ad.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// The channel's handle as stored in the catalog (a leading `@` is accepted).
    #[schema(example = "tech_daily")]
    pub channel: String,
    /// The network's id for this slot (1–128 characters). The same id again gets the same
    /// answer.
    #[schema(example = "post-1842-ad")]
    pub slot_id: String,
}

/// The sponsored message to show.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdContent {
    /// At most 160 characters, no line breaks.
    pub text: String,
    pub button: String,
    pub url: String,
}

/// The winning ad for a slot, and its hold.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DecisionResponse {
    pub decision_id: i64,
    pub ad: AdContent,
    pub ad_version_id: i64,
    /// What the winner pays per thousand views, in micro-units.
    pub price_cpm: i64,
    pub currency: String,
    /// Reserved for this slot (the channel's average views at `price_cpm`), in micro-units:
    /// the most its views can be charged.
    pub held: i64,
    /// After this, the unused rest of the hold is released and further views are free.
    pub expires_at: DateTime<Utc>,
}

impl From<DecisionAnswer> for DecisionResponse {
    fn from(a: DecisionAnswer) -> Self {
        Self {
            decision_id: a.decision_id,
            ad: AdContent {
                text: a.ad.text,
                button: a.ad.button_label,
                url: a.ad.destination_url,
            },
            ad_version_id: a.ad_version_id,
            price_cpm: a.price_cpm.0,
            currency: a.currency,
            held: a.held.0,
            expires_at: a.expires_at,
        }
    }
}

/// One increment of views and clicks of a decision's ad.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The network's id for this increment (1–128 characters): sent again, it is counted once.
    pub event_id: String,
    pub decision_id: i64,
    /// New views since the last event (not a running total), 0–100,000,000.
    pub views: i64,
    /// New clicks, 0–100,000,000; a decision never has more clicks than views.
    pub clicks: i64,
    /// When they were seen: not before the decision, not more than 5 minutes ahead.
    pub at: DateTime<Utc>,
}

/// 1 to 1,000 events.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsRequest {
    pub events: Vec<Event>,
}

/// What became of one event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventOutcome {
    pub event_id: String,
    /// 200 (accepted or replayed), 404 (unknown decision), 409 (id reused with another body),
    /// 422 (invalid).
    pub status: u16,
    /// `accepted`, `replayed` or `rejected`.
    pub outcome: String,
    /// Charged for this event, in micro-units (a replay repeats the first answer).
    pub posted: i64,
    pub error: Option<ErrorDetail>,
}

/// One result per event, in the order sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventsResponse {
    pub results: Vec<EventOutcome>,
}

/// Paging of the channel list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ChannelsQuery {
    /// Channels with an id above this (the `next` of the previous page).
    pub after: Option<i64>,
    /// 1–1,000 (default 1,000).
    pub limit: Option<u64>,
}

/// An eligible channel.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChannelInfo {
    pub id: i64,
    pub handle: String,
    pub avg_views: i64,
    pub posts_per_day: f64,
}

/// A page of eligible channels.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChannelsResponse {
    pub channels: Vec<ChannelInfo>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<i64>,
}

/// What went wrong.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// `missing_key`, `invalid_key`, `rate_limited`, `malformed_json`, `invalid_input`,
    /// `unknown_channel`, `unknown_decision`, `batch_too_large`, `conflict`, `busy`, `internal`.
    pub code: String,
    pub message: String,
    /// The input it is about, when there is one.
    pub field: Option<String>,
}

/// Every error answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}
