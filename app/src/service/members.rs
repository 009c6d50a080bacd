//! Account members: owners invite, change roles and remove; anyone may leave — and an account
//! always keeps at least one owner, even under concurrent changes.

use crate::{
    entity::{account_member, ad_account, app_user, invitation},
    error::AppError,
    model::{
        AccountId, AccountPermission, AccountRole, AuditAction, INVITATION_DAYS, InvitationId,
        InvitationInput, InvitationLink, InvitationStatus, MailKind, MemberRoleInput,
        PendingInvitation, UserId, invitation_path, normalize_email,
    },
    service::{
        Actor,
        audit::{self, AuditEntry},
        invitations,
        mail::{self, Mail},
        rate_limit::{self, Limit, Reservation},
        reports::share,
    },
};
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait,
    sea_query::{Alias, Expr, ExprTrait, Query},
};
use validator::Validate;

/// Invitations one account may send a day (each one is a mail): as many at once, then one
/// more each 1/20 of a day (the limiter's burst and refill, [`Limit`]).
pub const INVITATIONS_PER_DAY: u32 = 20;
/// Invitations one address may be sent an hour, from any accounts: as many at once, then one
/// each 20 minutes.
pub const INVITATIONS_PER_ADDRESS_HOUR: u32 = 3;

/// Invites `input.email` with a role (owners only; an owner may invite a co-owner). An open
/// invitation for the same email is revoked and replaced. The invitation is mailed (with its
/// own token, which also confirms the address); the returned link holds the owner's token:
/// this is the only time it exists outside the invitee's hands, and it works only for a user
/// who has confirmed the invited address. At most [`INVITATIONS_PER_DAY`] per account and
/// [`INVITATIONS_PER_ADDRESS_HOUR`] per invited address.
pub async fn invite<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    mut input: InvitationInput,
) -> Result<InvitationLink, AppError> {
    input.email = normalize_email(&input.email);
    let account_id = actor.account(db, AccountPermission::ManageAccount).await?;
    input.validate()?;
    let existing = account_member::Entity::find()
        .filter(account_member::Column::AccountId.eq(account_id.0))
        .inner_join(app_user::Entity)
        .filter(app_user::Column::Email.eq(input.email.as_str()))
        .one(db)
        .await?;
    if existing.is_some() {
        return Err(AppError::field(
            "email",
            "This person is already a member of the account.",
        ));
    }
    let (token, token_sha256) = invitations::new_token();
    let (mail_token, mail_token_sha256) = invitations::new_token();
    let account_name = ad_account::Entity::find_by_id(account_id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?
        .name;
    let now = Utc::now();
    let txn = db.begin().await?;
    // Each invitation is a mail Herald sends to an address the inviter typed: counted per
    // account and per address (in this transaction, so an invitation that fails is not),
    // so no one can mail-bomb or spam through Herald, from one account or from many.
    for (key, limit, message) in [
        (
            format!("invite:account:{}", account_id.0),
            Limit::new(INVITATIONS_PER_DAY, Duration::days(1)),
            format!(
                "This account has sent as many invitations as it may for now ({INVITATIONS_PER_DAY} \
                 a day). Try again"
            ),
        ),
        (
            format!("invite:mail:{}", input.email),
            Limit::new(INVITATIONS_PER_ADDRESS_HOUR, Duration::hours(1)),
            format!(
                "This address has been sent as many invitations as it may for now \
                 ({INVITATIONS_PER_ADDRESS_HOUR} an hour). Try again"
            ),
        ),
    ] {
        if let Reservation::Refused { retry_after } =
            rate_limit::reserve(&txn, &key, limit, Duration::zero(), now).await?
        {
            txn.rollback().await?;
            return Err(AppError::field(
                "email",
                format!("{message} {}.", rate_limit::in_minutes(retry_after)),
            ));
        }
    }
    let replaced = invitation::Entity::update_many()
        .col_expr(invitation::Column::RevokedAt, Expr::value(now))
        .filter(invitation::Column::AccountId.eq(account_id.0))
        .filter(invitation::Column::Email.eq(input.email.as_str()))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    let row = invitation::ActiveModel {
        account_id: Set(account_id.0),
        email: Set(input.email.clone()),
        role: Set(input.role),
        token_sha256: Set(token_sha256),
        mail_token_sha256: Set(Some(mail_token_sha256)),
        created_by: Set(actor.user_id.0),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(INVITATION_DAYS)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        AuditEntry::new(AuditAction::MemberInvited, "invitation", row.id.to_string())
            .by(actor.user_id)
            .from_ip(actor.ip.clone())
            .detail(serde_json::json!({
                "account_id": account_id.0,
                "after": { "email": row.email, "role": row.role.code(), "expires_at": row.expires_at },
                "replaced_open_invitations": replaced,
            })),
    )
    .await?;
    mail::enqueue(
        &txn,
        invitation_mail(&row, &account_name, &actor.email, &mail_token),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(InvitationLink {
        id: InvitationId(row.id),
        email: row.email,
        role: row.role,
        path: invitation_path(&token),
        expires_at: row.expires_at,
    })
}

/// The mail that carries an invitation's mailed token to the invited address.
fn invitation_mail(row: &invitation::Model, account: &str, inviter: &str, token: &str) -> Mail {
    let url = mail::link(&invitation_path(token));
    Mail {
        to: row.email.clone(),
        subject: format!("{inviter} invited you to {account} on Herald"),
        body: format!(
            "{inviter} invited you to work in the ad account {account} on Herald, as {role}.\n\n\
             Open this link to join — with your login for {email}, or a new one (it works once, \
             until {expires} UTC):\n\n{url}\n\n\
             Not expecting this? You can ignore this mail.\n",
            role = row.role.label(),
            email = row.email,
            expires = row.expires_at.format("%Y-%m-%d %H:%M"),
        ),
        kind: MailKind::Invitation,
    }
}

/// The current account's open invitations, oldest first (owners only).
pub async fn pending(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<Vec<PendingInvitation>, AppError> {
    let account_id = actor.account(db, AccountPermission::ManageAccount).await?;
    Ok(invitation::Entity::find()
        .filter(invitation::Column::AccountId.eq(account_id.0))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .order_by_asc(invitation::Column::CreatedAt)
        .order_by_asc(invitation::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|row| PendingInvitation {
            id: InvitationId(row.id),
            email: row.email,
            role: row.role,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
        .collect())
}

/// Withdraws an open invitation of the current account (owners only); its link stops working.
pub async fn revoke<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    id: InvitationId,
) -> Result<(), AppError> {
    let account_id = actor.account(db, AccountPermission::ManageAccount).await?;
    let now = Utc::now();
    let txn = db.begin().await?;
    let revoked = invitation::Entity::update_many()
        .col_expr(invitation::Column::RevokedAt, Expr::value(now))
        .filter(invitation::Column::Id.eq(id.0))
        .filter(invitation::Column::AccountId.eq(account_id.0))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    let row = invitation::Entity::find_by_id(id.0)
        .filter(invitation::Column::AccountId.eq(account_id.0))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if revoked == 0 {
        let status = InvitationStatus::at(row.accepted_at, row.revoked_at, row.expires_at, now);
        return Err(AppError::Conflict(status.explain().into()));
    }
    audit::record(
        &txn,
        AuditEntry::new(
            AuditAction::MemberInviteRevoked,
            "invitation",
            id.to_string(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone())
        .detail(serde_json::json!({
            "account_id": account_id.0,
            "before": { "email": row.email, "role": row.role.code(), "status": "open" },
            "after": { "status": "revoked" },
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Gives a member of the current account another role (owners only). The last owner cannot
/// be demoted.
pub async fn change_role<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    input: MemberRoleInput,
) -> Result<(), AppError> {
    let account_id = actor.account(db, AccountPermission::ManageAccount).await?;
    let txn = db.begin().await?;
    serialise_member_changes(&txn, account_id).await?;
    let txn = still_allowed(db, txn, actor, account_id, AccountPermission::ManageAccount).await?;
    let (before, email) = member(&txn, account_id, input.user_id).await?;
    if before.role == input.role {
        return Ok(());
    }
    let mut update = account_member::Entity::update_many()
        .set(account_member::ActiveModel {
            role: Set(input.role),
            ..Default::default()
        })
        .filter(account_member::Column::AccountId.eq(account_id.0))
        .filter(account_member::Column::UserId.eq(input.user_id.0));
    if before.role == AccountRole::Owner {
        update = update.filter(another_owner(account_id, input.user_id));
    }
    if update.exec(&txn).await?.rows_affected == 0 {
        return Err(AppError::Conflict(
            "An account needs at least one owner: make another member an owner first.".into(),
        ));
    }
    if !input.role.allows(AccountPermission::EditCampaigns) {
        share::end_links_of(
            &txn,
            actor,
            account_id,
            input.user_id,
            "its creator may no longer edit campaigns",
            Utc::now(),
        )
        .await?;
    }
    audit::record(
        &txn,
        member_entry(
            AuditAction::MemberRoleChanged,
            actor,
            account_id,
            input.user_id,
        )
        .detail(serde_json::json!({
            "email": email,
            "before": { "role": before.role.code() },
            "after": { "role": input.role.code() },
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Removes a member from the current account: owners remove anyone, every member may remove
/// themselves (leave). The last owner can do neither.
pub async fn remove<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    user: UserId,
) -> Result<(), AppError> {
    let leaving = user == actor.user_id;
    let permission = if leaving {
        AccountPermission::ViewAccount
    } else {
        AccountPermission::ManageAccount
    };
    let account_id = actor.account(db, permission).await?;
    let txn = db.begin().await?;
    serialise_member_changes(&txn, account_id).await?;
    let txn = still_allowed(db, txn, actor, account_id, permission).await?;
    let (before, email) = member(&txn, account_id, user).await?;
    let mut delete = account_member::Entity::delete_many()
        .filter(account_member::Column::AccountId.eq(account_id.0))
        .filter(account_member::Column::UserId.eq(user.0));
    if before.role == AccountRole::Owner {
        delete = delete.filter(another_owner(account_id, user));
    }
    if delete.exec(&txn).await?.rows_affected == 0 {
        let why = if leaving {
            "You are the only owner: make another member an owner before you leave."
        } else {
            "An account needs at least one owner: make another member an owner first."
        };
        return Err(AppError::Conflict(why.into()));
    }
    share::end_links_of(
        &txn,
        actor,
        account_id,
        user,
        "its creator left the account",
        Utc::now(),
    )
    .await?;
    audit::record(
        &txn,
        member_entry(AuditAction::MemberRemoved, actor, account_id, user).detail(
            serde_json::json!({
                "email": email,
                "left": leaving,
                "before": { "role": before.role.code() },
                "after": null,
            }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The actor leaves their current account.
pub async fn leave<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
) -> Result<(), AppError> {
    remove(db, actor, actor.user_id).await
}

/// Makes concurrent member changes of one account take turns. A no-op write to the account
/// row, first in the transaction: on PostgreSQL its row lock makes a second change wait until
/// the first commits (and then read what it wrote); on SQLite a first-statement write takes
/// the database's write lock before anything is read.
pub(crate) async fn serialise_member_changes(
    txn: &impl ConnectionTrait,
    account: AccountId,
) -> Result<(), AppError> {
    let touched = ad_account::Entity::update_many()
        .col_expr(
            ad_account::Column::Name,
            Expr::col(ad_account::Column::Name),
        )
        .filter(ad_account::Column::Id.eq(account.0))
        .exec(txn)
        .await?
        .rows_affected;
    if touched == 1 {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// Re-checks, inside the serialised transaction, that the actor's role still allows
/// `permission`: a change committed since the request started (say, the actor was just
/// demoted by another owner) counts. Gives the transaction back when it does. A refusal is
/// audited like any other: the transaction is rolled back first (on SQLite it holds the one
/// write lock the audit row needs), then the refusal is recorded on `db`.
pub(crate) async fn still_allowed<T: ConnectionTrait + TransactionSession>(
    db: &impl ConnectionTrait,
    txn: T,
    actor: &Actor,
    account: AccountId,
    permission: AccountPermission,
) -> Result<T, AppError> {
    let role = account_member::Entity::find_by_id((account.0, actor.user_id.0))
        .one(&txn)
        .await?
        .map(|m| m.role);
    match role {
        Some(role) if role.allows(permission) => Ok(txn),
        Some(_) => {
            txn.rollback().await?;
            actor
                .deny(db, "account", &format!("{account}:{permission:?}"))
                .await
        }
        None => Err(AppError::NotFound),
    }
}

/// `EXISTS` another owner of `account` than `user`: the guard on every demotion and removal
/// of an owner, evaluated by the database in the same statement as the change.
fn another_owner(account: AccountId, user: UserId) -> Expr {
    let other = Alias::new("other_owner");
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from_as(account_member::Entity, other.clone())
            .and_where(Expr::col((other.clone(), account_member::Column::AccountId)).eq(account.0))
            .and_where(
                Expr::col((other.clone(), account_member::Column::Role))
                    .eq(AccountRole::Owner.code()),
            )
            .and_where(Expr::col((other, account_member::Column::UserId)).ne(user.0))
            .to_owned(),
    )
}

/// A member of `account` with their email; anyone else (another account's member) is
/// `NotFound`.
async fn member(
    db: &impl ConnectionTrait,
    account: AccountId,
    user: UserId,
) -> Result<(account_member::Model, String), AppError> {
    let (member, found) = account_member::Entity::find_by_id((account.0, user.0))
        .find_also_related(app_user::Entity)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((member, found.map(|u| u.email).unwrap_or_default()))
}

fn member_entry(
    action: AuditAction,
    actor: &Actor,
    account: AccountId,
    user: UserId,
) -> AuditEntry {
    AuditEntry::new(action, "account_member", format!("{account}:{user}"))
        .by(actor.user_id)
        .from_ip(actor.ip.clone())
}
