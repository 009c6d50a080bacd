//! Admin views: users with their roles, role changes, and the audit trail.

use super::{AuditEventId, PlatformRole, UserId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use {super::limits, validator::Validate};

/// A user as the admin users page lists them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub staff_roles: Vec<PlatformRole>,
    pub account_count: u64,
}

/// Grant or revoke one platform role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleChangeInput {
    pub user_id: UserId,
    pub role: PlatformRole,
    pub grant: bool,
}

/// Filters of the audit page; every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct AuditFilter {
    /// Exact email of the actor (at most [`EMAIL_MAX`](super::limits::EMAIL_MAX) characters).
    #[cfg_attr(feature = "ssr", validate(length(max = limits::u64_of(limits::EMAIL_MAX))))]
    pub actor: Option<String>,
    /// An `AuditAction` code (at most [`CODE_MAX`](super::limits::CODE_MAX) characters).
    #[cfg_attr(feature = "ssr", validate(length(max = limits::u64_of(limits::CODE_MAX))))]
    pub action: Option<String>,
    /// Inclusive first day (UTC).
    pub from: Option<NaiveDate>,
    /// Inclusive last day (UTC).
    pub to: Option<NaiveDate>,
    pub page: u64,
}

/// One audit event for display.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: AuditEventId,
    pub at: DateTime<Utc>,
    pub actor_email: Option<String>,
    pub action: String,
    pub target: String,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

/// What happened, as recorded in the audit trail. The code is what is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    SignUp,
    SignIn,
    SignInFailed,
    SignInThrottled,
    SignOut,
    RoleGranted,
    RoleRevoked,
    AccountUpdated,
    AccessDenied,
    ChannelUpdated,
    CatalogImportStaged,
    CatalogImported,
    CatalogImportDiscarded,
    SettingsUpdated,
    CampaignCreated,
    CampaignUpdated,
    CampaignSubmitted,
    CampaignStatusChanged,
    CampaignCloned,
    AdCreated,
    AdUpdated,
    AdSubmitted,
    AdPaused,
    AdResumed,
    AdReviewed,
    MemberInvited,
    MemberInviteRevoked,
    MemberJoined,
    MemberRoleChanged,
    MemberRemoved,
    ReviewDecided,
    ReviewAppealed,
    PolicyReasonSaved,
    /// A sign-up for an address that already has a user (nothing created; its owner mailed).
    SignUpExisting,
    EmailVerified,
    /// A new password set through an emailed link; every session of the user ended.
    PasswordReset,
    /// "Forgot your password?" for an address that has a login (its owner mailed a link).
    PasswordResetRequested,
    /// A signed-in user changed their password (their other sessions ended).
    PasswordChanged,
    /// A user ended all their sessions.
    SignedOutEverywhere,
    /// Finance credited an ad account's prepaid balance.
    BalanceCredited,
    /// An admin created a delivery-network API key.
    DeliveryKeyCreated,
    /// An admin revoked a delivery-network API key.
    DeliveryKeyRevoked,
    /// An owner or manager created a read-only link to a campaign's report.
    ReportShared,
    /// An owner or manager revoked a report's share link.
    ReportShareRevoked,
    /// Finance asked for a top-up or refund above the approval threshold.
    FinanceRequested,
    /// A second finance user approved a request (and it was carried out).
    FinanceApproved,
    /// A second finance user rejected a request.
    FinanceRejected,
    /// The requester withdrew their own request.
    FinanceCancelled,
    /// Finance returned part of an account's available balance.
    BalanceRefunded,
    /// Finance reversed posted charges (a correction).
    ChargesReversed,
    /// Finance marked a channel's month of payables paid.
    PayoutMarked,
    /// An admin added a topic to the taxonomy or renamed one.
    TopicSaved,
}

