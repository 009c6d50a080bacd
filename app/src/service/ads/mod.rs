//! Ads and their versions: the editor's data, saving (a draft version is amended, any other
//! edit makes a new version), sending a version to review, pausing, and what a review
//! decision does to an ad (the approved version serves; a declined edit leaves the approved
//! one serving).

use crate::{
    entity::{ad, ad_version, campaign},
    error::{AppError, FieldErrors},
    model::{
        AccountId, AccountPermission, AdDetails, AdEditorData, AdId, AdInput, AdVersionId,
        AdVersionStatus, AdVersionView, AuditAction, CampaignBrief, CampaignId,
        MAX_ADS_PER_CAMPAIGN,
    },
    service::{
        Actor,
        audit::{self, AuditEntry},
        campaigns::{self, write::ensure_launchable},
        moderation,
    },
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set, TransactionSession, TransactionTrait, sea_query::Expr,
};
use std::collections::HashMap;

mod review;
pub use review::apply_review;
pub(crate) use review::{decide_version, reopen_for_appeal, send_to_review, withdraw_all};

/// The ad `id` if it belongs to `account`; any other ad is "not found".
async fn find(
    db: &impl ConnectionTrait,
    account: AccountId,
    id: AdId,
) -> Result<ad::Model, AppError> {
    ad::Entity::find_by_id(id.0)
        .filter(ad::Column::AccountId.eq(account.0))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The newest version of an ad (every ad has one from its creation).
pub(crate) async fn latest_version(
    db: &impl ConnectionTrait,
    ad: i64,
) -> Result<ad_version::Model, AppError> {
    ad_version::Entity::find()
        .filter(ad_version::Column::AdId.eq(ad))
        .order_by_desc(ad_version::Column::Number)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("ad", format!("ad {ad} has no version")))
}

/// The editor's form for an ad at one of its versions.
pub(crate) fn input_of(ad: &ad::Model, version: &ad_version::Model) -> AdInput {
    AdInput {
        title: ad.title.clone(),
        text: version.text.clone(),
        button_label: version.button_label.clone(),
        destination_url: version.destination_url.clone(),
    }
}

fn view_of(v: ad_version::Model) -> AdVersionView {
    AdVersionView {
        id: AdVersionId(v.id),
        number: v.number,
        copy: v.copy(),
        status: v.status,
        created_at: v.created_at,
        submitted_at: v.submitted_at,
        decided_at: v.decided_at,
    }
}

/// Every ad of a campaign (already scoped by the caller) with its versions, oldest ad first.
pub async fn details_for_campaign(
    db: &impl ConnectionTrait,
    campaign: CampaignId,
) -> Result<Vec<AdDetails>, AppError> {
    let ads = ad::Entity::find()
        .filter(ad::Column::CampaignId.eq(campaign.0))
        .order_by_asc(ad::Column::Id)
        .all(db)
        .await?;
    let mut versions: HashMap<i64, Vec<ad_version::Model>> = HashMap::new();
    for v in ad_version::Entity::find()
        .filter(ad_version::Column::AdId.is_in(ads.iter().map(|a| a.id)))
        .order_by_desc(ad_version::Column::Number)
        .all(db)
        .await?
    {
        versions.entry(v.ad_id).or_default().push(v);
    }
    let mut delivered = crate::service::delivery::state::for_ads(db, campaign.0).await?;
    Ok(ads
        .into_iter()
        .map(|a| {
            let history = versions.remove(&a.id).unwrap_or_default();
            let delivery = delivered.remove(&a.id).unwrap_or_default();
            AdDetails {
                delivery,
                ..details_of(a, history)
            }
        })
        .collect())
}

fn details_of(ad: ad::Model, versions: Vec<ad_version::Model>) -> AdDetails {
    let live_version = ad
        .live_version_id
        .and_then(|live| versions.iter().find(|v| v.id == live).map(|v| v.number));
    AdDetails {
        id: AdId(ad.id),
        campaign_id: CampaignId(ad.campaign_id),
        title: ad.title,
        paused: ad.paused,
        live_version,
        versions: versions.into_iter().map(view_of).collect(),
        delivery: Default::default(),
    }
}

/// Every ad of one of the account's campaigns, with its versions.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    campaign: CampaignId,
) -> Result<Vec<AdDetails>, AppError> {
    let account = actor.account(db, AccountPermission::ViewCampaigns).await?;
    let campaign = campaigns::find(db, account, campaign).await?;
    details_for_campaign(db, CampaignId(campaign.id)).await
}

