//! Catalog CSV import server functions (admins only): upload and preview, confirm (applied in
//! the background), progress, discard, and loading a preview again.

use crate::{
    error::AppError,
    model::{CatalogImportId, ImportPreview, ImportProgress},
};
use leptos::{
    prelude::*,
    server_fn::codec::{MultipartData, MultipartFormData},
};
#[cfg(feature = "ssr")]
use {
    super::ctx,
    crate::model::{IMPORT_MAX_BYTES, PlatformRole},
    crate::service::{self, catalog_import},
};

/// The multipart field that carries the file.
pub const FILE_FIELD: &str = "file";

/// Where the page shows an import.
pub fn import_href(id: CatalogImportId) -> String {
    format!("/admin/catalog-import?import={id}")
}

/// Uploads a CSV file (multipart field [`FILE_FIELD`]) and stages it; nothing is written to
/// the catalog. Redirects to the import's page, so a plain form post works without the wasm.
#[server(endpoint = "admin_catalog_import_upload", input = MultipartFormData)]
pub async fn upload_catalog(data: MultipartData) -> Result<ImportPreview, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    // The upload streams for a while: no read connection held meanwhile.
    state.reads.release().await;
    let (file_name, file) = read_file(data).await?;
    let preview = service::catalog_import::stage(&state.db, &me, &file_name, file).await?;
    leptos_axum::redirect(&import_href(preview.id));
    Ok(preview)
}

/// The uploaded file's name and bytes, refused as soon as it passes the size limit (a
/// multipart body is streamed: axum's body limit does not apply to it).
#[cfg(feature = "ssr")]
async fn read_file(data: MultipartData) -> Result<(String, Vec<u8>), AppError> {
    let broken = |e: &dyn std::fmt::Display| {
        tracing::warn!(%e, "catalog upload interrupted");
        AppError::field("file", "The upload was interrupted. Please try again.")
    };
    let mut form = data
        .into_inner()
        .ok_or_else(|| AppError::internal("catalog upload", "no server-side multipart data"))?;
    while let Some(mut field) = form.next_field().await.map_err(|e| broken(&e))? {
        if field.name() != Some(FILE_FIELD) {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_owned();
        let mut file = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| broken(&e))? {
            if file.len() + chunk.len() > IMPORT_MAX_BYTES {
                return Err(catalog_import::file_too_large());
            }
            file.extend_from_slice(&chunk);
        }
        return Ok((name, file));
    }
    Err(AppError::field("file", "Choose a CSV file to upload."))
}

/// A staged import with its counts and first bad rows.
#[server(endpoint = "admin_catalog_import")]
pub async fn load_import(id: CatalogImportId) -> Result<ImportPreview, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::catalog_import::preview(&state.reads, &me, id).await
}

/// Confirms a previewed import and starts applying it in the background; returns at once.
/// Poll [`poll_import`]. Confirming twice is refused.
#[server(endpoint = "admin_catalog_import_apply")]
pub async fn apply_import(id: CatalogImportId) -> Result<(), AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    let claimed = service::catalog_import::claim(&state.reads, &me, id).await?;
    // The task outlives the request: it takes the main pool, not the request's reads. It
    // stays in the request's span, so its log lines carry the request's id, and is tracked,
    // so a graceful shutdown lets it finish.
    use tracing::Instrument;
    let (db, imports, forecast) = (state.db, state.imports, state.forecast);
    imports.clone().spawn(
        async move {
            if catalog_import::run(&db, &imports, claimed).await.is_ok()
                && let Err(e) = forecast.refresh(&db).await
            {
                tracing::warn!(%e, "forecast refresh after a catalog import");
            }
        }
        .in_current_span(),
    );
    Ok(())
}

/// How far an import being applied has got.
#[server(endpoint = "admin_catalog_import_progress")]
pub async fn poll_import(id: CatalogImportId) -> Result<ImportProgress, AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::catalog_import::progress(&state.reads, &state.imports, &me, id).await
}

/// Throws away a previewed import.
#[server(endpoint = "admin_catalog_import_discard")]
pub async fn discard_import(id: CatalogImportId) -> Result<(), AppError> {
    let (state, me) = ctx::require_staff(PlatformRole::Admin).await?;
    service::catalog_import::discard(&state.db, &me, id).await
}
