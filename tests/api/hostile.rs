//! Clients that would hold the server: half-sent requests are closed after `HEADER_TIMEOUT`, while
//! everyone else is served.

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
