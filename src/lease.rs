//! Node numbers for ids, leased from the database: an instance claims a free one at start, renews
//! it while it runs and releases it on shutdown, so no two running instances mint ids with the
//! same node number, on any topology. An instance whose lease lapses (it cannot reach the database
//! to renew it) or is taken over stops minting at once; a fleet that numbers its instances itself
//! sets `NODE_ID` instead.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::domain::{IdGenerator, NodeId};
use crate::store::{NodeLeaseRow, Store, StoreError};
use crate::telemetry::ErrorChain;

/// Leases this instance may try in one round of claims before it reads the free ones again.
const CLAIMS_PER_ROUND: usize = 8;
/// Rounds of claims before start-up gives up: only reached when hundreds of instances start at once.
const CLAIM_ROUNDS: usize = 20;
/// How soon a failed renewal is tried again.
const RETRY_RENEWAL_AFTER: Duration = Duration::from_secs(1);

/// Why no node number could be had.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "no node number for ids is free: all 1,024 are leased by running instances (or were \
         contended for {CLAIM_ROUNDS} rounds); stop some, or give a fleet fixed NODE_IDs"
    )]
    NoneFree,
    #[error("cannot lease a node number for ids")]
    Store(#[from] StoreError),
}

/// Where this instance's ids get their node number from.
pub enum IdSource {
    /// `NODE_ID`: the fleet numbers its instances itself.
    Fixed(Arc<IdGenerator>),
    /// A lease renewed in the background.
    Leased(NodeLease),
}

impl IdSource {
    /// The fixed node if one is configured, or else a leased one.
    pub async fn start(
        store: Arc<dyn Store>,
        fixed: Option<NodeId>,
        ttl: Duration,
    ) -> Result<Self, LeaseError> {
        Ok(match fixed {
            Some(node) => Self::Fixed(Arc::new(IdGenerator::new(node))),
            None => Self::Leased(NodeLease::acquire(store, ttl).await?),
        })
    }

    /// The generator that mints with the node while it is held.
    pub fn ids(&self) -> Arc<IdGenerator> {
        match self {
            Self::Fixed(ids) => ids.clone(),
            Self::Leased(lease) => lease.ids(),
        }
    }

    /// The node number held now, if any.
    pub fn node(&self) -> Option<NodeId> {
        self.ids().node()
    }

    /// Gives a leased node back, once no more ids will be minted.
    pub async fn release(self) {
        if let Self::Leased(lease) = self {
            lease.release().await;
        }
    }
}

/// A node number leased from the database and renewed in the background.
pub struct NodeLease {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    renewal: JoinHandle<()>,
}

struct Shared {
    store: Arc<dyn Store>,
    ids: Arc<IdGenerator>,
    holder: String,
    ttl: Duration,
    node: Mutex<Option<NodeId>>,
}

impl NodeLease {
    /// Claims a free node number and starts renewing it every third of `ttl`.
    pub async fn acquire(store: Arc<dyn Store>, ttl: Duration) -> Result<Self, LeaseError> {
        let shared = Arc::new(Shared {
            store,
            ids: Arc::new(IdGenerator::unassigned()),
            holder: holder_name(),
            ttl,
            node: Mutex::new(None),
        });
        shared.claim().await?;
        let (stop, stopped) = watch::channel(false);
        let renewal = tokio::spawn(shared.clone().renew_until(stopped));
        Ok(Self {
            shared,
            stop,
            renewal,
        })
    }

    /// The generator that mints with the leased node while the lease holds.
    pub fn ids(&self) -> Arc<IdGenerator> {
        self.shared.ids.clone()
    }

    /// Stops renewing and gives the node back, recording the last millisecond used so that its
    /// next holder may start at once.
    pub async fn release(self) {
        let _ = self.stop.send(true);
        let _ = self.renewal.await;
        let shared = &self.shared;
        let Some(node) = shared.current() else {
            return;
        };
        let fence = shared.ids.high_water_ms();
        shared.ids.revoke();
        match shared
            .store
            .release_node_lease(node, &shared.holder, fence)
            .await
        {
            Ok(()) => tracing::info!(node = node.get(), "released the node number for ids"),
            Err(error) => tracing::warn!(
                node = node.get(),
                error = %ErrorChain(&error),
                "cannot release the node number; it frees itself when its lease expires"
            ),
        }
    }
}

