//! Hand-written statements for the few places sea-orm's builders cannot say it in one
//! statement (sums grouped several ways, updates of many rows from a list of values). Written
//! once with PostgreSQL's `$n` placeholders and rewritten for SQLite when built.

use sea_orm::{DbBackend, DbErr, Statement, Value};

/// A statement under construction.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds a value; returns its placeholder.
    pub fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    /// `(a, b, …), (c, d, …)` — one parenthesised, bound tuple per row.
    pub fn tuples<const N: usize>(&mut self, rows: impl IntoIterator<Item = [i64; N]>) -> String {
        let mut out = String::new();
        for row in rows {
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push('(');
            for (i, value) in row.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out += &self.bind(value);
            }
            out.push(')');
        }
        out
    }

    /// The statement for `backend`. On SQLite, placeholders that each appear once and in
    /// order become anonymous (`?`): binding a numbered one makes the driver look its name up
    /// in a list SQLite scans from the start, quadratic in a statement of many rows.
    pub fn build(self, backend: DbBackend) -> Statement {
        let text = match backend {
            DbBackend::Postgres => self.text,
            _ if in_order(&self.text, self.values.len()) => {
                let mut out = String::with_capacity(self.text.len());
                let mut chars = self.text.chars().peekable();
                while let Some(c) = chars.next() {
                    out.push(if c == '$' { '?' } else { c });
                    if c == '$' {
                        while chars.next_if(char::is_ascii_digit).is_some() {}
                    }
                }
                out
            }
            _ => self.text.replace('$', "?"),
        };
        Statement::from_sql_and_values(backend, text, self.values)
    }
}

/// Whether the placeholders of `text` are `$1`, `$2`, … `$count`, each once, in that order.
fn in_order(text: &str, count: usize) -> bool {
    let mut seen = 0;
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        seen += 1;
        if rest[..digits].parse::<usize>().ok() != Some(seen) {
            return false;
        }
        rest = &rest[digits..];
    }
    seen == count
}

/// Begins a transaction that reads and then writes. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), waiting for it in the busy handler: a deferred transaction that read
/// first fails at once (`SQLITE_BUSY`, no waiting) when it tries to write while another
/// connection writes or has written since its read. PostgreSQL ignores the mode.
pub async fn begin_write<C: sea_orm::TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Begins a transaction that only reads, for figures that must agree with one another: a
/// repeatable-read, read-only snapshot on PostgreSQL; on SQLite a deferred transaction, whose
/// first read fixes the snapshot it sees.
pub async fn begin_snapshot(
    db: &sea_orm::DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{AccessMode, IsolationLevel, TransactionTrait};
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    db.begin_with_config(
        postgres.then_some(IsolationLevel::RepeatableRead),
        postgres.then_some(AccessMode::ReadOnly),
    )
    .await
}

/// ` FOR UPDATE` where the database locks rows (PostgreSQL); SQLite locks the whole database
/// for a writer anyway.
pub fn for_update(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => " FOR UPDATE",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_in_order_become_anonymous_on_sqlite() {
        let mut sql = Sql::new();
        let values = sql.tuples([[1, 2], [3, 4]]);
        sql.text = format!("VALUES {values}");
        let built = sql.build(DbBackend::Sqlite);
        assert_eq!(built.sql, "VALUES (?, ?), (?, ?)");
        assert_eq!(built.values.map(|v| v.0.len()), Some(4));
    }

    #[test]
    fn placeholders_used_twice_or_out_of_order_keep_their_numbers() {
        let mut sql = Sql::new();
        let (a, b) = (sql.bind(1), sql.bind(2));
        sql.text = format!("SELECT {b}, {a}");
        assert_eq!(sql.build(DbBackend::Sqlite).sql, "SELECT ?2, ?1");
        let mut sql = Sql::new();
        let a = sql.bind(1);
        sql.text = format!("SELECT {a} + {a}");
        assert_eq!(sql.build(DbBackend::Sqlite).sql, "SELECT ?1 + ?1");
        let mut sql = Sql::new();
        let a = sql.bind(1);
        sql.text = format!("SELECT {a}");
        assert_eq!(sql.build(DbBackend::Postgres).sql, "SELECT $1");
    }
}
