//! Campaign server functions: the list, the builder (load, save), sending for review,
//! lifecycle actions and cloning. Who may do what is decided by `service::campaigns`.

use crate::{
    error::AppError,
    model::{
        AccountId, CampaignAction, CampaignBuilderData, CampaignFilter, CampaignForm, CampaignId,
        CampaignList, CampaignStatus, SaveOutcome,
    },
};
use leptos::{prelude::*, server_fn::codec::Json};
#[cfg(feature = "ssr")]
use {super::ctx, crate::model::BuilderAddress, crate::service};

/// One page of the current account's campaigns.
#[server(endpoint = "campaigns")]
pub async fn list_campaigns(filter: CampaignFilter) -> Result<CampaignList, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::campaigns::list(&state.reads, &me, &filter).await
}

/// The longest builder address query read (every list of the form at its maximum fits).
pub const BUILDER_QUERY_MAX: usize = 32 * 1024;

/// The builder's first render for a campaign (`None`: a new one), with what its address's
/// `query` carried (a form its plain submission sent, a channel search, a failed save to
/// explain; see [`BuilderAddress::from_pairs`]). The query travels as the address's text and
/// is read here as the page's address is.
#[server(endpoint = "campaign_builder")]
pub async fn load_builder(
    id: Option<CampaignId>,
    #[server(default)] query: String,
) -> Result<CampaignBuilderData, AppError> {
    crate::model::limits::check_argument("address", &query, BUILDER_QUERY_MAX)?;
    let (state, me) = ctx::require_member().await?;
    let pairs: Vec<(String, String)> = axum::http::Uri::try_from(format!("/?{query}"))
        .ok()
        .and_then(|uri| axum::extract::Query::try_from_uri(&uri).ok())
        .map(|axum::extract::Query(pairs)| pairs)
        .ok_or_else(|| AppError::field("address", "That address is not valid."))?;
    let address = BuilderAddress::from_pairs(&pairs);
    service::campaigns::builder(&state.db, &state.reads, &state.forecast, &me, id, address).await
}

/// Fields a plain builder form may send: every topic and language ticked, every channel
/// included or excluded, and a few dozen more. More is not a form of ours.
#[cfg(feature = "ssr")]
const PLAIN_FORM_FIELDS_MAX: usize = 2_000;