/// The ad editor's data: the campaign it belongs to and, for an existing ad, its history.
pub async fn editor(
    db: &impl ConnectionTrait,
    actor: &Actor,
    campaign_id: CampaignId,
    ad_id: Option<AdId>,
) -> Result<AdEditorData, AppError> {
    let account = actor.account(db, AccountPermission::ViewCampaigns).await?;
    let campaign = campaigns::find(db, account, campaign_id).await?;
    let ads = ad::Entity::find()
        .filter(ad::Column::CampaignId.eq(campaign.id))
        .count(db)
        .await?;
    let mut decisions = Vec::new();
    let ad = match ad_id {
        Some(id) => {
            let found = find(db, account, id).await?;
            if found.campaign_id != campaign.id {
                return Err(AppError::NotFound);
            }
            let versions = ad_version::Entity::find()
                .filter(ad_version::Column::AdId.eq(found.id))
                .order_by_desc(ad_version::Column::Number)
                .all(db)
                .await?;
            decisions = moderation::appeals::for_ad(db, found.id).await?;
            Some(details_of(found, versions))
        }
        None => None,
    };
    Ok(AdEditorData {
        campaign: CampaignBrief {
            id: campaign_id,
            name: campaign.name,
            status: campaign.status,
            ads,
        },
        ad,
        decisions,
        can_edit: actor.may(AccountPermission::EditCampaigns),
    })
}

/// Completed and archived campaigns keep their ads as they ran.
fn ensure_ads_editable(campaign: &campaign::Model) -> Result<(), AppError> {
    if campaign.status.is_editable() {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "The ads of a {} campaign cannot be changed.",
            campaign.status.label().to_lowercase()
        )))
    }
}

