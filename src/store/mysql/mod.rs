//! The MySQL / MariaDB store, kept to what Vitess and PlanetScale support: app-made ids, no foreign
//! keys, no `RETURNING`, every read an index range. On a Galera cluster every read first waits
//! for the commits the cluster made before it (`wsrep_sync_wait`), so a twoot posted through one
//! node is read through any other at once.

mod connect;
mod posts;
mod write;

use write::is_lock_conflict;

use std::time::Duration;

use async_trait::async_trait;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::{Executor, Row};

use super::{
    counts, idempotency, keys, leases, rows, sql, ApiKeyRow, ConnectError, IdempotentInsert,
    NodeLeaseRow, PageQuery, Placement, PoolConfig, PoolStats, Post, Store, StoreError, YearAudit,
    YearTagCount,
};
use crate::domain::{Message, MessageId, NewMessage, NodeId, Tag};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");

/// A connection idle this long is pinged before it is handed out. A busier one has just been
/// pinged by the pool on its release, so pinging it again would only add a round trip to the
/// request; an idle one may have been cut by `wait_timeout`, a proxy or a failover.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// Twoots in a MySQL-compatible database.
#[derive(Debug, Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
    galera: bool,
}

impl MySqlStore {
    /// Connects to the database at `url`, e.g. `mysql://user:pass@host:3306/twooter`. TLS follows
    /// the URL's `ssl-mode` and `ssl-ca`; a host that is not loopback is verified by default.
    pub async fn connect(url: &str, pool: &PoolConfig) -> Result<Self, ConnectError> {
        let options = connect::options(url)?;
        let server = connect::probe(&options).await?;
        let ssl_mode = connect::ssl_mode_name(options.get_ssl_mode());
        match &server.cipher {
            Some(cipher) => tracing::info!(ssl_mode, cipher, "database connection is encrypted"),
            None if connect::is_loopback(options.get_host()) => {
                tracing::info!(ssl_mode, "database connection on loopback is not encrypted")
            }
            None => tracing::warn!(
                ssl_mode,
                "database connection is NOT encrypted: set ssl-mode=verify_identity in DATABASE_URL"
            ),
        }
        let galera = server.galera;
        let wait_for_cluster = galera && pool.read_your_writes;
        let pool = MySqlPoolOptions::new()
            .max_connections(pool.max_connections.max(1))
            .acquire_timeout(pool.acquire_timeout)
            // sqlx pings on every acquire by default: a second round trip per query.
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_WHEN_IDLE_FOR {
                        sqlx::Connection::ping(connection).await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if wait_for_cluster {
                        // 1 = reads: each SELECT first waits until this node has applied every
                        // commit the cluster made before it (read-your-writes across nodes).
                        connection
                            .execute("SET SESSION wsrep_sync_wait = 1")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|source| ConnectError::Connect { ssl_mode, source })?;
        Ok(Self { pool, galera })
    }

    /// The connection pool, for tools that must run statements exactly as the store does.
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }
}

fn message_from_row(row: &MySqlRow) -> Result<Message, sqlx::Error> {
    rows::message_from_row(row, |at: chrono::NaiveDateTime| Some(at.and_utc()))
}

#[async_trait]
impl Store for MySqlStore {
    fn backend(&self) -> &'static str {
        "mysql"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn insert(&self, message: &NewMessage) -> Result<(), StoreError> {
        self.insert_batch(std::slice::from_ref(message)).await
    }

    async fn insert_batch(&self, messages: &[NewMessage]) -> Result<(), StoreError> {
        if messages.is_empty() {
            return Ok(());
        }
        self.insert_retrying(messages, false).await.map(drop)
    }

    async fn insert_missing(&self, messages: &[NewMessage]) -> Result<Vec<Placement>, StoreError> {
        self.insert_retrying(messages, true).await
    }

    async fn insert_posts(&self, posts: &[Post]) -> Result<Vec<IdempotentInsert>, StoreError> {
        self.insert_posts_retrying(posts).await
    }

