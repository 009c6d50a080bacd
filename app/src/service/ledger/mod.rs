//! The ledger: the only code that writes transfers or changes balances. Double entry (every
//! transfer debits one account and credits another of the same currency), append-only (the
//! database refuses UPDATE and DELETE of transfers), exactly once (each transfer has an
//! idempotency key, unique across the table), and never below zero (a debit that would take a
//! non-external account negative is refused here, and by a CHECK in the database).
//!
//! Balances are cached on `ledger_account` and changed only here, in the caller's transaction,
//! together with the transfer that explains them; [`check`] replays every transfer against them.

pub mod balance;
pub mod check;
pub mod post;
pub mod reverse;
mod write;

use crate::{
    entity::{ledger_account, ledger_transfer},
    error::AppError,
    model::{LedgerKind, Micros, TransferKind},
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, Set,
    sea_query::Expr,
};
use std::sync::atomic::{AtomicU64, Ordering};

pub use check::check;
pub use post::{Charge, hold_many, post_key, post_many, transfer_many};
pub use reverse::{Reversal, reversal_key, reverse_many};
pub use write::{
    RESTART_LOG_PAGES, TOO_SLOW, WRITE_DEADLINE, Write, begin, begin_from, checkpoint_log,
    close_writer,
};

/// Changes made by this process to what a batch of decisions reads about an ad account's
/// money — its available balance, a campaign's committed spend, the low-balance threshold —
/// other than by the decisions' own holds: top-ups, refunds, releases, reversals, threshold
/// edits. The decision writer keeps what it read and wrote between batches and forgets it
/// when this count has moved (see `delivery::budgets::Kept`). Money is counted inside the
/// writing transaction, after its first write: on SQLite, whose one writer at a time means a
/// batch that begins later sees the count moved and the change committed. (A threshold edit
/// is one statement, counted just after it commits: a batch in between may still warn against
/// the old threshold.)
static OUTSIDE_CHANGES: AtomicU64 = AtomicU64::new(0);

/// The count of [`OUTSIDE_CHANGES`] so far.
pub fn outside_changes() -> u64 {
    OUTSIDE_CHANGES.load(Ordering::SeqCst)
}

/// Counts a change to an ad account's money made outside decisions.
pub(crate) fn note_outside_change() {
    OUTSIDE_CHANGES.fetch_add(1, Ordering::SeqCst);
}

/// Whether a transfer between these sides changes an ad account's available balance.
fn touches_balance(debit: Side, credit: Side) -> bool {
    debit.kind == LedgerKind::AccountBalance || credit.kind == LedgerKind::AccountBalance
}

/// How long after a period ends its money may still arrive: a transfer is stamped when its
/// request begins but seen by others only once it commits, so a statement read just after
/// midnight could miss one stamped just before and committed just after. [`WRITE_DEADLINE`]
/// bounds the write itself; the rest leaves four minutes for what a request does before it
/// begins writing (its reads, each bounded by the pools' own waits of 10–30 s). A month's
/// statement is final only from its end plus this.
pub const SETTLE: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// One side of a transfer: the kind of account and who it belongs to (0 for the platform).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Side {
    pub kind: LedgerKind,
    pub owner: i64,
}

impl Side {
    pub fn external() -> Self {
        Self {
            kind: LedgerKind::External,
            owner: 0,
        }
    }
    pub fn balance(account: i64) -> Self {
        Self {
            kind: LedgerKind::AccountBalance,
            owner: account,
        }
    }
    pub fn holds(campaign: i64) -> Self {
        Self {
            kind: LedgerKind::CampaignHolds,
            owner: campaign,
        }
    }
    pub fn revenue() -> Self {
        Self {
            kind: LedgerKind::Revenue,
            owner: 0,
        }
    }
    pub fn payable(channel: i64) -> Self {
        Self {
            kind: LedgerKind::PublisherPayable,
            owner: channel,
        }
    }
}

/// A transfer to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTransfer {
    pub debit: Side,
    pub credit: Side,
    pub amount: Micros,
    pub currency: String,
    pub kind: TransferKind,
    /// What it is about: ("decision", 17), ("top_up", 3), …
    pub object_type: &'static str,
    pub object_id: i64,
    pub key: String,
}

