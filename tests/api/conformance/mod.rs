//! The Store conformance suite: the same tests, unchanged, on every backend, each on a fresh
//! database.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use twooter::domain::{BackfillIds, MessageId, MessageText, NewMessage, NodeId, Tag};
use twooter::store::{PageQuery, Store, StoreError, YearTagCount};

use crate::support::{Backend, TestDb};

mod counts;
mod keys;
mod timeline;

use counts::*;
use keys::*;
use timeline::*;

/// Noon UTC on January `day` of `year`, plus `ms` milliseconds.
pub fn at(year: i32, day: u32, ms: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, 1, day, 12, 0, 0).unwrap()
        + chrono::Duration::milliseconds(ms.into())
}

/// A message to store, with the id a backfill gives it for `when`.
pub fn new_message(
    ids: &mut BackfillIds,
    text: &str,
    tag: &str,
    when: DateTime<Utc>,
) -> NewMessage {
    NewMessage {
        id: ids.id_at(when).unwrap(),
        text: MessageText::parse(text).unwrap(),
        tag: Tag::parse(tag).unwrap(),
        timestamp: when,
    }
}

fn ids() -> BackfillIds {
    BackfillIds::starting_at(NodeId::new(3).unwrap(), 0)
}

/// `count` messages with ids from [`ids`], the `i`th with the (text, tag, time) `make(i)` gives.
fn messages<T: AsRef<str>>(
    count: u32,
    make: impl Fn(u32) -> (T, &'static str, DateTime<Utc>),
) -> Vec<NewMessage> {
    let mut ids = ids();
    (0..count)
        .map(|i| {
            let (text, tag, when) = make(i);
            new_message(&mut ids, text.as_ref(), tag, when)
        })
        .collect()
}

fn page(
    tag: Option<&str>,
    before: Option<MessageId>,
    after: Option<MessageId>,
    limit: u32,
) -> PageQuery {
    PageQuery {
        tag: tag.map(|t| Tag::parse(t).unwrap()),
        before,
        after,
        limit,
    }
}

/// Counts per (year, tag) recounted from the messages themselves, by reading every page.
pub async fn recount(store: &dyn Store) -> Vec<YearTagCount> {
    let mut counts: BTreeMap<(i32, String), i64> = BTreeMap::new();
    let mut before = None;
    loop {
        let messages = store.page(&page(None, before, None, 1000)).await.unwrap();
        let Some(last) = messages.last() else { break };
        before = Some(last.id);
        for message in &messages {
            *counts
                .entry((message.timestamp.year(), message.tag.clone()))
                .or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|((year, tag), count)| YearTagCount { year, tag, count })
        .collect()
}

/// Runs each named test on every backend, each with its own fresh database.
macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let db = TestDb::new(Backend::Sqlite).await.unwrap();
                    super::$test(db.store.clone()).await;
                }
            )*
            use super::*;
        }
        mod sqlite_in_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let db = TestDb::sqlite_in_memory().await;
                    super::$test(db.store.clone()).await;
                }
            )*
            use super::*;
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(db) = TestDb::new(Backend::MySql).await else { return };
                    super::$test(db.store.clone()).await;
                }
            )*
            use super::*;
        }
    };
}

conformance!(
    round_trips_a_twoot,
    starts_empty_and_migrates_twice,
    pages_newest_first_by_tag,
    cursors_walk_every_twoot_once,
    pages_carry_any_text_exactly,
    reads_cut_short_leave_the_store_answering,
    a_taken_id_is_reported_and_counts_nothing,
    stats_count_per_year_and_tag_within_the_range,
    tag_stats_count_one_tag_per_year,
    an_audit_sees_counters_and_messages_alike_when_nothing_drifted,
    counts_match_a_recount_after_concurrent_writes,
    counts_match_a_recount_after_a_bulk_load,
    reports_pool_usage,
    keeps_api_keys_by_id_and_revokes_them,
);
