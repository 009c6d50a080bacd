//! Refunds tied to the payment they return: a refund names the top-up (`account_top_up`) whose
//! money goes back, and together the live refunds of one top-up (waiting or done) never come to
//! more than it brought in. Money paid in by one transfer is returned against that transfer —
//! to whoever sent it, in at most what they sent — not as an amount of balance to anywhere.
//!
//! Refunds made before this rule, waiting or done, are given a top-up here so that what they
//! returned is no longer offered: each the account's oldest top-up (in its currency) with enough
//! left to cover it whole, else the one with the most left — which may then count as refunded
//! beyond its amount, and so offers nothing more (erring towards refunding less). A rejected
//! or cancelled one, or one of an account with no top-up, names none. Every refund from here
//! on must name one. The database refuses a new refund that names none, one of another
//! account, or more than is left of its top-up — whatever path the row takes (on PostgreSQL
//! the top-up's row is locked first, so two inserts cannot both fit in what is left) — and any
//! change to a request's amount, account, currency, kind or top-up, or to a decided status.
//! The service checks the same first, under the account's balance lock, to answer beside the
//! field.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DbBackend},
};
use std::collections::HashMap;

#[derive(DeriveIden)]
enum FinanceRequest {
    Table,
    Id,
    Kind,
    AccountId,
    Amount,
    Currency,
    Status,
    TopUpId,
}

#[derive(DeriveIden)]
enum AccountTopUp {
    Table,
    Id,
    AccountId,
    Amount,
    Currency,
}

/// Why a new refund is refused (the database's message; the service answers before).
const NO_TOP_UP: &str = "a refund must name a top-up of its own account";
const TOO_MUCH: &str = "a top-up cannot be refunded beyond what it brought in";
const FIXED: &str = "a finance request''s amount, account, currency, kind and top-up never \
                     change, nor a decided status";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        // A foreign key on PostgreSQL. On SQLite a column with a foreign key could not be
        // dropped again (`down`): the insert trigger below checks the top-up there.
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
        backfill(manager).await?;
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
                 PERFORM 1 FROM account_top_up WHERE id = NEW.top_up_id FOR NO KEY UPDATE; \
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
            // What a request moves, and a decision once made, are fixed.
            db.execute_unprepared(&format!(
                "CREATE FUNCTION herald_finance_request_fixed() RETURNS trigger AS $$ \
                 BEGIN \
                 IF {changed} THEN RAISE EXCEPTION '{FIXED}'; END IF; \
                 RETURN NEW; \
                 END $$ LANGUAGE plpgsql",
                changed = changed("IS DISTINCT FROM")
            ))
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER finance_request_fixed BEFORE UPDATE ON \
                 finance_request FOR EACH ROW EXECUTE FUNCTION herald_finance_request_fixed()",
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
            db.execute_unprepared(&format!(
                "CREATE TRIGGER finance_request_fixed BEFORE UPDATE \
                 ON finance_request WHEN {changed} BEGIN \
                 SELECT RAISE(ABORT, '{FIXED}'); END",
                changed = changed("IS NOT")
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The backfilled top-ups go with the column.
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP TRIGGER finance_request_fixed ON finance_request")
                .await?;
            db.execute_unprepared("DROP TRIGGER finance_request_refund_source ON finance_request")
                .await?;
            db.execute_unprepared("DROP FUNCTION herald_finance_request_fixed()")
                .await?;
            db.execute_unprepared("DROP FUNCTION herald_refund_source()")
                .await?;
        } else {
            db.execute_unprepared("DROP TRIGGER finance_request_fixed")
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

/// The condition under which an update changes what a request moves or a decided status;
/// `distinct` is each database's null-safe "differs" (`IS DISTINCT FROM`, SQLite's `IS NOT`).
fn changed(distinct: &str) -> String {
    format!(
        "NEW.top_up_id {distinct} OLD.top_up_id OR NEW.amount <> OLD.amount \
         OR NEW.kind <> OLD.kind OR NEW.account_id <> OLD.account_id \
         OR NEW.currency <> OLD.currency \
         OR (OLD.status <> 'pending' AND NEW.status <> OLD.status)"
    )
}

/// Gives each refund made before this rule (waiting or done) a top-up of its account, so that
/// what it returned is not offered again (see the module's note).
async fn backfill(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    // What is left of each top-up, oldest first per account and currency.
    let mut left: HashMap<(i64, String), Vec<(i64, i64)>> = HashMap::new();
    for row in db
        .query_all_raw(
            backend.build(
                Query::select()
                    .columns([
                        AccountTopUp::Id,
                        AccountTopUp::AccountId,
                        AccountTopUp::Currency,
                        AccountTopUp::Amount,
                    ])
                    .from(AccountTopUp::Table)
                    .order_by(AccountTopUp::Id, Order::Asc),
            ),
        )
        .await?
    {
        let id: i64 = row.try_get_by_index(0)?;
        let account: i64 = row.try_get_by_index(1)?;
        let currency: String = row.try_get_by_index(2)?;
        let amount: i64 = row.try_get_by_index(3)?;
        left.entry((account, currency))
            .or_default()
            .push((id, amount));
    }
    let refunds = db
        .query_all_raw(
            backend.build(
                Query::select()
                    .columns([
                        FinanceRequest::Id,
                        FinanceRequest::AccountId,
                        FinanceRequest::Currency,
                        FinanceRequest::Amount,
                    ])
                    .from(FinanceRequest::Table)
                    .and_where(Expr::col(FinanceRequest::Kind).eq("refund"))
                    .and_where(Expr::col(FinanceRequest::Status).is_in(["pending", "done"]))
                    .order_by(FinanceRequest::Id, Order::Asc),
            ),
        )
        .await?;
    for row in refunds {
        let id: i64 = row.try_get_by_index(0)?;
        let account: i64 = row.try_get_by_index(1)?;
        let currency: String = row.try_get_by_index(2)?;
        let amount: i64 = row.try_get_by_index(3)?;
        let Some(top_ups) = left.get_mut(&(account, currency)) else {
            continue;
        };
        let fits = top_ups.iter().position(|(_, l)| *l >= amount);
        let most = top_ups
            .iter()
            .enumerate()
            .max_by_key(|(i, (_, l))| (*l, std::cmp::Reverse(*i)))
            .map(|(i, _)| i);
        let Some(at) = fits.or(most) else { continue };
        let (top_up, rest) = &mut top_ups[at];
        *rest -= amount;
        manager
            .exec_stmt(
                Query::update()
                    .table(FinanceRequest::Table)
                    .value(FinanceRequest::TopUpId, *top_up)
                    .and_where(Expr::col(FinanceRequest::Id).eq(id))
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}
