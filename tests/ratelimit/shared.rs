//! Budgets in the real Redis: instances that share it share every client's budget, and three
//! instances behind nginx hold one client to one quota. Each test is a client of its own (an
//! address no other test uses), so tests running at once never spend each other's budgets.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use reqwest::StatusCode;

use crate::support::process::{twooter, Server};
use crate::support::servers::nginx::{Nginx, Site};
use crate::support::servers::redis;
use crate::support::{Backend, TestDb};
use crate::{fresh_address, header, metric, post, server};

#[tokio::test]
async fn two_instances_on_one_redis_spend_one_budget_per_client() {
    let Some(redis) = redis::shared_url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = [
        ("RATE_LIMITS", "write=3/h"),
        ("REDIS_URL", redis.as_str()),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ];
    let one = server(dir.path(), &settings);
    let two = server(dir.path(), &settings);
    crate::warm_up(&[&one, &two]).await;
    let address = fresh_address();
    let xff = [("x-forwarded-for", address.as_str())];
    let mut statuses = Vec::new();
    for server in [&one, &two, &one, &two] {
        let response = post(&server.url("/messages"), &xff).await;
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(header(&response, "ratelimit"), Some("\"write\";r=0;t=3599"));
            assert_eq!(header(&response, "retry-after"), Some("1200"));
        }
    }
    assert_eq!(
        statuses,
        [
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // Another address is another client.
    let other = fresh_address();
    let response = post(
        &two.url("/messages"),
        &[("x-forwarded-for", other.as_str())],
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header(&response, "ratelimit"), Some("\"write\";r=2;t=1200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_nginx_hold_a_client_to_one_budget() {
    let Some(redis) = redis::shared_url() else {
        return;
    };
    if Nginx::binary().is_none() {
        return;
    }
    let Some(db) = TestDb::new(Backend::MySql).await else {
        return;
    };
    const QUOTA: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let instances: Vec<Server> = (0..3)
        .map(|node| {
            let mut command = twooter(dir.path());
            command
                .env("DATABASE_URL", &db.url)
                .env("NODE_ID", node.to_string())
                .env("REDIS_URL", &redis)
                .env("RATE_LIMITS", format!("read={QUOTA}/h"))
                .env("TRUSTED_PROXIES", "127.0.0.1");
            Server::start(command)
        })
        .collect();
    let upstreams: Vec<String> = instances.iter().map(|s| s.address.to_string()).collect();
    // nginx appends the address it sees (here, the test's own 127.0.0.1) to the client's.
    let site = Site::Proxy {
        location: "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        server: "",
        http: "",
    };
    let Some(nginx) = Nginx::start(&upstreams, &site).await else {
        return;
    };
    // Each instance connects to Redis and loads the script on its first decision; done here,
    // with a client of its own, so that the measured requests do not wait for it.
    crate::warm_up(&instances.iter().collect::<Vec<_>>()).await;
    let address = fresh_address();
    let url = nginx.url("/messages?limit=1");
    let allowed = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (url, address) = (url.clone(), address.clone());
            let (allowed, refused) = (allowed.clone(), refused.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for _ in 0..(3 * QUOTA / 8) {
                    let response = client
                        .get(&url)
                        .header("x-forwarded-for", &address)
                        .send()
                        .await
                        .unwrap();
                    match response.status() {
                        StatusCode::OK => allowed.fetch_add(1, Ordering::Relaxed),
                        StatusCode::TOO_MANY_REQUESTS => refused.fetch_add(1, Ordering::Relaxed),
                        other => panic!("{other}: {}", response.text().await.unwrap()),
                    };
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed();
    let allowed = allowed.load(Ordering::Relaxed);
    let refused = refused.load(Ordering::Relaxed);
    let mut failed_open = 0.0;
    for instance in &instances {
        let refusals = metric(instance, "twooter_rate_limited_total{family=\"read\"}").await;
        // Every instance refused some: each held the client to the one budget.
        assert!(refusals > 0.0, "{} refused nothing", instance.address);
        failed_open += metric(
            instance,
            "twooter_rate_limit_fallback_total{family=\"read\"}",
        )
        .await;
    }
    // A decision Redis could not make within 50 ms on a busy machine let its request through
    // unlimited; those are counted, few, and apart from the budget.
    let failed_open = failed_open as usize;
    assert!(
        failed_open * 100 <= allowed + refused,
        "{failed_open} requests failed open"
    );
    let decided = allowed - failed_open;
    // The quota, and what the hour gave back while the test ran (a unit every 7.2 s).
    let refill = (elapsed.as_secs_f64() / 7.2).ceil() as usize;
    assert!(
        decided >= QUOTA && decided <= QUOTA + refill,
        "{decided} of {} decided requests went through in {elapsed:?}; the budget is {QUOTA} (+{refill})",
        allowed + refused - failed_open
    );
    assert!(
        (decided as f64 - QUOTA as f64).abs() <= QUOTA as f64 * 0.01,
        "{decided} is not within 1% of {QUOTA}"
    );
}
