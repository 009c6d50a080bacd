//! Monthly statements in the browser: the current account's, and any account's for finance.

use crate::{
    error::AppError,
    model::{AccountId, Statement},
};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {super::ctx, crate::service};

/// The current account's statement of `month` (`YYYY-MM`, empty: this month) — owners,
/// managers and billing members.
#[server(endpoint = "account_statement")]
pub async fn account_statement(month: String) -> Result<Statement, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::finance::statement::statement(&state.db, &me, None, &month, chrono::Utc::now()).await
}

/// Any account's statement of `month` (finance staff; admins read).
#[server(endpoint = "finance_statement")]
pub async fn finance_statement(account: AccountId, month: String) -> Result<Statement, AppError> {
    let (state, me) = ctx::require_user().await?;
    let now = chrono::Utc::now();
    service::finance::statement::statement(&state.db, &me, Some(account), &month, now).await
}
