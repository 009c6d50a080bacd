//! The ledger's own proof: every cached balance equals the replay of its transfers, debits
//! equal credits, nothing that must not be negative is, and no transfer mixes currencies.

use crate::{
    entity::{ledger_account, ledger_transfer},
    error::AppError,
    model::LedgerKind,
};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect, sea_query::Expr};
use std::collections::HashMap;

/// What [`check`] found: sizes, and every broken invariant in words (empty when sound).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerCheck {
    pub accounts: u64,
    pub transfers: u64,
    /// Σ of all amounts moved, per currency (each counted once: debits = credits).
    pub moved: HashMap<String, i128>,
    pub problems: Vec<String>,
}

/// Replays the ledger from its transfers (summed in the database) and compares it with the
/// cached balances.
pub async fn check(db: &impl ConnectionTrait) -> Result<LedgerCheck, AppError> {
    let accounts = ledger_account::Entity::find().all(db).await?;
    // Sums over BIGINT are NUMERIC on PostgreSQL: cast back so both databases answer i64.
    let flows: Vec<(i64, i64, String, i64, i64)> = ledger_transfer::Entity::find()
        .select_only()
        .column(ledger_transfer::Column::DebitAccountId)
        .column(ledger_transfer::Column::CreditAccountId)
        .column(ledger_transfer::Column::Currency)
        .column_as(Expr::cust("CAST(SUM(amount) AS BIGINT)"), "total")
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(ledger_transfer::Column::DebitAccountId)
        .group_by(ledger_transfer::Column::CreditAccountId)
        .group_by(ledger_transfer::Column::Currency)
        .into_tuple()
        .all(db)
        .await?;
    let mut out = LedgerCheck {
        accounts: accounts.len() as u64,
        ..LedgerCheck::default()
    };
    let by_id: HashMap<i64, &ledger_account::Model> = accounts.iter().map(|a| (a.id, a)).collect();
    let mut debits: HashMap<i64, i128> = HashMap::new();
    let mut credits: HashMap<i64, i128> = HashMap::new();
    for (debit, credit, currency, total, n) in flows {
        out.transfers += n as u64;
        *out.moved.entry(currency.clone()).or_default() += i128::from(total);
        *debits.entry(debit).or_default() += i128::from(total);
        *credits.entry(credit).or_default() += i128::from(total);
        for id in [debit, credit] {
            match by_id.get(&id) {
                Some(a) if a.currency != currency => out.problems.push(format!(
                    "transfers in {currency} touch account {id} kept in {}",
                    a.currency
                )),
                Some(_) => {}
                None => out
                    .problems
                    .push(format!("transfers name a missing account {id}")),
            }
        }
    }
    let mut per_currency: HashMap<&str, i128> = HashMap::new();
    for a in &accounts {
        let d = debits.get(&a.id).copied().unwrap_or(0);
        let c = credits.get(&a.id).copied().unwrap_or(0);
        if i128::from(a.debits) != d || i128::from(a.credits) != c || i128::from(a.balance) != c - d
        {
            out.problems.push(format!(
                "account {} ({} of {}): cached debits {} credits {} balance {}, replayed {d} {c} {}",
                a.id,
                a.kind,
                a.owner_id,
                a.debits,
                a.credits,
                a.balance,
                c - d
            ));
        }
        let negative_allowed = LedgerKind::from_code(&a.kind).is_some_and(|k| k.may_go_negative());
        if a.balance < 0 && !negative_allowed {
            out.problems.push(format!(
                "account {} ({}) is negative: {}",
                a.id, a.kind, a.balance
            ));
        }
        *per_currency.entry(a.currency.as_str()).or_default() += i128::from(a.balance);
    }
    for (currency, sum) in per_currency {
        if sum != 0 {
            out.problems
                .push(format!("balances in {currency} sum to {sum}, not zero"));
        }
    }
    Ok(out)
}
