//! A [`Store`] wrapper that times every call into the database-latency metric, by query name.
//!
//! It lives here rather than in `store/` so that the store stays a ground floor that knows nothing
//! of how it is observed.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::domain::{Message, MessageId, NewMessage, NodeId, Tag};
use crate::store::{
    ApiKeyRow, IdempotentInsert, NodeLeaseRow, PageQuery, Placement, PoolStats, Post, Store,
    StoreError, YearAudit, YearTagCount,
};

/// Times each call of the store it wraps.
pub struct InstrumentedStore(pub Arc<dyn Store>);

async fn timed<T>(
    query: &'static str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let result = call.await;
    super::db_query(query, result.is_ok(), started.elapsed());
    result
}

#[async_trait]
impl Store for InstrumentedStore {
    fn backend(&self) -> &'static str {
        self.0.backend()
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        timed("migrate", self.0.migrate()).await
    }

    async fn insert(&self, message: &NewMessage) -> Result<(), StoreError> {
        timed("insert_message", self.0.insert(message)).await
    }

    async fn insert_batch(&self, messages: &[NewMessage]) -> Result<(), StoreError> {
        // A post is stored as a batch of one; it keeps its own name, as its latency is the one
        // users wait on.
        let name = match messages.len() {
            1 => "insert_message",
            _ => "insert_batch",
        };
        timed(name, self.0.insert_batch(messages)).await
    }

    async fn insert_missing(&self, messages: &[NewMessage]) -> Result<Vec<Placement>, StoreError> {
        timed("insert_missing", self.0.insert_missing(messages)).await
    }

    async fn get(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        timed("get_message", self.0.get(id)).await
    }

    async fn page(&self, query: &PageQuery) -> Result<Vec<Message>, StoreError> {
        let name = if query.tag.is_some() {
            "page_by_tag"
        } else {
            "page_all"
        };
        timed(name, self.0.page(query)).await
    }

    async fn stats(&self, start: i32, end: i32) -> Result<Vec<YearTagCount>, StoreError> {
        timed("stats", self.0.stats(start, end)).await
    }

    async fn tag_stats(
        &self,
        tag: &Tag,
        start: i32,
        end: i32,
    ) -> Result<Vec<(i32, i64)>, StoreError> {
        timed("tag_stats", self.0.tag_stats(tag, start, end)).await
    }

    async fn count_years(&self) -> Result<Vec<i32>, StoreError> {
        timed("count_years", self.0.count_years()).await
    }

    async fn audit_year(&self, year: i32) -> Result<YearAudit, StoreError> {
        timed("audit_year", self.0.audit_year(year)).await
    }

    async fn repair_count(&self, year: i32, tag: &str) -> Result<(i64, i64), StoreError> {
        timed("repair_count", self.0.repair_count(year, tag)).await
    }

    async fn is_empty(&self) -> Result<bool, StoreError> {
        timed("is_empty", self.0.is_empty()).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        timed("ping", self.0.ping()).await
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        timed("check_writable", self.0.check_writable()).await
    }

    async fn newest_id(&self) -> Result<Option<MessageId>, StoreError> {
        timed("newest_id", self.0.newest_id()).await
    }

    async fn expired_node_leases(&self) -> Result<Vec<NodeLeaseRow>, StoreError> {
        timed("expired_node_leases", self.0.expired_node_leases()).await
    }

    async fn claim_node_lease(
        &self,
        seen: &NodeLeaseRow,
        holder: &str,
        ttl: Duration,
        fence_ms: i64,
    ) -> Result<bool, StoreError> {
        let claim = self.0.claim_node_lease(seen, holder, ttl, fence_ms);
        timed("claim_node_lease", claim).await
    }

    async fn renew_node_lease(
        &self,
        node: NodeId,
        holder: &str,
        ttl: Duration,
        fence_ms: i64,
    ) -> Result<bool, StoreError> {
        let renew = self.0.renew_node_lease(node, holder, ttl, fence_ms);
        timed("renew_node_lease", renew).await
    }

    async fn release_node_lease(
        &self,
        node: NodeId,
        holder: &str,
        fence_ms: i64,
    ) -> Result<(), StoreError> {
        let release = self.0.release_node_lease(node, holder, fence_ms);
        timed("release_node_lease", release).await
    }

    async fn insert_posts(&self, posts: &[Post]) -> Result<Vec<IdempotentInsert>, StoreError> {
        // Posts written together keep the name of a post's insert: it is the latency posters
        // wait on, and what the alerts watch.
        timed("insert_message", self.0.insert_posts(posts)).await
    }

    async fn purge_idempotency(&self, before_ms: i64, limit: u32) -> Result<u64, StoreError> {
        timed(
            "purge_idempotency",
            self.0.purge_idempotency(before_ms, limit),
        )
        .await
    }

    async fn create_api_key(&self, key: &ApiKeyRow) -> Result<(), StoreError> {
        timed("create_api_key", self.0.create_api_key(key)).await
    }

    async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        timed("get_api_key", self.0.api_key(id)).await
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError> {
        timed("list_api_keys", self.0.api_keys()).await
    }

    async fn revoke_api_key(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        timed("revoke_api_key", self.0.revoke_api_key(id, at_ms)).await
    }

    fn pool_stats(&self) -> PoolStats {
        self.0.pool_stats()
    }

    async fn close(&self) {
        self.0.close().await
    }
}
