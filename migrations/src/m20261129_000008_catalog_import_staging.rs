//! Catalog imports applied in short steps: a staging table that holds an import's rows until
//! one short transaction publishes them, and the heartbeat by which an import left "applying"
//! by a dead process is recognised and failed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CatalogImport {
    Table,
    Id,
    HeartbeatAt,
}

#[derive(DeriveIden)]
enum CatalogImportRow {
    Table,
    Id,
    ImportId,
    Handle,
    Title,
    TopicId,
    Language,
    Subscribers,
    AvgViews,
    PostsPerDay,
    Status,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CatalogImport::Table)
                    .add_column(timestamp_with_time_zone_null(CatalogImport::HeartbeatAt))
                    .to_owned(),
            )
            .await?;
        // No foreign key to `topic` or `channel`: staged rows are checked when they are
        // published, and deleting them in chunks must not wait on other tables.
        manager
            .create_table(
                Table::create()
                    .table(CatalogImportRow::Table)
                    .col(big_pk_auto(CatalogImportRow::Id))
                    .col(big_integer(CatalogImportRow::ImportId))
                    .col(string_len(CatalogImportRow::Handle, 40))
                    .col(string_len(CatalogImportRow::Title, 128))
                    .col(big_integer(CatalogImportRow::TopicId))
                    .col(string_len(CatalogImportRow::Language, 2))
                    .col(big_integer(CatalogImportRow::Subscribers))
                    .col(big_integer(CatalogImportRow::AvgViews))
                    .col(double(CatalogImportRow::PostsPerDay))
                    .col(string_len(CatalogImportRow::Status, 16))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CatalogImportRow::Table, CatalogImportRow::ImportId)
                            .to(CatalogImport::Table, CatalogImport::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_catalog_import_row_import")
                    .table(CatalogImportRow::Table)
                    .col(CatalogImportRow::ImportId)
                    .col(CatalogImportRow::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CatalogImportRow::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CatalogImport::Table)
                    .drop_column(CatalogImport::HeartbeatAt)
                    .to_owned(),
            )
            .await
    }
}
