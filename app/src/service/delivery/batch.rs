//! Group commit: requests queue for one writer task, which takes every request waiting when it
//! is free (up to a maximum) and answers them together, in one transaction.
//!
//! A transaction costs the same few round trips to the database and one commit whatever it
//! holds, and SQLite writes one at a time: measured by `server bench delivery`, a bare
//! one-row insert transaction ran at about 2,000 a second on our 2-core machines, which capped
//! decisions (a dozen statements each) near 500 a second. Sharing the transaction lets
//! decisions go as fast as the database takes batches, while a lone request still goes at
//! once (a batch of one): nothing waits for a timer.

use crate::error::AppError;
use std::{
    future::Future,
    sync::{Arc, Mutex, PoisonError},
};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

type Reply<A> = oneshot::Sender<Result<A, AppError>>;
/// A request, where its answer goes, and the id of the HTTP request it came from (if any).
type Item<R, A> = (R, Reply<A>, Option<Arc<str>>);
type Queue<R, A> = mpsc::UnboundedSender<Item<R, A>>;

/// A queue of requests `R` answered with `A` by one writer task, started by the first request
/// (and again if the runtime it ran on has gone). Every request of one batcher is answered by
/// the `run` of the request that started its writer: give each database its own batcher.
pub struct Batcher<R, A> {
    queue: Mutex<Option<Queue<R, A>>>,
}

impl<R, A> Default for Batcher<R, A> {
    fn default() -> Self {
        Self {
            queue: Mutex::new(None),
        }
    }
}

impl<R, A> std::fmt::Debug for Batcher<R, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl<R: Send + 'static, A: Send + 'static> Batcher<R, A> {
    /// Queues `request` and waits for its answer. The writer takes up to `max` requests at a
    /// time and has `run` answer them, one answer per request in order. A request whose caller
    /// went away before its batch began is dropped unanswered; once its batch has begun, it is
    /// decided with the others.
    pub async fn submit<F, Fut>(&self, request: R, max: usize, run: F) -> Result<A, AppError>
    where
        F: Fn(Vec<R>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<Result<A, AppError>>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let id = crate::api::ctx::REQUEST_ID.try_with(Arc::clone).ok();
        {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            let item = match queue.as_ref() {
                Some(sender) => sender.send((request, reply, id)).err().map(|e| e.0),
                None => Some((request, reply, id)),
            };
            if let Some(item) = item {
                // No writer yet, or its runtime has ended: start one.
                let (sender, receiver) = mpsc::unbounded_channel();
                tokio::spawn(write(receiver, max.max(1), run));
                let _ = sender.send(item);
                *queue = Some(sender);
            }
        }
        answer.await.unwrap_or_else(|_| Err(lost()))
    }
}

/// The writer: waits for a request, takes it with every other one waiting (up to `max`), has
/// `run` answer them, and goes back for more. Ends when the batcher is dropped. Each batch runs
/// in a span `batch` naming the ids of the requests it answers, so that whatever it logs (a
/// failure, its timings) leads to them.
async fn write<R, A, F, Fut>(mut queue: mpsc::UnboundedReceiver<Item<R, A>>, max: usize, run: F)
where
    F: Fn(Vec<R>) -> Fut,
    Fut: Future<Output = Vec<Result<A, AppError>>>,
{
    let mut batch = Vec::with_capacity(max);
    while queue.recv_many(&mut batch, max).await > 0 {
        // A request whose caller has gone (a client that hung up) is not decided at all.
        batch.retain(|(_, reply, _)| !reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        let mut ids = String::new();
        let (mut requests, mut replies) = (Vec::with_capacity(batch.len()), Vec::new());
        for (request, reply, id) in batch.drain(..) {
            if let Some(id) = id {
                if !ids.is_empty() {
                    ids.push(' ');
                }
                ids.push_str(&id);
            }
            requests.push(request);
            replies.push(reply);
        }
        let span = tracing::info_span!("batch", size = requests.len(), requests = %ids);
        let mut answers = run(requests).instrument(span).await.into_iter();
        for reply in replies {
            let _ = reply.send(answers.next().unwrap_or_else(|| Err(lost())));
        }
    }
}

fn lost() -> AppError {
    AppError::internal("batch", "a batch ended without answering a request")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_request_is_answered_once_in_batches() {
        let batcher = Arc::new(Batcher::<usize, usize>::default());
        let batches = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let (batcher, batches) = (Arc::clone(&batcher), Arc::clone(&batches));
                tokio::spawn(async move {
                    batcher
                        .submit(i, 16, move |requests| {
                            let batches = Arc::clone(&batches);
                            async move {
                                batches.fetch_add(1, Ordering::Relaxed);
                                assert!(requests.len() <= 16);
                                tokio::task::yield_now().await;
                                requests.into_iter().map(|r| Ok(r * 2)).collect()
                            }
                        })
                        .await
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.ok().and_then(Result::ok), Some(i * 2));
        }
        let batches = batches.load(Ordering::Relaxed);
        assert!((13..=200).contains(&batches), "{batches} batches");
    }

    #[tokio::test]
    async fn a_batch_without_an_answer_for_a_request_fails_only_that_request() {
        let batcher = Batcher::<usize, usize>::default();
        let got = batcher.submit(7, 4, |_| async { Vec::new() }).await;
        assert_eq!(got, Err(AppError::Internal));
    }
}
