//! Hand-written statements for the few places sea-orm's builders cannot say it in one
//! statement (sums grouped several ways, updates of many rows from a list of values). Written
//! once with PostgreSQL's `$n` placeholders and rewritten for SQLite when built.

use sea_orm::{DbBackend, Statement, Value};

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

    pub fn build(self, backend: DbBackend) -> Statement {
        let text = match backend {
            DbBackend::Postgres => self.text,
            _ => self.text.replace('$', "?"),
        };
        Statement::from_sql_and_values(backend, text, self.values)
    }
}

/// ` FOR UPDATE` where the database locks rows (PostgreSQL); SQLite locks the whole database
/// for a writer anyway.
pub fn for_update(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => " FOR UPDATE",
        _ => "",
    }
}
