//! Ad accounts as their members see and edit them.

use crate::{
    entity::{account_member, ad_account, app_user},
    error::AppError,
    model::{
        AccountDetails, AccountId, AccountPermission, AccountRole, AccountSettingsInput,
        AuditAction, Member, UserId,
    },
    service::{
        Actor,
        audit::{self, AuditEntry},
        ledger,
        sql::{self, Sql},
    },
};
use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, Set, TransactionSession, TransactionTrait,
};
use validator::Validate;

/// The actor's current account with its members.
pub async fn details(db: &impl ConnectionTrait, actor: &Actor) -> Result<AccountDetails, AppError> {
    let account_id = actor.account(db, AccountPermission::ViewAccount).await?;
    let account = find(db, account_id).await?;
    let members: Vec<Member> = account_member::Entity::find()
        .filter(account_member::Column::AccountId.eq(account_id.0))
        .find_also_related(app_user::Entity)
        .order_by_asc(account_member::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(member, user)| {
            user.map(|user| Member {
                user_id: UserId(user.id),
                email: user.email,
                role: member.role,
                joined_at: member.created_at,
            })
        })
        .collect();
    let my_role = actor
        .membership
        .map(|(_, role)| role)
        .ok_or(AppError::NotFound)?;
    // Billing members see money, not the team: only the owners (whom they answer to) and
    // themselves.
    let members = if my_role == AccountRole::Billing {
        members
            .into_iter()
            .filter(|m| m.role == AccountRole::Owner || m.user_id == actor.user_id)
            .collect()
    } else {
        members
    };
    Ok(AccountDetails {
        id: account_id,
        name: account.name,
        currency: account.currency,
        time_zone: account.time_zone,
        created_at: account.created_at,
        my_role,
        members,
    })
}

/// Renames the account or changes its time zone (owners only); audited with before and after.
/// A time zone that is already a day ahead carries today's spend into that day (see
/// [`carry_day_spend`]), in the same transaction.
pub async fn update_settings<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    input: AccountSettingsInput,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    input.validate()?;
    let account_id = actor.account(db, AccountPermission::ManageAccount).await?;
    // It may write spend counters that decisions write too: the write lock at once on SQLite.
    let txn = sql::begin_write(db).await?;
    let before = find(&txn, account_id).await?;
    let moved = before.time_zone != input.time_zone;
    if moved {
        let zone = |name: &str| name.parse::<Tz>().unwrap_or(Tz::UTC);
        let (old, new) = (zone(&before.time_zone), zone(&input.time_zone));
        carry_day_spend(
            &txn,
            account_id,
            now.with_timezone(&old),
            now.with_timezone(&new),
        )
        .await?;
    }
    let after = input.name.trim().to_owned();
    let mut active = before.clone().into_active_model();
    active.name = Set(after.clone());
    active.time_zone = Set(input.time_zone.clone());
    active.update(&txn).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            AuditAction::AccountUpdated,
            "account",
            account_id.to_string(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone())
        .detail(serde_json::json!({
            "before": { "name": before.name, "time_zone": before.time_zone },
            "after": { "name": after, "time_zone": input.time_zone },
        })),
    )
    .await?;
    txn.commit().await?;
    if moved {
        // Decisions keep the spend counters they wrote: they read them again.
        ledger::note_outside_change();
    }
    Ok(())
}

/// Daily budgets count spend per local day of the account. When a new time zone is already on
/// a later date than the old one (UTC to Asia/Tokyo in the evening), that date would start
/// with nothing spent, and a campaign could spend a second day's budget within the same
/// hours. So each campaign's spend of the old zone's today is carried into the new zone's
/// today (never lowering what is there), with the pacing hour restarted from it. A zone on an
/// earlier date needs nothing: that date's spend is already counted, and today's goes on
/// adding to it — at worst a campaign spends less that day, never more. The old date's rows
/// are locked while they are copied (PostgreSQL), so a decision writing one waits and is
/// counted; a batch of decisions that ranked campaigns by the old zone just before the change
/// and writes just after it can still add one batch's spend to the old date — the bound on
/// what a time zone change can let through, documented rather than closed by locking every
/// decision against account edits.
async fn carry_day_spend<Old: chrono::TimeZone, New: chrono::TimeZone>(
    txn: &impl ConnectionTrait,
    account: AccountId,
    old: DateTime<Old>,
    new: DateTime<New>,
) -> Result<(), AppError> {
    let (from, to) = (old.date_naive(), new.date_naive());
    if to <= from {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    let larger = match backend {
        DbBackend::Postgres => "GREATEST",
        _ => "MAX",
    };
    let mut sql = Sql::new();
    let (day, hour) = (
        sql.bind(to),
        sql.bind(i32::try_from(new.hour()).unwrap_or(0)),
    );
    let (account, from) = (sql.bind(account.0), sql.bind(from));
    let lock = match backend {
        DbBackend::Postgres => " FOR UPDATE OF d",
        _ => "",
    };
    // `WHERE` before `ON CONFLICT`: SQLite needs it to read an upsert from a SELECT.
    sql.text = format!(
        "INSERT INTO campaign_day_spend (campaign_id, day, committed, hour, hour_base) \
         SELECT d.campaign_id, {day}, d.committed, {hour}, d.committed \
         FROM campaign_day_spend d JOIN campaign c ON c.id = d.campaign_id \
         WHERE c.account_id = {account} AND d.day = {from}{lock} \
         ON CONFLICT (campaign_id, day) DO UPDATE SET \
         committed = {larger}(campaign_day_spend.committed, excluded.committed), \
         hour = excluded.hour, \
         hour_base = {larger}(campaign_day_spend.committed, excluded.committed)"
    );
    txn.execute_raw(sql.build(backend)).await?;
    Ok(())
}

async fn find(db: &impl ConnectionTrait, id: AccountId) -> Result<ad_account::Model, AppError> {
    ad_account::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}
