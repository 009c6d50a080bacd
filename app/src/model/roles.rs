//! Platform (staff) roles and per-ad-account roles, and what each may do.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// A role on the whole platform, granted by an admin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(16))"
    )
)]
pub enum PlatformRole {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "admin"))]
    Admin,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "moderator"))]
    Moderator,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "finance"))]
    Finance,
}

impl PlatformRole {
    pub const ALL: [Self; 3] = [Self::Admin, Self::Moderator, Self::Finance];

    /// The stable code used in forms, URLs and the audit trail.
    pub fn code(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Moderator => "moderator",
            Self::Finance => "finance",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Admin => "Admin",
            Self::Moderator => "Moderator",
            Self::Finance => "Finance",
        }
    }
}

/// A member's role inside one ad account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(16))"
    )
)]
pub enum AccountRole {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "owner"))]
    Owner,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "manager"))]
    Manager,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "analyst"))]
    Analyst,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "billing"))]
    Billing,
}

/// Something a member may or may not do inside an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountPermission {
    /// See the account's settings and members.
    ViewAccount,
    /// Rename the account, change its time zone, manage members.
    ManageAccount,
    /// Create and edit campaigns and ads.
    EditCampaigns,
    /// Read campaigns, ads and reports.
    ViewCampaigns,
    /// Balance, top-ups and statements.
    ViewBilling,
}

impl AccountRole {
    pub const ALL: [Self; 4] = [Self::Owner, Self::Manager, Self::Analyst, Self::Billing];

    pub fn code(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Manager => "manager",
            Self::Analyst => "analyst",
            Self::Billing => "billing",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Owner => "Owner",
            Self::Manager => "Manager",
            Self::Analyst => "Analyst",
            Self::Billing => "Billing",
        }
    }

    /// The one place that says which account role may do what.
    pub fn allows(self, permission: AccountPermission) -> bool {
        use AccountPermission::*;
        match self {
            Self::Owner => true,
            Self::Manager => !matches!(permission, ManageAccount),
            Self::Analyst => matches!(permission, ViewAccount | ViewCampaigns),
            Self::Billing => matches!(permission, ViewAccount | ViewBilling),
        }
    }
}

/// A role code that is not one of the known roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRole(pub String);

impl fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown role {:?}", self.0)
    }
}

impl FromStr for PlatformRole {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or_else(|| UnknownRole(s.into()))
    }
}

impl FromStr for AccountRole {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or_else(|| UnknownRole(s.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccountPermission::*;

    #[test]
    fn codes_round_trip() {
        for role in PlatformRole::ALL {
            assert_eq!(role.code().parse::<PlatformRole>(), Ok(role));
        }
        for role in AccountRole::ALL {
            assert_eq!(role.code().parse::<AccountRole>(), Ok(role));
        }
        assert!("root".parse::<PlatformRole>().is_err());
    }

    #[test]
    fn permission_matrix() {
        let table = [
            (AccountRole::Owner, [true, true, true, true, true]),
            (AccountRole::Manager, [true, false, true, true, true]),
            (AccountRole::Analyst, [true, false, false, true, false]),
            (AccountRole::Billing, [true, false, false, false, true]),
        ];
        let perms = [
            ViewAccount,
            ManageAccount,
            EditCampaigns,
            ViewCampaigns,
            ViewBilling,
        ];
        for (role, expected) in table {
            for (perm, allowed) in perms.into_iter().zip(expected) {
                assert_eq!(role.allows(perm), allowed, "{role:?} {perm:?}");
            }
        }
    }
}
