//! The Store conformance suite: the same tests, unchanged, on every backend, each on a fresh
//! database.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use twooter::domain::{BackfillIds, MessageId, MessageText, NewMessage, NodeId, Tag};
use twooter::store::{PageQuery, Store, StoreError, YearTagCount};

use crate::support::{Backend, TestDb};

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

async fn round_trips_a_twoot(store: Arc<dyn Store>) {
    let mut ids = ids();
    let text = format!("{} ünïcödé", "😀".repeat(272));
    let message = new_message(&mut ids, &text, "Coffee", at(2023, 2, 345));
    store.insert(&message).await.unwrap();
    let read = store.get(message.id).await.unwrap().expect("stored");
    assert_eq!(read, message.to_message());
    assert_eq!(read.tag, "coffee");
    assert_eq!(read.text.chars().count(), 280);
    assert!(store.get(MessageId::from_i64(42)).await.unwrap().is_none());
    assert!(!store.is_empty().await.unwrap());
}

async fn starts_empty_and_migrates_twice(store: Arc<dyn Store>) {
    assert!(store.is_empty().await.unwrap());
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    assert!(store.stats(0, 3000).await.unwrap().is_empty());
    assert!(store
        .page(&page(None, None, None, 10))
        .await
        .unwrap()
        .is_empty());
}

async fn pages_newest_first_by_tag(store: Arc<dyn Store>) {
    let mut all = messages(60, |i| {
        let tag = ["coffee", "hiking", "jazz"][i as usize % 3];
        // Inserted out of time order: pages must follow ids, not insertion order.
        let day = 1 + (i * 7) % 28;
        (format!("twoot {i}"), tag, at(2020 + (i % 4) as i32, day, i))
    });
    for chunk in all.chunks(7) {
        store.insert_batch(chunk).await.unwrap();
    }
    all.sort_by_key(|m| std::cmp::Reverse(m.id));

    let newest = store.page(&page(None, None, None, 10)).await.unwrap();
    let expected: Vec<_> = all.iter().take(10).map(NewMessage::to_message).collect();
    assert_eq!(newest, expected);

    let hiking = store
        .page(&page(Some("HIKING"), None, None, 100))
        .await
        .unwrap();
    assert_eq!(hiking.len(), 20);
    assert!(hiking.iter().all(|m| m.tag == "hiking"));
    assert!(hiking.windows(2).all(|w| w[0].id > w[1].id));
    assert!(store
        .page(&page(Some("nothing"), None, None, 100))
        .await
        .unwrap()
        .is_empty());
}

async fn cursors_walk_every_twoot_once(store: Arc<dyn Store>) {
    let all = messages(45, |i| {
        (format!("twoot {i}"), "jazz", at(2021, 1 + i % 28, i))
    });
    store.insert_batch(&all).await.unwrap();
    let mut newest_first: Vec<_> = all.iter().map(|m| m.id).collect();
    newest_first.sort_by(|a, b| b.cmp(a));

    // Older and older with `before`.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let messages = store
            .page(&page(Some("jazz"), before, None, 10))
            .await
            .unwrap();
        let Some(last) = messages.last() else { break };
        before = Some(last.id);
        seen.extend(messages.iter().map(|m| m.id));
    }
    assert_eq!(seen, newest_first);

    // Newer and newer with `after`: each page holds the twoots just newer than the cursor.
    let oldest = *newest_first.last().unwrap();
    let page_after = store
        .page(&page(Some("jazz"), None, Some(oldest), 10))
        .await
        .unwrap();
    let expected: Vec<_> = newest_first[34..44].to_vec();
    assert_eq!(
        page_after.iter().map(|m| m.id).collect::<Vec<_>>(),
        expected
    );

    // Both bounds: strictly between them.
    let between = store
        .page(&page(
            None,
            Some(newest_first[5]),
            Some(newest_first[9]),
            100,
        ))
        .await
        .unwrap();
    assert_eq!(
        between.iter().map(|m| m.id).collect::<Vec<_>>(),
        newest_first[6..9].to_vec()
    );
}

