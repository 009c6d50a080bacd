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
    },
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set, TransactionSession, TransactionTrait,
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
pub async fn update_settings<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    input: AccountSettingsInput,
) -> Result<(), AppError> {
    input.validate()?;
    let account_id = actor.account(db, AccountPermission::ManageAccount).await?;
    let txn = db.begin().await?;
    let before = find(&txn, account_id).await?;
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
    Ok(())
}

async fn find(db: &impl ConnectionTrait, id: AccountId) -> Result<ad_account::Model, AppError> {
    ad_account::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}
