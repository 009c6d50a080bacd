//! Reports: what an account's money bought, by day, campaign, ad, channel, topic and language,
//! read from the delivery rollups only (never raw events); CSV export, read-only share links,
//! and the reconciliation of rollups, ledger and events.

pub mod build;
pub mod export;
pub mod fold;
pub mod period;
pub mod query;
pub mod reconcile;
pub mod rollup;
pub mod scope;
pub mod share;

use crate::{
    error::AppError,
    model::{Report, ReportQuery},
    service::Actor,
};
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

/// The report `query` asks for, of the caller's current account.
pub async fn report(
    db: &impl ConnectionTrait,
    actor: &Actor,
    query: &ReportQuery,
    now: DateTime<Utc>,
) -> Result<Report, AppError> {
    let subject = scope::for_member(db, actor, query, now).await?;
    build::report(db, &subject, query, now).await
}

/// The report a share link opens: its campaign only, whatever the query names; no account.
pub async fn shared(
    db: &impl ConnectionTrait,
    token: &str,
    query: &ReportQuery,
    now: DateTime<Utc>,
) -> Result<Report, AppError> {
    scope::check_sizes(query)?;
    let (account, campaign) = share::open(db, token, now).await?;
    let query = ReportQuery {
        campaign: None,
        ad: None,
        ..query.clone()
    };
    let subject = scope::for_campaign(db, account, campaign, &query, now).await?;
    let mut report = build::report(db, &subject, &query, now).await?;
    // A shared report shows its campaign and nothing else of the account.
    report.campaigns.clear();
    report.ads.clear();
    report.account_name.clear();
    report.title = report
        .campaign
        .as_ref()
        .map_or_else(String::new, |(_, name)| format!("Campaign {name}"));
    for row in &mut report.rows {
        row.link = None;
    }
    Ok(report)
}
