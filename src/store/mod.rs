//! Where twoots live: the [`Store`] trait, one implementation per database, picked from the URL.
//!
//! Every backend keeps three tables: `messages`, read by primary key or by the `(tag, id)` index;
//! `message_counts`, the number of twoots per (year, tag) kept up to date in the same transaction
//! as every write, so statistics never scan `messages`; and `node_leases`, which instance holds
//! which node number of the ids.
//!
//! This module is a ground floor: it imports the domain and nothing else of the crate.

mod counts;
mod faults;
mod fresh_ids;
mod idempotency;
mod keys;
mod leases;
mod mysql;
mod posts;
mod rows;
pub mod sql;
mod sqlite;
mod writes;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{Message, MessageId, NewMessage, NodeId, Role, SecretHash, Tag};

pub use fresh_ids::{with_fresh_ids, TakenId, ID_ATTEMPTS};
pub use mysql::MySqlStore;
pub use posts::{IdempotentPost, Post};
pub use sqlite::SqliteStore;

use writes::{count_increments, duplicate_or, place};

/// What a store can fail with. Callers branch on the first two; the rest are bugs or outages.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The id is taken: make a new one and try again.
    #[error("message id {0} is already taken")]
    DuplicateId(MessageId),
    /// The database cannot serve now: unreachable, out of connections, busy, locked, read-only,
    /// or out of its cluster's primary component. Worth trying again later.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// The database accepts reads but refuses writes (`read_only`, as after a failover).
    #[error("the database is read-only")]
    ReadOnly,
    /// This Galera node is not a ready member of the cluster's primary component.
    #[error("the database node is not in its cluster's primary component")]
    NotInCluster,
    /// Any other database failure.
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// A post could not commit before its deadline and was rolled back: committing it later
    /// would put it below ids that catching-up clients have already read past.
    #[error("the post could not be committed within its deadline")]
    PastCommitDeadline,
    /// Migrations could not be applied.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The failure of one operation, told to each request that waited on it: a transaction
    /// that held several posts, or one look-up of a key.
    #[error(transparent)]
    Shared(Arc<StoreError>),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if faults::is_outage(&error) {
            Self::Unavailable(error)
        } else {
            Self::Database(error)
        }
    }
}

impl StoreError {
    /// Whether the database cannot serve now, as opposed to a bug: the request is answered 503.
    pub fn is_outage(&self) -> bool {
        match self {
            Self::Shared(error) => error.is_outage(),
            _ => matches!(
                self,
                Self::Unavailable(_)
                    | Self::ReadOnly
                    | Self::NotInCluster
                    | Self::PastCommitDeadline
            ),
        }
    }
}

/// Which slice of the newest-first timeline to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// Only twoots with this tag.
    pub tag: Option<Tag>,
    /// Only twoots older than this id.
    pub before: Option<MessageId>,
    /// Only twoots newer than this id; the page then holds those *just* newer than it.
    pub after: Option<MessageId>,
    /// At most this many twoots.
    pub limit: u32,
}

/// How many twoots one tag got in one year.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct YearTagCount {
    pub year: i32,
    pub tag: String,
    pub count: i64,
}

/// A year's twoots per tag, as the counters say and as `messages` holds them, read at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YearAudit {
    pub counters: BTreeMap<String, i64>,
    pub counted: BTreeMap<String, i64>,
}

/// One row of `node_leases` as read, the version a claim compares against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLeaseRow {
    pub node: NodeId,
    /// Who held it last (empty if nobody ever did).
    pub holder: String,
    /// When the last holder's lease ended or ends, in ms on the database's clock.
    pub expires_at: i64,
    /// The latest millisecond the last holder may have put into an id.
    pub fence_ms: i64,
}

