//! Money in the browser: an account's balance and history, its low-balance threshold, and
//! finance's accounts and credits.

use crate::{
    error::AppError,
    model::{
        AccountId, BalancePage, CreditInput, CreditResult, DecideRequestInput, FinanceAccounts,
        FinanceRequests, RefundInput, RequestResult,
    },
};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    super::ctx,
    crate::model::{PlatformRole, limits},
    crate::service,
};

/// The current account's balance, what is held, and one page of its history (owners, managers
/// and billing members).
#[server(endpoint = "balance")]
pub async fn balance(page: u64) -> Result<BalancePage, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::ledger::balance::page(&state.reads, &me, page).await
}

/// Sets the "balance low" threshold of `account` (owners); an empty amount turns it off.
#[server(endpoint = "set_low_balance")]
pub async fn set_low_balance(account: AccountId, amount: String) -> Result<(), AppError> {
    let (state, me) = ctx::require_member_of(account).await?;
    if limits::too_long(&amount, limits::NUMBER_MAX) {
        return Err(AppError::field(
            "low_balance",
            limits::too_long_message(limits::NUMBER_MAX),
        ));
    }
    service::ledger::balance::set_low_balance(&state.db, &me, &amount).await
}

/// Ad accounts whose name contains `query`, with their balances (finance staff; admins read).
#[server(endpoint = "finance_accounts")]
pub async fn list_finance_accounts(
    query: String,
    sort: String,
    page: u64,
) -> Result<FinanceAccounts, AppError> {
    let (state, me) = ctx::require_user().await?;
    service::finance::accounts(&state.reads, &me, &query, &sort, page).await
}

/// Credits an ad account's prepaid balance (finance staff); one credit per bank reference.
#[server(endpoint = "credit_balance")]
pub async fn credit_balance(input: CreditInput) -> Result<CreditResult, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Finance).await?;
    service::finance::credit(&state.db, &me, input, chrono::Utc::now()).await
}

/// Returns part or all of an account's available balance (finance staff); above the approval
/// threshold it waits for a second finance user.
#[server(endpoint = "refund_balance")]
pub async fn refund_balance(input: RefundInput) -> Result<RequestResult, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Finance).await?;
    service::finance::requests::refund(&state.db, &me, input, chrono::Utc::now()).await
}

/// Top-ups and refunds waiting for a second finance user, and the latest decided (finance
/// staff; admins read).
#[server(endpoint = "finance_requests")]
pub async fn list_finance_requests() -> Result<FinanceRequests, AppError> {
    let (state, me) = ctx::require_user().await?;
    service::finance::requests::list(&state.reads, &me).await
}

/// Approves or rejects a waiting request (a finance user other than its requester).
#[server(endpoint = "decide_finance_request")]
pub async fn decide_finance_request(input: DecideRequestInput) -> Result<RequestResult, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Finance).await?;
    service::finance::requests::decide(&state.db, &me, input, chrono::Utc::now()).await
}

/// Withdraws one's own waiting request.
#[server(endpoint = "cancel_finance_request")]
pub async fn cancel_finance_request(request: i64) -> Result<RequestResult, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Finance).await?;
    service::finance::requests::cancel(&state.db, &me, request, chrono::Utc::now()).await
}

/// One ad account's balance and ledger history for finance, filtered by kind and days
/// (finance staff; admins read).
#[server(endpoint = "finance_account_history")]
pub async fn finance_account_history(
    account: AccountId,
    kind: String,
    from: String,
    to: String,
    page: u64,
) -> Result<BalancePage, AppError> {
    let (state, me) = ctx::require_user().await?;
    service::finance::account_history(&state.reads, &me, account, &kind, &from, &to, page).await
}
