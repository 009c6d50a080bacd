//! Reports: the delivery rollup learns its account (reports of an account read one index
//! range, never its campaigns one by one) and is indexed by day; its day becomes the account's
//! local day of the views (rows written before this were UTC days); read-only share links to
//! one campaign's report; and the privacy threshold below which a channel's row is folded into
//! "Other channels".

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DeliveryRollup {
    Table,
    AccountId,
    CampaignId,
    Day,
}

#[derive(DeriveIden)]
enum ReportShareLink {
    Table,
    Id,
    AccountId,
    CampaignId,
    Label,
    TokenSha256,
    Prefix,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum AdAccount {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Campaign {
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

const MIN_VIEWS: &str = "report_min_channel_views";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DeliveryRollup::Table)
                    .add_column(big_integer(DeliveryRollup::AccountId).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE delivery_rollup SET account_id = \
                 (SELECT c.account_id FROM campaign c WHERE c.id = delivery_rollup.campaign_id)",
            )
            .await?;
        for (name, first) in [
            ("idx_delivery_rollup_account_day", DeliveryRollup::AccountId),
            (
                "idx_delivery_rollup_campaign_day",
                DeliveryRollup::CampaignId,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(DeliveryRollup::Table)
                        .col(first)
                        .col(DeliveryRollup::Day)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ReportShareLink::Table)
                    .col(big_pk_auto(ReportShareLink::Id))
                    .col(big_integer(ReportShareLink::AccountId))
                    .col(big_integer(ReportShareLink::CampaignId))
                    .col(string_len(ReportShareLink::Label, 80))
                    .col(string_len_uniq(ReportShareLink::TokenSha256, 64))
                    .col(string_len(ReportShareLink::Prefix, 16))
                    .col(big_integer(ReportShareLink::CreatedBy))
                    .col(timestamp_with_time_zone(ReportShareLink::CreatedAt))
                    .col(timestamp_with_time_zone(ReportShareLink::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ReportShareLink::RevokedAt))
                    .col(timestamp_with_time_zone_null(ReportShareLink::LastUsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReportShareLink::Table, ReportShareLink::AccountId)
                            .to(AdAccount::Table, AdAccount::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReportShareLink::Table, ReportShareLink::CampaignId)
                            .to(Campaign::Table, Campaign::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReportShareLink::Table, ReportShareLink::CreatedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_report_share_link_campaign")
                    .table(ReportShareLink::Table)
                    .col(ReportShareLink::CampaignId)
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
                    .values_panic([MIN_VIEWS.into(), 100i64.into(), Expr::current_timestamp()])
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
                    .and_where(Expr::col(PlatformSetting::Key).eq(MIN_VIEWS))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ReportShareLink::Table).to_owned())
            .await?;
        for name in [
            "idx_delivery_rollup_account_day",
            "idx_delivery_rollup_campaign_day",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(DeliveryRollup::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(DeliveryRollup::Table)
                    .drop_column(DeliveryRollup::AccountId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
