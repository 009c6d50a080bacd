//! CSV export of a report as shown, streamed: the day-and-channel rows come from the database
//! a row at a time (a year of them for a large account is never held in memory), the other
//! breakdowns are small. Numbers are unformatted, money has the currency's two decimals (and
//! the exact micro-units beside it), and a text cell that a spreadsheet would read as a
//! formula (`=`, `+`, `-`, `@`, tab, carriage return first) is neutralised with a leading `'`.

use super::{
    build::{self, Inputs, channel_label},
    query::{self, sums_at},
    scope::Subject,
};
use crate::{
    error::AppError,
    model::{Breakdown, Figures, Micros},
};
use chrono::NaiveDate;
use sea_orm::{DatabaseConnection, StreamTrait};
use tokio::sync::mpsc;

/// Rows written per chunk sent to the client.
const ROWS_PER_CHUNK: usize = 500;
/// A client that takes no chunk for this long is given up on: a stalled download must not
/// keep a pooled database connection (and, on SQLite, an open read) for ever.
const STALL: std::time::Duration = std::time::Duration::from_secs(30);
/// Streamed exports written at once by one instance: each holds a connection of the main
/// pool (four on SQLite) while it streams, so the rest stay for writes; another is refused
/// with "try again" rather than queued.
pub const MAX_RUNNING: usize = 2;
/// An export that has not finished after this long is stopped, however steadily its client
/// reads (a client reading one chunk just inside [`STALL`] each time would otherwise hold its
/// connection for as long as the file lasts).
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);
/// What a client is told when [`MAX_RUNNING`] exports are already being written.
pub const EXPORTS_BUSY: &str =
    "Other downloads are being written right now. Please try again in a minute.";

/// The streamed exports one instance may write at once (shared by its clones).
#[derive(Clone, Debug)]
pub struct Exports(std::sync::Arc<tokio::sync::Semaphore>);

impl Exports {
    /// Room for `running` exports at once.
    pub fn new(running: usize) -> Self {
        Self(std::sync::Arc::new(tokio::sync::Semaphore::new(running)))
    }
}

impl Default for Exports {
    fn default() -> Self {
        Self::new(MAX_RUNNING)
    }
}

/// A text cell as a spreadsheet may safely open it.
pub fn neutralise(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

/// A channel as the file names it: its handle without the `@` a spreadsheet would take for a
/// formula, or "Other channels".
fn handle(label: &str) -> String {
    label.strip_prefix('@').unwrap_or(label).to_owned()
}

/// Money with two decimals (rounded half away from zero), e.g. `12.35`.
pub fn decimals(amount: Micros) -> String {
    let cents = amount.round_to_cent().0 / 10_000;
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// The file name the export is offered under.
pub fn file_name(subject: &Subject, breakdown: Breakdown) -> String {
    let what = match (&subject.campaign, &subject.ad) {
        (_, Some(ad)) => format!("ad-{}", ad.id),
        (Some(c), None) => format!("campaign-{}", c.id),
        _ => format!("account-{}", subject.scope.account),
    };
    format!(
        "herald-{what}-{}-{}-to-{}.csv",
        breakdown.code(),
        subject.period.from,
        subject.period.to
    )
}

fn header(breakdown: Breakdown, money_only: bool) -> Vec<&'static str> {
    let mut h = match breakdown {
        Breakdown::DayChannel => vec!["day", "channel"],
        other => vec![other.code()],
    };
    if !money_only {
        h.extend(["views", "clicks", "ctr_percent"]);
    }
    h.extend(["spend", "spend_micros"]);
    if !money_only {
        h.push("effective_cpm");
    }
    h.push("currency");
    h
}

fn record(labels: &[String], f: &Figures, money_only: bool, currency: &str) -> Vec<String> {
    let mut r: Vec<String> = labels.iter().map(|l| neutralise(l)).collect();
    if !money_only {
        r.push(f.views.to_string());
        r.push(f.clicks.to_string());
        r.push(
            f.ctr_bp
                .map_or_else(String::new, |bp| format!("{}.{:02}", bp / 100, bp % 100)),
        );
    }
    r.push(decimals(f.spend));
    r.push(f.spend.0.to_string());
    if !money_only {
        r.push(f.ecpm.map_or_else(String::new, decimals));
    }
    r.push(currency.to_owned());
    r
}

/// The chunks of a CSV download as they are written (an error ends it).
pub type CsvChunks = mpsc::Receiver<Result<Vec<u8>, AppError>>;

/// Writes CSV records into a buffer that is handed over and cleared every chunk.
pub(crate) struct Chunks {
    writer: csv::Writer<Vec<u8>>,
    rows: usize,
    tx: mpsc::Sender<Result<Vec<u8>, AppError>>,
}

/// Runs `write` on its own task, its records arriving in chunks on the returned receiver; an
/// error it returns is sent as the last item. Used by every CSV that may be long (reports,
/// payables), so none is built in memory whole. At most as many at once as `exports` allows
/// (else `TooManyAttempts`, before anything is read), each stopped after [`DEADLINE`].
pub(crate) fn spawn_csv<F, Fut>(exports: &Exports, write: F) -> Result<CsvChunks, AppError>
where
    F: FnOnce(Chunks) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), AppError>> + Send + 'static,
{
    let permit = exports
        .0
        .clone()
        .try_acquire_owned()
        .map_err(|_| AppError::TooManyAttempts(EXPORTS_BUSY.to_owned()))?;
    let (tx, rx) = mpsc::channel(8);
    let chunks = Chunks {
        writer: csv::Writer::from_writer(Vec::new()),
        rows: 0,
        tx: tx.clone(),
    };
    // In the request's span: the writer's log lines carry the request's id.
    use tracing::Instrument;
    tokio::spawn(
        async move {
            let failed = match tokio::time::timeout(DEADLINE, write(chunks)).await {
                Ok(written) => written.err(),
                Err(_) => {
                    tracing::warn!("a CSV export ran past its deadline: stopped");
                    Some(AppError::TooManyAttempts(
                        "The download took too long and was stopped. Please try again later."
                            .to_owned(),
                    ))
                }
            };
            // The room is free again before the client sees the end of the file, and before
            // an error waits for a client that may have stopped reading (for at most STALL).
            drop(permit);
            if let Some(e) = failed {
                let _ = tokio::time::timeout(STALL, tx.send(Err(e))).await;
            }
            drop(tx);
        }
        .in_current_span(),
    );
    Ok(rx)
}

