//! Campaigns of the session's ad account: the list, the builder's data, and the conversions
//! between stored rows and the builder's settings. Writes live in `write`, the clock-driven
//! status changes in `clock`.

pub mod clock;
pub mod write;

use crate::{
    entity::campaign,
    error::{AppError, FieldErrors},
    model::{
        AccountId, AccountPermission, AdVersionStatus, BuilderAddress, CampaignBuilderData,
        CampaignFilter, CampaignForm, CampaignId, CampaignInfo, CampaignList, CampaignRow,
        CampaignSettings, CampaignSort, CampaignStatus, CompletionReason, Micros, Page, PostedForm,
        Schedule, Targeting, TargetingPageData,
    },
    service::{
        Actor, account_time::AccountClock, ads, catalog, forecast, forecast::ForecastEngine,
        moderation, paging, settings, sql::Sql,
    },
};
use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use std::collections::{HashMap, HashSet};
use validator::Validate;

/// The campaign `id` if it belongs to `account`; any other campaign is "not found".
pub(crate) async fn find(
    db: &impl ConnectionTrait,
    account: AccountId,
    id: CampaignId,
) -> Result<campaign::Model, AppError> {
    campaign::Entity::find_by_id(id.0)
        .filter(campaign::Column::AccountId.eq(account.0))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Locks the campaign `id` of `account` for the rest of the caller's transaction and reads it.
///
/// Call it as the transaction's first statement: a no-op write takes the row lock on
/// PostgreSQL and the write lock on SQLite before anything is read, so every change to one
/// campaign (its settings, status, ads and versions) is decided on the latest state, one
/// writer after another.
pub(crate) async fn lock(
    txn: &impl ConnectionTrait,
    account: AccountId,
    id: CampaignId,
) -> Result<campaign::Model, AppError> {
    let touched = campaign::Entity::update_many()
        .col_expr(
            campaign::Column::UpdatedAt,
            Expr::col(campaign::Column::UpdatedAt),
        )
        .filter(campaign::Column::Id.eq(id.0))
        .filter(campaign::Column::AccountId.eq(account.0))
        .exec(txn)
        .await?;
    if touched.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    find(txn, account, id).await
}

pub(crate) fn targeting_of(json: &str) -> Result<Targeting, AppError> {
    serde_json::from_str(json).map_err(|e| AppError::internal("stored targeting", e))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| AppError::internal("serialise", e))
}

/// A stored campaign as builder settings, times local to the account. The targeting is the
/// newest the advertiser asked for: a change waiting for review when there is one.
pub(crate) fn settings_of(
    model: &campaign::Model,
    clock: &AccountClock,
) -> Result<CampaignSettings, AppError> {
    let targeting = targeting_of(
        model
            .pending_targeting
            .as_deref()
            .unwrap_or(&model.targeting),
    )?;
    let schedule: Option<Schedule> = match &model.schedule {
        Some(json) => {
            Some(serde_json::from_str(json).map_err(|e| AppError::internal("stored schedule", e))?)
        }
        None => None,
    };
    Ok(CampaignSettings {
        name: model.name.clone(),
        targeting,
        bid: Micros(model.bid_micros),
        total_budget: Micros(model.total_budget_micros),
        daily_budget: model.daily_budget_micros.map(Micros),
        start: model.start_at.map(|at| clock.local(at)),
        end: model.end_at.map(|at| clock.local(at)),
        schedule,
    })
}

