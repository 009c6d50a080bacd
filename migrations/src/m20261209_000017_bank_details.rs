//! `platform_text`: platform settings that are text rather than numbers — so far the bank
//! details an admin publishes for advertisers' transfers (empty: not published). The row is
//! there from the start, so a change can lock it before it reads what it replaces.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum PlatformText {
    Table,
    Key,
    Value,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PlatformText::Table)
                    .col(string_len(PlatformText::Key, 64).primary_key())
                    .col(text(PlatformText::Value))
                    .col(timestamp_with_time_zone(PlatformText::UpdatedAt))
                    .col(big_integer_null(PlatformText::UpdatedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PlatformText::Table, PlatformText::UpdatedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(PlatformText::Table)
                    .columns([
                        PlatformText::Key,
                        PlatformText::Value,
                        PlatformText::UpdatedAt,
                    ])
                    .values_panic(["bank_details".into(), "".into(), Expr::current_timestamp()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PlatformText::Table).to_owned())
            .await
    }
}
