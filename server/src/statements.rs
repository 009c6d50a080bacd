//! Monthly statements as CSV downloads: plain GET routes behind the session layer, as a file.

use app::{
    api::ctx::{self, AppState},
    error::AppError,
    model::AccountId,
    service::finance::statement,
};
use axum::{
    extract::{Path, Query, State},
    http::request::Parts,
    response::Response,
};
use serde::Deserialize;

/// `?month=YYYY-MM` (absent or empty: the current month).
#[derive(Debug, Default, Deserialize)]
pub struct MonthQuery {
    #[serde(default)]
    pub month: String,
}

/// `GET /billing/statement.csv?month=`: the current account's statement (owners, managers
/// and billing members).
pub async fn own(State(state): State<AppState>, parts: Parts) -> Response {
    download(state, None, &parts).await
}

/// `GET /finance/accounts/{id}/statement.csv?month=`: any account's statement (finance staff;
/// admins read). Anyone else gets "not found" for an account other than their current one.
pub async fn finance(State(state): State<AppState>, Path(id): Path<i64>, parts: Parts) -> Response {
    download(state, Some(AccountId(id)), &parts).await
}

async fn download(state: AppState, account: Option<AccountId>, parts: &Parts) -> Response {
    let result = async {
        // Who is asking first: a signed-out caller is told to sign in, and one who may not
        // read this statement is refused, whatever the address.
        let me = ctx::Request::from_parts(state.clone(), parts)?
            .actor()
            .await?;
        let account = statement::readable_account(&state.db, &me, account).await?;
        let Query(query) = Query::<MonthQuery>::try_from_uri(&parts.uri)
            .map_err(|_| AppError::field("month", "Enter a month like 2026-11."))?;
        let now = chrono::Utc::now();
        let s = statement::of_account(&state.db, account, &query.month, now).await?;
        Ok::<_, AppError>((statement::csv_file_name(&s), statement::statement_csv(&s)?))
    }
    .await;
    app::api::download::csv_response(result)
}
