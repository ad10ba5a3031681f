//! Writing twoots and their counts: one transaction per call, run again when InnoDB or Galera
//! aborted it for a conflict that waiting out is the remedy for.

use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use rand::Rng;
use sqlx::{MySql, QueryBuilder};

use super::MySqlStore;
use crate::domain::NewMessage;
use crate::store::{count_increments, duplicate_or, place, rows, Placement, StoreError};

/// Rows per multi-row INSERT: well under `max_allowed_packet` for 280-character texts.
const ROWS_PER_INSERT: usize = 1000;

/// Counter rows per (year, tag), in groups; see the migration. A live post counts in a slot of
/// its writer's group (the slots taken in turn), the group chosen by the node number its id carries: writers in different groups never
/// touch the same counter row. On one server that only spreads row locks; on a Galera cluster,
/// where writers on different nodes do not wait for each other's locks but fail certification at
/// commit, it keeps instances on different nodes from aborting each other's posts to a popular tag.
const COUNT_SLOT_GROUPS: u16 = 8;
/// Slots in each group: how many posts of one writer to one (year, tag) can hold their counter row
/// at once.
const COUNT_SLOTS_PER_GROUP: u16 = 8;

/// Attempts at a transaction that InnoDB aborted to break a deadlock, or that lost Galera's
/// certification to a concurrent one on another node: both are over in milliseconds, and a short
/// random pause lets the winner commit before the next attempt.
const CONFLICT_ATTEMPTS: u32 = 8;

/// Attempts at a transaction that timed out waiting for a lock: each has already waited
/// `innodb_lock_wait_timeout`, so one more is all a request can afford.
const LOCK_WAIT_ATTEMPTS: u32 = 2;

impl MySqlStore {
    /// [`Self::try_insert`], again after a deadlock or a certification failure (up to
    /// `CONFLICT_ATTEMPTS` in all) or a lock wait timeout (`LOCK_WAIT_ATTEMPTS`).
    pub(super) async fn insert_retrying(
        &self,
        messages: &[NewMessage],
        skip_stored: bool,
    ) -> Result<Vec<Placement>, StoreError> {
        let mut attempt = 1;
        loop {
            let error = match self.try_insert(messages, skip_stored).await {
                Ok(placements) => return Ok(placements),
                Err(error) => error,
            };
            if !worth_another_attempt(&error, attempt) {
                return Err(duplicate_or(error, messages));
            }
            conflict_pause(attempt).await;
            attempt += 1;
        }
    }

    /// Inserts `messages` with their counts in one transaction; with `skip_stored`, only those
    /// whose id is free, saying what became of each.
    async fn try_insert(
        &self,
        messages: &[NewMessage],
        skip_stored: bool,
    ) -> Result<Vec<Placement>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let (placements, fresh) = if skip_stored {
            let stored = rows::stored_by_id::<MySql>(&mut tx, messages, ROWS_PER_INSERT).await?;
            place(messages, &stored)
        } else {
            (
                vec![Placement::Stored; messages.len()],
                messages.iter().collect(),
            )
        };
        insert_rows(&mut tx, fresh, false).await?;
        tx.commit().await?;
        Ok(placements)
    }
}

/// Stores `rows` and counts them, inside `tx`; `live` posts (and any single row) count in a
/// random slot of their writer's group.
pub(super) async fn insert_rows(
    tx: &mut sqlx::Transaction<'_, MySql>,
    rows: Vec<&NewMessage>,
    live: bool,
) -> Result<(), sqlx::Error> {
    // In primary-key order, each chunk lands in neighbouring pages of the clustered index.
    let mut sorted = rows;
    sorted.sort_unstable_by_key(|message| message.id);
    for chunk in sorted.chunks(ROWS_PER_INSERT) {
        let mut insert =
            QueryBuilder::<MySql>::new("INSERT INTO messages (id, tag, text, created_at) ");
        insert.push_values(chunk, |mut row, message| {
            row.push_bind(message.id.as_i64())
                .push_bind(message.tag.as_str())
                .push_bind(message.text.as_str())
                .push_bind(message.timestamp.naive_utc());
        });
        insert.build().execute(&mut **tx).await?;
    }
    // Slots spread concurrent posts; a bulk load is one writer, and keeping its counts in slot
    // 0 keeps statistics at one row per (year, tag) for everything but recent posts.
    let slot = match sorted.as_slice() {
        [post, ..] if live || sorted.len() == 1 => {
            let group = post.id.node().get() % COUNT_SLOT_GROUPS;
            group * COUNT_SLOTS_PER_GROUP + next_slot_in_group()
        }
        _ => 0,
    };
    for chunk in count_increments(sorted.iter().copied()).chunks(ROWS_PER_INSERT) {
        let mut upsert =
            QueryBuilder::<MySql>::new("INSERT INTO message_counts (year, tag, slot, count) ");
        upsert.push_values(chunk, |mut row, ((year, tag), count)| {
            row.push_bind(*year)
                .push_bind(*tag)
                .push_bind(slot)
                .push_bind(*count);
        });
        // VALUES() is deprecated in MySQL 8 but is the one spelling MariaDB and Vitess share.
        upsert.push(" ON DUPLICATE KEY UPDATE count = count + VALUES(count)");
        upsert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// The slot in its group for this process's next transaction that counts live posts: in turn
/// rather than at random, so that the few transactions in flight at once (a writer each) hold
/// different counter rows instead of often queueing on one until the other's commit.
fn next_slot_in_group() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed) % COUNT_SLOTS_PER_GROUP
}

/// InnoDB rolled the transaction back to break a deadlock, or Galera's certification failed it.
const DEADLOCK: u16 = 1213;
/// InnoDB gave up waiting for a row lock.
const LOCK_WAIT_TIMEOUT: u16 = 1205;

/// The server's error number, for errors the server sent.
fn mysql_error_number(error: &sqlx::Error) -> Option<u16> {
    error
        .as_database_error()
        .and_then(|db| db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
        .map(sqlx::mysql::MySqlDatabaseError::number)
}

/// Whether attempt number `attempt` of a transaction that failed with `error` should be followed
/// by another: after a deadlock or a certification failure up to `CONFLICT_ATTEMPTS` in all,
/// after a lock wait timeout up to `LOCK_WAIT_ATTEMPTS`.
pub(super) fn worth_another_attempt(error: &sqlx::Error, attempt: u32) -> bool {
    match mysql_error_number(error) {
        Some(DEADLOCK) => attempt < CONFLICT_ATTEMPTS,
        Some(LOCK_WAIT_TIMEOUT) => attempt < LOCK_WAIT_ATTEMPTS,
        _ => false,
    }
}

/// Whether running the transaction again is the remedy (a deadlock or a lock wait timeout).
pub(super) fn is_lock_conflict(error: &sqlx::Error) -> bool {
    matches!(
        mysql_error_number(error),
        Some(DEADLOCK | LOCK_WAIT_TIMEOUT)
    )
}

/// Up to 1, 2, 4 … 32 ms after attempt 1, 2, 3 …, at random, so that conflicting writers spread
/// out and the winner commits before the next attempt.
pub(super) async fn conflict_pause(attempt: u32) {
    let ceiling_us = (1u64 << attempt.min(5)) * 1000;
    let pause = rand::thread_rng().gen_range(0..=ceiling_us);
    tokio::time::sleep(Duration::from_micros(pause)).await;
}
