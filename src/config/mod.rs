//! Settings, read from the environment (and a `.env` file, loaded by the command line first).
//!
//! Every setting has a default that suits a laptop. A value that cannot be used stops start-up
//! with one line naming the variable and what is wrong with it.

use std::net::IpAddr;
use std::time::Duration;

use crate::domain::NodeId;
use crate::ratelimit::{Policy, TrustedProxies};
use crate::store::PoolConfig;

mod values;

use values::{
    at_least, at_most, check_database_url, check_log_filter, check_origins, check_redis_url,
    duration, duration_or_zero, error, parse, positive,
};

/// The database used when none is configured: a SQLite file in the working directory.
pub const EMBEDDED_DATABASE_URL: &str = "sqlite:twooter.db";

/// Largest `POST_BATCH_MAX`: a batch stays one multi-row insert on every backend.
pub const MAX_POST_BATCH: u32 = 500;

/// Every environment variable the service reads, so that deployment files can be checked against
/// it. A unit test keeps it equal to what [`Config::from_lookup`] asks for.
pub const VARIABLES: &[&str] = &[
    "HOST",
    "PORT",
    "DATABASE_URL",
    "DB_URL",
    "REDIS_URL",
    "DATABASE_MAX_CONNECTIONS",
    "DATABASE_ACQUIRE_TIMEOUT",
    "DATABASE_READ_YOUR_WRITES",
    "BODY_LIMIT_BYTES",
    "REQUEST_TIMEOUT",
    "READINESS_TIMEOUT",
    "SHUTDOWN_GRACE_PERIOD",
    "SHUTDOWN_DELAY",
    "LOG_FORMAT",
    "RUST_LOG",
    "CORS_ALLOWED_ORIGINS",
    "NODE_ID",
    "NODE_LEASE_TTL",
    "MAX_CLOCK_SKEW",
    "POST_COMMIT_DEADLINE",
    "POST_BATCH_MAX",
    "POST_QUEUE_MAX",
    "MIGRATE_ON_START",
    "POSTING",
    "HEADER_TIMEOUT",
    "MAX_CONNECTIONS",
    "STREAM_MAX_SUBSCRIBERS",
    "STREAM_MAX_PER_CLIENT",
    "STREAM_HEARTBEAT",
    "STREAM_BUFFER",
    "RATE_LIMITS",
    "TRUSTED_PROXIES",
];

/// A setting that cannot be used, with the variable that holds it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {variable}={value:?}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub reason: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// JSON on stdout when it is not a terminal, readable text when it is.
    Auto,
    Json,
    Pretty,
}

