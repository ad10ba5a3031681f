//! Clients that would hold the server: half-sent requests (HTTP/1 or HTTP/2) are closed after
//! `HEADER_TIMEOUT`, while everyone else is served; past `MAX_CONNECTIONS` new ones wait.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::process::{twooter, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_closed_within_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = twooter(dir.path());
    command
        .env("DATABASE_URL", "sqlite:hostile.db")
        .env("HEADER_TIMEOUT", "1s");
    let server = Server::start(command);

    let opened = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = tokio::net::TcpStream::connect(server.address)
            .await
            .unwrap();
        // The request line and a header, never the blank line that ends the headers.
        stream
            .write_all(b"GET /messages HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    let client = reqwest::Client::new();
    for _ in 0..20 {
        let reply = client.get(server.url("/messages")).send().await.unwrap();
        assert_eq!(reply.status(), 200);
    }
    let closings = slow.into_iter().map(|mut stream| {
        tokio::spawn(async move {
            let mut buffer = [0u8; 1024];
            // Closed: end of stream (after at most an error response) or a reset.
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return Instant::now(),
                    Ok(_) => continue,
                }
            }
        })
    });
    let closings: Vec<_> = closings.collect();
    for closing in closings {
        let closed_at = tokio::time::timeout(Duration::from_secs(5), closing)
            .await
            .expect("a half-sent request was still open 5 s after it was sent")
            .unwrap();
        assert!(closed_at - opened < Duration::from_secs(4));
    }
    let reply = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(reply.status(), 200);
}

/// Whether the server closes `stream` within `limit`: end of stream or a reset.
async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_connections_that_ask_nothing_are_closed_within_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = twooter(dir.path());
    command
        .env("DATABASE_URL", "sqlite:h2.db")
        .env("HEADER_TIMEOUT", "1s");
    let server = Server::start(command);
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    // An empty SETTINGS frame: length 0, type 4, no flags, stream 0.
    const SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
    let opened = Instant::now();
    let mut half_preface = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    half_preface.write_all(&PREFACE[..16]).await.unwrap();
    let mut no_stream = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    no_stream.write_all(PREFACE).await.unwrap();
    no_stream.write_all(SETTINGS).await.unwrap();
    for (what, stream) in [
        ("half a preface", &mut half_preface),
        ("a connection with no stream", &mut no_stream),
    ] {
        assert!(
            closed_within(stream, Duration::from_secs(4)).await,
            "{what} was still open after {:?}",
            opened.elapsed()
        );
    }
    assert!(opened.elapsed() >= Duration::from_millis(900));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_connections_a_request_waits_until_one_closes() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = twooter(dir.path());
    command
        .env("DATABASE_URL", "sqlite:cap.db")
        .env("MAX_CONNECTIONS", "3")
        .env("HEADER_TIMEOUT", "30s");
    let server = Server::start(command);
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(
            tokio::net::TcpStream::connect(server.address)
                .await
                .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let url = server.url("/healthz");
    let waiting = tokio::spawn(async move {
        let reply = reqwest::Client::new().get(url).send().await.unwrap();
        (reply.status().as_u16(), Instant::now())
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiting.is_finished(), "served past MAX_CONNECTIONS");
    let closed = Instant::now();
    drop(idle.pop());
    let (status, served) = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("still waiting after a connection closed")
        .unwrap();
    assert_eq!(status, 200);
    assert!(
        served - closed < Duration::from_secs(1),
        "{:?}",
        served - closed
    );
}
