//! Campaigns and ads: campaigns with their targeting, money and schedule, ads with immutable
//! versions, the platform's money limits, and the daily delivery rollup that spend is read from.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Campaign {
    Table,
    Id,
    AccountId,
    Name,
    Status,
    Targeting,
    PendingTargeting,
    PendingSince,
    BidMicros,
    TotalBudgetMicros,
    DailyBudgetMicros,
    StartAt,
    EndAt,
    Schedule,
    SubmittedAt,
    CompletedReason,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Ad {
    Table,
    Id,
    CampaignId,
    AccountId,
    Title,
    Paused,
    LiveVersionId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AdVersion {
    Table,
    Id,
    AdId,
    Number,
    Text,
    ButtonLabel,
    DestinationUrl,
    Status,
    CreatedBy,
    CreatedAt,
    SubmittedAt,
    DecidedAt,
}

#[derive(DeriveIden)]
enum DeliveryRollup {
    Table,
    CampaignId,
    AdId,
    ChannelId,
    Day,
    Views,
    Clicks,
    SpendMicros,
}

#[derive(DeriveIden)]
enum PlatformSetting {
    Table,
    Key,
    Value,
    UpdatedAt,
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
enum Channel {
    Table,
    Id,
}

/// Money limits in micro-units of the platform currency: (key, value).
const DEFAULTS: &[(&str, i64)] = &[
    // €0.50 per thousand views.
    ("min_cpm_micros", 500_000),
    // €20 per campaign.
    ("min_total_budget_micros", 20_000_000),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
                    .table(Campaign::Table)
                    .col(big_pk_auto(Campaign::Id))
                    .col(big_integer(Campaign::AccountId))
                    .col(string_len(Campaign::Name, 80))
                    .col(string_len(Campaign::Status, 16))
                    .col(text(Campaign::Targeting))
                    .col(text_null(Campaign::PendingTargeting))
                    .col(timestamp_with_time_zone_null(Campaign::PendingSince))
                    .col(big_integer(Campaign::BidMicros))
                    .col(big_integer(Campaign::TotalBudgetMicros))
                    .col(big_integer_null(Campaign::DailyBudgetMicros))
                    .col(timestamp_with_time_zone_null(Campaign::StartAt))
                    .col(timestamp_with_time_zone_null(Campaign::EndAt))
                    .col(string_len_null(Campaign::Schedule, 128))
                    .col(timestamp_with_time_zone_null(Campaign::SubmittedAt))
                    .col(string_len_null(Campaign::CompletedReason, 16))
                    .col(big_integer(Campaign::CreatedBy))
                    .col(timestamp_with_time_zone(Campaign::CreatedAt))
                    .col(timestamp_with_time_zone(Campaign::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Campaign::Table, Campaign::AccountId)
                            .to(AdAccount::Table, AdAccount::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Campaign::Table, Campaign::CreatedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "idx_campaign_account_created",
                vec![Campaign::AccountId, Campaign::CreatedAt],
            ),
            (
                "idx_campaign_account_status",
                vec![Campaign::AccountId, Campaign::Status],
            ),
            // The clock sweep looks campaigns up by status and time.
            (
                "idx_campaign_status_start",
                vec![Campaign::Status, Campaign::StartAt],
            ),
            (
                "idx_campaign_status_end",
                vec![Campaign::Status, Campaign::EndAt],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Campaign::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Ad::Table)
                    .col(big_pk_auto(Ad::Id))
                    .col(big_integer(Ad::CampaignId))
                    .col(big_integer(Ad::AccountId))
                    .col(string_len(Ad::Title, 80))
                    .col(boolean(Ad::Paused))
                    .col(big_integer_null(Ad::LiveVersionId))
                    .col(timestamp_with_time_zone(Ad::CreatedAt))
                    .col(timestamp_with_time_zone(Ad::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Ad::Table, Ad::CampaignId)
                            .to(Campaign::Table, Campaign::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Ad::Table, Ad::AccountId)
                            .to(AdAccount::Table, AdAccount::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ad_campaign")
                    .table(Ad::Table)
                    .col(Ad::CampaignId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AdVersion::Table)
                    .col(big_pk_auto(AdVersion::Id))
                    .col(big_integer(AdVersion::AdId))
                    .col(integer(AdVersion::Number))
                    // 160 characters of up to 4 bytes each.
                    .col(string_len(AdVersion::Text, 640))
                    .col(string_len(AdVersion::ButtonLabel, 100))
                    .col(string_len(AdVersion::DestinationUrl, 2048))
                    .col(string_len(AdVersion::Status, 16))
                    .col(big_integer(AdVersion::CreatedBy))
                    .col(timestamp_with_time_zone(AdVersion::CreatedAt))
                    .col(timestamp_with_time_zone_null(AdVersion::SubmittedAt))
                    .col(timestamp_with_time_zone_null(AdVersion::DecidedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AdVersion::Table, AdVersion::AdId)
                            .to(Ad::Table, Ad::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AdVersion::Table, AdVersion::CreatedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ad_version_ad_number")
                    .table(AdVersion::Table)
                    .col(AdVersion::AdId)
                    .col(AdVersion::Number)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The review queue: versions waiting, oldest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_ad_version_status_submitted")
                    .table(AdVersion::Table)
                    .col(AdVersion::Status)
                    .col(AdVersion::SubmittedAt)
                    .to_owned(),
            )
            .await?;

        // Views, clicks and spend per campaign, ad, channel and day (UTC): written by delivery,
        // read by every spend figure, so reports never scan raw events.
        manager
            .create_table(
                Table::create()
                    .table(DeliveryRollup::Table)
                    .col(big_integer(DeliveryRollup::CampaignId))
                    .col(big_integer(DeliveryRollup::AdId))
                    .col(big_integer(DeliveryRollup::ChannelId))
                    .col(date(DeliveryRollup::Day))
                    .col(big_integer(DeliveryRollup::Views))
                    .col(big_integer(DeliveryRollup::Clicks))
                    .col(big_integer(DeliveryRollup::SpendMicros))
                    .primary_key(
                        Index::create()
                            .col(DeliveryRollup::CampaignId)
                            .col(DeliveryRollup::AdId)
                            .col(DeliveryRollup::ChannelId)
                            .col(DeliveryRollup::Day),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DeliveryRollup::Table, DeliveryRollup::CampaignId)
                            .to(Campaign::Table, Campaign::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DeliveryRollup::Table, DeliveryRollup::AdId)
                            .to(Ad::Table, Ad::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DeliveryRollup::Table, DeliveryRollup::ChannelId)
                            .to(Channel::Table, Channel::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DeliveryRollup::Table.into_iden(),
            AdVersion::Table.into_iden(),
            Ad::Table.into_iden(),
            Campaign::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(PlatformSetting::Table)
                    .and_where(
                        Expr::col(PlatformSetting::Key).is_in(DEFAULTS.iter().map(|(key, _)| *key)),
                    )
                    .to_owned(),
            )
            .await
    }
}
