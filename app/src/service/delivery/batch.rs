//! Group commit: requests that arrive while a batch is being written wait together, and the
//! next of them to get the turn writes all of them in one transaction.
//!
//! A transaction costs the same few round trips to the database and one commit whatever it
//! holds, and SQLite writes one at a time: measured by `server bench delivery`, a bare
//! one-row insert transaction ran at about 2,000 a second on our 2-core machines, which capped
//! decisions (a dozen statements each) near 500 a second. Sharing the transaction lets
//! decisions go as fast as the database can take batches, while a lone request still goes at
//! once (a batch of one): nothing waits for a timer.

use crate::error::AppError;
use std::{
    future::Future,
    sync::{Arc, Mutex, PoisonError},
};
use tokio::sync::oneshot;

type Reply<A> = oneshot::Sender<Result<A, AppError>>;

/// A queue of requests `R` answered with `A`, and the turn to write a batch of them.
pub struct Batcher<R, A> {
    queue: Mutex<Vec<(R, Reply<A>)>>,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl<R, A> Default for Batcher<R, A> {
    fn default() -> Self {
        Self {
            queue: Mutex::new(Vec::new()),
            turn: Arc::default(),
        }
    }
}

impl<R, A> std::fmt::Debug for Batcher<R, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl<R: Send + 'static, A: Send + 'static> Batcher<R, A> {
    /// Queues `request` and waits for its answer. Whoever gets the turn takes up to `max` of
    /// the queued requests (its own among them, or earlier ones) and has `run` answer them,
    /// one answer per request in order. `run` goes on in its own task, holding the turn, so a
    /// batch is finished and every request in it answered even if the caller that started it
    /// goes away.
    pub async fn submit<F, Fut>(&self, request: R, max: usize, run: F) -> Result<A, AppError>
    where
        F: Fn(Vec<R>) -> Fut,
        Fut: Future<Output = Vec<Result<A, AppError>>> + Send + 'static,
    {
        let (reply, mut answer) = oneshot::channel();
        self.queue().push((request, reply));
        loop {
            tokio::select! {
                biased;
                answered = &mut answer => return answered.unwrap_or_else(|_| Err(lost())),
                turn = Arc::clone(&self.turn).lock_owned() => {
                    let batch: Vec<(R, Reply<A>)> = {
                        let mut queue = self.queue();
                        let n = queue.len().min(max.max(1));
                        queue.drain(..n).collect()
                    };
                    if batch.is_empty() {
                        // Ours was in a batch that has ended: its answer is waiting.
                        drop(turn);
                        return answer.await.unwrap_or_else(|_| Err(lost()));
                    }
                    let (requests, replies): (Vec<R>, Vec<Reply<A>>) = batch.into_iter().unzip();
                    let work = run(requests);
                    let task = tokio::spawn(async move {
                        let _turn = turn;
                        let mut answers = work.await.into_iter();
                        for reply in replies {
                            let _ = reply.send(answers.next().unwrap_or_else(|| Err(lost())));
                        }
                    });
                    // A panic in the batch drops its replies: their requests get `lost`.
                    let _ = task.await;
                }
            }
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<(R, Reply<A>)>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn lost() -> AppError {
    AppError::internal("batch", "a batch ended without answering a request")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_request_is_answered_once_in_batches() {
        let batcher = Arc::new(Batcher::<usize, usize>::default());
        let batches = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let (batcher, batches) = (Arc::clone(&batcher), Arc::clone(&batches));
                tokio::spawn(async move {
                    batcher
                        .submit(i, 16, |requests| {
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
