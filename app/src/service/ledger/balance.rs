//! An ad account's money as its members see it: available, held, spent and credited (all read
//! from the ledger and the spend counters it keeps), the history of its balance, and the
//! owner's low-balance threshold.

use crate::{
    entity::{
        account_top_up, ad_account, campaign, finance_request, ledger_account, ledger_transfer,
    },
    error::AppError,
    model::{
        AccountId, AccountPermission, AuditAction, Balance, BalanceEntry, BalancePage,
        FinanceRequestKind, FinanceRequestStatus, FundingInstructions, LedgerKind, Micros,
        TransferKind, payment_reference,
    },
    service::{
        Actor,
        audit::{self, AuditEntry},
        settings,
        sql::Sql,
    },
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
    sea_query::Query,
};
use std::collections::HashMap;

/// History lines per page.
pub const HISTORY_PAGE: u64 = 25;
/// The deepest history page served.
pub const MAX_HISTORY_PAGE: u64 = 10_000;

/// The account's balance figures (no authorization: callers have checked who asks), with the
/// price floor that tells whether it is out of funds: one statement.
pub async fn summary(db: &impl ConnectionTrait, account: AccountId) -> Result<Balance, AppError> {
    let mut sql = Sql::new();
    let columns = summary_columns(&mut sql);
    let id = sql.bind(account.0);
    sql.text = format!("SELECT {columns} FROM ad_account a WHERE a.id = {id}");
    let row = db
        .query_one_raw(sql.build(db.get_database_backend()))
        .await?
        .ok_or(AppError::NotFound)?;
    summary_of_row(&row)
}

/// The columns of [`summary`] over one row of `ad_account a`, for a statement that reads more
/// of the account at once (the dashboard reads its card, balance and review counts in one);
/// [`summary_of_row`] reads them back.
pub(crate) fn summary_columns(sql: &mut Sql) -> String {
    let balance = sql.bind(LedgerKind::AccountBalance.code());
    let holds = sql.bind(LedgerKind::CampaignHolds.code());
    let refund = sql.bind(FinanceRequestKind::Refund.code());
    let done = sql.bind(FinanceRequestStatus::Done.code());
    let floor = settings::min_cpm_subquery(sql);
    format!(
        "a.currency, a.low_balance_micros, \
           (SELECT l.balance FROM ledger_account l \
             WHERE l.kind = {balance} AND l.owner_id = a.id AND l.currency = a.currency) \
             AS available, \
           (SELECT CAST(COALESCE(SUM(l.balance), 0) AS BIGINT) FROM ledger_account l \
             WHERE l.kind = {holds} AND l.currency = a.currency \
               AND l.owner_id IN (SELECT c.id FROM campaign c WHERE c.account_id = a.id)) \
             AS held, \
           (SELECT CAST(COALESCE(SUM(s.posted), 0) AS BIGINT) FROM campaign_spend s \
             WHERE s.campaign_id IN (SELECT c.id FROM campaign c WHERE c.account_id = a.id)) \
             AS spent, \
           (SELECT CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) FROM account_top_up t \
             WHERE t.account_id = a.id) AS credited, \
           (SELECT CAST(COALESCE(SUM(r.amount), 0) AS BIGINT) FROM finance_request r \
             WHERE r.account_id = a.id AND r.kind = {refund} AND r.status = {done}) \
             AS refunded, \
           (SELECT CAST(COALESCE(SUM(v.amount), 0) AS BIGINT) FROM charge_reversal v \
             WHERE v.account_id = a.id) AS given_back, \
           {floor} AS floor"
    )
}

/// The balance figures of a row read with [`summary_columns`].
pub(crate) fn summary_of_row(row: &sea_orm::QueryResult) -> Result<Balance, AppError> {
    let available = Micros(row.try_get::<Option<i64>>("", "available")?.unwrap_or(0));
    let floor = settings::min_cpm_of(row, "floor")?;
    Ok(Balance {
        currency: row.try_get("", "currency")?,
        available,
        held: Micros(row.try_get("", "held")?),
        spent: Micros(row.try_get("", "spent")?),
        credited: Micros(row.try_get("", "credited")?),
        refunded: Micros(row.try_get("", "refunded")?),
        given_back: Micros(row.try_get("", "given_back")?),
        low_balance: row
            .try_get::<Option<i64>>("", "low_balance_micros")?
            .map(Micros),
        out_of_funds: available < floor,
    })
}

