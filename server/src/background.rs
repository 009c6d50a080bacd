//! The loops an instance runs beside its requests (index refresh, campaign clock, hold sweeper,
//! mail, import recovery, session clean-up), and stopping them cleanly: a round that has begun
//! always finishes, so a stop never leaves a write half-done.

use app::api::ctx::AppState;
use app::service::mail::{self, ConsoleTransport};
use std::{future::Future, time::Duration};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower_sessions::ExpiredDeletion;

use crate::session_store::DbSessionStore;

/// Decisions whose holds are released per round of the sweeper.
const SWEEP_BATCH: u64 = 500;
/// Mail messages handed to the transport per round.
const MAIL_BATCH: u64 = 50;

/// How often SQLite's write-ahead log is checkpointed in the background: often enough that
/// the log stays a few MB under a full stream of decisions (about 28,000 pages a second) and
/// never reaches the size where a writer's commit checkpoints it. A round with nothing to copy
/// costs one statement and no `fsync`.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// How often each loop runs (shorter in tests).
#[derive(Clone, Copy, Debug)]
pub struct Periods {
    pub catalog: Duration,
    pub campaign_clock: Duration,
    pub hold_sweeper: Duration,
    pub mail: Duration,
    pub imports: Duration,
    pub sessions: Duration,
    pub checkpoint: Duration,
}

impl Default for Periods {
    fn default() -> Self {
        Self {
            catalog: Duration::from_secs(2),
            campaign_clock: Duration::from_secs(30),
            hold_sweeper: Duration::from_secs(30),
            mail: Duration::from_secs(2),
            imports: Duration::from_secs(30),
            sessions: Duration::from_secs(600),
            checkpoint: CHECKPOINT_EVERY,
        }
    }
}

/// The running loops of one instance.
pub struct Background {
    stop: CancellationToken,
    tasks: JoinSet<()>,
}

impl Background {
    fn new() -> Self {
        Self {
            stop: CancellationToken::new(),
            tasks: JoinSet::new(),
        }
    }

    /// Runs `round` every `period` (the first at once) until [`Self::stop`]; a round that has
    /// begun is never cut short.
    fn every<F, Fut>(&mut self, period: Duration, mut round: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let stop = self.stop.clone();
        self.tasks.spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    () = stop.cancelled() => break,
                    _ = tick.tick() => round().await,
                }
            }
        });
    }

    /// Tells every loop to stop after the round it is in, without waiting (see [`Self::stop`]).
    pub fn begin_stop(&self) {
        self.stop.cancel();
    }

    /// Asks every loop to stop after its current round and waits for them, at most `within`.
    /// False when some were still busy then (they are abandoned mid-round; every round is
    /// one or more whole transactions, so nothing is half-written).
    pub async fn stop(mut self, within: Duration) -> bool {
        self.stop.cancel();
        tokio::time::timeout(within, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await
        .is_ok()
    }
}

/// Starts every loop of a serving instance over `state`; mail links' secrets are logged only
/// with `show_mail_links` (development mail).
pub fn start(state: &AppState, periods: Periods, show_mail_links: bool) -> Background {
    let mut loops = Background::new();

    // This instance's forecast index follows the catalog (a cheap version read, a rebuild
    // when any instance changed it); the delivery index refreshes itself per batch of
    // decisions.
    let (engine, db) = (state.forecast.clone(), state.db.clone());
    loops.every(periods.catalog, move || {
        let (engine, db) = (engine.clone(), db.clone());
        async move {
            match engine.refresh(&db).await {
                Ok(true) => {
                    tracing::info!(version = engine.index().version, "forecast index rebuilt")
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(%e, "could not refresh the forecast index"),
            }
        }
    });

    // Scheduled campaigns whose start has come begin; live ones past their end complete.
    // Safe on several instances: each change is conditional on the status it saw.
    let db = state.db.clone();
    loops.every(periods.campaign_clock, move || {
        let db = db.clone();
        async move {
            match app::service::campaigns::clock::sweep(&db, chrono::Utc::now()).await {
                Ok(swept) if swept.started + swept.completed > 0 => tracing::info!(
                    started = swept.started,
                    completed = swept.completed,
                    "campaign clock"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(%e, "campaign clock failed"),
            }
        }
    });

    // What expired holds did not use goes back, a batch at a time until none is due; each
    // release is claimed by one conditional UPDATE, so several instances never double it.
    let db = state.db.clone();
    let stop = loops.stop.clone();
    loops.every(periods.hold_sweeper, move || {
        let (db, stop) = (db.clone(), stop.clone());
        async move {
            while !stop.is_cancelled() {
                let now = chrono::Utc::now();
                match app::service::delivery::sweep::release_expired(&db, now, SWEEP_BATCH).await {
                    Ok(done) if done.decisions > 0 || done.more => {
                        tracing::info!(decisions = done.decisions, "expired holds released");
                        // A run that stopped at its time limit has more due; a short batch
                        // that did not was the last.
                        if done.decisions < SWEEP_BATCH && !done.more {
                            break;
                        }
                    }
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(%e, "could not release expired holds");
                        break;
                    }
                }
            }
        }
    });

    // The outbox goes to the console transport; each message is claimed by one instance.
    let db = state.db.clone();
    loops.every(periods.mail, move || {
        let db = db.clone();
        async move {
            let transport = ConsoleTransport {
                show_links: show_mail_links,
            };
            if let Err(e) = mail::deliver_pending(&db, &transport, MAIL_BATCH).await {
                tracing::warn!(%e, "could not deliver mail");
            }
        }
    });

    // Catalog imports whose applying process stopped beating are failed and their staged
    // rows discarded (see `recover_abandoned`).
    let db = state.db.clone();
    loops.every(periods.imports, move || {
        let db = db.clone();
        async move {
            let now = chrono::Utc::now();
            if let Err(e) = app::service::catalog_import::recover_abandoned(&db, now).await {
                tracing::warn!(%e, "could not recover abandoned catalog imports");
            }
        }
    });

    checkpoint_every(&mut loops, &state.db, periods.checkpoint);

    let store = DbSessionStore::new(state.db.clone());
    loops.every(periods.sessions, move || {
        let store = store.clone();
        async move {
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(%e, "could not delete expired sessions");
            }
            if let Err(e) = store.prune_rate_limits().await {
                tracing::warn!(%e, "could not prune drained rate limits");
            }
        }
    });

    loops
}

/// The checkpoint loop alone, for a process that writes without serving (`server bench`).
pub fn checkpoints(db: &sea_orm::DatabaseConnection) -> Background {
    let mut loops = Background::new();
    checkpoint_every(&mut loops, db, CHECKPOINT_EVERY);
    loops
}

/// On SQLite, the write-ahead log goes into the database file in this loop rather than in the
/// commit of whichever writer crosses the log's size (see `SQLITE_AUTOCHECKPOINT_PAGES`).
fn checkpoint_every(loops: &mut Background, db: &sea_orm::DatabaseConnection, period: Duration) {
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        let db = db.clone();
        loops.every(period, move || {
            let db = db.clone();
            async move { checkpoint_round(&db).await }
        });
    }
}

/// One background checkpoint of SQLite's write-ahead log (see
/// [`app::service::ledger::checkpoint_log`]).
async fn checkpoint_round(db: &sea_orm::DatabaseConnection) {
    match app::service::ledger::checkpoint_log(db).await {
        Ok(Some((log, left))) if left > 0 => {
            tracing::debug!(log, left, "write-ahead log partly checkpointed (readers)")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(%e, "could not checkpoint the write-ahead log"),
    }
}