/// Inserts a new ad with its first, draft version.
pub(crate) async fn insert_new(
    db: &impl ConnectionTrait,
    actor: &Actor,
    campaign: &campaign::Model,
    input: &AdInput,
    now: DateTime<Utc>,
) -> Result<ad::Model, AppError> {
    let created = ad::ActiveModel {
        campaign_id: Set(campaign.id),
        account_id: Set(campaign.account_id),
        title: Set(input.title.trim().to_owned()),
        paused: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    insert_version(db, actor, created.id, 1, input, now).await?;
    Ok(created)
}

async fn insert_version(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ad: i64,
    number: i32,
    input: &AdInput,
    now: DateTime<Utc>,
) -> Result<ad_version::Model, AppError> {
    let copy = input.copy();
    Ok(ad_version::ActiveModel {
        ad_id: Set(ad),
        number: Set(number),
        text: Set(copy.text),
        button_label: Set(copy.button_label),
        destination_url: Set(copy.destination_url),
        status: Set(AdVersionStatus::Draft),
        created_by: Set(actor.user_id.0),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Creates an ad (`ad_id` = `None`) or saves an edit. A draft newest version is amended in
/// place; a submitted, approved or declined one is never touched: the edit becomes a new draft
/// version, and an approved version keeps serving meanwhile.
pub async fn save<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    campaign_id: CampaignId,
    ad_id: Option<AdId>,
    input: AdInput,
) -> Result<AdId, AppError> {
    let account = actor.account(db, AccountPermission::EditCampaigns).await?;
    input.check_for_save().into_result()?;
    let now = Utc::now();
    let txn = db.begin().await?;
    // Serialises every write to this campaign's ads, so the ad limit, the version numbers and
    // "only a draft is amended" cannot be raced.
    let campaign = campaigns::lock(&txn, account, campaign_id).await?;
    ensure_ads_editable(&campaign)?;
    let (ad, number, action) = match ad_id {
        None => {
            let count = ad::Entity::find()
                .filter(ad::Column::CampaignId.eq(campaign.id))
                .count(&txn)
                .await?;
            if count >= MAX_ADS_PER_CAMPAIGN as u64 {
                return Err(AppError::field(
                    "form",
                    format!("A campaign has at most {MAX_ADS_PER_CAMPAIGN} ads."),
                ));
            }
            let ad = insert_new(&txn, actor, &campaign, &input, now).await?;
            (ad, 1, AuditAction::AdCreated)
        }
        Some(id) => {
            let found = find(&txn, account, id).await?;
            if found.campaign_id != campaign.id {
                return Err(AppError::NotFound);
            }
            let latest = latest_version(&txn, found.id).await?;
            let copy = input.copy();
            let same = latest.text == copy.text
                && latest.button_label == copy.button_label
                && latest.destination_url == copy.destination_url;
            let number = if same {
                latest.number
            } else if latest.status == AdVersionStatus::Draft {
                let amended = ad_version::Entity::update_many()
                    .col_expr(ad_version::Column::Text, Expr::value(copy.text))
                    .col_expr(
                        ad_version::Column::ButtonLabel,
                        Expr::value(copy.button_label),
                    )
                    .col_expr(
                        ad_version::Column::DestinationUrl,
                        Expr::value(copy.destination_url),
                    )
                    .filter(ad_version::Column::Id.eq(latest.id))
                    .filter(ad_version::Column::Status.eq(AdVersionStatus::Draft))
                    .exec(&txn)
                    .await?;
                if amended.rows_affected != 1 {
                    return Err(AppError::Conflict(
                        "This version was sent for review meanwhile: reload the page.".into(),
                    ));
                }
                latest.number
            } else {
                insert_version(&txn, actor, found.id, latest.number + 1, &input, now)
                    .await?
                    .number
            };
            let mut active = found.clone().into_active_model();
            active.title = Set(input.title.trim().to_owned());
            active.updated_at = Set(now);
            (active.update(&txn).await?, number, AuditAction::AdUpdated)
        }
    };
    audit::record(
        &txn,
        AuditEntry::new(action, "ad", ad.id.to_string())
            .by(actor.user_id)
            .from_ip(actor.ip.clone())
            .detail(serde_json::json!({
                "campaign_id": campaign.id,
                "version": number,
                "title": ad.title,
                "text": input.text,
                "button_label": input.button_label.trim(),
                "destination_url": input.destination_url.trim(),
            })),
    )
    .await?;
    txn.commit().await?;
    Ok(AdId(ad.id))
}

/// Sends an ad's newest version to review, after the same pre-checks the editor shows.
pub async fn submit<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    id: AdId,
) -> Result<(), AppError> {
    let account = actor.account(db, AccountPermission::EditCampaigns).await?;
    let found = find(db, account, id).await?;
    let txn = db.begin().await?;
    let campaign = campaigns::lock(&txn, account, CampaignId(found.campaign_id)).await?;
    let ad = find(&txn, account, id).await?;
    ensure_launchable(&txn, &campaign).await?;
    let latest = latest_version(&txn, ad.id).await?;
    match latest.status {
        AdVersionStatus::Draft => {}
        AdVersionStatus::InReview => {
            return Err(AppError::Conflict(
                "This version is already in review.".into(),
            ));
        }
        _ => {
            return Err(AppError::Conflict(
                "This version has already been reviewed: edit the ad to send a new version.".into(),
            ));
        }
    }
    let problems: FieldErrors = input_of(&ad, &latest).check_for_submit();
    problems.into_result()?;
    let now = Utc::now();
    send_to_review(&txn, &ad, &latest, now).await?;
    if campaign.submitted_at.is_none() {
        let mut active = campaign.into_active_model();
        active.submitted_at = Set(Some(now));
        active.updated_at = Set(now);
        active.update(&txn).await?;
    }
    audit::record(
        &txn,
        AuditEntry::new(AuditAction::AdSubmitted, "ad", id.to_string())
            .by(actor.user_id)
            .from_ip(actor.ip.clone())
            .detail(serde_json::json!({ "version": latest.number, "version_id": latest.id })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Pauses or resumes one ad (no review needed).
pub async fn set_paused<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    id: AdId,
    paused: bool,
) -> Result<(), AppError> {
    let account = actor.account(db, AccountPermission::EditCampaigns).await?;
    let found = find(db, account, id).await?;
    let txn = db.begin().await?;
    let campaign = campaigns::lock(&txn, account, CampaignId(found.campaign_id)).await?;
    let ad = find(&txn, account, id).await?;
    ensure_ads_editable(&campaign)?;
    if ad.paused != paused {
        let mut active = ad.into_active_model();
        active.paused = Set(paused);
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?;
        let action = if paused {
            AuditAction::AdPaused
        } else {
            AuditAction::AdResumed
        };
        audit::record(
            &txn,
            AuditEntry::new(action, "ad", id.to_string())
                .by(actor.user_id)
                .from_ip(actor.ip.clone()),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
