//! Twooter on a three-node MariaDB Galera cluster, one instance per node: a node killed under
//! load loses no acknowledged twoot and its instance answers 503 until the node rejoins; a twoot
//! posted through one node is read through another at once; certification conflicts never reach
//! a client; a node cut off from the primary component makes its instance unready; fifty
//! instances lease fifty node numbers across the cluster.
//!
//! Each test boots its own cluster (about 13 s), so tests are independent; the test runner runs
//! them one at a time (see `.config/nextest.toml`).

#[path = "../support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::{Connection, MySqlConnection};

use support::servers::galera::Galera;
use support::servers::instance::{self, Instance};

/// A booted cluster with a `twooter` database and an instance on every node, or `None` when
/// Galera cannot run here outside CI.
async fn cluster_with_instances(settings: &[(&str, &str)]) -> Option<(Galera, Vec<Instance>)> {
    if !Galera::available() {
        return None;
    }
    let cluster = Galera::start(3).await;
    cluster.nodes[0].execute("CREATE DATABASE twooter").await;
    let mut instances = Vec::new();
    for node in &cluster.nodes {
        instances.push(Instance::start(&node.url("twooter"), settings).await);
    }
    Some((cluster, instances))
}

async fn post(
    client: &reqwest::Client,
    instance: &Instance,
    text: &str,
    tag: &str,
) -> (u16, Value) {
    match client
        .post(instance.url("/messages"))
        .json(&json!({"text": text, "tag": tag}))
        .send()
        .await
    {
        Ok(reply) => {
            let status = reply.status().as_u16();
            (status, reply.json().await.unwrap_or(Value::Null))
        }
        // The client gave up: the post may or may not have landed, and was not acknowledged.
        Err(_) => (0, Value::Null),
    }
}

async fn status_of(client: &reqwest::Client, url: &str) -> u16 {
    client
        .get(url)
        .send()
        .await
        .map_or(0, |reply| reply.status().as_u16())
}

