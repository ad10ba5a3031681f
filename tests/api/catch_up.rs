//! Catching up with `rel="prev"` never misses a twoot, even one that commits after newer ones:
//! pages read up from `after` hold settled twoots only, and a post that cannot commit within its
//! deadline is rolled back and answered 503.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use twooter::domain::{MessageId, MessageText, NewMessage, NodeId, Tag};
use twooter::store::{Post, Store, StoreError};

use crate::support::{app_settling_within, get, post_message, Backend, TestDb};

const DEADLINE: Duration = Duration::from_millis(1500);

/// The `prev` link of a reply, if it has one.
fn prev_link(link: Option<&str>) -> Option<String> {
    link?.split(", ").find_map(|part| {
        let (url, rel) = part.split_once("; rel=")?;
        (rel == "\"prev\"").then(|| url.trim_matches(['<', '>']).to_owned())
    })
}

/// A client that reads the newest page, then follows `prev` links (or polls its last one),
/// keeping every id it is shown.
async fn follow(app: axum::Router, until: Instant) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut uri = "/messages?limit=5".to_owned();
    while Instant::now() < until {
        let reply = get(&app, &uri).await;
        for message in reply.json().as_array().unwrap() {
            seen.insert(message["id"].as_str().unwrap().to_owned());
        }
        if let Some(prev) = prev_link(reply.header("link")) {
            uri = prev;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    seen
}

fn twoot(id: MessageId, text: &str) -> NewMessage {
    NewMessage {
        id,
        text: MessageText::parse(text).unwrap(),
        tag: Tag::parse("late").unwrap(),
        timestamp: id.timestamp(),
    }
}

/// One twoot's id is made, then its commit waits while later posts commit; a client following
/// `prev` links all along still sees it.
async fn a_late_commit_is_not_missed(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = app_settling_within(db.store.clone(), DEADLINE);
    post_message(&app, "before the client starts", "early").await;
    let client = tokio::spawn(follow(app.clone(), Instant::now() + DEADLINE * 3));

    // Made now on a node of its own, committed after the posts below.
    let late = twoot(
        MessageId::from_parts(Utc::now().timestamp_millis(), NodeId::new(900).unwrap(), 0).unwrap(),
        "committed late",
    );
    let mut posted = vec![late.id.to_string()];
    for i in 0..15 {
        let message = post_message(&app, &format!("on time {i}"), "fast").await;
        posted.push(message["id"].as_str().unwrap().to_owned());
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let commit_by = late.timestamp + chrono::Duration::from_std(DEADLINE).unwrap();
    db.store
        .insert_posts(&[live(late.clone(), commit_by)])
        .await
        .unwrap();

    let seen = client.await.unwrap();
    let missed: Vec<_> = posted.iter().filter(|id| !seen.contains(*id)).collect();
    assert!(
        missed.is_empty(),
        "missed {missed:?} (late one: {})",
        late.id
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_commit_is_not_missed_on_sqlite() {
    a_late_commit_is_not_missed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_commit_is_not_missed_on_mysql() {
    a_late_commit_is_not_missed(Backend::MySql).await;
}

/// `message` posted live, without an Idempotency-Key.
fn live(message: NewMessage, commit_by: chrono::DateTime<Utc>) -> Post {
    Post {
        message,
        commit_by,
        idempotent: None,
    }
}

/// A post past its commit deadline is rolled back: nothing stored, nothing counted.
#[tokio::test]
async fn a_post_past_its_deadline_is_rolled_back() {
    for backend in [Backend::Sqlite, Backend::MySql] {
        let Some(db) = TestDb::new(backend).await else {
            continue;
        };
        let store: Arc<dyn Store> = db.store.clone();
        let id = MessageId::from_parts(
            Utc::now().timestamp_millis() - 10_000,
            NodeId::new(3).unwrap(),
            0,
        )
        .unwrap();
        let message = twoot(id, "too late");
        let commit_by = message.timestamp + chrono::Duration::seconds(5);
        let result = store.insert_posts(&[live(message, commit_by)]).await;
        assert!(
            matches!(result, Err(StoreError::PastCommitDeadline)),
            "{result:?}"
        );
        assert!(store.get(id).await.unwrap().is_none());
        assert!(store.stats(0, 3000).await.unwrap().is_empty());
    }
}

/// Held past the deadline by another writer's lock, a real post answers 503 and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_held_past_its_deadline_answers_503() {
    let db = TestDb::sqlite().await;
    let app = app_settling_within(db.store.clone(), Duration::from_millis(300));
    // Another connection holds SQLite's write lock for longer than the deadline.
    let mut blocker = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut blocker)
            .await
            .unwrap();
    });
    let reply =
        crate::support::post_json(&app, "/messages", r#"{"text": "held up", "tag": "held"}"#).await;
    release.await.unwrap();
    let problem = reply.problem(503);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert!(problem["detail"].is_string());
    assert!(db.store.stats(0, 3000).await.unwrap().is_empty());
}