/// One page of the account's campaigns (owners, managers, analysts). Archived campaigns are
/// listed only when asked for by status.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &CampaignFilter,
) -> Result<CampaignList, AppError> {
    let account = actor.account(db, AccountPermission::ViewCampaigns).await?;
    filter.validate()?;
    let clock = AccountClock::of(db, actor, account).await?;
    let mut query = campaign::Entity::find().filter(campaign::Column::AccountId.eq(account.0));
    query = match CampaignStatus::from_code(&filter.status) {
        Some(status) => query.filter(campaign::Column::Status.eq(status)),
        None if filter.status == "all" => query,
        None => query.filter(campaign::Column::Status.ne(CampaignStatus::Archived)),
    };
    let search = filter.search.trim();
    if !search.is_empty() {
        query = query.filter(catalog::contains_text(
            db.get_database_backend(),
            campaign::Column::Name,
            search,
        ));
    }
    query = match filter.sort {
        CampaignSort::Newest => query.order_by_desc(campaign::Column::CreatedAt),
        CampaignSort::Name => query.order_by_asc(campaign::Column::Name),
        CampaignSort::Budget => query.order_by_desc(campaign::Column::TotalBudgetMicros),
        CampaignSort::Start => query.order_by_asc(campaign::Column::StartAt),
    }
    .order_by_desc(campaign::Column::Id);
    let (models, total, page) = paging::rows_and_total(db, query, filter.page).await?;
    let ids: Vec<CampaignId> = models.iter().map(|m| CampaignId(m.id)).collect();
    let (ad_counts, in_review) = ad_facts(db, &ids).await?;
    let mut delivery = crate::service::delivery::state::for_campaigns(
        db,
        &models,
        &clock.currency,
        clock.tz,
        Utc::now(),
    )
    .await?;
    let rows = models
        .into_iter()
        .map(|m| {
            let id = CampaignId(m.id);
            let delivery = delivery.remove(&m.id).unwrap_or_else(|| empty_delivery(&m));
            CampaignRow {
                id,
                name: m.name,
                status: m.status,
                in_review: in_review.contains(&id),
                targeting_pending: m.pending_targeting.is_some(),
                total_budget: Micros(m.total_budget_micros),
                daily_budget: m.daily_budget_micros.map(Micros),
                spent: delivery.spent,
                delivery,
                start: m.start_at.map(|at| clock.local(at)),
                end: m.end_at.map(|at| clock.local(at)),
                ads: ad_counts.get(&id).copied().unwrap_or(0),
                created_at: m.created_at,
            }
        })
        .collect();
    Ok(CampaignList {
        page: Page { rows, page, total },
        currency: clock.currency,
        time_zone: clock.time_zone,
        can_edit: actor.may(AccountPermission::EditCampaigns),
    })
}

/// A campaign nothing was delivered for.
fn empty_delivery(m: &campaign::Model) -> crate::model::CampaignDelivery {
    crate::model::CampaignDelivery {
        spent: Micros::ZERO,
        held: Micros::ZERO,
        budget_left: Micros(m.total_budget_micros),
        today: Micros::ZERO,
        can_commit: Micros::ZERO,
        largest_slot_views: 0,
        state: crate::model::DeliveryState::NotRunning,
    }
}

/// Ads per campaign, and the campaigns with a version waiting for review (one statement).
async fn ad_facts(
    db: &impl ConnectionTrait,
    ids: &[CampaignId],
) -> Result<(HashMap<CampaignId, u64>, HashSet<CampaignId>), AppError> {
    if ids.is_empty() {
        return Ok((HashMap::new(), HashSet::new()));
    }
    let backend = db.get_database_backend();
    let mut sql = Sql::new();
    let in_review = sql.bind(AdVersionStatus::InReview);
    let campaigns: Vec<String> = ids.iter().map(|c| sql.bind(c.0)).collect();
    sql.text = format!(
        "SELECT a.campaign_id, COUNT(*), \
         SUM(CASE WHEN EXISTS (SELECT 1 FROM ad_version v \
         WHERE v.ad_id = a.id AND v.status = {in_review}) THEN 1 ELSE 0 END) \
         FROM ad a WHERE a.campaign_id IN ({}) GROUP BY a.campaign_id",
        campaigns.join(", ")
    );
    let mut counts = HashMap::with_capacity(ids.len());
    let mut waiting = HashSet::new();
    for row in db.query_all_raw(sql.build(backend)).await? {
        let id = CampaignId(row.try_get_by_index::<i64>(0)?);
        counts.insert(
            id,
            u64::try_from(row.try_get_by_index::<i64>(1)?).unwrap_or(0),
        );
        if row.try_get_by_index::<i64>(2)? > 0 {
            waiting.insert(id);
        }
    }
    Ok((counts, waiting))
}