/// Every setting of the service.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST`: the address to listen on.
    pub host: IpAddr,
    /// `PORT`: the port to listen on.
    pub port: u16,
    /// `DATABASE_URL` (or `DB_URL`); `None` means the embedded SQLite file with demo data.
    pub database_url: Option<String>,
    /// Whether the URL came from the prototype's `DB_URL` rather than `DATABASE_URL`.
    pub database_url_from_db_url: bool,
    /// `REDIS_URL`: where the rate limits every instance shares live, and where instances wake
    /// each other's live stream (pub/sub); unset, each instance limits on its own and polls the
    /// database for new twoots.
    pub redis_url: Option<String>,
    /// `DATABASE_MAX_CONNECTIONS` and `DATABASE_ACQUIRE_TIMEOUT`.
    pub pool: PoolConfig,
    /// `BODY_LIMIT_BYTES`: largest request body; larger ones are answered 413.
    pub body_limit: usize,
    /// `REQUEST_TIMEOUT`: longest a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// `READINESS_TIMEOUT`: longest `/readyz` waits for the database.
    pub readiness_timeout: Duration,
    /// `SHUTDOWN_GRACE_PERIOD`: how long in-flight requests may finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// `SHUTDOWN_DELAY`: how long the instance keeps serving after SIGTERM, with `/readyz`
    /// failing, so that load balancers stop sending it requests before it stops accepting.
    pub shutdown_delay: Duration,
    /// `LOG_FORMAT`: `auto`, `json` or `pretty`.
    pub log_format: LogFormat,
    /// `RUST_LOG`: which log lines to keep, as a tracing filter.
    pub log_filter: String,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins allowed to call from a browser, or `*`.
    pub cors_origins: Vec<String>,
    /// `NODE_ID`: this instance's number in message ids (0–1023), for a fleet that numbers its
    /// instances itself; leased from the database if unset.
    pub node_id: Option<NodeId>,
    /// `NODE_LEASE_TTL`: how long a leased node number stays this instance's without renewal.
    pub node_lease_ttl: Duration,
    /// `MAX_CLOCK_SKEW`: how far behind the newest stored id the clock may be at start-up.
    pub max_clock_skew: Duration,
    /// `POST_COMMIT_DEADLINE`: longest a post may take from its id to its commit; a later one is
    /// rolled back and answered 503, so that clients catching up by id never miss it.
    pub post_commit_deadline: Duration,
    /// `POST_BATCH_MAX`: most concurrent posts written in one transaction; 1 writes each alone.
    pub post_batch_max: usize,
    /// `POST_QUEUE_MAX`: most posts waiting to be written; more are answered 503 at once.
    pub post_queue_max: usize,
    /// `MIGRATE_ON_START`: apply migrations before serving.
    pub migrate_on_start: bool,
    /// `POSTING`: who may post.
    pub posting: Posting,
    /// `HEADER_TIMEOUT`: longest a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// `MAX_CONNECTIONS`: most connections open at once; more wait to be accepted.
    pub max_connections: u32,
    /// `RATE_LIMITS`: requests per client and route family.
    pub rate_limits: Policy,
    /// `TRUSTED_PROXIES`: the peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// The live stream's limits and pace.
    pub stream: StreamConfig,
}

/// Settings of `GET /messages/stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// `STREAM_MAX_SUBSCRIBERS`: most streams open at once on this instance; more are answered 503.
    pub max_subscribers: usize,
    /// `STREAM_MAX_PER_CLIENT`: most streams open at once from one client address (behind
    /// `TRUSTED_PROXIES`, the address the proxy names); more are answered 429.
    pub max_per_client: usize,
    /// `STREAM_HEARTBEAT`: how often an idle stream gets a comment, so proxies keep it open.
    pub heartbeat: Duration,
    /// `STREAM_BUFFER`: how many events a subscriber may fall behind before it is cut.
    pub buffer: usize,
}

/// Who may post twoots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posting {
    /// Anyone, as in the prototype.
    Open,
    /// Only callers with an API key (poster or admin).
    Keys,
}