/// Texts a page must hand back byte for byte, whatever encoding carries it from the database:
/// JSON's own escapes, control characters, NUL, separators JSON and JavaScript disagree on, and
/// characters outside the Basic Multilingual Plane.
const AWKWARD_TEXTS: &[&str] = &[
    "quote \" backslash \\ slash / and \\u0041 written out",
    "nul \0 inside, bell \u{7}, escape \u{1b}, delete \u{7f}",
    "lines\nand\r\ntabs\there",
    "separators \u{2028} \u{2029} and a BOM \u{feff}",
    "🦀 crab, 𝄞 clef, e\u{301} combining",
    "[1, 2] {\"not\": \"json\"} ]]",
];

async fn pages_carry_any_text_exactly(store: Arc<dyn Store>) {
    let all = messages(AWKWARD_TEXTS.len() as u32, |i| {
        (AWKWARD_TEXTS[i as usize], "odd", at(2024, 3, i))
    });
    store.insert_batch(&all).await.unwrap();
    let mut expected: Vec<_> = all.iter().map(NewMessage::to_message).collect();
    expected.sort_by_key(|message| std::cmp::Reverse(message.id));

    let by_tag = store
        .page(&page(Some("odd"), None, None, 50))
        .await
        .unwrap();
    assert_eq!(by_tag, expected);
    let everything = store.page(&page(None, None, None, 50)).await.unwrap();
    assert_eq!(everything, expected);
    let oldest = expected.last().unwrap().id;
    let newer = store
        .page(&page(Some("odd"), None, Some(oldest), 50))
        .await
        .unwrap();
    assert_eq!(newer, expected[..expected.len() - 1]);
    for message in &expected {
        assert_eq!(store.get(message.id).await.unwrap().as_ref(), Some(message));
    }
}

async fn reads_cut_short_leave_the_store_answering(store: Arc<dyn Store>) {
    let all = messages(40, |i| {
        (format!("twoot {i}"), "jazz", at(2022, 1 + i % 28, i))
    });
    store.insert_batch(&all).await.unwrap();
    let mut expected: Vec<_> = all.iter().map(NewMessage::to_message).collect();
    expected.sort_by_key(|message| std::cmp::Reverse(message.id));

    // Reads dropped at every stage a client hanging up can drop them: before their statement is
    // sent, while it runs, while its answer crosses back.
    let cut: Vec<_> = (0..400u64)
        .map(|i| {
            let store = store.clone();
            let first = all[i as usize % all.len()].id;
            tokio::spawn(async move {
                let wait = std::time::Duration::from_micros(i % 8 * 25);
                let read = async {
                    if i % 2 == 0 {
                        store
                            .page(&page(Some("jazz"), None, None, 20))
                            .await
                            .map(|_| ())
                    } else {
                        store.get(first).await.map(|_| ())
                    }
                };
                let _ = tokio::time::timeout(wait, read).await;
            })
        })
        .collect();
    for task in cut {
        task.await.unwrap();
    }

    // Every connection is back and answers its own statement, not what a dropped read left.
    let reads: Vec<_> = (0..60usize)
        .map(|i| {
            let store = store.clone();
            let expected = expected.clone();
            tokio::spawn(async move {
                let before = expected[i % 20].id;
                let page = store
                    .page(&page(Some("jazz"), Some(before), None, 10))
                    .await
                    .unwrap();
                let from = i % 20 + 1;
                assert_eq!(page, expected[from..(from + 10).min(expected.len())]);
                let one = store.get(expected[i % 40].id).await.unwrap();
                assert_eq!(one.as_ref(), Some(&expected[i % 40]));
            })
        })
        .collect();
    for task in reads {
        task.await.unwrap();
    }
    let stats = store.pool_stats();
    assert!(stats.size <= stats.max, "{stats:?}");
}

