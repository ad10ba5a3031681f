//! `twooter recount`: counters that drifted from the messages they count are found, each with
//! its year, tag and difference, and repaired, also while posts go on; on both backends, and as
//! the command with its exit status.

use twooter::domain::{IdGenerator, MessageText, NewMessage, NodeId, Tag};
use twooter::recount::recount;
use twooter::store::Store;

use crate::support::process::run;
use crate::support::{seed_messages, Backend, TestDb};

/// Runs `sql` on the test's database directly, bypassing the store.
async fn corrupt(db: &TestDb, backend: Backend, sql: &'static str) {
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::MySql => {
            let pool = sqlx::MySqlPool::connect(&db.url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// Counts from the messages themselves, read page by page: what every counter should say.
async fn counted(store: &dyn Store) -> i64 {
    let mut total = 0;
    for year in store.count_years().await.unwrap() {
        total += store
            .audit_year(year)
            .await
            .unwrap()
            .counted
            .values()
            .sum::<i64>();
    }
    total
}

async fn drift_is_found_and_repaired_while_posts_go_on(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    seed_messages(db.store.as_ref(), 3000, 4, 6).await;
    let clean = recount(db.store.as_ref(), false, |_| {}, |_| {})
        .await
        .unwrap();
    assert!(clean.drifts.is_empty(), "{:?}", clean.drifts);
    assert_eq!(clean.messages, 3000);

    // Three kinds of drift: a counter too high, a counter gone, and twoots no counter knows of
    // (copies of the hiking twoots with node 502 in their ids, which the seed never uses).
    corrupt(
        &db,
        backend,
        "UPDATE message_counts SET count = count + 7 WHERE tag = 'coffee'",
    )
    .await;
    corrupt(&db, backend, "DELETE FROM message_counts WHERE tag = 'tea'").await;
    corrupt(
        &db,
        backend,
        "INSERT INTO messages (id, tag, text, created_at) \
         SELECT id + 500 * 2048, 'ghost', text, created_at FROM messages WHERE tag = 'hiking'",
    )
    .await;
    let found = recount(db.store.as_ref(), false, |_| {}, |_| {})
        .await
        .unwrap();
    assert!(!found.is_clean());
    let tags: std::collections::BTreeSet<&str> =
        found.drifts.iter().map(|d| d.tag.as_str()).collect();
    assert_eq!(
        tags,
        ["coffee", "ghost", "tea"].into(),
        "{:?}",
        found.drifts
    );
    for drift in &found.drifts {
        assert!(drift.counted > 0 || drift.tag == "coffee", "{drift:?}");
        match drift.tag.as_str() {
            // Raised by 7 in each of its counter rows (one on SQLite, a few slots on MySQL).
            "coffee" => assert_eq!((drift.counters - drift.counted) % 7, 0, "{drift:?}"),
            _ => assert_eq!(drift.counters, 0, "{drift:?}"),
        }
    }

    // Repair while posts go on: every counter ends equal to its messages, and no post is lost.
    let store = db.store.clone();
    let posting = tokio::spawn(async move {
        let ids = IdGenerator::new(NodeId::new(77).unwrap());
        for n in 0..200 {
            let id = ids.next_id().unwrap();
            let message = NewMessage {
                id,
                text: MessageText::parse(format!("during the repair {n}")).unwrap(),
                tag: Tag::parse(["coffee", "tea", "ghost"][n % 3]).unwrap(),
                timestamp: id.timestamp(),
            };
            store.insert(&message).await.unwrap();
        }
    });
    let repaired = recount(db.store.as_ref(), true, |_| {}, |_| {})
        .await
        .unwrap();
    posting.await.unwrap();
    assert!(repaired.is_clean());
    let after = recount(db.store.as_ref(), false, |_| {}, |_| {})
        .await
        .unwrap();
    assert!(after.drifts.is_empty(), "{:?}", after.drifts);
    let stats: i64 = db
        .store
        .stats(0, 3000)
        .await
        .unwrap()
        .iter()
        .map(|row| row.count)
        .sum();
    assert_eq!(stats, counted(db.store.as_ref()).await);
    assert_eq!(stats, 3000 + found_ghosts(&found) + 200);
}

fn found_ghosts(report: &twooter::recount::RecountReport) -> i64 {
    report
        .drifts
        .iter()
        .filter(|drift| drift.tag == "ghost")
        .map(|drift| drift.counted)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_found_and_repaired_while_posts_go_on_on_sqlite() {
    drift_is_found_and_repaired_while_posts_go_on(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_found_and_repaired_while_posts_go_on_on_mysql() {
    drift_is_found_and_repaired_while_posts_go_on(Backend::MySql).await;
}

#[tokio::test]
async fn the_command_exits_2_on_drift_and_0_once_repaired() {
    let db = TestDb::sqlite().await;
    seed_messages(db.store.as_ref(), 500, 2, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let clean = run(dir.path(), &db.url, &["recount"], 0);
    assert!(clean.contains("0 drifted"), "{clean}");
    corrupt(
        &db,
        Backend::Sqlite,
        "UPDATE message_counts SET count = count - 1 WHERE tag = 'coffee'",
    )
    .await;
    let found = run(dir.path(), &db.url, &["recount"], 2);
    assert!(
        found
            .lines()
            .any(|line| line.contains(" coffee: counters say ") && line.ends_with("(-1)")),
        "{found}"
    );
    let repaired = run(dir.path(), &db.url, &["recount", "--repair"], 0);
    assert!(repaired.contains("repaired to"), "{repaired}");
    run(dir.path(), &db.url, &["recount"], 0);
}
