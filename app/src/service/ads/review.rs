//! An ad version's way through review: sending it (withdrawing an older one still waiting),
//! withdrawing everything of an archived campaign, applying a moderator's decision, and
//! reopening a declined version for its appeal. Each step keeps the review queue in step.

use crate::{
    entity::{ad, ad_version, campaign},
    error::AppError,
    model::{AdVersionId, AdVersionStatus, AuditAction, Verdict},
    service::{
        audit::{self, AuditEntry},
        campaigns::clock,
        moderation,
    },
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
    sea_query::Expr,
};

/// Puts one version in the review queue; an older version still waiting is withdrawn (a
/// moderator only ever sees the newest copy).
pub(crate) async fn send_to_review(
    db: &impl ConnectionTrait,
    ad: &ad::Model,
    version: &ad_version::Model,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    ad_version::Entity::update_many()
        .col_expr(
            ad_version::Column::Status,
            Expr::value(AdVersionStatus::Withdrawn),
        )
        .filter(ad_version::Column::AdId.eq(ad.id))
        .filter(ad_version::Column::Status.eq(AdVersionStatus::InReview))
        .exec(db)
        .await?;
    let sent = ad_version::Entity::update_many()
        .col_expr(
            ad_version::Column::Status,
            Expr::value(AdVersionStatus::InReview),
        )
        .col_expr(ad_version::Column::SubmittedAt, Expr::value(now))
        .filter(ad_version::Column::Id.eq(version.id))
        .filter(ad_version::Column::Status.eq(AdVersionStatus::Draft))
        .exec(db)
        .await?;
    if sent.rows_affected != 1 {
        return Err(AppError::Conflict(
            "This version was sent meanwhile: reload the page.".into(),
        ));
    }
    let campaign = campaign::Entity::find_by_id(ad.campaign_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    moderation::intake::enqueue_version(db, &campaign, ad.id, version.id, now).await
}

/// Withdraws every version and targeting change waiting for review in a campaign (it was
/// archived).
pub(crate) async fn withdraw_all(
    db: &impl ConnectionTrait,
    campaign: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    moderation::intake::withdraw_campaign(db, campaign, now).await?;
    let ids: Vec<i64> = ad::Entity::find()
        .filter(ad::Column::CampaignId.eq(campaign))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    ad_version::Entity::update_many()
        .col_expr(
            ad_version::Column::Status,
            Expr::value(AdVersionStatus::Withdrawn),
        )
        .filter(ad_version::Column::AdId.is_in(ids))
        .filter(ad_version::Column::Status.eq(AdVersionStatus::InReview))
        .exec(db)
        .await?;
    Ok(())
}

/// The status a verdict gives the version it decides.
fn status_of(verdict: Verdict) -> AdVersionStatus {
    match verdict {
        Verdict::Approved => AdVersionStatus::Approved,
        Verdict::Declined => AdVersionStatus::Declined,
    }
}

/// Applies a review decision to a version waiting for review, as the system (demo data and
/// tests); moderators decide through `service::moderation`, which audits who decided and why.
pub async fn apply_review(
    db: &impl ConnectionTrait,
    version: AdVersionId,
    verdict: Verdict,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    decide_version(db, version, verdict, now).await?;
    moderation::intake::close_version(db, version.0, now).await?;
    audit::record(
        db,
        AuditEntry::new(AuditAction::AdReviewed, "ad_version", version.to_string())
            .detail(serde_json::json!({ "outcome": status_of(verdict).label() })),
    )
    .await
}

/// What a decision does to a version waiting for review (no audit: the caller records it).
/// An approved version becomes the one that serves and launches a campaign that asked to
/// run; a declined edit leaves the previously approved version serving.
pub(crate) async fn decide_version(
    db: &impl ConnectionTrait,
    version: AdVersionId,
    verdict: Verdict,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let status = status_of(verdict);
    let decided = ad_version::Entity::update_many()
        .col_expr(ad_version::Column::Status, Expr::value(status))
        .col_expr(ad_version::Column::DecidedAt, Expr::value(now))
        .filter(ad_version::Column::Id.eq(version.0))
        .filter(ad_version::Column::Status.eq(AdVersionStatus::InReview))
        .exec(db)
        .await?;
    if decided.rows_affected != 1 {
        return Err(AppError::Conflict(
            "This version is no longer waiting for review.".into(),
        ));
    }
    if verdict == Verdict::Approved {
        let row = ad_version::Entity::find_by_id(version.0)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        let ad = ad::Entity::find_by_id(row.ad_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut active = ad.clone().into_active_model();
        active.live_version_id = Set(Some(row.id));
        active.updated_at = Set(now);
        active.update(db).await?;
        let campaign = campaign::Entity::find_by_id(ad.campaign_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        clock::launch_on_approval(db, &campaign, now).await?;
    }
    Ok(())
}

/// Puts a declined version back in review for its appeal; it must still be its ad's newest.
pub(crate) async fn reopen_for_appeal(
    db: &impl ConnectionTrait,
    version: &ad_version::Model,
) -> Result<(), AppError> {
    let newer = ad_version::Entity::find()
        .filter(ad_version::Column::AdId.eq(version.ad_id))
        .filter(ad_version::Column::Number.gt(version.number))
        .one(db)
        .await?;
    if newer.is_some() {
        return Err(AppError::Conflict(
            "A newer version of this ad exists: the declined one can no longer be appealed.".into(),
        ));
    }
    let reopened = ad_version::Entity::update_many()
        .col_expr(
            ad_version::Column::Status,
            Expr::value(AdVersionStatus::InReview),
        )
        .col_expr(
            ad_version::Column::DecidedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(ad_version::Column::Id.eq(version.id))
        .filter(ad_version::Column::Status.eq(AdVersionStatus::Declined))
        .exec(db)
        .await?;
    if reopened.rows_affected != 1 {
        return Err(AppError::Conflict(
            "This version is no longer declined.".into(),
        ));
    }
    Ok(())
}
