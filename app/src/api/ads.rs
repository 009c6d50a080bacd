//! Ad server functions: the editor's data, saving an edit (a new version once one was sent),
//! sending a version to review, pausing and resuming.

use crate::{
    error::AppError,
    model::{AdDetails, AdEditorData, AdId, AdInput, CampaignId},
};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {super::ctx, crate::service};

/// The ads of a campaign with their versions.
#[server(endpoint = "ads")]
pub async fn list_ads(campaign: CampaignId) -> Result<Vec<AdDetails>, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::ads::list(&state.reads, &me, campaign).await
}

/// The ad editor for a new ad (`ad` = `None`) or an existing one, with its history.
#[server(endpoint = "ad_editor")]
pub async fn load_ad_editor(
    campaign: CampaignId,
    ad: Option<AdId>,
) -> Result<AdEditorData, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::ads::editor(&state.reads, &me, campaign, ad).await
}

/// Saves an ad; returns its id (new ads get one).
#[server(endpoint = "save_ad")]
pub async fn save_ad(
    campaign: CampaignId,
    ad: Option<AdId>,
    input: AdInput,
) -> Result<AdId, AppError> {
    let (state, me) = ctx::require_member().await?;
    let id = service::ads::save(&state.db, &me, campaign, ad, input).await?;
    // A plain form post (before the wasm loads) lands on the saved ad; the app follows too.
    leptos_axum::redirect(&format!("/campaigns/{campaign}/ads/{id}?saved=1"));
    Ok(id)
}

/// Sends the ad's newest version to review.
#[server(endpoint = "submit_ad")]
pub async fn submit_ad(ad: AdId) -> Result<(), AppError> {
    let (state, me) = ctx::require_member().await?;
    service::ads::submit(&state.db, &me, ad).await
}

/// Pauses (`paused` = true) or resumes one ad.
#[server(endpoint = "pause_ad")]
pub async fn pause_ad(ad: AdId, paused: bool) -> Result<(), AppError> {
    let (state, me) = ctx::require_member().await?;
    service::ads::set_paused(&state.db, &me, ad, paused).await
}
