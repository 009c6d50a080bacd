//! The current ad account: details, members and settings.

use crate::{
    error::AppError,
    model::{AccountDetails, AccountId, AccountSettingsInput},
};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {super::ctx, crate::service};

/// The current account with its members (any member).
#[server(endpoint = "account")]
pub async fn get_account() -> Result<AccountDetails, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::accounts::details(&state.reads, &me).await
}

/// Renames the current account or changes its time zone (owners).
#[server(endpoint = "update_account")]
pub async fn update_account(
    account: AccountId,
    input: AccountSettingsInput,
) -> Result<(), AppError> {
    let (state, me) = ctx::require_member_of(account).await?;
    service::accounts::update_settings(&state.db, &me, input, chrono::Utc::now()).await
}
