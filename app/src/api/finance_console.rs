//! The finance console beyond balances: corrections, spend, publisher payables and payouts,
//! reconciliation — server functions for the pages, and the two CSV downloads as plain GET
//! routes (finance staff; admins read everything and change nothing), answered by
//! [`super::download`] as every download is.

use crate::{
    error::AppError,
    model::{
        CorrectionInput, CorrectionRequests, CorrectionResult, CorrectionRow, DecideRequestInput,
        Payables, PayoutDecision, PayoutInput, PayoutPaid, ReconcileReport, SpendReport,
    },
};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {super::ctx, crate::model::PlatformRole, crate::service};

/// Reverses (or previews reversing) posted charges of a decision or of a channel over a period.
#[server(endpoint = "reverse_charges")]
pub async fn reverse_charges(input: CorrectionInput) -> Result<CorrectionResult, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Finance).await?;
    service::finance::corrections::reverse(&state.db, &me, input, chrono::Utc::now()).await
}

/// Corrections made, newest first.
#[server(endpoint = "list_corrections")]
pub async fn list_corrections(page: u64) -> Result<Vec<CorrectionRow>, AppError> {
    let (state, me) = ctx::require_user().await?;
    service::finance::corrections::list(&state.reads, &me, page).await
}

/// Corrections waiting for a second finance person, and the latest decided (finance staff;
/// admins read).
#[server(endpoint = "correction_requests")]
pub async fn list_correction_requests() -> Result<CorrectionRequests, AppError> {
    let (state, me) = ctx::require_user().await?;
    service::finance::correction_requests::list(&state.reads, &me).await
}

/// Approves (carrying it out) or rejects a waiting correction (a finance user other than the
/// one who asked for it).
#[server(endpoint = "decide_correction")]
pub async fn decide_correction(input: DecideRequestInput) -> Result<CorrectionResult, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Finance).await?;
    service::finance::correction_requests::decide(&state.db, &me, input, chrono::Utc::now()).await
}

/// Withdraws one's own waiting correction.
#[server(endpoint = "cancel_correction")]
pub async fn cancel_correction(request: i64) -> Result<(), AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Finance).await?;
    service::finance::correction_requests::cancel(&state.db, &me, request, chrono::Utc::now()).await
}

/// Spend per ad account and UTC day or month.
#[server(endpoint = "finance_spend")]
pub async fn finance_spend(
    from: String,
    to: String,
    period: String,
) -> Result<SpendReport, AppError> {
    let (state, me) = ctx::require_user().await?;
    let limit = service::finance::spend::PAGE_ROWS;
    service::finance::spend::spend(
        &state.db,
        &me,
        &from,
        &to,
        &period,
        limit,
        chrono::Utc::now(),
    )
    .await
}

/// One UTC month's publisher payables per channel.
#[server(endpoint = "finance_payables")]
pub async fn finance_payables(month: String) -> Result<Payables, AppError> {
    let (state, me) = ctx::require_user().await?;
    let limit = service::finance::payables::PAGE_ROWS;
    service::finance::payables::payables(&state.reads, &me, &month, limit, chrono::Utc::now()).await
}

/// Marks one channel's ended month paid (finance staff); answers the amount paid, or, above
/// the approval threshold or when asked, the payout request waiting for a second finance
/// person.
#[server(endpoint = "mark_payout_paid")]
pub async fn mark_payout_paid(input: PayoutInput) -> Result<PayoutPaid, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Finance).await?;
    service::finance::payables::mark_paid(&state.db, &me, input, chrono::Utc::now()).await
}

/// Approves (paying it) or rejects a waiting payout (a finance user other than the one who
/// marked it paid).
#[server(endpoint = "decide_payout")]
pub async fn decide_payout(input: DecideRequestInput) -> Result<PayoutDecision, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Finance).await?;
    service::finance::payout_requests::decide(&state.db, &me, input, chrono::Utc::now()).await
}

/// Withdraws one's own waiting payout.
#[server(endpoint = "cancel_payout")]
pub async fn cancel_payout(request: i64) -> Result<(), AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Finance).await?;
    service::finance::payout_requests::cancel(&state.db, &me, request, chrono::Utc::now()).await
}

/// Ledger = events = rollups for a period, per account and overall, with every difference;
/// `page` (zero-based, default the first) of the accounts' rows.
#[server(endpoint = "finance_reconcile")]
pub async fn finance_reconcile(
    from: String,
    to: String,
    page: Option<u64>,
) -> Result<ReconcileReport, AppError> {
    let (state, me) = ctx::require_user().await?;
    let page = page.unwrap_or(0);
    // The main pool: a refusal is audited, which the read-only pool cannot write.
    service::finance::reconcile::reconcile(&state.db, &me, &from, &to, page, chrono::Utc::now())
        .await
}

/// The query of the CSV downloads.
#[cfg(feature = "ssr")]
#[derive(Debug, Default, serde::Deserialize)]
pub struct CsvQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    month: String,
}

/// `GET /finance/spend.csv?from=&to=&period=`: the spend report as CSV.
#[cfg(feature = "ssr")]
pub async fn spend_csv(
    axum::extract::State(state): axum::extract::State<ctx::AppState>,
    parts: axum::http::request::Parts,
) -> axum::response::Response {
    let result = async {
        let (me, q) = csv_request(&state, &parts).await?;
        let limit = service::finance::spend::CSV_ROWS;
        let now = chrono::Utc::now();
        let report =
            service::finance::spend::spend(&state.db, &me, &q.from, &q.to, &q.period, limit, now)
                .await?;
        let name = format!(
            "herald-spend-by-{}-{}-to-{}.csv",
            report.period.code(),
            report.from,
            report.to
        );
        Ok((name, service::finance::spend::spend_csv(&report)?))
    }
    .await;
    super::download::csv_response(result)
}

/// `GET /finance/payables.csv?month=`: a month's payables per channel, for the payout run —
/// every channel, streamed.
#[cfg(feature = "ssr")]
pub async fn payables_csv(
    axum::extract::State(state): axum::extract::State<ctx::AppState>,
    parts: axum::http::request::Parts,
) -> axum::response::Response {
    let result = async {
        let (me, q) = csv_request(&state, &parts).await?;
        let now = chrono::Utc::now();
        service::finance::payables::payables_csv(
            state.db.clone(),
            &state.exports,
            &me,
            &q.month,
            now,
        )
        .await
    }
    .await;
    super::download::csv_response(
        result.map(|(name, chunks)| (name, super::download::streamed(chunks))),
    )
}

#[cfg(feature = "ssr")]
async fn csv_request(
    state: &ctx::AppState,
    parts: &axum::http::request::Parts,
) -> Result<(service::Actor, CsvQuery), AppError> {
    // Who is asking first: a signed-out caller is told to sign in and anyone but finance and
    // admins is refused, whatever the address.
    let me = ctx::Request::from_parts(state.clone(), parts)?
        .actor()
        .await?;
    service::finance::require_reader(&state.db, &me).await?;
    let axum::extract::Query(query) = axum::extract::Query::<CsvQuery>::try_from_uri(&parts.uri)
        .map_err(|_| AppError::field("query", "That address is not valid."))?;
    Ok((me, query))
}
