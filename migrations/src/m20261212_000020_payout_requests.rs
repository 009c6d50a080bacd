//! The two-person rule for payouts. Marking a channel's month paid records money that has left
//! for a publisher: above the approval threshold (`finance_approval_units`, in the payout's
//! currency) it is recorded as a waiting `payout_request` — the channel, currency and month,
//! what was owed when asked and the outgoing payment's reference — and the payout is made only
//! when a different finance user approves it (in the same transaction, and only if the month
//! still owes exactly that), or rejected with a reason, or cancelled by its requester. As for
//! top-ups, refunds and corrections, the database itself refuses a request decided by the
//! person who made it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PayoutRequest {
    Table,
    Id,
    ChannelId,
    Currency,
    Period,
    /// What the month owed the channel when asked: an approval pays exactly this.
    Amount,
    Reference,
    Status,
    RequestedBy,
    RequestedAt,
    DecidedBy,
    DecidedAt,
    /// Why it was rejected.
    Rejection,
    /// The `publisher_payout` an approval made.
    PayoutId,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Channel {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PublisherPayout {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PayoutRequest::Table)
                    .col(big_pk_auto(PayoutRequest::Id))
                    .col(big_integer(PayoutRequest::ChannelId))
                    .col(string_len(PayoutRequest::Currency, 3))
                    .col(string_len(PayoutRequest::Period, 7))
                    .col(big_integer(PayoutRequest::Amount))
                    .col(string_len(PayoutRequest::Reference, 100))
                    .col(string_len(PayoutRequest::Status, 16))
                    .col(big_integer(PayoutRequest::RequestedBy))
                    .col(timestamp_with_time_zone(PayoutRequest::RequestedAt))
                    .col(big_integer_null(PayoutRequest::DecidedBy))
                    .col(timestamp_with_time_zone_null(PayoutRequest::DecidedAt))
                    .col(string_len(PayoutRequest::Rejection, 500).default(""))
                    .col(big_integer_null(PayoutRequest::PayoutId))
                    .check((
                        "payout_request_positive",
                        Expr::col(PayoutRequest::Amount).gt(0),
                    ))
                    .check((
                        "payout_request_status",
                        Expr::col(PayoutRequest::Status).is_in([
                            "pending",
                            "done",
                            "rejected",
                            "cancelled",
                        ]),
                    ))
                    // The two-person rule, in the database.
                    .check((
                        "payout_request_two_people",
                        Expr::col(PayoutRequest::DecidedBy)
                            .is_null()
                            .or(Expr::col(PayoutRequest::DecidedBy)
                                .ne(Expr::col(PayoutRequest::RequestedBy))),
                    ))
                    // Done means paid: an approval always names its payout.
                    .check((
                        "payout_request_done",
                        Expr::col(PayoutRequest::Status)
                            .ne("done")
                            .or(Expr::col(PayoutRequest::PayoutId).is_not_null()),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PayoutRequest::Table, PayoutRequest::ChannelId)
                            .to(Channel::Table, Channel::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PayoutRequest::Table, PayoutRequest::RequestedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PayoutRequest::Table, PayoutRequest::DecidedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PayoutRequest::Table, PayoutRequest::PayoutId)
                            .to(PublisherPayout::Table, PublisherPayout::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_payout_request_status")
                    .table(PayoutRequest::Table)
                    .col(PayoutRequest::Status)
                    .col(PayoutRequest::RequestedAt)
                    .to_owned(),
            )
            .await?;
        // Each payout is made by at most one approval.
        manager
            .create_index(
                Index::create()
                    .name("ux_payout_request_payout")
                    .table(PayoutRequest::Table)
                    .col(PayoutRequest::PayoutId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PayoutRequest::Table).to_owned())
            .await
    }
}
