//! Each accepted delivery event keeps the account-local day it was counted on (the day of its
//! `at` in the account's time zone then), the day the reporting rollups filed it under.
//! Reconciliation compares events with rollups by this day: computed again later from `at`,
//! an account's change of time zone would move events across a period's first or last day
//! while their rollup rows stay, and show differences that are not there. Events accepted
//! before this column existed keep it empty and are placed by `at` as before.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum DeliveryEvent {
    Table,
    Day,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DeliveryEvent::Table)
                    .add_column(date_null(DeliveryEvent::Day))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DeliveryEvent::Table)
                    .drop_column(DeliveryEvent::Day)
                    .to_owned(),
            )
            .await
    }
}
