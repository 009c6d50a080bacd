//! The review queue as moderators work it: what each may see, oldest first, and the 15-minute
//! claims — exactly one moderator wins a claim, on SQLite and PostgreSQL. How items enter and
//! leave it is `intake`.

use crate::{
    entity::{account_member, ad_account, review_task},
    error::AppError,
    model::{
        AccountId, CLAIM_MINUTES, PlatformRole, QueueFilter, QueueRow, QueueView, ReviewTaskId,
        TaskState, language_name,
    },
    service::Actor,
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, Query},
};
use std::collections::{BTreeMap, HashMap, HashSet};
use validator::Validate;

/// Most rows the queue page lists.
const QUEUE_PAGE: u64 = 100;

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

/// Tasks of the appeals queue, or of first reviews.
fn in_queue(appeals: bool) -> Condition {
    let appeal = review_task::Column::AppealId;
    Condition::all().add(if appeals {
        appeal.is_not_null()
    } else {
        appeal.is_null()
    })
}

/// The moderator's queue, oldest first, filtered by language and account.
pub async fn queue(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &QueueFilter,
) -> Result<QueueView, AppError> {
    actor.require_staff(db, PlatformRole::Moderator).await?;
    filter.validate()?;
    let me = actor.user_id.0;
    let now = Utc::now();
    let base = review_task::Entity::find()
        .filter(visible_to(me, now))
        .filter(in_queue(filter.appeals));
    // The filters' choices come from everything waiting in this queue.
    let mut languages: BTreeMap<String, String> = BTreeMap::new();
    let mut account_ids = HashSet::new();
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
        account_ids.insert(account);
    }
    let mut query = base;
    let language = filter.language.trim();
    if !language.is_empty() {
        // Codes are lower-case ASCII letters: anything else matches nothing rather than a
        // pattern. An empty key is a campaign open to every language: it belongs under each.
        query = query.filter(if language.chars().all(|c| c.is_ascii_lowercase()) {
            Condition::any()
                .add(review_task::Column::Languages.eq(""))
                .add(review_task::Column::Languages.like(format!("%,{language},%")))
        } else {
            Condition::all().add(Expr::value(false))
        });
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
        .filter(in_queue(!filter.appeals))
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

/// Claims task `id` for the moderator about to review it ([`claim`] at the current time):
/// `Some(until)` when held, `None` when it is decided or withdrawn (it opens read-only), and
/// a conflict naming when the other moderator's claim ends when someone else holds it.
pub async fn claim_for_review(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: ReviewTaskId,
) -> Result<Option<DateTime<Utc>>, AppError> {
    match claim(db, actor, id, Utc::now()).await? {
        Claim::Held(until) => Ok(Some(until)),
        Claim::Taken(until) => Err(taken(until)),
        Claim::Closed => Ok(None),
    }
}

/// The refusal of a task another moderator holds until `until`.
pub(crate) fn taken(until: DateTime<Utc>) -> AppError {
    AppError::Conflict(format!(
        "Another moderator is reviewing this item until {} UTC.",
        until.format("%H:%M")
    ))
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
    actor.require_staff(db, PlatformRole::Moderator).await?;
    Ok(review_task::Entity::find()
        .filter(visible_to(actor.user_id.0, Utc::now()))
        .filter(in_queue(appeals))
        .order_by_asc(review_task::Column::SubmittedAt)
        .order_by_asc(review_task::Column::Id)
        .one(db)
        .await?
        .map(|t| ReviewTaskId(t.id)))
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
