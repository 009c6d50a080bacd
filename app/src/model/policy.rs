//! Published policy reasons: what a decline cites, and the guideline text it links to.

use super::PolicyReasonId;
use crate::error::FieldErrors;
use serde::{Deserialize, Serialize};

/// Longest guideline text, in characters.
pub const GUIDELINE_MAX: usize = 4000;

/// One policy reason with its guideline; `code` is also the anchor on the guidelines page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyReason {
    pub id: PolicyReasonId,
    pub code: String,
    pub title: String,
    pub guideline: String,
    pub position: i32,
    /// Retired reasons stay on old decisions but cannot be cited any more.
    pub active: bool,
}

/// An admin's edit of a reason (`id` = `None` adds one), as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyReasonInput {
    pub id: Option<PolicyReasonId>,
    pub code: String,
    pub title: String,
    pub guideline: String,
    pub active: bool,
}

impl PolicyReasonInput {
    pub fn check(&self) -> FieldErrors {
        let mut errors = FieldErrors::default();
        let code = self.code.trim();
        if self.id.is_none()
            && (code.len() < 2
                || code.len() > 40
                || !code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                || code.starts_with('-'))
        {
            errors.add(
                "code",
                "2–40 lowercase letters, digits and hyphens (it becomes the guideline's anchor).",
            );
        }
        let title = self.title.trim().chars().count();
        if title == 0 {
            errors.add("title", "Give the reason a title.");
        } else if title > 120 {
            errors.add("title", "At most 120 characters.");
        }
        let guideline = self.guideline.trim().chars().count();
        if guideline < 20 {
            errors.add(
                "guideline",
                "Explain the rule so an advertiser can follow it (at least 20 characters).",
            );
        } else if guideline > GUIDELINE_MAX {
            errors.add("guideline", format!("At most {GUIDELINE_MAX} characters."));
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_anchor_safe_and_texts_sized() {
        let good = PolicyReasonInput {
            id: None,
            code: "crypto-ico".into(),
            title: "Token sales".into(),
            guideline: "Initial coin offerings are not accepted.".into(),
            active: true,
        };
        assert!(good.check().is_empty());
        for code in ["A", "has space", "-lead", "ümlaut", &"x".repeat(41)] {
            let bad = PolicyReasonInput {
                code: code.into(),
                ..good.clone()
            };
            assert!(bad.check().get("code").is_some(), "{code}");
        }
        let short = PolicyReasonInput {
            guideline: "No.".into(),
            title: " ".into(),
            ..good
        };
        let errors = short.check();
        assert!(errors.get("guideline").is_some() && errors.get("title").is_some());
    }
}
