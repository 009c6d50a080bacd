//! Refunds tied to the payment they return: a refund names the top-up (`account_top_up`) whose
//! money goes back, and together the live refunds of one top-up (waiting or done) never come to
//! more than it brought in. Money paid in by one transfer is returned against that transfer —
//! to whoever sent it, in at most what they sent — not as an amount of balance to anywhere.
//!
//! Refunds made before this rule name no top-up (`top_up_id` NULL) and stay as they were; every
//! refund from here on must name one. The database refuses a new refund that names none, one of
//! another account, or more than is left of its top-up — whatever path the row takes. The
//! service checks the same first, under the account's balance lock, to answer beside the field.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DbBackend},
};

#[derive(DeriveIden)]
enum FinanceRequest {
    Table,
    TopUpId,
}

/// Why a new refund is refused (the database's message; the service answers before).
const NO_TOP_UP: &str = "a refund must name a top-up of its own account";
const TOO_MUCH: &str = "a top-up cannot be refunded beyond what it brought in";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        // SQLite cannot add a foreign key to a table: the trigger below checks the top-up exists.
        let mut column = big_integer_null(FinanceRequest::TopUpId);
        if postgres {
            column.extra("REFERENCES account_top_up (id)");
        }
        manager
            .alter_table(
                Table::alter()
                    .table(FinanceRequest::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_finance_request_top_up")
                    .table(FinanceRequest::Table)
                    .col(FinanceRequest::TopUpId)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // The same checks on both databases: a refund names a top-up of its own account (and
        // currency), and the top-up's live refunds, this one included, stay within its amount.
        let left = "(SELECT t.amount - COALESCE((SELECT SUM(r.amount) FROM finance_request r \
                    WHERE r.top_up_id = t.id AND r.kind = 'refund' \
                    AND r.status IN ('pending', 'done')), 0) \
                    FROM account_top_up t WHERE t.id = NEW.top_up_id \
                    AND t.account_id = NEW.account_id AND t.currency = NEW.currency)";
        if postgres {
            db.execute_unprepared(&format!(
                "CREATE FUNCTION herald_refund_source() RETURNS trigger AS $$ \
                 DECLARE left_over BIGINT; \
                 BEGIN \
                 IF NEW.kind <> 'refund' THEN RETURN NEW; END IF; \
                 IF NEW.top_up_id IS NULL THEN RAISE EXCEPTION '{NO_TOP_UP}'; END IF; \
                 left_over := {left}; \
                 IF left_over IS NULL THEN RAISE EXCEPTION '{NO_TOP_UP}'; END IF; \
                 IF NEW.amount > left_over THEN RAISE EXCEPTION '{TOO_MUCH}'; END IF; \
                 RETURN NEW; \
                 END $$ LANGUAGE plpgsql"
            ))
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER finance_request_refund_source BEFORE INSERT ON finance_request \
                 FOR EACH ROW EXECUTE FUNCTION herald_refund_source()",
            )
            .await?;
            // A refund's top-up is fixed once written.
            db.execute_unprepared(
                "CREATE FUNCTION herald_refund_source_fixed() RETURNS trigger AS $$ \
                 BEGIN \
                 IF NEW.top_up_id IS DISTINCT FROM OLD.top_up_id THEN \
                 RAISE EXCEPTION 'a refund''s top-up cannot change'; END IF; \
                 RETURN NEW; \
                 END $$ LANGUAGE plpgsql",
            )
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER finance_request_refund_source_fixed BEFORE UPDATE ON \
                 finance_request FOR EACH ROW EXECUTE FUNCTION herald_refund_source_fixed()",
            )
            .await?;
        } else {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER finance_request_refund_source BEFORE INSERT ON finance_request \
                 WHEN NEW.kind = 'refund' BEGIN \
                 SELECT RAISE(ABORT, '{NO_TOP_UP}') WHERE NEW.top_up_id IS NULL OR {left} IS NULL; \
                 SELECT RAISE(ABORT, '{TOO_MUCH}') WHERE NEW.amount > {left}; \
                 END"
            ))
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER finance_request_refund_source_fixed BEFORE UPDATE OF top_up_id \
                 ON finance_request WHEN NEW.top_up_id IS NOT OLD.top_up_id BEGIN \
                 SELECT RAISE(ABORT, 'a refund''s top-up cannot change'); END",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "DROP TRIGGER finance_request_refund_source_fixed ON finance_request",
            )
            .await?;
            db.execute_unprepared("DROP TRIGGER finance_request_refund_source ON finance_request")
                .await?;
            db.execute_unprepared("DROP FUNCTION herald_refund_source_fixed()")
                .await?;
            db.execute_unprepared("DROP FUNCTION herald_refund_source()")
                .await?;
        } else {
            db.execute_unprepared("DROP TRIGGER finance_request_refund_source_fixed")
                .await?;
            db.execute_unprepared("DROP TRIGGER finance_request_refund_source")
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_finance_request_top_up")
                    .table(FinanceRequest::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(FinanceRequest::Table)
                    .drop_column(FinanceRequest::TopUpId)
                    .to_owned(),
            )
            .await
    }
}
