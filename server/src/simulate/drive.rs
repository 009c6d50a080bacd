//! The run loop: an accelerated clock that asks decisions as posts arrive and reports views as they
//! fall due.

use super::{
    Options,
    client::{Answer, DeliveryClient, SendError},
    journal::{self, JournalEntry, RequestKind, Verdict},
    network::{self, PendingEvent, PlannedBatch},
    totals::{StopReason, Totals, units},
    traffic::{self, Channel, PostArrival},
};
use chrono::{SecondsFormat, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, rngs::StdRng};
use serde_json::{Value, json};
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

/// Events wait at most this long (real time) for a fuller batch.
const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// Longest idle sleep, so the progress bar and the time bound stay live.
const TICK: Duration = Duration::from_millis(100);
/// Posts asked per turn of the loop, so that due events still go out when the server lags.
const POSTS_PER_TURN: usize = 64;
/// Mixed into the seed of the network's draws ("network" in ASCII).
const NETWORK_STREAM: u64 = 0x006e_6574_776f_726b;

/// Runs the simulation over `channels` until the simulated hours are done or a bound is hit.
pub async fn run(
    client: &mut DeliveryClient,
    channels: Vec<Channel>,
    rng: &mut StdRng,
    options: &Options,
    deadline: Instant,
) -> (Totals, StopReason) {
    let horizon = options.hours * 3600.0;
    let posts = traffic::schedule_posts(rng, &channels, horizon);
    let bar = progress_bar(options.quiet, horizon);
    let mut run = Run {
        client,
        options,
        channels,
        totals: Totals::default(),
        network: traffic::rng_for(&[options.seed, NETWORK_STREAM]),
        started: Instant::now(),
        pending: BTreeMap::new(),
        sequence: 0,
        ready: Vec::new(),
        held: Vec::new(),
        last_flush: Instant::now(),
        bar,
    };
    let stopped = match run.drive(&posts, horizon, deadline).await {
        Ok(()) => StopReason::Finished,
        Err(reason) => reason,
    };
    run.bar.finish_and_clear();
    run.totals.requests = run.client.requests;
    (run.totals, stopped)
}

fn progress_bar(quiet: bool, horizon: f64) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(horizon as u64);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:30}] {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

struct Run<'a> {
    client: &'a mut DeliveryClient,
    options: &'a Options,
    channels: Vec<Channel>,
    totals: Totals,
    /// Draws the network's flakiness (kept apart from the traffic's draws).
    network: StdRng,
    started: Instant,
    /// View reports not yet due, by (due simulated millisecond, sequence).
    pending: BTreeMap<(u64, u64), PendingEvent>,
    sequence: u64,
    /// Due view reports not yet sent.
    ready: Vec<PendingEvent>,
    /// Batches held back to be sent after the next flush's own.
    held: Vec<PlannedBatch>,
    last_flush: Instant,
    bar: ProgressBar,
}

