//! The one policy for an id that turns out to be taken: give the rows new ids and try again.
//!
//! Ids are made without coordination, so the database's primary key is what finally guarantees
//! uniqueness. Posting and seeding meet a taken id the same way, up to [`ID_ATTEMPTS`] times; a
//! seed's batch is retried here, and a live post, written with others by the group commit, is
//! given a new id by its request (`http/messages/create.rs`), the one that knows how to make one.

use super::{Store, StoreError};
use crate::domain::NewMessage;

/// Attempts at storing a batch before a taken id is reported to the caller. Each attempt draws new
/// ids, so a second collision is already rare and a fifth one means the ids are not fresh at all.
pub const ID_ATTEMPTS: usize = 5;

/// Stores `batch` with its counts; when one of its ids is already taken, lets `reassign` give the
/// rows new ids (or fail, if it cannot make any now) and tries again, up to [`ID_ATTEMPTS`] times
/// in all.
pub async fn insert_with_fresh_ids<E: From<StoreError>>(
    store: &dyn Store,
    batch: &mut [NewMessage],
    mut reassign: impl FnMut(&mut [NewMessage]) -> Result<(), E>,
) -> Result<(), E> {
    let mut attempt = 1;
    loop {
        match store.insert_batch(batch).await {
            Err(StoreError::DuplicateId(taken)) if attempt < ID_ATTEMPTS => {
                tracing::warn!(%taken, attempt, rows = batch.len(), "an id is already taken; retrying with new ids");
                reassign(batch)?;
                attempt += 1;
            }
            result => return result.map_err(E::from),
        }
    }
}
