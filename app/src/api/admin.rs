//! Platform administration: users, staff roles, the audit trail and the bank details
//! advertisers pay to (admins only).

use crate::{
    error::AppError,
    model::{
        AuditFilter, AuditRow, BankDetailsInput, Page, PublishedBankDetails, RoleChangeInput,
        UserRow,
    },
};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {super::ctx, crate::model::PlatformRole, crate::service};

/// Users matching `search` (part of an email), one page.
#[server(endpoint = "admin_users")]
pub async fn list_users(search: String, page: u64) -> Result<Page<UserRow>, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::admin::list_users(&state.reads, &me, &search, page).await
}

/// Grants a platform role once the admin has typed their password again, or revokes one
/// (no password asked; `password` may be left out).
#[server(endpoint = "admin_change_role")]
pub async fn change_role(
    input: RoleChangeInput,
    #[server(default)] password: String,
) -> Result<(), AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    // Checking the password waits its turn for a core: no read connection held meanwhile.
    state.reads.release().await;
    service::admin::change_role(&state.db, &state.hasher, &me, input, password).await
}

/// One page of the audit trail, filtered.
#[server(endpoint = "admin_audit")]
pub async fn list_audit(filter: AuditFilter) -> Result<Page<AuditRow>, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::audit::list(&state.reads, &me, &filter).await
}

/// The bank details advertisers pay to, as the settings form shows them.
#[server(endpoint = "admin_bank_details")]
pub async fn bank_details_settings() -> Result<PublishedBankDetails, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::settings::bank_details_settings(&state.reads, &me).await
}

/// Publishes (or, empty, withdraws) the bank details advertisers pay to, once the admin has
/// typed their password again; audited.
#[server(endpoint = "admin_update_bank_details")]
pub async fn update_bank_details(
    input: BankDetailsInput,
    password: String,
) -> Result<(), AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    // Checking the password waits its turn for a core: no read connection held meanwhile.
    state.reads.release().await;
    service::settings::update_bank_details(&state.db, &state.hasher, &me, input, password).await
}
