//! Prometheus metrics: what is recorded, under which names, and the `/metrics` rendering.
//!
//! Label values are always bounded sets (route templates, methods, status classes, query names),
//! never raw paths or tags, so the number of series cannot grow with traffic.

mod instrumented_store;

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::store::PoolStats;

pub use instrumented_store::InstrumentedStore;

/// Requests served, by method, route template and status class.
pub const HTTP_REQUESTS: &str = "twooter_http_requests_total";
/// Request latency in seconds, by method, route template and status class.
pub const HTTP_DURATION: &str = "twooter_http_request_duration_seconds";
/// Database call latency in seconds, by query name and outcome.
pub const DB_DURATION: &str = "twooter_db_query_duration_seconds";
/// Twoots posted through the API.
pub const MESSAGES_POSTED: &str = "twooter_twoots_posted_total";
/// Open database connections.
pub const POOL_SIZE: &str = "twooter_db_pool_connections";
/// Database connections in use.
pub const POOL_IN_USE: &str = "twooter_db_pool_connections_in_use";
/// Most database connections the pool may open.
pub const POOL_MAX: &str = "twooter_db_pool_connections_max";
/// The node number this instance's ids carry, or -1 while it holds none.
pub const NODE_LEASE: &str = "twooter_node_lease_node";
/// Posts written per transaction by the group commit.
pub const POST_BATCH_SIZE: &str = "twooter_post_batch_size";
/// Posts waiting for a writer.
pub const POST_QUEUE_DEPTH: &str = "twooter_post_queue_depth";
/// Requests answered 429, by route family.
pub const RATE_LIMITED: &str = "twooter_rate_limited_total";
/// Requests let through unlimited because Redis could not decide in time, by route family.
pub const RATE_LIMIT_FALLBACK: &str = "twooter_rate_limit_fallback_total";
/// Always 1, labelled with the version and git commit.
pub const BUILD_INFO: &str = "twooter_build_info";

/// Latency buckets, in seconds: fine below 10 ms, where most requests are.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Batch size buckets: powers of two up to the largest sensible `POST_BATCH_MAX`.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once; later calls return the same handle.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
            .expect("bucket list is not empty")
            .set_buckets_for_metric(Matcher::Full(POST_BATCH_SIZE.to_owned()), BATCH_BUCKETS)
            .expect("bucket list is not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed");
        metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests served");
        metrics::describe_histogram!(HTTP_DURATION, metrics::Unit::Seconds, "HTTP request latency");
        metrics::describe_histogram!(DB_DURATION, metrics::Unit::Seconds, "Database call latency");
        metrics::describe_counter!(MESSAGES_POSTED, "Twoots posted through the API");
        metrics::describe_gauge!(POOL_SIZE, "Open database connections");
        metrics::describe_gauge!(POOL_IN_USE, "Database connections in use");
        metrics::describe_gauge!(POOL_MAX, "Most database connections the pool may open");
        metrics::describe_histogram!(POST_BATCH_SIZE, "Posts written per transaction");
        metrics::describe_gauge!(POST_QUEUE_DEPTH, "Posts waiting for a writer");
        metrics::describe_counter!(RATE_LIMITED, "Requests refused by the rate limits");
        metrics::describe_counter!(
            RATE_LIMIT_FALLBACK,
            "Requests let through unlimited because Redis could not decide in time"
        );
        metrics::describe_gauge!(BUILD_INFO, "Version and commit of the running build");
        // Set by the live feed (src/live), which sits beside this floor and names it itself.
        metrics::describe_gauge!(
            "twooter_stream_subscribers",
            "Live streams open on this instance"
        );
        metrics::describe_gauge!(
            NODE_LEASE,
            "Node number of this instance's ids, -1 while it holds none"
        );
        metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "git_sha" => crate::GIT_SHA)
            .set(1.0);
        handle
    })
}

/// The metrics in Prometheus text format.
pub fn render() -> String {
    install().render()
}

/// Counts one twoot posted.
pub fn message_posted() {
    metrics::counter!(MESSAGES_POSTED).increment(1);
}

/// Records one transaction of posts written together.
pub fn post_batch(size: usize) {
    metrics::histogram!(POST_BATCH_SIZE).record(size as f64);
}

/// Records how many posts wait for a writer now.
pub fn post_queue_depth(depth: usize) {
    metrics::gauge!(POST_QUEUE_DEPTH).set(depth as f64);
}

/// Records one served request.
pub fn http_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let class = match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", class.to_owned()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// Records one database call.
pub fn db_query(query: &'static str, ok: bool, elapsed: Duration) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::histogram!(DB_DURATION, "query" => query, "outcome" => outcome)
        .record(elapsed.as_secs_f64());
}

/// Records the pool's current usage.
pub fn record_pool(stats: PoolStats) {
    metrics::gauge!(POOL_SIZE).set(f64::from(stats.size));
    metrics::gauge!(POOL_IN_USE).set(f64::from(stats.size.saturating_sub(stats.idle)));
    metrics::gauge!(POOL_MAX).set(f64::from(stats.max));
}

/// Records the node number held now, if any.
pub fn node_lease(node: Option<crate::domain::NodeId>) {
    metrics::gauge!(NODE_LEASE).set(node.map_or(-1.0, |node| f64::from(node.get())));
}

/// Counts one request answered 429.
pub fn rate_limited(family: &'static str) {
    metrics::counter!(RATE_LIMITED, "family" => family).increment(1);
}

/// Counts one request let through because Redis could not decide.
pub fn rate_limit_failed_open(family: &'static str) {
    metrics::counter!(RATE_LIMIT_FALLBACK, "family" => family).increment(1);
}
