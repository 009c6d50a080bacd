//! Demo delivery history: a credited balance and a few days of decisions, views and clicks for
//! the demo campaigns, produced by the real services (finance, decide, ingest, the hold sweep)
//! under a simulated clock — never rows written by hand — so every page that shows money has
//! something to show on first start.

use crate::{
    entity::{app_user, campaign},
    error::AppError,
    model::{AccountPermission, Micros},
    service::{
        Actor,
        delivery::{self, Decided, DeliveryEngine, EventInput, keys, sweep},
        finance,
    },
};
use chrono::{DateTime, Datelike, Duration, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};

/// The demo account's low-balance threshold (its currency's units).
const LOW_BALANCE: &str = "990";

/// What the history produced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DemoHistory {
    pub decisions: u64,
    pub events: u64,
    pub posted: Micros,
}

/// Credits the account of `owner_email` with `credit`, sets its low-balance threshold, and
/// simulates delivery for up to 150 matching channels over the `days` days ending now and
/// one day in the middle of last month.
pub async fn create(
    db: &DatabaseConnection,
    owner_email: &str,
    finance_email: &str,
    credit: Micros,
    days: i64,
    seed: u64,
) -> Result<DemoHistory, AppError> {
    let now = Utc::now();
    let recent = now - Duration::days(days);
    // And one day in the middle of last month, settled long since: that month's statement has
    // spend and its publisher payouts can be marked paid, whatever today's date.
    let first_of_month = now.date_naive().with_day(1).unwrap_or_default();
    let earlier = (first_of_month - Duration::days(20))
        .and_hms_opt(6, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let windows = [
        (earlier, earlier + Duration::days(1)),
        (recent, now - Duration::hours(1)),
    ];
    let start = earlier;
    let owner = actor_of(db, owner_email).await?;
    let finance_user = actor_of(db, finance_email).await?;
    let account = owner.account(db, AccountPermission::ViewBilling).await?;
    finance::credit_account(
        db,
        account,
        credit,
        "DEMO-WIRE-0001",
        "Demo: opening balance",
        finance_user.user_id.0,
        None,
        start,
    )
    .await?;
    // The demo campaigns were approved a moment ago; the history has them start before its
    // first window. Their start (and creation) is the only thing changed by hand: every money
    // row below comes from the services.
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
    // The owner's low-balance warning, crossed as the history spends (a notification to the
    // owner and the billing member, and the dashboard's warning).
    crate::service::ledger::balance::set_low_balance(db, &owner, LOW_BALANCE).await?;
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
    let mut traffic = Traffic {
        db,
        engine: &engine,
        key: key.id,
        channels: handles
            .into_iter()
            .filter_map(|(id, avg_views, posts_per_day)| {
                let handle = by_id.get(&id.parse::<i64>().ok()?)?.clone();
                Some((id, handle, avg_views, posts_per_day))
            })
            .collect(),
        rng: StdRng::seed_from_u64(seed),
        done: DemoHistory::default(),
        pending: Vec::new(),
    };
    for (from, to) in windows {
        let mut hour = from;
        // Posts until the window ends, then the views still to come reported.
        while hour < to || !traffic.pending.is_empty() {
            if hour < to {
                traffic.posts(hour).await?;
            }
            hour += Duration::hours(1);
            if hour > now {
                // The last views of the recent window are still to come.
                break;
            }
            traffic.report(hour).await?;
            while sweep::release_expired(db, hour, 10_000).await?.more {}
        }
        // Holds of an earlier window run out before the next begins.
        let expired = hour + Duration::days(1) + Duration::minutes(5);
        if expired < now {
            while sweep::release_expired(db, expired, 10_000).await?.more {}
        }
    }
    Ok(traffic.done)
}

/// The simulated network: the channels it posts in (id, handle, average views, posts a day)
/// and the view reports not yet sent.
struct Traffic<'a> {
    db: &'a DatabaseConnection,
    engine: &'a DeliveryEngine,
    key: i64,
    channels: Vec<(String, String, i64, f64)>,
    rng: StdRng,
    done: DemoHistory,
    pending: Vec<(DateTime<Utc>, EventInput)>,
}

