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
use {super::ctx, crate::service};

/// One page of the current account's campaigns.
#[server(endpoint = "campaigns")]
pub async fn list_campaigns(filter: CampaignFilter) -> Result<CampaignList, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::campaigns::list(&state.reads, &me, &filter).await
}

/// The builder's first render for a campaign (`None`: a new one).
#[server(endpoint = "campaign_builder")]
pub async fn load_builder(id: Option<CampaignId>) -> Result<CampaignBuilderData, AppError> {
    let (state, me) = ctx::require_member().await?;
    service::campaigns::builder(&state.db, &state.reads, &state.forecast, &me, id).await
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
