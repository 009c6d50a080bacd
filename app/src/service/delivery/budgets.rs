//! The money side of a batch of decisions: a [`Book`] of the candidates' spend counters, their
//! day rows and their accounts' balances, read in the batch's transaction, changed in memory
//! as the batch's slots are won (each slot sees the ones decided before it, exactly as if
//! they had been decided one by one), and written back with a few statements whose
//! conditions re-check what was read — so a counter that another writer moved meanwhile
//! fails the batch instead of overspending.

use super::{
    index::LiveCampaign,
    pacing::{self, Budgets},
};
use crate::{
    error::AppError,
    model::{LedgerKind, Micros},
    service::sql::{Sql, for_update},
};
use chrono::{DateTime, NaiveDate, Timelike, Utc};
use sea_orm::{ConnectionTrait, DbBackend};
use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

/// A campaign's row of today (in its account's time zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DayRow {
    committed: i64,
    hour: i32,
    hour_base: i64,
}

/// One campaign's counters: as read, and what this batch added.
#[derive(Debug, Default)]
struct CampaignMoney {
    /// Whether its `campaign_spend` row exists.
    exists: bool,
    /// Posted + held ever, as read.
    committed: i64,
    /// Committed by this batch.
    added: i64,
    /// Its ledger holds account, per currency.
    holds: HashMap<String, i64>,
    /// Day rows since the batch's first day: (as read, as now).
    days: HashMap<NaiveDate, (Option<DayRow>, DayRow)>,
}

/// An ad account's balance in one currency: as read, and what this batch took.
#[derive(Clone, Copy, Debug)]
struct AccountMoney {
    balance: i64,
    taken: i64,
    ledger_id: i64,
}

/// The money state of a batch's candidates (see the module's notes).
#[derive(Debug)]
pub struct Book {
    /// Day rows from this UTC day on are read (the day before the batch's earliest instant,
    /// which covers every time zone's local day).
    since: NaiveDate,
    /// When the first of its rows was read.
    first_read: Instant,
    campaigns: HashMap<i64, CampaignMoney>,
    balances: HashMap<(i64, String), AccountMoney>,
    /// Ad accounts read, with their low-balance threshold.
    thresholds: HashMap<i64, Option<i64>>,
}

impl Book {
    pub fn new(since: NaiveDate) -> Self {
        Self {
            since,
            first_read: Instant::now(),
            campaigns: HashMap::new(),
            balances: HashMap::new(),
            thresholds: HashMap::new(),
        }
    }

