//! What every backend's writes share: which rows of an import to store, how many each counter
//! gains, and a taken id told apart from other failures.

use std::collections::HashMap;

use chrono::Datelike;

use super::{Placement, StoreError};
use crate::domain::NewMessage;

/// Decides each row's [`Placement`] from the rows already stored under the same ids (`stored`: id
/// → tag and text), and returns the rows to insert.
pub(super) fn place<'a>(
    messages: &'a [NewMessage],
    stored: &HashMap<i64, (String, String)>,
) -> (Vec<Placement>, Vec<&'a NewMessage>) {
    let mut placements = Vec::with_capacity(messages.len());
    let mut fresh = Vec::with_capacity(messages.len());
    let mut claimed = std::collections::HashSet::with_capacity(messages.len());
    for message in messages {
        let id = message.id.as_i64();
        let placement = match stored.get(&id) {
            Some((tag, text)) if tag == message.tag.as_str() && text == message.text.as_str() => {
                Placement::AlreadyStored
            }
            Some(_) => Placement::IdTaken,
            None if !claimed.insert(id) => Placement::IdTaken,
            None => {
                fresh.push(message);
                Placement::Stored
            }
        };
        placements.push(placement);
    }
    (placements, fresh)
}

/// How many twoots each (year, tag) gains from `messages`, ordered so that concurrent writers take
/// counter rows in the same order and cannot deadlock on them.
pub(super) fn count_increments<'a>(
    messages: impl IntoIterator<Item = &'a NewMessage>,
) -> Vec<((i32, &'a str), i64)> {
    let mut counts: HashMap<(i32, &str), i64> = HashMap::new();
    for message in messages {
        *counts
            .entry((message.timestamp.year(), message.tag.as_str()))
            .or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_unstable();
    counts
}

/// The `DuplicateId` error if `error` is a primary key violation on an insert of `messages`.
pub(super) fn duplicate_or(error: sqlx::Error, messages: &[NewMessage]) -> StoreError {
    let is_duplicate = matches!(&error, sqlx::Error::Database(db) if db.is_unique_violation());
    match (is_duplicate, messages.first()) {
        (true, Some(first)) => StoreError::DuplicateId(first.id),
        _ => error.into(),
    }
}
