//! The advertiser's side of moderation: the decisions on their ads and targeting, and the
//! single appeal of a decline, which goes to a moderator other than the one who declined.

use super::{intake, views_of};
use crate::{
    entity::{ad_version, appeal, review_decision, review_task},
    error::AppError,
    model::{
        AccountPermission, AppealInput, AuditAction, CampaignId, DecisionView, ReviewDecisionId,
        Verdict,
    },
    service::{
        Actor, ads,
        audit::{self, AuditEntry},
        campaigns, notifications,
    },
};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};

/// Decisions on every version of ad `ad` (already scoped to the caller's account), newest first.
pub(crate) async fn for_ad(
    db: &impl ConnectionTrait,
    ad: i64,
) -> Result<Vec<DecisionView>, AppError> {
    let versions: Vec<i64> = ad_version::Entity::find()
        .filter(ad_version::Column::AdId.eq(ad))
        .select_only()
        .column(ad_version::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let rows = review_decision::Entity::find()
        .filter(review_decision::Column::AdVersionId.is_in(versions))
        .order_by_desc(review_decision::Column::Id)
        .all(db)
        .await?;
    views_of(db, rows).await
}

/// Decisions on the targeting changes of `campaign` (already scoped), newest first.
pub(crate) async fn for_campaign_targeting(
    db: &impl ConnectionTrait,
    campaign: CampaignId,
) -> Result<Vec<DecisionView>, AppError> {
    let rows = review_decision::Entity::find()
        .filter(review_decision::Column::CampaignId.eq(campaign.0))
        .filter(review_decision::Column::AdVersionId.is_null())
        .order_by_desc(review_decision::Column::Id)
        .limit(10)
        .all(db)
        .await?;
    views_of(db, rows).await
}

/// Appeals decline `id` of the caller's account, once, while it is still the current state of
/// what it declined. The declined version (or targeting) goes back into review, in the
/// appeals queue, which the moderator who declined it never sees.
pub async fn appeal<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    id: ReviewDecisionId,
    input: AppealInput,
) -> Result<(), AppError> {
    let account = actor.account(db, AccountPermission::EditCampaigns).await?;
    input.check_size().into_result()?;
    let decision = review_decision::Entity::find_by_id(id.0)
        .filter(review_decision::Column::AccountId.eq(account.0))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    input.check().into_result()?;
    if decision.outcome != Verdict::Declined || decision.is_appeal {
        return Err(AppError::Conflict(
            "Only a first decline can be appealed.".into(),
        ));
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    let campaign = campaigns::lock(&txn, account, CampaignId(decision.campaign_id)).await?;
    if appeal::Entity::find()
        .filter(appeal::Column::DecisionId.eq(decision.id))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(
            "This decline has already been appealed.".into(),
        ));
    }
    if !campaign.status.is_editable() {
        return Err(AppError::Conflict(format!(
            "The campaign is {}: its decisions can no longer be appealed.",
            campaign.status.label().to_lowercase()
        )));
    }
    let task = review_task::Entity::find_by_id(decision.task_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal("decision", "decision without its task"))?;
    let (subject, link) = match decision.ad_version_id {
        Some(version) => {
            let version = ad_version::Entity::find_by_id(version)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound)?;
            ads::reopen_for_appeal(&txn, &version).await?;
            (
                format!("version {}", version.number),
                format!("/campaigns/{}/ads/{}", campaign.id, version.ad_id),
            )
        }
        None => {
            let newest = review_decision::Entity::find()
                .filter(review_decision::Column::CampaignId.eq(campaign.id))
                .filter(review_decision::Column::AdVersionId.is_null())
                .order_by_desc(review_decision::Column::Id)
                .one(&txn)
                .await?;
            if !campaign.status.is_live()
                || campaign.pending_targeting.is_some()
                || newest.map(|d| d.id) != Some(decision.id)
            {
                return Err(AppError::Conflict(
                    "The campaign's targeting has changed since: this decline can no longer be \
                     appealed."
                        .into(),
                ));
            }
            let mut active = campaign.clone().into_active_model();
            active.pending_targeting = Set(decision.targeting.clone());
            active.pending_since = Set(Some(now));
            active.updated_at = Set(now);
            active.update(&txn).await?;
            (
                "targeting change".to_owned(),
                format!("/campaigns/{}", campaign.id),
            )
        }
    };
    let created = appeal::ActiveModel {
        decision_id: Set(decision.id),
        account_id: Set(account.0),
        message: Set(input.message.trim().to_owned()),
        created_by: Set(actor.user_id.0),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    intake::enqueue_appeal(
        &txn,
        &campaign,
        &task,
        created.id,
        decision.moderator_id,
        now,
    )
    .await?;
    notifications::notify_account(
        &txn,
        account.0,
        "appeal",
        &format!("Appeal sent for the {subject} of “{}”", campaign.name),
        "A different moderator will review it; you will be notified of the decision.",
        &link,
        now,
    )
    .await?;
    audit::record(
        &txn,
        AuditEntry::new(
            AuditAction::ReviewAppealed,
            "review_decision",
            id.to_string(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone())
        .detail(serde_json::json!({
            "appeal_id": created.id,
            "campaign_id": campaign.id,
            "message": created.message,
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
