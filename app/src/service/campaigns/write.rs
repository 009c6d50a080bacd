//! Changing campaigns (owners and managers): save from the builder, send for review, pause,
//! resume and archive through the lifecycle's one transition function, and clone. Each is one
//! transaction with its audit event.

use super::{find, lock, settings_of, targeting_of, to_json};
use crate::{
    entity::{ad, ad_version, campaign},
    error::{AppError, FieldErrors},
    model::{
        AccountId, AccountPermission, AdVersionStatus, AuditAction, CAMPAIGN_NAME_MAX,
        CampaignAction, CampaignEvent, CampaignForm, CampaignId, CampaignSettings, CampaignStatus,
        LOCAL_FORMAT, Micros, SaveOutcome, transition,
    },
    service::{
        Actor,
        account_time::AccountClock,
        ads,
        audit::{self, AuditEntry},
        forecast::{check_targeting, index::CatalogIndex},
        moderation, settings, spend,
    },
};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, Set, TransactionSession, TransactionTrait,
    sea_query::{Expr, Func},
};

/// What [`save`] would refuse, without writing anything: every check it makes of the form,
/// and that the total budget is not below what the campaign has spent (which `save` checks
/// again under the campaign's lock). The builder shows it after its plain form's save failed.
pub async fn check(
    db: &impl ConnectionTrait,
    index: &CatalogIndex,
    actor: &Actor,
    id: Option<CampaignId>,
    form: CampaignForm,
) -> Result<(), AppError> {
    let Checked {
        clock, settings, ..
    } = checked(db, index, actor, id, form).await?;
    if let Some(id) = id {
        let spent = spend::of_campaign(db, id).await?;
        over_spent(spent, settings.total_budget, &clock.currency)?;
    }
    Ok(())
}

/// A form that passed every check made before the transaction.
struct Checked {
    account: AccountId,
    clock: AccountClock,
    now: chrono::DateTime<Utc>,
    /// The campaign has started: it keeps its start.
    keeps_start: bool,
    settings: CampaignSettings,
}

async fn checked(
    db: &impl ConnectionTrait,
    index: &CatalogIndex,
    actor: &Actor,
    id: Option<CampaignId>,
    mut form: CampaignForm,
) -> Result<Checked, AppError> {
    let account = actor.account(db, AccountPermission::EditCampaigns).await?;
    form.check_sizes().into_result()?;
    let clock = AccountClock::load(db, account).await?;
    let limits = settings::load(db).await?.money;
    let now = Utc::now();
    let seen = match id {
        Some(id) => Some(find(db, account, id).await?),
        None => None,
    };
    if let Some(model) = &seen {
        ensure_editable(model)?;
    }
    // Once running, the start is history: keep it, and check the rest against now.
    let keeps_start = seen.as_ref().is_some_and(has_started);
    if keeps_start {
        form.start = String::new();
    }
    let settings = form
        .check(clock.local(now), limits, &clock.currency)
        .map_err(AppError::Invalid)?;
    check_targeting(index, &settings.targeting)?;
    Ok(Checked {
        account,
        clock,
        now,
        keeps_start,
        settings,
    })
}

/// Refuses a total budget below what the campaign has already spent.
fn over_spent(spent: Micros, total_budget: Micros, currency: &str) -> Result<(), AppError> {
    if total_budget < spent {
        return Err(AppError::field(
            "total_budget",
            format!(
                "{} is already spent: the total budget cannot be lower.",
                spent.display(currency)
            ),
        ));
    }
    Ok(())
}

