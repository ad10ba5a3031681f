//! Horizontal scale: three instances of the binary on one MariaDB behind a real nginx on
//! loopback. Writes go through the balancer and through each instance; every write reads back
//! through every other instance, so nothing lives in one instance.

#[path = "../support/mod.rs"]
mod support;

mod restarts;

use serde_json::{json, Value};

use crate::support::process::{get_json, get_json_as, metric_at, twooter, Server};
use crate::support::servers::nginx::{self, Nginx, Site};
use crate::support::{Backend, TestDb};

async fn post(base: &str, text: &str, tag: &str) -> Value {
    let reply = reqwest::Client::new()
        .post(format!("{base}/messages"))
        .json(&json!({"text": text, "tag": tag}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 201);
    reply.json().await.unwrap()
}

async fn posted_count(base: &str) -> f64 {
    metric_at(base, "twooter_twoots_posted_total ").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_nginx_share_everything() {
    if Nginx::binary().is_none() {
        return;
    }
    let Some(db) = TestDb::new(Backend::MySql).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let admin = support::create_key(db.store.as_ref(), twooter::domain::Role::Admin).await;
    let instances: Vec<Server> = (0..3)
        .map(|node| {
            let mut command = twooter(dir.path());
            command
                .env("DATABASE_URL", &db.url)
                .env("NODE_ID", node.to_string());
            Server::start(command)
        })
        .collect();
    let bases: Vec<String> = instances.iter().map(|s| s.url("")).collect();
    let upstreams: Vec<String> = instances.iter().map(|s| s.address.to_string()).collect();
    let Some(nginx) = Nginx::start(&upstreams, &Site::PLAIN).await else {
        return;
    };
    let balancer = nginx.url("");
    restarts::wait_ready(&format!("{balancer}/readyz")).await;

    // (written through, message)
    let mut writes: Vec<(Option<usize>, Value)> = Vec::new();
    for i in 0..30 {
        writes.push((
            None,
            post(&balancer, &format!("via the balancer {i}"), "scale").await,
        ));
    }
    for (n, base) in bases.iter().enumerate() {
        for i in 0..5 {
            writes.push((
                Some(n),
                post(base, &format!("via instance {n}, {i}"), "scale").await,
            ));
        }
    }
    // Round robin spread the balancer's writes over all three.
    for base in &bases {
        assert!(
            posted_count(base).await >= 10.0 + 5.0,
            "{base} took no share of the balancer's writes"
        );
    }

    for (writer, message) in &writes {
        let id = message["id"].as_str().unwrap();
        for (n, base) in bases.iter().enumerate() {
            if Some(n) == *writer {
                continue;
            }
            let read: Value = get_json(&format!("{base}/messages/{id}")).await;
            assert_eq!(
                &read, message,
                "instance {n} does not see a write made through {writer:?}"
            );
        }
    }
    let expected_ids: Vec<&str> = {
        let mut ids: Vec<&str> = writes
            .iter()
            .map(|(_, t)| t["id"].as_str().unwrap())
            .collect();
        ids.sort_by_key(|id| std::cmp::Reverse(id.parse::<i64>().unwrap()));
        ids
    };
    for base in bases.iter().chain([&balancer]) {
        let listed: Value = get_json(&format!("{base}/messages?tag=scale&limit=1000")).await;
        let ids: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, expected_ids, "{base} lists something else");
        let stats: Value = get_json_as(&format!("{base}/management/message-stats"), &admin).await;
        let total: i64 = stats
            .as_object()
            .unwrap()
            .values()
            .map(|tags| tags["scale"].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(total, 45, "{base}: {stats}");
    }
}

#[test]
fn the_shipped_nginx_configuration_gets_the_tests_upstreams_and_port() {
    let shipped = include_str!("../../deploy/nginx.conf");
    let upstreams = ["127.0.0.1:1".to_owned(), "127.0.0.1:2".to_owned()];
    let text = nginx::template(shipped, &upstreams, 4321, "pid /x/nginx.pid;\n", "");
    assert!(text.contains("listen 127.0.0.1:4321;"), "{text}");
    assert!(!text.contains("listen 80"), "{text}");
    assert!(!text.contains("resolver "), "{text}");
    assert!(!text.contains("twooter:8000"), "{text}");
    assert!(
        text.contains("server 127.0.0.1:1 max_fails=1 fail_timeout=5s;\nserver 127.0.0.1:2 max_fails=1 fail_timeout=5s;\n"),
        "{text}"
    );
    assert!(text.contains("keepalive 32;"), "{text}");
    assert!(text.contains("proxy_next_upstream"), "{text}");
}
