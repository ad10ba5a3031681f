//! Node numbers for ids are leased: fifty instances started at once hold fifty different ones; an
//! instance whose lease lapses or is taken over stops minting with it; the next holder of a node
//! mints above every millisecond its last holder could have used; an instance whose clock is far
//! behind the newest stored id refuses to start.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use twooter::domain::{IdGenerator, MessageId, NodeId};
use twooter::lease::NodeLease;
use twooter::store::{self, PoolConfig, Store};

use crate::support::proxy::Proxy;
use crate::support::servers::instance::Instance;
use crate::support::servers::mariadb::MariaDb;

const TTL: Duration = Duration::from_secs(3);

/// A database for the lease tests: a SQLite file, or a private MariaDB.
enum Backend {
    Sqlite(tempfile::TempDir),
    MySql(MariaDb),
}

impl Backend {
    async fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().unwrap())
    }

    async fn mysql() -> Option<Self> {
        if !MariaDb::available() {
            return None;
        }
        let server = MariaDb::start(&[]).await;
        server.execute("CREATE DATABASE twooter").await;
        Some(Self::MySql(server))
    }

    fn url(&self) -> String {
        match self {
            Self::Sqlite(dir) => format!("sqlite:{}", dir.path().join("twooter.db").display()),
            Self::MySql(server) => server.url("twooter"),
        }
    }

    /// A migrated store of its own, as one more instance would open.
    async fn store(&self) -> Arc<dyn Store> {
        self.store_at(&self.url()).await
    }

    async fn store_at(&self, url: &str) -> Arc<dyn Store> {
        let pool = PoolConfig {
            max_connections: 2,
            ..PoolConfig::default()
        };
        let store = store::connect(url, &pool).await.unwrap();
        store.migrate().await.unwrap();
        store
    }
}

fn node_of(id: MessageId) -> u16 {
    id.node().get()
}

