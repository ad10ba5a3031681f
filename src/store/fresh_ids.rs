//! The one policy for an id that turns out to be taken: give the rows new ids and try again.
//!
//! Ids are made without coordination, so the database's primary key is what finally guarantees
//! uniqueness. Posting, importing and seeding all meet a taken id the same way, and only the way
//! they make a new id differs, so that is all the caller says.

use std::time::Duration;

use super::{Store, StoreError};
use crate::domain::NewMessage;

/// Attempts at storing a batch before a taken id is reported to the caller. Each attempt draws new
/// ids, so a second collision is already rare and a fifth one means the ids are not fresh at all.
pub const ID_ATTEMPTS: usize = 5;

/// Stores `batch` with its counts; when one of its ids is already taken, lets `reassign` give the
/// rows new ids (or fail, if it cannot make any now) and tries again, up to [`ID_ATTEMPTS`] times
/// in all. A live post (`commit_within` set, a batch of one) must commit within that long of
/// its id's time: see [`Store::insert_post`].
pub async fn insert_with_fresh_ids<E: From<StoreError>>(
    store: &dyn Store,
    batch: &mut [NewMessage],
    commit_within: Option<Duration>,
    mut reassign: impl FnMut(&mut [NewMessage]) -> Result<(), E>,
) -> Result<(), E> {
    let mut attempt = 1;
    loop {
        let stored = match (commit_within, &*batch) {
            (Some(within), [post]) => {
                let commit_by = post.id.timestamp()
                    + chrono::Duration::from_std(within).unwrap_or(chrono::Duration::MAX);
                store.insert_post(post, commit_by).await
            }
            _ => store.insert_batch(batch).await,
        };
        match stored {
            Err(StoreError::DuplicateId(taken)) if attempt < ID_ATTEMPTS => {
                tracing::warn!(%taken, attempt, rows = batch.len(), "an id is already taken; retrying with new ids");
                reassign(batch)?;
                attempt += 1;
            }
            result => return result.map_err(E::from),
        }
    }
}
