//! A three-node MariaDB Galera cluster on loopback, each node a private `mariadbd` with its own
//! ports and data directory. Boots in about 13 s: the first node bootstraps, the other two join
//! through an rsync state transfer.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::mariadb::MariaDb;
use super::spawn::free_port;

const PROVIDER: &str = "/usr/lib/galera/libgalera_smm.so";

/// A running cluster; node `i` is `nodes[i]`.
pub struct Galera {
    pub nodes: Vec<MariaDb>,
}

impl Galera {
    /// Whether a cluster can be started here; outside CI a missing package is a visible skip.
    pub fn available() -> bool {
        if !MariaDb::available() {
            return false;
        }
        let rsync = Command::new("rsync").arg("--version").output().is_ok();
        if Path::new(PROVIDER).exists() && rsync {
            return true;
        }
        super::unavailable::<()>(
            "a Galera cluster",
            "the Debian packages galera-4 and rsync are not installed",
        );
        false
    }

    /// Boots a cluster of `size` nodes and waits until every node is synced.
    pub async fn start(size: usize) -> Self {
        // Three ports a node, all taken at once and all distinct: a port the system hands out
        // free, once released, can come back for the next ask, and a node whose IST port is
        // another's group port cannot join.
        let mut ports = std::collections::BTreeSet::new();
        let mut order = Vec::with_capacity(size * 3);
        while order.len() < size * 3 {
            let port = free_port();
            if ports.insert(port) {
                order.push(port);
            }
        }
        let gcomm: Vec<u16> = order[..size].to_vec();
        let cluster_address = format!(
            "--wsrep-cluster-address=gcomm://{}",
            gcomm
                .iter()
                .map(|port| format!("127.0.0.1:{port}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let cluster_name = format!("twooter-test-{:08x}", rand::random::<u32>());
        let mut nodes = Vec::with_capacity(size);
        for (index, port) in gcomm.iter().enumerate() {
            let (ist, sst) = (order[size + 2 * index], order[size + 2 * index + 1]);
            let args = vec![
                "--wsrep-on=ON".to_owned(),
                format!("--wsrep-provider={PROVIDER}"),
                format!("--wsrep-cluster-name={cluster_name}"),
                cluster_address.clone(),
                format!("--wsrep-node-name=node{}", index + 1),
                format!("--wsrep-node-address=127.0.0.1:{port}"),
                format!(
                    "--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:{port};ist.recv_addr=127.0.0.1:{ist}"
                ),
                format!("--wsrep-sst-receive-address=127.0.0.1:{sst}"),
                "--wsrep-sst-method=rsync".to_owned(),
                "--binlog-format=ROW".to_owned(),
                "--innodb-autoinc-lock-mode=2".to_owned(),
            ];
            // The first node starts from an initialised directory; joiners receive theirs.
            let mut node = MariaDb::prepare(&args, index == 0);
            node.shared_files = true;
            nodes.push(node);
        }
        nodes[0].spawn(&["--wsrep-new-cluster".to_owned()]);
        nodes[0].wait_until_up().await;
        for node in &mut nodes[1..] {
            node.spawn(&[]);
        }
        let mut cluster = Self { nodes };
        for index in 0..size {
            cluster.wait_synced(index).await;
        }
        cluster
    }

    /// Waits until node `index` is a synced member of the primary component.
    pub async fn wait_synced(&mut self, index: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if self.state(index).await.as_deref() == Some("Synced") {
                return;
            }
            let running = self.nodes[index].is_running();
            if !running || Instant::now() >= deadline {
                let what = if running {
                    "did not sync within 120 s"
                } else {
                    "exited"
                };
                panic!("Galera node {} {what}\n{}", index + 1, self.logs());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The end of every node's error log: a state transfer fails on the donor as often as on the
    /// joiner.
    fn logs(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(index, node)| format!("--- node {}:\n{}", index + 1, node.log_tail()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Node `index`'s `wsrep_local_state_comment` (`Synced`, `Joining`, ...), if it answers.
    pub async fn state(&self, index: usize) -> Option<String> {
        self.status(index, "wsrep_local_state_comment").await
    }

    /// One `SHOW STATUS` value of node `index`, if it answers.
    pub async fn status(&self, index: usize, name: &'static str) -> Option<String> {
        use sqlx::{Connection, Row};
        let url = format!("mysql://root@127.0.0.1:{}", self.nodes[index].port);
        let mut connection = sqlx::MySqlConnection::connect(&url).await.ok()?;
        // The text protocol: SHOW takes no placeholders.
        let show = sqlx::AssertSqlSafe(format!("SHOW STATUS LIKE '{name}'"));
        let row = sqlx::raw_sql(show).fetch_optional(&mut connection).await;
        let _ = connection.close().await;
        row.ok()??.try_get::<String, _>(1).ok()
    }

    /// Kills node `index` with SIGKILL, as a crash.
    pub fn kill(&mut self, index: usize) {
        self.nodes[index].kill();
    }

    /// Starts node `index` again; it rejoins the cluster (by incremental or full state transfer)
    /// and this returns once it is synced.
    pub async fn rejoin(&mut self, index: usize) {
        self.nodes[index].spawn(&[]);
        self.wait_synced(index).await;
    }
}