/// One row of `api_keys`: a key as stored, its secret only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    /// The public part of the key.
    pub id: String,
    /// Whom or what the key is for.
    pub name: String,
    pub role: Role,
    /// The SHA-256 of the key's secret.
    pub secret: SecretHash,
    /// When it was made, in ms since the Unix epoch.
    pub created_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// The answer first given to a POST that carried an Idempotency-Key, kept with its twoot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentResponse {
    /// Whose key it is: the API key's id, or `""` for a client without one.
    pub client: String,
    /// The Idempotency-Key header's value.
    pub key: String,
    /// The SHA-256 of the request body, to tell a retry from another request reusing the key.
    pub request_sha256: [u8; 32],
    pub status: u16,
    /// The response body, as sent.
    pub body: String,
    /// When the first request was answered, in ms since the Unix epoch.
    pub created_at: i64,
}

/// What became of a post made under an Idempotency-Key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotentInsert {
    /// The twoot and its answer were stored together.
    Stored,
    /// The key was used before (and has not expired): here is the answer then given, and no
    /// twoot was stored now.
    Existing(IdempotentResponse),
    /// Another request with the key was being stored at the same moment and did not commit.
    Conflict,
}

/// Connection pool settings shared by every backend.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Most connections open at once.
    pub max_connections: u32,
    /// Longest wait for a free connection before a request fails with 503.
    pub acquire_timeout: Duration,
    /// Tune for loading many rows (`import`, `seed`) rather than for serving.
    pub bulk_load: bool,
    /// On a Galera cluster, make every read wait for the commits the cluster made before it, so
    /// that a write through one node is read through any other.
    pub read_your_writes: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
            bulk_load: false,
            read_your_writes: true,
        }
    }
}

