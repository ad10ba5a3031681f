//! Storing twoots and reading them back: by id, by page, by cursor; a taken id; the pool.

use super::*;

pub(super) async fn round_trips_a_twoot(store: Arc<dyn Store>) {
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

pub(super) async fn starts_empty_and_migrates_twice(store: Arc<dyn Store>) {
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

pub(super) async fn pages_newest_first_by_tag(store: Arc<dyn Store>) {
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

pub(super) async fn cursors_walk_every_twoot_once(store: Arc<dyn Store>) {
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

pub(super) async fn a_taken_id_is_reported_and_counts_nothing(store: Arc<dyn Store>) {
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

pub(super) async fn reports_pool_usage(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    let stats = store.pool_stats();
    assert!(stats.size >= 1 && stats.size <= stats.max, "{stats:?}");
    store.close().await;
    assert!(store.ping().await.is_err());
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

pub(super) async fn pages_carry_any_text_exactly(store: Arc<dyn Store>) {
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

pub(super) async fn reads_cut_short_leave_the_store_answering(store: Arc<dyn Store>) {
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

    // And none is left inside a read that was cut short, on a snapshot from before: a twoot
    // stored now is on every connection's next page.
    let mut ids = ids();
    let newest = new_message(
        &mut ids,
        "stored after the cut reads",
        "jazz",
        at(2023, 1, 0),
    );
    store.insert(&newest).await.unwrap();
    let reads: Vec<_> = (0..60)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .page(&page(Some("jazz"), None, None, 1))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for read in reads {
        assert_eq!(read.await.unwrap()[0].id, newest.id);
    }
}
