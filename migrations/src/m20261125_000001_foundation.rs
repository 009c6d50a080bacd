//! Foundation schema: users, ad accounts and members, staff roles, sessions, the append-only
//! audit trail, and the channel catalog with its topic taxonomy.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
    Email,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AdAccount {
    Table,
    Id,
    Name,
    Currency,
    TimeZone,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AccountMember {
    Table,
    AccountId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StaffRole {
    Table,
    UserId,
    Role,
    GrantedBy,
    GrantedAt,
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Id,
    At,
    ActorUserId,
    Action,
    TargetType,
    TargetId,
    Ip,
    Detail,
}

#[derive(DeriveIden)]
enum TowerSession {
    Table,
    Id,
    Data,
    ExpiryDate,
}

#[derive(DeriveIden)]
enum Topic {
    Table,
    Id,
    Slug,
    Name,
}

#[derive(DeriveIden)]
enum Channel {
    Table,
    Id,
    Handle,
    Title,
    TopicId,
    Language,
    Subscribers,
    AvgViews,
    PostsPerDay,
    Status,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AppUser::Table)
                    .col(big_pk_auto(AppUser::Id))
                    .col(string_len_uniq(AppUser::Email, 254))
                    .col(string_len(AppUser::PasswordHash, 255))
                    .col(timestamp_with_time_zone(AppUser::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AdAccount::Table)
                    .col(big_pk_auto(AdAccount::Id))
                    .col(string_len(AdAccount::Name, 80))
                    .col(string_len(AdAccount::Currency, 3))
                    .col(string_len(AdAccount::TimeZone, 64))
                    .col(timestamp_with_time_zone(AdAccount::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountMember::Table)
                    .col(big_integer(AccountMember::AccountId))
                    .col(big_integer(AccountMember::UserId))
                    .col(string_len(AccountMember::Role, 16))
                    .col(timestamp_with_time_zone(AccountMember::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(AccountMember::AccountId)
                            .col(AccountMember::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountMember::Table, AccountMember::AccountId)
                            .to(AdAccount::Table, AdAccount::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountMember::Table, AccountMember::UserId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_account_member_user")
                    .table(AccountMember::Table)
                    .col(AccountMember::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StaffRole::Table)
                    .col(big_integer(StaffRole::UserId))
                    .col(string_len(StaffRole::Role, 16))
                    .col(big_integer_null(StaffRole::GrantedBy))
                    .col(timestamp_with_time_zone(StaffRole::GrantedAt))
                    .primary_key(Index::create().col(StaffRole::UserId).col(StaffRole::Role))
                    .foreign_key(
                        ForeignKey::create()
                            .from(StaffRole::Table, StaffRole::UserId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(StaffRole::Table, StaffRole::GrantedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEvent::Table)
                    .col(big_pk_auto(AuditEvent::Id))
                    .col(timestamp_with_time_zone(AuditEvent::At))
                    .col(big_integer_null(AuditEvent::ActorUserId))
                    .col(string_len(AuditEvent::Action, 64))
                    .col(string_len(AuditEvent::TargetType, 32))
                    .col(string_len(AuditEvent::TargetId, 254))
                    .col(string_len_null(AuditEvent::Ip, 64))
                    .col(text_null(AuditEvent::Detail))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_audit_at", vec![AuditEvent::At]),
            (
                "idx_audit_actor_at",
                vec![AuditEvent::ActorUserId, AuditEvent::At],
            ),
            (
                "idx_audit_action_target_at",
                vec![AuditEvent::Action, AuditEvent::TargetId, AuditEvent::At],
            ),
            (
                "idx_audit_action_ip_at",
                vec![AuditEvent::Action, AuditEvent::Ip, AuditEvent::At],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(AuditEvent::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        append_only_guard(manager).await?;

        manager
            .create_table(
                Table::create()
                    .table(TowerSession::Table)
                    .col(string_len(TowerSession::Id, 64).primary_key())
                    .col(text(TowerSession::Data))
                    .col(timestamp_with_time_zone(TowerSession::ExpiryDate))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tower_session_expiry")
                    .table(TowerSession::Table)
                    .col(TowerSession::ExpiryDate)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Topic::Table)
                    .col(big_pk_auto(Topic::Id))
                    .col(string_len_uniq(Topic::Slug, 40))
                    .col(string_len(Topic::Name, 60))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Channel::Table)
                    .col(big_pk_auto(Channel::Id))
                    .col(string_len_uniq(Channel::Handle, 40))
                    .col(string_len(Channel::Title, 128))
                    .col(big_integer(Channel::TopicId))
                    .col(string_len(Channel::Language, 2))
                    .col(big_integer(Channel::Subscribers))
                    .col(big_integer(Channel::AvgViews))
                    .col(double(Channel::PostsPerDay))
                    .col(string_len(Channel::Status, 16))
                    .col(timestamp_with_time_zone(Channel::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Channel::Table, Channel::TopicId)
                            .to(Topic::Table, Topic::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_channel_topic_language_subscribers")
                    .table(Channel::Table)
                    .col(Channel::TopicId)
                    .col(Channel::Language)
                    .col(Channel::Subscribers)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_channel_subscribers")
                    .table(Channel::Table)
                    .col(Channel::Subscribers)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS audit_event_append_only() CASCADE")
                .await?;
        }
        for table in [
            Channel::Table.into_iden(),
            Topic::Table.into_iden(),
            TowerSession::Table.into_iden(),
            AuditEvent::Table.into_iden(),
            StaffRole::Table.into_iden(),
            AccountMember::Table.into_iden(),
            AdAccount::Table.into_iden(),
            AppUser::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// The audit trail is append-only in the database itself, not only by convention: any UPDATE or
/// DELETE on `audit_event` aborts, whichever code path tries it.
async fn append_only_guard(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(
                "CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql",
            )
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event \
                 FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
            )
            .await?;
        }
        _ => {
            for op in ["UPDATE", "DELETE"] {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER audit_event_no_{op} BEFORE {op} ON audit_event \
                     BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
                ))
                .await?;
            }
        }
    }
    Ok(())
}
