//! The dashboard's figures for whoever is signed in.

use crate::{error::AppError, model::Dashboard};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {super::ctx, crate::service};

/// What matters now for the signed-in user's roles (each part only where the role allows).
#[server(endpoint = "dashboard")]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    let (state, me) = ctx::require_user().await?;
    service::dashboard::dashboard(&state.reads, &me, chrono::Utc::now()).await
}