    async fn purge_idempotency(&self, before_ms: i64, limit: u32) -> Result<u64, StoreError> {
        let done = sqlx::query(idempotency::MYSQL_PURGE)
            .bind(before_ms)
            .bind(limit)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn get(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        Ok(rows::fetch_one(&self.pool, id, message_from_row).await?)
    }

    async fn page(&self, query: &PageQuery) -> Result<Vec<Message>, StoreError> {
        Ok(rows::fetch_page(&self.pool, sql::mysql_page, query, message_from_row).await?)
    }

    async fn stats(&self, start: i32, end: i32) -> Result<Vec<YearTagCount>, StoreError> {
        let rows = sqlx::query(sql::MYSQL_STATS)
            .bind(start)
            .bind(end)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(YearTagCount {
                    year: i32::from(row.try_get::<i16, _>("year")?),
                    tag: row.try_get("tag")?,
                    count: row.try_get("count")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    async fn tag_stats(
        &self,
        tag: &Tag,
        start: i32,
        end: i32,
    ) -> Result<Vec<(i32, i64)>, StoreError> {
        Ok(
            counts::tag_year_counts(&self.pool, sql::MYSQL_TAG_STATS, tag.as_str(), start, end)
                .await?,
        )
    }

    async fn count_years(&self) -> Result<Vec<i32>, StoreError> {
        Ok(counts::years(&self.pool, &sql::MYSQL_COUNTS).await?)
    }

    async fn audit_year(&self, year: i32) -> Result<YearAudit, StoreError> {
        Ok(counts::audit_year(&self.pool, &sql::MYSQL_COUNTS, year).await?)
    }

    async fn repair_count(&self, year: i32, tag: &str) -> Result<(i64, i64), StoreError> {
        Ok(counts::repair(&self.pool, &sql::MYSQL_COUNTS, year, tag).await?)
    }

    async fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.newest_id().await?.is_none())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        let mut connection = self.pool.acquire().await?;
        // The lease table is an InnoDB read: a Galera node outside the primary component refuses
        // it (1047) while it would still answer `SELECT 1`.
        let read_only: i64 = sqlx::query_scalar(
            "SELECT CAST(@@read_only AS SIGNED) FROM node_leases WHERE node = 0",
        )
        .fetch_one(&mut *connection)
        .await?;
        if read_only != 0 {
            return Err(StoreError::ReadOnly);
        }
        if self.galera {
            // SHOW goes as text: not every server prepares it.
            let ready = sqlx::raw_sql("SHOW STATUS LIKE 'wsrep_ready'")
                .fetch_optional(&mut *connection)
                .await?
                .and_then(|row| row.try_get::<String, _>(1).ok());
            if !ready.is_some_and(|ready| ready.eq_ignore_ascii_case("ON")) {
                return Err(StoreError::NotInCluster);
            }
        }
        Ok(())
    }

    async fn newest_id(&self) -> Result<Option<MessageId>, StoreError> {
        let newest: Option<i64> = sqlx::query_scalar(sql::NEWEST_ID)
            .fetch_one(&self.pool)
            .await?;
        Ok(newest.map(MessageId::from_i64))
    }

    async fn expired_node_leases(&self) -> Result<Vec<NodeLeaseRow>, StoreError> {
        Ok(leases::expired(&self.pool, &sql::MYSQL_LEASES).await?)
    }

    async fn claim_node_lease(
        &self,
        seen: &NodeLeaseRow,
        holder: &str,
        ttl: Duration,
        fence_ms: i64,
    ) -> Result<bool, StoreError> {
        match leases::claim(&self.pool, &sql::MYSQL_LEASES, seen, holder, ttl, fence_ms).await {
            Ok(done) => Ok(done.rows_affected() == 1),
            // On Galera, another node's claim of the same row won certification.
            Err(error) if is_lock_conflict(&error) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    async fn renew_node_lease(
        &self,
        node: NodeId,
        holder: &str,
        ttl: Duration,
        fence_ms: i64,
    ) -> Result<bool, StoreError> {
        let done =
            leases::renew(&self.pool, &sql::MYSQL_LEASES, node, holder, ttl, fence_ms).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_node_lease(
        &self,
        node: NodeId,
        holder: &str,
        fence_ms: i64,
    ) -> Result<(), StoreError> {
        Ok(leases::release(&self.pool, &sql::MYSQL_LEASES, node, holder, fence_ms).await?)
    }

    async fn create_api_key(&self, key: &ApiKeyRow) -> Result<(), StoreError> {
        Ok(keys::create(&self.pool, key).await?)
    }

    async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        Ok(keys::by_id(&self.pool, id).await?)
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError> {
        Ok(keys::all(&self.pool).await?)
    }

    async fn revoke_api_key(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        Ok(keys::revoke(&self.pool, id, at_ms).await?.rows_affected() == 1)
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: self.pool.num_idle() as u32,
            max: self.pool.options().get_max_connections(),
        }
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
