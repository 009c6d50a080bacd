//! Platform administration: users and their staff roles.

use crate::{
    entity::{account_member, app_user, staff_role},
    error::AppError,
    model::{AuditAction, Page, PlatformRole, RoleChangeInput, UserId, UserRow, limits},
    service::{
        Actor,
        audit::{self, AuditEntry},
        passwords::PasswordHasher,
        sessions,
    },
};
use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionSession,
    TransactionTrait,
    sea_query::{Asterisk, Expr, ExprTrait, Func, LockType, OnConflict, Query},
};
use std::collections::HashMap;

/// Users whose email contains `search` (at most [`limits::EMAIL_MAX`] characters: no longer
/// part of an address exists), oldest first, with their roles (admins only).
pub async fn list_users(
    db: &impl ConnectionTrait,
    actor: &Actor,
    search: &str,
    page: u64,
) -> Result<Page<UserRow>, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    limits::check_argument("search", search, limits::EMAIL_MAX)?;
    let search = search.trim().to_lowercase();
    let mut query = app_user::Entity::find().order_by_asc(app_user::Column::Id);
    if !search.is_empty() {
        query = query.filter(super::catalog::contains_text(
            db.get_database_backend(),
            app_user::Column::Email,
            &search,
        ));
    }
    let (users, total, page) = super::paging::rows_and_total(db, query, page).await?;
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

/// Grants or revokes one platform role (admins only; audited). A grant widens someone's rights
/// (an admin can change where advertisers pay, finance moves money), so it asks for the
/// admin's `password` again, as changing the bank details does: a session left open or taken
/// over does not make another login staff by itself. A revoke only narrows rights and asks for
/// none (`password` is not read). No one grants themselves a role (revoking one's own is
/// allowed). The last admin cannot be removed, so the platform can always be administered —
/// also when admins revoke each other at the same moment. Granting a role held, or revoking
/// one not held, changes nothing.
pub async fn change_role<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    hasher: &PasswordHasher,
    actor: &Actor,
    input: RoleChangeInput,
    password: String,
) -> Result<(), AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    if input.grant {
        refuse_own_grant(actor, &input)?;
        // Wrong passwords count against the same per-user limit as a password change.
        sessions::confirm_password(db, hasher, actor, password, "password").await?;
    }
    let txn = db.begin().await?;
    let changed = if input.grant {
        grant(&txn, actor, &input).await?
    } else {
        revoke(&txn, &input).await?
    };
    let Some(action) = changed else {
        return Ok(());
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

/// Inserts the role unless it is held (a concurrent grant of the same role is not an error).
async fn grant(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    input: &RoleChangeInput,
) -> Result<Option<AuditAction>, AppError> {
    refuse_own_grant(actor, input)?;
    insert_role(txn, input.user_id, input.role, Some(actor.user_id)).await
}

/// Separation of duties: nobody widens their own rights. An admin who could make themselves
/// finance would move money with no one else involved (admins only read it).
fn refuse_own_grant(actor: &Actor, input: &RoleChangeInput) -> Result<(), AppError> {
    if input.user_id == actor.user_id {
        return Err(AppError::Conflict(
            "You cannot grant yourself a role: another admin has to.".into(),
        ));
    }
    Ok(())
}

/// Grants `role` to the user with `email` for the operator of the server (`server staff
/// grant`: the first admin of a new installation, or a way back in when no admin can sign
/// in). Audited as granted by the server command. Answers whether the role is new.
pub async fn grant_by_operator<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    email: &str,
    role: PlatformRole,
) -> Result<bool, AppError> {
    let txn = db.begin().await?;
    let user = app_user::Entity::find()
        .filter(app_user::Column::Email.eq(crate::model::normalize_email(email)))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let changed = insert_role(&txn, UserId(user.id), role, None).await?;
    if let Some(action) = changed {
        audit::record(
            &txn,
            AuditEntry::new(action, "user", user.id.to_string())
                .detail(serde_json::json!({ "role": role.code(), "by": "server command" })),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(changed.is_some())
}

/// Inserts the role for a confirmed user unless it is held.
async fn insert_role(
    txn: &impl ConnectionTrait,
    user_id: UserId,
    role: PlatformRole,
    granted_by: Option<UserId>,
) -> Result<Option<AuditAction>, AppError> {
    let user = app_user::Entity::find_by_id(user_id.0)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    // A role keys on the address: never to someone who may have signed up with another
    // person's (the role would not work for them anyway, see `auth::viewer`).
    if user.email_verified_at.is_none() {
        return Err(AppError::Conflict(
            "This user has not confirmed their email address yet; roles can be granted once they have.".into(),
        ));
    }
    let inserted = staff_role::Entity::insert(staff_role::ActiveModel {
        user_id: Set(user_id.0),
        role: Set(role),
        granted_by: Set(granted_by.map(|u| u.0)),
        granted_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([staff_role::Column::UserId, staff_role::Column::Role])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok((inserted == 1).then_some(AuditAction::RoleGranted))
}

/// Deletes the role in one conditional statement, the transaction's first; an admin role only
/// while another admin remains. On PostgreSQL the count's subquery locks every admin row, so a
/// concurrent revocation waits for this one and then counts without the row it deleted (a
/// plain count under READ COMMITTED would still see it); on SQLite the statement takes the
/// write lock before it reads.
async fn revoke(
    txn: &impl ConnectionTrait,
    input: &RoleChangeInput,
) -> Result<Option<AuditAction>, AppError> {
    let mut delete = staff_role::Entity::delete_many()
        .filter(staff_role::Column::UserId.eq(input.user_id.0))
        .filter(staff_role::Column::Role.eq(input.role));
    if input.role == PlatformRole::Admin {
        let admins = Query::select()
            .column(staff_role::Column::UserId)
            .from(staff_role::Entity)
            .and_where(staff_role::Column::Role.eq(PlatformRole::Admin))
            .lock(LockType::Update)
            .to_owned();
        let count = Query::select()
            .expr(Func::count(Expr::col(Asterisk)))
            .from_subquery(admins, "admins")
            .to_owned();
        delete = delete.filter(Expr::SubQuery(None, Box::new(count.into())).gt(1));
    }
    if delete.exec(txn).await?.rows_affected == 1 {
        return Ok(Some(AuditAction::RoleRevoked));
    }
    app_user::Entity::find_by_id(input.user_id.0)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let held = staff_role::Entity::find_by_id((input.user_id.0, input.role))
        .one(txn)
        .await?
        .is_some();
    if held {
        return Err(AppError::Conflict(
            "The platform must keep at least one admin.".into(),
        ));
    }
    Ok(None)
}
