//! The ledger's own proof: every cached balance equals the replay of its transfers, debits
//! equal credits, nothing that must not be negative is, and no transfer mixes currencies.
//!
//! The replay runs in the database, in one statement: the transfers are summed per pair of
//! accounts and currency once, then per account (with the lowest and highest currency among
//! its transfers, which both must be the account's), and compared with the cached figures there;
//! only the accounts that differ come back (at most [`MAX_PROBLEM_ACCOUNTS`]), with the sizes
//! and the per-currency totals. Its memory does not grow with the ledger: a platform with a
//! million channels has a million payable accounts, none of which needs to leave the database
//! for the check to pass.

use crate::{error::AppError, model::LedgerKind, service::sql::Sql};
use sea_orm::ConnectionTrait;
use std::collections::HashMap;

/// The most ledger accounts whose problems [`check`] lists; past it, one line says there are
/// more.
pub const MAX_PROBLEM_ACCOUNTS: usize = 100;

/// What [`check`] found: sizes, and every broken invariant in words (empty when sound).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerCheck {
    pub accounts: u64,
    pub transfers: u64,
    /// Σ of all amounts moved, per currency (each counted once: debits = credits).
    pub moved: HashMap<String, i128>,
    pub problems: Vec<String>,
}

/// What a row of the check's statement is (its first column).
const MOVED: i32 = 1;
const HELD: i32 = 2;
const PROBLEM: i32 = 3;

/// Replays the ledger from its transfers and compares it with the cached balances, in the
/// database (see the module's note).
pub async fn check(db: &impl ConnectionTrait) -> Result<LedgerCheck, AppError> {
    let mut sql = Sql::new();
    let never_negative = LedgerKind::ALL
        .iter()
        .filter(|k| !k.may_go_negative())
        .map(|k| sql.bind(k.code()))
        .collect::<Vec<_>>()
        .join(", ");
    let limit = sql.bind(MAX_PROBLEM_ACCOUNTS as i64 + 1);
    // Sums over BIGINT are NUMERIC on PostgreSQL: cast back so both databases answer i64.
    // Rows: (part, id, kind, owner, currency, a, b, c, the lowest and highest currency of the
    // account's transfers, replayed debits, replayed credits); `MOVED` rows carry a currency's
    // transfer count and amount in a, b; `HELD` rows its account count and balance sum in a, c;
    // `PROBLEM` rows one account (its replay over all its transfers, whatever their currency).
    sql.text = format!(
        "WITH pairs AS MATERIALIZED (\
         SELECT debit_account_id AS debit, credit_account_id AS credit, currency, \
         COUNT(*) AS n, SUM(amount) AS amount FROM ledger_transfer \
         GROUP BY debit_account_id, credit_account_id, currency), \
         replay AS (SELECT id, MIN(currency) AS low_currency, MAX(currency) AS high_currency, \
         CAST(SUM(debits) AS BIGINT) AS debits, CAST(SUM(credits) AS BIGINT) AS credits FROM (\
         SELECT debit AS id, currency, amount AS debits, 0 AS credits FROM pairs \
         UNION ALL SELECT credit AS id, currency, 0 AS debits, amount AS credits FROM pairs) flows \
         GROUP BY id) \
         SELECT CAST({MOVED} AS INTEGER), CAST(NULL AS BIGINT), CAST(NULL AS TEXT), \
         CAST(NULL AS BIGINT), currency, CAST(SUM(n) AS BIGINT), CAST(SUM(amount) AS BIGINT), \
         CAST(NULL AS BIGINT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS BIGINT), \
         CAST(NULL AS BIGINT) FROM pairs GROUP BY currency \
         UNION ALL \
         SELECT {HELD}, NULL, NULL, NULL, currency, CAST(COUNT(*) AS BIGINT), NULL, \
         CAST(SUM(balance) AS BIGINT), NULL, NULL, NULL, NULL FROM ledger_account \
         GROUP BY currency \
         UNION ALL \
         SELECT * FROM (SELECT {PROBLEM} AS part, COALESCE(a.id, r.id) AS id, a.kind, a.owner_id, \
         a.currency, a.debits, a.credits, a.balance, r.low_currency, r.high_currency, \
         r.debits AS replay_debits, r.credits AS replay_credits \
         FROM ledger_account a FULL OUTER JOIN replay r ON r.id = a.id \
         WHERE a.id IS NULL OR r.low_currency <> a.currency OR r.high_currency <> a.currency \
         OR a.debits <> COALESCE(r.debits, 0) OR a.credits <> COALESCE(r.credits, 0) \
         OR a.balance <> COALESCE(r.credits, 0) - COALESCE(r.debits, 0) \
         OR (a.balance < 0 AND a.kind IN ({never_negative})) \
         ORDER BY COALESCE(a.id, r.id) LIMIT {limit}) problems"
    );
    let rows = db
        .query_all_raw(sql.build(ConnectionTrait::get_database_backend(db)))
        .await?;
    let mut out = LedgerCheck::default();
    let mut listed = 0;
    for row in rows {
        type Row = (
            i32,
            Option<i64>,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
        );
        let (part, id, kind, owner, currency, a, b, c, low, high, debits, credits): Row =
            row.try_get_many_by_index()?;
        let currency = currency.unwrap_or_default();
        match part {
            MOVED => {
                out.transfers += a.unwrap_or(0) as u64;
                *out.moved.entry(currency).or_default() += i128::from(b.unwrap_or(0));
            }
            HELD => {
                out.accounts += a.unwrap_or(0) as u64;
                let sum = c.unwrap_or(0);
                if sum != 0 {
                    out.problems
                        .push(format!("balances in {currency} sum to {sum}, not zero"));
                }
            }
            _ => {
                listed += 1;
                if listed > MAX_PROBLEM_ACCOUNTS {
                    out.problems.push(format!(
                        "more than {MAX_PROBLEM_ACCOUNTS} ledger accounts differ; the first \
                         {MAX_PROBLEM_ACCOUNTS} are listed"
                    ));
                    continue;
                }
                let id = id.unwrap_or(0);
                let Some(kind) = kind else {
                    out.problems
                        .push(format!("transfers name a missing account {id}"));
                    continue;
                };
                let (debits, credits) = (debits.unwrap_or(0), credits.unwrap_or(0));
                let (cached_debits, cached_credits, balance) =
                    (a.unwrap_or(0), b.unwrap_or(0), c.unwrap_or(0));
                let owner = owner.unwrap_or(0);
                let mut foreign: Vec<String> = [low, high]
                    .into_iter()
                    .flatten()
                    .filter(|c| *c != currency)
                    .collect();
                foreign.dedup();
                for other in foreign {
                    out.problems.push(format!(
                        "transfers in {other} touch account {id} kept in {currency}"
                    ));
                }
                if cached_debits != debits
                    || cached_credits != credits
                    || balance != credits - debits
                {
                    out.problems.push(format!(
                        "account {id} ({kind} of {owner}): cached debits {cached_debits} \
                         credits {cached_credits} balance {balance}, replayed {debits} \
                         {credits} {}",
                        credits - debits
                    ));
                }
                let negative_allowed =
                    LedgerKind::from_code(&kind).is_some_and(|k| k.may_go_negative());
                if balance < 0 && !negative_allowed {
                    out.problems
                        .push(format!("account {id} ({kind}) is negative: {balance}"));
                }
            }
        }
    }
    Ok(out)
}
