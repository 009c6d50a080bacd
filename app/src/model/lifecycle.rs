//! The campaign lifecycle: its statuses, what can happen to a campaign, and the one function
//! that decides where each event leads (or why it cannot happen).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a campaign is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(16))"
    )
)]
pub enum CampaignStatus {
    /// Being built; nothing runs.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "draft"))]
    Draft,
    /// Approved to run, waiting for its start time.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "scheduled"))]
    Scheduled,
    /// Delivering.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "running"))]
    Running,
    /// Stopped by the advertiser; can resume.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "paused"))]
    Paused,
    /// Ended by its end date or by spending its budget.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "completed"))]
    Completed,
    /// Put away; read-only.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "archived"))]
    Archived,
}

impl CampaignStatus {
    pub const ALL: [Self; 6] = [
        Self::Draft,
        Self::Scheduled,
        Self::Running,
        Self::Paused,
        Self::Completed,
        Self::Archived,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Scheduled => "scheduled",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Archived => "archived",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::Scheduled => "Scheduled",
            Self::Running => "Running",
            Self::Paused => "Paused",
            Self::Completed => "Completed",
            Self::Archived => "Archived",
        }
    }
}

impl CampaignStatus {
    /// Approved and not yet over: its ads may serve (now or later), so targeting changes need
    /// review while money, dates and schedule take effect at once.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Scheduled | Self::Running | Self::Paused)
    }

    /// Whether the advertiser may still change the campaign (completed and archived campaigns
    /// are kept as they ran; clone them to run again).
    pub fn is_editable(self) -> bool {
        matches!(
            self,
            Self::Draft | Self::Scheduled | Self::Running | Self::Paused
        )
    }
}

/// Why a campaign completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompletionReason {
    EndDateReached,
    BudgetSpent,
}

impl CompletionReason {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::EndDateReached => "end_date",
            Self::BudgetSpent => "budget_spent",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::EndDateReached, Self::BudgetSpent]
            .into_iter()
            .find(|r| r.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::EndDateReached => "End date reached",
            Self::BudgetSpent => "Budget spent",
        }
    }
}

/// Something that happens to a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CampaignEvent {
    /// An ad was approved: the campaign goes live, now or at its start time.
    Launch {
        has_approved_ad: bool,
        start_reached: bool,
    },
    /// The start time of a scheduled campaign arrived.
    StartReached,
    Pause,
    Resume,
    Complete(CompletionReason),
    Archive,
}

impl CampaignEvent {
    /// Every kind of event, with each flag combination, for exhaustive tests and docs.
    pub const ALL: [Self; 10] = [
        Self::Launch {
            has_approved_ad: true,
            start_reached: true,
        },
        Self::Launch {
            has_approved_ad: true,
            start_reached: false,
        },
        Self::Launch {
            has_approved_ad: false,
            start_reached: true,
        },
        Self::Launch {
            has_approved_ad: false,
            start_reached: false,
        },
        Self::StartReached,
        Self::Pause,
        Self::Resume,
        Self::Complete(CompletionReason::EndDateReached),
        Self::Complete(CompletionReason::BudgetSpent),
        Self::Archive,
    ];
}

/// A refused transition, with the sentence to show the advertiser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionError {
    pub from: CampaignStatus,
    pub event: CampaignEvent,
    pub message: String,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Where `event` takes a campaign that is `from`, or why it cannot happen.
