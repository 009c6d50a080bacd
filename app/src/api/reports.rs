//! Reports in the browser: a report of the current account, its CSV download (a plain axum
//! route, since a download streams), share links, and the report a share link opens.

use crate::{
    error::AppError,
    model::{CampaignId, NewShareLink, Report, ReportQuery, ShareLinkInput, ShareLinkView},
};
use leptos::{prelude::*, server_fn::codec::Json};
#[cfg(feature = "ssr")]
use {super::ctx, crate::service};

/// A report of the current account (owners, managers, analysts; billing members see money).
// JSON: a query whose parts are all empty (the plain `/reports`) still arrives as a query.
#[server(endpoint = "report", input = Json)]
pub async fn get_report(query: ReportQuery) -> Result<Report, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::reports::report(&state.reads, &me, &query, chrono::Utc::now()).await
}

/// The report a share link opens (no account needed).
#[server(endpoint = "shared_report", input = Json)]
pub async fn shared_report(token: String, query: ReportQuery) -> Result<Report, AppError> {
    let state = ctx::request()?.state;
    service::reports::shared(&state.reads, &token, &query, chrono::Utc::now()).await
}

/// A campaign's active share links (owners and managers).
#[server(endpoint = "share_links")]
pub async fn share_links(campaign: CampaignId) -> Result<Vec<ShareLinkView>, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::reports::share::list(&state.reads, &me, campaign, chrono::Utc::now()).await
}

/// Creates a share link to a campaign's report; the token is in the answer only.
#[server(endpoint = "create_share_link")]
pub async fn create_share_link(input: ShareLinkInput) -> Result<NewShareLink, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::reports::share::create(&state.db, &me, &input, chrono::Utc::now()).await
}

/// Revokes a share link of the current account.
#[server(endpoint = "revoke_share_link")]
pub async fn revoke_share_link(id: i64) -> Result<(), AppError> {
    let (state, me) = ctx::require_member().await?;
    service::reports::share::revoke(&state.db, &me, id, chrono::Utc::now()).await
}

/// `GET /reports/export.csv?…` (the report's own query): the report as shown, as CSV,
/// streamed. Who may read the report may download it; anything else answers as the report
/// would (401, 403, 404, 422) with a plain-text reason.
#[cfg(feature = "ssr")]
pub async fn export_csv(
    axum::extract::State(state): axum::extract::State<ctx::AppState>,
    parts: axum::http::request::Parts,
) -> axum::response::Response {
    let result = async {
        // Who is asking first: a signed-out caller is told to sign in, whatever the address.
        let request = ctx::Request::from_parts(state.clone(), &parts)?;
        let me = request.actor().await?;
        // Then whether they may read reports at all, as `get_report` does: a caller with no
        // account is "not found" whatever the address, before the address is parsed.
        if me.membership.is_none() {
            return Err(AppError::NotFound);
        }
        let axum::extract::Query(query) =
            axum::extract::Query::<ReportQuery>::try_from_uri(&parts.uri)
                .map_err(|_| AppError::field("query", "That report address is not valid."))?;
        let now = chrono::Utc::now();
        let subject =
            service::reports::scope::for_member(&request.state.reads, &me, &query, now).await?;
        let breakdown = query
            .by
            .as_deref()
            .and_then(crate::model::Breakdown::from_code)
            .unwrap_or_default();
        let name = service::reports::export::file_name(&subject, breakdown);
        let chunks =
            service::reports::export::start(state.db.clone(), &state.exports, subject, breakdown)?;
        Ok::<_, AppError>((name, chunks))
    }
    .await;
    super::download::csv_response(
        result.map(|(name, chunks)| (name, super::download::streamed(chunks))),
    )
}
