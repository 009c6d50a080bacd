//! Ads (creatives) as advertisers write them: the editor's input, the statuses of an ad's
//! immutable versions, and views of an ad with its history.

use super::{AD_TEXT_MAX, precheck};
use super::{AdCopy, AdId, AdVersionId, BUTTON_LABEL_MAX, CampaignId, CampaignStatus};
use crate::error::FieldErrors;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Most ads in one campaign.
pub const MAX_ADS_PER_CAMPAIGN: usize = 10;
/// Longest internal ad title, in characters.
pub const AD_TITLE_MAX: usize = 80;
/// Longest destination link, in characters.
pub const AD_URL_MAX: usize = 2048;

/// Where one version of an ad is in review. A version never changes its copy: an edit of a
/// submitted version makes a new version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(16))"
    )
)]
pub enum AdVersionStatus {
    /// Being written; the only status whose copy may still be amended.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "draft"))]
    Draft,
    /// Waiting for a moderator.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "in_review"))]
    InReview,
    /// Approved: may run, and is frozen for good.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "approved"))]
    Approved,
    /// Declined with reasons.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "declined"))]
    Declined,
    /// Replaced by a newer submission before anyone reviewed it.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "withdrawn"))]
    Withdrawn,
}

impl AdVersionStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::InReview => "In review",
            Self::Approved => "Approved",
            Self::Declined => "Declined",
            Self::Withdrawn => "Withdrawn",
        }
    }

    /// A CSS modifier for the status badge.
    pub fn tone(self) -> &'static str {
        match self {
            Self::Draft | Self::Withdrawn => "muted",
            Self::InReview => "warn",
            Self::Approved => "ok",
            Self::Declined => "bad",
        }
    }
}

/// The ad editor's form, exactly as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdInput {
    pub title: String,
    pub text: String,
    pub button_label: String,
    pub destination_url: String,
}

impl AdInput {
    /// The parts the pre-checks and moderators read.
    pub fn copy(&self) -> AdCopy {
        AdCopy {
            text: self.text.clone(),
            button_label: self.button_label.trim().to_owned(),
            destination_url: self.destination_url.trim().to_owned(),
        }
    }

    /// What must hold for a draft to be saved at all: a title, and the sizes a version can
    /// hold. Style findings (capitals, emoji, links) do not block a draft; they block submitting.
    pub fn check_for_save(&self) -> FieldErrors {
        let mut errors = FieldErrors::default();
        let title = self.title.trim();
        if title.is_empty() {
            errors.add("title", "Give the ad an internal title.");
        } else if title.chars().count() > AD_TITLE_MAX {
            errors.add("title", format!("At most {AD_TITLE_MAX} characters."));
        }
        let length = self.text.chars().count();
        if length > AD_TEXT_MAX {
            errors.add(
                "text",
                format!("{length} characters: the limit is {AD_TEXT_MAX}."),
            );
        }
        if self.button_label.trim().chars().count() > BUTTON_LABEL_MAX {
            errors.add(
                "button_label",
                format!("At most {BUTTON_LABEL_MAX} characters."),
            );
        }
        if self.destination_url.trim().chars().count() > AD_URL_MAX {
            errors.add(
                "destination_url",
                format!("At most {AD_URL_MAX} characters."),
            );
        }
        errors
    }

    /// Everything that blocks submitting for review: the save checks and every pre-check
    /// finding, all of them beside their field.
    pub fn check_for_submit(&self) -> FieldErrors {
        let mut errors = self.check_for_save();
        for finding in precheck(&self.copy()) {
            errors.append(finding.field, finding.message);
        }
        errors
    }
}

/// One version of an ad as its history shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdVersionView {
    pub id: AdVersionId,
    /// 1, 2, 3… per ad.
    pub number: i32,
    pub copy: AdCopy,
    pub status: AdVersionStatus,
    pub created_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// An ad with its versions, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdDetails {
    pub id: AdId,
    pub campaign_id: CampaignId,
    pub title: String,
    /// Paused by the advertiser: it does not serve even when approved.
    pub paused: bool,
    /// The approved version that serves (while a newer one may be in review).
    pub live_version: Option<i32>,
    pub versions: Vec<AdVersionView>,
    /// Views, clicks and spend so far.
    #[serde(default)]
    pub delivery: super::AdDelivery,
}

impl AdDetails {
    /// The newest version (every ad has at least one).
    pub fn latest(&self) -> Option<&AdVersionView> {
        self.versions.first()
    }

    /// The serving version, if any.
    pub fn live(&self) -> Option<&AdVersionView> {
        let live = self.live_version?;
        self.versions.iter().find(|v| v.number == live)
    }

    /// The editor's starting point: the newest version's copy.
    pub fn input(&self) -> AdInput {
        let copy = self.latest().map(|v| v.copy.clone()).unwrap_or_default();
        AdInput {
            title: self.title.clone(),
            text: copy.text,
            button_label: copy.button_label,
            destination_url: copy.destination_url,
        }
    }

    /// What the advertiser should read first about this ad.
    pub fn state_label(&self) -> String {
        let latest = self.latest().map(|v| v.status);
        let live = self.live().is_some();
        match (self.paused, live, latest) {
            (true, _, _) => "Paused".into(),
            (false, true, Some(AdVersionStatus::InReview)) => "Approved · edit in review".into(),
            (false, true, Some(AdVersionStatus::Draft)) => "Approved · unsent edit".into(),
            (false, true, Some(AdVersionStatus::Declined)) => "Approved · edit declined".into(),
            (false, true, _) => "Approved".into(),
            (false, false, Some(status)) => status.label().into(),
            (false, false, None) => "Empty".into(),
        }
    }
}

/// The campaign an ad belongs to, for the ad editor's heading and rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignBrief {
    pub id: CampaignId,
    pub name: String,
    pub status: CampaignStatus,
    pub ads: u64,
}

/// Everything the ad editor needs in one round trip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdEditorData {
    pub campaign: CampaignBrief,
    /// `None` for a new ad.
    pub ad: Option<AdDetails>,
    /// Moderators' decisions on the ad's versions, newest first.
    pub decisions: Vec<super::DecisionView>,
    /// Whether the viewer may change ads (owners and managers).
    pub can_edit: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AdInput {
        AdInput {
            title: "Winter promo".into(),
            text: "Fresh beans every Monday".into(),
            button_label: "Order".into(),
            destination_url: "https://acme.coffee".into(),
        }
    }

    #[test]
    fn drafts_save_with_style_findings_but_cannot_be_submitted() {
        let shouting = AdInput {
            text: "An AMAZING offer today".into(),
            ..input()
        };
        assert!(shouting.check_for_save().is_empty());
        assert!(
            shouting
                .check_for_submit()
                .get("text")
                .is_some_and(|m| m.contains("ALL-CAPS"))
        );
        assert!(input().check_for_submit().is_empty());
    }

    #[test]
    fn sizes_and_title_block_saving() {
        let errors = AdInput {
            title: " ".into(),
            text: "é".repeat(AD_TEXT_MAX + 1),
            button_label: "x".repeat(BUTTON_LABEL_MAX + 1),
            destination_url: format!("https://a.example/{}", "x".repeat(AD_URL_MAX)),
        }
        .check_for_save();
        for field in ["title", "text", "button_label", "destination_url"] {
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }
    }
}
