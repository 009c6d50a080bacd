//! Confirming an email address with the mailed link, setting a new password through it, and
//! asking for a new link — or, signed out, for one to choose a new password ("Forgot your
//! password?").

use crate::{
    error::AppError,
    model::{EmailLinkPreview, ForgotPasswordInput, NewPasswordInput},
};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {super::ctx, crate::model::limits, crate::service};

/// What a mailed link is for, and whether the visitor is signed in as its user (anyone holding
/// the link may ask).
#[server(endpoint = "email_link")]
pub async fn get_email_link(token: String) -> Result<EmailLinkPreview, AppError> {
    let request = ctx::request()?;
    if !limits::is_token(&token) {
        return Err(AppError::NotFound);
    }
    let viewer = request.viewer().await?.map(|v| v.user_id);
    service::verification::preview(&request.state.reads, &token, viewer).await
}

/// Confirms the signed-in user's address with their mailed link and goes to the dashboard.
#[server(endpoint = "confirm_email")]
pub async fn confirm_email(token: String) -> Result<(), AppError> {
    let request = ctx::request()?;
    let me = request.actor().await?;
    if !limits::is_token(&token) {
        return Err(AppError::NotFound);
    }
    service::verification::confirm(&request.state.db, me.user_id, &token, me.ip).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Sets a new password through a mailed link (ending every other session of that login), signs
/// in and goes to the dashboard.
#[server(endpoint = "set_password_by_email")]
pub async fn set_password_by_email(input: NewPasswordInput) -> Result<(), AppError> {
    let request = ctx::request()?;
    let state = &request.state;
    let user =
        service::verification::set_password(&state.db, &state.hasher, input, request.ip.clone())
            .await?;
    request.begin_session(user).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// "Forgot your password?": mails the login using the address a link to choose a new password;
/// answers the same whether or not there is one.
#[server(endpoint = "forgot_password")]
pub async fn forgot_password(input: ForgotPasswordInput) -> Result<(), AppError> {
    let request = ctx::request()?;
    let db = request.state.db.clone();
    let (ip, now) = (request.ip.clone(), chrono::Utc::now());
    let email =
        service::verification::request_password_reset(&db, input, ip.as_deref(), now).await?;
    // The answer does not wait for the mail: a real login's request (a link, a mail, an audit
    // event) would otherwise take longer to answer than an unknown address's, and tell which
    // addresses have a login. A shutdown lets the task finish within its grace (past it,
    // nothing of it is written, and the person asks again). The task stays in the request's
    // span, so its log lines carry the request's id.
    use tracing::Instrument;
    request.state.deferred.spawn(
        async move {
            if let Err(e) = service::verification::mail_password_reset(&db, email, ip, now).await {
                tracing::error!(error = %e, "a password reset mail was not written");
            }
        }
        .in_current_span(),
    );
    Ok(())
}

/// Mails the signed-in user a new link to confirm their address (a few an hour).
#[server(endpoint = "resend_confirmation")]
pub async fn resend_confirmation() -> Result<(), AppError> {
    let (state, me) = ctx::require_user().await?;
    service::verification::resend(&state.db, &me).await
}
