//! Share links: an owner or manager gives someone without an account a read-only view of one
//! campaign's report. The token is shown once and stored as its SHA-256; a link expires, can
//! be revoked, and records when it was last used. Creating and revoking are audited.

use crate::{
    entity::{account_member, app_user, campaign, report_share_link},
    error::{AppError, FieldErrors},
    model::{
        AccountId, AccountPermission, AccountRole, AuditAction, CampaignId, NewShareLink,
        ShareLinkInput, ShareLinkView, UserId,
    },
    service::{
        Actor,
        account_time::AccountClock,
        audit::{self, AuditEntry},
        invitations::hash_token,
        members,
    },
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
    sea_query::{Expr, ExprTrait, Query},
};
use std::collections::HashMap;

/// Every token starts with this.
pub const TOKEN_PREFIX: &str = "rs_";
/// Longest a link may live, in days.
pub const MAX_DAYS: i64 = 365;
/// Most active links per campaign (creating more asks to revoke one first).
pub const MAX_ACTIVE: u64 = 50;
/// Longest a presented token may be (checked before it is hashed).
pub const MAX_TOKEN_LEN: usize = 80;
/// `last_used_at` is written at most this often per link.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// The link's maker may still share: they are a member of its account whose role edits
/// campaigns. A link whose maker left or was demoted is dead, whenever that happened (links
/// made before makers' changes ended their links included).
fn maker_may_share() -> sea_orm::sea_query::SimpleExpr {
    let editing: Vec<AccountRole> = AccountRole::ALL
        .into_iter()
        .filter(|r| r.allows(AccountPermission::EditCampaigns))
        .collect();
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(account_member::Entity)
            .and_where(
                Expr::col((account_member::Entity, account_member::Column::AccountId)).equals((
                    report_share_link::Entity,
                    report_share_link::Column::AccountId,
                )),
            )
            .and_where(
                Expr::col((account_member::Entity, account_member::Column::UserId)).equals((
                    report_share_link::Entity,
                    report_share_link::Column::CreatedBy,
                )),
            )
            .and_where(account_member::Column::Role.is_in(editing))
            .to_owned(),
    )
}