/// Reads `sql` on node `index` directly, waiting for the cluster's earlier commits first.
async fn read_on_node<T>(cluster: &Galera, index: usize, sql: &'static str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::mysql::MySqlRow> + Send + Unpin,
{
    let mut connection = MySqlConnection::connect(&cluster.nodes[index].url("twooter"))
        .await
        .unwrap();
    sqlx::query("SET SESSION wsrep_sync_wait = 1")
        .execute(&mut connection)
        .await
        .unwrap();
    let rows = sqlx::query_as::<_, T>(sql)
        .fetch_all(&mut connection)
        .await
        .unwrap();
    let _ = connection.close().await;
    rows
}

/// Counts per (year, tag) from the counters and from the rows, on node `index`.
async fn counts_agree(cluster: &Galera, index: usize) {
    let counters: Vec<(i16, String, i64)> = read_on_node(
        cluster,
        index,
        "SELECT year, tag, CAST(SUM(count) AS SIGNED) FROM message_counts \
         GROUP BY year, tag HAVING SUM(count) > 0 ORDER BY year, tag",
    )
    .await;
    let rows: Vec<(i16, String, i64)> = read_on_node(
        cluster,
        index,
        "SELECT CAST(YEAR(created_at) AS SIGNED), tag, COUNT(*) FROM messages \
         GROUP BY YEAR(created_at), tag ORDER BY 1, 2",
    )
    .await;
    assert_eq!(
        counters,
        rows,
        "node {}: counters differ from the rows",
        index + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_under_load_loses_no_acknowledged_post() {
    let Some((mut cluster, instances)) = cluster_with_instances(&[
        ("DATABASE_ACQUIRE_TIMEOUT", "1s"),
        ("REQUEST_TIMEOUT", "5s"),
    ])
    .await
    else {
        return;
    };
    let instances = Arc::new(instances);
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let statuses = Arc::new(Mutex::new(BTreeMap::<(usize, u16), u32>::new()));
    let running = Arc::new(AtomicBool::new(true));
    let mut clients = Vec::new();
    for client_number in 0..9 {
        let (instances, acknowledged, statuses, running) = (
            instances.clone(),
            acknowledged.clone(),
            statuses.clone(),
            running.clone(),
        );
        clients.push(tokio::spawn(async move {
            let client = instance::client(Duration::from_secs(10));
            let target = client_number % 3;
            let mut n = 0;
            while running.load(Ordering::Relaxed) {
                n += 1;
                let tag = ["coffee", "hiking", "jazz"][n % 3];
                let text = format!("client {client_number} post {n}");
                let (status, body) = post(&client, &instances[target], &text, tag).await;
                *statuses
                    .lock()
                    .unwrap()
                    .entry((target, status))
                    .or_default() += 1;
                if status == 201 {
                    acknowledged
                        .lock()
                        .unwrap()
                        .push(body["id"].as_str().unwrap().to_owned());
                } else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.kill(2);
    let killed_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    running.store(false, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }

    // Never a 500. While the cluster evicts the dead node, the survivors hold commits back for a
    // moment, and a request that waits past REQUEST_TIMEOUT is a 503, to be retried.
    let statuses = statuses.lock().unwrap().clone();
    for ((target, status), count) in &statuses {
        assert!(
            matches!(status, 201 | 503 | 0),
            "instance {} answered {status} {count} times: {statuses:?}",
            target + 1
        );
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 100, "too little load: {statuses:?}");

    // Every acknowledged post is on both survivors, and the counters match the rows.
    for survivor in [0, 1] {
        let stored: HashSet<String> =
            read_on_node::<(i64,)>(&cluster, survivor, "SELECT id FROM messages")
                .await
                .into_iter()
                .map(|(id,)| id.to_string())
                .collect();
        let missing: Vec<&String> = acknowledged
            .iter()
            .filter(|id| !stored.contains(*id))
            .collect();
        assert!(
            missing.is_empty(),
            "node {}: lost {missing:?}",
            survivor + 1
        );
        counts_agree(&cluster, survivor).await;
    }

    // The instance on the dead node is not ready and refuses posts with 503.
    let client = instance::client(Duration::from_secs(10));
    assert_eq!(status_of(&client, &instances[2].url("/readyz")).await, 503);
    assert_eq!(
        post(&client, &instances[2], "anyone?", "coffee").await.0,
        503
    );

    // The node rejoins (by incremental state transfer) and its instance recovers by itself.
    cluster.rejoin(2).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while status_of(&client, &instances[2].url("/readyz")).await != 200 {
        assert!(
            Instant::now() < deadline,
            "the instance did not become ready again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, body) = post(&client, &instances[2], "back again", "coffee").await;
    assert_eq!(status, 201, "{body}");
    let on_rejoined: Vec<(i64,)> = read_on_node(&cluster, 2, "SELECT COUNT(*) FROM messages").await;
    assert!(on_rejoined[0].0 as usize > acknowledged.len());
    counts_agree(&cluster, 2).await;
    eprintln!(
        "killed node 3 after 3 s of load; {} posts acknowledged, statuses {statuses:?}; \
         node 3 was back {:.1} s after the kill",
        acknowledged.len(),
        killed_at.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_through_one_node_is_read_through_another_at_once() {
    let Some((_cluster, instances)) = cluster_with_instances(&[]).await else {
        return;
    };
    let client = instance::client(Duration::from_secs(10));
    let (writer, reader) = (&instances[0], &instances[1]);
    for n in 0..1000 {
        let (status, posted) = post(&client, writer, &format!("read me {n}"), "ryw").await;
        assert_eq!(status, 201, "{posted}");
        let id = posted["id"].as_str().unwrap();
        let by_id = client
            .get(reader.url(&format!("/messages/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            by_id.status(),
            200,
            "post {n}: not found by id on the other node"
        );
        let page: Value = client
            .get(reader.url("/messages?tag=ryw&limit=1"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            page[0]["id"], id,
            "post {n}: not the newest of its tag on the other node"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn certification_conflicts_on_a_hot_tag_never_reach_a_client() {
    let Some((cluster, instances)) = cluster_with_instances(&[]).await else {
        return;
    };
    let instances = Arc::new(instances);
    let mut posting = Vec::new();
    for client_number in 0..24 {
        let instances = instances.clone();
        posting.push(tokio::spawn(async move {
            let client = instance::client(Duration::from_secs(30));
            let mut statuses = Vec::new();
            for n in 0..25 {
                let target = &instances[(client_number + n) % 3];
                statuses.push(post(&client, target, "hot", "hot").await.0);
            }
            statuses
        }));
    }
    let mut created = 0;
    for task in posting {
        for status in task.await.unwrap() {
            assert_eq!(status, 201, "a post on a hot tag was not stored");
            created += 1;
        }
    }
    let conflicts = cluster.status(0, "wsrep_local_cert_failures").await;
    let stored: Vec<(i64,)> = read_on_node(
        &cluster,
        2,
        "SELECT COUNT(*) FROM messages WHERE tag = 'hot'",
    )
    .await;
    assert_eq!(stored[0].0, created);
    counts_agree(&cluster, 0).await;
    eprintln!(
        "{created} posts on one tag through 3 nodes; node 1 certification failures: {conflicts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_the_primary_component_makes_its_instance_unready() {
    let Some((cluster, instances)) = cluster_with_instances(&[]).await else {
        return;
    };
    let client = instance::client(Duration::from_secs(10));
    let isolated = &instances[2];
    assert_eq!(status_of(&client, &isolated.url("/readyz")).await, 200);

    cluster.nodes[2]
        .execute("SET GLOBAL wsrep_provider_options = 'gmcast.isolate = 1'")
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while status_of(&client, &isolated.url("/readyz")).await != 503 {
        assert!(
            Instant::now() < deadline,
            "an isolated node's instance stayed ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reply = client
        .post(isolated.url("/messages"))
        .json(&json!({"text": "alone", "tag": "island"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 503);
    assert_eq!(reply.headers()["retry-after"], "1");
    // The other two nodes keep the primary component and serve.
    assert_eq!(
        post(&client, &instances[0], "still here", "island").await.0,
        201
    );

    cluster.nodes[2]
        .execute("SET GLOBAL wsrep_provider_options = 'gmcast.isolate = 0'")
        .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while status_of(&client, &isolated.url("/readyz")).await != 200 {
        assert!(
            Instant::now() < deadline,
            "the node's instance did not recover"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(post(&client, isolated, "back", "island").await.0, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_instances_across_the_cluster_hold_fifty_nodes() {
    if !Galera::available() {
        return;
    }
    let cluster = Galera::start(3).await;
    cluster.nodes[0].execute("CREATE DATABASE twooter").await;
    let pool = twooter::store::PoolConfig {
        max_connections: 2,
        ..Default::default()
    };
    let first = twooter::store::connect(&cluster.nodes[0].url("twooter"), &pool)
        .await
        .unwrap();
    first.migrate().await.unwrap();
    let mut starting = Vec::new();
    for n in 0..50 {
        let url = cluster.nodes[n % 3].url("twooter");
        let pool = pool.clone();
        starting.push(tokio::spawn(async move {
            let store = twooter::store::connect(&url, &pool).await.unwrap();
            twooter::lease::NodeLease::acquire(store, Duration::from_secs(30))
                .await
                .unwrap()
        }));
    }
    let mut nodes = HashSet::new();
    let mut leases = Vec::new();
    for start in starting {
        let lease = start.await.unwrap();
        assert!(nodes.insert(lease.ids().node().unwrap().get()));
        leases.push(lease);
    }
    assert_eq!(nodes.len(), 50);
    // The table agrees, read on the third node.
    let held: Vec<(i64,)> = read_on_node(
        &cluster,
        2,
        "SELECT COUNT(*) FROM node_leases WHERE expires_at > UNIX_TIMESTAMP(NOW(3)) * 1000",
    )
    .await;
    assert_eq!(held[0].0, 50);
    for lease in leases {
        lease.release().await;
    }
}
