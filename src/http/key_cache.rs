//! API keys as this instance last read them: a key's row is read from the database at most about
//! once a second, so a busy key costs no query per request and a revoked one is refused within a
//! second on every instance.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use crate::store::{ApiKeyRow, Store, StoreError};

/// How long a key's row is trusted; a revocation takes effect on every instance within this.
pub const KNOWN_FOR: Duration = Duration::from_secs(1);
/// How long an unknown id is trusted to stay unknown: shorter, so a new key works at once.
pub const ABSENT_FOR: Duration = Duration::from_millis(250);
/// Rows kept. An id past them evicts another, so a stream of made-up ids costs queries, never
/// memory; they go to their own smaller table, so they cannot push out the keys in use.
const KNOWN_CAPACITY: usize = 10_000;
const ABSENT_CAPACITY: usize = 1_000;

/// A look-up's answer as the requests waiting on it share it.
type Shared = Result<Option<ApiKeyRow>, Arc<StoreError>>;

/// The per-instance cache of key rows, and of ids that have none.
pub struct KeyCache {
    // The std hasher (SipHash, keyed per process): ids are chosen by callers, so no one can
    // aim them at one bucket.
    known: Cache<String, (Instant, ApiKeyRow)>,
    absent: Cache<String, Instant>,
    /// The look-ups in flight, one per id, each held only until its answer is handed out: when a
    /// busy key's row expires, the requests arriving meanwhile wait for one query instead of
    /// sending one each.
    in_flight: Cache<String, Shared>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self {
            known: Cache::new(KNOWN_CAPACITY),
            absent: Cache::new(ABSENT_CAPACITY),
            in_flight: Cache::new(KNOWN_CAPACITY),
        }
    }
}

impl KeyCache {
    /// The row of key `id` (`Some(None)`: it has none) while this instance's copy is fresh;
    /// `None` when only the store can tell.
    pub fn cached(&self, id: &str) -> Option<Option<ApiKeyRow>> {
        if let Some((read_at, row)) = self.known.get(id) {
            if read_at.elapsed() < KNOWN_FOR {
                return Some(Some(row));
            }
        } else if let Some(read_at) = self.absent.get(id) {
            if read_at.elapsed() < ABSENT_FOR {
                return Some(None);
            }
        }
        None
    }

    /// The row of key `id`, read from `store` and kept; a look-up of `id` already in flight is
    /// waited for rather than repeated, and its failure is this call's too.
    pub async fn fetch(
        &self,
        store: &dyn Store,
        id: &str,
    ) -> Result<Option<ApiKeyRow>, StoreError> {
        let guard = match self.in_flight.get_value_or_guard_async(id).await {
            Ok(answer) => return answer.map_err(StoreError::Shared),
            Err(guard) => guard,
        };
        // A caller that gives up (its client hung up) drops the guard unanswered, and one of the
        // waiters looks the key up instead.
        let answer = self.look_up(store, id).await.map_err(Arc::new);
        let _ = guard.insert(answer.clone());
        // Gone once answered, so that the next look-up (a second later) asks the store again.
        self.in_flight.remove(id);
        answer.map_err(StoreError::Shared)
    }

    /// Reads the row of key `id` from `store` and keeps it, or keeps that there is none.
    async fn look_up(&self, store: &dyn Store, id: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        // Aged from before the query: the row may change while it is being read.
        let asked_at = Instant::now();
        let row = store.api_key(id).await?;
        match &row {
            Some(row) => {
                self.absent.remove(id);
                self.known.insert(id.to_owned(), (asked_at, row.clone()));
            }
            None => {
                self.known.remove(id);
                self.absent.insert(id.to_owned(), asked_at);
            }
        }
        Ok(row)
    }
}
