//! Sign-up, sign-in, sign-out, the current viewer and the account switcher.

use crate::{
    error::AppError,
    model::{AccountId, PasswordChangeInput, SignInInput, SignUpInput, Viewer},
};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    super::ctx,
    crate::model::{UNKNOWN_INVITATION, invitation_path, limits, urlencode},
    crate::service,
};

/// Who is signed in (`None` for a visitor).
#[server(endpoint = "viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    ctx::viewer().await
}

/// Creates a user and their ad account — or, with an `invite` token, a user who joins the
/// invitation's account instead — signs them in and goes to the dashboard. For an address that
/// already has a login the answer is the same (its owner is mailed instead); only whether a
/// session begins differs.
#[server(endpoint = "sign_up")]
pub async fn sign_up(input: SignUpInput, invite: Option<String>) -> Result<(), AppError> {
    let request = ctx::request()?;
    check_invite(invite.as_deref())?;
    let (db, hasher, ip) = (&request.state.db, &request.state.hasher, request.ip.clone());
    let invite = invite.filter(|t| !t.is_empty());
    let outcome = service::sign_up::register(db, hasher, input, invite.as_deref(), ip).await?;
    if let Some(user) = outcome.new_user {
        request.begin_session(user).await?;
        if let Some(account) = outcome.joined {
            request.select_account(account).await?;
        }
    }
    match invite.filter(|_| outcome.to_invitation) {
        Some(token) => leptos_axum::redirect(&invitation_path(&token)),
        None => leptos_axum::redirect("/"),
    }
    Ok(())
}

/// Signs in (throttled after repeated failures) and goes to the dashboard. With an `invite`
/// token the user then joins that account, or lands on the invitation page saying why not.
#[server(endpoint = "sign_in")]
pub async fn sign_in(input: SignInInput, invite: Option<String>) -> Result<(), AppError> {
    let request = ctx::request()?;
    check_invite(invite.as_deref())?;
    let state = &request.state;
    let user = service::auth::sign_in(&state.db, &state.hasher, input, request.ip.clone()).await?;
    request.begin_session(user).await?;
    let mut to = "/".to_owned();
    if let Some(token) = invite.filter(|t| !t.is_empty()) {
        match service::invitations::accept(&state.db, user, &token, request.ip.clone()).await {
            Ok(account) => request.select_account(account).await?,
            // Signed in all the same; the invitation page says what is wrong with the link.
            Err(AppError::Conflict(_)) => to = invitation_path(&token),
            Err(other) => return Err(other),
        }
    }
    leptos_axum::redirect(&to);
    Ok(())
}

/// Ends the session on the server and goes to the sign-in page (keeping the `invite` token of
/// an invitation page, so that someone else can sign in and accept it).
#[server(endpoint = "sign_out")]
pub async fn sign_out(invite: Option<String>) -> Result<(), AppError> {
    let request = ctx::request()?;
    if let Some(user) = request.end_session().await? {
        service::auth::signed_out(&request.state.reads, user, request.ip.clone()).await?;
    }
    // Signing out always works: a value too long to be a token is not carried along.
    match invite.filter(|t| !t.is_empty() && !limits::too_long(t, limits::TOKEN_MAX)) {
        Some(token) => leptos_axum::redirect(&format!("/sign-in?invite={}", urlencode(&token))),
        None => leptos_axum::redirect("/sign-in"),
    }
    Ok(())
}

/// Refuses an invitation token longer than any token (before anything else is done with the
/// request); a shorter unknown one is answered by the invitation checks.
#[cfg(feature = "ssr")]
fn check_invite(invite: Option<&str>) -> Result<(), AppError> {
    match invite {
        Some(token) if limits::too_long(token, limits::TOKEN_MAX) => {
            Err(AppError::field("form", UNKNOWN_INVITATION))
        }
        _ => Ok(()),
    }
}

/// Switches the current ad account (only to one the user belongs to).
#[server(endpoint = "switch_account")]
pub async fn switch_account(account_id: AccountId) -> Result<(), AppError> {
    ctx::switch_account(account_id).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Ends every other session of the signed-in user (this one stays signed in).
#[server(endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<u64, AppError> {
    let request = ctx::request()?;
    let actor = request.actor().await?;
    let keep = request.session_id();
    service::sessions::sign_out_everywhere(&request.state.db, &actor, keep.as_deref()).await
}

/// Changes the signed-in user's password (checking the current one) and ends their other
/// sessions; this one continues under a fresh id.
#[server(endpoint = "change_password")]
pub async fn change_password(input: PasswordChangeInput) -> Result<(), AppError> {
    let request = ctx::request()?;
    let actor = request.actor().await?;
    let keep = request.session_id();
    let state = &request.state;
    // Hashing waits its turn for a core: no read connection held meanwhile.
    state.reads.release().await;
    service::sessions::change_password(&state.db, &state.hasher, &actor, input, keep.as_deref())
        .await?;
    request.begin_session(actor.user_id).await
}
