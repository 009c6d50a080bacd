//! The rest of the finance console. Corrections: a `spend_correction` (one decision, or one
//! channel over a period) gives posted charges back, one append-only `charge_reversal` per
//! decision, and the reporting rollup keeps what was reversed on the day it was reversed
//! (`delivery_rollup.reversed_micros`) next to the original spend. Payouts: a
//! `publisher_payout` per channel, currency and month marks that month's accrued share paid
//! (each once). Two indexes let finance read transfers by what they are about and by period.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SpendCorrection {
    Table,
    Id,
    Scope,
    DecisionId,
    ChannelId,
    FromDay,
    ToDay,
    Reason,
    Reversals,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ChargeReversal {
    Table,
    Id,
    CorrectionId,
    DecisionId,
    AccountId,
    CampaignId,
    AdId,
    ChannelId,
    Currency,
    /// The decision's posted total this reversal brings its reversed total up to.
    ThroughPosted,
    Amount,
    Publisher,
    Platform,
    /// The account-local day it was made: the report day it shows on.
    Day,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PublisherPayout {
    Table,
    Id,
    ChannelId,
    Currency,
    /// `YYYY-MM`, a UTC month.
    Period,
    Amount,
    Reference,
    TransferId,
    PaidBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DeliveryRollup {
    Table,
    ReversedMicros,
}

#[derive(DeriveIden)]
enum LedgerTransfer {
    Table,
    ObjectType,
    ObjectId,
    Kind,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}

const APPEND_ONLY: [&str; 3] = ["spend_correction", "charge_reversal", "publisher_payout"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SpendCorrection::Table)
                    .col(big_pk_auto(SpendCorrection::Id))
                    .col(string_len(SpendCorrection::Scope, 16))
                    .col(big_integer_null(SpendCorrection::DecisionId))
                    .col(big_integer_null(SpendCorrection::ChannelId))
                    .col(date_null(SpendCorrection::FromDay))
                    .col(date_null(SpendCorrection::ToDay))
                    .col(string_len(SpendCorrection::Reason, 500))
                    .col(big_integer(SpendCorrection::Reversals))
                    .col(big_integer(SpendCorrection::CreatedBy))
                    .col(timestamp_with_time_zone(SpendCorrection::CreatedAt))
                    .check((
                        "spend_correction_scope",
                        Expr::col(SpendCorrection::Scope).is_in(["decision", "channel"]),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SpendCorrection::Table, SpendCorrection::CreatedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChargeReversal::Table)
                    .col(big_pk_auto(ChargeReversal::Id))
                    .col(big_integer(ChargeReversal::CorrectionId))
                    .col(big_integer(ChargeReversal::DecisionId))
                    .col(big_integer(ChargeReversal::AccountId))
                    .col(big_integer(ChargeReversal::CampaignId))
                    .col(big_integer(ChargeReversal::AdId))
                    .col(big_integer(ChargeReversal::ChannelId))
                    .col(string_len(ChargeReversal::Currency, 3))
                    .col(big_integer(ChargeReversal::ThroughPosted))
                    .col(big_integer(ChargeReversal::Amount))
                    .col(big_integer(ChargeReversal::Publisher))
                    .col(big_integer(ChargeReversal::Platform))
                    .col(date(ChargeReversal::Day))
                    .col(timestamp_with_time_zone(ChargeReversal::CreatedAt))
                    .check((
                        "charge_reversal_positive",
                        Expr::col(ChargeReversal::Amount).gt(0),
                    ))
                    .check((
                        "charge_reversal_split",
                        Expr::col(ChargeReversal::Amount).eq(Expr::col(ChargeReversal::Publisher)
                            .add(Expr::col(ChargeReversal::Platform))),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChargeReversal::Table, ChargeReversal::CorrectionId)
                            .to(SpendCorrection::Table, SpendCorrection::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A decision's charges up to one posted total are reversed once.
        manager
            .create_index(
                Index::create()
                    .name("ux_charge_reversal_decision")
                    .table(ChargeReversal::Table)
                    .col(ChargeReversal::DecisionId)
                    .col(ChargeReversal::ThroughPosted)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_charge_reversal_account_day")
                    .table(ChargeReversal::Table)
                    .col(ChargeReversal::AccountId)
                    .col(ChargeReversal::Day)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PublisherPayout::Table)
                    .col(big_pk_auto(PublisherPayout::Id))
                    .col(big_integer(PublisherPayout::ChannelId))
                    .col(string_len(PublisherPayout::Currency, 3))
                    .col(string_len(PublisherPayout::Period, 7))
                    .col(big_integer(PublisherPayout::Amount))
                    .col(string_len(PublisherPayout::Reference, 100))
                    .col(big_integer(PublisherPayout::TransferId))
                    .col(big_integer(PublisherPayout::PaidBy))
                    .col(timestamp_with_time_zone(PublisherPayout::CreatedAt))
                    .check((
                        "publisher_payout_positive",
                        Expr::col(PublisherPayout::Amount).gt(0),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PublisherPayout::Table, PublisherPayout::PaidBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_publisher_payout_period")
                    .table(PublisherPayout::Table)
                    .col(PublisherPayout::ChannelId)
                    .col(PublisherPayout::Currency)
                    .col(PublisherPayout::Period)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DeliveryRollup::Table)
                    .add_column(big_integer(DeliveryRollup::ReversedMicros).default(0))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "idx_ledger_transfer_object",
                [LedgerTransfer::ObjectType, LedgerTransfer::ObjectId],
            ),
            (
                "idx_ledger_transfer_kind_time",
                [LedgerTransfer::Kind, LedgerTransfer::CreatedAt],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(LedgerTransfer::Table);
            for c in columns {
                index.col(c);
            }
            manager.create_index(index.to_owned()).await?;
        }
        let db = manager.get_connection();
        for table in APPEND_ONLY {
            match manager.get_database_backend() {
                DbBackend::Postgres => {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION herald_append_only()"
                    ))
                    .await?;
                }
                _ => {
                    for op in ["UPDATE", "DELETE"] {
                        db.execute_unprepared(&format!(
                            "CREATE TRIGGER {table}_no_{op} BEFORE {op} ON {table} \
                             BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                        ))
                        .await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "idx_ledger_transfer_object",
            "idx_ledger_transfer_kind_time",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(LedgerTransfer::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(DeliveryRollup::Table)
                    .drop_column(DeliveryRollup::ReversedMicros)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(PublisherPayout::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ChargeReversal::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SpendCorrection::Table).to_owned())
            .await?;
        Ok(())
    }
}
