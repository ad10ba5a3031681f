//! Exactly-once posting with `Idempotency-Key`: replays, a reused key, concurrent requests with
//! one key, and a client whose answer was lost after the commit, on every backend.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use twooter::domain::{BackfillIds, NewMessage, NodeId};
use twooter::store::{
    IdempotentInsert, IdempotentPost, IdempotentResponse, Post, Store, StoreError,
};

use crate::conformance::{at, new_message};
use crate::support::process::{twooter, Server};
use crate::support::proxy::Proxy;
use crate::support::{app, send, Backend, Reply, TestDb};

async fn post_keyed(app: &axum::Router, key: &str, body: &Value) -> Reply {
    let request = Request::post("/messages")
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    send(app, request).await
}

/// How many stored twoots have this text.
async fn twoots_with_text(store: &dyn Store, tag: &str, text: &str) -> usize {
    let query = twooter::store::PageQuery {
        tag: Some(twooter::domain::Tag::parse(tag).unwrap()),
        before: None,
        after: None,
        limit: 1000,
    };
    let page = store.page(&query).await.unwrap();
    page.iter().filter(|m| m.text == text).count()
}

async fn a_retry_gets_the_first_answer(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = app(db.store.clone());
    let body = json!({"text": "once", "tag": "idem"});
    let first = post_keyed(&app, "the-key-1", &body).await;
    assert_eq!(first.status, 201);
    assert_eq!(first.header("idempotent-replayed"), None);
    // The same body, spaced and ordered otherwise, is the same request.
    let again = post_keyed(
        &app,
        "\"the-key-1\"",
        &json!({"tag": "idem", "text": "once"}),
    )
    .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), first.json());
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(twoots_with_text(db.store.as_ref(), "idem", "once").await, 1);

    let other = post_keyed(&app, "the-key-1", &json!({"text": "twice", "tag": "idem"})).await;
    other.problem(422);
    assert_eq!(
        twoots_with_text(db.store.as_ref(), "idem", "twice").await,
        0
    );

    // Another key is another twoot; so is no key.
    assert_eq!(post_keyed(&app, "the-key-2", &body).await.status, 201);
    assert_eq!(twoots_with_text(db.store.as_ref(), "idem", "once").await, 2);

    for bad in ["", "short", &"k".repeat(256)] {
        let reply = post_keyed(&app, bad, &body).await;
        let problem = reply.invalid(400, &["Idempotency-Key"]);
        assert_eq!(problem["errors"][0]["in"], "header");
    }
    // An invalid body is refused before the key is used: the key stays free.
    post_keyed(&app, "the-key-3", &json!({"text": "", "tag": "idem"}))
        .await
        .invalid(422, &["text"]);
    assert_eq!(post_keyed(&app, "the-key-3", &body).await.status, 201);
}

async fn fifty_concurrent_requests_with_one_key_make_one_twoot(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = app(db.store.clone());
    let body = json!({"text": "fifty", "tag": "race"});
    let replies = futures_join(
        (0..50)
            .map(|_| {
                let (app, body) = (app.clone(), body.clone());
                tokio::spawn(async move { post_keyed(&app, "race-key", &body).await })
            })
            .collect(),
    )
    .await;
    let fresh: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == 201 && r.header("idempotent-replayed").is_none())
        .collect();
    assert_eq!(fresh.len(), 1, "exactly one request posted");
    let id = fresh[0].json()["id"].clone();
    for reply in &replies {
        match reply.status.as_u16() {
            201 => assert_eq!(reply.json()["id"], id),
            409 => {
                reply.problem(409);
            }
            other => panic!(
                "unexpected {other}: {}",
                String::from_utf8_lossy(&reply.body)
            ),
        }
    }
    assert_eq!(
        twoots_with_text(db.store.as_ref(), "race", "fifty").await,
        1
    );
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<Reply>>) -> Vec<Reply> {
    let mut replies = Vec::new();
    for handle in handles {
        replies.push(handle.await.unwrap());
    }
    replies
}

