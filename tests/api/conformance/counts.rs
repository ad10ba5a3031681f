//! The counters the statistics read: per year and tag, per tag, audited, and equal to a recount
//! after concurrent writes and bulk loads.

use super::*;

pub(super) async fn stats_count_per_year_and_tag_within_the_range(store: Arc<dyn Store>) {
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

pub(super) async fn tag_stats_count_one_tag_per_year(store: Arc<dyn Store>) {
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

pub(super) async fn an_audit_sees_counters_and_messages_alike_when_nothing_drifted(
    store: Arc<dyn Store>,
) {
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

pub(super) async fn counts_match_a_recount_after_concurrent_writes(store: Arc<dyn Store>) {
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

pub(super) async fn counts_match_a_recount_after_a_bulk_load(store: Arc<dyn Store>) {
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
