//! What changed between two submissions: a word-level diff of the ad text and a field-by-field
//! comparison of two targetings, for the moderator's re-review.

use super::Targeting;
use serde::{Deserialize, Serialize};

/// Whether a piece of text is in both versions, only the new one, or only the old one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    Same,
    Added,
    Removed,
}

impl Change {
    /// A CSS modifier.
    pub fn class(self) -> &'static str {
        match self {
            Self::Same => "diff-same",
            Self::Added => "diff-added",
            Self::Removed => "diff-removed",
        }
    }
}

/// A run of words (with the spaces between them) that changed the same way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffPart {
    pub change: Change,
    pub text: String,
}

/// Words and the whitespace runs between them, in order (joined, they give `text` back).
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space: Option<bool> = None;
    for (i, c) in text.char_indices() {
        let space = c.is_whitespace();
        if in_space.is_some_and(|s| s != space) {
            out.push(&text[start..i]);
            start = i;
        }
        in_space = Some(space);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// The word-level difference from `old` to `new`: the longest common subsequence of words is
/// kept, everything else is removed (old) or added (new). Removed runs come before the added
/// runs that replace them; adjacent pieces of one kind are merged.
pub fn word_diff(old: &str, new: &str) -> Vec<DiffPart> {
    let a = tokens(old);
    let b = tokens(new);
    // lcs[i][j]: length of the LCS of a[i..] and b[j..]. Ad texts are ≤ 160 characters, so
    // the table stays tiny.
    let mut lcs = vec![vec![0u16; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut parts: Vec<DiffPart> = Vec::new();
    let mut push = |change: Change, text: &str| match parts.last_mut() {
        Some(last) if last.change == change => last.text.push_str(text),
        _ => parts.push(DiffPart {
            change,
            text: text.to_owned(),
        }),
    };
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            push(Change::Same, a[i]);
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            push(Change::Removed, a[i]);
            i += 1;
        } else {
            push(Change::Added, b[j]);
            j += 1;
        }
    }
    parts
}

/// One targeting field that differs, described before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "any".into()
    } else {
        items.join(", ")
    }
}

fn bound(value: Option<i64>) -> String {
    value.map_or_else(
        || "none".into(),
        |v| super::group_thousands(v.unsigned_abs()),
    )
}

fn channels(ids: &[super::ChannelId]) -> String {
    if ids.is_empty() {
        "none".into()
    } else {
        ids.iter()
            .map(|id| format!("#{id}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Every targeting field that differs between `old` and `new`, in the builder's order.
pub fn targeting_changes(old: &Targeting, new: &Targeting) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut field = |name: &str, before: String, after: String| {
        if before != after {
            out.push(FieldChange {
                field: name.into(),
                before,
                after,
            });
        }
    };
    field("Topics", list(&old.topics), list(&new.topics));
    field("Languages", list(&old.languages), list(&new.languages));
    field(
        "Minimum subscribers",
        bound(old.min_subscribers),
        bound(new.min_subscribers),
    );
    field(
        "Maximum subscribers",
        bound(old.max_subscribers),
        bound(new.max_subscribers),
    );
    field(
        "Minimum average views",
        bound(old.min_avg_views),
        bound(new.min_avg_views),
    );
    field(
        "Only these channels",
        channels(&old.include),
        channels(&new.include),
    );
    field(
        "Excluded channels",
        channels(&old.exclude),
        channels(&new.exclude),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(parts: &[DiffPart]) -> String {
        parts
            .iter()
            .map(|p| match p.change {
                Change::Same => p.text.clone(),
                Change::Added => format!("[+{}]", p.text),
                Change::Removed => format!("[-{}]", p.text),
            })
            .collect()
    }

    #[test]
    fn words_are_compared_not_characters() {
        let diff = word_diff(
            "Fresh beans every Monday",
            "Fresh roasted beans every Friday",
        );
        assert_eq!(
            render(&diff),
            "Fresh [+roasted ]beans every [-Monday][+Friday]"
        );
    }

    #[test]
    fn both_sides_are_recovered_from_the_diff() {
        let cases = [
            ("", "New text"),
            ("Old text", ""),
            ("same", "same"),
            ("A  double  space", "A double space"),
            ("Grüße aus Köln 🎉", "Grüße aus Bonn 🎉🎉"),
        ];
        for (old, new) in cases {
            let diff = word_diff(old, new);
            let before: String = diff
                .iter()
                .filter(|p| p.change != Change::Added)
                .map(|p| p.text.as_str())
                .collect();
            let after: String = diff
                .iter()
                .filter(|p| p.change != Change::Removed)
                .map(|p| p.text.as_str())
                .collect();
            assert_eq!((before.as_str(), after.as_str()), (old, new));
        }
        assert_eq!(
            word_diff("same", "same"),
            vec![DiffPart {
                change: Change::Same,
                text: "same".into()
            }]
        );
    }

    #[test]
    fn targeting_changes_name_only_what_differs() {
        let old = Targeting {
            topics: vec!["tech".into()],
            languages: vec!["en".into()],
            min_subscribers: Some(5_000),
            ..Default::default()
        };
        let new = Targeting {
            topics: vec!["crypto".into(), "tech".into()],
            languages: vec!["en".into()],
            min_subscribers: None,
            exclude: vec![super::super::ChannelId(7)],
            ..Default::default()
        };
        let changes = targeting_changes(&old, &new);
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            ["Topics", "Minimum subscribers", "Excluded channels"]
        );
        assert_eq!(changes[0].after, "crypto, tech");
        assert_eq!(changes[1].before, "5,000");
        assert!(targeting_changes(&old, &old).is_empty());
    }
}
