//! Money and delivery: the double-entry ledger (accounts with cached balances that the database
//! keeps from going negative, append-only transfers with unique idempotency keys), finance
//! top-ups, delivery-network API keys, slots, decisions and events, the spend counters the hard
//! budget caps are checked against, per-channel daily slot counters, and the delivery version
//! that every instance watches to refresh its in-memory candidate index.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LedgerAccount {
    Table,
    Id,
    Kind,
    OwnerId,
    Currency,
    Debits,
    Credits,
    Balance,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LedgerTransfer {
    Table,
    Id,
    DebitAccountId,
    CreditAccountId,
    Amount,
    Currency,
    Kind,
    ObjectType,
    ObjectId,
    IdempotencyKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AccountTopUp {
    Table,
    Id,
    AccountId,
    Amount,
    Currency,
    ExternalReference,
    Note,
    TransferId,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DeliveryKey {
    Table,
    Id,
    Name,
    SecretSha256,
    Prefix,
    CreatedBy,
    CreatedAt,
    RevokedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum DeliverySlot {
    Table,
    KeyId,
    SlotId,
    ChannelId,
    DecisionId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DeliveryDecision {
    Table,
    Id,
    KeyId,
    ChannelId,
    CampaignId,
    AdId,
    AdVersionId,
    AccountId,
    Currency,
    PriceCpm,
    Held,
    Posted,
    Released,
    Views,
    Clicks,
    LocalDay,
    CreatedAt,
    ExpiresAt,
    SettledAt,
}

#[derive(DeriveIden)]
enum DeliveryEvent {
    Table,
    Id,
    KeyId,
    EventId,
    DecisionId,
    Views,
    Clicks,
    At,
    Posted,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CampaignSpend {
    Table,
    CampaignId,
    Posted,
    Committed,
}

#[derive(DeriveIden)]
enum CampaignDaySpend {
    Table,
    CampaignId,
    Day,
    Committed,
    Hour,
    HourBase,
}

#[derive(DeriveIden)]
enum ChannelDaySlots {
    Table,
    ChannelId,
    Day,
    Used,
}

#[derive(DeriveIden)]
enum AdAccount {
    Table,
    LowBalanceMicros,
}

#[derive(DeriveIden)]
enum Campaign {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Channel {
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

/// Tables whose rows are never changed or removed once written.
const APPEND_ONLY: [&str; 3] = ["ledger_transfer", "account_top_up", "delivery_event"];

/// Tables whose changes move the delivery version (what the candidate index is built from).
const DELIVERY_SOURCES: [&str; 3] = ["campaign", "ad", "ad_account"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ledger(manager).await?;
        delivery(manager).await?;
        spend_counters(manager).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AdAccount::Table)
                    .add_column(big_integer_null(AdAccount::LowBalanceMicros))
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
                        "publisher_share_bp".into(),
                        5_000i64.into(),
                        Expr::current_timestamp(),
                    ])
                    .values_panic([
                        "hold_ttl_minutes".into(),
                        1_440i64.into(),
                        Expr::current_timestamp(),
                    ])
                    .values_panic([
                        "delivery_version".into(),
                        1i64.into(),
                        Expr::current_timestamp(),
                    ])
                    .to_owned(),
            )
            .await?;
        guards(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        for table in DELIVERY_SOURCES {
            for op in ["INSERT", "UPDATE", "DELETE"] {
                let name = format!("{table}_delivery_version_{}", op.to_lowercase());
                let sql = if postgres {
                    format!("DROP TRIGGER IF EXISTS {name} ON {table}")
                } else {
                    format!("DROP TRIGGER IF EXISTS {name}")
                };
                db.execute_unprepared(&sql).await?;
            }
        }
        db.execute_unprepared(if postgres {
            "DROP TRIGGER IF EXISTS platform_setting_delivery_version ON platform_setting"
        } else {
            "DROP TRIGGER IF EXISTS platform_setting_delivery_version"
        })
        .await?;
        if postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS herald_append_only() CASCADE")
                .await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS herald_bump_delivery() CASCADE")
                .await?;
        }
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(PlatformSetting::Table)
                    .and_where(Expr::col(PlatformSetting::Key).is_in([
                        "publisher_share_bp",
                        "hold_ttl_minutes",
                        "delivery_version",
                    ]))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AdAccount::Table)
                    .drop_column(AdAccount::LowBalanceMicros)
                    .to_owned(),
            )
            .await?;
        for table in [
            ChannelDaySlots::Table.into_iden(),
            CampaignDaySpend::Table.into_iden(),
            CampaignSpend::Table.into_iden(),
            DeliveryEvent::Table.into_iden(),
            DeliverySlot::Table.into_iden(),
            DeliveryDecision::Table.into_iden(),
            DeliveryKey::Table.into_iden(),
            AccountTopUp::Table.into_iden(),
            LedgerTransfer::Table.into_iden(),
            LedgerAccount::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn ledger(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(LedgerAccount::Table)
                .col(big_pk_auto(LedgerAccount::Id))
                .col(string_len(LedgerAccount::Kind, 24))
                // The ad account, campaign or channel it belongs to; 0 for platform accounts.
                .col(big_integer(LedgerAccount::OwnerId))
                .col(string_len(LedgerAccount::Currency, 3))
                .col(big_integer(LedgerAccount::Debits).default(0))
                .col(big_integer(LedgerAccount::Credits).default(0))
                .col(big_integer(LedgerAccount::Balance).default(0))
                .col(timestamp_with_time_zone(LedgerAccount::CreatedAt))
                .check(
                    (
                        "ledger_account_balance_is_credits_less_debits",
                        Expr::col(LedgerAccount::Balance)
                            .eq(Expr::col(LedgerAccount::Credits)
                                .sub(Expr::col(LedgerAccount::Debits))),
                    ),
                )
                // Only the outside world (where top-ups come from) may be owed money.
                .check((
                    "ledger_account_never_negative",
                    Expr::col(LedgerAccount::Kind)
                        .eq("external")
                        .or(Expr::col(LedgerAccount::Balance).gte(0)),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ux_ledger_account_owner")
                .table(LedgerAccount::Table)
                .col(LedgerAccount::Kind)
                .col(LedgerAccount::OwnerId)
                .col(LedgerAccount::Currency)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(LedgerTransfer::Table)
                .col(big_pk_auto(LedgerTransfer::Id))
                .col(big_integer(LedgerTransfer::DebitAccountId))
                .col(big_integer(LedgerTransfer::CreditAccountId))
                .col(big_integer(LedgerTransfer::Amount))
                .col(string_len(LedgerTransfer::Currency, 3))
                .col(string_len(LedgerTransfer::Kind, 16))
                .col(string_len(LedgerTransfer::ObjectType, 24))
                .col(big_integer(LedgerTransfer::ObjectId))
                .col(string_len_uniq(LedgerTransfer::IdempotencyKey, 200))
                .col(timestamp_with_time_zone(LedgerTransfer::CreatedAt))
                .check((
                    "ledger_transfer_positive",
                    Expr::col(LedgerTransfer::Amount).gt(0),
                ))
                .check((
                    "ledger_transfer_two_accounts",
                    Expr::col(LedgerTransfer::DebitAccountId)
                        .ne(Expr::col(LedgerTransfer::CreditAccountId)),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from(LedgerTransfer::Table, LedgerTransfer::DebitAccountId)
                        .to(LedgerAccount::Table, LedgerAccount::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(LedgerTransfer::Table, LedgerTransfer::CreditAccountId)
                        .to(LedgerAccount::Table, LedgerAccount::Id),
                )
                .to_owned(),
        )
        .await?;
    for (name, column) in [
        ("idx_ledger_transfer_debit", LedgerTransfer::DebitAccountId),
        (
            "idx_ledger_transfer_credit",
            LedgerTransfer::CreditAccountId,
        ),
    ] {
        manager
            .create_index(
                Index::create()
                    .name(name)
                    .table(LedgerTransfer::Table)
                    .col(column)
                    .col(LedgerTransfer::Id)
                    .to_owned(),
            )
            .await?;
    }
    manager
        .create_table(
            Table::create()
                .table(AccountTopUp::Table)
                .col(big_pk_auto(AccountTopUp::Id))
                .col(big_integer(AccountTopUp::AccountId))
                .col(big_integer(AccountTopUp::Amount))
                .col(string_len(AccountTopUp::Currency, 3))
                .col(string_len(AccountTopUp::ExternalReference, 100))
                .col(string_len(AccountTopUp::Note, 500))
                .col(big_integer(AccountTopUp::TransferId))
                .col(big_integer(AccountTopUp::CreatedBy))
                .col(timestamp_with_time_zone(AccountTopUp::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(AccountTopUp::Table, AccountTopUp::TransferId)
                        .to(LedgerTransfer::Table, LedgerTransfer::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(AccountTopUp::Table, AccountTopUp::CreatedBy)
                        .to(AppUser::Table, AppUser::Id),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ux_account_top_up_reference")
                .table(AccountTopUp::Table)
                .col(AccountTopUp::AccountId)
                .col(AccountTopUp::ExternalReference)
                .unique()
                .to_owned(),
        )
        .await
}

async fn delivery(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(DeliveryKey::Table)
                .col(big_pk_auto(DeliveryKey::Id))
                .col(string_len(DeliveryKey::Name, 80))
                .col(string_len_uniq(DeliveryKey::SecretSha256, 64))
                .col(string_len(DeliveryKey::Prefix, 16))
                .col(big_integer_null(DeliveryKey::CreatedBy))
                .col(timestamp_with_time_zone(DeliveryKey::CreatedAt))
                .col(timestamp_with_time_zone_null(DeliveryKey::RevokedAt))
                .col(timestamp_with_time_zone_null(DeliveryKey::LastUsedAt))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(DeliveryDecision::Table)
                .col(big_pk_auto(DeliveryDecision::Id))
                .col(big_integer(DeliveryDecision::KeyId))
                .col(big_integer(DeliveryDecision::ChannelId))
                .col(big_integer(DeliveryDecision::CampaignId))
                .col(big_integer(DeliveryDecision::AdId))
                .col(big_integer(DeliveryDecision::AdVersionId))
                .col(big_integer(DeliveryDecision::AccountId))
                .col(string_len(DeliveryDecision::Currency, 3))
                .col(big_integer(DeliveryDecision::PriceCpm))
                .col(big_integer(DeliveryDecision::Held))
                .col(big_integer(DeliveryDecision::Posted).default(0))
                .col(big_integer(DeliveryDecision::Released).default(0))
                .col(big_integer(DeliveryDecision::Views).default(0))
                .col(big_integer(DeliveryDecision::Clicks).default(0))
                .col(date(DeliveryDecision::LocalDay))
                .col(timestamp_with_time_zone(DeliveryDecision::CreatedAt))
                .col(timestamp_with_time_zone(DeliveryDecision::ExpiresAt))
                .col(timestamp_with_time_zone_null(DeliveryDecision::SettledAt))
                .check((
                    "delivery_decision_within_hold",
                    Expr::col(DeliveryDecision::Posted)
                        .gte(0)
                        .and(Expr::col(DeliveryDecision::Released).gte(0))
                        .and(
                            Expr::col(DeliveryDecision::Posted)
                                .add(Expr::col(DeliveryDecision::Released))
                                .lte(Expr::col(DeliveryDecision::Held)),
                        ),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from(DeliveryDecision::Table, DeliveryDecision::KeyId)
                        .to(DeliveryKey::Table, DeliveryKey::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(DeliveryDecision::Table, DeliveryDecision::CampaignId)
                        .to(Campaign::Table, Campaign::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(DeliveryDecision::Table, DeliveryDecision::ChannelId)
                        .to(Channel::Table, Channel::Id),
                )
                .to_owned(),
        )
        .await?;
    for (name, columns) in [
        (
            "idx_delivery_decision_open",
            vec![DeliveryDecision::SettledAt, DeliveryDecision::ExpiresAt],
        ),
        (
            "idx_delivery_decision_campaign",
            vec![DeliveryDecision::CampaignId, DeliveryDecision::Id],
        ),
    ] {
        let mut index = Index::create();
        index.name(name).table(DeliveryDecision::Table);
        for column in columns {
            index.col(column);
        }
        manager.create_index(index.to_owned()).await?;
    }
    manager
        .create_table(
            Table::create()
                .table(DeliverySlot::Table)
                .col(big_integer(DeliverySlot::KeyId))
                .col(string_len(DeliverySlot::SlotId, 128))
                .col(big_integer(DeliverySlot::ChannelId))
                // `None`: nothing won this slot (the answer was 204).
                .col(big_integer_null(DeliverySlot::DecisionId))
                .col(timestamp_with_time_zone(DeliverySlot::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(DeliverySlot::KeyId)
                        .col(DeliverySlot::SlotId),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(DeliveryEvent::Table)
                .col(big_pk_auto(DeliveryEvent::Id))
                .col(big_integer(DeliveryEvent::KeyId))
                .col(string_len(DeliveryEvent::EventId, 128))
                .col(big_integer(DeliveryEvent::DecisionId))
                .col(big_integer(DeliveryEvent::Views))
                .col(big_integer(DeliveryEvent::Clicks))
                .col(timestamp_with_time_zone(DeliveryEvent::At))
                .col(big_integer(DeliveryEvent::Posted))
                .col(timestamp_with_time_zone(DeliveryEvent::CreatedAt))
                .check((
                    "delivery_event_counts",
                    Expr::col(DeliveryEvent::Views)
                        .gte(0)
                        .and(Expr::col(DeliveryEvent::Clicks).gte(0))
                        .and(Expr::col(DeliveryEvent::Posted).gte(0)),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from(DeliveryEvent::Table, DeliveryEvent::DecisionId)
                        .to(DeliveryDecision::Table, DeliveryDecision::Id),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ux_delivery_event_key_event")
                .table(DeliveryEvent::Table)
                .col(DeliveryEvent::KeyId)
                .col(DeliveryEvent::EventId)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_delivery_event_decision")
                .table(DeliveryEvent::Table)
                .col(DeliveryEvent::DecisionId)
                .to_owned(),
        )
        .await
}

async fn spend_counters(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(CampaignSpend::Table)
                .col(big_integer(CampaignSpend::CampaignId).primary_key())
                // Posted charges, and posted + still held: the total budget caps `committed`.
                .col(big_integer(CampaignSpend::Posted).default(0))
                .col(big_integer(CampaignSpend::Committed).default(0))
                .check((
                    "campaign_spend_committed_covers_posted",
                    Expr::col(CampaignSpend::Posted).gte(0).and(
                        Expr::col(CampaignSpend::Committed).gte(Expr::col(CampaignSpend::Posted)),
                    ),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from(CampaignSpend::Table, CampaignSpend::CampaignId)
                        .to(Campaign::Table, Campaign::Id),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(CampaignDaySpend::Table)
                .col(big_integer(CampaignDaySpend::CampaignId))
                // The account's local day of the decisions counted here.
                .col(date(CampaignDaySpend::Day))
                .col(big_integer(CampaignDaySpend::Committed).default(0))
                // Pacing: the local hour now being paced, and `committed` when it began.
                .col(integer(CampaignDaySpend::Hour).default(-1))
                .col(big_integer(CampaignDaySpend::HourBase).default(0))
                .check((
                    "campaign_day_spend_not_negative",
                    Expr::col(CampaignDaySpend::Committed).gte(0),
                ))
                .primary_key(
                    Index::create()
                        .col(CampaignDaySpend::CampaignId)
                        .col(CampaignDaySpend::Day),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(ChannelDaySlots::Table)
                .col(big_integer(ChannelDaySlots::ChannelId))
                // UTC day.
                .col(date(ChannelDaySlots::Day))
                .col(integer(ChannelDaySlots::Used).default(0))
                .primary_key(
                    Index::create()
                        .col(ChannelDaySlots::ChannelId)
                        .col(ChannelDaySlots::Day),
                )
                .to_owned(),
        )
        .await
}

/// Append-only tables refuse UPDATE and DELETE in the database itself, and any change to what
/// delivery serves (campaigns, ads, accounts' time zones, platform settings) moves the delivery
/// version so that every instance rebuilds its candidate index.
async fn guards(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let bump = "UPDATE platform_setting SET value = value + 1 WHERE key = 'delivery_version'";
    let settings_filter = "'delivery_version', 'catalog_version'";
    match manager.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(
                "CREATE FUNCTION herald_append_only() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
            )
            .await?;
            db.execute_unprepared(&format!(
                "CREATE FUNCTION herald_bump_delivery() RETURNS trigger AS $$ \
                 BEGIN {bump}; RETURN NULL; END; $$ LANGUAGE plpgsql"
            ))
            .await?;
            for table in APPEND_ONLY {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} \
                     FOR EACH ROW EXECUTE FUNCTION herald_append_only()"
                ))
                .await?;
            }
            for table in DELIVERY_SOURCES {
                for op in ["INSERT", "UPDATE", "DELETE"] {
                    let name = format!("{table}_delivery_version_{}", op.to_lowercase());
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} AFTER {op} ON {table} \
                         FOR EACH STATEMENT EXECUTE FUNCTION herald_bump_delivery()"
                    ))
                    .await?;
                }
            }
            db.execute_unprepared(&format!(
                "CREATE TRIGGER platform_setting_delivery_version AFTER UPDATE ON platform_setting \
                 FOR EACH ROW WHEN (NEW.key NOT IN ({settings_filter})) \
                 EXECUTE FUNCTION herald_bump_delivery()"
            ))
            .await?;
        }
        _ => {
            for table in APPEND_ONLY {
                for op in ["UPDATE", "DELETE"] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_no_{op} BEFORE {op} ON {table} \
                         BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                    ))
                    .await?;
                }
            }
            for table in DELIVERY_SOURCES {
                for op in ["INSERT", "UPDATE", "DELETE"] {
                    let name = format!("{table}_delivery_version_{}", op.to_lowercase());
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} AFTER {op} ON {table} BEGIN {bump}; END"
                    ))
                    .await?;
                }
            }
            db.execute_unprepared(&format!(
                "CREATE TRIGGER platform_setting_delivery_version AFTER UPDATE ON platform_setting \
                 WHEN NEW.key NOT IN ({settings_filter}) BEGIN {bump}; END"
            ))
            .await?;
        }
    }
    Ok(())
}
