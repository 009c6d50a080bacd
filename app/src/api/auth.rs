//! Sign-up, sign-in, sign-out, the current viewer and the account switcher.

use crate::{
    error::AppError,
    model::{AccountId, SignInInput, SignUpInput, Viewer},
};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {super::ctx, crate::service};

/// Who is signed in (`None` for a visitor).
#[server(endpoint = "viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    ctx::viewer().await
}

/// Creates a user and their ad account, signs them in and goes to the dashboard.
#[server(endpoint = "sign_up")]
pub async fn sign_up(input: SignUpInput) -> Result<(), AppError> {
    let request = ctx::request()?;
    let state = &request.state;
    let user = service::auth::sign_up(&state.db, &state.hasher, input, request.ip.clone()).await?;
    request.begin_session(user).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Signs in (throttled after repeated failures) and goes to the dashboard.
#[server(endpoint = "sign_in")]
pub async fn sign_in(input: SignInInput) -> Result<(), AppError> {
    let request = ctx::request()?;
    let state = &request.state;
    let user = service::auth::sign_in(&state.db, &state.hasher, input, request.ip.clone()).await?;
    request.begin_session(user).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Ends the session on the server and goes to the sign-in page.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let request = ctx::request()?;
    if let Some(user) = request.end_session().await? {
        service::auth::signed_out(&request.state.db, user, request.ip.clone()).await?;
    }
    leptos_axum::redirect("/sign-in");
    Ok(())
}

/// Switches the current ad account (only to one the user belongs to).
#[server(endpoint = "switch_account")]
pub async fn switch_account(account_id: AccountId) -> Result<(), AppError> {
    ctx::switch_account(account_id).await?;
    leptos_axum::redirect("/");
    Ok(())
}
