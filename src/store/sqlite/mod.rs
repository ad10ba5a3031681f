//! The embedded SQLite store: one writer connection (SQLite has one writer at a time, so queueing
//! in the pool beats spinning on `SQLITE_BUSY`) and read-only connections over WAL: the request
//! path's reads through rusqlite on the request's own thread (`readers.rs`, `reads.rs`), the rest
//! on a sqlx pool.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};

use super::{
    count_increments, counts, duplicate_or, idempotency, keys, leases, place, rows, sql, ApiKeyRow,
    IdempotentInsert, NodeLeaseRow, PageQuery, Placement, PoolConfig, PoolStats, Post, Store,
    StoreError, YearAudit, YearTagCount,
};
use crate::domain::{Message, MessageId, NewMessage, NodeId, Tag};

mod posts;
mod read_error;
mod readers;
mod reads;

pub(crate) use read_error::ReadError;

use readers::Readers;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Connections of the pool for the reads off the request path: API keys (each read at most once
/// a second, then cached), a tag's statistics and the recount.
const OFF_PATH_READERS: u32 = 2;

/// Rows per multi-row INSERT: 4 parameters each stays far below SQLite's 32766 limit.
const ROWS_PER_INSERT: usize = 500;

/// Twoots in a SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    /// Pages, twoots by id, statistics, the newest id and the health check.
    reads: Arc<Readers>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url`, e.g. `sqlite:twooter.db`.
    pub async fn connect(url: &str, pool: &PoolConfig) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL keeps every acknowledged post across a power cut, not just across a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(pool.acquire_timeout);
        // From the URL: sqlx gives an in-memory database a file name of its own making.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        // Bulk loads touch pages all over both B-trees; a page cache of 48 MiB instead of SQLite's
        // 2 MiB keeps the upper levels in memory, and an import of any size under 100 MB of RSS.
        // A server keeps the default, to stay small.
        let writer_options = if pool.bulk_load {
            options.clone().pragma("cache_size", "-49152")
        } else {
            options.clone()
        };
        let writer = pool_options(pool)
            .max_connections(1)
            .connect_with(writer_options)
            .await?;
        // Each in-memory connection would see its own empty database, so it gets only the writer.
        let (readers, reads) = if in_memory {
            let reads = Readers::shared(writer.clone(), pool.acquire_timeout);
            (writer.clone(), reads)
        } else {
            let max = pool.max_connections.max(1);
            let path = options.get_filename().to_path_buf();
            let reads = Readers::open(path, max, pool.acquire_timeout)?;
            let options = options.read_only(true);
            // The reads off the request path are few; their pool opens a connection only when
            // one is asked for.
            let readers = pool_options(pool)
                .max_connections(OFF_PATH_READERS)
                .connect_lazy_with(options);
            (readers, reads)
        };
        Ok(Self {
            writer,
            readers,
            reads: Arc::new(reads),
        })
    }

    /// The pool of the reads off the request path, for tools that read with the store's own
    /// connection settings.
    pub fn readers(&self) -> &SqlitePool {
        &self.readers
    }
}

/// A transaction on the writer that takes the file's write lock before its first statement: one
/// that has read first cannot wait for the lock (SQLite answers busy at once), this one waits for
/// up to the busy timeout while another process (an import, a second server) writes.
async fn begin_write(
    writer: &SqlitePool,
) -> Result<sqlx::Transaction<'static, Sqlite>, sqlx::Error> {
    writer.begin_with("BEGIN IMMEDIATE").await
}

fn pool_options(pool: &PoolConfig) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .acquire_timeout(pool.acquire_timeout)
        // An embedded database cannot drop a connection, so sqlx's ping on every acquire would
        // only add a trip to the connection's worker thread and back to each query.
        .test_before_acquire(false)
}

/// A `created_at` as stored here (milliseconds since 1970), if it is a time chrono can hold.
fn timestamp(ms: i64) -> Option<chrono::DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }

    async fn insert(&self, message: &NewMessage) -> Result<(), StoreError> {
        self.insert_batch(std::slice::from_ref(message)).await
    }

    async fn insert_batch(&self, messages: &[NewMessage]) -> Result<(), StoreError> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut tx = begin_write(&self.writer).await?;
        insert_rows(&mut tx, messages.iter())
            .await
            .map_err(|e| duplicate_or(e, messages))?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_missing(&self, messages: &[NewMessage]) -> Result<Vec<Placement>, StoreError> {
        // The one writer connection serialises this with every other write, so nothing can take
        // an id between the look-up and the insert.
        let mut tx = begin_write(&self.writer).await?;
        let stored = rows::stored_by_id::<Sqlite>(&mut tx, messages, ROWS_PER_INSERT).await?;
        let (placements, fresh) = place(messages, &stored);
        insert_rows(&mut tx, fresh.into_iter())
            .await
            .map_err(|e| duplicate_or(e, messages))?;
        tx.commit().await?;
        Ok(placements)
    }

    async fn insert_posts(&self, posts: &[Post]) -> Result<Vec<IdempotentInsert>, StoreError> {
        posts::insert_posts(&self.writer, posts).await
    }

    async fn purge_idempotency(&self, before_ms: i64, limit: u32) -> Result<u64, StoreError> {
        let done = sqlx::query(idempotency::SQLITE_PURGE)
            .bind(before_ms)
            .bind(i64::from(limit))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn get(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        Ok(reads::get(&self.reads, id).await?)
    }

    async fn page(&self, query: &PageQuery) -> Result<Vec<Message>, StoreError> {
        Ok(reads::page(&self.reads, query).await?)
    }

    async fn stats(&self, start: i32, end: i32) -> Result<Vec<YearTagCount>, StoreError> {
        Ok(reads::stats(&self.reads, start, end).await?)
    }

    async fn tag_stats(
        &self,
        tag: &Tag,
        start: i32,
        end: i32,
    ) -> Result<Vec<(i32, i64)>, StoreError> {
        Ok(counts::tag_year_counts(
            &self.readers,
            sql::SQLITE_TAG_STATS,
            tag.as_str(),
            start,
            end,
        )
        .await?)
    }

    async fn count_years(&self) -> Result<Vec<i32>, StoreError> {
        Ok(counts::years(&self.readers, &sql::SQLITE_COUNTS).await?)
    }

    async fn audit_year(&self, year: i32) -> Result<YearAudit, StoreError> {
        Ok(counts::audit_year(&self.readers, &sql::SQLITE_COUNTS, year).await?)
    }

    async fn repair_count(&self, year: i32, tag: &str) -> Result<(i64, i64), StoreError> {
        Ok(counts::repair(&self.writer, &sql::SQLITE_COUNTS, year, tag).await?)
    }

    async fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.newest_id().await?.is_none())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // Through the connections requests read on, since those are what must work.
        Ok(reads::ping(&self.reads).await?)
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        // A file cannot leave a cluster or be demoted; whether its lock can be had is what the
        // lease renewals, writes every few seconds, find out.
        self.ping().await
    }

    async fn newest_id(&self) -> Result<Option<MessageId>, StoreError> {
        Ok(reads::newest_id(&self.reads).await?)
    }

    async fn expired_node_leases(&self) -> Result<Vec<NodeLeaseRow>, StoreError> {
        Ok(leases::expired(&self.writer, &sql::SQLITE_LEASES).await?)
    }

    async fn claim_node_lease(
        &self,
        seen: &NodeLeaseRow,
        holder: &str,
        ttl: Duration,
        fence_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = leases::claim(
            &self.writer,
            &sql::SQLITE_LEASES,
            seen,
            holder,
            ttl,
            fence_ms,
        )
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn renew_node_lease(
        &self,
        node: NodeId,
        holder: &str,
        ttl: Duration,
        fence_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = leases::renew(
            &self.writer,
            &sql::SQLITE_LEASES,
            node,
            holder,
            ttl,
            fence_ms,
        )
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_node_lease(
        &self,
        node: NodeId,
        holder: &str,
        fence_ms: i64,
    ) -> Result<(), StoreError> {
        Ok(leases::release(&self.writer, &sql::SQLITE_LEASES, node, holder, fence_ms).await?)
    }

    async fn create_api_key(&self, key: &ApiKeyRow) -> Result<(), StoreError> {
        Ok(keys::create(&self.writer, key).await?)
    }

    async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        Ok(keys::by_id(&self.readers, id).await?)
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError> {
        Ok(keys::all(&self.readers).await?)
    }

    async fn revoke_api_key(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        Ok(keys::revoke(&self.writer, id, at_ms).await?.rows_affected() == 1)
    }

    fn pool_stats(&self) -> PoolStats {
        // The connections a request can wait for, which is what the pool saturation alert
        // watches; the few off the request path would only dilute it.
        let size = self.reads.size() + self.writer.size();
        let idle = self.reads.idle() + self.writer.num_idle() as u32;
        let max = self.reads.max() + 1;
        PoolStats { size, idle, max }
    }

    async fn close(&self) {
        self.reads.close();
        self.readers.close().await;
        self.writer.close().await;
    }
}

/// Inserts `messages` and adds them to their counters, inside the caller's transaction.
async fn insert_rows<'a>(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    messages: impl Iterator<Item = &'a NewMessage> + Clone,
) -> Result<(), sqlx::Error> {
    // In id order, each chunk lands in neighbouring B-tree pages instead of all over the table.
    let mut sorted: Vec<&NewMessage> = messages.clone().collect();
    sorted.sort_unstable_by_key(|message| message.id);
    for chunk in sorted.chunks(ROWS_PER_INSERT) {
        let mut insert =
            QueryBuilder::<Sqlite>::new("INSERT INTO messages (id, tag, text, created_at) ");
        insert.push_values(chunk, |mut row, message| {
            row.push_bind(message.id.as_i64())
                .push_bind(message.tag.as_str())
                .push_bind(message.text.as_str())
                .push_bind(message.timestamp.timestamp_millis());
        });
        insert.build().execute(&mut **tx).await?;
    }
    for chunk in count_increments(messages).chunks(ROWS_PER_INSERT) {
        let mut upsert =
            QueryBuilder::<Sqlite>::new("INSERT INTO message_counts (year, tag, count) ");
        upsert.push_values(chunk, |mut row, ((year, tag), count)| {
            row.push_bind(*year).push_bind(*tag).push_bind(*count);
        });
        upsert.push(" ON CONFLICT (year, tag) DO UPDATE SET count = count + excluded.count");
        upsert.build().execute(&mut **tx).await?;
    }
    Ok(())
}
