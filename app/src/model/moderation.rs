//! Moderation as moderators and advertisers see it: the queue, the review screen, decisions
//! with their policy reasons, appeals, and the published review-time figures.

use super::limits;
use super::{
    AccountId, AdCopy, AdVersionId, CampaignId, CampaignStatus, DiffPart, FieldChange,
    PolicyReason, ReviewDecisionId, ReviewTaskId,
};
use crate::error::FieldErrors;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use validator::Validate;

/// How long opening an item keeps it away from other moderators.
pub const CLAIM_MINUTES: i64 = 15;
/// Longest moderator note and appeal message, in characters.
pub const NOTE_MAX: usize = 1000;
/// At most this many policy reasons cited by one decline.
pub const MAX_CITED_REASONS: usize = 20;

macro_rules! stored_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal : $label:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
        #[cfg_attr(
            feature = "ssr",
            sea_orm(rs_type = "String", db_type = "String(sea_orm::sea_query::StringLen::N(16))")
        )]
        pub enum $name {
            $($(#[$vdoc])* #[cfg_attr(feature = "ssr", sea_orm(string_value = $code))] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored (and URL) code.
            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code,)+ }
            }

            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label,)+ }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }
        }
    };
}

stored_enum!(
    /// What a review task is about.
    ReviewKind {
        /// One version of an ad's copy.
        AdVersion = "ad_version": "Ad",
        /// A new targeting for a campaign that is already live.
        Targeting = "targeting": "Targeting change",
    }
);

impl ReviewKind {
    /// What a task or decision is about, from the ad version it names (none: a targeting).
    pub fn of(ad_version: Option<i64>) -> Self {
        if ad_version.is_some() {
            Self::AdVersion
        } else {
            Self::Targeting
        }
    }
}

stored_enum!(
    /// Where a review task is.
    TaskState {
        /// Waiting for (or being reviewed by) a moderator.
        Open = "open": "Waiting",
        Decided = "decided": "Decided",
        /// The advertiser replaced or withdrew what was to be reviewed.
        Withdrawn = "withdrawn": "Withdrawn",
    }
);

stored_enum!(
    /// A moderator's verdict.
    Verdict {
        Approved = "approved": "Approved",
        Declined = "declined": "Declined",
    }
);

stored_enum!(
    /// The part of the submission a decline points at.
    ReviewField {
        Text = "text": "Text",
        ButtonLabel = "button_label": "Button label",
        DestinationUrl = "destination_url": "Destination",
        Targeting = "targeting": "Targeting",
    }
);

/// The queue's filters, as in the URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
#[serde(default)]
pub struct QueueFilter {
    /// An ISO 639-1 code of a targeted language, or empty for all.
    #[cfg_attr(feature = "ssr", validate(length(max = limits::u64_of(limits::CODE_MAX))))]
    pub language: String,
    /// An account id, or empty for all.
    #[cfg_attr(feature = "ssr", validate(length(max = limits::u64_of(limits::NUMBER_MAX))))]
    pub account: String,
    /// The appeals queue instead of first reviews.
    pub appeals: bool,
}

/// One waiting item of the queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueRow {
    pub id: ReviewTaskId,
    pub kind: ReviewKind,
    pub account_id: AccountId,
    pub account_name: String,
    pub campaign_name: String,
    /// The ad's title and version, or the campaign's name for a targeting change.
    pub subject: String,
    /// The ad's text, or the proposed targeting in words.
    pub preview: String,
    pub languages: Vec<String>,
    pub submitted_at: DateTime<Utc>,
    /// Claimed by the viewer and not yet expired.
    pub claimed_by_me: bool,
}

/// The moderator's queue: waiting items oldest first, and what the filters can choose from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueView {
    pub rows: Vec<QueueRow>,
    /// Items matching the filters (the list shows the oldest 100).
    pub total: u64,
    /// The server's clock, so wait times render the same on both sides.
    pub now: DateTime<Utc>,
    /// (code, name) of languages with waiting items.
    pub languages: Vec<(String, String)>,
    /// Accounts with waiting items.
    pub accounts: Vec<(AccountId, String)>,
    /// Waiting items in the other queue (appeals when this is first reviews, and back).
    pub other_queue: u64,
}

/// The ad copy under review, with what the automatic pre-checks found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdUnderReview {
    pub title: String,
    pub version_id: AdVersionId,
    pub number: i32,
    pub copy: AdCopy,
    /// (field, message) from the same checks the editor runs.
    pub findings: Vec<(String, String)>,
}

/// What changed since the last approved version (or the serving targeting).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewDiff {
    /// The version compared against, for an ad: the last approved one, or — when none was
    /// ever approved — the last declined one (what changed since the decline).
    pub against_version: Option<i32>,
    pub against_approved: bool,
    pub text: Vec<DiffPart>,
    /// (before, after) when they differ.
    pub button_label: Option<(String, String)>,
    pub destination_url: Option<(String, String)>,
    pub targeting: Vec<FieldChange>,
}

/// A forecast in one line, for the review screen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastBrief {
    pub channels: u64,
    pub subscribers: i64,
    pub daily_views: i64,
}

/// An appeal as the reviewer reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppealBrief {
    pub message: String,
    pub created_at: DateTime<Utc>,
    /// The decline being appealed.
    pub decision: DecisionView,
}

