//! Platform settings: typed reads of the `platform_setting` table, and the catalog version
//! every catalog write bumps so that each instance knows to rebuild its forecast index.

use crate::{entity::platform_setting, error::AppError};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, sea_query::Expr};

const MIN_SUBSCRIBERS: &str = "eligibility_min_subscribers";
const SLOTS_PER_DAY: &str = "ad_slots_per_day";
const CATALOG_VERSION: &str = "catalog_version";

/// The settings the catalog and the forecast depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlatformSettings {
    /// Channels below this many subscribers are not eligible for ads.
    pub min_subscribers: i64,
    /// At most this many sponsored messages per channel per day.
    pub slots_per_day: i64,
    /// Moves on every catalog write.
    pub catalog_version: i64,
}

/// Reads every setting (one query).
pub async fn load(db: &impl ConnectionTrait) -> Result<PlatformSettings, AppError> {
    let rows = platform_setting::Entity::find().all(db).await?;
    let value = |key: &str| {
        rows.iter()
            .find(|r| r.key == key)
            .map(|r| r.value)
            .ok_or_else(|| AppError::internal("settings", format!("setting {key} is missing")))
    };
    Ok(PlatformSettings {
        min_subscribers: value(MIN_SUBSCRIBERS)?,
        slots_per_day: value(SLOTS_PER_DAY)?,
        catalog_version: value(CATALOG_VERSION)?,
    })
}

/// The current catalog version (a primary-key lookup, cheap enough to poll).
pub async fn catalog_version(db: &impl ConnectionTrait) -> Result<i64, AppError> {
    platform_setting::Entity::find_by_id(CATALOG_VERSION.to_owned())
        .one(db)
        .await?
        .map(|r| r.value)
        .ok_or_else(|| AppError::internal("settings", "catalog_version is missing"))
}

/// Marks the catalog as changed; call it inside the transaction that changes it.
pub async fn bump_catalog_version(db: &impl ConnectionTrait) -> Result<(), AppError> {
    platform_setting::Entity::update_many()
        .col_expr(
            platform_setting::Column::Value,
            Expr::col(platform_setting::Column::Value).add(1),
        )
        .col_expr(
            platform_setting::Column::UpdatedAt,
            Expr::value(chrono::Utc::now()),
        )
        .filter(platform_setting::Column::Key.eq(CATALOG_VERSION))
        .exec(db)
        .await?;
    Ok(())
}
