//! Catalog and forecast schema: platform settings (with the catalog version every instance
//! watches to refresh its forecast index), staged CSV imports, and indexes for the channel
//! browser's sorts.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PlatformSetting {
    Table,
    Key,
    Value,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum CatalogImport {
    Table,
    Id,
    CreatedBy,
    CreatedAt,
    FileName,
    FileSha256,
    Csv,
    TotalRows,
    BadRows,
    NewRows,
    ChangedRows,
    UnchangedRows,
    Status,
    Message,
    FinishedAt,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Channel {
    Table,
    AvgViews,
    Title,
}

/// Defaults of the settings this issue introduces: (key, value).
const DEFAULTS: &[(&str, i64)] = &[
    // Channels below this many subscribers are not eligible for ads.
    ("eligibility_min_subscribers", 1_000),
    // At most this many sponsored messages per channel per day (the forecast's slot model).
    ("ad_slots_per_day", 2),
    // Bumped by every catalog write; instances rebuild their forecast index when it moves.
    ("catalog_version", 1),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PlatformSetting::Table)
                    .col(string_len(PlatformSetting::Key, 64).primary_key())
                    .col(big_integer(PlatformSetting::Value))
                    .col(timestamp_with_time_zone(PlatformSetting::UpdatedAt))
                    .col(big_integer_null(PlatformSetting::UpdatedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PlatformSetting::Table, PlatformSetting::UpdatedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        let mut insert = Query::insert()
            .into_table(PlatformSetting::Table)
            .columns([
                PlatformSetting::Key,
                PlatformSetting::Value,
                PlatformSetting::UpdatedAt,
            ])
            .to_owned();
        for (key, value) in DEFAULTS {
            insert.values_panic([(*key).into(), (*value).into(), Expr::current_timestamp()]);
        }
        manager.exec_stmt(insert).await?;

        manager
            .create_table(
                Table::create()
                    .table(CatalogImport::Table)
                    .col(big_pk_auto(CatalogImport::Id))
                    .col(big_integer(CatalogImport::CreatedBy))
                    .col(timestamp_with_time_zone(CatalogImport::CreatedAt))
                    .col(string_len(CatalogImport::FileName, 255))
                    .col(string_len(CatalogImport::FileSha256, 64))
                    .col(text(CatalogImport::Csv))
                    .col(big_integer(CatalogImport::TotalRows))
                    .col(big_integer(CatalogImport::BadRows))
                    .col(big_integer(CatalogImport::NewRows))
                    .col(big_integer(CatalogImport::ChangedRows))
                    .col(big_integer(CatalogImport::UnchangedRows))
                    .col(string_len(CatalogImport::Status, 16))
                    .col(text_null(CatalogImport::Message))
                    .col(timestamp_with_time_zone_null(CatalogImport::FinishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CatalogImport::Table, CatalogImport::CreatedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;

        // The browser sorts by views and by name; subscribers already has its index.
        manager
            .create_index(
                Index::create()
                    .name("idx_channel_avg_views")
                    .table(Channel::Table)
                    .col(Channel::AvgViews)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_channel_title")
                    .table(Channel::Table)
                    .col(Channel::Title)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in ["idx_channel_title", "idx_channel_avg_views"] {
            manager
                .drop_index(Index::drop().name(index).table(Channel::Table).to_owned())
                .await?;
        }
        for table in [
            CatalogImport::Table.into_iden(),
            PlatformSetting::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