async fn a_taken_id_is_reported_and_counts_nothing(store: Arc<dyn Store>) {
    let mut ids = ids();
    let first = new_message(&mut ids, "first", "coffee", at(2022, 1, 0));
    store.insert(&first).await.unwrap();
    let mut clash = new_message(&mut ids, "second", "hiking", at(2022, 1, 0));
    clash.id = first.id;
    assert!(matches!(
        store.insert(&clash).await,
        Err(StoreError::DuplicateId(_))
    ));

    // A batch holding one taken id stores nothing at all.
    let mut batch: Vec<_> = (0..5)
        .map(|i| new_message(&mut ids, "batch", "jazz", at(2022, 2, i)))
        .collect();
    batch[3].id = first.id;
    assert!(matches!(
        store.insert_batch(&batch).await,
        Err(StoreError::DuplicateId(_))
    ));
    assert!(store.get(batch[0].id).await.unwrap().is_none());
    assert_eq!(
        store.stats(0, 3000).await.unwrap(),
        vec![YearTagCount {
            year: 2022,
            tag: "coffee".into(),
            count: 1
        }]
    );
}

async fn stats_count_per_year_and_tag_within_the_range(store: Arc<dyn Store>) {
    let mut ids = ids();
    let mut batch = Vec::new();
    for (year, tag, n) in [
        (2019, "coffee", 3),
        (2019, "hiking", 1),
        (2020, "coffee", 2),
        (2024, "jazz", 4),
    ] {
        for i in 0..n {
            batch.push(new_message(&mut ids, "x", tag, at(year, 3, i)));
        }
    }
    store.insert_batch(&batch).await.unwrap();
    // Boundaries: the first and last second of a year belong to it (UTC).
    for (text, when) in [
        ("y", Utc.with_ymd_and_hms(2020, 12, 31, 23, 59, 59)),
        ("z", Utc.with_ymd_and_hms(2021, 1, 1, 0, 0, 0)),
    ] {
        let message = new_message(&mut ids, text, "coffee", when.unwrap());
        store.insert(&message).await.unwrap();
    }
    let count = |year, tag: &str, count| YearTagCount {
        year,
        tag: tag.into(),
        count,
    };
    assert_eq!(
        store.stats(0, 3000).await.unwrap(),
        vec![
            count(2019, "coffee", 3),
            count(2019, "hiking", 1),
            count(2020, "coffee", 3),
            count(2021, "coffee", 1),
            count(2024, "jazz", 4),
        ]
    );
    assert_eq!(
        store.stats(2020, 2021).await.unwrap(),
        vec![count(2020, "coffee", 3), count(2021, "coffee", 1)]
    );
    assert!(store.stats(2025, 3000).await.unwrap().is_empty());
    assert_eq!(
        store.stats(0, 3000).await.unwrap(),
        recount(store.as_ref()).await
    );
}

async fn tag_stats_count_one_tag_per_year(store: Arc<dyn Store>) {
    let all = messages(9, |i| {
        let tag = if i % 3 == 0 { "tea" } else { "coffee" };
        ("cup", tag, at(2019 + (i % 3) as i32, 1 + i, 0))
    });
    store.insert_batch(&all).await.unwrap();
    let coffee = Tag::parse("coffee").unwrap();
    assert_eq!(
        store.tag_stats(&coffee, 0, 3000).await.unwrap(),
        vec![(2020, 3), (2021, 3)]
    );
    assert_eq!(
        store.tag_stats(&coffee, 2021, 2021).await.unwrap(),
        vec![(2021, 3)]
    );
    let tea = Tag::parse("tea").unwrap();
    assert_eq!(
        store.tag_stats(&tea, 0, 3000).await.unwrap(),
        vec![(2019, 3)]
    );
    let none = Tag::parse("jazz").unwrap();
    assert!(store.tag_stats(&none, 0, 3000).await.unwrap().is_empty());
}

async fn an_audit_sees_counters_and_messages_alike_when_nothing_drifted(store: Arc<dyn Store>) {
    let all = messages(30, |i| {
        let tag = ["a", "b", "c"][(i % 3) as usize];
        ("audited", tag, at(2015 + (i % 2) as i32, 1 + i % 28, i))
    });
    store.insert_batch(&all[..20]).await.unwrap();
    for message in &all[20..] {
        store.insert(message).await.unwrap();
    }
    assert_eq!(store.count_years().await.unwrap(), vec![2015, 2016]);
    let mut total = 0;
    for year in [2015, 2016] {
        let audit = store.audit_year(year).await.unwrap();
        assert_eq!(audit.counters, audit.counted, "{year}");
        total += audit.counted.values().sum::<i64>();
    }
    assert_eq!(total, 30);
    assert_eq!(store.audit_year(2014).await.unwrap(), Default::default());
    // A repair of a right counter leaves it as it was.
    let before = store.stats(0, 3000).await.unwrap();
    assert_eq!(
        store.repair_count(2015, "a").await.unwrap().0,
        store.repair_count(2015, "a").await.unwrap().1
    );
    assert_eq!(store.stats(0, 3000).await.unwrap(), before);
}