/// The balance page of the current account: figures and one page of history (newest first).
pub async fn page(
    db: &impl ConnectionTrait,
    actor: &Actor,
    page: u64,
) -> Result<BalancePage, AppError> {
    let account = actor.account(db, AccountPermission::ViewBilling).await?;
    let mut out = of_account(db, account, &HistoryFilter::default(), page).await?;
    // Where to send money, beside the account's reference (members add funds; finance's
    // ledger page shows the reference only).
    out.funding.bank_details = crate::service::settings::bank_details(db).await?;
    out.can_set_threshold = actor
        .membership
        .is_some_and(|(_, role)| role.allows(AccountPermission::ManageAccount));
    Ok(out)
}

/// Which transfers a history lists: of one kind, and from/to a day (UTC), all when unset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// Also the transfers of the account's campaigns' holds — the charges, which move held
    /// money to the publisher and the platform — for finance's whole ledger of the account.
    /// Members see their balance's transfers only (a charge's split between publisher and
    /// platform is not theirs to see; their spend is in their reports).
    pub with_holds: bool,
    pub kind: Option<TransferKind>,
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
}

/// `account`'s figures and one page of its history under `filter`, newest first (the caller
/// has checked who may see it).
pub async fn of_account(
    db: &impl ConnectionTrait,
    account: AccountId,
    filter: &HistoryFilter,
    page: u64,
) -> Result<BalancePage, AppError> {
    let page = page.min(MAX_HISTORY_PAGE);
    // The figures, the account's name and its balance's ledger account: one statement.
    let mut sql = Sql::new();
    let columns = summary_columns(&mut sql);
    let kind = sql.bind(LedgerKind::AccountBalance.code());
    let id = sql.bind(account.0);
    sql.text = format!(
        "SELECT a.name, \
           (SELECT l.id FROM ledger_account l \
             WHERE l.kind = {kind} AND l.owner_id = a.id AND l.currency = a.currency) \
             AS ledger_id, \
           {columns} \
         FROM ad_account a WHERE a.id = {id}"
    );
    let row = db
        .query_one_raw(sql.build(db.get_database_backend()))
        .await?
        .ok_or(AppError::NotFound)?;
    let balance = summary_of_row(&row)?;
    let name: String = row.try_get("", "name")?;
    let ledger_id: Option<i64> = row.try_get("", "ledger_id")?;
    let mut rows = match ledger_id {
        None => Vec::new(),
        Some(id) => {
            // The ledger accounts whose transfers are listed: the balance, and for finance the
            // holds of the account's campaigns in its currency (every transfer into or out of
            // them). Their ids first, so that each side is an indexed lookup by a list of ids.
            let mut ids = vec![id];
            if filter.with_holds {
                ids.extend(
                    ledger_account::Entity::find()
                        .select_only()
                        .column(ledger_account::Column::Id)
                        .filter(ledger_account::Column::Kind.eq(LedgerKind::CampaignHolds.code()))
                        .filter(ledger_account::Column::Currency.eq(&balance.currency))
                        .filter(
                            ledger_account::Column::OwnerId.in_subquery(
                                Query::select()
                                    .column(campaign::Column::Id)
                                    .from(campaign::Entity)
                                    .and_where(campaign::Column::AccountId.eq(account.0))
                                    .to_owned(),
                            ),
                        )
                        .into_tuple::<i64>()
                        .all(db)
                        .await?,
                );
            }
            let mut find = ledger_transfer::Entity::find().filter(
                Condition::any()
                    .add(ledger_transfer::Column::DebitAccountId.is_in(ids.clone()))
                    .add(ledger_transfer::Column::CreditAccountId.is_in(ids)),
            );
            if let Some(kind) = filter.kind {
                find = find.filter(ledger_transfer::Column::Kind.eq(kind.code()));
            }
            if let Some(from) = filter.from.and_then(|d| d.and_hms_opt(0, 0, 0)) {
                find = find.filter(ledger_transfer::Column::CreatedAt.gte(from.and_utc()));
            }
            if let Some(to) = filter
                .to
                .and_then(|d| d.succ_opt())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
            {
                find = find.filter(ledger_transfer::Column::CreatedAt.lt(to.and_utc()));
            }
            find.order_by_desc(ledger_transfer::Column::Id)
                .offset(page * HISTORY_PAGE)
                .limit(HISTORY_PAGE + 1)
                .all(db)
                .await?
        }
    };
    let has_more = rows.len() as u64 > HISTORY_PAGE;
    rows.truncate(HISTORY_PAGE as usize);
    let entries = describe(db, ledger_id.unwrap_or(0), rows, filter.with_holds).await?;
    let funding = FundingInstructions {
        reference: payment_reference(account),
        bank_details: None,
    };
    Ok(BalancePage {
        account_name: name,
        balance,
        entries,
        page,
        has_more,
        can_set_threshold: false,
        funding,
    })
}

