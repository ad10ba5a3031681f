//! A private Redis killed under a running instance: requests still go through (fail open), the
//! fallback is counted and warned about once, never a 5xx; Redis started again on the same port
//! limits again, with no restart of the instance.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::servers::redis::Redis;
use crate::{get, header, metric, server};

const FALLBACK: &str = "twooter_rate_limit_fallback_total{family=\"read\"}";

/// Reads until one is refused; returns how many went through first.
async fn spend(url: &str) -> usize {
    for allowed in 0..100 {
        let response = get(url, &[]).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            return allowed;
        }
        assert_eq!(response.status(), StatusCode::OK);
        assert!(header(&response, "ratelimit").is_some(), "undecided");
    }
    panic!("never refused");
}

#[tokio::test]
async fn redis_down_fails_open_and_redis_back_limits_again() {
    let Some(mut redis) = Redis::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = server(
        dir.path(),
        &[
            ("RATE_LIMITS", "read=5/h"),
            ("REDIS_URL", &redis.url()),
            ("TRUSTED_PROXIES", "127.0.0.1"),
        ],
    );
    crate::warm_up(&[&server]).await;
    let url = server.url("/messages?limit=1");
    assert_eq!(
        spend(&url).await,
        5,
        "limits are not enforced through Redis"
    );

    let before = metric(&server, FALLBACK).await;
    redis.kill();
    let started = Instant::now();
    for _ in 0..20 {
        let response = get(&url, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "not failing open");
        assert_eq!(header(&response, "ratelimit"), None);
        assert_eq!(
            header(&response, "ratelimit-policy"),
            Some("\"read\";q=5;w=3600")
        );
    }
    // Each waited at most the decision timeout (50 ms), with room for a slow machine.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(metric(&server, FALLBACK).await - before, 20.0);
    let warnings = |log: &[String]| {
        log.iter()
            .filter(|line| line.contains("Redis cannot decide rate limits"))
            .count()
    };
    assert_eq!(
        warnings(&server.log.lock().unwrap()),
        1,
        "one warning, not one per request"
    );

    redis.resume().await;
    // Reconnecting takes a moment; until then requests still go through.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = get(&url, &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        if let Some(state) = header(&response, "ratelimit") {
            assert_eq!(state, "\"read\";r=4;t=720");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "limits did not come back with Redis"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The new Redis started empty: the one decided read above and four more, then 429.
    assert_eq!(spend(&url).await, 4);
    assert!(
        server
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|line| line.contains("rate limits are shared again")),
        "no line saying Redis is back"
    );
}
