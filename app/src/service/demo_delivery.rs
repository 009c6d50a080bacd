//! Demo delivery history: a credited balance and a few days of decisions, views and clicks for
//! the demo campaigns, produced by the real services (finance, decide, ingest, the hold sweep)
//! under a simulated clock — never rows written by hand — so every page that shows money has
//! something to show on first start.

use crate::{
    entity::{account_member, app_user, campaign},
    error::AppError,
    model::{AccountId, Micros},
    service::{
        delivery::{self, Decided, DeliveryEngine, EventInput, keys, sweep},
        finance,
    },
};
use chrono::{DateTime, Datelike, Duration, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};

/// What the history produced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DemoHistory {
    pub decisions: u64,
    pub events: u64,
    pub posted: Micros,
}

/// Credits the account of `owner_email` with `credit` and simulates `days` days of delivery
/// ending now, for up to 150 matching channels.
pub async fn create(
    db: &DatabaseConnection,
    owner_email: &str,
    finance_email: &str,
    credit: Micros,
    days: i64,
    seed: u64,
) -> Result<DemoHistory, AppError> {
    let now = Utc::now();
    let start = now - Duration::days(days);
    let user_id = |email: &str| {
        let email = email.to_owned();
        async move {
            app_user::Entity::find()
                .filter(app_user::Column::Email.eq(email))
                .one(db)
                .await?
                .map(|u| u.id)
                .ok_or(AppError::NotFound)
        }
    };
    let owner = user_id(owner_email).await?;
    let finance_user = user_id(finance_email).await?;
    let account = account_member::Entity::find()
        .filter(account_member::Column::UserId.eq(owner))
        .one(db)
        .await?
        .map(|m| AccountId(m.account_id))
        .ok_or(AppError::NotFound)?;
    finance::credit_account(
        db,
        account,
        credit,
        "DEMO-WIRE-0001",
        "Demo: opening balance",
        finance_user,
        None,
        start,
    )
    .await?;
    // The demo campaigns were approved a moment ago; the history has them start `days` ago.
    // Their start (and creation) is the only thing changed by hand: every money row below comes
    // from the services.
    campaign::Entity::update_many()
        .col_expr(
            campaign::Column::StartAt,
            Expr::value(start - Duration::hours(1)),
        )
        .col_expr(
            campaign::Column::CreatedAt,
            Expr::value(start - Duration::hours(2)),
        )
        .filter(campaign::Column::AccountId.eq(account.0))
        .filter(campaign::Column::Status.eq(crate::model::CampaignStatus::Running))
        .exec(db)
        .await?;
    let key = keys::create_unchecked(db, "Demo delivery network", None, start).await?;
    let engine = DeliveryEngine::default();
    engine.refresh(db).await?;
    let channels = engine.channels();
    let campaigns = engine.campaigns();
    let Some(settings) = channels.settings else {
        return Ok(DemoHistory::default());
    };
    // Channels some demo campaign can serve (by targeting), the largest first.
    let mut matching: Vec<_> = channels
        .iter()
        .filter(|c| !campaigns.scan(&c.facts, settings, now).is_empty())
        .collect();
    matching.sort_by_key(|c| std::cmp::Reverse(c.facts.subscribers));
    matching.truncate(150);
    let handles: Vec<(String, i64, f64)> = matching
        .iter()
        .map(|c| {
            (
                c.facts.id.to_string(),
                c.facts.avg_views,
                c.facts.posts_per_day,
            )
        })
        .collect();
    let by_id: std::collections::HashMap<i64, String> = channels_by_id(db, &handles).await?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut done = DemoHistory::default();
    let mut pending: Vec<(DateTime<Utc>, EventInput)> = Vec::new();
    let mut hour = start;
    while hour < now - Duration::hours(1) {
        for (id, avg_views, posts_per_day) in &handles {
            if !rng.random_bool((posts_per_day / 24.0).clamp(0.0, 1.0)) {
                continue;
            }
            let Some(handle) = id.parse::<i64>().ok().and_then(|i| by_id.get(&i)) else {
                continue;
            };
            let at = hour + Duration::minutes(rng.random_range(0..60));
            let slot = format!("demo-{id}-{}", at.timestamp());
            if let Decided::Ad(answer) =
                delivery::decide(db, &engine, key.id, handle, &slot, at).await?
            {
                done.decisions += 1;
                // Views arrive over the next hours, around the channel's average.
                let total = (*avg_views as f64 * rng.random_range(0.6..1.2)) as i64;
                for (i, share) in [0.55, 0.3, 0.15].into_iter().enumerate() {
                    let views = (total as f64 * share) as i64;
                    if views == 0 {
                        continue;
                    }
                    let clicks = (views as f64 * rng.random_range(0.003..0.02)) as i64;
                    let seen = at + Duration::minutes(20 + 90 * i as i64);
                    pending.push((
                        seen,
                        EventInput {
                            event_id: format!("{slot}-{i}"),
                            decision_id: answer.decision_id,
                            views,
                            clicks,
                            at: seen,
                        },
                    ));
                }
            }
        }
        hour += Duration::hours(1);
        // Report what has been seen by now, oldest first, in batches.
        pending.sort_by_key(|(t, _)| *t);
        let due = pending.partition_point(|(t, _)| *t <= hour);
        let batch: Vec<EventInput> = pending.drain(..due).map(|(_, e)| e).collect();
        for chunk in batch.chunks(500) {
            let results = delivery::ingest(db, &engine, key.id, chunk, hour).await?;
            for r in results {
                if let delivery::EventResult::Accepted { posted } = r {
                    done.events += 1;
                    done.posted = Micros(done.posted.0 + posted.0);
                }
            }
        }
        sweep::release_expired(db, hour, 10_000).await?;
    }
    Ok(done)
}