impl AuditAction {
    pub const ALL: [Self; 52] = [
        Self::SignUp,
        Self::SignIn,
        Self::SignInFailed,
        Self::SignInThrottled,
        Self::SignOut,
        Self::RoleGranted,
        Self::RoleRevoked,
        Self::AccountUpdated,
        Self::AccessDenied,
        Self::ChannelUpdated,
        Self::CatalogImportStaged,
        Self::CatalogImported,
        Self::CatalogImportDiscarded,
        Self::SettingsUpdated,
        Self::CampaignCreated,
        Self::CampaignUpdated,
        Self::CampaignSubmitted,
        Self::CampaignStatusChanged,
        Self::CampaignCloned,
        Self::AdCreated,
        Self::AdUpdated,
        Self::AdSubmitted,
        Self::AdPaused,
        Self::AdResumed,
        Self::AdReviewed,
        Self::MemberInvited,
        Self::MemberInviteRevoked,
        Self::MemberJoined,
        Self::MemberRoleChanged,
        Self::MemberRemoved,
        Self::ReviewDecided,
        Self::ReviewAppealed,
        Self::PolicyReasonSaved,
        Self::SignUpExisting,
        Self::EmailVerified,
        Self::PasswordReset,
        Self::PasswordResetRequested,
        Self::PasswordChanged,
        Self::SignedOutEverywhere,
        Self::BalanceCredited,
        Self::DeliveryKeyCreated,
        Self::DeliveryKeyRevoked,
        Self::ReportShared,
        Self::ReportShareRevoked,
        Self::FinanceRequested,
        Self::FinanceApproved,
        Self::FinanceRejected,
        Self::FinanceCancelled,
        Self::BalanceRefunded,
        Self::ChargesReversed,
        Self::PayoutMarked,
        Self::TopicSaved,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::SignUp => "auth.sign_up",
            Self::SignIn => "auth.sign_in",
            Self::SignInFailed => "auth.sign_in_failed",
            Self::SignInThrottled => "auth.sign_in_throttled",
            Self::SignOut => "auth.sign_out",
            Self::RoleGranted => "role.granted",
            Self::RoleRevoked => "role.revoked",
            Self::AccountUpdated => "account.updated",
            Self::AccessDenied => "access.denied",
            Self::ChannelUpdated => "channel.updated",
            Self::CatalogImportStaged => "catalog.import_staged",
            Self::CatalogImported => "catalog.imported",
            Self::CatalogImportDiscarded => "catalog.import_discarded",
            Self::SettingsUpdated => "settings.updated",
            Self::CampaignCreated => "campaign.created",
            Self::CampaignUpdated => "campaign.updated",
            Self::CampaignSubmitted => "campaign.submitted",
            Self::CampaignStatusChanged => "campaign.status_changed",
            Self::CampaignCloned => "campaign.cloned",
            Self::AdCreated => "ad.created",
            Self::AdUpdated => "ad.updated",
            Self::AdSubmitted => "ad.submitted",
            Self::AdPaused => "ad.paused",
            Self::AdResumed => "ad.resumed",
            Self::AdReviewed => "ad.reviewed",
            Self::MemberInvited => "member.invited",
            Self::MemberInviteRevoked => "member.invite_revoked",
            Self::MemberJoined => "member.joined",
            Self::MemberRoleChanged => "member.role_changed",
            Self::MemberRemoved => "member.removed",
            Self::ReviewDecided => "review.decided",
            Self::ReviewAppealed => "review.appealed",
            Self::PolicyReasonSaved => "policy.saved",
            Self::SignUpExisting => "auth.sign_up_existing",
            Self::EmailVerified => "auth.email_verified",
            Self::PasswordReset => "auth.password_reset",
            Self::PasswordResetRequested => "auth.password_reset_requested",
            Self::PasswordChanged => "auth.password_changed",
            Self::SignedOutEverywhere => "auth.signed_out_everywhere",
            Self::BalanceCredited => "finance.balance_credited",
            Self::DeliveryKeyCreated => "delivery_key.created",
            Self::DeliveryKeyRevoked => "delivery_key.revoked",
            Self::ReportShared => "report.shared",
            Self::ReportShareRevoked => "report.share_revoked",
            Self::FinanceRequested => "finance.requested",
            Self::FinanceApproved => "finance.approved",
            Self::FinanceRejected => "finance.rejected",
            Self::FinanceCancelled => "finance.cancelled",
            Self::BalanceRefunded => "finance.balance_refunded",
            Self::ChargesReversed => "finance.charges_reversed",
            Self::PayoutMarked => "finance.payout_marked",
            Self::TopicSaved => "topic.saved",
        }
    }
}

/// The catalog settings an admin edits, as typed (each a number of at most
/// [`NUMBER_MAX`](super::limits::NUMBER_MAX) characters).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct CatalogSettingsInput {
    /// Subscribers a channel needs to be eligible for ads.
    #[cfg_attr(feature = "ssr", validate(length(max = limits::u64_of(limits::NUMBER_MAX))))]
    pub min_subscribers: String,
    /// Most sponsored messages per channel per day.
    #[cfg_attr(feature = "ssr", validate(length(max = limits::u64_of(limits::NUMBER_MAX))))]
    pub slots_per_day: String,
    /// The smallest CPM bid a campaign may have, in the platform currency.
    #[cfg_attr(feature = "ssr", validate(length(max = limits::u64_of(limits::NUMBER_MAX))))]
    #[serde(default)]
    pub min_cpm: String,
    /// The smallest total budget a campaign may have.
    #[cfg_attr(feature = "ssr", validate(length(max = limits::u64_of(limits::NUMBER_MAX))))]
    #[serde(default)]
    pub min_total_budget: String,
    /// The publisher's share of each charge, a percentage ("50").
    #[cfg_attr(feature = "ssr", validate(length(max = limits::u64_of(limits::NUMBER_MAX))))]
    #[serde(default)]
    pub publisher_share: String,
    /// Hours a won slot's hold stays open before its unused rest is released.
    #[cfg_attr(feature = "ssr", validate(length(max = limits::u64_of(limits::NUMBER_MAX))))]
    #[serde(default)]
    pub hold_hours: String,
    /// Reports fold a channel with fewer views than this in a period into "Other channels"
    /// (empty keeps the current value).
    #[cfg_attr(feature = "ssr", validate(length(max = limits::u64_of(limits::NUMBER_MAX))))]
    #[serde(default)]
    pub report_min_views: String,
    /// Finance's two-person rule: a credit or refund above this many units of the account's
    /// currency waits for a second finance person (empty keeps the current value).
    #[cfg_attr(feature = "ssr", validate(length(max = limits::u64_of(limits::NUMBER_MAX))))]
    #[serde(default)]
    pub approval_units: String,
    /// The currency new ad accounts are opened in (one of
    /// [`ACCOUNT_CURRENCIES`](super::ACCOUNT_CURRENCIES)); empty keeps it.
    #[cfg_attr(feature = "ssr", validate(length(max = 3)))]
    #[serde(default)]
    pub currency: String,
}