impl Shared {
    fn current(&self) -> Option<NodeId> {
        *self
            .node
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn set_current(&self, node: Option<NodeId>) {
        *self
            .node
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = node;
        crate::metrics::node_lease(node);
    }

    /// How long a claim or renewal made at some instant lets this instance mint: a tenth less
    /// than the database's own expiry, which is counted from a later moment on another clock.
    fn validity(&self) -> Duration {
        self.ttl - self.ttl / 10
    }

    /// The latest millisecond an id could carry before a lease granted now runs out, with a
    /// second to spare for clocks that run at slightly different rates.
    fn fence_from(&self, floor_ms: i64) -> i64 {
        let ttl_ms = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX / 2);
        self.ids.high_water_ms().max(floor_ms) + ttl_ms + 1000
    }

    /// Claims one of the lowest free node numbers; contended ones are skipped. Low numbers keep
    /// a small fleet's nodes apart in `node % 8` (the counter slot groups of the MySQL store), and
    /// picking at random among the lowest few keeps instances that start together from all
    /// contending for the same row.
    async fn claim(&self) -> Result<NodeId, LeaseError> {
        for _ in 0..CLAIM_ROUNDS {
            let mut free = self.store.expired_node_leases().await?;
            if free.is_empty() {
                return Err(LeaseError::NoneFree);
            }
            free.sort_unstable_by_key(|lease| lease.node.get());
            free.truncate(CLAIMS_PER_ROUND);
            free.shuffle(&mut rand::thread_rng());
            for seen in &free {
                if self.try_claim(seen).await? {
                    return Ok(seen.node);
                }
            }
        }
        Err(LeaseError::NoneFree)
    }

    async fn try_claim(&self, seen: &NodeLeaseRow) -> Result<bool, StoreError> {
        let started = Instant::now();
        // Ids of this node start after every millisecond its last holder may have used.
        let floor_ms = seen.fence_ms + 1;
        let fence = self.fence_from(floor_ms);
        let claimed = self
            .store
            .claim_node_lease(seen, &self.holder, self.ttl, fence)
            .await?;
        if claimed {
            self.ids
                .grant(seen.node, started + self.validity(), floor_ms);
            self.set_current(Some(seen.node));
            tracing::info!(
                node = seen.node.get(),
                holder = %self.holder,
                "leased a node number for ids"
            );
        }
        Ok(claimed)
    }

    /// Renews the lease every third of its time to live until told to stop; claims another node
    /// if this one was taken over.
    async fn renew_until(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let mut wait = self.ttl / 3;
        loop {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stopped.changed() => return,
            }
            wait = match self.renew_once().await {
                Ok(()) => self.ttl / 3,
                Err(error) => {
                    tracing::warn!(
                        error = %ErrorChain(&error),
                        "cannot renew the node number for ids; retrying"
                    );
                    RETRY_RENEWAL_AFTER
                }
            };
        }
    }

    async fn renew_once(&self) -> Result<(), LeaseError> {
        let Some(node) = self.current() else {
            self.claim().await?;
            return Ok(());
        };
        let started = Instant::now();
        let fence = self.fence_from(0);
        let renewed = self
            .store
            .renew_node_lease(node, &self.holder, self.ttl, fence)
            .await?;
        if renewed {
            self.ids.grant(node, started + self.validity(), 0);
            return Ok(());
        }
        self.ids.revoke();
        self.set_current(None);
        tracing::error!(
            node = node.get(),
            "the node number for ids was taken over by another instance; stopped minting with it"
        );
        self.claim().await?;
        Ok(())
    }
}

/// Who holds a lease, for people reading the table: host, process and a random part.
fn holder_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    let host: String = host.chars().take(40).collect();
    format!(
        "{host}/{}/{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}