/// A large top-up the demo's second finance user asked for, waiting for the demo finance
/// user's approval (the two-person rule has something to show).
pub async fn pending_top_up(
    db: &DatabaseConnection,
    owner_email: &str,
    requester_email: &str,
) -> Result<(), AppError> {
    let find = |email: &str| {
        app_user::Entity::find()
            .filter(app_user::Column::Email.eq(email.to_owned()))
            .one(db)
    };
    let owner = find(owner_email).await?.ok_or(AppError::NotFound)?;
    let requester = find(requester_email).await?.ok_or(AppError::NotFound)?;
    let account = account_member::Entity::find()
        .filter(account_member::Column::UserId.eq(owner.id))
        .one(db)
        .await?
        .map(|m| AccountId(m.account_id))
        .ok_or(AppError::NotFound)?;
    let actor = crate::service::auth::viewer(db, crate::model::UserId(requester.id), None)
        .await?
        .map(|v| crate::service::Actor::from_viewer(v, None))
        .ok_or(AppError::NotFound)?;
    let input = crate::model::CreditInput {
        account,
        amount: "25000".into(),
        reference: "DEMO-WIRE-0002".into(),
        note: "Demo: annual prepayment".into(),
    };
    finance::credit(db, &actor, input, Utc::now()).await?;
    Ok(())
}

async fn channels_by_id(
    db: &DatabaseConnection,
    wanted: &[(String, i64, f64)],
) -> Result<std::collections::HashMap<i64, String>, AppError> {
    use crate::entity::channel;
    let ids: Vec<i64> = wanted
        .iter()
        .filter_map(|(id, _, _)| id.parse().ok())
        .collect();
    Ok(channel::Entity::find()
        .filter(channel::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.handle))
        .collect())
}

/// A correction of the demo's largest charge and, when last month has charges, its largest
/// publisher payout marked paid — by the demo finance user, through finance's services — so
/// the corrections and payables pages and the statement have something to show.
pub async fn corrections_and_payouts(
    db: &DatabaseConnection,
    finance_email: &str,
) -> Result<(), AppError> {
    let user = app_user::Entity::find()
        .filter(app_user::Column::Email.eq(finance_email.to_owned()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let actor = crate::service::auth::viewer(db, crate::model::UserId(user.id), None)
        .await?
        .map(|v| crate::service::Actor::from_viewer(v, None))
        .ok_or(AppError::NotFound)?;
    let now = Utc::now();
    let largest = crate::entity::delivery_decision::Entity::find()
        .filter(crate::entity::delivery_decision::Column::Posted.gt(0))
        .order_by_desc(crate::entity::delivery_decision::Column::Posted)
        .one(db)
        .await?;
    if let Some(decision) = largest {
        let input = crate::model::CorrectionInput {
            scope: "decision".into(),
            decision: decision.id.to_string(),
            reason: "Demo: invalid traffic reported by the publisher".into(),
            ..Default::default()
        };
        finance::corrections::reverse(db, &actor, input, now).await?;
    }
    let last_month = (now.date_naive().with_day(1).unwrap_or_default() - Duration::days(1))
        .format("%Y-%m")
        .to_string();
    let owed = finance::payables::payables(db, &actor, &last_month, 1, now).await?;
    if let Some(row) = owed.rows.first().filter(|r| r.owed.0 > 0) {
        let input = crate::model::PayoutInput {
            channel: row.channel_id,
            currency: row.currency.clone(),
            month: last_month,
            reference: "DEMO-PAYOUT-0001".into(),
        };
        finance::payables::mark_paid(db, &actor, input, now).await?;
    }
    Ok(())
}
