//! Posting: charges against campaigns' holds for delivered views, many decisions at once.
//! Each charge splits into the channel's publisher payable (its publisher part, which the caller
//! works out: the publisher share of each event, rounded down) and platform revenue (the rest,
//! so the platform keeps the rounding micros), as one transfer pair named by the decision and
//! its posted total after the charge. A batch of charges writes
//! its transfers with one statement and changes each touched balance once, in account-id
//! order, the debited holds only if they stay at or above zero.

use super::{NewTransfer, Side};
use crate::{
    entity::{ledger_account, ledger_transfer},
    error::AppError,
    model::{LedgerKind, Micros, TransferKind},
    service::sql::Sql,
};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Set};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Rows per multi-row statement (well under either database's limit on bound values).
const CHUNK: usize = 500;

/// One charge: `amount` of `campaign`'s holds for views of `decision` on `channel`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    pub campaign: i64,
    pub channel: i64,
    pub currency: String,
    pub amount: Micros,
    /// The publisher's part of `amount` (0 ≤ it ≤ `amount`).
    pub publisher: Micros,
    pub decision: i64,
    /// The decision's posted total with this charge: it names the charge, and is unique per
    /// decision because every charge moves more than zero.
    pub posted_after: i64,
}

/// The idempotency key of one side (`publisher` or `platform`) of a charge.
pub fn post_key(decision: i64, posted_after: i64, side: &str) -> String {
    format!("post:{decision}@{posted_after}:{side}")
}

/// Writes `charges` in the caller's transaction. The caller holds the decisions' locks and
/// has checked that each decision still holds at least its charge; a key already used (the
/// same charge twice) fails the whole transaction.
pub async fn post_many(
    db: &impl ConnectionTrait,
    charges: &[Charge],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut transfers = Vec::with_capacity(charges.len() * 2);
    for c in charges {
        if c.amount.0 <= 0 || !(0..=c.amount.0).contains(&c.publisher.0) {
            return Err(AppError::internal(
                "ledger",
                "a charge is more than zero and its publisher part within it",
            ));
        }
        let publisher = c.publisher;
        let platform = Micros(c.amount.0 - publisher.0);
        for (part, credit, side) in [
            (publisher, Side::payable(c.channel), "publisher"),
            (platform, Side::revenue(), "platform"),
        ] {
            if part.0 > 0 {
                transfers.push(NewTransfer {
                    debit: Side::holds(c.campaign),
                    credit,
                    amount: part,
                    currency: c.currency.clone(),
                    kind: TransferKind::Post,
                    object_type: "decision",
                    object_id: c.decision,
                    key: post_key(c.decision, c.posted_after, side),
                });
            }
        }
    }
    if !transfer_many(db, &transfers, now).await? {
        return Err(AppError::internal(
            "ledger",
            "a campaign holds less than its decisions post",
        ));
    }
    Ok(())
}

/// Writes `transfers` (keys never used before; a used one fails the whole transaction) in the
/// caller's transaction: each touched balance changes once, in account-id order, and all
/// transfers go in with one statement per chunk. `false` when a debit would take an account
/// that must not go negative below zero: balances may have changed, so the caller rolls back.
pub async fn transfer_many(
    db: &impl ConnectionTrait,
    transfers: &[NewTransfer],
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    write_many(db, transfers, &HashMap::new(), now, true).await
}

/// Decisions' holds ([`super::hold_transfer`]), as [`transfer_many`] makes transfers, but not
/// counted as [`super::outside_changes`]: the decision writer knows what its holds took.
/// `known`: ledger account ids the caller read in this transaction.
pub async fn hold_many(
    db: &impl ConnectionTrait,
    holds: &[NewTransfer],
    known: &HashMap<(Side, String), i64>,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    if holds.iter().any(|t| t.kind != TransferKind::Hold) {
        return Err(AppError::internal(
            "ledger",
            "only holds are decisions' own",
        ));
    }
    write_many(db, holds, known, now, false).await
}

