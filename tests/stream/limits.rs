//! A subscriber that stops reading is cut with an `overflow` event; the subscriber limits answer
//! 503 and 429 with Retry-After, per client as the rate limits tell clients apart; bad input gets
//! the problems `GET /messages` gives; heartbeats and CORS.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::sse::{instance, post, Sse};
use crate::support::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_falls_behind_is_cut_with_an_overflow_event() {
    let db = TestDb::sqlite().await;
    let server = instance(&db.url, &[("STREAM_BUFFER", "8")]);
    // A client that reads nothing after the headers, through a small receive window, so that the
    // server's socket fills and the subscriber falls behind the feed.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(1024).unwrap();
    let mut connection = socket.connect(server.address).await.unwrap();
    connection
        .write_all(b"GET /messages/stream HTTP/1.1\r\nHost: twooter\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 512];
    let read = connection.read(&mut head).await.unwrap();
    assert!(
        head[..read].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        &head[..read]
    );

    let text = "x".repeat(280);
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let (client, url, text) = (
                reqwest::Client::new(),
                server.url("/messages"),
                text.clone(),
            );
            tokio::spawn(async move {
                for _ in 0..200 {
                    let reply = client
                        .post(&url)
                        .json(&serde_json::json!({"text": text, "tag": "flood"}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(reply.status(), 201);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }

    let mut received = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut chunk = vec![0u8; 64 * 1024];
    let text = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let read = tokio::time::timeout(left, connection.read(&mut chunk))
            .await
            .expect("the stream ends within 30 s")
            .unwrap();
        received.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&received).into_owned();
        // The last chunk of a chunked body: the server ended the stream.
        if read == 0 || text.ends_with("\r\n0\r\n\r\n") {
            break text;
        }
    };
    let messages = text.matches("event: message").count();
    assert!(
        messages < 1600,
        "every event came: the subscriber was never cut"
    );
    let overflow = text
        .split("event: overflow\n")
        .nth(1)
        .expect("an overflow event ends the stream");
    let data = overflow
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap();
    let reason: Value = serde_json::from_str(data).unwrap();
    assert!(
        reason["reason"].as_str().unwrap().contains("fell behind"),
        "{reason}"
    );
    assert!(
        !overflow.contains("event: message"),
        "events after the overflow"
    );
}

/// Opens a stream and returns the raw response.
async fn open(url: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).send().await.unwrap()
}

/// Opens a stream as a proxy would for the client `forwarded_for`.
async fn open_for(url: &str, forwarded_for: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .header("X-Forwarded-For", forwarded_for)
        .send()
        .await
        .unwrap()
}

async fn assert_problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], status);
    assert!(problem["detail"].as_str().unwrap().contains("live streams"));
    problem
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_subscribers_are_503_and_too_many_from_one_client_429() {
    let db = TestDb::sqlite().await;
    let heartbeat = ("STREAM_HEARTBEAT", "200ms");
    let instance_full = instance(&db.url, &[("STREAM_MAX_SUBSCRIBERS", "2"), heartbeat]);
    let url = instance_full.url("/messages/stream");
    let first = open(&url).await;
    let second = open(&url).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    assert_problem(open(&url).await, 503).await;
    // A subscriber that leaves gives its place back.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let again = open(&url).await;
        if again.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the slot was never given back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let per_client = instance(&db.url, &[("STREAM_MAX_PER_CLIENT", "1"), heartbeat]);
    let url = per_client.url("/messages/stream");
    let first = open(&url).await;
    assert_eq!(first.status(), 200);
    assert_problem(open(&url).await, 429).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_client_it_names_has_its_own_limit() {
    let db = TestDb::sqlite().await;
    let server = instance(
        &db.url,
        &[
            ("STREAM_MAX_PER_CLIENT", "1"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
            ("STREAM_HEARTBEAT", "200ms"),
        ],
    );
    let url = server.url("/messages/stream");
    let first = open_for(&url, "203.0.113.1").await;
    assert_eq!(first.status(), 200);
    // The same client again is over its limit, though the proxy's address is the same...
    assert_problem(open_for(&url, "203.0.113.1").await, 429).await;
    // ...and another client behind the same proxy has a limit of its own.
    let second = open_for(&url, "203.0.113.2").await;
    assert_eq!(second.status(), 200);
    // What a client writes left of the address the proxy appended does not make it another one.
    assert_problem(open_for(&url, "198.51.100.7, 203.0.113.2").await, 429).await;
}

#[tokio::test]
async fn bad_input_gets_the_problems_of_get_messages() {
    let db = TestDb::sqlite().await;
    let server = instance(&db.url, &[]);
    let client = reqwest::Client::new();
    for query in [
        "tag=two%20words",
        "tag=",
        "after=x",
        "after=-1",
        "tag=%21&after=1e3",
    ] {
        let listed = client
            .get(server.url(&format!("/messages?{query}")))
            .send()
            .await
            .unwrap();
        let streamed = client
            .get(server.url(&format!("/messages/stream?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(streamed.status(), listed.status(), "{query}");
        assert_eq!(streamed.status(), 400, "{query}");
        let content_type = &streamed.headers()["content-type"];
        assert_eq!(content_type, "application/problem+json");
        let (listed, streamed): (Value, Value) =
            (listed.json().await.unwrap(), streamed.json().await.unwrap());
        assert_eq!(streamed, listed, "{query}");
    }
    for bad in ["x", "-1", "", "12345678901234567890"] {
        let reply = client
            .get(server.url("/messages/stream"))
            .header("Last-Event-ID", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 400, "{bad:?}");
        let problem: Value = reply.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "Last-Event-ID");
        assert_eq!(problem["errors"][0]["in"], "header");
    }
}

#[tokio::test]
async fn idle_streams_get_heartbeats_and_cors_headers() {
    let db = TestDb::sqlite().await;
    let server = instance(
        &db.url,
        &[
            ("STREAM_HEARTBEAT", "200ms"),
            ("CORS_ALLOWED_ORIGINS", "http://app.example"),
        ],
    );
    let response = reqwest::Client::new()
        .get(server.url("/messages/stream"))
        .header("Origin", "http://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://app.example"
    );
    let mut stream = Sse::open(&server.url("/messages/stream"), None).await;
    let headers = stream.response.headers();
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(
        headers["x-accel-buffering"], "no",
        "nginx must not buffer events"
    );
    for _ in 0..3 {
        let frame = stream.next(Duration::from_secs(2)).await.expect("a frame");
        assert_eq!(frame.comment.as_deref(), Some("heartbeat"), "{frame:?}");
    }
    // A twoot still comes between heartbeats.
    let id = post(&reqwest::Client::new(), &server, "between beats", "beat").await;
    assert_eq!(stream.ids(1, Duration::from_secs(5)).await, [id]);
}

#[tokio::test]
async fn a_stopping_instance_ends_its_streams_and_drains_in_time() {
    let db = TestDb::sqlite().await;
    // The grace period is long: the instance stops sooner only because its streams end.
    let mut server = instance(&db.url, &[("SHUTDOWN_GRACE_PERIOD", "30s")]);
    let mut stream = Sse::open(&server.url("/messages/stream"), None).await;
    let started = Instant::now();
    server.terminate();
    assert!(
        stream.next(Duration::from_secs(5)).await.is_none(),
        "the stream went on"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let status = server.wait(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}
