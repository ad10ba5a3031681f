//! Rolling restarts behind the shipped nginx configuration: every instance restarted in turn
//! under POST load loses no request and duplicates no twoot, because a POST with an
//! Idempotency-Key is retried (by nginx, and by the client after a broken connection) and the
//! service answers a repeat with the first answer. Without a key nginx sends a POST only once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

use crate::support::process::{get_json_as, twooter, Server};
use crate::support::servers::nginx::{Nginx, Site};
use crate::support::{stats_total, Backend, TestDb};

const SHIPPED: &str = include_str!("../../deploy/nginx.conf");
const CLIENTS: usize = 8;
/// Attempts a client makes with one key when the connection breaks, as a real client would.
const ATTEMPTS: u32 = 20;

/// What one load client saw.
#[derive(Default)]
struct Tally {
    /// Keys answered 201, with the id of their twoot.
    acknowledged: Vec<(String, String)>,
    /// Requests sent, first attempts and retries alike.
    sent: usize,
    /// Retries after a broken connection, with the same key.
    retried: usize,
    /// 201 answers that were replays of an earlier commit.
    replayed: usize,
    /// Keys that ended in anything but a 201.
    failed: Vec<String>,
}

async fn post_until_stopped(
    http: reqwest::Client,
    url: String,
    client: usize,
    stop: Arc<AtomicBool>,
) -> Tally {
    let mut tally = Tally::default();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let key = format!("restart-{client}-{n:06}");
        let body = json!({"text": format!("rolling restart {client} {n}"), "tag": "restart"});
        let mut attempt = 0;
        loop {
            attempt += 1;
            tally.sent += 1;
            let reply = http
                .post(&url)
                .header("Idempotency-Key", &key)
                .json(&body)
                .send()
                .await;
            match reply {
                Ok(reply) if reply.status() == 201 => {
                    if reply.headers().contains_key("idempotent-replayed") {
                        tally.replayed += 1;
                    }
                    let twoot: Value = reply.json().await.unwrap();
                    let id = twoot["id"].as_str().unwrap().to_owned();
                    tally.acknowledged.push((key, id));
                    // A steady load, not a flood: the restarts are what is under test.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    break;
                }
                Ok(reply) => {
                    let status = reply.status();
                    let text = reply.text().await.unwrap_or_default();
                    tally.failed.push(format!("{key}: {status} {text}"));
                    break;
                }
                Err(_) if attempt < ATTEMPTS => {
                    tally.retried += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => {
                    tally.failed.push(format!("{key}: {error}"));
                    break;
                }
            }
        }
    }
    tally
}

