//! Reference keys: a credit's or refund's reference is compared by its letters and digits in
//! capitals ("TX-123", "tx 123" and "Tx.123" are one bank transfer), not as typed. Each
//! `account_top_up` and `finance_request` row gets a `reference_key`, unique where the typed
//! reference was unique before (per account; per account and kind among live requests).
//!
//! Old rows are given their key here. Two old rows of one account whose references differ only
//! in case, spaces or punctuation were both credited before this rule existed; history is not
//! rewritten, so the later one's key gets `#` and its id (a key no reference can make) and the
//! rule holds from here on.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DbBackend},
};
use std::collections::HashSet;

#[derive(DeriveIden)]
enum AccountTopUp {
    Table,
    Id,
    AccountId,
    ExternalReference,
    ReferenceKey,
}

#[derive(DeriveIden)]
enum FinanceRequest {
    Table,
    Id,
    AccountId,
    Kind,
    Status,
    ExternalReference,
    ReferenceKey,
}

/// The key as this migration defines it: the reference's letters and digits, in capitals.
/// Frozen with the migration; `app::model::finance::reference_key` is the living copy, and a
/// test checks the two agree.
pub fn reference_key(reference: &str) -> String {
    reference
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Request statuses the old unique index covered (a rejected or cancelled request leaves its
/// reference free).
const LIVE: [&str; 2] = ["pending", "done"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too: the append-only guard dropped and made again must be
    /// seen by one connection (another connection of the pool, its schema read before the
    /// drop, would refuse to make the trigger again as "already exists"), and a failure half
    /// way must leave the table guarded.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            (
                AccountTopUp::Table.into_iden(),
                AccountTopUp::ReferenceKey.into_iden(),
            ),
            (
                FinanceRequest::Table.into_iden(),
                FinanceRequest::ReferenceKey.into_iden(),
            ),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(text(column).default(""))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let postgres = backend == DbBackend::Postgres;

        // `account_top_up` is append-only: its guard steps aside for the backfill only.
        if postgres {
            db.execute_unprepared("DROP TRIGGER account_top_up_no_change ON account_top_up")
                .await?;
        } else {
            db.execute_unprepared("DROP TRIGGER account_top_up_no_UPDATE")
                .await?;
        }
        let rows = db
            .query_all_raw(
                backend.build(
                    Query::select()
                        .columns([
                            AccountTopUp::Id,
                            AccountTopUp::AccountId,
                            AccountTopUp::ExternalReference,
                        ])
                        .from(AccountTopUp::Table)
                        .order_by(AccountTopUp::Id, Order::Asc),
                ),
            )
            .await?;
        let mut taken = HashSet::new();
        for row in rows {
            let id: i64 = row.try_get_by_index(0)?;
            let account: i64 = row.try_get_by_index(1)?;
            let reference: String = row.try_get_by_index(2)?;
            let mut key = reference_key(&reference);
            if !taken.insert((account, key.clone())) {
                key = format!("{key}#{id}");
            }
            manager
                .exec_stmt(
                    Query::update()
                        .table(AccountTopUp::Table)
                        .value(AccountTopUp::ReferenceKey, key)
                        .and_where(Expr::col(AccountTopUp::Id).eq(id))
                        .to_owned(),
                )
                .await?;
        }
        if postgres {
            db.execute_unprepared(
                "CREATE TRIGGER account_top_up_no_change BEFORE UPDATE OR DELETE ON \
                 account_top_up FOR EACH ROW EXECUTE FUNCTION herald_append_only()",
            )
            .await?;
        } else {
            db.execute_unprepared(
                "CREATE TRIGGER account_top_up_no_UPDATE BEFORE UPDATE ON account_top_up \
                 BEGIN SELECT RAISE(ABORT, 'account_top_up is append-only'); END",
            )
            .await?;
        }

        let rows = db
            .query_all_raw(
                backend.build(
                    Query::select()
                        .columns([
                            FinanceRequest::Id,
                            FinanceRequest::AccountId,
                            FinanceRequest::Kind,
                            FinanceRequest::Status,
                            FinanceRequest::ExternalReference,
                        ])
                        .from(FinanceRequest::Table)
                        .order_by(FinanceRequest::Id, Order::Asc),
                ),
            )
            .await?;
        let mut taken = HashSet::new();
        for row in rows {
            let id: i64 = row.try_get_by_index(0)?;
            let account: i64 = row.try_get_by_index(1)?;
            let kind: String = row.try_get_by_index(2)?;
            let status: String = row.try_get_by_index(3)?;
            let reference: String = row.try_get_by_index(4)?;
            let mut key = reference_key(&reference);
            if LIVE.contains(&status.as_str()) && !taken.insert((account, kind, key.clone())) {
                key = format!("{key}#{id}");
            }
            manager
                .exec_stmt(
                    Query::update()
                        .table(FinanceRequest::Table)
                        .value(FinanceRequest::ReferenceKey, key)
                        .and_where(Expr::col(FinanceRequest::Id).eq(id))
                        .to_owned(),
                )
                .await?;
        }

        // Every row from now on is written with its key: one written without (a default, an
        // older binary during a rolling upgrade) would escape the comparison and let its
        // transfer be credited again under another spelling.
        for table in ["account_top_up", "finance_request"] {
            if postgres {
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} ALTER COLUMN reference_key DROP DEFAULT"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {table}_reference_key \
                     CHECK (reference_key <> '')"
                ))
                .await?;
            } else {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_reference_key BEFORE INSERT ON {table} \
                     WHEN NEW.reference_key = '' \
                     BEGIN SELECT RAISE(ABORT, '{table} needs its reference_key'); END"
                ))
                .await?;
            }
        }

        // The keys take over the typed references' uniqueness (equal texts have equal keys).
        manager
            .drop_index(
                Index::drop()
                    .name("ux_account_top_up_reference")
                    .table(AccountTopUp::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_account_top_up_reference_key")
                    .table(AccountTopUp::Table)
                    .col(AccountTopUp::AccountId)
                    .col(AccountTopUp::ReferenceKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared("DROP INDEX idx_finance_request_reference")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX idx_finance_request_reference_key ON finance_request \
             (account_id, kind, reference_key) WHERE status IN ('pending', 'done')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() != DbBackend::Postgres {
            // PostgreSQL drops the CHECKs with the columns; SQLite keeps a column that a
            // trigger names.
            for table in ["account_top_up", "finance_request"] {
                db.execute_unprepared(&format!("DROP TRIGGER {table}_reference_key"))
                    .await?;
            }
        }
        db.execute_unprepared("DROP INDEX idx_finance_request_reference_key")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX idx_finance_request_reference ON finance_request \
             (account_id, kind, external_reference) WHERE status IN ('pending', 'done')",
        )
        .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_account_top_up_reference_key")
                    .table(AccountTopUp::Table)
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
            .await?;
        for (table, column) in [
            (
                AccountTopUp::Table.into_iden(),
                AccountTopUp::ReferenceKey.into_iden(),
            ),
            (
                FinanceRequest::Table.into_iden(),
                FinanceRequest::ReferenceKey.into_iden(),
            ),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
