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