/// Creates (`id` = `None`) or updates a campaign from the builder's form.
///
/// Every field is checked and each problem comes back beside its field; nothing is written
/// then. On a live campaign, money, dates and schedule take effect at once, but a targeting
/// change waits for review while the approved targeting keeps serving. A campaign that has
/// started keeps its start. Completed and archived campaigns are read-only.
pub async fn save<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    index: &CatalogIndex,
    actor: &Actor,
    id: Option<CampaignId>,
    form: CampaignForm,
) -> Result<SaveOutcome, AppError> {
    // The form is checked before the transaction, so the campaign's row lock (SQLite's write
    // lock) is held for the writes only, never while a client's input is walked. The status
    // the checks depended on is confirmed under the lock below.
    let Checked {
        account,
        clock,
        now,
        keeps_start,
        settings,
    } = checked(db, index, actor, id, form).await?;
    let txn = crate::service::sql::begin_write(db).await?;
    let existing = match id {
        Some(id) => Some(lock(&txn, account, id).await?),
        None => None,
    };
    if let Some(model) = &existing {
        ensure_editable(model)?;
        if has_started(model) != keeps_start {
            return Err(AppError::Conflict(
                "The campaign changed meanwhile: reload the page and try again.".into(),
            ));
        }
    }
    let kept_start = existing
        .as_ref()
        .filter(|_| keeps_start)
        .map(|m| m.start_at);
    // Spend moves with delivery: compared under the campaign's lock and its spend counter's
    // (which events post under, reading the budget after), with both as they are now.
    if let Some(model) = &existing {
        let spent = spend::of_campaign_locked(&txn, CampaignId(model.id)).await?;
        over_spent(spent, settings.total_budget, &clock.currency)?;
    }
    let start_at = match kept_start {
        Some(kept) => kept,
        None => settings.start.map(|local| clock.utc(local)),
    };
    let end_at = settings.end.map(|local| clock.utc(local));
    let schedule = settings.schedule.as_ref().map(to_json).transpose()?;
    let targeting = to_json(&settings.targeting)?;

    let (model, action, pending) = match existing {
        None => {
            let model = campaign::ActiveModel {
                account_id: Set(account.0),
                name: Set(settings.name.clone()),
                status: Set(CampaignStatus::Draft),
                targeting: Set(targeting),
                bid_micros: Set(settings.bid.0),
                total_budget_micros: Set(settings.total_budget.0),
                daily_budget_micros: Set(settings.daily_budget.map(|m| m.0)),
                start_at: Set(start_at),
                end_at: Set(end_at),
                schedule: Set(schedule),
                created_by: Set(actor.user_id.0),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            (model, AuditAction::CampaignCreated, false)
        }
        Some(before) => {
            let mut active = before.clone().into_active_model();
            let mut pending = false;
            if before.status.is_live() {
                if settings.targeting == targeting_of(&before.targeting)? {
                    active.pending_targeting = Set(None);
                    active.pending_since = Set(None);
                    if before.pending_targeting.is_some() {
                        moderation::intake::withdraw_targeting(&txn, before.id, now).await?;
                    }
                } else {
                    pending = true;
                    if before.pending_targeting.as_deref() != Some(targeting.as_str()) {
                        moderation::intake::enqueue_targeting(&txn, &before, &targeting, now)
                            .await?;
                        active.pending_targeting = Set(Some(targeting));
                        active.pending_since = Set(Some(now));
                    }
                }
            } else {
                if before.targeting != targeting {
                    moderation::intake::retarget(&txn, before.id, &targeting).await?;
                }
                active.targeting = Set(targeting);
            }
            active.name = Set(settings.name.clone());
            active.bid_micros = Set(settings.bid.0);
            active.total_budget_micros = Set(settings.total_budget.0);
            active.daily_budget_micros = Set(settings.daily_budget.map(|m| m.0));
            active.start_at = Set(start_at);
            active.end_at = Set(end_at);
            active.schedule = Set(schedule);
            active.updated_at = Set(now);
            (
                active.update(&txn).await?,
                AuditAction::CampaignUpdated,
                pending,
            )
        }
    };
    audit::record(
        &txn,
        AuditEntry::new(action, "campaign", model.id.to_string())
            .by(actor.user_id)
            .from_ip(actor.ip.clone())
            .detail(serde_json::json!({
                "account_id": account.0,
                "name": model.name,
                "status": model.status.code(),
                "bid_micros": model.bid_micros,
                "total_budget_micros": model.total_budget_micros,
                "daily_budget_micros": model.daily_budget_micros,
                "start_at": model.start_at,
                "end_at": model.end_at,
                "schedule_hours": settings.schedule.map(|s| s.hours()),
                "targeting": model.targeting,
                "pending_targeting": model.pending_targeting,
            })),
    )
    .await?;
    txn.commit().await?;
    Ok(SaveOutcome {
        id: CampaignId(model.id),
        targeting_in_review: pending,
    })
}

/// Refuses a change to a completed or archived campaign.
fn ensure_editable(model: &campaign::Model) -> Result<(), AppError> {
    if model.status.is_editable() {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "A {} campaign cannot be changed: clone it to run it again.",
            model.status.label().to_lowercase()
        )))
    }
}

/// Whether the campaign has started, so its start is history the builder cannot move.
fn has_started(model: &campaign::Model) -> bool {
    matches!(
        model.status,
        CampaignStatus::Running | CampaignStatus::Paused
    )
}