/// Everything a moderator needs to decide one item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewScreen {
    pub task: ReviewTaskId,
    pub kind: ReviewKind,
    pub state: TaskState,
    pub submitted_at: DateTime<Utc>,
    /// The viewer's claim ends then (`None` once decided or withdrawn).
    pub claimed_until: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
    pub account_id: AccountId,
    pub account_name: String,
    pub campaign_id: CampaignId,
    pub campaign_name: String,
    pub campaign_status: CampaignStatus,
    pub ad: Option<AdUnderReview>,
    /// For a targeting change: the campaign's serving ads, which the change would show to
    /// new channels.
    pub serving_ads: Vec<AdUnderReview>,
    /// The targeting under review (a targeting change) or the one the ad will serve with.
    pub targeting: String,
    pub targeting_languages: Vec<String>,
    pub forecast: Option<ForecastBrief>,
    pub diff: Option<ReviewDiff>,
    pub appeal: Option<AppealBrief>,
    /// The account's earlier decisions, newest first.
    pub history: Vec<DecisionView>,
    /// The reasons a decline can cite.
    pub reasons: Vec<PolicyReason>,
    /// The decision, once made.
    pub decided: Option<DecisionView>,
}

/// A moderator's decision as submitted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecisionInput {
    pub approve: bool,
    /// Policy reason codes (a decline needs at least one).
    pub reasons: Vec<String>,
    /// A `ReviewField` code, or empty.
    pub field: String,
    pub note: String,
}

impl DecisionInput {
    /// Field errors for what cannot be decided; the reasons' existence is checked by the server.
    /// Too many reasons are refused alone, before the list is walked.
    pub fn check(&self) -> FieldErrors {
        let mut errors = FieldErrors::default();
        if self.reasons.len() > MAX_CITED_REASONS {
            errors.add(
                "reasons",
                format!("Cite at most {MAX_CITED_REASONS} policy reasons."),
            );
            return errors;
        }
        limits::check_entries(&mut errors, "reasons", &self.reasons, limits::CODE_MAX);
        limits::check_lengths(&mut errors, &[("field", &self.field, limits::CODE_MAX)]);
        if !errors.is_empty() {
            return errors;
        }
        if !self.approve && self.reasons.is_empty() {
            errors.add(
                "reasons",
                "Choose at least one policy reason for a decline.",
            );
        }
        if self.approve && !self.reasons.is_empty() {
            errors.add("reasons", "An approval cites no policy reasons.");
        }
        if self.approve && !self.field.is_empty() {
            errors.add("field", "An approval names no offending field.");
        } else if !self.field.is_empty() && ReviewField::from_code(&self.field).is_none() {
            errors.add("field", "Choose one of the listed fields.");
        }
        if self.note.chars().count() > NOTE_MAX {
            errors.add("note", format!("At most {NOTE_MAX} characters."));
        }
        errors
    }
}

/// The cited reason of a decision, with its guideline's anchor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitedReason {
    pub code: String,
    pub title: String,
}

impl CitedReason {
    /// Where the public guidelines page explains this reason.
    pub fn href(&self) -> String {
        format!("/guidelines#{}", self.code)
    }
}

/// Where an appeal of a decision stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppealState {
    /// It may still be appealed.
    Open,
    Waiting,
    Decided,
    /// Approvals, appeal decisions and declines of superseded versions cannot be appealed.
    NotAppealable,
}

/// One decision, as both sides read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionView {
    pub id: ReviewDecisionId,
    pub kind: ReviewKind,
    pub campaign_id: CampaignId,
    /// "Ad “Winter promo”, version 2" or "Targeting of “Winter”".
    pub subject: String,
    pub verdict: Verdict,
    pub reasons: Vec<CitedReason>,
    pub field: Option<ReviewField>,
    pub note: String,
    pub is_appeal: bool,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: DateTime<Utc>,
    pub appeal: AppealState,
    /// The advertiser's appeal message, when there is one.
    pub appeal_message: Option<String>,
}

/// An advertiser's appeal of a decline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppealInput {
    pub message: String,
}

impl AppealInput {
    /// The size check alone ([`NOTE_MAX`]), made before anything else.
    pub fn check_size(&self) -> FieldErrors {
        let mut errors = FieldErrors::default();
        limits::check_lengths(&mut errors, &[("message", &self.message, NOTE_MAX)]);
        errors
    }

    pub fn check(&self) -> FieldErrors {
        let mut errors = FieldErrors::default();
        let length = self.message.trim().chars().count();
        if length < 10 {
            errors.add(
                "message",
                "Tell the reviewer why the decision is wrong (at least 10 characters).",
            );
        } else if length > NOTE_MAX {
            errors.add("message", format!("At most {NOTE_MAX} characters."));
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declines_need_a_reason_and_approvals_cite_none() {
        let decline = DecisionInput {
            approve: false,
            ..Default::default()
        };
        assert!(decline.check().get("reasons").is_some());
        let approve = DecisionInput {
            approve: true,
            reasons: vec!["adult".into()],
            ..Default::default()
        };
        assert!(approve.check().get("reasons").is_some());
        let approve_with_field = DecisionInput {
            approve: true,
            field: "text".into(),
            ..Default::default()
        };
        assert!(approve_with_field.check().get("field").is_some());
        assert!(
            DecisionInput {
                approve: true,
                ..Default::default()
            }
            .check()
            .is_empty()
        );
        let bad_field = DecisionInput {
            approve: false,
            reasons: vec!["adult".into()],
            field: "colour".into(),
            note: "x".repeat(NOTE_MAX + 1),
        };
        let errors = bad_field.check();
        assert!(errors.get("field").is_some() && errors.get("note").is_some());
        assert!(
            DecisionInput {
                approve: false,
                reasons: vec!["adult".into()],
                field: "text".into(),
                note: "Explicit wording".into(),
            }
            .check()
            .is_empty()
        );
        assert!(
            AppealInput {
                message: "short".into()
            }
            .check()
            .get("message")
            .is_some()
        );
        assert!(
            AppealInput {
                message: "The offer is real, see the terms page.".into()
            }
            .check()
            .is_empty()
        );
    }
}
