//! The release binary killed (SIGKILL) while concurrent posts are being written together: every
//! post it acknowledged is in the database afterwards.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use twooter::store::{self, PoolConfig};

use crate::support::process::{twooter, Server};
use crate::support::{metric_value, Backend, TestDb};

/// Posts per client at most, so that a server that never dies still ends the test.
const POSTS_PER_CLIENT: usize = 400;

async fn a_kill_mid_batch_loses_no_acknowledged_post(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut command = twooter(dir.path());
    command.env("DATABASE_URL", &db.url);
    let mut server = Server::start(command);
    let url = server.url("/messages");
    let client = reqwest::Client::new();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..64)
        .map(|c| {
            let (client, url, acknowledged) = (client.clone(), url.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for i in 0..POSTS_PER_CLIENT {
                    let text = format!("client {c} post {i}");
                    let body = serde_json::json!({"text": text, "tag": "crash"});
                    // The server's death ends a client: a refused or cut connection.
                    let Ok(response) = client.post(&url).json(&body).send().await else {
                        return;
                    };
                    if response.status() != 201 {
                        continue;
                    }
                    let Ok(twoot) = response.json::<serde_json::Value>().await else {
                        return;
                    };
                    let id = twoot["id"].as_str().unwrap().to_owned();
                    acknowledged.lock().unwrap().push((id, text));
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for client in clients {
        client.await.unwrap();
    }

    let read = |series: &str| metric_value(&metrics, series);
    let (batches, posts) = (
        read("twooter_post_batch_size_count"),
        read("twooter_post_batch_size_sum"),
    );
    assert!(
        batches > 0.0 && posts > batches,
        "{batches} batches of {posts} posts"
    );

    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        !acknowledged.is_empty(),
        "nothing was acknowledged before the kill"
    );
    // A new connection: on SQLite the first to open the file after the crash recovers its log.
    let store = store::connect(&db.url, &PoolConfig::default())
        .await
        .unwrap();
    for (id, text) in &acknowledged {
        let stored = store.get(id.parse().unwrap()).await.unwrap();
        assert_eq!(
            stored.map(|twoot| twoot.text),
            Some(text.clone()),
            "acknowledged {id} is lost"
        );
    }
    eprintln!("{} acknowledged posts all stored", acknowledged.len());
}

on_every_backend!(a_kill_mid_batch_loses_no_acknowledged_post);
