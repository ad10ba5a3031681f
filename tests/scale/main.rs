//! Horizontal scale: three instances of the binary on one MariaDB behind a real nginx on
//! loopback. Writes go through the balancer and through each instance; every write reads back
//! through every other instance, so nothing lives in one instance.

#[path = "../support/mod.rs"]
mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::process::{get_json, get_json_as, twooter, Server};
use crate::support::{Backend, TestDb};

/// nginx from the system, or `None` (with a line saying so) outside CI.
fn nginx() -> Option<String> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    match found {
        Some(path) => Some(path.to_owned()),
        None if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!(
                "SKIPPED: load-balancer test, nginx is not installed (apt-get install nginx-light)"
            );
            None
        }
        None => panic!("nginx is required in CI"),
    }
}

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_nginx(binary: &str, dir: &std::path::Path, upstreams: &[String], port: u16) -> Nginx {
    let servers: String = upstreams.iter().map(|a| format!("server {a};\n")).collect();
    let dir = dir.display();
    let config = format!(
        "user root;\nworker_processes 1;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n access_log off;\n client_body_temp_path {dir}/body;\n proxy_temp_path {dir}/proxy;\n\
         fastcgi_temp_path {dir}/fastcgi;\n uwsgi_temp_path {dir}/uwsgi;\n scgi_temp_path {dir}/scgi;\n\
         upstream twooter {{\n{servers} }}\n\
         server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://twooter; proxy_set_header X-Request-Id $request_id; }} }}\n}}\n"
    );
    let path = format!("{dir}/nginx.conf");
    std::fs::write(&path, config).unwrap();
    let child = Command::new(binary)
        .args(["-c", &path, "-p", &dir.to_string(), "-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Nginx(child)
}

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
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("twooter_twoots_posted_total "))
        .map_or(0.0, |n| n.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_nginx_share_everything() {
    let Some(nginx_binary) = nginx() else { return };
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
    let port = free_port();
    let _nginx = start_nginx(
        &nginx_binary,
        dir.path(),
        &instances
            .iter()
            .map(|s| s.address.to_string())
            .collect::<Vec<_>>(),
        port,
    );
    let balancer = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while reqwest::get(format!("{balancer}/readyz"))
        .await
        .map(|r| r.status().as_u16())
        .ok()
        != Some(200)
    {
        assert!(Instant::now() < deadline, "nginx did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

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
