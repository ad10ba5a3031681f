//! The in-process limiter (no `REDIS_URL`): the exact 429 problem and headers, the families, the
//! routes never limited, and `X-Forwarded-For` believed only from `TRUSTED_PROXIES`.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::process::create_key;
use crate::{get, header, metric, post, server};

#[tokio::test]
async fn a_spent_budget_is_a_429_problem_with_retry_after_and_the_headers() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), &[("RATE_LIMITS", "write=2/min,read=3/min")]);
    let url = server.url("/messages");

    let first = post(&url, &[]).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(
        header(&first, "ratelimit-policy"),
        Some("\"write\";q=2;w=60")
    );
    assert_eq!(header(&first, "ratelimit"), Some("\"write\";r=1;t=30"));
    let second = post(&url, &[]).await;
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(header(&second, "ratelimit"), Some("\"write\";r=0;t=59"));

    let refused = post(&url, &[]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&refused, "content-type"),
        Some("application/problem+json")
    );
    assert_eq!(header(&refused, "retry-after"), Some("30"));
    assert_eq!(
        header(&refused, "ratelimit-policy"),
        Some("\"write\";q=2;w=60")
    );
    assert_eq!(header(&refused, "ratelimit"), Some("\"write\";r=0;t=59"));
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(
        problem,
        serde_json::json!({
            "type": "about:blank",
            "title": "Too Many Requests",
            "status": 429,
            "detail": "This client may make 2 write requests per 1m; retry in 30 s",
        })
    );

    // Reading has its own budget.
    let read = get(&url, &[]).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(header(&read, "ratelimit-policy"), Some("\"read\";q=3;w=60"));
    assert_eq!(header(&read, "ratelimit"), Some("\"read\";r=2;t=20"));
    for _ in 0..2 {
        assert_eq!(get(&url, &[]).await.status(), StatusCode::OK);
    }
    let refused = get(&server.url("/messages/1"), &[]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, "retry-after"), Some("20"));

    // Probes, metrics and the documents are never limited and carry no headers.
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs/",
        "/",
    ] {
        for _ in 0..5 {
            let response = get(&server.url(path), &[]).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(header(&response, "ratelimit"), None, "{path}");
        }
    }
    let limited = "twooter_rate_limited_total{family=\"write\"}";
    assert_eq!(metric(&server, limited).await, 1.0);
}

#[tokio::test]
async fn a_key_is_a_client_of_its_own_and_forwarded_for_counts_only_from_trusted_proxies() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}/twooter.db", dir.path().display());
    // The binary migrates its database on start; the key is made in it afterwards.
    let server = server(dir.path(), &[("RATE_LIMITS", "write=1/h")]);
    let key = create_key(dir.path(), Some(&url), "poster");
    let bearer = format!("Bearer {key}");
    let messages = server.url("/messages");

    assert_eq!(post(&messages, &[]).await.status(), StatusCode::CREATED);
    // Not trusted: a made-up X-Forwarded-For is the same client as before.
    let spoofed = post(&messages, &[("x-forwarded-for", "203.0.113.7")]).await;
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
    // The key has a budget of its own, from the same address.
    let with_key = post(&messages, &[("authorization", &bearer)]).await;
    assert_eq!(with_key.status(), StatusCode::CREATED);
    let again = post(&messages, &[("authorization", &bearer)]).await;
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
    drop(server);

    let trusting = crate::server(
        dir.path(),
        &[
            ("RATE_LIMITS", "write=1/h"),
            ("TRUSTED_PROXIES", "127.0.0.0/8, ::1"),
        ],
    );
    let messages = trusting.url("/messages");
    for client in ["203.0.113.7", "203.0.113.8"] {
        let xff = [("x-forwarded-for", client)];
        assert_eq!(post(&messages, &xff).await.status(), StatusCode::CREATED);
        assert_eq!(
            post(&messages, &xff).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    // What a client writes left of the address our proxy saw does not make it someone else.
    let forged = [("x-forwarded-for", "198.51.100.1, 203.0.113.7")];
    assert_eq!(
        post(&messages, &forged).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn off_limits_nothing_and_sends_no_headers() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), &[("RATE_LIMITS", "off")]);
    for _ in 0..70 {
        let response = post(&server.url("/messages"), &[]).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(header(&response, "ratelimit-policy"), None);
    }
}

/// Keys that are not live (made up, mistyped, revoked) are refused with 401, each spending the
/// address's `keys` budget: past it, 429 on any route, and keys not seen before are refused
/// without a look-up in the store. Reading and posting keep their own budgets.
#[tokio::test]
async fn keys_that_are_not_live_spend_the_address_keys_budget() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}/twooter.db", dir.path().display());
    let server = server(dir.path(), &[("RATE_LIMITS", "keys=2/min,read=3/min")]);
    let key = create_key(dir.path(), Some(&url), "admin");
    let flipped = if key.ends_with('0') { '1' } else { '0' };
    let wrong = format!("Bearer {}{flipped}", &key[..key.len() - 1]);
    let stats = server.url("/management/message-stats");

    for _ in 0..2 {
        let refused = get(&stats, &[("authorization", &wrong)]).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            header(&refused, "ratelimit-policy"),
            Some("\"keys\";q=2;w=60")
        );
    }
    let throttled = get(&stats, &[("authorization", &wrong)]).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&throttled, "retry-after"), Some("30"));
    assert_eq!(header(&throttled, "ratelimit"), Some("\"keys\";r=0;t=59"));
    let problem: Value = throttled.json().await.unwrap();
    assert_eq!(
        problem["detail"],
        "This client may make 2 requests with a key that is not live per 1m; retry in 30 s"
    );

    // Past the budget, keys never seen before are refused without a look-up in the store.
    let lookups = "twooter_db_query_duration_seconds_count{query=\"get_api_key\",outcome=\"ok\"}";
    let looked_up = metric(&server, lookups).await;
    assert!(looked_up >= 1.0, "the first wrong key was looked up");
    for n in 0..5 {
        let made_up = format!("Bearer twt_{n:016x}_{}", "ab".repeat(32));
        let refused = get(&server.url("/messages"), &[("authorization", &made_up)]).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(metric(&server, lookups).await, looked_up);

    // The address still reads on its own budget.
    let read = get(&server.url("/messages"), &[]).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(header(&read, "ratelimit"), Some("\"read\";r=2;t=20"));
}
