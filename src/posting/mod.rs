//! Posting at disk speed: concurrent posts are written together, one transaction and one durable
//! commit for all that are waiting (group commit), and each request is answered once the commit
//! holding its post is done.
//!
//! There is no timer and no waiting for a batch to fill: a writer takes whatever is queued when
//! it is free, so a lone post is written at once and batches grow only with concurrency. The
//! queue is bounded, so a database slower than the posts coming in answers the surplus at once
//! (503, retry later) instead of piling up requests that would miss their commit deadline anyway.
//!
//! This floor uses the domain, the store and metrics, and knows nothing of HTTP.

mod writer;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Mutex};

use crate::domain::{MessageId, NoNodeLease};
use crate::store::{IdempotentInsert, Post, Store, StoreError, TakenId};

/// Writers on a MySQL-compatible database, at most: enough to keep a commit in flight while the
/// next batch is being sent, few enough that batches stay large.
const MYSQL_WRITERS: u32 = 4;

/// How posts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `POST_BATCH_MAX`: most posts in one transaction; 1 writes each post on its own request,
    /// without a queue, as before group commit.
    pub batch_max: usize,
    /// `POST_QUEUE_MAX`: most posts waiting for a writer; more are refused.
    pub queue_max: usize,
}

/// Why a post was not written.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The queue is full: the database cannot keep up with the posts coming in now.
    #[error("{0} posts are already waiting to be written")]
    QueueFull(usize),
    /// The writers are gone: the service is stopping, or one failed.
    #[error("the post writers have stopped")]
    Stopped,
    /// No id could be made for the post: this instance holds no node lease now.
    #[error(transparent)]
    NoId(#[from] NoNodeLease),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TakenId for PostError {
    fn taken_id(&self) -> Option<MessageId> {
        match self {
            Self::Store(error) => error.taken_id(),
            _ => None,
        }
    }
}

/// Writes posts: on their own (`POST_BATCH_MAX=1`), or through the queue and its writers.
pub struct Poster(Route);

enum Route {
    Direct(Arc<dyn Store>),
    Queued(mpsc::Sender<writer::Job>),
}

impl Poster {
    /// Starts the writers (on the current tokio runtime) that `settings` ask for. They stop once
    /// the poster is dropped and the posts queued before are written.
    pub fn start(store: Arc<dyn Store>, settings: Settings) -> Self {
        if settings.batch_max <= 1 {
            return Self(Route::Direct(store));
        }
        let (sender, receiver) = mpsc::channel(settings.queue_max.max(1));
        // SQLite has one writer connection; more writers would only queue for it.
        let writers = match store.backend() {
            "sqlite" => 1,
            _ => store.pool_stats().max.clamp(1, MYSQL_WRITERS),
        };
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers {
            tokio::spawn(writer::run(
                store.clone(),
                receiver.clone(),
                settings.batch_max,
            ));
        }
        Self(Route::Queued(sender))
    }

    /// Writes `post` and says what became of it, once its commit is done.
    pub async fn post(&self, post: Post) -> Result<IdempotentInsert, PostError> {
        match &self.0 {
            Route::Direct(store) => {
                let outcomes = store.insert_posts(std::slice::from_ref(&post)).await?;
                Ok(outcomes.into_iter().next().expect("one outcome per post"))
            }
            Route::Queued(queue) => {
                let (reply, answer) = oneshot::channel();
                queue
                    .try_send(writer::Job { post, reply })
                    .map_err(|error| match error {
                        mpsc::error::TrySendError::Full(_) => {
                            PostError::QueueFull(queue.max_capacity())
                        }
                        mpsc::error::TrySendError::Closed(_) => PostError::Stopped,
                    })?;
                crate::metrics::post_queue_depth(queue.max_capacity() - queue.capacity());
                Ok(answer.await.map_err(|_| PostError::Stopped)??)
            }
        }
    }
}
