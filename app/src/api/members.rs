//! Members of an account and invitations: the owner's tools, leaving, and the invitation
//! page's preview and "join" button. Each write names the account the page showed.

use crate::{
    error::AppError,
    model::{
        AccountId, InvitationId, InvitationInput, InvitationLink, InvitationPreview,
        MemberRoleInput, PendingInvitation, UserId,
    },
};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    super::ctx,
    crate::model::{UNKNOWN_INVITATION, limits},
    crate::service,
};

/// Creates an invitation link for an email and a role (owners).
#[server(endpoint = "invite_member")]
pub async fn invite_member(
    account: AccountId,
    input: InvitationInput,
) -> Result<InvitationLink, AppError> {
    let (state, me) = ctx::require_member_of(account).await?;
    service::members::invite(&state.db, &me, input).await
}

/// The current account's open invitations (owners).
#[server(endpoint = "invitations")]
pub async fn list_invitations() -> Result<Vec<PendingInvitation>, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::members::pending(&state.reads, &me).await
}

/// Withdraws an open invitation (owners).
#[server(endpoint = "revoke_invitation")]
pub async fn revoke_invitation(account: AccountId, id: InvitationId) -> Result<(), AppError> {
    let (state, me) = ctx::require_member_of(account).await?;
    service::members::revoke(&state.db, &me, id).await
}

/// Gives a member another role (owners; never the last owner's).
#[server(endpoint = "change_member_role")]
pub async fn change_member_role(
    account: AccountId,
    input: MemberRoleInput,
) -> Result<(), AppError> {
    let (state, me) = ctx::require_member_of(account).await?;
    service::members::change_role(&state.db, &me, input).await
}

/// Removes a member from the current account (owners; never the last owner).
#[server(endpoint = "remove_member")]
pub async fn remove_member(account: AccountId, user_id: UserId) -> Result<(), AppError> {
    let (state, me) = ctx::require_member_of(account).await?;
    service::members::remove(&state.db, &me, user_id).await
}

/// Leaves the current account (any member but the last owner) and goes to the dashboard.
#[server(endpoint = "leave_account")]
pub async fn leave_account(account: AccountId) -> Result<(), AppError> {
    let (state, me) = ctx::require_member_of(account).await?;
    service::members::leave(&state.db, &me).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// What an invitation link is for (anyone holding the link may ask).
#[server(endpoint = "invitation")]
pub async fn get_invitation(token: String) -> Result<InvitationPreview, AppError> {
    let request = ctx::request()?;
    if !limits::is_token(&token) {
        return Err(AppError::NotFound);
    }
    service::invitations::preview(&request.state.reads, &token).await
}

/// Joins the invitation's account as the signed-in user, who must have the invited email;
/// the account becomes the current one.
#[server(endpoint = "accept_invitation")]
pub async fn accept_invitation(token: String) -> Result<(), AppError> {
    let request = ctx::request()?;
    let me = request.actor().await?;
    if !limits::is_token(&token) {
        return Err(AppError::Conflict(UNKNOWN_INVITATION.into()));
    }
    let account =
        service::invitations::accept(&request.state.db, me.user_id, &token, me.ip).await?;
    request.select_account(account).await?;
    leptos_axum::redirect("/");
    Ok(())
}