/// The builder's first render: the campaign as stored (or a blank one), the targeting
/// controls with the forecast of its targeting, and its ads. Reads through `db` (a request's
/// read connection, or any pool); `main` is the main pool the forecast keeps its competition
/// current with.
pub async fn builder(
    main: &sea_orm::DatabaseConnection,
    db: &impl ConnectionTrait,
    engine: &ForecastEngine,
    actor: &Actor,
    id: Option<CampaignId>,
    address: BuilderAddress,
) -> Result<CampaignBuilderData, AppError> {
    let account = actor.account(db, AccountPermission::ViewCampaigns).await?;
    let clock = AccountClock::of(db, actor, account).await?;
    let (campaign, form, ads, targeting_decisions) = match id {
        Some(id) => {
            let model = find(db, account, id).await?;
            let form = CampaignForm::from_settings(&settings_of(&model, &clock)?);
            let delivery = crate::service::delivery::state::for_campaigns(
                db,
                std::slice::from_ref(&model),
                &clock.currency,
                clock.tz,
                Utc::now(),
            )
            .await?
            .remove(&model.id)
            .unwrap_or_else(|| empty_delivery(&model));
            let ads = ads::details_for_campaign(db, id).await?;
            let info = CampaignInfo {
                id,
                status: model.status,
                submitted_at: model.submitted_at,
                completed_reason: model
                    .completed_reason
                    .as_deref()
                    .and_then(CompletionReason::from_code),
                serving_targeting: match &model.pending_targeting {
                    Some(_) => Some(targeting_of(&model.targeting)?),
                    None => None,
                },
                pending_since: model.pending_since,
                spent: delivery.spent,
                delivery,
                created_at: model.created_at,
                updated_at: model.updated_at,
            };
            let decisions = moderation::appeals::for_campaign_targeting(db, id).await?;
            (Some(info), form, ads, decisions)
        }
        None => (None, CampaignForm::default(), Vec::new(), Vec::new()),
    };
    // A form in the address (the plain form's submission) is shown instead of the stored one,
    // which stays the baseline of "unsaved changes".
    let posted = match address.form {
        Some(shown) => {
            shown.check_sizes().into_result()?;
            // Only for who may save: anyone else's check would only be refused (and the
            // refusal audited: a write on a read).
            let (errors, failure) = if address.check && actor.may(AccountPermission::EditCampaigns)
            {
                let index = engine.index();
                match write::check(db, &index, actor, id, shown.clone()).await {
                    Err(AppError::Invalid(errors)) => (errors, None),
                    Err(other) => (FieldErrors::default(), Some(other.to_string())),
                    Ok(()) => (
                        FieldErrors::default(),
                        Some(
                            "The campaign was not saved: it changed meanwhile. Save again.".into(),
                        ),
                    ),
                }
            } else {
                (FieldErrors::default(), None)
            };
            Some(PostedForm {
                form: shown,
                find: address.find.clone(),
                errors,
                failure,
            })
        }
        None => None,
    };
    let options = forecast::options(engine);
    // The running campaigns the forecast competes with carry the platform's limits, current
    // as of the one version check the forecast needs anyway. When they cannot be brought up
    // to date, only the forecast fails: the limits come from the settings and the form opens.
    let market = engine.market(main, db).await;
    let limits = match market.as_ref().ok().and_then(forecast::Market::limits) {
        Some(limits) => limits,
        None => settings::load(db).await?.money,
    };
    // A new campaign starts at the platform's minimum bid and total budget, so that a draft
    // saves with nothing but a name (the forecast then shows what that bid buys).
    let form = if campaign.is_none() {
        let mut blank = form;
        blank.targeting.bid = limits.min_cpm.to_decimal();
        blank.total_budget = limits.min_total_budget.to_decimal();
        blank
    } else {
        form
    };
    let shown = posted.as_ref().map_or(&form, |p| &p.form);
    let prediction = match (shown.targeting.parse(), market) {
        (Err(errors), _) => Err(AppError::Invalid(errors)),
        (Ok(_), Err(e)) => Err(e),
        (Ok(request), Ok(market)) => {
            forecast::forecast_in(main, db, engine, Some(market), &clock.currency, request).await
        }
    };
    let found = catalog::search_eligible(db, actor, address.find).await?;
    Ok(CampaignBuilderData {
        account: actor.membership.ok_or(AppError::NotFound)?.0,
        campaign,
        form,
        posted,
        targeting: TargetingPageData {
            options,
            forecast: prediction,
            found,
        },
        limits,
        now_local: clock.local(Utc::now()),
        currency: clock.currency,
        time_zone: clock.time_zone,
        ads,
        targeting_decisions,
        can_edit: actor.may(AccountPermission::EditCampaigns),
    })
}
