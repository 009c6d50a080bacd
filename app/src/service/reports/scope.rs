//! Who may read which report: the account comes from the session, a campaign or an ad named in
//! the query must belong to it (another account's is "not found"), and billing members get
//! the money columns only.

use super::{period::Period, query::Scope};
use crate::{
    entity::{ad, ad_account, campaign},
    error::AppError,
    model::{AccountId, AccountPermission, ReportQuery},
    service::{Actor, account_time::AccountClock},
};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// A report's subject, resolved and checked.
#[derive(Clone, Debug)]
pub struct Subject {
    pub scope: Scope,
    pub account_name: String,
    pub clock: AccountClock,
    pub campaign: Option<campaign::Model>,
    pub ad: Option<ad::Model>,
    pub money_only: bool,
    pub period: Period,
}

/// Longest id or date text a report query may carry (checked before anything is parsed).
const MAX_PART: usize = 20;

fn id(field: &str, text: Option<&str>) -> Result<Option<i64>, AppError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| AppError::field(field, "Choose one from the list.")),
    }
}

/// Checks the query's sizes first, before any lookup.
pub fn check_sizes(query: &ReportQuery) -> Result<(), AppError> {
    for (field, value) in [
        ("campaign", &query.campaign),
        ("ad", &query.ad),
        ("range", &query.range),
        ("from", &query.from),
        ("to", &query.to),
        ("by", &query.by),
        ("page", &query.page),
    ] {
        if value.as_ref().is_some_and(|v| v.len() > MAX_PART) {
            return Err(AppError::field(field, "That value is too long."));
        }
    }
    Ok(())
}

/// The report `query` asks `actor` for: owners, managers and analysts read everything of the
/// current account, billing members its money.
pub async fn for_member(
    db: &impl ConnectionTrait,
    actor: &Actor,
    query: &ReportQuery,
    now: DateTime<Utc>,
) -> Result<Subject, AppError> {
    check_sizes(query)?;
    let (account, money_only) = if actor.may(AccountPermission::ViewCampaigns) {
        (
            actor.account(db, AccountPermission::ViewCampaigns).await?,
            false,
        )
    } else {
        (
            actor.account(db, AccountPermission::ViewBilling).await?,
            true,
        )
    };
    let mut ad_row = None;
    let mut campaign_id = id("campaign", query.campaign.as_deref())?;
    if let Some(ad_id) = id("ad", query.ad.as_deref())? {
        let found = ad::Entity::find_by_id(ad_id)
            .filter(ad::Column::AccountId.eq(account.0))
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        if campaign_id.is_some_and(|c| c != found.campaign_id) {
            return Err(AppError::NotFound);
        }
        campaign_id = Some(found.campaign_id);
        ad_row = Some(found);
    }
    let campaign_row = match campaign_id {
        Some(c) => Some(
            campaign::Entity::find_by_id(c)
                .filter(campaign::Column::AccountId.eq(account.0))
                .one(db)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    subject(db, account, campaign_row, ad_row, money_only, query, now).await
}

/// The report of exactly one campaign (a share link's), read-only and complete.
pub async fn for_campaign(
    db: &impl ConnectionTrait,
    account: AccountId,
    campaign_id: i64,
    query: &ReportQuery,
    now: DateTime<Utc>,
) -> Result<Subject, AppError> {
    check_sizes(query)?;
    let campaign_row = campaign::Entity::find_by_id(campaign_id)
        .filter(campaign::Column::AccountId.eq(account.0))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    subject(db, account, Some(campaign_row), None, false, query, now).await
}

async fn subject(
    db: &impl ConnectionTrait,
    account: AccountId,
    campaign: Option<campaign::Model>,
    ad: Option<ad::Model>,
    money_only: bool,
    query: &ReportQuery,
    now: DateTime<Utc>,
) -> Result<Subject, AppError> {
    // The account's name and its clock, from one read of it.
    let row = ad_account::Entity::find_by_id(account.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let clock = AccountClock::of_account(&row);
    let account_name = row.name;
    let today = clock.local(now).date();
    let period = Period::parse(
        query.range.as_deref(),
        query.from.as_deref(),
        query.to.as_deref(),
        today,
    )?;
    Ok(Subject {
        scope: Scope {
            account: account.0,
            campaign: campaign.as_ref().map(|c| c.id),
            ad: ad.as_ref().map(|a| a.id),
        },
        account_name,
        clock,
        campaign,
        ad,
        money_only,
        period,
    })
}
