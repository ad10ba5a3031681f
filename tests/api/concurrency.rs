//! Hundreds of parallel posts through the router: distinct ids, all listed, counts right.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::support::{app, get, post_json, Backend, TestDb};

async fn parallel_posts(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = app(db.store.clone());
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let body = serde_json::json!({"text": format!("parallel {i}"), "tag": format!("t{}", i % 7)});
                let reply = post_json(&app, "/messages", body.to_string()).await;
                assert_eq!(reply.status.as_u16(), 201, "{}", String::from_utf8_lossy(&reply.body));
                reply.json()["id"].as_str().unwrap().to_owned()
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        assert!(ids.insert(task.await.unwrap()), "duplicate id");
    }
    assert_eq!(ids.len(), 300);

    let listed: Vec<Value> = get(&app, "/messages?limit=1000")
        .await
        .json()
        .as_array()
        .unwrap()
        .clone();
    let listed_ids: HashSet<_> = listed
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed_ids, ids);

    let mut per_tag: BTreeMap<String, i64> = BTreeMap::new();
    for message in &listed {
        *per_tag
            .entry(message["tag"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let stats = get(&app, "/management/message-stats").await.json();
    let counted: BTreeMap<String, i64> = stats
        .as_object()
        .unwrap()
        .values()
        .flat_map(|tags| tags.as_object().unwrap().iter())
        .fold(BTreeMap::new(), |mut acc, (tag, n)| {
            *acc.entry(tag.clone()).or_default() += n.as_i64().unwrap();
            acc
        });
    assert_eq!(counted, per_tag);
    assert_eq!(
        crate::conformance::recount(db.store.as_ref()).await,
        db.store.stats(0, 3000).await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_posts_on_sqlite() {
    parallel_posts(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_posts_on_mysql() {
    parallel_posts(Backend::MySql).await;
}