/// The incoming transfer's reference of each of the top-ups `ids` (those refunds return), by
/// top-up id; no statement for none.
pub(crate) async fn top_up_references(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, String>, AppError> {
    Ok(crate::service::reads::all_in(
        db,
        account_top_up::Entity::find(),
        account_top_up::Column::Id,
        ids,
    )
    .await?
    .into_iter()
    .map(|t| (t.id, t.external_reference))
    .collect())
}

/// The external references (bank transfer ids) of the top-ups and refunds among `transfers`,
/// by transfer id.
pub(crate) async fn references(
    db: &impl ConnectionTrait,
    transfers: Vec<i64>,
) -> Result<HashMap<i64, String>, AppError> {
    // No transfers, no references: no round trip to find nothing.
    if transfers.is_empty() {
        return Ok(HashMap::new());
    }
    let mut out: HashMap<i64, String> = account_top_up::Entity::find()
        .filter(account_top_up::Column::TransferId.is_in(transfers.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.transfer_id, t.external_reference))
        .collect();
    // Refunds name their outgoing transfer's reference, and the top-up they return.
    let refunds = finance_request::Entity::find()
        .filter(finance_request::Column::TransferId.is_in(transfers))
        .all(db)
        .await?;
    let sources = top_up_references(db, refunds.iter().filter_map(|r| r.top_up_id)).await?;
    for r in refunds {
        if let Some(transfer) = r.transfer_id {
            let source = r.top_up_id.and_then(|id| sources.get(&id));
            out.entry(transfer).or_insert_with(|| match source {
                Some(top_up) => format!("{} (returns top-up {top_up})", r.external_reference),
                None => r.external_reference,
            });
        }
    }
    Ok(out)
}

/// History lines in words: credits by their reference, holds, releases and charges by
/// campaign (a charge's two parts, and a reversal's, by whom they go to or come from), each with what it changed of the
/// available balance and of what the campaigns hold; `with_decisions` (finance) names the
/// decision each is about.
async fn describe(
    db: &impl ConnectionTrait,
    balance_account: i64,
    rows: Vec<ledger_transfer::Model>,
    with_decisions: bool,
) -> Result<Vec<BalanceEntry>, AppError> {
    // An empty page (a new account, a filter that matches nothing) looks nothing up.
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let transfer_ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    let references = references(db, transfer_ids).await?;
    let sides: Vec<i64> = rows
        .iter()
        .flat_map(|t| [t.debit_account_id, t.credit_account_id])
        .collect();
    let kinds: HashMap<i64, LedgerKind> = ledger_account::Entity::find()
        .filter(ledger_account::Column::Id.is_in(sides))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|a| LedgerKind::from_code(&a.kind).map(|k| (a.id, k)))
        .collect();
    let is_holds = |id: i64| kinds.get(&id) == Some(&LedgerKind::CampaignHolds);
    let mut decision_ids: Vec<i64> = rows
        .iter()
        .filter(|t| t.object_type == "decision")
        .map(|t| t.object_id)
        .collect();
    // A charge's two parts name one decision.
    decision_ids.sort_unstable();
    decision_ids.dedup();
    // Each decision's campaign with its name, in one statement (none without decisions).
    let mut decisions: HashMap<i64, i64> = HashMap::new();
    let mut names: HashMap<i64, String> = HashMap::new();
    if !decision_ids.is_empty() {
        let mut sql = Sql::new();
        let list = decision_ids
            .iter()
            .map(|id| sql.bind(*id))
            .collect::<Vec<_>>()
            .join(", ");
        sql.text = format!(
            "SELECT d.id, d.campaign_id, c.name FROM delivery_decision d \
             JOIN campaign c ON c.id = d.campaign_id WHERE d.id IN ({list})"
        );
        for row in db
            .query_all_raw(sql.build(db.get_database_backend()))
            .await?
        {
            let (decision, campaign, name): (i64, i64, String) = (
                row.try_get("", "id")?,
                row.try_get("", "campaign_id")?,
                row.try_get("", "name")?,
            );
            decisions.insert(decision, campaign);
            names.insert(campaign, name);
        }
    }
    Ok(rows
        .into_iter()
        .map(|t| {
            let kind = TransferKind::from_code(&t.kind).unwrap_or(TransferKind::Refund);
            let mut about = match references.get(&t.id) {
                Some(reference) => format!("Reference {reference}"),
                None => decisions
                    .get(&t.object_id)
                    .and_then(|c| names.get(c))
                    .map_or_else(
                        || format!("{} {}", t.object_type, t.object_id),
                        |n| format!("Campaign “{n}”"),
                    ),
            };
            // A charge goes to, and its reversal comes back from, two places: say which.
            let part = match kind {
                TransferKind::Post => Some(t.credit_account_id),
                TransferKind::Reversal => Some(t.debit_account_id),
                _ => None,
            };
            if let Some(side) = part {
                about.push_str(match kinds.get(&side) {
                    Some(LedgerKind::PublisherPayable) => ": the publisher's part",
                    _ => ": the platform's part",
                });
            }
            let signed = |grew: bool, shrank: bool| match (grew, shrank) {
                (true, false) => Micros(t.amount),
                (false, true) => Micros(-t.amount),
                _ => Micros(0),
            };
            BalanceEntry {
                id: t.id,
                at: t.created_at,
                kind,
                about,
                amount: signed(
                    t.credit_account_id == balance_account,
                    t.debit_account_id == balance_account,
                ),
                held: signed(is_holds(t.credit_account_id), is_holds(t.debit_account_id)),
                decision: (with_decisions && t.object_type == "decision").then_some(t.object_id),
            }
        })
        .collect())
}

