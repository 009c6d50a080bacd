//! The mail outbox, for admins (the development mail viewer).

use crate::{
    error::AppError,
    model::{MailRow, Page},
};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {super::ctx, crate::model::PlatformRole, crate::service};

/// One page of the outbox, newest first, with the messages' bodies (links' secrets only in
/// development mail mode).
#[server(endpoint = "admin_mail")]
pub async fn list_mail(page: u64) -> Result<Page<MailRow>, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::mail::list(&state.reads, &me, page, state.dev_mail).await
}