/// `POST /campaigns/save`: the builder's Save buttons before the wasm has loaded (a plain form
/// post; once hydrated, they call [`save_campaign`] instead). Saves with the same checks and
/// then, for "Save & send for review", sends the ads to review; answers with a redirect to the
/// campaign (`?created=1`, `?saved=1` or `?sent=N`). When the save is refused, back to the
/// builder with the form in the address and `check=1`, so the page shows what was typed with
/// each problem beside its field — nothing typed is lost.
#[cfg(feature = "ssr")]
pub async fn save_form(
    axum::extract::State(state): axum::extract::State<ctx::AppState>,
    parts: axum::http::request::Parts,
    axum::extract::Form(pairs): axum::extract::Form<Vec<(String, String)>>,
) -> axum::response::Response {
    use axum::{http::StatusCode, response::IntoResponse, response::Redirect};
    if pairs.len() > PLAIN_FORM_FIELDS_MAX {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("A campaign form has at most {PLAIN_FORM_FIELDS_MAX} fields."),
        )
            .into_response();
    }
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let id = match value("campaign")
        .filter(|v| !v.is_empty())
        .map(str::parse::<CampaignId>)
    {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => return (StatusCode::NOT_FOUND, "No such campaign.").into_response(),
    };
    let Some(Ok(account)) = value("account").map(|v| v.parse::<i64>().map(AccountId)) else {
        return (StatusCode::BAD_REQUEST, "The form names no account.").into_response();
    };
    let send = value("then") == Some("submit");
    let form = CampaignForm::from_pairs(&pairs);
    // Too large to carry back in an address: refused here, saying what is too long.
    if let Err(AppError::Invalid(fields)) = form.check_sizes().into_result() {
        let reasons: Vec<String> = fields.0.into_values().collect();
        return (StatusCode::UNPROCESSABLE_ENTITY, reasons.join(" ")).into_response();
    }
    let outcome = async {
        let request = ctx::Request::from_parts(state.clone(), &parts)?;
        let me = request.member_of(account).await?;
        let index = state.forecast.index();
        let saved =
            service::campaigns::write::save(&state.db, &index, &me, id, form.clone()).await?;
        let sent = match (send, id) {
            (true, Some(_)) => {
                Some(service::campaigns::write::submit(&state.db, &me, saved.id).await)
            }
            _ => None,
        };
        Ok::<_, AppError>((saved.id, sent))
    }
    .await;
    let builder = |id: Option<CampaignId>| match id {
        Some(id) => format!("/campaigns/{id}"),
        None => "/campaigns/new".to_owned(),
    };
    match outcome {
        Ok((saved, None)) if id.is_none() => Redirect::to(&format!("/campaigns/{saved}?created=1")),
        Ok((saved, None)) => Redirect::to(&format!("/campaigns/{saved}?saved=1")),
        Ok((saved, Some(Ok(n)))) => Redirect::to(&format!("/campaigns/{saved}?sent={n}")),
        // Saved, but the ads could not be sent: the builder says why (the ads are not ready,
        // or the campaign as it stands cannot be sent).
        Ok((saved, Some(Err(e)))) => {
            let why = if matches!(e, AppError::Invalid(_)) {
                "ads"
            } else {
                "state"
            };
            Redirect::to(&format!("/campaigns/{saved}?saved=1&unsent={why}"))
        }
        Err(AppError::Unauthenticated) => Redirect::to("/sign-in"),
        Err(AppError::NotFound) => {
            return (StatusCode::NOT_FOUND, "No such campaign.").into_response();
        }
        Err(AppError::Forbidden) => {
            return (
                StatusCode::FORBIDDEN,
                "Owners and managers change campaigns.",
            )
                .into_response();
        }
        // Problems the builder shows beside its fields, or a change meanwhile: back to it with
        // everything typed, checked again there.
        Err(AppError::Invalid(_) | AppError::Conflict(_)) => {
            Redirect::to(&format!("{}?{}&check=1", builder(id), form.to_query()))
        }
        Err(e) => {
            tracing::warn!(error = %e, "a plain campaign save failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The campaign could not be saved; nothing was written. Try again.",
            )
                .into_response();
        }
    }
    .into_response()
}

/// Saves the builder's form (creates the campaign when `id` is `None`).
#[server(endpoint = "save_campaign", input = Json)]
pub async fn save_campaign(
    account: AccountId,
    id: Option<CampaignId>,
    form: CampaignForm,
) -> Result<SaveOutcome, AppError> {
    let (state, me) = ctx::require_member_of(account).await?;
    let index = state.forecast.index();
    service::campaigns::write::save(&state.db, &index, &me, id, form).await
}

/// Sends the campaign's draft ads to review; returns how many were sent.
#[server(endpoint = "submit_campaign")]
pub async fn submit_campaign(id: CampaignId) -> Result<u64, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::campaigns::write::submit(&state.db, &me, id).await
}

/// Pauses, resumes or archives a campaign; returns its new status.
#[server(endpoint = "campaign_action")]
pub async fn change_campaign_status(
    id: CampaignId,
    action: CampaignAction,
) -> Result<CampaignStatus, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::campaigns::write::act(&state.db, &me, id, action).await
}

/// Copies a campaign and its ads into a new draft; returns the copy's id.
#[server(endpoint = "clone_campaign")]
pub async fn clone_campaign(id: CampaignId) -> Result<CampaignId, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::campaigns::write::clone(&state.db, &me, id).await
}
