//! Where twoots live: the [`Store`] trait, one implementation per database, picked from the URL.
//!
//! Every backend keeps two tables: `messages`, read by primary key or by the `(tag, id)` index, and
//! `message_counts`, the number of twoots per (year, tag) kept up to date in the same transaction
//! as every write, so statistics never scan `messages`.

mod fresh_ids;
mod mysql;
mod rows;
pub mod sql;
mod sqlite;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Datelike;

use crate::domain::{Message, MessageId, NewMessage, Tag};

pub use fresh_ids::{insert_with_fresh_ids, ID_ATTEMPTS};
pub use mysql::MySqlStore;
pub use sqlite::SqliteStore;

/// What a store can fail with. Callers branch on the first two; the rest are bugs or outages.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The id is taken: make a new one and try again.
    #[error("message id {0} is already taken")]
    DuplicateId(MessageId),
    /// The database cannot be reached or has no free connection in time.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database failure.
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// Migrations could not be applied.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error),
            other => Self::Database(other),
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

/// Connection pool settings shared by every backend.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Most connections open at once.
    pub max_connections: u32,
    /// Longest wait for a free connection before a request fails with 503.
    pub acquire_timeout: Duration,
    /// Tune for loading many rows (`import`, `seed`) rather than for serving.
    pub bulk_load: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
            bulk_load: false,
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

    /// One twoot by id.
    async fn get(&self, id: MessageId) -> Result<Option<Message>, StoreError>;

    /// A page of the timeline, newest first.
    async fn page(&self, query: &PageQuery) -> Result<Vec<Message>, StoreError>;

    /// Twoot counts per (year, tag) for the years in `start..=end`, ordered by year then tag.
    async fn stats(&self, start: i32, end: i32) -> Result<Vec<YearTagCount>, StoreError>;

    /// Whether no twoot is stored.
    async fn is_empty(&self) -> Result<bool, StoreError>;

    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Connection pool usage.
    fn pool_stats(&self) -> PoolStats;

    /// Closes every connection, waiting for those in use to be returned.
    async fn close(&self);
}

/// Why a database URL was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported database URL scheme {0:?}: use sqlite:, mysql: or mariadb:")]
    UnsupportedScheme(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens the store the URL names: `sqlite:` for the embedded database, `mysql:`/`mariadb:` for
/// MySQL, MariaDB, Vitess and PlanetScale.
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

/// How many twoots each (year, tag) gains from `messages`, ordered so that concurrent writers take
/// counter rows in the same order and cannot deadlock on them.
fn count_increments(messages: &[NewMessage]) -> Vec<((i32, &str), i64)> {
    let mut counts: HashMap<(i32, &str), i64> = HashMap::new();
    for message in messages {
        *counts
            .entry((message.timestamp.year(), message.tag.as_str()))
            .or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_unstable();
    counts
}

/// The `DuplicateId` error if `error` is a primary key violation on an insert of `messages`.
fn duplicate_or(error: sqlx::Error, messages: &[NewMessage]) -> StoreError {
    let is_duplicate = matches!(&error, sqlx::Error::Database(db) if db.is_unique_violation());
    match (is_duplicate, messages.first()) {
        (true, Some(first)) => StoreError::DuplicateId(first.id),
        _ => error.into(),
    }
}
