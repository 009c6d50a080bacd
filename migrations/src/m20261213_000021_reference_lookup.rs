//! A bank transfer is credited to one account (`finance::requests::refuse_credited_elsewhere`):
//! each credit looks its reference up among every account's top-ups and credit requests. The
//! unique indexes on those tables lead with the account, so that lookup would read each table
//! whole, under a lock every credit in the currency waits for: an index on the reference key
//! alone makes it a lookup.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccountTopUp {
    Table,
    ReferenceKey,
}

#[derive(DeriveIden)]
enum FinanceRequest {
    Table,
    ReferenceKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("account_top_up_reference_key")
                    .table(AccountTopUp::Table)
                    .col(AccountTopUp::ReferenceKey)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("finance_request_reference_key")
                    .table(FinanceRequest::Table)
                    .col(FinanceRequest::ReferenceKey)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("finance_request_reference_key")
                    .table(FinanceRequest::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("account_top_up_reference_key")
                    .table(AccountTopUp::Table)
                    .to_owned(),
            )
            .await
    }
}
