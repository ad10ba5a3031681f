//! Group commit through the router: many concurrent posts, a full queue, idempotent posts.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};

use super::{batches_written, config, count_rows, one_writer, WriteHold};
use crate::support::{app_with, post_json, send, Backend, Reply, TestDb};

/// 500 posts from 64 concurrent clients: every one acknowledged, stored once, and counted; and
/// they were written in fewer transactions than posts.
async fn many_concurrent_posts_are_each_stored_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = app_with(&config(128, 1024), db.store.clone());
    let tasks: Vec<_> = (0..64)
        .map(|client| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in (client..500).step_by(64) {
                    let body = json!({"text": format!("post {i}"), "tag": format!("t{}", i % 5)});
                    let reply = post_json(&app, "/messages", body.to_string()).await;
                    assert_eq!(
                        reply.status,
                        201,
                        "{}",
                        String::from_utf8_lossy(&reply.body)
                    );
                    ids.push((reply.json()["id"].as_str().unwrap().to_owned(), i));
                }
                ids
            })
        })
        .collect();
    let mut acknowledged = HashSet::new();
    for task in tasks {
        for (id, i) in task.await.unwrap() {
            let id: twooter::domain::MessageId = id.parse().unwrap();
            let stored = db
                .store
                .get(id)
                .await
                .unwrap()
                .expect("an acknowledged post");
            assert_eq!(stored.text, format!("post {i}"));
            assert!(acknowledged.insert(id), "an id acknowledged twice");
        }
    }
    assert_eq!(acknowledged.len(), 500);
    assert_eq!(count_rows(&db).await, 500);
    assert_eq!(crate::support::counted(db.store.as_ref()).await, 500);
    assert_eq!(
        crate::conformance::recount(db.store.as_ref()).await,
        db.store.stats(0, 3000).await.unwrap()
    );
    let (batches, posts) = batches_written();
    assert_eq!(posts, 500, "every post went through a batch once");
    assert!(batches < 500, "{batches} batches for 500 concurrent posts");
}

/// With the writers held up, posts past the queue's room are answered 503 problems at once, and
/// the queued ones are written once the writers can write.
async fn a_full_queue_answers_503_at_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = app_with(&config(4, 4), db.store.clone());
    let hold = WriteHold::take(&db).await;
    let started = Instant::now();
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let body = json!({"text": format!("queued {i}"), "tag": "queue"});
                let reply = post_json(&app, "/messages", body.to_string()).await;
                (reply, started.elapsed())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let released_at = started.elapsed();
    hold.release().await;
    let mut refused = 0;
    let mut stored = 0;
    for task in tasks {
        let (reply, answered_at) = tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("every post is answered")
            .unwrap();
        match reply.status.as_u16() {
            201 => {
                let id = reply.json()["id"].as_str().unwrap().parse().unwrap();
                assert!(db.store.get(id).await.unwrap().is_some());
                stored += 1;
            }
            503 => {
                let problem = reply.problem(503);
                assert_eq!(problem["type"], "about:blank");
                assert_eq!(reply.header("retry-after"), Some("1"));
                assert!(
                    answered_at < released_at,
                    "refused only after {answered_at:?}"
                );
                refused += 1;
            }
            other => panic!("{other}: {}", String::from_utf8_lossy(&reply.body)),
        }
    }
    // At most 4 writers each hold a batch of 4, and 4 more wait in the queue.
    assert!(refused >= 30 - 4 * 4 - 4, "{refused} refused");
    assert!(stored >= 1);
    assert_eq!(count_rows(&db).await, stored);
}

async fn post_keyed(app: &axum::Router, key: &str, body: &Value) -> Reply {
    let request = Request::post("/messages")
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    send(app, request).await
}

/// Idempotent posts written in one batch: a retry is replayed, a key reused for another body is
/// refused, a new key stores its twoot, and plain posts beside them are stored.
async fn idempotent_posts_in_a_batch_keep_their_answers(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    // One connection: one writer, so the posts queued behind the held one make one batch.
    let app = app_with(&config(64, 256), one_writer(&db).await);
    let first = json!({"text": "once", "tag": "keyed"});
    let original = post_keyed(&app, "batch-key-1", &first).await;
    assert_eq!(original.status, 201);
    let other = json!({"text": "other", "tag": "keyed"});
    assert_eq!(post_keyed(&app, "batch-key-3", &other).await.status, 201);

    let hold = WriteHold::take(&db).await;
    let spawn_keyed = |key: &'static str, body: Value| {
        let app = app.clone();
        tokio::spawn(async move { post_keyed(&app, key, &body).await })
    };
    let blocker = spawn_keyed("batch-key-0", json!({"text": "blocker", "tag": "keyed"}));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let retry = spawn_keyed("batch-key-1", first.clone());
    let reused = spawn_keyed("batch-key-3", json!({"text": "not other", "tag": "keyed"}));
    let fresh = spawn_keyed("batch-key-2", json!({"text": "new", "tag": "keyed"}));
    let plain = {
        let app = app.clone();
        tokio::spawn(async move {
            post_json(
                &app,
                "/messages",
                json!({"text": "plain", "tag": "keyed"}).to_string(),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    hold.release().await;

    assert_eq!(blocker.await.unwrap().status, 201);
    let retry = retry.await.unwrap();
    assert_eq!(retry.status, 201);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.json()["id"], original.json()["id"]);
    reused.await.unwrap().problem(422);
    let fresh = fresh.await.unwrap();
    assert_eq!(fresh.status, 201);
    assert!(fresh.header("idempotent-replayed").is_none());
    assert_eq!(plain.await.unwrap().status, 201);
    // The new key's answer was stored with its twoot: a retry replays it.
    let again = post_keyed(&app, "batch-key-2", &json!({"text": "new", "tag": "keyed"})).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["id"], fresh.json()["id"]);
    // original, other, blocker, new, plain.
    assert_eq!(count_rows(&db).await, 5);
    let (batches, posts) = batches_written();
    assert!(batches < posts, "{batches} batches, {posts} posts");
}

on_every_backend!(
    many_concurrent_posts_are_each_stored_once,
    a_full_queue_answers_503_at_once,
    idempotent_posts_in_a_batch_keep_their_answers,
);
