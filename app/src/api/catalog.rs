//! Catalog and forecast server functions: topics, the channel browser, the live forecast, and
//! the admin's edit of one channel.

use crate::{
    error::AppError,
    model::{
        CatalogSettingsInput, ChannelFilter, ChannelId, ChannelInput, ChannelRow, Forecast,
        ForecastRequest, Page, TargetingForm, TargetingOptions, TargetingPageData, Topic, TopicId,
        TopicInput, TopicRow,
    },
};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    super::ctx,
    crate::model::{PlatformRole, limits},
    crate::service,
};

/// The topic taxonomy (any signed-in user).
#[server(endpoint = "catalog_topics")]
pub async fn topics() -> Result<Vec<Topic>, AppError> {
    let (state, _me) = ctx::require_user().await?;
    service::catalog::topics(&state.reads).await
}

/// Topics and languages for the targeting controls, with eligible channel counts.
#[server(endpoint = "targeting_options")]
pub async fn load_targeting_options() -> Result<TargetingOptions, AppError> {
    let (state, _me) = ctx::require_user().await?;
    Ok(service::forecast::options(&state.forecast))
}

/// The targeting page's first render: options, the forecast of `form`, and the channels
/// matching `find`. One call, because a server function called after another one's `.await`
/// during server rendering no longer sees its request.
#[server(endpoint = "targeting_page")]
pub async fn load_targeting_page(
    form: TargetingForm,
    find: String,
) -> Result<TargetingPageData, AppError> {
    let (state, me, currency) = ctx::require_user_priced().await?;
    limits::check_argument("search", &find, limits::SEARCH_MAX)?;
    let parsed = form.parse_in(Some(&currency));
    let options = service::forecast::options(&state.forecast);
    let forecast = match parsed {
        Ok(request) => {
            service::forecast::forecast(
                &state.db,
                &state.reads,
                &state.forecast,
                &currency,
                request,
            )
            .await
        }
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    let found = service::catalog::search_eligible(&state.reads, &me, find).await?;
    Ok(TargetingPageData {
        options,
        forecast,
        found,
    })
}

/// One page of the channel browser.
#[server(endpoint = "catalog_channels")]
pub async fn list_channels(filter: ChannelFilter) -> Result<Page<ChannelRow>, AppError> {
    let (state, me) = ctx::require_user().await?;
    service::catalog::list_channels(&state.reads, &me, &filter).await
}

/// Reach and cost of a targeting at a bid, with one page of matching channels.
#[server(endpoint = "forecast")]
pub async fn get_forecast(request: ForecastRequest) -> Result<Forecast, AppError> {
    let (state, _me, currency) = ctx::require_user_priced().await?;
    service::forecast::forecast(&state.db, &state.reads, &state.forecast, &currency, request).await
}

/// One channel for the admin's edit form.
#[server(endpoint = "admin_channel")]
pub async fn channel_for_edit(id: ChannelId) -> Result<(ChannelRow, ChannelInput), AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::catalog::channel_input(&state.reads, &me, id).await
}

/// Every topic with its channel count, for the admin's topics page.
#[server(endpoint = "admin_topics")]
pub async fn topic_rows() -> Result<Vec<TopicRow>, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::catalog::topic_rows(&state.reads, &me).await
}

/// Adds a topic or renames one (admins); this instance's forecasts follow at once, the
/// others' within seconds.
#[server(endpoint = "admin_save_topic")]
pub async fn save_topic(input: TopicInput) -> Result<TopicId, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    let id = service::catalog::save_topic(&state.db, &me, input).await?;
    state.forecast.refresh(&state.db).await?;
    Ok(id)
}

/// Saves an admin's edit of one channel; forecasts follow at once.
#[server(endpoint = "admin_update_channel")]
pub async fn update_channel(id: ChannelId, input: ChannelInput) -> Result<(), AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::catalog::update_channel(&state.db, &me, id, input).await?;
    state.forecast.refresh(&state.db).await?;
    Ok(())
}

/// The catalog settings for the admin form.
#[server(endpoint = "admin_catalog_settings")]
pub async fn catalog_settings() -> Result<CatalogSettingsInput, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::settings::catalog_input(&state.reads, &me).await
}

/// Changes the eligibility threshold and the slot model; forecasts follow at once.
#[server(endpoint = "admin_update_catalog_settings")]
pub async fn update_catalog_settings(input: CatalogSettingsInput) -> Result<(), AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::settings::update_catalog(&state.db, &me, input).await?;
    state.forecast.refresh(&state.db).await?;
    Ok(())
}
