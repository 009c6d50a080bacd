//! The finance console's two-person rule: every top-up and refund is a `finance_request`.
//! Below the approval threshold it is carried out at once (`done`, nobody else decides); above
//! it, it waits (`pending`) until a different finance user approves it (`done`) or rejects it,
//! or its requester cancels it. The database itself refuses a request decided by the person
//! who made it, so no path through the code (two sessions, the API, a bug) can approve its own
//! request. A reference names one live request per account and kind.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FinanceRequest {
    Table,
    Id,
    Kind,
    AccountId,
    Amount,
    Currency,
    ExternalReference,
    Note,
    Status,
    RequestedBy,
    RequestedAt,
    DecidedBy,
    DecidedAt,
    Reason,
    TransferId,
}

#[derive(DeriveIden)]
enum AdAccount {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PlatformSetting {
    Table,
    Key,
    Value,
    UpdatedAt,
}

const THRESHOLD: &str = "finance_approval_units";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FinanceRequest::Table)
                    .col(big_pk_auto(FinanceRequest::Id))
                    .col(string_len(FinanceRequest::Kind, 16))
                    .col(big_integer(FinanceRequest::AccountId))
                    .col(big_integer(FinanceRequest::Amount))
                    .col(string_len(FinanceRequest::Currency, 3))
                    .col(string_len(FinanceRequest::ExternalReference, 100))
                    .col(string_len(FinanceRequest::Note, 500))
                    .col(string_len(FinanceRequest::Status, 16))
                    .col(big_integer(FinanceRequest::RequestedBy))
                    .col(timestamp_with_time_zone(FinanceRequest::RequestedAt))
                    .col(big_integer_null(FinanceRequest::DecidedBy))
                    .col(timestamp_with_time_zone_null(FinanceRequest::DecidedAt))
                    .col(string_len(FinanceRequest::Reason, 500).default(""))
                    .col(big_integer_null(FinanceRequest::TransferId))
                    .check((
                        "finance_request_positive",
                        Expr::col(FinanceRequest::Amount).gt(0),
                    ))
                    .check((
                        "finance_request_kind",
                        Expr::col(FinanceRequest::Kind).is_in(["top_up", "refund"]),
                    ))
                    .check((
                        "finance_request_status",
                        Expr::col(FinanceRequest::Status).is_in([
                            "pending",
                            "done",
                            "rejected",
                            "cancelled",
                        ]),
                    ))
                    // The two-person rule, in the database.
                    .check((
                        "finance_request_two_people",
                        Expr::col(FinanceRequest::DecidedBy)
                            .is_null()
                            .or(Expr::col(FinanceRequest::DecidedBy)
                                .ne(Expr::col(FinanceRequest::RequestedBy))),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(FinanceRequest::Table, FinanceRequest::AccountId)
                            .to(AdAccount::Table, AdAccount::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(FinanceRequest::Table, FinanceRequest::RequestedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(FinanceRequest::Table, FinanceRequest::DecidedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One live request (waiting or done) per account, kind and reference: a rejected or
        // cancelled one leaves its reference free to use again.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_finance_request_reference ON finance_request \
                 (account_id, kind, external_reference) WHERE status IN ('pending', 'done')",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_finance_request_status")
                    .table(FinanceRequest::Table)
                    .col(FinanceRequest::Status)
                    .col(FinanceRequest::RequestedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(PlatformSetting::Table)
                    .columns([
                        PlatformSetting::Key,
                        PlatformSetting::Value,
                        PlatformSetting::UpdatedAt,
                    ])
                    .values_panic([
                        THRESHOLD.into(),
                        10_000i64.into(),
                        Expr::current_timestamp(),
                    ])
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(PlatformSetting::Table)
                    .and_where(Expr::col(PlatformSetting::Key).eq(THRESHOLD))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(FinanceRequest::Table).to_owned())
            .await?;
        Ok(())
    }
}