async fn counts_match_a_recount_after_concurrent_writes(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..16u32)
        .map(|worker| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut ids =
                    BackfillIds::starting_at(NodeId::new(100 + worker as u16).unwrap(), 0);
                for i in 0..25u32 {
                    let tag = ["coffee", "hiking", "jazz", "rust"][(i % 4) as usize];
                    let message = new_message(
                        &mut ids,
                        "busy",
                        tag,
                        at(2018 + (i % 5) as i32, 1 + worker, i),
                    );
                    if i % 5 == 0 {
                        store
                            .insert_batch(std::slice::from_ref(&message))
                            .await
                            .unwrap();
                    } else {
                        store.insert(&message).await.unwrap();
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let stats = store.stats(0, 3000).await.unwrap();
    assert_eq!(stats.iter().map(|c| c.count).sum::<i64>(), 400);
    assert_eq!(stats, recount(store.as_ref()).await);
}

async fn counts_match_a_recount_after_a_bulk_load(store: Arc<dyn Store>) {
    let all = messages(3000, |i| {
        let tag = ["a", "b", "c", "d", "e"][(i % 5) as usize];
        ("bulk", tag, at(2001 + (i % 25) as i32, 1 + i % 28, i))
    });
    for chunk in all.chunks(1200) {
        store.insert_batch(chunk).await.unwrap();
    }
    let stats = store.stats(0, 3000).await.unwrap();
    assert_eq!(stats.iter().map(|c| c.count).sum::<i64>(), 3000);
    assert_eq!(stats, recount(store.as_ref()).await);
    let unique: HashSet<_> = all.iter().map(|m| m.id).collect();
    assert_eq!(unique.len(), 3000);
}

async fn reports_pool_usage(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    let stats = store.pool_stats();
    assert!(stats.size >= 1 && stats.size <= stats.max, "{stats:?}");
    store.close().await;
    assert!(store.ping().await.is_err());
}

/// Runs each named test on every backend, each with its own fresh database.
async fn keeps_api_keys_by_id_and_revokes_them(store: Arc<dyn Store>) {
    use twooter::domain::{PresentedKey, Role};
    use twooter::store::ApiKeyRow;
    assert!(store.api_keys().await.unwrap().is_empty());
    let mut made = Vec::new();
    for (name, role) in [("ops", Role::Admin), ("bot «1»", Role::Poster)] {
        let key = PresentedKey::generate();
        let row = ApiKeyRow {
            id: key.id.clone(),
            name: name.to_owned(),
            role,
            secret: key.hash(),
            created_at: 1_700_000_000_000 + made.len() as i64,
            revoked_at: None,
        };
        store.create_api_key(&row).await.unwrap();
        made.push((key, row));
    }
    let (admin, admin_row) = &made[0];
    let read = store.api_key(&admin.id).await.unwrap().expect("stored");
    assert_eq!(&read, admin_row);
    assert!(read.secret.matches(&admin.hash()));
    assert!(store.api_key("0000000000000000").await.unwrap().is_none());
    let listed = store.api_keys().await.unwrap();
    assert_eq!(
        listed,
        made.iter().map(|(_, row)| row.clone()).collect::<Vec<_>>()
    );

    assert!(store
        .revoke_api_key(&admin.id, 1_800_000_000_000)
        .await
        .unwrap());
    assert!(!store
        .revoke_api_key(&admin.id, 1_900_000_000_000)
        .await
        .unwrap());
    assert!(!store.revoke_api_key("0000000000000000", 1).await.unwrap());
    let revoked = store.api_key(&admin.id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(1_800_000_000_000));
    let poster = store.api_key(&made[1].0.id).await.unwrap().unwrap();
    assert_eq!(poster.revoked_at, None);
    assert_eq!(poster.name, "bot «1»");
}

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