impl Run<'_> {
    async fn drive(
        &mut self,
        posts: &[PostArrival],
        horizon: f64,
        deadline: Instant,
    ) -> Result<(), StopReason> {
        let mut next_post = 0;
        loop {
            if Instant::now() >= deadline {
                return Err(StopReason::MaxSeconds);
            }
            let now = (self.started.elapsed().as_secs_f64() * self.options.speed).min(horizon);
            self.show(now, horizon);
            let turn_end = next_post + POSTS_PER_TURN;
            while let Some(post) = posts.get(next_post)
                && post.at <= now
                && next_post < turn_end
            {
                self.ask(post, now).await?;
                next_post += 1;
            }
            let now_ms = (now * 1000.0) as u64;
            while let Some(entry) = self.pending.first_entry()
                && entry.key().0 <= now_ms
            {
                self.ready.push(entry.remove());
            }
            let finished = now >= horizon && next_post >= posts.len();
            let flush_due = self.ready.len() >= usize::from(self.options.batch)
                || (!self.ready.is_empty() && self.last_flush.elapsed() >= FLUSH_EVERY);
            if flush_due || finished {
                self.flush(finished).await?;
            }
            if finished {
                return Ok(());
            }
            let next_due = [
                posts.get(next_post).map(|p| p.at),
                self.pending
                    .first_key_value()
                    .map(|(k, _)| k.0 as f64 / 1000.0),
                Some(horizon),
            ]
            .into_iter()
            .flatten()
            .fold(horizon, f64::min);
            let wait = Duration::try_from_secs_f64((next_due - now) / self.options.speed)
                .unwrap_or(Duration::ZERO)
                .min(TICK);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }

    fn show(&self, now: f64, horizon: f64) {
        self.bar.set_position(now as u64);
        self.bar.set_message(format!(
            "sim {:.1}/{:.1} h · {} requests · {} won · posted {}",
            now / 3600.0,
            horizon / 3600.0,
            self.client.requests,
            self.totals.won,
            units(self.totals.posted_micros)
        ));
    }

    /// Sends one request; a failure without answer is counted as an error and gives `None`.
    async fn request(
        &mut self,
        kind: RequestKind,
        body: &Value,
    ) -> Result<Option<Answer>, StopReason> {
        match self.client.post(kind, body).await {
            Ok(answer) => Ok(Some(answer)),
            Err(SendError::Failed(_)) => {
                self.totals.errors += 1;
                Ok(None)
            }
            Err(SendError::Stop(reason)) => {
                if reason == StopReason::Unreachable {
                    self.totals.errors += 1;
                }
                Err(reason)
            }
        }
    }

    /// A post asks for an ad; a won post's views are scheduled. Sometimes asked twice.
    async fn ask(&mut self, post: &PostArrival, now: f64) -> Result<(), StopReason> {
        let Some(channel) = self.channels.get(post.channel).cloned() else {
            return Ok(());
        };
        let slot_id = format!("sim-{}-{}-{}", self.options.seed, channel.id, post.n);
        let body = json!({"channel": channel.handle, "slot_id": slot_id});
        let sent = self.client.requests;
        let answer = self.request(RequestKind::Decision, &body).await;
        if self.client.requests > sent {
            self.totals.decisions += 1;
        }
        let Some(answer) = answer? else {
            return Ok(());
        };
        let decision_id = answer
            .body
            .as_ref()
            .and_then(|b| b.get("decision_id"))
            .and_then(Value::as_i64);
        match (answer.status, decision_id) {
            (200, Some(decision_id)) => {
                self.totals.won += 1;
                let mut views =
                    traffic::rng_for(&[self.options.seed, channel.id as u64, u64::from(post.n)]);
                for (i, increment) in traffic::view_curve(&mut views, channel.avg_views)
                    .into_iter()
                    .enumerate()
                {
                    let due = ((now + increment.after) * 1000.0) as u64;
                    let event = PendingEvent {
                        event_id: format!("{slot_id}-v{i}"),
                        decision_id,
                        views: increment.views,
                        clicks: increment.clicks,
                    };
                    self.pending.insert((due, self.sequence), event);
                    self.sequence += 1;
                }
            }
            (204, _) => self.totals.no_ad += 1,
            _ => self.totals.errors += 1,
        }
        if self.network.random_bool(network::REPEAT_DECISION) {
            self.expect_same(RequestKind::Decision, &body, &answer)
                .await?;
            self.totals.decision_repeats += 1;
        }
        Ok(())
    }

    /// Sends `body` again; an answer other than the one before is an error.
    async fn expect_same(
        &mut self,
        kind: RequestKind,
        body: &Value,
        first: &Answer,
    ) -> Result<Option<Answer>, StopReason> {
        let Some(again) = self.request(kind, body).await? else {
            return Ok(None);
        };
        let recorded = JournalEntry {
            kind,
            body: body.clone(),
            status: Some(first.status),
            response: first.body.clone(),
        };
        if journal::compare(&recorded, again.status, again.body.as_ref()) != Verdict::Equal {
            self.totals.errors += 1;
        }
        Ok(Some(again))
    }

    /// Sends the ready events as the flaky network plans them (held batches go after the new
    /// ones; at the end, everything goes).
    async fn flush(&mut self, finished: bool) -> Result<(), StopReason> {
        let ready = std::mem::take(&mut self.ready);
        let plan = network::plan_flush(&mut self.network, ready, usize::from(self.options.batch));
        let mut batches = plan.now;
        batches.append(&mut self.held);
        if finished {
            batches.extend(plan.held);
        } else {
            self.held = plan.held;
        }
        for batch in batches {
            self.send_batch(batch).await?;
        }
        self.last_flush = Instant::now();
        Ok(())
    }

    /// One events request, stamped with the real time of sending (the server's clock).
    async fn send_batch(&mut self, batch: PlannedBatch) -> Result<(), StopReason> {
        let at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
        let events: Vec<Value> = batch
            .events
            .iter()
            .map(|e| {
                json!({"event_id": e.event_id, "decision_id": e.decision_id,
                       "views": e.views, "clicks": e.clicks, "at": at})
            })
            .collect();
        let body = json!({ "events": events });
        let sent = self.client.requests;
        let answer = self.request(RequestKind::Events, &body).await;
        if self.client.requests > sent {
            self.totals.events += batch.events.len() as u64;
        }
        let Some(answer) = answer? else {
            return Ok(());
        };
        if answer.status != 200 {
            self.totals.errors += 1;
            return Ok(());
        }
        self.totals
            .add_events_answer(&batch.events, answer.body.as_ref());
        if batch.twice {
            let again = self
                .expect_same(RequestKind::Events, &body, &answer)
                .await?;
            self.totals.batches_resent += 1;
            self.totals.events += batch.events.len() as u64;
            if let Some(again) = again
                && again.status == 200
            {
                self.totals
                    .add_events_answer(&batch.events, again.body.as_ref());
            }
        }
        Ok(())
    }
}
