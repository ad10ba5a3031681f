//! The limiter every instance shares: each decision is one Lua script run atomically in Redis
//! (EVALSHA, loading the script on NOSCRIPT), on Redis' clock, so no two instances can both
//! spend the same unit and their clocks need not agree.
//!
//! Redis that is down or slower than the decision timeout fails open: the request goes through
//! unlimited, the caller counts it, and a warning is logged at most every few seconds. The
//! connection is re-established in the background; the next decision that gets through is shared
//! again, with no restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::gcra::Verdict;
use super::policy::Quota;
use super::Family;

/// GCRA as in `gcra.rs`: KEYS[1] holds the client's TAT in microseconds of Redis' clock;
/// ARGV[1] is the interval, ARGV[2] the window, ARGV[3] `1` to spend a unit of the budget when
/// the request is let through (`0` only looks). Returns {allowed, backlog, retry}.
const SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if allow_at > now then
  return {0, tat - now, allow_at - now}
end
if ARGV[3] == '1' then
  -- %.0f: tostring would write 16 digits as 1.7e+15 and lose the microseconds.
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
end
return {1, new_tat - now, 0}
";

/// Longest a request waits for a decision before it goes through unlimited.
pub const DECISION_TIMEOUT: Duration = Duration::from_millis(50);
/// Fewest seconds between two warnings that Redis is failing.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Whether the Redis client can use `url`, without connecting.
pub fn check_url(url: &str) -> Result<(), String> {
    redis::Client::open(url)
        .map(|_| ())
        .map_err(|error| format!("the Redis client cannot use it: {error}"))
}

/// Budgets in Redis.
pub struct Shared {
    connection: ConnectionManager,
    script: redis::Script,
    prefix: String,
    failing: AtomicBool,
    last_warning: Mutex<Option<Instant>>,
}

impl Shared {
    /// A limiter on the Redis at `url`, connecting on first use (start-up does not wait for
    /// Redis); keys are `<prefix><family>:<client>`. Needs a Tokio runtime.
    pub fn new(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(250)))
            .set_response_timeout(Some(DECISION_TIMEOUT))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        Ok(Self {
            connection: ConnectionManager::new_lazy_with_config(client, config)?,
            script: redis::Script::new(SCRIPT),
            prefix: prefix.to_owned(),
            failing: AtomicBool::new(false),
            last_warning: Mutex::new(None),
        })
    }

    /// Connects and loads the script now, in the background, so that the first requests do not
    /// wait for it (and fail open when it takes longer than a decision may).
    pub fn warm_up(&self) {
        let mut connection = self.connection.clone();
        let script = self.script.clone();
        tokio::spawn(async move {
            if let Err(error) = script.load_async(&mut connection).await {
                tracing::warn!(%error, "cannot reach Redis for the rate limits yet");
            }
        });
    }

    /// Decides one request, spending from the budget if `spend`; `None` when Redis could not
    /// decide in time.
    pub async fn decide(
        &self,
        family: Family,
        client: &str,
        quota: Quota,
        spend: bool,
    ) -> Option<Verdict> {
        let key = format!("{}{}:{client}", self.prefix, family.name());
        let mut connection = self.connection.clone();
        let mut invocation = self.script.key(key);
        invocation
            .arg(quota.interval_us())
            .arg(quota.window_us())
            .arg(u8::from(spend));
        let call = invocation.invoke_async::<(u8, u64, u64)>(&mut connection);
        match tokio::time::timeout(DECISION_TIMEOUT, call).await {
            Ok(Ok((allowed, backlog_us, retry_us))) => {
                if self.failing.load(Ordering::Relaxed)
                    && self.failing.swap(false, Ordering::Relaxed)
                {
                    tracing::info!("Redis answers again: rate limits are shared again");
                }
                Some(Verdict {
                    allowed: allowed == 1,
                    backlog_us,
                    retry_us,
                })
            }
            Ok(Err(error)) => {
                self.failed(&error.to_string());
                None
            }
            Err(_) => {
                self.failed("no answer within the decision timeout");
                None
            }
        }
    }

    fn failed(&self, why: &str) {
        self.failing.store(true, Ordering::Relaxed);
        let mut last = self
            .last_warning
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            *last = Some(Instant::now());
            tracing::warn!(
                error = why,
                "Redis cannot decide rate limits: letting requests through unlimited"
            );
        }
    }
}
