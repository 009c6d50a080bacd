//! The dashboard's figures, each part only for those whose role allows it: the current
//! account's live campaigns (campaign roles), its balance and runway (money roles), its items
//! in review; the platform's review queue (moderators); accounts running out of money
//! (finance). Every list is bounded; spend comes from the counters and rollups, never events.

use crate::{
    entity::{
        account_top_up, ad_account, campaign, correction_request, finance_request, ledger_account,
        payout_request, review_task,
    },
    error::AppError,
    model::{
        AccountGlance, AccountId, AccountPermission, AccountRole, AdId, BANK_DETAILS_CHANGE_DAYS,
        Balance, CampaignId, CampaignStatus, DASHBOARD_CAMPAIGNS, DASHBOARD_DECISIONS, Dashboard,
        DecidedAd, DecisionRow, FinanceGlance, FinanceRequestStatus, LedgerKind, LiveCampaignRow,
        LiveCampaigns, Micros, MoneyGlance, PlatformRole, ReviewGlance, ReviewKind,
        SPEND_RATE_DAYS, TaskState, Verdict,
    },
    service::{
        Actor,
        account_time::AccountClock,
        delivery::state::for_campaigns,
        ledger,
        reports::query::{self, Scope},
        settings,
        sql::Sql,
    },
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use std::collections::HashMap;

/// Running campaigns read for the dashboard (the largest spenders of these are listed).
const MAX_RUNNING: u64 = 500;

/// The dashboard of whoever asks, at `now`.
pub async fn dashboard(
    db: &impl ConnectionTrait,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Dashboard, AppError> {
    let mut out = Dashboard::default();
    if let Some((account, role)) = actor.membership {
        // The card, the balance and the review counts: one statement, each part kept only for
        // the roles that may see it.
        let AccountRead {
            glance,
            balance,
            review,
        } = account_read(db, account, role).await?;
        let clock = AccountClock::new(account, glance.currency.clone(), glance.time_zone.clone());
        out.account = actor.may(AccountPermission::ViewAccount).then_some(glance);
        if actor.may(AccountPermission::ViewCampaigns) {
            out.live = Some(live(db, account.0, &clock, now).await?);
            let mut glance = review;
            glance.recent = decisions(db, Some(account.0)).await?;
            out.own_review = Some(glance);
        }
        if actor.may(AccountPermission::ViewBilling) {
            // Running campaigns already counted are something to deliver: no second count.
            let delivering = out.live.as_ref().is_some_and(|l| l.running > 0);
            out.money = Some(money(db, account.0, balance, &clock, now, delivering).await?);
        }
    }
    if actor.staff_roles.contains(&PlatformRole::Moderator) {
        let mut glance = review_glance(db).await?;
        glance.recent = decisions(db, None).await?;
        out.moderation = Some(glance);
    }
    if actor.staff_roles.contains(&PlatformRole::Finance) {
        out.finance = Some(finance(db, actor.user_id.0, now).await?);
    }
    Ok(out)
}

/// What the dashboard reads of the current account in one statement.
struct AccountRead {
    glance: AccountGlance,
    balance: Balance,
    review: ReviewGlance,
}

/// The current account's card (its facts and how many members it has), its balance figures
/// and its open review items: one statement, as each is one row's subqueries of the account.
async fn account_read(
    db: &impl ConnectionTrait,
    account: AccountId,
    my_role: AccountRole,
) -> Result<AccountRead, AppError> {
    let mut sql = Sql::new();
    let balance = ledger::balance::summary_columns(&mut sql);
    let open = sql.bind(TaskState::Open.code());
    let id = sql.bind(account.0);
    let task = |more: &str| {
        format!("FROM review_task t WHERE t.state = {open} AND t.account_id = a.id{more}")
    };
    sql.text = format!(
        "SELECT a.name, a.time_zone, a.created_at, \
           (SELECT COUNT(*) FROM account_member m WHERE m.account_id = a.id) AS members, \
           (SELECT COUNT(*) {}) AS waiting, \
           (SELECT COUNT(*) {}) AS appeals, \
           (SELECT MIN(t.submitted_at) {}) AS oldest, \
           {balance} \
         FROM ad_account a WHERE a.id = {id}",
        task(" AND t.appeal_id IS NULL"),
        task(" AND t.appeal_id IS NOT NULL"),
        task(""),
    );
    let row = db
        .query_one_raw(sql.build(db.get_database_backend()))
        .await?
        .ok_or(AppError::NotFound)?;
    let balance = ledger::balance::summary_of_row(&row)?;
    let count = |column: &str| -> Result<u64, AppError> {
        Ok(u64::try_from(row.try_get::<i64>("", column)?).unwrap_or(0))
    };
    Ok(AccountRead {
        glance: AccountGlance {
            name: row.try_get("", "name")?,
            my_role,
            currency: balance.currency.clone(),
            time_zone: row.try_get("", "time_zone")?,
            members: count("members")?,
            created_at: row.try_get("", "created_at")?,
        },
        review: ReviewGlance {
            waiting: count("waiting")?,
            appeals: count("appeals")?,
            oldest: row.try_get("", "oldest")?,
            recent: Vec::new(),
        },
        balance,
    })
}

async fn live(
    db: &impl ConnectionTrait,
    account: i64,
    clock: &AccountClock,
    now: DateTime<Utc>,
) -> Result<LiveCampaigns, AppError> {
    let running = campaign::Entity::find()
        .filter(campaign::Column::AccountId.eq(account))
        .filter(campaign::Column::Status.eq(CampaignStatus::Running))
        .order_by_asc(campaign::Column::Id)
        .limit(MAX_RUNNING)
        .all(db)
        .await?;
    // Fewer than the limit read is all of them: count only past it.
    let count = if (running.len() as u64) < MAX_RUNNING {
        running.len() as u64
    } else {
        campaign::Entity::find()
            .filter(campaign::Column::AccountId.eq(account))
            .filter(campaign::Column::Status.eq(CampaignStatus::Running))
            .count(db)
            .await?
    };
    let delivery = for_campaigns(db, &running, &clock.currency, clock.tz, now).await?;
    let mut rows: Vec<LiveCampaignRow> = running
        .iter()
        .filter_map(|c| {
            let d = delivery.get(&c.id)?;
            Some(LiveCampaignRow {
                id: CampaignId(c.id),
                name: c.name.clone(),
                today: d.today,
                allowance: c.daily_budget_micros.map(Micros),
                budget_left: d.budget_left,
                state: d.state,
            })
        })
        .collect();
    let today = Micros(rows.iter().map(|r| r.today.0).sum());
    rows.sort_by(|a, b| b.today.cmp(&a.today).then(a.id.0.cmp(&b.id.0)));
    rows.truncate(DASHBOARD_CAMPAIGNS);
    Ok(LiveCampaigns {
        currency: clock.currency.clone(),
        rows,
        running: count,
        today,
    })
}

/// What `account` spent a day over the last [`SPEND_RATE_DAYS`] full local days, and the
/// whole days `available` lasts at that rate (`None` when it spends nothing).
pub async fn spend_rate(
    db: &impl ConnectionTrait,
    account: i64,
    clock: &AccountClock,
    available: Micros,
    now: DateTime<Utc>,
) -> Result<(Micros, Option<i64>), AppError> {
    // The last full days (today is not over): yesterday and the days before it.
    let yesterday = clock.local(now).date() - Duration::days(1);
    let from = yesterday - Duration::days(SPEND_RATE_DAYS - 1);
    let scope = Scope {
        account,
        campaign: None,
        ad: None,
    };
    let spent = query::totals(db, &scope, from, yesterday).await?.spend;
    let daily_rate = Micros(spent.0 / SPEND_RATE_DAYS);
    let days_left = (daily_rate.0 > 0).then(|| available.0.max(0) / daily_rate.0);
    Ok((daily_rate, days_left))
}

async fn money(
    db: &impl ConnectionTrait,
    account: i64,
    balance: Balance,
    clock: &AccountClock,
    now: DateTime<Utc>,
    running: bool,
) -> Result<MoneyGlance, AppError> {
    let (daily_rate, days_left) = spend_rate(db, account, clock, balance.available, now).await?;
    // "Out of funds" matters to an account with something to deliver.
    let delivering = running
        || campaign::Entity::find()
            .filter(campaign::Column::AccountId.eq(account))
            .filter(
                campaign::Column::Status
                    .is_in([CampaignStatus::Running, CampaignStatus::Scheduled]),
            )
            .count(db)
            .await?
            > 0;
    Ok(MoneyGlance {
        currency: balance.currency,
        available: balance.available,
        held: balance.held,
        daily_rate,
        days_left,
        low_balance: (balance.out_of_funds && delivering)
            || balance.low_balance.is_some_and(|t| balance.available < t),
        below_alert: balance.low_balance.filter(|t| balance.available < *t),
    })
}

/// The platform's open review items (an account's come with its card, [`account_read`]).
async fn review_glance(db: &impl ConnectionTrait) -> Result<ReviewGlance, AppError> {
    // One read: both counts and the oldest submission.
    let (waiting, appeals, oldest) = review_task::Entity::find()
        .filter(review_task::Column::State.eq(TaskState::Open))
        .select_only()
        .column_as(
            Expr::cust("CAST(SUM(CASE WHEN appeal_id IS NULL THEN 1 ELSE 0 END) AS BIGINT)"),
            "waiting",
        )
        .column_as(
            Expr::cust("CAST(SUM(CASE WHEN appeal_id IS NULL THEN 0 ELSE 1 END) AS BIGINT)"),
            "appeals",
        )
        .column_as(Expr::cust("MIN(submitted_at)"), "oldest")
        .into_tuple::<(Option<i64>, Option<i64>, Option<DateTime<Utc>>)>()
        .one(db)
        .await?
        .unwrap_or_default();
    Ok(ReviewGlance {
        waiting: waiting.unwrap_or(0).max(0) as u64,
        appeals: appeals.unwrap_or(0).max(0) as u64,
        oldest,
        recent: Vec::new(),
    })
}

/// A decision as the dashboard lists it, with the names of its campaign and account.
#[derive(FromQueryResult)]
struct DecisionLine {
    decided_at: DateTime<Utc>,
    campaign_id: i64,
    ad_version_id: Option<i64>,
    outcome: Verdict,
    is_appeal: bool,
    campaign_name: Option<String>,
    account_name: Option<String>,
    ad_id: Option<i64>,
    ad_title: Option<String>,
    version: Option<i32>,
}

/// The latest review decisions, of one account or of the platform, with the names of their
/// campaigns and accounts (one statement).
async fn decisions(
    db: &impl ConnectionTrait,
    account: Option<i64>,
) -> Result<Vec<DecisionRow>, AppError> {
    let mut sql = Sql::new();
    let only = account.map(|a| format!("WHERE d.account_id = {}", sql.bind(a)));
    sql.text = format!(
        "SELECT d.decided_at, d.campaign_id, d.ad_version_id, d.outcome, d.is_appeal, \
         c.name AS campaign_name, a.name AS account_name, v.ad_id, ad.title AS ad_title, \
         v.number AS version \
         FROM review_decision d \
         LEFT JOIN campaign c ON c.id = d.campaign_id \
         LEFT JOIN ad_account a ON a.id = d.account_id \
         LEFT JOIN ad_version v ON v.id = d.ad_version_id \
         LEFT JOIN ad ON ad.id = v.ad_id \
         {} ORDER BY d.decided_at DESC, d.id DESC LIMIT {DASHBOARD_DECISIONS}",
        only.unwrap_or_default()
    );
    let lines = DecisionLine::find_by_statement(sql.build(db.get_database_backend()))
        .all(db)
        .await?;
    Ok(lines
        .into_iter()
        .map(|d| DecisionRow {
            decided_at: d.decided_at,
            campaign: CampaignId(d.campaign_id),
            campaign_name: d.campaign_name.unwrap_or_default(),
            // An account's own dashboard does not name the account on every row.
            account_name: d.account_name.filter(|_| account.is_none()),
            kind: ReviewKind::of(d.ad_version_id),
            ad: match (d.ad_id, d.ad_title, d.version) {
                (Some(id), Some(title), Some(version)) => Some(DecidedAd {
                    id: AdId(id),
                    title,
                    version,
                }),
                _ => None,
            },
            outcome: d.outcome,
            appeal: d.is_appeal,
        })
        .collect())
}

/// Accounts running out of money, and the credits of the last week.
async fn finance(
    db: &impl ConnectionTrait,
    viewer: i64,
    now: DateTime<Utc>,
) -> Result<FinanceGlance, AppError> {
    let floor = settings::load(db).await?.money.min_cpm;
    let balances = ledger_account::Entity::find()
        .filter(ledger_account::Column::Kind.eq(LedgerKind::AccountBalance.code()))
        .filter(ledger_account::Column::Balance.lt(floor.0))
        .count(db)
        .await?;
    let thresholds: Vec<(i64, i64)> = ad_account::Entity::find()
        .select_only()
        .column(ad_account::Column::Id)
        .column(ad_account::Column::LowBalanceMicros)
        .filter(ad_account::Column::LowBalanceMicros.is_not_null())
        .into_tuple::<(i64, Option<i64>)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(id, t)| t.map(|t| (id, t)))
        .collect();
    let mut low = 0;
    for chunk in thresholds.chunks(500) {
        let owners: HashMap<i64, i64> = chunk.iter().copied().collect();
        for a in ledger_account::Entity::find()
            .filter(ledger_account::Column::Kind.eq(LedgerKind::AccountBalance.code()))
            .filter(ledger_account::Column::OwnerId.is_in(owners.keys().copied()))
            .all(db)
            .await?
        {
            if a.balance >= floor.0 && owners.get(&a.owner_id).is_some_and(|t| a.balance < *t) {
                low += 1;
            }
        }
    }
    let recent_credits = account_top_up::Entity::find()
        .filter(account_top_up::Column::CreatedAt.gte(now - Duration::days(7)))
        .count(db)
        .await?;
    // Not those for an account the viewer belongs to: another finance person decides them.
    let own_accounts = sea_orm::sea_query::Query::select()
        .column(crate::entity::account_member::Column::AccountId)
        .from(crate::entity::account_member::Entity)
        .and_where(crate::entity::account_member::Column::UserId.eq(viewer))
        .to_owned();
    let awaiting_you = finance_request::Entity::find()
        .filter(finance_request::Column::Status.eq(FinanceRequestStatus::Pending.code()))
        .filter(finance_request::Column::RequestedBy.ne(viewer))
        .filter(finance_request::Column::AccountId.not_in_subquery(own_accounts))
        .count(db)
        .await?;
    let corrections_awaiting_you = correction_request::Entity::find()
        .filter(correction_request::Column::Status.eq(FinanceRequestStatus::Pending.code()))
        .filter(correction_request::Column::RequestedBy.ne(viewer))
        .count(db)
        .await?;
    let payouts_awaiting_you = payout_request::Entity::find()
        .filter(payout_request::Column::Status.eq(FinanceRequestStatus::Pending.code()))
        .filter(payout_request::Column::RequestedBy.ne(viewer))
        .count(db)
        .await?;
    let bank_details_changed =
        settings::bank_details_changed_since(db, now - Duration::days(BANK_DETAILS_CHANGE_DAYS))
            .await?;
    Ok(FinanceGlance {
        bank_details_changed,
        out_of_funds: balances,
        low,
        recent_credits,
        awaiting_you,
        corrections_awaiting_you,
        payouts_awaiting_you,
    })
}
