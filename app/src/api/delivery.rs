//! Delivery-network API keys, for admins.

use crate::{
    error::AppError,
    model::{CreatedDeliveryKey, DeliveryKeyView, NewDeliveryKey},
};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {super::ctx, crate::model::PlatformRole, crate::service};

/// Every key, newest first (admins).
#[server(endpoint = "delivery_keys")]
pub async fn delivery_keys() -> Result<Vec<DeliveryKeyView>, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::delivery::keys::list(&state.reads, &me).await
}

/// Creates a key once the admin has typed their password again; its secret is in the answer,
/// shown once (admins).
#[server(endpoint = "create_delivery_key")]
pub async fn create_delivery_key(
    input: NewDeliveryKey,
    #[server(default)] password: String,
) -> Result<CreatedDeliveryKey, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    // Checking the password waits its turn for a core: no read connection held meanwhile.
    state.reads.release().await;
    service::delivery::keys::create(
        &state.db,
        &state.hasher,
        &me,
        input,
        password,
        chrono::Utc::now(),
    )
    .await
}

/// Revokes a key at once (admins).
#[server(endpoint = "revoke_delivery_key")]
pub async fn revoke_delivery_key(id: i64) -> Result<(), AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::delivery::keys::revoke(&state.db, &me, id, chrono::Utc::now()).await
}