impl NewTransfer {
    /// The transfer's row, between the ledger accounts `debit` and `credit`.
    pub(super) fn row(
        &self,
        debit: i64,
        credit: i64,
        now: DateTime<Utc>,
    ) -> ledger_transfer::ActiveModel {
        ledger_transfer::ActiveModel {
            debit_account_id: Set(debit),
            credit_account_id: Set(credit),
            amount: Set(self.amount.0),
            currency: Set(self.currency.clone()),
            kind: Set(self.kind.code().to_owned()),
            object_type: Set(self.object_type.to_owned()),
            object_id: Set(self.object_id),
            idempotency_key: Set(self.key.clone()),
            created_at: Set(now),
            ..Default::default()
        }
    }
}

/// What [`transfer`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Written now, with this id.
    Applied(i64),
    /// The same transfer was already written under this key (nothing written now).
    Replayed(i64),
    /// The debit account's balance cannot cover it. Nothing was written by [`transfer`]; after
    /// [`transfer_new`] the credit side may have moved, so the caller rolls back.
    Insufficient,
}

/// The id of the ledger account (`side`, `currency`), created on first use.
pub async fn account_id(
    db: &impl ConnectionTrait,
    side: Side,
    currency: &str,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let find = || {
        ledger_account::Entity::find()
            .filter(ledger_account::Column::Kind.eq(side.kind.code()))
            .filter(ledger_account::Column::OwnerId.eq(side.owner))
            .filter(ledger_account::Column::Currency.eq(currency))
    };
    if let Some(found) = find().one(db).await? {
        return Ok(found.id);
    }
    ledger_account::Entity::insert(ledger_account::ActiveModel {
        kind: Set(side.kind.code().to_owned()),
        owner_id: Set(side.owner),
        currency: Set(currency.to_owned()),
        debits: Set(0),
        credits: Set(0),
        balance: Set(0),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([
        ledger_account::Column::Kind,
        ledger_account::Column::OwnerId,
        ledger_account::Column::Currency,
    ])
    .exec(db)
    .await?;
    find()
        .one(db)
        .await?
        .map(|a| a.id)
        .ok_or_else(|| AppError::internal("ledger", "account vanished after insert"))
}

/// Takes the row lock of the ledger account (`side`, `currency`) until the transaction ends
/// (a no-op UPDATE; creating the account first), so that writers deciding on that account's
/// state queue behind one another on PostgreSQL (SQLite already serializes writers).
pub async fn lock(
    db: &impl ConnectionTrait,
    side: Side,
    currency: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let id = account_id(db, side, currency, now).await?;
    ledger_account::Entity::update_many()
        .col_expr(
            ledger_account::Column::Balance,
            Expr::col(ledger_account::Column::Balance),
        )
        .filter(ledger_account::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// [`balance_of`] as a scalar subquery, for statements that read it beside other figures
/// (NULL when the account was never used, which means zero).
pub(crate) fn balance_subquery(
    sql: &mut crate::service::sql::Sql,
    side: Side,
    currency: &str,
) -> String {
    let owner = sql.bind(side.owner);
    let currency = sql.bind(currency);
    balance_lookup(sql, side.kind, &owner, &currency)
}

/// [`balance_subquery`] for an owner and currency given as SQL expressions — columns of the
/// statement it is part of, say, to read one balance per row.
pub(crate) fn balance_lookup(
    sql: &mut crate::service::sql::Sql,
    kind: LedgerKind,
    owner: &str,
    currency: &str,
) -> String {
    format!(
        "(SELECT l.balance FROM ledger_account l \
           WHERE l.kind = {} AND l.owner_id = {owner} AND l.currency = {currency})",
        sql.bind(kind.code()),
    )
}

/// The balance of (`side`, `currency`); zero when the account was never used.
pub async fn balance_of(
    db: &impl ConnectionTrait,
    side: Side,
    currency: &str,
) -> Result<Micros, AppError> {
    Ok(Micros(
        ledger_account::Entity::find()
            .filter(ledger_account::Column::Kind.eq(side.kind.code()))
            .filter(ledger_account::Column::OwnerId.eq(side.owner))
            .filter(ledger_account::Column::Currency.eq(currency))
            .one(db)
            .await?
            .map_or(0, |a| a.balance),
    ))
}

/// Makes a transfer exactly once, inside the caller's transaction: a key already used for the
/// same transfer is [`Outcome::Replayed`]; for a different one it is a conflict. Both balances
/// change in account-id order (so concurrent transfers cannot deadlock on them), the debit only
/// if it leaves a non-external account at or above zero. On `Insufficient` nothing was written.
pub async fn transfer(
    db: &impl ConnectionTrait,
    t: &NewTransfer,
    now: DateTime<Utc>,
) -> Result<Outcome, AppError> {
    if t.amount.0 <= 0 {
        return Err(AppError::internal(
            "ledger",
            "a transfer must move more than zero",
        ));
    }
    if t.debit == t.credit {
        return Err(AppError::internal(
            "ledger",
            "a transfer needs two accounts",
        ));
    }
    let debit = account_id(db, t.debit, &t.currency, now).await?;
    let credit = account_id(db, t.credit, &t.currency, now).await?;
    if let Some(existing) = ledger_transfer::Entity::find()
        .filter(ledger_transfer::Column::IdempotencyKey.eq(&t.key))
        .one(db)
        .await?
    {
        let same = existing.debit_account_id == debit
            && existing.credit_account_id == credit
            && existing.amount == t.amount.0
            && existing.currency == t.currency
            && existing.kind == t.kind.code()
            && existing.object_type == t.object_type
            && existing.object_id == t.object_id;
        return if same {
            Ok(Outcome::Replayed(existing.id))
        } else {
            Err(AppError::Conflict(format!(
                "The ledger key {} was already used for another transfer.",
                t.key
            )))
        };
    }
    let sides = if debit < credit {
        [(debit, true), (credit, false)]
    } else {
        [(credit, false), (debit, true)]
    };
    // When the credit comes first and the debit is then refused, the credit is taken back
    // before answering, so that `Insufficient` leaves both balances as they were.
    let mut credited = None;
    for (id, is_debit) in sides {
        if is_debit {
            let mut update = ledger_account::Entity::update_many()
                .col_expr(
                    ledger_account::Column::Debits,
                    Expr::col(ledger_account::Column::Debits).add(t.amount.0),
                )
                .col_expr(
                    ledger_account::Column::Balance,
                    Expr::col(ledger_account::Column::Balance).sub(t.amount.0),
                )
                .filter(ledger_account::Column::Id.eq(id));
            if !t.debit.kind.may_go_negative() {
                update = update.filter(ledger_account::Column::Balance.gte(t.amount.0));
            }
            if update.exec(db).await?.rows_affected != 1 {
                if let Some(credit) = credited {
                    add_credit(db, credit, -t.amount.0).await?;
                }
                return Ok(Outcome::Insufficient);
            }
        } else {
            add_credit(db, id, t.amount.0).await?;
            credited = Some(id);
        }
    }
    if touches_balance(t.debit, t.credit) {
        note_outside_change();
    }
    let written = t.row(debit, credit, now).insert(db).await?;
    Ok(Outcome::Applied(written.id))
}

/// Adds `amount` (negative: takes it back) to a ledger account's credits and balance.
async fn add_credit(db: &impl ConnectionTrait, id: i64, amount: i64) -> Result<(), AppError> {
    ledger_account::Entity::update_many()
        .col_expr(
            ledger_account::Column::Credits,
            Expr::col(ledger_account::Column::Credits).add(amount),
        )
        .col_expr(
            ledger_account::Column::Balance,
            Expr::col(ledger_account::Column::Balance).add(amount),
        )
        .filter(ledger_account::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Makes a transfer whose key cannot have been used (it names an object created in this
/// transaction), in three statements: both account ids, both balances, the transfer. On
/// `Insufficient` a balance may have changed, so the caller must roll the transaction back.
pub async fn transfer_new(
    db: &impl ConnectionTrait,
    t: &NewTransfer,
    now: DateTime<Utc>,
) -> Result<Outcome, AppError> {
    if t.amount.0 <= 0 || t.debit == t.credit {
        return Err(AppError::internal(
            "ledger",
            "a transfer moves more than zero between two accounts",
        ));
    }
    let wanted = [
        (t.debit, t.currency.clone()),
        (t.credit, t.currency.clone()),
    ]
    .into_iter()
    .collect();
    let ids = post::account_ids(db, &wanted, now).await?;
    let id = |side: Side| {
        ids.get(&(side, t.currency.clone()))
            .copied()
            .ok_or_else(|| AppError::internal("ledger", "a ledger account vanished"))
    };
    transfer_new_between(db, t, id(t.debit)?, id(t.credit)?, now).await
}

/// [`transfer_new`] between ledger accounts whose ids the caller read in this transaction
/// (ledger accounts are never deleted, so an id read is an id that stays).
async fn transfer_new_between(
    db: &impl ConnectionTrait,
    t: &NewTransfer,
    debit: i64,
    credit: i64,
    now: DateTime<Utc>,
) -> Result<Outcome, AppError> {
    if t.amount.0 <= 0 || debit == credit {
        return Err(AppError::internal(
            "ledger",
            "a transfer moves more than zero between two accounts",
        ));
    }
    let moves = [
        (debit, (t.amount.0, 0, t.debit.kind.may_go_negative())),
        (credit, (0, t.amount.0, true)),
    ]
    .into_iter()
    .collect();
    if !post::move_balances(db, &moves).await? {
        return Ok(Outcome::Insufficient);
    }
    if touches_balance(t.debit, t.credit) {
        note_outside_change();
    }
    let written = ledger_transfer::Entity::insert(t.row(debit, credit, now))
        .exec(db)
        .await?;
    Ok(Outcome::Applied(written.last_insert_id))
}

/// The hold of `amount` of an ad account's balance for a campaign's won slot (`decision`),
/// named by the decision.
pub fn hold_transfer(
    account: i64,
    campaign: i64,
    currency: &str,
    amount: Micros,
    decision: i64,
) -> NewTransfer {
    NewTransfer {
        debit: Side::balance(account),
        credit: Side::holds(campaign),
        amount,
        currency: currency.to_owned(),
        kind: TransferKind::Hold,
        object_type: "decision",
        object_id: decision,
        key: format!("hold:{decision}"),
    }
}

/// Reserves `amount` of an ad account's balance for a campaign's won slot (`decision`).
/// `Insufficient` when the balance cannot cover it (roll back then). The decision is new, so
/// its hold's key cannot have been used. `known`: the ids of the account's balance and the
/// campaign's holds in the ledger, when the caller has read them in this transaction.
#[expect(clippy::too_many_arguments, reason = "a hold is all of these facts")]
pub async fn hold(
    db: &impl ConnectionTrait,
    account: i64,
    campaign: i64,
    currency: &str,
    amount: Micros,
    decision: i64,
    known: Option<(i64, i64)>,
    now: DateTime<Utc>,
) -> Result<Outcome, AppError> {
    let t = hold_transfer(account, campaign, currency, amount, decision);
    match known {
        Some((balance, holds)) => transfer_new_between(db, &t, balance, holds, now).await,
        None => transfer_new(db, &t, now).await,
    }
}

/// Returns the unused rest of a decision's hold to the ad account's balance (once: the key is
/// the decision's).
pub async fn release(
    db: &impl ConnectionTrait,
    account: i64,
    campaign: i64,
    currency: &str,
    amount: Micros,
    decision: i64,
    now: DateTime<Utc>,
) -> Result<Outcome, AppError> {
    transfer(
        db,
        &NewTransfer {
            debit: Side::holds(campaign),
            credit: Side::balance(account),
            amount,
            currency: currency.to_owned(),
            kind: TransferKind::Release,
            object_type: "decision",
            object_id: decision,
            key: format!("release:{decision}"),
        },
        now,
    )
    .await
}
