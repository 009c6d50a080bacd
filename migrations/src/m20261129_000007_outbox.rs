//! Mail and confirmed addresses: the outbox every mail goes through (a transport delivers it
//! later), users' confirmed email addresses, single-use address links (only their hashes), and
//! the second, mailed token of each invitation.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxMessage {
    Table,
    Id,
    Recipient,
    Subject,
    Body,
    Kind,
    CreatedAt,
    SentAt,
    LastError,
}

#[derive(DeriveIden)]
enum EmailLink {
    Table,
    Id,
    UserId,
    Email,
    TokenSha256,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
    EmailVerifiedAt,
}

#[derive(DeriveIden)]
enum Invitation {
    Table,
    MailTokenSha256,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxMessage::Table)
                    .col(big_pk_auto(OutboxMessage::Id))
                    .col(string_len(OutboxMessage::Recipient, 254))
                    .col(string_len(OutboxMessage::Subject, 200))
                    .col(text(OutboxMessage::Body))
                    .col(string_len(OutboxMessage::Kind, 32))
                    .col(timestamp_with_time_zone(OutboxMessage::CreatedAt))
                    .col(timestamp_with_time_zone_null(OutboxMessage::SentAt))
                    .col(text_null(OutboxMessage::LastError))
                    .to_owned(),
            )
            .await?;
        // The transport picks up unsent mail; the viewer lists the newest first (by id).
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_message_sent_at")
                    .table(OutboxMessage::Table)
                    .col(OutboxMessage::SentAt)
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(AppUser::Table)
                    .add_column(timestamp_with_time_zone_null(AppUser::EmailVerifiedAt))
                    .to_owned(),
            )
            .await?;
        // Staff were vetted by the admin who granted their roles (and the seeded admin by the
        // operator); without this they would lose their roles — and, with no mail server, the
        // only admin could no longer read the outbox that holds their confirmation link.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE app_user SET email_verified_at = CURRENT_TIMESTAMP \
                 WHERE id IN (SELECT user_id FROM staff_role)",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EmailLink::Table)
                    .col(big_pk_auto(EmailLink::Id))
                    .col(big_integer(EmailLink::UserId))
                    .col(string_len(EmailLink::Email, 254))
                    .col(string_len_uniq(EmailLink::TokenSha256, 64))
                    .col(timestamp_with_time_zone(EmailLink::CreatedAt))
                    .col(timestamp_with_time_zone(EmailLink::ExpiresAt))
                    .col(timestamp_with_time_zone_null(EmailLink::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EmailLink::Table, EmailLink::UserId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_email_link_user")
                    .table(EmailLink::Table)
                    .col(EmailLink::UserId)
                    .to_owned(),
            )
            .await?;

        // SQLite cannot add a UNIQUE column: a nullable column, then a unique index (both
        // databases let any number of rows have no mailed token).
        manager
            .alter_table(
                Table::alter()
                    .table(Invitation::Table)
                    .add_column(string_len_null(Invitation::MailTokenSha256, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_invitation_mail_token")
                    .table(Invitation::Table)
                    .col(Invitation::MailTokenSha256)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_invitation_mail_token")
                    .table(Invitation::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Invitation::Table)
                    .drop_column(Invitation::MailTokenSha256)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(EmailLink::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AppUser::Table)
                    .drop_column(AppUser::EmailVerifiedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(OutboxMessage::Table).to_owned())
            .await
    }
}