/// Pool usage, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// The storage operations Twooter needs, one method per query.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The backend's name, for logs and metrics: `sqlite` or `mysql`.
    fn backend(&self) -> &'static str;

    /// Applies this backend's migrations that have not run yet.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Stores one twoot and counts it, atomically.
    async fn insert(&self, message: &NewMessage) -> Result<(), StoreError>;

    /// Stores many twoots and counts them in one transaction: all land, or none do.
    async fn insert_batch(&self, messages: &[NewMessage]) -> Result<(), StoreError>;

    /// Stores, in one transaction with their counts, those of `messages` whose id is free, and
    /// says for each what became of it: how an import recognises the rows an earlier run stored.
    async fn insert_missing(&self, messages: &[NewMessage]) -> Result<Vec<Placement>, StoreError>;

    /// One twoot by id.
    async fn get(&self, id: MessageId) -> Result<Option<Message>, StoreError>;

    /// A page of the timeline, newest first.
    async fn page(&self, query: &PageQuery) -> Result<Vec<Message>, StoreError>;

    /// Twoot counts per (year, tag) for the years in `start..=end`, ordered by year then tag.
    async fn stats(&self, start: i32, end: i32) -> Result<Vec<YearTagCount>, StoreError>;

    /// One tag's twoot counts per year for the years in `start..=end`, ordered by year.
    async fn tag_stats(
        &self,
        tag: &Tag,
        start: i32,
        end: i32,
    ) -> Result<Vec<(i32, i64)>, StoreError>;

    /// The years to check in a recount: those with counters, and those between the oldest and
    /// the newest message.
    async fn count_years(&self) -> Result<Vec<i32>, StoreError>;

    /// What the counters say and what `messages` holds for `year`, per tag, from one snapshot.
    async fn audit_year(&self, year: i32) -> Result<YearAudit, StoreError>;

    /// Sets the counter of (`year`, `tag`) to its number of messages, holding it against
    /// concurrent posts while it counts: the counter before and the count.
    async fn repair_count(&self, year: i32, tag: &str) -> Result<(i64, i64), StoreError>;

    /// Whether no twoot is stored.
    async fn is_empty(&self) -> Result<bool, StoreError>;

    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Succeeds when the database would take a write now: it answers, is not read-only, and (on a
    /// cluster) this node is in the primary component.
    async fn check_writable(&self) -> Result<(), StoreError>;

    /// The largest stored message id, if any.
    async fn newest_id(&self) -> Result<Option<MessageId>, StoreError>;

    /// The node leases that have expired on the database's clock: the ones free to claim.
    async fn expired_node_leases(&self) -> Result<Vec<NodeLeaseRow>, StoreError>;

    /// Claims the lease `seen` for `holder` until `ttl` from now on the database's clock, if it is
    /// still exactly as seen (nobody claimed it meanwhile). Whether it was claimed.
    async fn claim_node_lease(
        &self,
        seen: &NodeLeaseRow,
        holder: &str,
        ttl: Duration,
        fence_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Extends `holder`'s lease of `node` to `ttl` from now. False when `holder` no longer holds it.
    async fn renew_node_lease(
        &self,
        node: NodeId,
        holder: &str,
        ttl: Duration,
        fence_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Ends `holder`'s lease of `node` now, so another instance may claim it at once; `fence_ms` is
    /// the last millisecond `holder` put into an id.
    async fn release_node_lease(
        &self,
        node: NodeId,
        holder: &str,
        fence_ms: i64,
    ) -> Result<(), StoreError>;

    /// Stores live `posts` in one transaction with one durable commit, each with its counts and,
    /// under an Idempotency-Key, its answer: all or nothing, and each post's outcome in order. A
    /// post whose client used its key after `live_after_ms` is not stored; its outcome is the
    /// answer then given ([`IdempotentInsert::Existing`]). An older use of the key is replaced.
    /// Rolled back with [`StoreError::PastCommitDeadline`] when the commit would start after the
    /// earliest `commit_by` of them: clients that catch up by id rely on no twoot committing long
    /// after its id was made. A taken id fails the whole call
    /// with [`StoreError::DuplicateId`] naming one of its posts, not necessarily the one whose id
    /// was taken: storing the posts one at a time tells which.
    async fn insert_posts(&self, posts: &[Post]) -> Result<Vec<IdempotentInsert>, StoreError>;

    /// Deletes up to `limit` idempotency records made before `before_ms`; how many it deleted.
    async fn purge_idempotency(&self, before_ms: i64, limit: u32) -> Result<u64, StoreError>;

    /// Stores a new API key.
    async fn create_api_key(&self, key: &ApiKeyRow) -> Result<(), StoreError>;

    /// One API key by its public id, revoked or not.
    async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRow>, StoreError>;

    /// Every API key, oldest first.
    async fn api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError>;

    /// Revokes the key `id` as of `at_ms`; false when there is no such key or it was revoked.
    async fn revoke_api_key(&self, id: &str, at_ms: i64) -> Result<bool, StoreError>;

    /// Connection pool usage.
    fn pool_stats(&self) -> PoolStats;

    /// Closes every connection, waiting for those in use to be returned.
    async fn close(&self);
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported database URL scheme {0:?}: use sqlite:, mysql: or mariadb:")]
    UnsupportedScheme(String),
    /// The URL cannot be read, or names a setting with a value that does not exist.
    #[error("{0}")]
    Url(#[source] sqlx::Error),
    /// The server refused or could not be reached; the TLS mode in force is part of the story.
    #[error("cannot connect with ssl-mode={ssl_mode}")]
    Connect {
        ssl_mode: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens the store the URL names: `sqlite:` for the embedded database, `mysql:`/`mariadb:` for
/// MySQL, MariaDB, Galera, Vitess and PlanetScale.
pub async fn connect(url: &str, pool: &PoolConfig) -> Result<Arc<dyn Store>, ConnectError> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Arc::new(SqliteStore::connect(url, pool).await?)),
        "mysql" => Ok(Arc::new(MySqlStore::connect(url, pool).await?)),
        "mariadb" => {
            let url = format!("mysql{}", &url["mariadb".len()..]);
            Ok(Arc::new(MySqlStore::connect(&url, pool).await?))
        }
        other => Err(ConnectError::UnsupportedScheme(other.to_owned())),
    }
}

/// What [`Store::insert_missing`] did with one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Stored now.
    Stored,
    /// A twoot with this id, text and tag was already stored.
    AlreadyStored,
    /// The id belongs to a different twoot (or to an earlier row of the same call).
    IdTaken,
}
