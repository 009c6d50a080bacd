//! Platform administration: users and their staff roles.

use crate::{
    entity::{account_member, app_user, staff_role},
    error::AppError,
    model::{AuditAction, PAGE_SIZE, Page, PlatformRole, RoleChangeInput, UserId, UserRow},
    service::{
        Actor,
        audit::{self, AuditEntry},
    },
};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, TransactionSession, TransactionTrait,
};
use std::collections::HashMap;

/// Users whose email contains `search`, oldest first, with their roles (admins only).
pub async fn list_users(
    db: &impl ConnectionTrait,
    actor: &Actor,
    search: &str,
    page: u64,
) -> Result<Page<UserRow>, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    let search = search.trim().to_lowercase();
    let mut query = app_user::Entity::find().order_by_asc(app_user::Column::Id);
    if !search.is_empty() {
        query = query.filter(app_user::Column::Email.contains(&search));
    }
    let paginator = query.paginate(db, PAGE_SIZE);
    let total = paginator.num_items().await?;
    let users = paginator.fetch_page(page).await?;
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();

    let mut roles: HashMap<i64, Vec<PlatformRole>> = HashMap::new();
    for role in staff_role::Entity::find()
        .filter(staff_role::Column::UserId.is_in(ids.clone()))
        .all(db)
        .await?
    {
        roles.entry(role.user_id).or_default().push(role.role);
    }
    let mut accounts: HashMap<i64, u64> = HashMap::new();
    for member in account_member::Entity::find()
        .filter(account_member::Column::UserId.is_in(ids))
        .all(db)
        .await?
    {
        *accounts.entry(member.user_id).or_default() += 1;
    }
    let rows = users
        .into_iter()
        .map(|u| {
            let mut staff_roles = roles.remove(&u.id).unwrap_or_default();
            staff_roles.sort();
            UserRow {
                id: UserId(u.id),
                email: u.email,
                created_at: u.created_at,
                staff_roles,
                account_count: accounts.get(&u.id).copied().unwrap_or(0),
            }
        })
        .collect();
    Ok(Page { rows, page, total })
}

/// Grants or revokes one platform role (admins only; audited). The last admin cannot be
/// removed, so the platform can always be administered.
pub async fn change_role<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    input: RoleChangeInput,
) -> Result<(), AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    let txn = db.begin().await?;
    app_user::Entity::find_by_id(input.user_id.0)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let existing = staff_role::Entity::find_by_id((input.user_id.0, input.role))
        .one(&txn)
        .await?;
    let action = match (input.grant, existing) {
        (true, Some(_)) | (false, None) => return Ok(()),
        (true, None) => {
            staff_role::ActiveModel {
                user_id: Set(input.user_id.0),
                role: Set(input.role),
                granted_by: Set(Some(actor.user_id.0)),
                granted_at: Set(Utc::now()),
            }
            .insert(&txn)
            .await?;
            AuditAction::RoleGranted
        }
        (false, Some(row)) => {
            if input.role == PlatformRole::Admin {
                let admins = staff_role::Entity::find()
                    .filter(staff_role::Column::Role.eq(PlatformRole::Admin))
                    .count(&txn)
                    .await?;
                if admins <= 1 {
                    return Err(AppError::Conflict(
                        "The platform must keep at least one admin.".into(),
                    ));
                }
            }
            staff_role::Entity::delete_by_id((row.user_id, row.role))
                .exec(&txn)
                .await?;
            AuditAction::RoleRevoked
        }
    };
    audit::record(
        &txn,
        AuditEntry::new(action, "user", input.user_id.to_string())
            .by(actor.user_id)
            .from_ip(actor.ip.clone())
            .detail(serde_json::json!({ "role": input.role.code() })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