    /// Reads the campaigns (and their accounts) not read yet, in two queries.
    pub async fn load<'a>(
        &mut self,
        db: &impl ConnectionTrait,
        campaigns: impl IntoIterator<Item = &'a LiveCampaign>,
    ) -> Result<(), AppError> {
        let mut ids: Vec<i64> = Vec::new();
        let mut accounts: Vec<i64> = Vec::new();
        for c in campaigns {
            if !self.campaigns.contains_key(&c.id) && !ids.contains(&c.id) {
                ids.push(c.id);
            }
            if !self.thresholds.contains_key(&c.account_id) && !accounts.contains(&c.account_id) {
                accounts.push(c.account_id);
            }
        }
        let backend = db.get_database_backend();
        if !ids.is_empty() {
            // Each campaign's spend counter with its day rows and its holds account, in one
            // query: no day row and no hold exists without the counter.
            let mut sql = Sql::new();
            let list: Vec<String> = ids.iter().map(|id| sql.bind(*id)).collect();
            let since = sql.bind(self.since);
            let holds = sql.bind(LedgerKind::CampaignHolds.code());
            sql.text = format!(
                "SELECT s.campaign_id, s.committed, d.day, d.committed, d.hour, d.hour_base, \
                 h.id, h.currency \
                 FROM campaign_spend s LEFT JOIN campaign_day_spend d \
                 ON d.campaign_id = s.campaign_id AND d.day >= {since} \
                 LEFT JOIN ledger_account h ON h.kind = {holds} AND h.owner_id = s.campaign_id \
                 WHERE s.campaign_id IN ({})",
                list.join(", ")
            );
            for id in &ids {
                self.campaigns.insert(*id, CampaignMoney::default());
            }
            for row in db.query_all_raw(sql.build(backend)).await? {
                let id: i64 = row.try_get_by_index(0)?;
                let m = self.campaigns.entry(id).or_default();
                m.exists = true;
                m.committed = row.try_get_by_index(1)?;
                if let (Some(holds), Some(currency)) = (
                    row.try_get_by_index::<Option<i64>>(6)?,
                    row.try_get_by_index::<Option<String>>(7)?,
                ) {
                    m.holds.insert(currency, holds);
                }
                if let Some(day) = row.try_get_by_index::<Option<NaiveDate>>(2)? {
                    let d = DayRow {
                        committed: row.try_get_by_index(3)?,
                        hour: row.try_get_by_index(4)?,
                        hour_base: row.try_get_by_index(5)?,
                    };
                    m.days.insert(day, (Some(d), d));
                }
            }
        }
        if !accounts.is_empty() {
            // Balances, with each account's low-balance threshold.
            let mut sql = Sql::new();
            let list: Vec<String> = accounts.iter().map(|a| sql.bind(*a)).collect();
            let kind = sql.bind(LedgerKind::AccountBalance.code());
            sql.text = format!(
                "SELECT a.id, a.low_balance_micros, l.currency, l.balance, l.id FROM ad_account a \
                 LEFT JOIN ledger_account l ON l.kind = {kind} AND l.owner_id = a.id \
                 WHERE a.id IN ({})",
                list.join(", ")
            );
            for row in db.query_all_raw(sql.build(backend)).await? {
                let account: i64 = row.try_get_by_index(0)?;
                self.thresholds
                    .insert(account, row.try_get_by_index::<Option<i64>>(1)?);
                if let (Some(currency), Some(balance), Some(ledger_id)) = (
                    row.try_get_by_index::<Option<String>>(2)?,
                    row.try_get_by_index::<Option<i64>>(3)?,
                    row.try_get_by_index::<Option<i64>>(4)?,
                ) {
                    self.balances.insert(
                        (account, currency),
                        AccountMoney {
                            balance,
                            taken: 0,
                            ledger_id,
                        },
                    );
                }
            }
            for account in accounts {
                self.thresholds.entry(account).or_insert(None);
            }
        }
        Ok(())
    }

    /// Where `c`'s money stands at `now`, with what this batch committed so far; `None` when
    /// it was not read.
    pub fn budgets(&self, c: &LiveCampaign, now: DateTime<Utc>) -> Option<Budgets> {
        let m = self.campaigns.get(&c.id)?;
        let low_balance = *self.thresholds.get(&c.account_id)?;
        let local = c.local(now);
        let today = m.days.get(&local.date()).map(|(_, now)| *now);
        let committed_today = today.map_or(0, |d| d.committed);
        let hour_base = match today {
            Some(d) if d.hour == local.hour() as i32 => d.hour_base,
            _ => committed_today,
        };
        let balance = self.balances.get(&(c.account_id, c.currency.clone()));
        Some(Budgets {
            total: c.total_budget,
            committed: Micros(m.committed + m.added),
            daily: c.daily_budget,
            committed_today: Micros(committed_today),
            hour_base: Micros(hour_base),
            hours_left: pacing::hours_left(c.schedule.as_ref(), local),
            balance: Micros(balance.map_or(0, |b| b.balance - b.taken)),
            low_balance: low_balance.map(Micros),
            balance_account: balance.map(|b| b.ledger_id),
            holds_account: m.holds.get(&c.currency).copied(),
        })
    }

    /// Commits `cost` of a won slot against `c`'s counters and its account's balance, in
    /// memory; the caller checked that [`pacing::admits`] it. A new hour's pace starts from
    /// what the day had committed before it.
    pub fn commit(
        &mut self,
        c: &LiveCampaign,
        now: DateTime<Utc>,
        cost: Micros,
    ) -> Result<(), AppError> {
        let local = c.local(now);
        let hour = local.hour() as i32;
        let m = self
            .campaigns
            .get_mut(&c.id)
            .ok_or_else(|| AppError::internal("decide", "a winner's budgets were not read"))?;
        let balance = self
            .balances
            .get_mut(&(c.account_id, c.currency.clone()))
            .ok_or_else(|| AppError::internal("decide", "a winner has no balance"))?;
        balance.taken += cost.0;
        m.added += cost.0;
        let day = m.days.entry(local.date()).or_insert((
            None,
            DayRow {
                committed: 0,
                hour,
                hour_base: 0,
            },
        ));
        let before = day.1;
        day.1 = DayRow {
            committed: before.committed + cost.0,
            hour,
            hour_base: if before.hour == hour {
                before.hour_base
            } else {
                before.committed
            },
        };
        Ok(())
    }

    /// Writes what the batch committed: each campaign's counter (only while it stays within
    /// the total budget) and its day rows (only while they stay within the daily budget), as
    /// increments, so a release by the sweeper meanwhile costs nothing. `false` when a cap
    /// would be passed or a row appeared meanwhile (another instance decided too): the caller
    /// rolls back and decides again.
    pub async fn write(&self, db: &impl ConnectionTrait) -> Result<bool, AppError> {
        let backend = db.get_database_backend();
        let changed: BTreeMap<i64, &CampaignMoney> = self
            .campaigns
            .iter()
            .filter(|(_, m)| m.added > 0)
            .map(|(id, m)| (*id, m))
            .collect();
        if changed.is_empty() {
            return Ok(true);
        }
        if backend == DbBackend::Postgres {
            // Row locks in id order, as every writer of these counters takes them.
            let mut sql = Sql::new();
            let ids: Vec<String> = changed.keys().map(|id| sql.bind(*id)).collect();
            sql.text = format!(
                "SELECT campaign_id FROM campaign_spend WHERE campaign_id IN ({}) \
                 ORDER BY campaign_id{}",
                ids.join(", "),
                for_update(backend)
            );
            db.query_all_raw(sql.build(backend)).await?;
        }
        let (old, new): (Vec<_>, Vec<_>) = changed.iter().partition(|(_, m)| m.exists);
        if !old.is_empty() {
            let mut sql = Sql::new();
            // Against the budget in the campaign's row as it is now, not as this batch read
            // it: on PostgreSQL an edit can commit between the batch's reads and this write.
            let values = sql.tuples(old.iter().map(|(id, m)| [**id, m.added]));
            sql.text = format!(
                "WITH m(id, added) AS (VALUES {values}) \
                 UPDATE campaign_spend SET committed = campaign_spend.committed + m.added \
                 FROM m, campaign c WHERE campaign_spend.campaign_id = m.id AND c.id = m.id \
                 AND campaign_spend.committed + m.added <= c.total_budget_micros"
            );
            if db.execute_raw(sql.build(backend)).await?.rows_affected() != old.len() as u64 {
                return Ok(false);
            }
        }
        if !new.is_empty() {
            let mut sql = Sql::new();
            let values = sql.tuples(new.iter().map(|(id, m)| [**id, 0, m.added]));
            sql.text = format!(
                "WITH m(id, posted, committed) AS (VALUES {values}) \
                 INSERT INTO campaign_spend (campaign_id, posted, committed) \
                 SELECT m.id, m.posted, m.committed FROM m JOIN campaign c ON c.id = m.id \
                 WHERE m.committed <= c.total_budget_micros \
                 ON CONFLICT (campaign_id) DO NOTHING"
            );
            if db.execute_raw(sql.build(backend)).await?.rows_affected() != new.len() as u64 {
                return Ok(false);
            }
        }
        // Day rows: those read get what the batch added (within the daily budget), the others
        // are inserted. The hour's pacing base is the one worked out in memory: a release by
        // the sweeper meanwhile can leave it a little high, which only slows the pace.
        let mut updates = Sql::new();
        let mut update_rows = Vec::new();
        let mut inserts = Sql::new();
        let mut insert_rows = Vec::new();
        for (id, m) in &changed {
            for (day, (read, now)) in &m.days {
                if read.as_ref() == Some(now) {
                    continue;
                }
                match read {
                    Some(read) => {
                        let cells = [
                            updates.bind(*id),
                            updates.bind(*day),
                            updates.bind(now.committed - read.committed),
                            updates.bind(now.hour),
                            updates.bind(now.hour_base),
                        ];
                        update_rows.push(format!("({})", cells.join(", ")));
                    }
                    None => {
                        let cells = [
                            inserts.bind(*id),
                            inserts.bind(*day),
                            inserts.bind(now.committed),
                            inserts.bind(now.hour),
                            inserts.bind(now.hour_base),
                        ];
                        insert_rows.push(format!("({})", cells.join(", ")));
                    }
                }
            }
        }
        if !update_rows.is_empty() {
            updates.text = format!(
                "WITH m(id, day, added, hour, hour_base) AS (VALUES {}) \
                 UPDATE campaign_day_spend \
                 SET committed = campaign_day_spend.committed + m.added, hour = m.hour, \
                 hour_base = m.hour_base FROM m, campaign c \
                 WHERE campaign_day_spend.campaign_id = m.id AND campaign_day_spend.day = m.day \
                 AND c.id = m.id AND (c.daily_budget_micros IS NULL \
                 OR campaign_day_spend.committed + m.added <= c.daily_budget_micros)",
                update_rows.join(", ")
            );
            let n = update_rows.len() as u64;
            if db
                .execute_raw(updates.build(backend))
                .await?
                .rows_affected()
                != n
            {
                return Ok(false);
            }
        }
        if !insert_rows.is_empty() {
            inserts.text = format!(
                "WITH m(id, day, committed, hour, hour_base) AS (VALUES {}) \
                 INSERT INTO campaign_day_spend (campaign_id, day, committed, hour, hour_base) \
                 SELECT m.id, m.day, m.committed, m.hour, m.hour_base FROM m \
                 JOIN campaign c ON c.id = m.id \
                 WHERE c.daily_budget_micros IS NULL OR m.committed <= c.daily_budget_micros \
                 ON CONFLICT (campaign_id, day) DO NOTHING",
                insert_rows.join(", ")
            );
            let n = insert_rows.len() as u64;
            if db
                .execute_raw(inserts.build(backend))
                .await?
                .rows_affected()
                != n
            {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// How long the decision writer keeps what it read of the money rows (see [`Kept`]) at most:
/// how late it may see a change made by another process (a top-up, say).
const KEEP_FOR: Duration = Duration::from_secs(2);

/// What the decision writer read and wrote of the money rows, kept from one batch to the
/// next, so a batch reads only the campaigns and accounts that the batches before it did not
/// meet (reading the ~400 candidates of a batch of a dozen slots was a third of its time).
/// Used on SQLite only, where this process's money writer is the database's one writer
/// ([`crate::service::ledger::begin`]); on PostgreSQL several instances decide at once and
/// every batch reads.
///
/// What is kept is what the database holds when nothing else changed it: decisions change
/// these rows only through this writer, and everything else that does in this process
/// (top-ups, refunds, releases, reversals, threshold edits) is counted by
/// [`crate::service::ledger::outside_changes`], after which the next batch reads again. A
/// change by another process is seen within [`KEEP_FOR`]; until then it can only make the
/// writer decide from a stale state, never overspend: every write re-checks its cap against
/// the row as it is (a batch whose write fails is decided again from fresh reads, and what
/// was kept is forgotten).
#[derive(Debug, Default)]
pub struct Kept {
    book: Option<(u64, Book)>,
}

impl Kept {
    /// The book for a batch whose day rows start at `since`, `outside` being
    /// [`crate::service::ledger::outside_changes`] read after the batch's transaction began:
    /// what was kept while it is still good, otherwise an empty one. Either way nothing stays
    /// kept until [`Self::keep`].
    pub fn take(&mut self, since: NaiveDate, outside: u64) -> Book {
        match self.book.take() {
            Some((count, mut book))
                if count == outside
                    && book.since <= since
                    && book.first_read.elapsed() < KEEP_FOR =>
            {
                book.since = since;
                for m in book.campaigns.values_mut() {
                    m.days.retain(|day, _| *day >= since);
                }
                book
            }
            _ => Book::new(since),
        }
    }

    /// Keeps `book` once its batch has committed: what it read, with what the batch wrote.
    pub fn keep(&mut self, mut book: Book, outside: u64) {
        for m in book.campaigns.values_mut() {
            if m.added > 0 {
                // Written: updated, or inserted when it did not exist.
                m.exists = true;
                m.committed += m.added;
                m.added = 0;
            }
            for (read, now) in m.days.values_mut() {
                *read = Some(*now);
            }
        }
        for b in book.balances.values_mut() {
            b.balance -= b.taken;
            b.taken = 0;
        }
        self.book = Some((outside, book));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Targeting;
    use chrono::TimeZone;
    use chrono_tz::Tz;

    fn campaign(id: i64, account_id: i64, daily: Option<i64>) -> LiveCampaign {
        LiveCampaign {
            id,
            account_id,
            currency: "EUR".into(),
            tz: Tz::UTC,
            bid: Micros(1_000_000),
            total_budget: Micros(10_000_000),
            daily_budget: daily.map(Micros),
            start_at: None,
            end_at: None,
            schedule: None,
            targeting: Targeting::default(),
            ads: Vec::new(),
        }
    }

    /// A book as read: campaigns with no counters yet, each account with `balance`.
    fn book(campaigns: &[&LiveCampaign], balance: i64) -> Book {
        let mut book = Book::new(NaiveDate::MIN);
        for c in campaigns {
            book.campaigns.insert(c.id, CampaignMoney::default());
            book.thresholds.insert(c.account_id, None);
            book.balances.insert(
                (c.account_id, c.currency.clone()),
                AccountMoney {
                    balance,
                    taken: 0,
                    ledger_id: 100 + c.account_id,
                },
            );
        }
        book
    }

    #[test]
    fn each_slot_sees_the_ones_committed_before_it() {
        let (a, b) = (campaign(1, 7, Some(24_000_000)), campaign(2, 7, None));
        let mut book = book(&[&a, &b], 5_000_000);
        let ten = Utc
            .with_ymd_and_hms(2026, 12, 7, 10, 15, 0)
            .single()
            .expect("a time");
        book.commit(&a, ten, Micros(400_000)).expect("read");
        book.commit(&b, ten, Micros(600_000)).expect("read");
        let seen = book.budgets(&a, ten).expect("read");
        assert_eq!(seen.committed, Micros(400_000));
        assert_eq!(seen.committed_today, Micros(400_000));
        assert_eq!(
            seen.hour_base,
            Micros(0),
            "the hour began with nothing committed"
        );
        // One balance for both campaigns of the account.
        assert_eq!(seen.balance, Micros(4_000_000));
        assert_eq!(
            book.budgets(&b, ten).expect("read").balance,
            Micros(4_000_000)
        );
        // The next hour's pace starts from what the day committed before it.
        let eleven = ten + chrono::Duration::hours(1);
        assert_eq!(
            book.budgets(&a, eleven).expect("read").hour_base,
            Micros(400_000)
        );
        book.commit(&a, eleven, Micros(400_000)).expect("read");
        let later = book.budgets(&a, eleven).expect("read");
        assert_eq!(
            (later.committed_today, later.hour_base),
            (Micros(800_000), Micros(400_000))
        );
        // A new local day starts from nothing.
        let tomorrow = ten + chrono::Duration::days(1);
        let fresh = book.budgets(&a, tomorrow).expect("read");
        assert_eq!(
            (fresh.committed, fresh.committed_today),
            (Micros(800_000), Micros(0))
        );
    }

    #[test]
    fn what_a_batch_read_and_wrote_is_what_the_next_batch_starts_from() {
        let (a, b) = (campaign(1, 7, Some(24_000_000)), campaign(2, 7, None));
        let mut book = book(&[&a, &b], 5_000_000);
        let since = NaiveDate::from_ymd_opt(2026, 12, 6).expect("a day");
        book.since = since;
        let ten = Utc
            .with_ymd_and_hms(2026, 12, 7, 10, 15, 0)
            .single()
            .expect("a time");
        book.commit(&a, ten, Micros(400_000)).expect("read");
        let mut kept = Kept::default();
        kept.keep(book, 3);
        let next = kept.take(since, 3);
        let seen = next.budgets(&a, ten).expect("kept");
        assert_eq!(
            (seen.committed, seen.committed_today, seen.balance),
            (Micros(400_000), Micros(400_000), Micros(4_600_000)),
            "the batch's commit became what is read"
        );
        let m = &next.campaigns[&a.id];
        assert!(m.exists, "the counter was written");
        assert_eq!(m.added, 0);
        assert!(
            m.days.values().all(|(read, now)| *read == Some(*now)),
            "the day row written is the day row read: the next batch updates it"
        );
        assert!(next.budgets(&b, ten).is_some(), "b was read too");
        kept.keep(next, 3);
        // Gone as soon as anything else changed money, or for a batch before the days kept.
        assert!(kept.take(since, 4).budgets(&a, ten).is_none());
        assert!(kept.take(since, 3).budgets(&a, ten).is_none(), "taken once");
        let mut book = book_for(&a);
        book.since = since;
        kept.keep(book, 3);
        assert!(
            kept.take(since - chrono::Duration::days(1), 3)
                .budgets(&a, ten)
                .is_none()
        );
        // Nor once it is older than KEEP_FOR (a change by another process shows by then).
        let mut book = book_for(&a);
        book.since = since;
        if let Some(earlier) = Instant::now().checked_sub(KEEP_FOR) {
            book.first_read = earlier;
            kept.keep(book, 3);
            assert!(kept.take(since, 3).budgets(&a, ten).is_none());
        }
        // A later batch keeps it, without the days before its own.
        let mut book = book_for(&a);
        book.since = since;
        book.commit(&a, ten, Micros(1)).expect("read");
        kept.keep(book, 3);
        let later = kept.take(since + chrono::Duration::days(2), 3);
        assert!(later.campaigns[&a.id].days.is_empty());
        assert_eq!(later.campaigns[&a.id].committed, 1);
    }

    fn book_for(c: &LiveCampaign) -> Book {
        book(&[c], 1_000_000)
    }

    #[test]
    fn a_campaign_or_account_not_read_has_no_budgets() {
        let (a, other) = (campaign(1, 7, None), campaign(2, 8, None));
        let mut book = book(&[&a], 1_000_000);
        assert!(book.budgets(&other, Utc::now()).is_none());
        assert!(book.commit(&other, Utc::now(), Micros(1)).is_err());
    }
}