/// Waits up to 15 s for `url` to answer 200.
pub(crate) async fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(reply) = reqwest::get(url).await {
            if reply.status() == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{url} did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn instance(dir: &std::path::Path, database_url: &str) -> std::process::Command {
    let mut command = twooter(dir);
    command
        .env("DATABASE_URL", database_url)
        .env("SHUTDOWN_DELAY", "1s")
        .env("SHUTDOWN_GRACE_PERIOD", "10s");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restarts_under_keyed_post_load_lose_nothing_and_duplicate_nothing() {
    if Nginx::binary().is_none() {
        return;
    }
    let Some(db) = TestDb::new(Backend::MySql).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let admin = crate::support::create_key(db.store.as_ref(), twooter::domain::Role::Admin).await;
    let mut instances: Vec<Server> = (0..3)
        .map(|_| Server::start(instance(dir.path(), &db.url)))
        .collect();
    let upstreams: Vec<String> = instances.iter().map(|s| s.address.to_string()).collect();
    let Some(nginx) = Nginx::start(&upstreams, &Site::Template(SHIPPED)).await else {
        return;
    };
    wait_ready(&nginx.url("/readyz")).await;

    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            tokio::spawn(post_until_stopped(
                http.clone(),
                nginx.url("/messages"),
                client,
                stop.clone(),
            ))
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(500)).await;
    for n in 0..instances.len() {
        let mut server = instances.remove(n);
        let port = server.address.port();
        let (path, url) = (dir.path().to_owned(), db.url.clone());
        let restarted = tokio::task::spawn_blocking(move || {
            server.terminate();
            let status = server.wait(Duration::from_secs(20));
            assert_eq!(status.code(), Some(0), "instance {n} did not stop cleanly");
            drop(server);
            Server::start_on(instance(&path, &url), port)
        })
        .await
        .unwrap();
        wait_ready(&restarted.url("/readyz")).await;
        // As a rollout waits for a new replica to take traffic before it stops the next: nginx
        // keeps a failed replica out for fail_timeout, and three out at once is an outage.
        let deadline = Instant::now() + Duration::from_secs(15);
        while super::posted_count(&restarted.url("")).await == 0.0 {
            assert!(
                Instant::now() < deadline,
                "nginx never took instance {n} back"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        instances.insert(n, restarted);
    }
    stop.store(true, Ordering::Relaxed);
    let mut tally = Tally::default();
    for client in clients {
        let one = client.await.unwrap();
        tally.acknowledged.extend(one.acknowledged);
        tally.sent += one.sent;
        tally.retried += one.retried;
        tally.replayed += one.replayed;
        tally.failed.extend(one.failed);
    }
    let elapsed = started.elapsed();

    let pool = sqlx::MySqlPool::connect(&db.url).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE tag = 'restart'")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    let keys: std::collections::BTreeSet<&str> = tally
        .acknowledged
        .iter()
        .map(|(key, _)| key.as_str())
        .collect();
    let ids: std::collections::BTreeSet<&str> = tally
        .acknowledged
        .iter()
        .map(|(_, id)| id.as_str())
        .collect();
    let log = nginx.error_log();
    let upstream_errors = |during: &str| {
        log.lines()
            .filter(|line| line.contains("[error]") && line.contains(during))
            .count()
    };
    eprintln!(
        "rolling restarts of 3 instances under {CLIENTS} keyed POST clients: {} keys, {} requests \
         sent, {} acknowledged, {} failed, {} retried by clients, {} replays; nginx met {} refused \
         connections and {} broken ones; {} twoots stored, in {:.1} s",
        tally.acknowledged.len() + tally.failed.len(),
        tally.sent,
        keys.len(),
        tally.failed.len(),
        tally.retried,
        tally.replayed,
        upstream_errors("while connecting"),
        upstream_errors("while reading"),
        stored,
        elapsed.as_secs_f64()
    );
    assert!(
        tally.failed.is_empty(),
        "failed, first of them: {:?}\nnginx: {}",
        &tally.failed[..tally.failed.len().min(3)],
        nginx
            .error_log()
            .lines()
            .take(12)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        keys.len() > 100,
        "too little load to show anything: {}",
        keys.len()
    );
    assert_eq!(
        keys.len(),
        tally.acknowledged.len(),
        "a key acknowledged twice"
    );
    assert_eq!(ids.len(), keys.len(), "two keys got one twoot");
    assert_eq!(
        stored,
        keys.len() as i64,
        "twoots stored vs keys acknowledged"
    );
    // The counters agree with the rows once the one-second statistics cache has turned over.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stats = get_json_as(&nginx.url("/management/message-stats"), &admin).await;
    assert_eq!(stats_total(&stats), stored, "{stats}");
}

/// An upstream that reads a request and closes the connection without an answer, as an instance
/// that crashed or cut its connection would; it counts the requests it swallowed.
async fn swallowing_upstream() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let swallowed = Arc::new(AtomicUsize::new(0));
    let counter = swallowed.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                if matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    (address, swallowed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_sends_a_post_to_a_second_instance_only_with_an_idempotency_key() {
    if Nginx::binary().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut command = twooter(dir.path());
    command.env("DATABASE_URL", "sqlite:control.db");
    let live = Server::start(command);
    let (swallower, swallowed) = swallowing_upstream().await;
    let upstreams = [swallower, live.address.to_string()];
    let http = reqwest::Client::new();
    let listed = || async {
        let list: Value = reqwest::get(live.url("/messages?tag=control&limit=100"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list.as_array().unwrap().len()
    };

    for keyed in [false, true] {
        // A fresh nginx each time: the swallower is in the rotation again.
        let nginx = Nginx::start(&upstreams, &Site::Template(SHIPPED))
            .await
            .unwrap();
        let mut hit = false;
        for n in 0..6 {
            let before = (swallowed.load(Ordering::SeqCst), listed().await);
            let mut request = http
                .post(nginx.url("/messages"))
                .json(&json!({"text": format!("control {keyed} {n}"), "tag": "control"}));
            if keyed {
                request = request.header("Idempotency-Key", format!("control-key-{n:04}"));
            }
            let status = request.send().await.unwrap().status().as_u16();
            let after = (swallowed.load(Ordering::SeqCst), listed().await);
            if after.0 == before.0 {
                assert_eq!((status, after.1), (201, before.1 + 1), "keyed={keyed}");
                continue;
            }
            hit = true;
            assert_eq!(after.0, before.0 + 1);
            if keyed {
                // Swallowed by one, then answered by the other: one twoot.
                assert_eq!((status, after.1), (201, before.1 + 1));
            } else {
                // Swallowed and not sent again: the client learns it failed, nothing posted.
                assert_eq!((status, after.1), (502, before.1));
            }
            break;
        }
        assert!(
            hit,
            "nginx never chose the swallowing upstream (keyed={keyed})"
        );
    }
}