/// Sets the current account's low-balance threshold from what the owner typed (`amount`, in
/// the account's currency; empty clears it); the change and its audit row in one transaction.
pub async fn set_low_balance(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &Actor,
    amount: &str,
) -> Result<(), AppError> {
    let account = actor.account(db, AccountPermission::ManageAccount).await?;
    let txn = db.begin().await?;
    let model = ad_account::Entity::find_by_id(account.0)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let threshold = if amount.trim().is_empty() {
        None
    } else {
        Some(
            Micros::parse_in(amount, &model.currency)
                .map_err(|e| AppError::field("low_balance", e.to_string()))?,
        )
    };
    if threshold.is_some_and(|t| t.0 < 0 || t > Micros::units(10_000_000)) {
        return Err(AppError::field(
            "low_balance",
            "Enter an amount from 0 to 10,000,000.",
        ));
    }
    let before = model.low_balance_micros;
    let mut active = model.into_active_model();
    active.low_balance_micros = Set(threshold.map(|t| t.0));
    active.update(&txn).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            AuditAction::AccountUpdated,
            "ad_account",
            account.to_string(),
        )
        .by(actor.user_id)
        .from_ip(actor.ip.clone())
        .detail(serde_json::json!({
            "low_balance_micros": { "before": before, "after": threshold.map(|t| t.0) }
        })),
    )
    .await?;
    txn.commit().await?;
    // Decisions warn against the threshold they read.
    super::note_outside_change();
    Ok(())
}
