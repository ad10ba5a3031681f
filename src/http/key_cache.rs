//! API keys as this instance last read them: a key's row is read from the database at most about
//! once a second, so a busy key costs no query per request and a revoked one is refused within a
//! second on every instance.

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

/// The per-instance cache of key rows, and of ids that have none.
pub struct KeyCache {
    // The std hasher (SipHash, keyed per process): ids are chosen by callers, so no one can
    // aim them at one bucket.
    known: Cache<String, (Instant, ApiKeyRow)>,
    absent: Cache<String, Instant>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self {
            known: Cache::new(KNOWN_CAPACITY),
            absent: Cache::new(ABSENT_CAPACITY),
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

    /// The row of key `id`, read from `store` and kept.
    pub async fn fetch(
        &self,
        store: &dyn Store,
        id: &str,
    ) -> Result<Option<ApiKeyRow>, StoreError> {
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