impl Traffic<'_> {
    /// An hour of posts, each channel at its rate: each post asks for an ad, in the order of
    /// the minutes they are made at (so the ledger's history, in the order it was written, reads
    /// in time order too), and a won slot's views arrive over the next hours, around the
    /// channel's average.
    async fn posts(&mut self, hour: DateTime<Utc>) -> Result<(), AppError> {
        let mut posts = Vec::new();
        for channel in &self.channels {
            if self.rng.random_bool((channel.3 / 24.0).clamp(0.0, 1.0)) {
                posts.push((
                    hour + Duration::minutes(self.rng.random_range(0..60)),
                    channel,
                ));
            }
        }
        posts.sort_by_key(|(at, _)| *at);
        for (at, (id, handle, avg_views, _)) in posts {
            let slot = format!("demo-{id}-{}", at.timestamp());
            let Decided::Ad(answer) =
                delivery::decide(self.db, self.engine, self.key, handle, &slot, at).await?
            else {
                continue;
            };
            self.done.decisions += 1;
            let total = (*avg_views as f64 * self.rng.random_range(0.6..1.2)) as i64;
            for (i, share) in [0.55, 0.3, 0.15].into_iter().enumerate() {
                let views = (total as f64 * share) as i64;
                if views == 0 {
                    continue;
                }
                let clicks = (views as f64 * self.rng.random_range(0.003..0.02)) as i64;
                let seen = at + Duration::minutes(20 + 90 * i as i64);
                self.pending.push((
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
        Ok(())
    }

    /// Reports what has been seen by `hour`, oldest first, in batches.
    async fn report(&mut self, hour: DateTime<Utc>) -> Result<(), AppError> {
        self.pending.sort_by_key(|(t, _)| *t);
        let due = self.pending.partition_point(|(t, _)| *t <= hour);
        let batch: Vec<EventInput> = self.pending.drain(..due).map(|(_, e)| e).collect();
        for chunk in batch.chunks(500) {
            let results = delivery::ingest(self.db, self.engine, self.key, chunk, hour).await?;
            for r in results {
                if let delivery::EventResult::Accepted { posted } = r {
                    self.done.events += 1;
                    self.done.posted = Micros(self.done.posted.0 + posted.0);
                }
            }
        }
        Ok(())
    }
}

/// A large top-up the demo's second finance user asked for, waiting for the demo finance
/// user's approval (the two-person rule has something to show).
pub async fn pending_top_up(
    db: &DatabaseConnection,
    owner_email: &str,
    requester_email: &str,
) -> Result<(), AppError> {
    let owner = actor_of(db, owner_email).await?;
    let actor = actor_of(db, requester_email).await?;
    let input = crate::model::CreditInput {
        account: owner.account(db, AccountPermission::ViewBilling).await?,
        amount: "25000".into(),
        reference: "DEMO-WIRE-0002".into(),
        note: "Demo: annual prepayment".into(),
    };
    finance::credit(db, &actor, input, Utc::now()).await?;
    Ok(())
}

/// The demo user who signs in with `email`, acting in their first account.
async fn actor_of(db: &DatabaseConnection, email: &str) -> Result<Actor, AppError> {
    let user = app_user::Entity::find()
        .filter(app_user::Column::Email.eq(email.to_owned()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::service::auth::viewer(db, crate::model::UserId(user.id), None)
        .await?
        .map(|v| Actor::from_viewer(v, None))
        .ok_or(AppError::NotFound)
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

/// Finance's work on the demo history, through finance's services: a correction of the
/// largest charge, a correction of a channel's day that the demo's second finance user asked
/// the demo finance user to approve, a refund, and a publisher's payout for last month marked
/// paid — so the corrections, payables and statement pages have something to show. And the
/// advertiser's share link to a campaign's report.
pub async fn finance_work(
    db: &DatabaseConnection,
    owner_email: &str,
    finance_email: &str,
    approver_email: &str,
) -> Result<(), AppError> {
    let (owner, finance_user, approver) = (
        actor_of(db, owner_email).await?,
        actor_of(db, finance_email).await?,
        actor_of(db, approver_email).await?,
    );
    let now = Utc::now();
    let by_charge = crate::entity::delivery_decision::Entity::find()
        .filter(crate::entity::delivery_decision::Column::Posted.gt(0))
        .order_by_desc(crate::entity::delivery_decision::Column::Posted)
        .order_by_asc(crate::entity::delivery_decision::Column::Id);
    if let Some(decision) = by_charge.clone().one(db).await? {
        let input = crate::model::CorrectionInput {
            scope: "decision".into(),
            decision: decision.id.to_string(),
            reason: "Demo: invalid traffic reported by the publisher".into(),
            ..Default::default()
        };
        finance::corrections::reverse(db, &finance_user, input, now).await?;
    }
    // The second largest charge's channel, that day: small, but its requester wants a second
    // pair of eyes on it. (Its channel's month is not paid below: that would refuse it.)
    let mut waiting_channel = None;
    if let Some(decision) = by_charge.offset(1).one(db).await? {
        waiting_channel = Some(decision.channel_id);
        let channel = crate::entity::channel::Entity::find_by_id(decision.channel_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        let day = decision.created_at.date_naive().to_string();
        let input = crate::model::CorrectionInput {
            scope: "channel".into(),
            channel: channel.handle,
            from: day.clone(),
            to: day,
            reason: "Demo: the publisher's audit found bot views that day".into(),
            ask_approval: true,
            ..Default::default()
        };
        finance::corrections::reverse(db, &approver, input, now).await?;
    }
    let account = owner.account(db, AccountPermission::ViewBilling).await?;
    // Returned against the account's latest transfer in, as every refund is.
    let source = crate::entity::account_top_up::Entity::find()
        .filter(crate::entity::account_top_up::Column::AccountId.eq(account.0))
        .order_by_desc(crate::entity::account_top_up::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("demo", "the demo account has no top-up"))?;
    let refund = crate::model::RefundInput {
        account,
        top_up: source.id.to_string(),
        amount: "50".into(),
        reference: "DEMO-REFUND-0001".into(),
        reason: "Demo: part of the prepayment returned at the advertiser's request".into(),
    };
    finance::requests::refund(db, &finance_user, refund, now).await?;
    // Last month's largest payable that can be paid now (one whose slots have all settled).
    let last_month = (now.date_naive().with_day(1).unwrap_or_default() - Duration::days(1))
        .format("%Y-%m")
        .to_string();
    let owed = finance::payables::payables(db, &finance_user, &last_month, 20, now).await?;
    let payable = owed
        .rows
        .iter()
        .filter(|r| r.owed.0 > 0 && Some(r.channel_id) != waiting_channel);
    // The first paid by finance alone; the next marked paid by the approver, who asks for a
    // second person: it waits for finance's approval, as a large payout would.
    let mut marks = [
        (&finance_user, "DEMO-PAYOUT-0001", false),
        (&approver, "DEMO-PAYOUT-0002", true),
    ]
    .into_iter();
    let mut mark = marks.next();
    for row in payable {
        let Some((by, reference, ask_approval)) = mark else {
            break;
        };
        let input = crate::model::PayoutInput {
            channel: row.channel_id,
            currency: row.currency.clone(),
            month: last_month.clone(),
            reference: reference.into(),
            ask_approval,
        };
        match finance::payables::mark_paid(db, by, input, now).await {
            Ok(_) => mark = marks.next(),
            // Not payable yet (the month's last slots still open): try the next.
            Err(AppError::Invalid(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    let running = campaign::Entity::find()
        .filter(campaign::Column::Status.eq(crate::model::CampaignStatus::Running))
        .order_by_asc(campaign::Column::Id)
        .one(db)
        .await?;
    if let Some(running) = running {
        let link = crate::model::ShareLinkInput {
            campaign: crate::model::CampaignId(running.id),
            label: "Weekly review with our agency".into(),
            days: "30".into(),
        };
        crate::service::reports::share::create(db, &owner, &link, now).await?;
    }
    Ok(())
}
