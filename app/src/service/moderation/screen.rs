//! The review screen: what the moderator judges with — the copy and its pre-check findings,
//! what changed since the last decision, the targeting and its forecast, the serving ads a
//! targeting change affects, the appeal, and the account's history. Reading it changes
//! nothing: the claim is its own POST (`queue::claim_for_review`).

use super::{decide::version_and_ad, queue, views_of};
use crate::{
    entity::{ad, ad_account, ad_version, appeal, campaign, review_decision, review_task},
    error::AppError,
    model::{
        AccountId, AdUnderReview, AdVersionId, AdVersionStatus, AppealBrief, CampaignId,
        ChannelSort, ForecastBrief, PlatformRole, ReviewDiff, ReviewKind, ReviewScreen,
        ReviewTaskId, TaskState, precheck, targeting_changes, word_diff,
    },
    service::{Actor, campaigns::targeting_of, forecast::ForecastEngine, policy},
};
use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// Earlier decisions shown with each item.
const HISTORY: u64 = 10;

/// Task `id` as the moderator reviews it, with the caller's live claim on it if any. Reading
/// claims nothing (a page load must not take an item away from other moderators). A task
/// someone else is reviewing is a conflict naming when their claim ends, as claiming it
/// would be; a decided or withdrawn one opens read-only.
pub async fn screen(
    db: &impl ConnectionTrait,
    engine: &ForecastEngine,
    actor: &Actor,
    id: ReviewTaskId,
) -> Result<ReviewScreen, AppError> {
    actor.require_staff(db, PlatformRole::Moderator).await?;
    let now = Utc::now();
    let task = queue::find_visible(db, actor.user_id.0, id).await?;
    let live_claim = task
        .claimed_by
        .zip(task.claimed_until)
        .filter(|(_, until)| *until > now && task.state == TaskState::Open);
    let claimed_until = match live_claim {
        Some((by, until)) if by == actor.user_id.0 => Some(until),
        Some((_, until)) => return Err(queue::taken(until)),
        None => None,
    };
    let campaign = campaign::Entity::find_by_id(task.campaign_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let account_name = ad_account::Entity::find_by_id(task.account_id)
        .one(db)
        .await?
        .map(|a| a.name)
        .unwrap_or_default();
    let serving = targeting_of(&campaign.targeting)?;
    // An appeal task: the appeal and the decline it contests.
    let appealed = match task.appeal_id {
        Some(appeal_id) => Some(appealed(db, appeal_id).await?),
        None => None,
    };
    let (ad, serving_ads, targeting, diff) = match task.kind {
        ReviewKind::AdVersion => {
            let (ad, version, previous) = version_with_previous(db, &task).await?;
            let copy = version.copy();
            // The ad is judged against the targeting it was sent (or re-targeted) with.
            let reviewed_with = match task.targeting.as_deref() {
                Some(json) => targeting_of(json)?,
                None => serving,
            };
            // The targeting of the last word on this copy: the decline an appeal contests,
            // else the newest decision on the version compared against.
            let decided_with = match (&appealed, &previous) {
                (Some((_, contested)), _) => contested.targeting.clone(),
                (None, Some(p)) => review_decision::Entity::find()
                    .filter(review_decision::Column::AdVersionId.eq(p.id))
                    .order_by_desc(review_decision::Column::Id)
                    .one(db)
                    .await?
                    .and_then(|d| d.targeting),
                (None, None) => None,
            };
            let targeting = match decided_with {
                Some(json) => targeting_changes(&targeting_of(&json)?, &reviewed_with),
                None => Vec::new(),
            };
            // An appealed first version has no earlier copy: compared with itself, only what
            // changed in the targeting since the decline shows.
            let compared = match previous {
                Some(p) => Some(p),
                None if !targeting.is_empty() => Some(version.clone()),
                None => None,
            };
            let diff = compared.map(|p| {
                let before = p.copy();
                let changed = |a: &str, b: &str| (a != b).then(|| (a.to_owned(), b.to_owned()));
                ReviewDiff {
                    against_version: Some(p.number),
                    against_approved: p.status == AdVersionStatus::Approved,
                    text: word_diff(&before.text, &copy.text),
                    button_label: changed(&before.button_label, &copy.button_label),
                    destination_url: changed(&before.destination_url, &copy.destination_url),
                    targeting,
                }
            });
            let under_review = under_review(ad.title, &version);
            (Some(under_review), Vec::new(), reviewed_with, diff)
        }
        ReviewKind::Targeting => {
            let proposed = targeting_of(task.targeting.as_deref().unwrap_or("{}"))?;
            // Once decided, the serving targeting may be this very change: no diff to show.
            let diff = (task.state == TaskState::Open).then(|| ReviewDiff {
                targeting: targeting_changes(&serving, &proposed),
                ..Default::default()
            });
            (None, serving_ads(db, campaign.id).await?, proposed, diff)
        }
    };
    let totals = engine
        .index()
        .query(&targeting, ChannelSort::default(), 0, 0)
        .totals;
    let appeal = match appealed {
        Some((found, decision)) => {
            let mut views = views_of(db, vec![decision]).await?;
            views.pop().map(|decision| AppealBrief {
                message: found.message,
                created_at: found.created_at,
                decision,
            })
        }
        None => None,
    };
    let decided_row = review_decision::Entity::find()
        .filter(review_decision::Column::TaskId.eq(task.id))
        .one(db)
        .await?;
    let history_rows = review_decision::Entity::find()
        .filter(review_decision::Column::AccountId.eq(task.account_id))
        .filter(review_decision::Column::TaskId.ne(task.id))
        .order_by_desc(review_decision::Column::DecidedAt)
        .order_by_desc(review_decision::Column::Id)
        .limit(HISTORY)
        .all(db)
        .await?;
    let history = views_of(db, history_rows).await?;
    let decided = match decided_row {
        Some(row) => views_of(db, vec![row]).await?.pop(),
        None => None,
    };
    Ok(ReviewScreen {
        task: id,
        kind: task.kind,
        state: task.state,
        submitted_at: task.submitted_at,
        claimed_until,
        now,
        account_id: AccountId(task.account_id),
        account_name,
        campaign_id: CampaignId(campaign.id),
        campaign_name: campaign.name,
        campaign_status: campaign.status,
        ad,
        serving_ads,
        targeting_languages: targeting.languages.clone(),
        targeting: targeting.describe(),
        forecast: Some(ForecastBrief {
            channels: totals.channels,
            subscribers: totals.subscribers,
            daily_views: totals.capacity,
        }),
        diff,
        appeal,
        history,
        reasons: policy::active(db).await?,
        decided,
    })
}

/// Appeal `id` and the decision it contests.
async fn appealed(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<(appeal::Model, review_decision::Model), AppError> {
    let found = appeal::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("appeal", "task without its appeal"))?;
    let decision = review_decision::Entity::find_by_id(found.decision_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("appeal", "appeal without its decision"))?;
    Ok((found, decision))
}

/// A version as the moderator reads it: its copy and the automatic pre-check findings.
fn under_review(title: String, version: &ad_version::Model) -> AdUnderReview {
    let copy = version.copy();
    let findings = precheck(&copy)
        .into_iter()
        .map(|f| (f.field.to_owned(), f.message))
        .collect();
    AdUnderReview {
        title,
        version_id: AdVersionId(version.id),
        number: version.number,
        copy,
        findings,
    }
}

/// The ads of `campaign` that are serving: a targeting change puts them in front of new
/// channels, so the moderator judges it with them in view.
async fn serving_ads(
    db: &impl ConnectionTrait,
    campaign: i64,
) -> Result<Vec<AdUnderReview>, AppError> {
    let ads = ad::Entity::find()
        .filter(ad::Column::CampaignId.eq(campaign))
        .filter(ad::Column::LiveVersionId.is_not_null())
        .filter(ad::Column::Paused.eq(false))
        .order_by_asc(ad::Column::Id)
        .all(db)
        .await?;
    let versions: HashMap<i64, ad_version::Model> = ad_version::Entity::find()
        .filter(ad_version::Column::Id.is_in(ads.iter().filter_map(|a| a.live_version_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect();
    Ok(ads
        .into_iter()
        .filter_map(|a| {
            let version = versions.get(&a.live_version_id?)?;
            Some(under_review(a.title, version))
        })
        .collect())
}

/// The task's ad, its version, and the version a re-review compares against: the one
/// serving, else the newest approved one, else (never approved) the newest declined one
/// before it.
async fn version_with_previous(
    db: &impl ConnectionTrait,
    task: &review_task::Model,
) -> Result<(ad::Model, ad_version::Model, Option<ad_version::Model>), AppError> {
    let (ad, version) = version_and_ad(db, task).await?;
    let previous = ad_version::Entity::find()
        .filter(ad_version::Column::AdId.eq(ad.id))
        .filter(ad_version::Column::Id.ne(version.id))
        .filter(
            ad_version::Column::Status
                .is_in([AdVersionStatus::Approved, AdVersionStatus::Declined]),
        )
        .order_by_desc(ad_version::Column::Number)
        .all(db)
        .await?;
    let approved = |v: &&ad_version::Model| v.status == AdVersionStatus::Approved;
    let against = previous
        .iter()
        .find(|v| Some(v.id) == ad.live_version_id)
        .or_else(|| previous.iter().find(approved))
        .or_else(|| previous.iter().find(|v| v.number < version.number))
        .cloned();
    Ok((ad, version, against))
}
