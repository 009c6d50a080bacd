//! Security hardening: atomic rate limits (sign-in and other throttles) and sessions that know
//! their user, so "sign out everywhere" and a password change can end them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RateLimit {
    Table,
    Key,
    /// The limiter's theoretical arrival time (GCRA), unix milliseconds.
    Tat,
}

#[derive(DeriveIden)]
enum TowerSession {
    Table,
    UserId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RateLimit::Table)
                    .col(string_len(RateLimit::Key, 320).primary_key())
                    .col(big_integer(RateLimit::Tat))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_rate_limit_tat")
                    .table(RateLimit::Table)
                    .col(RateLimit::Tat)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(TowerSession::Table)
                    .add_column(big_integer_null(TowerSession::UserId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tower_session_user")
                    .table(TowerSession::Table)
                    .col(TowerSession::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_tower_session_user")
                    .table(TowerSession::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(TowerSession::Table)
                    .drop_column(TowerSession::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(RateLimit::Table).to_owned())
            .await
    }
}
