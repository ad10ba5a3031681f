//! A writer: takes whatever posts are queued when it is free, writes them in one transaction, and
//! answers each; a failure that belongs to one post is kept to that post.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::store::{IdempotentInsert, Post, Store, StoreError};

/// Where a post's outcome goes: to the request waiting for it.
type Reply = oneshot::Sender<Result<IdempotentInsert, StoreError>>;

/// One post waiting for its commit, and where its outcome goes.
pub(super) struct Job {
    pub post: Post,
    pub reply: Reply,
}

/// Writes batches of up to `batch_max` posts until every sender is gone and the queue is empty.
pub(super) async fn run(
    store: Arc<dyn Store>,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    batch_max: usize,
) {
    let mut jobs = Vec::with_capacity(batch_max);
    loop {
        {
            // One writer at a time takes from the queue, and takes all it may at once.
            let mut queue = queue.lock().await;
            if queue.recv_many(&mut jobs, batch_max).await == 0 {
                return;
            }
            crate::metrics::post_queue_depth(queue.len());
        }
        crate::metrics::post_batch(jobs.len());
        commit(store.as_ref(), jobs.drain(..)).await;
    }
}

/// Writes `jobs` together and answers each. A batch that missed its deadline answers 503 to the
/// posts whose own deadline passed and writes the others again at once; one that failed for
/// another reason than an outage writes its posts one at a time, so that a taken id or a bad row
/// fails only its own post.
async fn commit(store: &dyn Store, jobs: impl Iterator<Item = Job>) {
    // A request that is gone (its client hung up, or it timed out) is not written.
    let (mut posts, mut replies): (Vec<Post>, Vec<Reply>) = jobs
        .filter(|job| !job.reply.is_closed())
        .map(|job| (job.post, job.reply))
        .unzip();
    while !posts.is_empty() {
        let error = match store.insert_posts(&posts).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
                return;
            }
            Err(error) => error,
        };
        match error {
            StoreError::PastCommitDeadline if posts.len() > 1 => {
                let earliest = posts.iter().map(|post| post.commit_by).min();
                let cutoff = earliest.map_or(Utc::now(), |earliest| earliest.max(Utc::now()));
                let mut kept = (Vec::new(), Vec::new());
                for (post, reply) in posts.into_iter().zip(replies) {
                    if post.commit_by <= cutoff {
                        let _ = reply.send(Err(StoreError::PastCommitDeadline));
                    } else {
                        kept.0.push(post);
                        kept.1.push(reply);
                    }
                }
                (posts, replies) = kept;
            }
            error if posts.len() > 1 && !error.is_outage() => {
                tracing::warn!(posts = posts.len(), error = %error, "a batch of posts failed; writing them one at a time");
                for (post, reply) in posts.into_iter().zip(replies) {
                    if reply.is_closed() {
                        continue;
                    }
                    let outcome = store.insert_posts(std::slice::from_ref(&post)).await;
                    let _ = reply.send(outcome.map(|outcomes| {
                        outcomes.into_iter().next().expect("one outcome per post")
                    }));
                }
                return;
            }
            error => {
                fail_all(replies, error);
                return;
            }
        }
    }
}

/// Answers every post of a batch with the failure of its transaction.
fn fail_all(mut replies: Vec<Reply>, error: StoreError) {
    if replies.len() == 1 {
        if let Some(reply) = replies.pop() {
            let _ = reply.send(Err(error));
        }
        return;
    }
    let shared = Arc::new(error);
    for reply in replies {
        let _ = reply.send(Err(StoreError::Shared(shared.clone())));
    }
}
