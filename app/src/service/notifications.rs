//! In-app notifications: written to the members of an account whose role concerns them (review
//! decisions and appeals to those who read campaigns, money warnings to those who see
//! billing), read and marked read by each of them in their current account.

use crate::{
    entity::{account_member, notification},
    error::AppError,
    model::{
        AccountId, AccountPermission, NotificationId, NotificationList, NotificationView, UserId,
    },
    service::Actor,
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, sea_query::Expr,
};

/// Newest notifications listed.
const LIST: u64 = 50;

/// Notifies every member of `account` whose role reads campaigns (owners, managers, analysts).
pub(crate) async fn notify_account(
    db: &impl ConnectionTrait,
    account: i64,
    kind: &str,
    title: &str,
    body: &str,
    link: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    notify_members(
        db,
        account,
        AccountPermission::ViewCampaigns,
        kind,
        title,
        body,
        link,
        now,
    )
    .await
}

/// Notifies every member of `account` whose role allows `permission` (money notifications go
/// to those who may see billing: owners, managers, billing members).
#[expect(clippy::too_many_arguments, reason = "a notification is all of these")]
pub(crate) async fn notify_members(
    db: &impl ConnectionTrait,
    account: i64,
    permission: AccountPermission,
    kind: &str,
    title: &str,
    body: &str,
    link: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let members = account_member::Entity::find()
        .filter(account_member::Column::AccountId.eq(account))
        .all(db)
        .await?;
    let title: String = title.chars().take(200).collect();
    for member in members.into_iter().filter(|m| m.role.allows(permission)) {
        notification::ActiveModel {
            user_id: Set(member.user_id),
            account_id: Set(account),
            kind: Set(kind.to_owned()),
            title: Set(title.clone()),
            body: Set(body.to_owned()),
            link: Set(link.to_owned()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Unread notifications of `user` in `account`, for the header.
pub async fn unread(
    db: &impl ConnectionTrait,
    user: UserId,
    account: AccountId,
) -> Result<u64, AppError> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user.0))
        .filter(notification::Column::AccountId.eq(account.0))
        .filter(notification::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

/// The caller's newest notifications in the current account. Any member reads their own:
/// each was written to them for their role (a billing member's are money warnings).
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> Result<NotificationList, AppError> {
    let account = actor.account(db, AccountPermission::ViewAccount).await?;
    let items = notification::Entity::find()
        .filter(notification::Column::UserId.eq(actor.user_id.0))
        .filter(notification::Column::AccountId.eq(account.0))
        .order_by_desc(notification::Column::Id)
        .limit(LIST)
        .all(db)
        .await?
        .into_iter()
        .map(|n| NotificationView {
            id: NotificationId(n.id),
            title: n.title,
            body: n.body,
            link: n.link,
            created_at: n.created_at,
            read: n.read_at.is_some(),
        })
        .collect();
    Ok(NotificationList {
        items,
        unread: unread(db, actor.user_id, account).await?,
    })
}

/// Marks the caller's notifications in the current account read, up to `up_to` (the newest
/// one they were shown, so one that arrived meanwhile stays unread).
pub async fn mark_read(
    db: &impl ConnectionTrait,
    actor: &Actor,
    up_to: NotificationId,
) -> Result<(), AppError> {
    let account = actor.account(db, AccountPermission::ViewAccount).await?;
    notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(Utc::now()))
        .filter(notification::Column::UserId.eq(actor.user_id.0))
        .filter(notification::Column::AccountId.eq(account.0))
        .filter(notification::Column::Id.lte(up_to.0))
        .filter(notification::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
