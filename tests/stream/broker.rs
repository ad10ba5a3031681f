//! Two instances on one MariaDB database, woken through a private Redis: a twoot posted on one
//! reaches a subscriber on the other; with Redis stopped, by polling; after it restarts, a
//! subscriber that reconnects with its last id misses nothing (and gets the window below that id
//! again).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::sse::{instance, logged, post, window_below, Sse};
use crate::support::servers::redis::Redis;
use crate::support::TestDb;

const WAIT: Duration = Duration::from_secs(5);
const LISTENING: &str = "the live feed listens to Redis";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_twoot_posted_on_one_instance_reaches_a_subscriber_on_the_other() {
    let Some(db) = TestDb::mysql().await else {
        return;
    };
    let Some(redis) = Redis::start().await else {
        return;
    };
    let settings = [("REDIS_URL", redis.url())];
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (a, b) = (instance(&db.url, &settings), instance(&db.url, &settings));
    let client = reqwest::Client::new();
    let mut stream = Sse::open(&b.url("/messages/stream"), None).await;
    logged(&b, LISTENING, 1).await;
    let mut latencies = Vec::new();
    for i in 0..20 {
        let started = Instant::now();
        let id = post(&client, &a, &format!("across {i}"), "fanout").await;
        let frame = stream.message(WAIT).await.expect("the twoot arrives");
        latencies.push(started.elapsed());
        assert_eq!(frame.id.as_deref(), Some(id.as_str()));
        let listed: Value = client
            .get(a.url("/messages?tag=fanout&limit=1"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let data: Value = serde_json::from_str(&frame.data).unwrap();
        assert_eq!(
            data, listed[0],
            "the data is the twoot as GET /messages lists it"
        );
    }
    latencies.sort_unstable();
    // Woken by Redis, not by the rescan every second: a few ms each here, under load at most
    // tens. One stall of the loaded machine (a commit's fsync, a descheduled process) is allowed
    // for, up to a second; the rest stay under 250 ms, which the rescan every second would not.
    assert!(latencies[18] < Duration::from_millis(250), "{latencies:?}");
    assert!(latencies[19] < Duration::from_millis(1000), "{latencies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_stopped_and_restarted_loses_nothing() {
    let Some(db) = TestDb::mysql().await else {
        return;
    };
    let Some(mut redis) = Redis::start().await else {
        return;
    };
    let settings = [("REDIS_URL", redis.url())];
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (a, b) = (instance(&db.url, &settings), instance(&db.url, &settings));
    let client = reqwest::Client::new();
    let mut stream = Sse::open(&b.url("/messages/stream?tag=outage"), None).await;
    logged(&b, LISTENING, 1).await;

    let mut posted = Vec::new();
    for i in 0..5 {
        posted.push(post(&client, &a, &format!("up {i}"), "outage").await);
    }
    assert_eq!(stream.ids(5, WAIT).await, posted);

    redis.kill();
    logged(&b, "lost Redis", 1).await;
    let mut down = Vec::new();
    for i in 0..5 {
        down.push(post(&client, &a, &format!("down {i}"), "outage").await);
    }
    // No broker: the reader polls the store, and the events still come.
    assert_eq!(stream.ids(5, WAIT).await, down);
    let last = down.last().unwrap().clone();

    drop(stream);
    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(post(&client, &a, &format!("away {i}"), "outage").await);
    }
    redis.resume().await;
    logged(&b, LISTENING, 2).await;
    let mut stream = Sse::open(&b.url("/messages/stream?tag=outage"), Some(&last)).await;
    for i in 0..5 {
        missed.push(post(&client, &a, &format!("back {i}"), "outage").await);
    }
    // What the client had of the unsettled window below its last id comes again first.
    let had: Vec<String> = posted.iter().chain(&down).cloned().collect();
    let mut expected = window_below(&had, &last);
    expected.extend(missed);
    assert_eq!(stream.ids(expected.len(), WAIT).await, expected);
    let extra = stream.message(Duration::from_millis(1500)).await;
    assert!(extra.is_none(), "an event twice: {extra:?}");
}
