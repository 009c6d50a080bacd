//! How items enter and leave the review queue: a version sent, a live campaign's targeting
//! changed, an appeal made; withdrawn when the advertiser replaces them or the campaign ends.

use crate::{
    entity::{ad_version, campaign, review_task},
    error::AppError,
    model::{ReviewKind, TaskState},
    service::campaigns::targeting_of,
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, Query},
};

/// ",en,de," for the queue's language filter, from a stored targeting.
fn languages_key(targeting_json: &str) -> Result<String, AppError> {
    let targeting = targeting_of(targeting_json)?;
    Ok(if targeting.languages.is_empty() {
        String::new()
    } else {
        format!(",{},", targeting.languages.join(","))
    })
}

/// A new open task of `kind` for `campaign`, reviewed against `targeting_json`.
fn open_task(
    kind: ReviewKind,
    campaign: &campaign::Model,
    ad_version: Option<i64>,
    targeting_json: String,
    now: DateTime<Utc>,
) -> Result<review_task::ActiveModel, AppError> {
    Ok(review_task::ActiveModel {
        kind: Set(kind),
        account_id: Set(campaign.account_id),
        campaign_id: Set(campaign.id),
        ad_version_id: Set(ad_version),
        languages: Set(languages_key(&targeting_json)?),
        targeting: Set(Some(targeting_json)),
        submitted_at: Set(now),
        state: Set(TaskState::Open),
        ..Default::default()
    })
}

/// Puts a version that was just sent into the queue, replacing any open task of an older
/// version of the same ad (that version was withdrawn).
pub(crate) async fn enqueue_version(
    db: &impl ConnectionTrait,
    campaign: &campaign::Model,
    ad: i64,
    version: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    withdraw_for_ad(db, ad, now).await?;
    // What the moderator reviews the ad against: the campaign's targeting as sent.
    let targeting = campaign.targeting.clone();
    open_task(
        ReviewKind::AdVersion,
        campaign,
        Some(version),
        targeting,
        now,
    )?
    .insert(db)
    .await?;
    Ok(())
}

/// Opens the task of an appeal: the same subject again, kept away from `excluded` (the
/// moderator who declined it). An appealed ad is reviewed against the campaign's targeting as
/// it is now (it may have changed since the decline); an appealed targeting change is itself
/// the subject.
pub(crate) async fn enqueue_appeal(
    db: &impl ConnectionTrait,
    campaign: &campaign::Model,
    decided: &review_task::Model,
    appeal: i64,
    excluded: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let targeting_json = match decided.kind {
        ReviewKind::AdVersion => campaign.targeting.clone(),
        ReviewKind::Targeting => decided.targeting.clone().unwrap_or_else(|| "{}".into()),
    };
    let mut task = open_task(
        decided.kind,
        campaign,
        decided.ad_version_id,
        targeting_json,
        now,
    )?;
    task.appeal_id = Set(Some(appeal));
    task.excluded_moderator = Set(Some(excluded));
    task.insert(db).await?;
    Ok(())
}

/// Closes the open tasks of every version of `ad` (a newer version replaces them).
async fn withdraw_for_ad(
    db: &impl ConnectionTrait,
    ad: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let versions = Query::select()
        .column(ad_version::Column::Id)
        .from(ad_version::Entity)
        .and_where(ad_version::Column::AdId.eq(ad))
        .to_owned();
    withdraw(
        db,
        Condition::all().add(review_task::Column::AdVersionId.in_subquery(versions)),
        now,
    )
    .await
}

/// The targeting `campaign`'s ads will serve with changed while ads wait (a campaign not yet
/// live was edited, or a live one's change was approved): their tasks carry the new targeting,
/// and any claim on them ends, so no moderator approves against what they no longer see.
pub(crate) async fn retarget(
    db: &impl ConnectionTrait,
    campaign: i64,
    targeting_json: &str,
) -> Result<(), AppError> {
    let languages = languages_key(targeting_json)?;
    review_task::Entity::update_many()
        .col_expr(
            review_task::Column::Targeting,
            Expr::value(targeting_json.to_owned()),
        )
        .col_expr(review_task::Column::Languages, Expr::value(languages))
        .col_expr(
            review_task::Column::ClaimedBy,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            review_task::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(review_task::Column::CampaignId.eq(campaign))
        .filter(review_task::Column::Kind.eq(ReviewKind::AdVersion))
        .filter(review_task::Column::State.eq(TaskState::Open))
        .filter(review_task::Column::Targeting.ne(targeting_json.to_owned()))
        .exec(db)
        .await?;
    Ok(())
}

/// Closes the open task of `version`, decided outside the moderators' workflow (demo data).
pub(crate) async fn close_version(
    db: &impl ConnectionTrait,
    version: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    review_task::Entity::update_many()
        .col_expr(review_task::Column::State, Expr::value(TaskState::Decided))
        .col_expr(review_task::Column::ClosedAt, Expr::value(now))
        .filter(review_task::Column::AdVersionId.eq(version))
        .filter(review_task::Column::State.eq(TaskState::Open))
        .exec(db)
        .await?;
    Ok(())
}

/// Queues a live campaign's new targeting, replacing a targeting change still waiting.
pub(crate) async fn enqueue_targeting(
    db: &impl ConnectionTrait,
    campaign: &campaign::Model,
    targeting_json: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    withdraw_targeting(db, campaign.id, now).await?;
    open_task(
        ReviewKind::Targeting,
        campaign,
        None,
        targeting_json.to_owned(),
        now,
    )?
    .insert(db)
    .await?;
    Ok(())
}

/// Closes a waiting targeting change of `campaign` (the advertiser went back to the serving
/// targeting, or replaced the change).
pub(crate) async fn withdraw_targeting(
    db: &impl ConnectionTrait,
    campaign: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    withdraw(
        db,
        Condition::all()
            .add(review_task::Column::CampaignId.eq(campaign))
            .add(review_task::Column::Kind.eq(ReviewKind::Targeting)),
        now,
    )
    .await
}

/// Closes every open task of `campaign` (it was archived).
pub(crate) async fn withdraw_campaign(
    db: &impl ConnectionTrait,
    campaign: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    withdraw(
        db,
        Condition::all().add(review_task::Column::CampaignId.eq(campaign)),
        now,
    )
    .await
}

async fn withdraw(
    db: &impl ConnectionTrait,
    which: Condition,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    review_task::Entity::update_many()
        .col_expr(
            review_task::Column::State,
            Expr::value(TaskState::Withdrawn),
        )
        .col_expr(review_task::Column::ClosedAt, Expr::value(now))
        .filter(which)
        .filter(review_task::Column::State.eq(TaskState::Open))
        .exec(db)
        .await?;
    Ok(())
}
