//! The replay from the store meets the live feed without a gap or a repeat, while twoots are being
//! posted concurrently; a reconnection with `Last-Event-ID` resumes after it and the window
//! below it, in id order.

use std::collections::HashSet;
use std::time::Duration;

use crate::sse::{instance, post, window_below, Sse};
use crate::support::{Backend, TestDb};

const WAIT: Duration = Duration::from_secs(10);

async fn replay_then_live_sends_every_id_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let server = instance(&db.url, &[]);
    let client = reqwest::Client::new();
    let mut before = Vec::new();
    for i in 0..30 {
        before.push(post(&client, &server, &format!("before {i}"), "seam").await);
    }
    let cursor = before[9].clone();

    // Eight writers post while the subscriber connects, so that twoots commit during its replay
    // and around the switch to live.
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let (client, url) = (client.clone(), server.url("/messages"));
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..25 {
                    let tag = if i % 3 == 0 { "other" } else { "seam" };
                    let reply = client
                        .post(&url)
                        .json(&serde_json::json!({"text": format!("w{writer} {i}"), "tag": tag}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(reply.status(), 201);
                    let body: serde_json::Value = reply.json().await.unwrap();
                    if tag == "seam" {
                        ids.push(body["id"].as_str().unwrap().to_owned());
                    }
                }
                ids
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let url = server.url(&format!("/messages/stream?tag=seam&after={cursor}"));
    let mut stream = Sse::open(&url, None).await;
    // The unsettled window below the cursor comes again first (at-least-once across reconnects).
    let again = window_below(&before, &cursor);
    let mut expected: Vec<String> = again.iter().chain(&before[10..]).cloned().collect();
    for writer in writers {
        expected.extend(writer.await.unwrap());
    }

    let received = stream.ids(expected.len(), WAIT).await;
    let extra = stream.message(Duration::from_millis(1500)).await;
    assert!(extra.is_none(), "an event beyond those posted: {extra:?}");
    let unique: HashSet<&String> = received.iter().collect();
    assert_eq!(
        unique.len(),
        received.len(),
        "an id came twice: {received:?}"
    );
    assert_eq!(unique, expected.iter().collect::<HashSet<_>>());
    // The replay comes first, oldest first.
    let replayed = again.len() + 20;
    let in_order: Vec<&String> = again.iter().chain(&before[10..]).collect();
    assert_eq!(received[..replayed].iter().collect::<Vec<_>>(), in_order);

    // Reconnecting with the id of an event received resumes after it and after the start of the
    // window below it, in id order.
    let resume_at = &received[replayed + 4];
    let mut resumed = Sse::open(&server.url("/messages/stream?tag=seam"), Some(resume_at)).await;
    let mut stored: Vec<i64> = expected.iter().map(|id| id.parse().unwrap()).collect();
    stored.sort_unstable();
    let stored: Vec<String> = stored.iter().map(i64::to_string).collect();
    let after: i64 = resume_at.parse().unwrap();
    let mut rest = window_below(&stored, resume_at);
    rest.extend(
        stored
            .iter()
            .filter(|id| id.parse::<i64>().unwrap() > after)
            .cloned(),
    );
    assert_eq!(resumed.ids(rest.len(), WAIT).await, rest);
    let live = post(&client, &server, "after the resume", "seam").await;
    assert_eq!(resumed.ids(1, WAIT).await, [live]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_then_live_sends_every_id_once_on_sqlite() {
    replay_then_live_sends_every_id_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_then_live_sends_every_id_once_on_mariadb() {
    replay_then_live_sends_every_id_once(Backend::MySql).await;
}