/// [`transfer_many`], when the caller has read some of the ledger accounts' ids in this
/// transaction (`known`; ledger accounts are never deleted, so an id read stays): only the
/// others are looked up (and created when never used). `count` says whether a change to an
/// ad account's balance is counted as an outside change.
async fn write_many(
    db: &impl ConnectionTrait,
    transfers: &[NewTransfer],
    known: &HashMap<(Side, String), i64>,
    now: DateTime<Utc>,
    count: bool,
) -> Result<bool, AppError> {
    if transfers.is_empty() {
        return Ok(true);
    }
    if transfers
        .iter()
        .any(|t| t.amount.0 <= 0 || t.debit == t.credit)
    {
        return Err(AppError::internal(
            "ledger",
            "a transfer moves more than zero between two accounts",
        ));
    }
    let wanted: BTreeSet<(Side, String)> = transfers
        .iter()
        .flat_map(|t| {
            [
                (t.debit, t.currency.clone()),
                (t.credit, t.currency.clone()),
            ]
        })
        .filter(|w| !known.contains_key(w))
        .collect();
    let mut ids = if wanted.is_empty() {
        HashMap::new()
    } else {
        account_ids(db, &wanted, now).await?
    };
    ids.extend(known.iter().map(|(k, v)| (k.clone(), *v)));
    let id = |side: Side, currency: &str| {
        ids.get(&(side, currency.to_owned()))
            .copied()
            .ok_or_else(|| AppError::internal("ledger", "a ledger account vanished"))
    };
    // Debits and credits per ledger account, in id order.
    let mut moves: BTreeMap<i64, (i64, i64, bool)> = BTreeMap::new();
    let mut rows = Vec::with_capacity(transfers.len());
    for t in transfers {
        let (debit, credit) = (id(t.debit, &t.currency)?, id(t.credit, &t.currency)?);
        // Whether an account may go negative is its kind's, however it is first met.
        moves
            .entry(debit)
            .or_insert((0, 0, t.debit.kind.may_go_negative()))
            .0 += t.amount.0;
        moves
            .entry(credit)
            .or_insert((0, 0, t.credit.kind.may_go_negative()))
            .1 += t.amount.0;
        rows.push(t.row(debit, credit, now));
    }
    if !move_balances(db, &moves).await? {
        return Ok(false);
    }
    if count
        && transfers
            .iter()
            .any(|t| super::touches_balance(t.debit, t.credit))
    {
        super::note_outside_change();
    }
    for chunk in rows.chunks(CHUNK) {
        ledger_transfer::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(true)
}

/// Applies (debits, credits, may go negative) to each ledger account: row locks taken in id
/// order first (PostgreSQL; SQLite has one writer), then one UPDATE per chunk that refuses to
/// take an account which must not go negative below zero. `false` when one was refused: some
/// accounts may have changed, so the caller must roll the transaction back.
pub(super) async fn move_balances(
    db: &impl ConnectionTrait,
    moves: &BTreeMap<i64, (i64, i64, bool)>,
) -> Result<bool, AppError> {
    let backend = db.get_database_backend();
    let all: Vec<(i64, (i64, i64, bool))> = moves.iter().map(|(k, v)| (*k, *v)).collect();
    for chunk in all.chunks(CHUNK).filter(|_| backend == DbBackend::Postgres) {
        let mut lock = Sql::new();
        let ids: Vec<String> = chunk.iter().map(|(id, _)| lock.bind(*id)).collect();
        lock.text = format!(
            "SELECT id FROM ledger_account WHERE id IN ({}) ORDER BY id FOR UPDATE",
            ids.join(", ")
        );
        db.query_all_raw(lock.build(backend)).await?;
    }
    for chunk in all.chunks(CHUNK) {
        let mut sql = Sql::new();
        let values = sql.tuples(chunk.iter().map(|(id, (debits, credits, negative))| {
            [*id, *debits, *credits, i64::from(*negative)]
        }));
        sql.text = format!(
            "WITH m(id, debits, credits, negative) AS (VALUES {values}) \
             UPDATE ledger_account SET debits = ledger_account.debits + m.debits, \
             credits = ledger_account.credits + m.credits, \
             balance = ledger_account.balance + m.credits - m.debits \
             FROM m WHERE ledger_account.id = m.id \
             AND (m.negative = 1 OR ledger_account.balance + m.credits - m.debits >= 0)"
        );
        let done = db.execute_raw(sql.build(backend)).await?;
        if done.rows_affected() != chunk.len() as u64 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The ids of the ledger accounts `wanted`, creating those never used.
pub(super) async fn account_ids(
    db: &impl ConnectionTrait,
    wanted: &BTreeSet<(Side, String)>,
    now: DateTime<Utc>,
) -> Result<HashMap<(Side, String), i64>, AppError> {
    let mut found = find(db, wanted).await?;
    let missing: Vec<ledger_account::ActiveModel> = wanted
        .iter()
        .filter(|w| !found.contains_key(*w))
        .map(|(side, currency)| ledger_account::ActiveModel {
            kind: Set(side.kind.code().to_owned()),
            owner_id: Set(side.owner),
            currency: Set(currency.clone()),
            debits: Set(0),
            credits: Set(0),
            balance: Set(0),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    if !missing.is_empty() {
        for chunk in missing.chunks(CHUNK) {
            ledger_account::Entity::insert_many(chunk.to_vec())
                .on_conflict_do_nothing_on([
                    ledger_account::Column::Kind,
                    ledger_account::Column::OwnerId,
                    ledger_account::Column::Currency,
                ])
                .exec_without_returning(db)
                .await?;
        }
        found = find(db, wanted).await?;
    }
    Ok(found)
}

async fn find(
    db: &impl ConnectionTrait,
    wanted: &BTreeSet<(Side, String)>,
) -> Result<HashMap<(Side, String), i64>, AppError> {
    // One condition per (kind, currency): owner_id IN (…).
    let mut groups: BTreeMap<(&'static str, &str), Vec<i64>> = BTreeMap::new();
    for (side, currency) in wanted {
        groups
            .entry((side.kind.code(), currency.as_str()))
            .or_default()
            .push(side.owner);
    }
    let mut out = HashMap::with_capacity(wanted.len());
    for ((kind, currency), owners) in groups {
        for chunk in owners.chunks(CHUNK) {
            let rows = ledger_account::Entity::find()
                .filter(
                    Condition::all()
                        .add(ledger_account::Column::Kind.eq(kind))
                        .add(ledger_account::Column::Currency.eq(currency))
                        .add(ledger_account::Column::OwnerId.is_in(chunk.iter().copied())),
                )
                .all(db)
                .await?;
            for a in rows {
                if let Some(kind) = LedgerKind::from_code(&a.kind) {
                    let side = Side {
                        kind,
                        owner: a.owner_id,
                    };
                    out.insert((side, a.currency), a.id);
                }
            }
        }
    }
    Ok(out)
}
