//! The review queue: tasks enter when an ad version is sent or a live campaign's targeting
//! changes, leave when they are decided or replaced, and are claimed for 15 minutes by the
//! moderator who opens them — exactly one moderator wins a claim, on SQLite and PostgreSQL.

use crate::{
    entity::{account_member, ad_account, ad_version, campaign, review_task},
    error::AppError,
    model::{
        AccountId, CLAIM_MINUTES, PlatformRole, QueueFilter, QueueRow, QueueView, ReviewKind,
        ReviewTaskId, Targeting, TaskState, language_name,
    },
    service::{Actor, campaigns::targeting_of},
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, Query},
};
use std::collections::{BTreeMap, HashMap};

/// Most rows the queue page lists.
const QUEUE_PAGE: u64 = 100;

/// ",en,de," for the queue's language filter.
fn languages_key(targeting: &Targeting) -> String {
    if targeting.languages.is_empty() {
        String::new()
    } else {
        format!(",{},", targeting.languages.join(","))
    }
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
    let targeting = targeting_of(&campaign.targeting)?;
    review_task::ActiveModel {
        kind: Set(ReviewKind::AdVersion),
        account_id: Set(campaign.account_id),
        campaign_id: Set(campaign.id),
        ad_version_id: Set(Some(version)),
        // What the moderator reviews the ad against: the campaign's targeting as sent.
        targeting: Set(Some(campaign.targeting.clone())),
        languages: Set(languages_key(&targeting)),
        submitted_at: Set(now),
        state: Set(TaskState::Open),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Opens the task of an appeal: the same subject again, kept away from `excluded` (the
/// moderator who declined it).
pub(crate) async fn enqueue_appeal(
    db: &impl ConnectionTrait,
    decided: &review_task::Model,
    appeal: i64,
    excluded: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    review_task::ActiveModel {
        kind: Set(decided.kind),
        account_id: Set(decided.account_id),
        campaign_id: Set(decided.campaign_id),
        ad_version_id: Set(decided.ad_version_id),
        targeting: Set(decided.targeting.clone()),
        languages: Set(decided.languages.clone()),
        submitted_at: Set(now),
        state: Set(TaskState::Open),
        appeal_id: Set(Some(appeal)),
        excluded_moderator: Set(Some(excluded)),
        ..Default::default()
    }
    .insert(db)
    .await?;
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

/// A campaign not yet live changed its targeting while ads wait: their tasks carry the new
/// targeting, and any claim on them ends, so no moderator approves against what they no
/// longer see.
pub(crate) async fn retarget(
    db: &impl ConnectionTrait,
    campaign: i64,
    targeting_json: &str,
) -> Result<(), AppError> {
    let targeting = targeting_of(targeting_json)?;
    review_task::Entity::update_many()
        .col_expr(
            review_task::Column::Targeting,
            Expr::value(targeting_json.to_owned()),
        )
        .col_expr(
            review_task::Column::Languages,
            Expr::value(languages_key(&targeting)),
        )
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
    let targeting = targeting_of(targeting_json)?;
    review_task::ActiveModel {
        kind: Set(ReviewKind::Targeting),
        account_id: Set(campaign.account_id),
        campaign_id: Set(campaign.id),
        targeting: Set(Some(targeting_json.to_owned())),
        languages: Set(languages_key(&targeting)),
        submitted_at: Set(now),
        state: Set(TaskState::Open),
        ..Default::default()
    }
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

/// Open tasks `moderator` may see: not claimed by someone else (or that claim has expired),
/// not an appeal of the moderator's own decision, and not of an account they belong to.
fn visible_to(moderator: i64, now: DateTime<Utc>) -> Condition {
    let own_accounts = Query::select()
        .column(account_member::Column::AccountId)
        .from(account_member::Entity)
        .and_where(account_member::Column::UserId.eq(moderator))
        .to_owned();
    Condition::all()
        .add(review_task::Column::State.eq(TaskState::Open))
        // Nobody reviews the ads of an account they belong to.
        .add(review_task::Column::AccountId.not_in_subquery(own_accounts))
        .add(
            Condition::any()
                .add(review_task::Column::ExcludedModerator.is_null())
                .add(review_task::Column::ExcludedModerator.ne(moderator)),
        )
        .add(
            Condition::any()
                .add(review_task::Column::ClaimedBy.is_null())
                .add(review_task::Column::ClaimedBy.eq(moderator))
                .add(review_task::Column::ClaimedUntil.lte(now)),
        )
}

/// The moderator's queue, oldest first, filtered by language and account.
pub async fn queue(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &QueueFilter,
) -> Result<QueueView, AppError> {
    actor.require_staff(db, PlatformRole::Moderator).await?;
    let me = actor.user_id.0;
    let now = Utc::now();
    let kind_of_queue = |appeals: bool| {
        if appeals {
            review_task::Column::AppealId.is_not_null()
        } else {
            review_task::Column::AppealId.is_null()
        }
    };
    let base = review_task::Entity::find()
        .filter(visible_to(me, now))
        .filter(kind_of_queue(filter.appeals));
    // The filters' choices come from everything waiting in this queue.
    let mut languages: BTreeMap<String, String> = BTreeMap::new();
    let mut account_ids = Vec::new();
    for (keys, account) in base
        .clone()
        .select_only()
        .column(review_task::Column::Languages)
        .column(review_task::Column::AccountId)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?
    {
        for code in keys.split(',').filter(|c| !c.is_empty()) {
            let name = language_name(code).unwrap_or(code);
            languages.insert(code.to_owned(), name.to_owned());
        }
        if !account_ids.contains(&account) {
            account_ids.push(account);
        }
    }
    let mut query = base;
    let language = filter.language.trim();
    if !language.is_empty() {
        // Codes are two ASCII letters: anything else matches nothing rather than a pattern.
        let code = if language.chars().all(|c| c.is_ascii_lowercase()) {
            language
        } else {
            "?"
        };
        query = query.filter(review_task::Column::Languages.like(format!("%,{code},%")));
    }
    if let Ok(account) = filter.account.trim().parse::<i64>() {
        query = query.filter(review_task::Column::AccountId.eq(account));
    }
    let total = query.clone().count(db).await?;
    let tasks = query
        .order_by_asc(review_task::Column::SubmittedAt)
        .order_by_asc(review_task::Column::Id)
        .limit(QUEUE_PAGE)
        .all(db)
        .await?;
    let other_queue = review_task::Entity::find()
        .filter(visible_to(me, now))
        .filter(kind_of_queue(!filter.appeals))
        .count(db)
        .await?;
    let accounts: HashMap<i64, String> = ad_account::Entity::find()
        .filter(ad_account::Column::Id.is_in(account_ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let subjects = super::subjects(db, &tasks).await?;
    let rows = tasks
        .iter()
        .map(|t| QueueRow {
            id: ReviewTaskId(t.id),
            kind: t.kind,
            account_id: AccountId(t.account_id),
            account_name: accounts.get(&t.account_id).cloned().unwrap_or_default(),
            campaign_name: subjects.campaign_name(t.campaign_id),
            subject: subjects.describe(t),
            preview: subjects.preview(t),
            languages: t
                .languages
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            submitted_at: t.submitted_at,
            claimed_by_me: t.claimed_by == Some(me) && t.claimed_until.is_some_and(|u| u > now),
        })
        .collect();
    let mut account_list: Vec<(AccountId, String)> = accounts
        .into_iter()
        .map(|(id, name)| (AccountId(id), name))
        .collect();
    account_list.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(QueueView {
        rows,
        total,
        now,
        languages: languages.into_iter().collect(),
        accounts: account_list,
        other_queue,
    })
}

/// What a claim attempt found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the task until then.
    Held(DateTime<Utc>),
    /// Someone else holds it until then.
    Taken(DateTime<Utc>),
    /// Decided or withdrawn: it can be read, not decided.
    Closed,
}

/// Claims task `id` for [`CLAIM_MINUTES`] (or renews the caller's own claim). One conditional
/// update decides the race: under PostgreSQL's row lock the second claimer re-reads the row and
/// no longer matches; SQLite runs one writer at a time. An appeal of the caller's own decision
/// is "not found".
pub async fn claim(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: ReviewTaskId,
    now: DateTime<Utc>,
) -> Result<Claim, AppError> {
    actor.require_staff(db, PlatformRole::Moderator).await?;
    let me = actor.user_id.0;
    let until = now + Duration::minutes(CLAIM_MINUTES);
    let won = review_task::Entity::update_many()
        .col_expr(review_task::Column::ClaimedBy, Expr::value(me))
        .col_expr(review_task::Column::ClaimedUntil, Expr::value(until))
        .filter(review_task::Column::Id.eq(id.0))
        .filter(visible_to(me, now))
        .exec(db)
        .await?;
    if won.rows_affected == 1 {
        return Ok(Claim::Held(until));
    }
    let task = find_visible(db, me, id).await?;
    Ok(match (task.state, task.claimed_until) {
        (TaskState::Open, Some(until)) => Claim::Taken(until),
        _ => Claim::Closed,
    })
}

/// Gives a claimed task back to the queue.
pub async fn release(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: ReviewTaskId,
) -> Result<(), AppError> {
    actor.require_staff(db, PlatformRole::Moderator).await?;
    review_task::Entity::update_many()
        .col_expr(
            review_task::Column::ClaimedBy,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            review_task::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(review_task::Column::Id.eq(id.0))
        .filter(review_task::Column::ClaimedBy.eq(actor.user_id.0))
        .filter(review_task::Column::State.eq(TaskState::Open))
        .exec(db)
        .await?;
    Ok(())
}

/// The oldest task the caller may take next in the chosen queue, if any.
pub async fn next(
    db: &impl ConnectionTrait,
    actor: &Actor,
    appeals: bool,
) -> Result<Option<ReviewTaskId>, AppError> {
    let view = queue(
        db,
        actor,
        &QueueFilter {
            appeals,
            ..Default::default()
        },
    )
    .await?;
    Ok(view.rows.first().map(|r| r.id))
}

/// Task `id` unless it is an appeal of `moderator`'s own decision ("not found" then).
pub(crate) async fn find_visible(
    db: &impl ConnectionTrait,
    moderator: i64,
    id: ReviewTaskId,
) -> Result<review_task::Model, AppError> {
    let task = review_task::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let own_account = account_member::Entity::find_by_id((task.account_id, moderator))
        .one(db)
        .await?
        .is_some();
    if task.excluded_moderator == Some(moderator) || own_account {
        return Err(AppError::NotFound);
    }
    Ok(task)
}