/// The first answer is lost on the way back (the connection dies after the commit): the client's
/// retry, with the same key, gets the first twoot, and there is one.
async fn a_client_that_lost_its_answer_retries_safely(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut command = twooter(dir.path());
    command.env("DATABASE_URL", &db.url);
    let server = Server::start(command);
    let proxy = Proxy::start(server.address).await;

    let body = json!({"text": "lost answer", "tag": "retry"}).to_string();
    let request = format!(
        "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Idempotency-Key: lost-key-1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut client = tokio::net::TcpStream::connect(proxy.address).await.unwrap();
    client.write_all(request.as_bytes()).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while twoots_with_text(db.store.as_ref(), "retry", "lost answer").await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first post never landed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    proxy.cut();
    drop(client);

    // The twoot is visible a moment before its request ends; until then a retry is told 409
    // (still being answered, retry in a moment), as the contract says, and retries.
    let retry = loop {
        let retry = reqwest::Client::new()
            .post(server.url("/messages"))
            .header("idempotency-key", "lost-key-1")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        if retry.status() != 409 {
            break retry;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the first request never ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(
        twoots_with_text(db.store.as_ref(), "retry", "lost answer").await,
        1
    );
}

/// The store keeps one answer per (client, key), replaces an expired one, and purges old ones.
async fn the_store_keeps_one_answer_per_key(store: Arc<dyn Store>) {
    let mut ids = BackfillIds::new(NodeId::new(4).unwrap());
    let answer = |client: &str, created_at: i64| IdempotentResponse {
        client: client.to_owned(),
        key: "k".to_owned(),
        request_sha256: [7; 32],
        status: 201,
        body: "{}".to_owned(),
        created_at,
    };
    // Past twoots: no commit deadline applies here.
    let post = |message: &NewMessage, response: IdempotentResponse, live_after_ms: i64| Post {
        message: message.clone(),
        commit_by: chrono::DateTime::<chrono::Utc>::MAX_UTC,
        idempotent: Some(IdempotentPost {
            response,
            live_after_ms,
        }),
    };
    let insert = |post: Post| {
        let store = store.clone();
        async move {
            let outcomes = store.insert_posts(&[post]).await?;
            Ok::<_, StoreError>(outcomes.into_iter().next().unwrap())
        }
    };
    let first = new_message(&mut ids, "a", "keys", at(2024, 1, 0));
    let stored = insert(post(&first, answer("", 1_000), 0)).await;
    assert_eq!(stored.unwrap(), IdempotentInsert::Stored);
    let second = new_message(&mut ids, "b", "keys", at(2024, 1, 1));
    let again = insert(post(&second, answer("", 2_000), 0)).await;
    assert_eq!(
        again.unwrap(),
        IdempotentInsert::Existing(answer("", 1_000))
    );
    assert!(store.get(second.id).await.unwrap().is_none());
    // Another client's key of the same name is its own.
    let theirs = insert(post(&second, answer("c1", 2_000), 0)).await;
    assert_eq!(theirs.unwrap(), IdempotentInsert::Stored);
    // Past its lifetime, the key is free again.
    let third = new_message(&mut ids, "c", "keys", at(2024, 1, 2));
    let renewed = insert(post(&third, answer("", 3_000), 1_500)).await;
    assert_eq!(renewed.unwrap(), IdempotentInsert::Stored);
    assert_eq!(store.stats(2024, 2024).await.unwrap()[0].count, 3);
    assert_eq!(store.purge_idempotency(2_500, 1000).await.unwrap(), 1);
    assert_eq!(store.purge_idempotency(2_500, 1000).await.unwrap(), 0);
    assert_eq!(store.purge_idempotency(10_000, 1000).await.unwrap(), 1);
}

macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Backend::Sqlite).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Backend::MySql).await;
                }
            )*
        }
    };
}

on_every_backend!(
    a_retry_gets_the_first_answer,
    fifty_concurrent_requests_with_one_key_make_one_twoot,
    a_client_that_lost_its_answer_retries_safely,
    the_store_keeps_one_answer_per_key_on,
);

async fn the_store_keeps_one_answer_per_key_on(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    the_store_keeps_one_answer_per_key(db.store.clone()).await;
}