async fn fifty_instances_hold_fifty_nodes(backend: Backend) {
    backend.store().await; // migrated once, before the crowd arrives
    let mut starting = Vec::new();
    for _ in 0..50 {
        let store = backend.store().await;
        starting.push(tokio::spawn(async move {
            NodeLease::acquire(store, TTL).await.unwrap()
        }));
    }
    let mut leases = Vec::new();
    for start in starting {
        leases.push(start.await.unwrap());
    }
    let nodes: HashSet<u16> = leases
        .iter()
        .map(|lease| lease.ids().node().unwrap().get())
        .collect();
    assert_eq!(nodes.len(), 50, "two instances share a node: {nodes:?}");
    for lease in leases {
        lease.release().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_instances_started_at_once_hold_fifty_nodes_on_sqlite() {
    fifty_instances_hold_fifty_nodes(Backend::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_instances_started_at_once_hold_fifty_nodes_on_mysql() {
    if let Some(backend) = Backend::mysql().await {
        fifty_instances_hold_fifty_nodes(backend).await;
    }
}

/// Leaves only `node` free, so that the next claim must take it.
async fn hold_all_but(store: &dyn Store, node: u16) {
    for row in store.expired_node_leases().await.unwrap() {
        if row.node.get() != node {
            assert!(store
                .claim_node_lease(&row, "someone else", Duration::from_secs(3600), 0)
                .await
                .unwrap());
        }
    }
}

#[tokio::test]
async fn a_lapsed_lease_stops_minting_and_its_next_holder_mints_above() {
    let Some(backend) = Backend::mysql().await else {
        return;
    };
    let Backend::MySql(server) = &backend else {
        unreachable!()
    };
    let direct = backend.store().await;
    hold_all_but(direct.as_ref(), 7).await;
    // The first instance reaches the database through a connection the test can cut.
    let proxy = Proxy::start(server.address()).await;
    let first_url = format!("mysql://root@{}/twooter", proxy.address);
    let first = NodeLease::acquire(backend.store_at(&first_url).await, TTL)
        .await
        .unwrap();
    let ids = first.ids();
    assert_eq!(ids.node(), NodeId::new(7));
    let last_minted = ids.next_id().unwrap();

    proxy.cut();
    tokio::time::sleep(TTL).await;
    assert!(
        ids.next_id().is_err(),
        "an instance must stop minting once its lease lapses"
    );

    // The database's clock has run past the expiry: the node is free, and goes to the next
    // instance, which mints above everything its last holder may have used.
    let second = NodeLease::acquire(backend.store().await, TTL)
        .await
        .unwrap();
    assert_eq!(second.ids().node(), NodeId::new(7));
    let next = second.ids().next_id().unwrap();
    assert!(next > last_minted);
    assert_eq!(node_of(next), 7);
    second.release().await;
    drop(first);
}

async fn a_taken_over_lease_stops_minting(backend: Backend) {
    let lease = NodeLease::acquire(backend.store().await, TTL)
        .await
        .unwrap();
    let ids: Arc<IdGenerator> = lease.ids();
    let taken = ids.node().unwrap();

    // Somebody overwrites the row, as a mistaken operator or a restored backup would.
    sqlx_take_over(&backend, taken).await;

    // Within a renewal interval the instance notices, stops minting with the node and takes
    // another one.
    let deadline = std::time::Instant::now() + TTL;
    loop {
        match ids.next_id() {
            Ok(id) if node_of(id) != taken.get() => break,
            _ => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the instance kept node {taken:?} after it was taken over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(ids.node(), Some(taken));
    lease.release().await;
}

/// Writes another holder into `node`'s row, bypassing the compare-and-set.
async fn sqlx_take_over(backend: &Backend, node: NodeId) {
    let sql = "UPDATE node_leases SET holder = 'intruder', expires_at = expires_at + 3600000 \
               WHERE node = ?";
    match backend {
        Backend::Sqlite(_) => {
            let pool = sqlx::SqlitePool::connect(&backend.url()).await.unwrap();
            sqlx::query(sql)
                .bind(i64::from(node.get()))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        Backend::MySql(_) => {
            let pool = sqlx::MySqlPool::connect(&backend.url()).await.unwrap();
            sqlx::query(sql)
                .bind(i64::from(node.get()))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

#[tokio::test]
async fn a_taken_over_lease_stops_minting_on_sqlite() {
    a_taken_over_lease_stops_minting(Backend::sqlite().await).await;
}

#[tokio::test]
async fn a_taken_over_lease_stops_minting_on_mysql() {
    if let Some(backend) = Backend::mysql().await {
        a_taken_over_lease_stops_minting(backend).await;
    }
}

#[tokio::test]
async fn a_released_node_is_free_at_once() {
    let backend = Backend::sqlite().await;
    let store = backend.store().await;
    hold_all_but(store.as_ref(), 300).await;
    let first = NodeLease::acquire(backend.store().await, TTL)
        .await
        .unwrap();
    let minted = first.ids().next_id().unwrap();
    first.release().await;
    let second = NodeLease::acquire(backend.store().await, TTL)
        .await
        .unwrap();
    assert_eq!(second.ids().node(), NodeId::new(300));
    assert!(second.ids().next_id().unwrap() > minted);
    second.release().await;
}

#[tokio::test]
async fn an_instance_with_no_free_node_does_not_start() {
    let backend = Backend::sqlite().await;
    let store = backend.store().await;
    hold_all_but(store.as_ref(), 1024).await;
    let error = Instance::try_start(&backend.url(), &[])
        .await
        .err()
        .unwrap();
    assert!(
        format!("{error:#}").contains("NODE_ID"),
        "the error says what to do: {error:#}"
    );
}

#[tokio::test]
async fn an_instance_whose_clock_is_far_behind_the_newest_id_does_not_start() {
    let backend = Backend::sqlite().await;
    let store = backend.store().await;
    let hour_ahead = chrono::Utc::now() + chrono::Duration::hours(1);
    let id =
        MessageId::from_parts(hour_ahead.timestamp_millis(), NodeId::new(9).unwrap(), 0).unwrap();
    store
        .insert(&twooter::domain::NewMessage {
            id,
            text: twooter::domain::MessageText::parse("From the future").unwrap(),
            tag: twooter::domain::Tag::parse("time").unwrap(),
            timestamp: id.timestamp(),
        })
        .await
        .unwrap();
    let error = Instance::try_start(&backend.url(), &[])
        .await
        .err()
        .unwrap();
    let error = format!("{error:#}");
    assert!(error.contains("MAX_CLOCK_SKEW"), "{error}");
    // A fleet that tolerates the skew says so.
    Instance::start(&backend.url(), &[("MAX_CLOCK_SKEW", "2h")])
        .await
        .stop()
        .await;
}
