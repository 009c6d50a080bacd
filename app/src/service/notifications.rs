//! In-app notifications: written to the members of an account whose role concerns them (review
//! decisions and appeals to those who read campaigns, money warnings to those who see
//! billing), read and marked read by each of them in their current account.

use crate::{
    entity::{account_member, notification},
    error::AppError,
    model::{
        AccountId, AccountPermission, AccountRole, NotificationId, NotificationList,
        NotificationView, UserId,
    },
    service::Actor,
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};

/// Newest notifications listed.
const LIST: u64 = 50;

/// The kinds about money (balance warnings): members who see billing get and read them; every
/// other kind (review decisions, appeals, campaigns ending) is for those who read campaigns.
pub const MONEY_KINDS: [&str; 2] = ["balance_low", "out_of_funds"];

/// Who a notification of `kind` is for: the one place that says it, for writing and reading.
pub fn permission_for(kind: &str) -> AccountPermission {
    if MONEY_KINDS.contains(&kind) {
        AccountPermission::ViewBilling
    } else {
        AccountPermission::ViewCampaigns
    }
}

/// The notifications a member with `role` reads now: those their role is for, so a member
/// whose role changed stops seeing what the old one was sent.
fn readable_by(role: AccountRole) -> Condition {
    let money = role.allows(AccountPermission::ViewBilling);
    let campaigns = role.allows(AccountPermission::ViewCampaigns);
    let kind = || notification::Column::Kind;
    match (money, campaigns) {
        (true, true) => Condition::all(),
        (true, false) => Condition::all().add(kind().is_in(MONEY_KINDS)),
        (false, true) => Condition::all().add(kind().is_not_in(MONEY_KINDS)),
        // No role reads neither; should one, it reads nothing.
        (false, false) => Condition::all().add(Expr::val(1).eq(0)),
    }
}

/// [`readable_by`] as SQL for a statement that has the notification as `n` and the member's
/// role in `role_column` (the header's unread count, read with the viewer).
pub(crate) fn readable_sql(role_column: &str) -> String {
    let list = |items: &mut dyn Iterator<Item = &str>| {
        items
            .map(|i| format!("'{i}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let roles = |p: AccountPermission| {
        list(
            &mut AccountRole::ALL
                .into_iter()
                .filter(move |r| r.allows(p))
                .map(AccountRole::code),
        )
    };
    let money = list(&mut MONEY_KINDS.into_iter());
    format!(
        "((n.kind IN ({money}) AND {role_column} IN ({})) \
          OR (n.kind NOT IN ({money}) AND {role_column} IN ({})))",
        roles(AccountPermission::ViewBilling),
        roles(AccountPermission::ViewCampaigns),
    )
}

/// Notifies every member of `account` whose role a notification of `kind` is for
/// ([`permission_for`]): review decisions and appeals to owners, managers and analysts,
/// balance warnings to owners, managers and billing members.
pub(crate) async fn notify_account(
    db: &impl ConnectionTrait,
    account: i64,
    kind: &str,
    title: &str,
    body: &str,
    link: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let permission = permission_for(kind);
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

/// Unread notifications of `user` in `account` that their `role` reads.
pub async fn unread(
    db: &impl ConnectionTrait,
    user: UserId,
    account: AccountId,
    role: AccountRole,
) -> Result<u64, AppError> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user.0))
        .filter(notification::Column::AccountId.eq(account.0))
        .filter(notification::Column::ReadAt.is_null())
        .filter(readable_by(role))
        .count(db)
        .await?)
}

/// The caller's newest notifications in the current account: any member reads their own, of
/// the kinds their role is for now (a billing member's are balance warnings).
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> Result<NotificationList, AppError> {
    let (account, role) = member(db, actor).await?;
    let items = notification::Entity::find()
        .filter(notification::Column::UserId.eq(actor.user_id.0))
        .filter(notification::Column::AccountId.eq(account.0))
        .filter(readable_by(role))
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
        unread: unread(db, actor.user_id, account, role).await?,
    })
}

/// Marks the caller's notifications in the current account read, up to `up_to` (the newest
/// one they were shown, so one that arrived meanwhile stays unread).
pub async fn mark_read(
    db: &impl ConnectionTrait,
    actor: &Actor,
    up_to: NotificationId,
) -> Result<(), AppError> {
    let (account, role) = member(db, actor).await?;
    notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(Utc::now()))
        .filter(notification::Column::UserId.eq(actor.user_id.0))
        .filter(notification::Column::AccountId.eq(account.0))
        .filter(notification::Column::Id.lte(up_to.0))
        .filter(notification::Column::ReadAt.is_null())
        .filter(readable_by(role))
        .exec(db)
        .await?;
    Ok(())
}

/// The caller's current account and their role there (any member).
async fn member(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<(AccountId, AccountRole), AppError> {
    let account = actor.account(db, AccountPermission::ViewAccount).await?;
    match actor.membership {
        Some((id, role)) if id == account => Ok((account, role)),
        _ => Err(AppError::NotFound),
    }
}