async fn own_campaign(
    db: &impl ConnectionTrait,
    account: AccountId,
    id: CampaignId,
) -> Result<campaign::Model, AppError> {
    campaign::Entity::find_by_id(id.0)
        .filter(campaign::Column::AccountId.eq(account.0))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Creates a link to `input.campaign`'s report (owners and managers). The token is in the
/// returned URL only.
pub async fn create<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    input: &ShareLinkInput,
    now: DateTime<Utc>,
) -> Result<NewShareLink, AppError> {
    let account = actor.account(db, AccountPermission::EditCampaigns).await?;
    // Sizes first, before anything is parsed or looked up.
    if input.label.len() > 320 {
        return Err(AppError::field(
            "label",
            "Say who the link is for, in 1 to 80 characters.",
        ));
    }
    if input.days.len() > 6 {
        return Err(AppError::field(
            "days",
            format!("A whole number of days from 1 to {MAX_DAYS}."),
        ));
    }
    let mut errors = FieldErrors::default();
    let label = input.label.trim();
    if label.is_empty() || label.chars().count() > 80 || label.chars().any(char::is_control) {
        errors.add("label", "Say who the link is for, in 1 to 80 characters.");
    }
    let days = match input.days.trim().parse::<i64>() {
        Ok(d) if (1..=MAX_DAYS).contains(&d) => d,
        _ => {
            errors.add(
                "days",
                format!("A whole number of days from 1 to {MAX_DAYS}."),
            );
            0
        }
    };
    let campaign = own_campaign(db, account, input.campaign).await?;
    errors.into_result()?;
    let txn = db.begin().await?;
    // Take turns with the account's member changes and other links being made (the account
    // row's lock), then check the maker's role as it is now: a demotion or removal that
    // committed since this request began ends the links it finds, so it must not miss this
    // one; and two links at once cannot both pass the count below.
    members::serialise_member_changes(&txn, account).await?;
    let txn =
        members::still_allowed(db, txn, actor, account, AccountPermission::EditCampaigns).await?;
    let active = report_share_link::Entity::find()
        .filter(report_share_link::Column::CampaignId.eq(campaign.id))
        .filter(report_share_link::Column::RevokedAt.is_null())
        .filter(report_share_link::Column::ExpiresAt.gt(now))
        .filter(maker_may_share())
        .count(&txn)
        .await?;
    if active >= MAX_ACTIVE {
        return Err(AppError::field(
            "label",
            format!("A campaign has at most {MAX_ACTIVE} active links: revoke one first."),
        ));
    }
    let random: [u8; 32] = rand::random();
    let token = format!(
        "{TOKEN_PREFIX}{}",
        random
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let expires_at = now + Duration::days(days);
    let link = report_share_link::ActiveModel {
        account_id: Set(account.0),
        campaign_id: Set(campaign.id),
        label: Set(label.to_owned()),
        token_sha256: Set(hash_token(&token)),
        prefix: Set(token.chars().take(10).collect()),
        created_by: Set(actor.user_id.0),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        AuditEntry::new(
            AuditAction::ReportShared,
            "campaign",
            campaign.id.to_string(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone())
        .detail(serde_json::json!({
            "link": link.id,
            "label": link.label,
            "expires_at": expires_at,
        })),
    )
    .await?;
    txn.commit().await?;
    let clock = AccountClock::of(db, actor, account).await?;
    Ok(NewShareLink {
        id: link.id,
        url: format!("/shared/{token}"),
        expires_at: local_time(&clock, expires_at),
    })
}

/// The campaign's active links, newest first (owners and managers).
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    campaign: CampaignId,
    now: DateTime<Utc>,
) -> Result<Vec<ShareLinkView>, AppError> {
    let account = actor.account(db, AccountPermission::EditCampaigns).await?;
    let campaign = own_campaign(db, account, campaign).await?;
    let clock = AccountClock::of(db, actor, account).await?;
    let links = report_share_link::Entity::find()
        .filter(report_share_link::Column::CampaignId.eq(campaign.id))
        .filter(report_share_link::Column::RevokedAt.is_null())
        .filter(report_share_link::Column::ExpiresAt.gt(now))
        .filter(maker_may_share())
        .order_by_desc(report_share_link::Column::Id)
        .limit(MAX_ACTIVE)
        .all(db)
        .await?;
    let creators: HashMap<i64, String> = app_user::Entity::find()
        .filter(app_user::Column::Id.is_in(links.iter().map(|l| l.created_by)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let time = |at: DateTime<Utc>| local_time(&clock, at);
    Ok(links
        .into_iter()
        .map(|l| ShareLinkView {
            id: l.id,
            label: l.label,
            prefix: l.prefix,
            created_by: creators.get(&l.created_by).cloned().unwrap_or_default(),
            created_at: time(l.created_at),
            expires_at: time(l.expires_at),
            last_used_at: l.last_used_at.map(time),
        })
        .collect())
}

/// Revokes a link of the account (owners and managers); revoking twice is a no-op.
pub async fn revoke<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let account = actor.account(db, AccountPermission::EditCampaigns).await?;
    let txn = db.begin().await?;
    let link = report_share_link::Entity::find_by_id(id)
        .filter(report_share_link::Column::AccountId.eq(account.0))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    revoke_one(&txn, actor, &link, None, now).await?;
    txn.commit().await?;
    Ok(())
}

/// Revokes `link` in the caller's transaction unless it was already, auditing it as revoked
/// by `actor` (with `why`, when it was not their own choice). Whether it was live.
async fn revoke_one(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    link: &report_share_link::Model,
    why: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let done = report_share_link::Entity::update_many()
        .col_expr(report_share_link::Column::RevokedAt, Expr::value(now))
        .filter(report_share_link::Column::Id.eq(link.id))
        .filter(report_share_link::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    if done.rows_affected == 0 {
        return Ok(false);
    }
    let mut detail = serde_json::json!({ "link": link.id, "label": link.label });
    if let Some(why) = why {
        detail["why"] = why.into();
    }
    audit::record(
        txn,
        AuditEntry::new(
            AuditAction::ReportShareRevoked,
            "campaign",
            link.campaign_id.to_string(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone())
        .detail(detail),
    )
    .await?;
    Ok(true)
}

/// Ends the live links `user` made in `account`, in the caller's transaction, when they leave
/// the account or may no longer edit its campaigns: whoever made a link saw its address, so
/// the link must not outlast their own access. Each link ended is audited as revoked by
/// `actor`, with `why`. Returns how many ended.
pub async fn end_links_of(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    account: AccountId,
    user: UserId,
    why: &str,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let live = report_share_link::Entity::find()
        .filter(report_share_link::Column::AccountId.eq(account.0))
        .filter(report_share_link::Column::CreatedBy.eq(user.0))
        .filter(report_share_link::Column::RevokedAt.is_null())
        .filter(report_share_link::Column::ExpiresAt.gt(now))
        .all(txn)
        .await?;
    let mut ended = 0;
    for link in live {
        if revoke_one(txn, actor, &link, Some(why), now).await? {
            ended += 1;
        }
    }
    Ok(ended)
}

/// The account and campaign a presented token opens, when it is a live link; anything else
/// (unknown, revoked, expired, malformed) is `NotFound`, all alike.
pub async fn open(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(AccountId, i64), AppError> {
    if token.len() > MAX_TOKEN_LEN || !token.starts_with(TOKEN_PREFIX) {
        return Err(AppError::NotFound);
    }
    let link = report_share_link::Entity::find()
        .filter(report_share_link::Column::TokenSha256.eq(hash_token(token)))
        .filter(report_share_link::Column::RevokedAt.is_null())
        .filter(report_share_link::Column::ExpiresAt.gt(now))
        .filter(maker_may_share())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if link.last_used_at.is_none_or(|at| at + TOUCH_EVERY <= now) {
        report_share_link::Entity::update_many()
            .col_expr(report_share_link::Column::LastUsedAt, Expr::value(now))
            .filter(report_share_link::Column::Id.eq(link.id))
            .exec(db)
            .await?;
    }
    Ok((AccountId(link.account_id), link.campaign_id))
}

/// A share link's time as its page shows it: in the account's time zone, which it names (the
/// rest of the app shows UTC; a bare local time would read as an hour or more off).
fn local_time(clock: &AccountClock, at: DateTime<Utc>) -> String {
    format!(
        "{} ({})",
        clock.local(at).format("%Y-%m-%d %H:%M"),
        clock.time_zone
    )
}
