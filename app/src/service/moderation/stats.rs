//! The published review times: computed from the decisions themselves (no stored counters).

use crate::{
    entity::{review_decision, review_task},
    error::AppError,
    model::{REVIEW_TIME_DAYS, ReviewTimes, TaskState, Verdict, median, percentile},
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// Review times of first decisions made in the [`REVIEW_TIME_DAYS`] days before `now`, and
/// the queue as it stands. Public: it names no account, ad or moderator.
pub async fn review_times(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<ReviewTimes, AppError> {
    let from = now - Duration::days(REVIEW_TIME_DAYS);
    let rows: Vec<(DateTime<Utc>, DateTime<Utc>, Verdict, bool)> = review_decision::Entity::find()
        .filter(review_decision::Column::DecidedAt.gt(from))
        .filter(review_decision::Column::DecidedAt.lte(now))
        .select_only()
        .column(review_decision::Column::SubmittedAt)
        .column(review_decision::Column::DecidedAt)
        .column(review_decision::Column::Outcome)
        .column(review_decision::Column::IsAppeal)
        .into_tuple()
        .all(db)
        .await?;
    let mut waits = Vec::with_capacity(rows.len());
    let (mut approved, mut appeals) = (0, 0);
    for (submitted, decided, verdict, is_appeal) in rows {
        if is_appeal {
            appeals += 1;
            continue;
        }
        waits.push((decided - submitted).num_seconds().max(0));
        if verdict == Verdict::Approved {
            approved += 1;
        }
    }
    waits.sort_unstable();
    let open = review_task::Entity::find()
        .filter(review_task::Column::State.eq(TaskState::Open))
        .filter(review_task::Column::AppealId.is_null());
    let waiting = open.clone().count(db).await?;
    let oldest = open
        .order_by_asc(review_task::Column::SubmittedAt)
        .one(db)
        .await?
        .map(|t| (now - t.submitted_at).num_seconds().max(0));
    Ok(ReviewTimes {
        from,
        to: now,
        reviewed: waits.len() as u64,
        approved,
        median_secs: median(&waits),
        p95_secs: percentile(&waits, 95),
        appeals_decided: appeals,
        waiting,
        oldest_wait_secs: oldest,
    })
}