impl Config {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, which returns a variable's value if it is set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let database_url = get("DATABASE_URL").or_else(|| get("DB_URL"));
        let database_url_from_db_url = database_url.is_some() && get("DATABASE_URL").is_none();
        if let Some(url) = &database_url {
            let variable = if database_url_from_db_url {
                "DB_URL"
            } else {
                "DATABASE_URL"
            };
            check_database_url(variable, url)?;
        }
        let redis_url = get("REDIS_URL");
        if let Some(url) = &redis_url {
            check_redis_url(url)?;
        }
        Ok(Self {
            host: parse(
                &get,
                "HOST",
                "127.0.0.1",
                "expected an IP address such as 0.0.0.0",
            )?,
            port: parse(
                &get,
                "PORT",
                "8000",
                "expected a port number from 0 to 65535",
            )?,
            database_url,
            database_url_from_db_url,
            redis_url,
            pool: PoolConfig {
                max_connections: positive(&get, "DATABASE_MAX_CONNECTIONS", "10")?,
                acquire_timeout: duration(&get, "DATABASE_ACQUIRE_TIMEOUT", "3s")?,
                bulk_load: false,
                read_your_writes: parse(
                    &get,
                    "DATABASE_READ_YOUR_WRITES",
                    "true",
                    "expected true or false",
                )?,
            },
            body_limit: positive(&get, "BODY_LIMIT_BYTES", "65536")? as usize,
            request_timeout: duration(&get, "REQUEST_TIMEOUT", "10s")?,
            readiness_timeout: duration(&get, "READINESS_TIMEOUT", "1s")?,
            shutdown_grace: duration(&get, "SHUTDOWN_GRACE_PERIOD", "20s")?,
            shutdown_delay: duration_or_zero(&get, "SHUTDOWN_DELAY", "0s")?,
            log_format: match get("LOG_FORMAT").as_deref().unwrap_or("auto") {
                "auto" => LogFormat::Auto,
                "json" => LogFormat::Json,
                "pretty" => LogFormat::Pretty,
                other => return Err(error("LOG_FORMAT", other, "expected auto, json or pretty")),
            },
            log_filter: check_log_filter(get("RUST_LOG").unwrap_or_else(|| "info".to_owned()))?,
            cors_origins: get("CORS_ALLOWED_ORIGINS")
                .map(|origins| check_origins(&origins))
                .transpose()?
                .unwrap_or_default(),
            node_id: get("NODE_ID")
                .map(|raw| {
                    raw.trim()
                        .parse()
                        .ok()
                        .and_then(NodeId::new)
                        .ok_or_else(|| error("NODE_ID", &raw, "expected an integer from 0 to 1023"))
                })
                .transpose()?,
            node_lease_ttl: at_least(
                duration(&get, "NODE_LEASE_TTL", "30s")?,
                Duration::from_secs(3),
                "NODE_LEASE_TTL",
            )?,
            max_clock_skew: duration(&get, "MAX_CLOCK_SKEW", "10s")?,
            post_commit_deadline: at_least(
                duration(&get, "POST_COMMIT_DEADLINE", "5s")?,
                Duration::from_millis(100),
                "POST_COMMIT_DEADLINE",
            )?,
            post_batch_max: at_most(
                positive(&get, "POST_BATCH_MAX", "128")?,
                MAX_POST_BATCH,
                "POST_BATCH_MAX",
            )? as usize,
            post_queue_max: positive(&get, "POST_QUEUE_MAX", "1024")? as usize,
            migrate_on_start: parse(&get, "MIGRATE_ON_START", "true", "expected true or false")?,
            posting: match get("POSTING").as_deref().map(str::trim).unwrap_or("open") {
                "open" => Posting::Open,
                "keys" => Posting::Keys,
                other => return Err(error("POSTING", other, "expected open or keys")),
            },
            header_timeout: duration(&get, "HEADER_TIMEOUT", "10s")?,
            max_connections: positive(&get, "MAX_CONNECTIONS", "10000")?,
            rate_limits: {
                let raw =
                    get("RATE_LIMITS").unwrap_or_else(|| crate::ratelimit::policy::DEFAULT.into());
                Policy::parse(&raw).map_err(|reason| error("RATE_LIMITS", &raw, reason))?
            },
            trusted_proxies: {
                let raw = get("TRUSTED_PROXIES").unwrap_or_default();
                TrustedProxies::parse(&raw)
                    .map_err(|reason| error("TRUSTED_PROXIES", &raw, reason))?
            },
            stream: StreamConfig {
                max_subscribers: positive(&get, "STREAM_MAX_SUBSCRIBERS", "10000")? as usize,
                max_per_client: positive(&get, "STREAM_MAX_PER_CLIENT", "16")? as usize,
                heartbeat: at_least(
                    duration(&get, "STREAM_HEARTBEAT", "15s")?,
                    Duration::from_millis(100),
                    "STREAM_HEARTBEAT",
                )?,
                buffer: positive(&get, "STREAM_BUFFER", "1024")? as usize,
            },
        })
    }

    /// The database URL in use: the configured one, or the embedded SQLite file.
    pub fn database_url(&self) -> &str {
        self.database_url
            .as_deref()
            .unwrap_or(EMBEDDED_DATABASE_URL)
    }

    /// The variable the database URL came from, for messages about it.
    pub fn database_variable(&self) -> &'static str {
        match (&self.database_url, self.database_url_from_db_url) {
            (None, _) => "the embedded default (set DATABASE_URL to change it)",
            (Some(_), true) => "DB_URL",
            (Some(_), false) => "DATABASE_URL",
        }
    }

    /// Whether the embedded database is in use, which alone gets demo data when empty.
    pub fn is_embedded(&self) -> bool {
        self.database_url.is_none()
    }
}

#[cfg(test)]
mod tests;
