//! The two-person rule for corrections. A correction gives posted charges back to advertisers'
//! balances: above the approval threshold (`finance_approval_units`, per currency, counting what
//! the same person reversed alone in the last 24 hours) it is recorded as a waiting
//! `correction_request` — what it selects, the totals it would give back when asked and a
//! digest of those charges — and is carried out only when a different finance user approves it
//! (in the same transaction, and only if the charges it selects are still exactly those), or
//! rejected with a reason, or
//! cancelled by its requester. As for top-ups and refunds, the database itself refuses a request
//! decided by the person who made it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CorrectionRequest {
    Table,
    Id,
    Scope,
    DecisionId,
    ChannelId,
    FromDay,
    ToDay,
    Reason,
    Decisions,
    /// What it would give back when asked, per currency (JSON), shown to the approver.
    Totals,
    /// A digest of the charges it would reverse when asked (each decision, the posted total it
    /// would reverse through, and its two parts): an approval carries out exactly these.
    Charges,
    Status,
    RequestedBy,
    RequestedAt,
    DecidedBy,
    DecidedAt,
    /// Why it was rejected.
    Rejection,
    /// The `spend_correction` an approval made.
    CorrectionId,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SpendCorrection {
    Table,
    Id,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ChargeReversal {
    Table,
    CorrectionId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CorrectionRequest::Table)
                    .col(big_pk_auto(CorrectionRequest::Id))
                    .col(string_len(CorrectionRequest::Scope, 16))
                    .col(big_integer_null(CorrectionRequest::DecisionId))
                    .col(big_integer_null(CorrectionRequest::ChannelId))
                    .col(date_null(CorrectionRequest::FromDay))
                    .col(date_null(CorrectionRequest::ToDay))
                    .col(string_len(CorrectionRequest::Reason, 500))
                    .col(big_integer(CorrectionRequest::Decisions))
                    .col(text(CorrectionRequest::Totals))
                    .col(string_len(CorrectionRequest::Charges, 64))
                    .col(string_len(CorrectionRequest::Status, 16))
                    .col(big_integer(CorrectionRequest::RequestedBy))
                    .col(timestamp_with_time_zone(CorrectionRequest::RequestedAt))
                    .col(big_integer_null(CorrectionRequest::DecidedBy))
                    .col(timestamp_with_time_zone_null(CorrectionRequest::DecidedAt))
                    .col(string_len(CorrectionRequest::Rejection, 500).default(""))
                    .col(big_integer_null(CorrectionRequest::CorrectionId))
                    .check((
                        "correction_request_scope",
                        Expr::col(CorrectionRequest::Scope).is_in(["decision", "channel"]),
                    ))
                    .check((
                        "correction_request_status",
                        Expr::col(CorrectionRequest::Status).is_in([
                            "pending",
                            "done",
                            "rejected",
                            "cancelled",
                        ]),
                    ))
                    // The two-person rule, in the database.
                    .check((
                        "correction_request_two_people",
                        Expr::col(CorrectionRequest::DecidedBy)
                            .is_null()
                            .or(Expr::col(CorrectionRequest::DecidedBy)
                                .ne(Expr::col(CorrectionRequest::RequestedBy))),
                    ))
                    // Done means carried out: an approval always names its correction.
                    .check((
                        "correction_request_done",
                        Expr::col(CorrectionRequest::Status)
                            .ne("done")
                            .or(Expr::col(CorrectionRequest::CorrectionId).is_not_null()),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CorrectionRequest::Table, CorrectionRequest::RequestedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CorrectionRequest::Table, CorrectionRequest::DecidedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CorrectionRequest::Table, CorrectionRequest::CorrectionId)
                            .to(SpendCorrection::Table, SpendCorrection::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_correction_request_status")
                    .table(CorrectionRequest::Table)
                    .col(CorrectionRequest::Status)
                    .col(CorrectionRequest::RequestedAt)
                    .to_owned(),
            )
            .await?;
        // Each correction is carried out by at most one approval.
        manager
            .create_index(
                Index::create()
                    .name("idx_correction_request_correction")
                    .table(CorrectionRequest::Table)
                    .col(CorrectionRequest::CorrectionId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // What one person reversed alone lately is read under the currency's revenue lock,
        // which delivery's posting takes too: by index, never by scanning every correction.
        manager
            .create_index(
                Index::create()
                    .name("idx_spend_correction_by")
                    .table(SpendCorrection::Table)
                    .col(SpendCorrection::CreatedBy)
                    .col(SpendCorrection::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_charge_reversal_correction")
                    .table(ChargeReversal::Table)
                    .col(ChargeReversal::CorrectionId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("idx_spend_correction_by", "spend_correction"),
            ("idx_charge_reversal_correction", "charge_reversal"),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table(CorrectionRequest::Table).to_owned())
            .await
    }
}
