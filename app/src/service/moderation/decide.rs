//! The review screen (opening it claims the item) and the decision: approve, or decline with
//! policy reasons, in one transaction with its notifications and audit event.

use super::{
    intake,
    queue::{self, Claim},
    views_of,
};
use crate::{
    entity::{
        ad, ad_account, ad_version, appeal, campaign, policy_reason, review_decision,
        review_decision_reason, review_task,
    },
    error::{AppError, FieldErrors},
    model::{
        AccountId, AdCopy, AdUnderReview, AdVersionId, AdVersionStatus, AppealBrief, AuditAction,
        CampaignId, ChannelSort, DecisionInput, ForecastBrief, PlatformRole, ReviewDiff,
        ReviewKind, ReviewScreen, ReviewTaskId, Targeting, TaskState, Verdict, precheck,
        targeting_changes, word_diff,
    },
    service::{
        Actor, ads,
        audit::{self, AuditEntry},
        campaigns::{self, targeting_of},
        forecast::ForecastEngine,
        notifications, policy,
    },
};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait, sea_query::Expr,
};

/// Earlier decisions shown with each item.
const HISTORY: u64 = 10;

/// Opens task `id` for review: claims it (or renews the caller's claim) and gathers what the
/// moderator needs. A task someone else is reviewing is a conflict naming when their claim
/// ends; a decided or withdrawn one opens read-only.
pub async fn screen(
    db: &impl ConnectionTrait,
    engine: &ForecastEngine,
    actor: &Actor,
    id: ReviewTaskId,
) -> Result<ReviewScreen, AppError> {
    let now = Utc::now();
    let claimed_until = match queue::claim(db, actor, id, now).await? {
        Claim::Held(until) => Some(until),
        Claim::Taken(until) => {
            return Err(AppError::Conflict(format!(
                "Another moderator is reviewing this item until {} UTC.",
                until.format("%H:%M")
            )));
        }
        Claim::Closed => None,
    };
    let task = queue::find_visible(db, actor.user_id.0, id).await?;
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
    let (ad, serving_ads, targeting, diff) = match task.kind {
        ReviewKind::AdVersion => {
            let (ad, version, previous) = version_with_previous(db, &task).await?;
            let copy = copy_of(&version);
            // The ad is judged against the targeting it was sent (or re-targeted) with.
            let reviewed_with = match task.targeting.as_deref() {
                Some(json) => targeting_of(json)?,
                None => serving,
            };
            let diff = match previous {
                Some(p) => {
                    // The targeting that version was decided with, when it was decided here.
                    let then = review_decision::Entity::find()
                        .filter(review_decision::Column::AdVersionId.eq(p.id))
                        .order_by_desc(review_decision::Column::Id)
                        .one(db)
                        .await?
                        .and_then(|d| d.targeting);
                    let targeting = match then {
                        Some(json) => targeting_changes(&targeting_of(&json)?, &reviewed_with),
                        None => Vec::new(),
                    };
                    let before = copy_of(&p);
                    let changed = |a: &str, b: &str| (a != b).then(|| (a.to_owned(), b.to_owned()));
                    Some(ReviewDiff {
                        against_version: Some(p.number),
                        against_approved: p.status == AdVersionStatus::Approved,
                        text: word_diff(&before.text, &copy.text),
                        button_label: changed(&before.button_label, &copy.button_label),
                        destination_url: changed(&before.destination_url, &copy.destination_url),
                        targeting,
                    })
                }
                None => None,
            };
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
    let appeal = match task.appeal_id {
        Some(appeal_id) => {
            let found = appeal::Entity::find_by_id(appeal_id)
                .one(db)
                .await?
                .ok_or_else(|| AppError::internal("appeal", "task without its appeal"))?;
            let decision = review_decision::Entity::find_by_id(found.decision_id)
                .one(db)
                .await?
                .ok_or_else(|| AppError::internal("appeal", "appeal without its decision"))?;
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

/// A version as the moderator reads it: its copy and the automatic pre-check findings.
fn under_review(title: String, version: &ad_version::Model) -> AdUnderReview {
    let copy = copy_of(version);
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
        .order_by_asc(ad::Column::Id)
        .all(db)
        .await?;
    let versions: std::collections::HashMap<i64, ad_version::Model> = ad_version::Entity::find()
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

fn copy_of(version: &ad_version::Model) -> AdCopy {
    AdCopy {
        text: version.text.clone(),
        button_label: version.button_label.clone(),
        destination_url: version.destination_url.clone(),
    }
}

/// The version a task reviews, with its ad.
async fn version_and_ad(
    db: &impl ConnectionTrait,
    task: &review_task::Model,
) -> Result<(ad::Model, ad_version::Model), AppError> {
    let version_id = task
        .ad_version_id
        .ok_or_else(|| AppError::internal("review task", "ad task without a version"))?;
    let (version, ad) = ad_version::Entity::find_by_id(version_id)
        .find_also_related(ad::Entity)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((ad.ok_or(AppError::NotFound)?, version))
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

/// Decides task `id`, which the caller must hold a live claim on: approve, or decline with at
/// least one active policy reason. The task, the subject (version or targeting), the decision
/// with its reasons, the advertiser's notifications and the audit event are one transaction.
pub async fn decide<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    id: ReviewTaskId,
    input: DecisionInput,
) -> Result<(), AppError> {
    actor.require_staff(db, PlatformRole::Moderator).await?;
    input.check().into_result()?;
    let me = actor.user_id.0;
    let task = queue::find_visible(db, me, id).await?;
    let mut codes = input.reasons.clone();
    codes.sort();
    codes.dedup();
    let reasons = policy_reason::Entity::find()
        .filter(policy_reason::Column::Code.is_in(codes.clone()))
        .filter(policy_reason::Column::Active.eq(true))
        .all(db)
        .await?;
    if reasons.len() != codes.len() {
        return Err(AppError::Invalid(FieldErrors::one(
            "reasons",
            "One of the chosen reasons no longer exists: reload the page.",
        )));
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    // The campaign first, like every other write to it, so concurrent edits queue up behind.
    let campaign = campaigns::lock(
        &txn,
        AccountId(task.account_id),
        CampaignId(task.campaign_id),
    )
    .await?;
    let closed = review_task::Entity::update_many()
        .col_expr(review_task::Column::State, Expr::value(TaskState::Decided))
        .col_expr(review_task::Column::ClosedAt, Expr::value(now))
        .filter(review_task::Column::Id.eq(task.id))
        .filter(review_task::Column::State.eq(TaskState::Open))
        .filter(review_task::Column::ClaimedBy.eq(me))
        .filter(review_task::Column::ClaimedUntil.gt(now))
        .exec(&txn)
        .await?;
    if closed.rows_affected != 1 {
        let fresh = review_task::Entity::find_by_id(task.id)
            .one(&txn)
            .await?
            .ok_or(AppError::NotFound)?;
        return Err(AppError::Conflict(
            match fresh.state {
                TaskState::Open => {
                    "Your 15-minute claim has ended: open the item again to review it."
                }
                TaskState::Decided => "This item has already been decided.",
                TaskState::Withdrawn => {
                    "The advertiser replaced this submission: it is no longer waiting for review."
                }
            }
            .into(),
        ));
    }
    let verdict = if input.approve {
        Verdict::Approved
    } else {
        Verdict::Declined
    };
    let (subject, link) = match task.kind {
        ReviewKind::AdVersion => {
            let (ad, version) = version_and_ad(&txn, &task).await?;
            ads::decide_version(&txn, AdVersionId(version.id), verdict, now).await?;
            (
                format!("Ad “{}”, version {}", ad.title, version.number),
                format!("/campaigns/{}/ads/{}", campaign.id, ad.id),
            )
        }
        ReviewKind::Targeting => {
            decide_targeting(&txn, &campaign, &task, verdict).await?;
            (
                format!("The targeting change of “{}”", campaign.name),
                format!("/campaigns/{}", campaign.id),
            )
        }
    };
    let decision = review_decision::ActiveModel {
        task_id: Set(task.id),
        account_id: Set(task.account_id),
        campaign_id: Set(task.campaign_id),
        ad_version_id: Set(task.ad_version_id),
        targeting: Set(task.targeting.clone()),
        moderator_id: Set(me),
        outcome: Set(verdict),
        field: Set((!input.field.is_empty()).then(|| input.field.clone())),
        note: Set(input.note.trim().to_owned()),
        is_appeal: Set(task.appeal_id.is_some()),
        submitted_at: Set(task.submitted_at),
        decided_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for reason in &reasons {
        review_decision_reason::ActiveModel {
            decision_id: Set(decision.id),
            policy_reason_id: Set(reason.id),
        }
        .insert(&txn)
        .await?;
    }
    let titles: Vec<&str> = reasons.iter().map(|r| r.title.as_str()).collect();
    let (title, mut body) = match (verdict, task.appeal_id.is_some()) {
        (Verdict::Approved, false) => (format!("{subject} was approved"), String::new()),
        (Verdict::Approved, true) => (
            format!("Your appeal succeeded: {subject} is approved"),
            String::new(),
        ),
        (Verdict::Declined, false) => (
            format!("{subject} was declined"),
            format!("Reasons: {}.", titles.join(", ")),
        ),
        (Verdict::Declined, true) => (
            format!("Your appeal was reviewed: {subject} stays declined"),
            format!("Reasons: {}.", titles.join(", ")),
        ),
    };
    if !decision.note.is_empty() {
        if !body.is_empty() {
            body.push(' ');
        }
        body.push_str(&format!("Moderator's note: {}", decision.note));
    }
    notifications::notify_account(&txn, task.account_id, "review", &title, &body, &link, now)
        .await?;
    audit::record(
        &txn,
        AuditEntry::new(AuditAction::ReviewDecided, "review_task", id.to_string())
            .by(actor.user_id)
            .from_ip(actor.ip.clone())
            .detail(serde_json::json!({
                "decision_id": decision.id,
                "kind": task.kind.code(),
                "ad_version_id": task.ad_version_id,
                "campaign_id": task.campaign_id,
                "outcome": verdict.code(),
                "reasons": codes,
                "field": decision.field,
                "note": decision.note,
                "appeal": task.appeal_id.is_some(),
            })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Applies a decision to a live campaign's waiting targeting: approved, it serves from now
/// on; declined, the serving targeting stays and the change is dropped.
async fn decide_targeting(
    db: &impl ConnectionTrait,
    campaign: &campaign::Model,
    task: &review_task::Model,
    verdict: Verdict,
) -> Result<(), AppError> {
    if campaign.pending_targeting.is_none() || campaign.pending_targeting != task.targeting {
        return Err(AppError::Conflict(
            "The campaign's targeting changed meanwhile: this change is no longer waiting.".into(),
        ));
    }
    let mut active = campaign.clone().into_active_model();
    if verdict == Verdict::Approved {
        // Re-parse so only a well-formed targeting is ever put into service.
        let approved: Targeting = targeting_of(task.targeting.as_deref().unwrap_or_default())?;
        let json = campaigns::to_json(&approved)?;
        // Ads still waiting will serve with this targeting: review them against it.
        intake::retarget(db, campaign.id, &json).await?;
        active.targeting = Set(json);
    }
    active.pending_targeting = Set(None);
    active.pending_since = Set(None);
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    Ok(())
}