/// Sends every ad whose newest version is a draft to review and marks the campaign as asked
/// to launch. A draft campaign must still be valid (its start not passed) and have an ad.
pub async fn submit<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    id: CampaignId,
) -> Result<u64, AppError> {
    let account = actor.account(db, AccountPermission::EditCampaigns).await?;
    let txn = crate::service::sql::begin_write(db).await?;
    let model = lock(&txn, account, id).await?;
    ensure_launchable(&txn, &model).await?;
    let ads = ad::Entity::find()
        .filter(ad::Column::CampaignId.eq(model.id))
        .order_by_asc(ad::Column::Id)
        .all(&txn)
        .await?;
    if ads.is_empty() {
        return Err(AppError::field(
            "ads",
            "Write at least one ad before sending the campaign for review.",
        ));
    }
    let mut errors = FieldErrors::default();
    let mut drafts = Vec::new();
    for ad in &ads {
        let latest = ads::latest_version(&txn, ad.id).await?;
        if latest.status == AdVersionStatus::Draft {
            let problems = ads::input_of(ad, &latest).check_for_submit();
            // Every ad that is not ready is named, each with its first problem.
            if let Some((field, message)) = problems.0.into_iter().next() {
                errors.append(
                    "ads",
                    format!("Ad “{}” ({}): {message}", ad.title, field.replace('_', " ")),
                );
            }
            drafts.push((ad.clone(), latest));
        }
    }
    errors.into_result()?;
    if drafts.is_empty() {
        // A live campaign's targeting change is already waiting: nothing more to send.
        if model.pending_targeting.is_some() {
            return Ok(0);
        }
        return Err(AppError::Conflict(
            "Every ad has already been sent for review: edit an ad to send a new version.".into(),
        ));
    }
    let now = Utc::now();
    for (ad, version) in &drafts {
        ads::send_to_review(&txn, ad, version, now).await?;
    }
    if model.submitted_at.is_none() {
        let mut active = model.clone().into_active_model();
        active.submitted_at = Set(Some(now));
        active.updated_at = Set(now);
        active.update(&txn).await?;
    }
    audit::record(
        &txn,
        AuditEntry::new(AuditAction::CampaignSubmitted, "campaign", id.to_string())
            .by(actor.user_id)
            .from_ip(actor.ip.clone())
            .detail(serde_json::json!({
                "ad_versions": drafts.iter().map(|(_, v)| v.id).collect::<Vec<_>>(),
            })),
    )
    .await?;
    txn.commit().await?;
    Ok(drafts.len() as u64)
}

/// Refuses to send a campaign to review when it could not launch as saved: completed and
/// archived campaigns, and drafts that no longer pass the builder's checks (a start that has
/// passed, or money below limits an admin has raised since).
pub(crate) async fn ensure_launchable(
    db: &impl ConnectionTrait,
    model: &campaign::Model,
) -> Result<(), AppError> {
    if !model.status.is_editable() {
        return Err(AppError::Conflict(format!(
            "A {} campaign cannot be sent for review.",
            model.status.label().to_lowercase()
        )));
    }
    if model.status == CampaignStatus::Draft {
        let clock = AccountClock::load(db, AccountId(model.account_id)).await?;
        let limits = settings::load(db).await?.money;
        let mut form = CampaignForm::from_settings(&settings_of(model, &clock)?);
        // A start that passed a moment ago is not worth a refusal: it means "now".
        if model
            .start_at
            .is_some_and(|s| s >= Utc::now() - chrono::Duration::minutes(1))
        {
            form.start = String::new();
        }
        if let Err(mut errors) = form.check(clock.local(Utc::now()), limits, &clock.currency) {
            if let Some(message) = errors.0.remove("start") {
                errors.add(
                    "start",
                    format!(
                        "{message} Choose a new start, or leave it empty to start when approved."
                    ),
                );
            }
            return Err(AppError::Invalid(errors));
        }
    }
    Ok(())
}

/// Pauses, resumes or archives a campaign, through the lifecycle's transition function.
/// Returns the new status.
pub async fn act<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    id: CampaignId,
    action: CampaignAction,
) -> Result<CampaignStatus, AppError> {
    let account = actor.account(db, AccountPermission::EditCampaigns).await?;
    let txn = crate::service::sql::begin_write(db).await?;
    let model = lock(&txn, account, id).await?;
    let event = match action {
        CampaignAction::Pause => CampaignEvent::Pause,
        CampaignAction::Resume => CampaignEvent::Resume,
        CampaignAction::Archive => CampaignEvent::Archive,
    };
    let to = transition(model.status, event).map_err(|e| AppError::Conflict(e.message))?;
    change_status(&txn, &model, to, Some(actor), None).await?;
    txn.commit().await?;
    Ok(to)
}

/// Moves a campaign from its current status to `to` only if nobody moved it meanwhile, and
/// audits the change (by `actor`, or by the platform's clock when `None`).
pub(crate) async fn change_status(
    db: &impl ConnectionTrait,
    model: &campaign::Model,
    to: CampaignStatus,
    actor: Option<&Actor>,
    reason: Option<&str>,
) -> Result<(), AppError> {
    change_status_if(db, model, to, actor, reason, Condition::all()).await
}