impl Chunks {
    /// Writes one record; `false` when the client has gone (stop writing).
    pub(crate) async fn write(&mut self, record: &[String]) -> Result<bool, AppError> {
        self.writer
            .write_record(record)
            .map_err(|e| AppError::internal("csv", e))?;
        self.rows += 1;
        if self.rows.is_multiple_of(ROWS_PER_CHUNK) {
            return self.flush().await;
        }
        Ok(true)
    }

    /// Sends what is buffered; `false` when the client has gone or stopped reading for
    /// [`STALL`] (the export then ends, and with it its hold on a database connection).
    pub(crate) async fn flush(&mut self) -> Result<bool, AppError> {
        let full = std::mem::replace(&mut self.writer, csv::Writer::from_writer(Vec::new()));
        let bytes = full
            .into_inner()
            .map_err(|e| AppError::internal("csv", e.to_string()))?;
        if bytes.is_empty() {
            return Ok(true);
        }
        Ok(matches!(
            tokio::time::timeout(STALL, self.tx.send(Ok(bytes))).await,
            Ok(Ok(()))
        ))
    }
}

/// Starts the export of `subject` by `breakdown`; the CSV arrives in chunks on the returned
/// receiver (an error ends it).
pub fn start(
    db: DatabaseConnection,
    exports: &Exports,
    subject: Subject,
    breakdown: Breakdown,
) -> Result<CsvChunks, AppError> {
    spawn_csv(exports, move |mut chunks| async move {
        write_all(&db, &subject, breakdown, &mut chunks).await
    })
}

async fn write_all(
    db: &DatabaseConnection,
    subject: &Subject,
    breakdown: Breakdown,
    out: &mut Chunks,
) -> Result<(), AppError> {
    let money_only = subject.money_only;
    let currency = subject.clock.currency.clone();
    let head: Vec<String> = header(breakdown, money_only)
        .into_iter()
        .map(str::to_owned)
        .collect();
    out.write(&head).await?;
    let inputs = Inputs::load(db, subject).await?;
    if breakdown != Breakdown::DayChannel {
        let (rows, _) = build::rows(db, subject, breakdown, &inputs, None).await?;
        for row in rows {
            let label = if breakdown == Breakdown::Channel {
                handle(&row.label)
            } else {
                row.label
            };
            let mut labels = vec![label];
            labels.extend(row.detail);
            if !out
                .write(&record(&labels, &row.figures, money_only, &currency))
                .await?
            {
                return Ok(());
            }
        }
        out.flush().await?;
        return Ok(());
    }
    let (scope, period) = (&subject.scope, &subject.period);
    let stmt = query::day_channel_statement(
        db.get_database_backend(),
        scope,
        period.from,
        period.to,
        inputs.min_views,
        None,
    );
    let mut stream = db.stream_raw(stmt).await?;
    use futures_util::StreamExt;
    while let Some(row) = stream.next().await {
        let row = row?;
        let day: NaiveDate = row.try_get_by_index(0)?;
        let channel: i64 = row.try_get_by_index(1)?;
        let sums = sums_at(&row, 2)?;
        let labels = [
            day.format("%Y-%m-%d").to_string(),
            handle(&channel_label(channel, &inputs.facts)),
        ];
        let figures = Figures::of(sums.views, sums.clicks, sums.spend);
        if !out
            .write(&record(&labels, &figures, money_only, &currency))
            .await?
        {
            return Ok(());
        }
    }
    out.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_others_kept() {
        for bad in ["=1+1", "+49 30", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        for good in ["Spring sale", "@", "", "1-2"] {
            let expected = if good == "@" { "'@" } else { good };
            assert_eq!(neutralise(good), expected);
        }
    }

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(decimals(Micros(12_345_678)), "12.35");
        assert_eq!(decimals(Micros(5_000)), "0.01");
        assert_eq!(decimals(Micros(4_999)), "0.00");
        assert_eq!(decimals(Micros(0)), "0.00");
        assert_eq!(decimals(Micros(-1_500_000)), "-1.50");
    }

    #[tokio::test]
    async fn exports_beyond_the_room_are_refused_until_one_ends() {
        let exports = Exports::new(1);
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let mut first = spawn_csv(&exports, move |mut out| async move {
            let _ = wait.await;
            out.write(&["a".to_owned()]).await?;
            out.flush().await?;
            Ok(())
        })
        .expect("room for one");
        let refused = spawn_csv(&exports, |_| async { Ok(()) });
        assert!(
            matches!(&refused, Err(AppError::TooManyAttempts(m)) if m == EXPORTS_BUSY),
            "{:?}",
            refused.err()
        );
        go.send(()).expect("the first writer waits");
        let chunk = first.recv().await.expect("a chunk").expect("written");
        assert_eq!(chunk, b"a\n");
        assert!(first.recv().await.is_none(), "the first export ended");
        let mut second = spawn_csv(&exports, |_| async { Ok(()) }).expect("room again");
        assert!(second.recv().await.is_none());
    }
}
