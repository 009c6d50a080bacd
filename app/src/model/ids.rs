//! Typed ids: a `UserId` can never be passed where an `AccountId` is expected.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

id_type!(
    /// A person who signs in.
    UserId
);
id_type!(
    /// An advertiser organisation.
    AccountId
);
id_type!(
    /// An invitation to join an ad account.
    InvitationId
);
id_type!(
    /// One row of the audit trail.
    AuditEventId
);
id_type!(
    /// A channel of the catalog.
    ChannelId
);
id_type!(
    /// A topic of the channel taxonomy.
    TopicId
);
id_type!(
    /// A staged channel CSV import.
    CatalogImportId
);
id_type!(
    /// An advertiser's campaign.
    CampaignId
);
id_type!(
    /// An ad (creative) of a campaign.
    AdId
);
id_type!(
    /// One immutable version of an ad.
    AdVersionId
);
id_type!(
    /// One item of the moderation queue: an ad version or a targeting change to review.
    ReviewTaskId
);
id_type!(
    /// A moderator's decision on one review task.
    ReviewDecisionId
);
id_type!(
    /// A published policy reason.
    PolicyReasonId
);
id_type!(
    /// An in-app notification for one user.
    NotificationId
);