/// [`change_status`], and only while the row also matches `still`: the reason for the change,
/// re-checked in the same UPDATE against the row as it is then (a Conflict otherwise).
pub(crate) async fn change_status_if(
    db: &impl ConnectionTrait,
    model: &campaign::Model,
    to: CampaignStatus,
    actor: Option<&Actor>,
    reason: Option<&str>,
    still: Condition,
) -> Result<(), AppError> {
    let now = Utc::now();
    let mut update = campaign::Entity::update_many()
        .col_expr(campaign::Column::Status, Expr::value(to))
        .col_expr(campaign::Column::UpdatedAt, Expr::value(now))
        .filter(campaign::Column::Id.eq(model.id))
        .filter(campaign::Column::Status.eq(model.status))
        .filter(still);
    // "As soon as approved" becomes a real start the moment it runs (a start set meanwhile
    // is kept).
    if to == CampaignStatus::Running && model.start_at.is_none() {
        update = update.col_expr(
            campaign::Column::StartAt,
            Func::coalesce([Expr::col(campaign::Column::StartAt), Expr::value(now)]).into(),
        );
    }
    if let Some(reason) = reason {
        update = update.col_expr(campaign::Column::CompletedReason, Expr::value(reason));
    }
    // A campaign that can no longer change drops a targeting change nobody approved.
    if !to.is_editable() {
        update = update
            .col_expr(
                campaign::Column::PendingTargeting,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                campaign::Column::PendingSince,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            );
    }
    if update.exec(db).await?.rows_affected != 1 {
        return Err(AppError::Conflict(
            "The campaign changed meanwhile: reload the page and try again.".into(),
        ));
    }
    // A campaign that can no longer change has nothing left to review.
    if !to.is_editable() {
        ads::withdraw_all(db, model.id, now).await?;
    }
    let mut entry = AuditEntry::new(
        AuditAction::CampaignStatusChanged,
        "campaign",
        model.id.to_string(),
    )
    .detail(serde_json::json!({
        "from": model.status.code(),
        "to": to.code(),
        "reason": reason,
    }));
    if let Some(actor) = actor {
        entry = entry.by(actor.user_id).from_ip(actor.ip.clone());
    }
    audit::record(db, entry).await
}

/// Copies a campaign (any status) into a new draft: targeting, money, schedule, future dates,
/// and each ad's newest copy as a first draft version.
pub async fn clone<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    id: CampaignId,
) -> Result<CampaignId, AppError> {
    let account = actor.account(db, AccountPermission::EditCampaigns).await?;
    let clock = AccountClock::load(db, account).await?;
    let txn = crate::service::sql::begin_write(db).await?;
    let source = find(&txn, account, id).await?;
    let settings = settings_of(&source, &clock)?;
    let now = Utc::now();
    let future = |at: Option<chrono::DateTime<Utc>>| at.filter(|at| *at > now);
    let start_at = future(source.start_at);
    let end_at = future(source.end_at).filter(|end| start_at.is_none_or(|start| *end > start));
    let name: String = format!("Copy of {}", source.name)
        .chars()
        .take(CAMPAIGN_NAME_MAX)
        .collect();
    let copy = campaign::ActiveModel {
        account_id: Set(account.0),
        name: Set(name),
        status: Set(CampaignStatus::Draft),
        targeting: Set(to_json(&settings.targeting)?),
        bid_micros: Set(source.bid_micros),
        total_budget_micros: Set(source.total_budget_micros),
        daily_budget_micros: Set(source.daily_budget_micros),
        start_at: Set(start_at),
        end_at: Set(end_at),
        schedule: Set(source.schedule.clone()),
        created_by: Set(actor.user_id.0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let ads = ad::Entity::find()
        .filter(ad::Column::CampaignId.eq(source.id))
        .order_by_asc(ad::Column::Id)
        .all(&txn)
        .await?;
    for original in &ads {
        let latest = ads::latest_version(&txn, original.id).await?;
        ads::insert_new(&txn, actor, &copy, &ads::input_of(original, &latest), now).await?;
    }
    audit::record(
        &txn,
        AuditEntry::new(AuditAction::CampaignCloned, "campaign", copy.id.to_string())
            .by(actor.user_id)
            .from_ip(actor.ip.clone())
            .detail(serde_json::json!({
                "source": source.id,
                "ads": ads.len(),
                "dates_kept": [start_at.is_some(), end_at.is_some()],
                "start_local": settings.start.map(|s| s.format(LOCAL_FORMAT).to_string()),
            })),
    )
    .await?;
    txn.commit().await?;
    Ok(CampaignId(copy.id))
}

/// The version ids waiting for review in a campaign (for tests and the moderation queue).
pub async fn versions_in_review(
    db: &impl ConnectionTrait,
    id: CampaignId,
) -> Result<Vec<i64>, AppError> {
    Ok(ad_version::Entity::find()
        .inner_join(ad::Entity)
        .filter(ad::Column::CampaignId.eq(id.0))
        .filter(ad_version::Column::Status.eq(AdVersionStatus::InReview))
        .order_by_asc(ad_version::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|v| v.id)
        .collect())
}
