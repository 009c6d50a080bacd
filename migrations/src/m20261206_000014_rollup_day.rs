//! A second reporting rollup without the channel: views, clicks and spend per campaign, day and
//! ad, kept by the same statements that write `delivery_rollup` (`service::reports::rollup`).
//! A report's totals, its days and its previous period read it instead of summing every
//! channel's row: measured by `server bench reports` (a year of 10^7 events), an account's
//! 30 days are ~1,200 rows here against ~16,600 in `delivery_rollup`, and the day totals no
//! longer need a sort of all of them. Per-channel breakdowns still read `delivery_rollup`.
//!
//! On SQLite a `WITHOUT ROWID` table whose key is its physical order (as `delivery_rollup`);
//! on PostgreSQL an ordinary table with that primary key. Filled from `delivery_rollup` here,
//! with rollup writes held off meanwhile. An instance of an earlier version would go on
//! writing `delivery_rollup` alone: upgrade every instance sharing a database together (stop
//! the old ones first); `server reconcile` lists any campaign whose two rollups differ.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveIden)]
enum DeliveryRollupDay {
    Table,
    CampaignId,
    Day,
    AdId,
    AccountId,
    Views,
    Clicks,
    SpendMicros,
    ReversedMicros,
}

#[derive(DeriveIden)]
enum Campaign {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Ad {
    Table,
    Id,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// The table and its contents appear together, or not at all.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Sqlite {
            db.execute_unprepared(
                "CREATE TABLE \"delivery_rollup_day\" ( \"campaign_id\" integer NOT NULL, \
                 \"day\" date_text NOT NULL, \"ad_id\" integer NOT NULL, \
                 \"account_id\" integer NOT NULL, \"views\" integer NOT NULL, \
                 \"clicks\" integer NOT NULL, \"spend_micros\" integer NOT NULL, \
                 \"reversed_micros\" integer NOT NULL, \
                 PRIMARY KEY (\"campaign_id\", \"day\", \"ad_id\"), \
                 FOREIGN KEY (\"campaign_id\") REFERENCES \"campaign\" (\"id\"), \
                 FOREIGN KEY (\"ad_id\") REFERENCES \"ad\" (\"id\") ) WITHOUT ROWID",
            )
            .await?;
        } else {
            manager
                .create_table(
                    Table::create()
                        .table(DeliveryRollupDay::Table)
                        .col(big_integer(DeliveryRollupDay::CampaignId))
                        .col(date(DeliveryRollupDay::Day))
                        .col(big_integer(DeliveryRollupDay::AdId))
                        .col(big_integer(DeliveryRollupDay::AccountId))
                        .col(big_integer(DeliveryRollupDay::Views))
                        .col(big_integer(DeliveryRollupDay::Clicks))
                        .col(big_integer(DeliveryRollupDay::SpendMicros))
                        .col(big_integer(DeliveryRollupDay::ReversedMicros))
                        .primary_key(
                            Index::create()
                                .col(DeliveryRollupDay::CampaignId)
                                .col(DeliveryRollupDay::Day)
                                .col(DeliveryRollupDay::AdId),
                        )
                        .foreign_key(
                            ForeignKey::create()
                                .from(DeliveryRollupDay::Table, DeliveryRollupDay::CampaignId)
                                .to(Campaign::Table, Campaign::Id),
                        )
                        .foreign_key(
                            ForeignKey::create()
                                .from(DeliveryRollupDay::Table, DeliveryRollupDay::AdId)
                                .to(Ad::Table, Ad::Id),
                        )
                        .to_owned(),
                )
                .await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            // No rollup write may slip between the copy and the commit (SQLite's write lock,
            // taken by the CREATE above, already holds them off).
            db.execute_unprepared("LOCK TABLE delivery_rollup IN SHARE MODE")
                .await?;
        }
        db.execute_unprepared(
            "INSERT INTO delivery_rollup_day (campaign_id, day, ad_id, account_id, views, clicks, \
             spend_micros, reversed_micros) \
             SELECT campaign_id, day, ad_id, MAX(account_id), SUM(views), SUM(clicks), \
             SUM(spend_micros), SUM(reversed_micros) FROM delivery_rollup \
             GROUP BY campaign_id, day, ad_id ORDER BY campaign_id, day, ad_id",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeliveryRollupDay::Table).to_owned())
            .await
    }
}