///
/// Draft → Scheduled / Running (launch, which needs an approved ad) → Paused ↔ Running →
/// Completed (end date or budget) → Archived. A scheduled or paused campaign also completes
/// when its end date passes; a draft can be archived without ever running.
pub fn transition(
    from: CampaignStatus,
    event: CampaignEvent,
) -> Result<CampaignStatus, TransitionError> {
    use CampaignEvent as E;
    use CampaignStatus as S;
    let refuse = |message: &str| {
        Err(TransitionError {
            from,
            event,
            message: message.to_owned(),
        })
    };
    match (from, event) {
        (
            S::Draft,
            E::Launch {
                has_approved_ad: false,
                ..
            },
        ) => refuse("A campaign needs at least one approved ad before it can run."),
        (
            S::Draft,
            E::Launch {
                start_reached: true,
                ..
            },
        ) => Ok(S::Running),
        (S::Draft, E::Launch { .. }) => Ok(S::Scheduled),
        (_, E::Launch { .. }) => refuse("Only a draft campaign can be launched."),
        (S::Scheduled, E::StartReached) => Ok(S::Running),
        (_, E::StartReached) => refuse("Only a scheduled campaign can start."),
        (S::Running, E::Pause) => Ok(S::Paused),
        (_, E::Pause) => refuse("Only a running campaign can be paused."),
        (S::Paused, E::Resume) => Ok(S::Running),
        (_, E::Resume) => refuse("Only a paused campaign can be resumed."),
        (S::Running, E::Complete(_))
        | (S::Scheduled | S::Paused, E::Complete(CompletionReason::EndDateReached)) => {
            Ok(S::Completed)
        }
        (S::Scheduled | S::Paused, E::Complete(CompletionReason::BudgetSpent)) => {
            refuse("Only a running campaign can spend its budget.")
        }
        (_, E::Complete(_)) => refuse("This campaign is not live, so it cannot complete."),
        (S::Draft | S::Completed, E::Archive) => Ok(S::Archived),
        (S::Archived, E::Archive) => refuse("This campaign is already archived."),
        (_, E::Archive) => refuse("Pause and let the campaign complete before archiving it."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CampaignEvent as E;
    use CampaignStatus as S;
    use CompletionReason::{BudgetSpent, EndDateReached};

    /// Every allowed transition, written out by hand; everything else must be refused.
    const ALLOWED: &[(S, E, S)] = &[
        (
            S::Draft,
            E::Launch {
                has_approved_ad: true,
                start_reached: true,
            },
            S::Running,
        ),
        (
            S::Draft,
            E::Launch {
                has_approved_ad: true,
                start_reached: false,
            },
            S::Scheduled,
        ),
        (S::Draft, E::Archive, S::Archived),
        (S::Scheduled, E::StartReached, S::Running),
        (S::Scheduled, E::Complete(EndDateReached), S::Completed),
        (S::Running, E::Pause, S::Paused),
        (S::Running, E::Complete(EndDateReached), S::Completed),
        (S::Running, E::Complete(BudgetSpent), S::Completed),
        (S::Paused, E::Resume, S::Running),
        (S::Paused, E::Complete(EndDateReached), S::Completed),
        (S::Completed, E::Archive, S::Archived),
    ];

    #[test]
    fn every_status_and_event_pair_is_decided_as_the_table_says() {
        let mut allowed = 0;
        for from in S::ALL {
            for event in E::ALL {
                let expected = ALLOWED
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                match (transition(from, event), expected) {
                    (Ok(to), Some(want)) => {
                        assert_eq!(to, want, "{from:?} + {event:?}");
                        allowed += 1;
                    }
                    (Err(e), None) => {
                        assert_eq!((e.from, e.event), (from, event));
                        assert!(e.message.ends_with('.'), "a sentence: {}", e.message);
                    }
                    (got, want) => panic!("{from:?} + {event:?}: got {got:?}, want {want:?}"),
                }
            }
        }
        assert_eq!(allowed, ALLOWED.len(), "every table row is reachable");
    }

    #[test]
    fn archived_is_final_and_refusals_say_why() {
        for event in E::ALL {
            assert!(transition(S::Archived, event).is_err(), "{event:?}");
        }
        let no_ad = transition(
            S::Draft,
            E::Launch {
                has_approved_ad: false,
                start_reached: true,
            },
        );
        assert_eq!(
            no_ad.map_err(|e| e.to_string()),
            Err("A campaign needs at least one approved ad before it can run.".to_owned())
        );
    }

    /// How many distinct events share `event`'s kind. The matches are exhaustive: a new
    /// event, flag or completion reason does not compile here until it is counted. The test
    /// below then holds `CampaignEvent::ALL` to every combination of each kind it lists, and
    /// to the total of all kinds.
    fn events_of_kind(event: E) -> usize {
        match event {
            E::Launch {
                has_approved_ad: _,
                start_reached: _,
            } => 4,
            E::StartReached | E::Pause | E::Resume | E::Archive => 1,
            E::Complete(EndDateReached | BudgetSpent) => 2,
        }
    }

    #[test]
    fn the_event_list_is_complete() {
        // One of each kind, in the order of the enum; with the match above, a new kind that
        // is counted but left out here or in `ALL` fails one of the two assertions.
        let kinds = [
            E::Launch {
                has_approved_ad: true,
                start_reached: true,
            },
            E::StartReached,
            E::Pause,
            E::Resume,
            E::Complete(EndDateReached),
            E::Archive,
        ];
        assert_eq!(
            kinds.iter().map(|k| events_of_kind(*k)).sum::<usize>(),
            E::ALL.len()
        );
        for event in E::ALL {
            let kind = std::mem::discriminant(&event);
            let listed: Vec<E> = E::ALL
                .into_iter()
                .filter(|e| std::mem::discriminant(e) == kind)
                .collect();
            assert_eq!(listed.len(), events_of_kind(event), "{event:?}");
            assert_eq!(
                listed.iter().filter(|e| **e == event).count(),
                1,
                "{event:?} listed once"
            );
        }
    }

    #[test]
    fn codes_round_trip() {
        for status in S::ALL {
            assert_eq!(S::from_code(status.code()), Some(status));
        }
        assert_eq!(S::from_code("live"), None);
    }
}
