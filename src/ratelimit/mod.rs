//! Rate limits per client and route family (PRODUCT.md §7): the policy (`policy.rs`), who the
//! client is (`clients.rs`), the algorithm (`gcra.rs`), and where the budgets live: Redis,
//! shared by every instance (`shared.rs`), or this process alone (`memory.rs`).
//!
//! This floor knows nothing of HTTP or metrics: it answers whether a request may go through and
//! with what budget left; `http::rate_limit` turns that into headers, 429s and counts.

pub mod clients;
pub mod gcra;
pub mod memory;
pub mod policy;
pub mod shared;

pub use clients::TrustedProxies;
pub use gcra::Verdict;
pub use policy::{Policy, Quota};

/// Where every key of the shared budgets starts.
pub const KEY_PREFIX: &str = "twooter:ratelimit:";

/// A group of routes that share one budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Reading twoots: `GET /messages`, `GET /messages/{id}`.
    Read,
    /// Posting twoots: `POST /messages`.
    Write,
    /// Sending a key that is not a live one (made up, mistyped, revoked), on any route: counted
    /// per address, so that trying keys is bounded apart from what the address reads and posts.
    Keys,
}

impl Family {
    /// The family's name in `RATE_LIMITS`, in the headers and in Redis keys.
    pub fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Keys => "keys",
        }
    }

    /// What the family counts, in the plural, for a sentence such as "may make 60 … per 1m".
    pub fn counted(self) -> &'static str {
        match self {
            Self::Read => "read requests",
            Self::Write => "write requests",
            Self::Keys => "requests with a key that is not live",
        }
    }
}

/// What the limiter says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The family has no limit.
    Unlimited,
    /// Decided against `quota`.
    Decided { quota: Quota, verdict: Verdict },
    /// Redis could not decide in time: the request goes through unlimited.
    FailedOpen { quota: Quota },
}

enum Store {
    Memory(memory::Memory),
    Shared(shared::Shared),
}

/// The limiter of one instance.
pub struct Limiter {
    policy: Policy,
    store: Store,
}

impl Limiter {
    /// Budgets in this process only.
    pub fn in_process(policy: Policy) -> Self {
        Self {
            policy,
            store: Store::Memory(memory::Memory::default()),
        }
    }

    /// Budgets in the Redis at `url`, shared by every instance that uses it.
    /// Needs a Tokio runtime: it starts connecting at once.
    pub fn shared(policy: Policy, url: &str) -> redis::RedisResult<Self> {
        let shared = shared::Shared::new(url, KEY_PREFIX)?;
        shared.warm_up();
        Ok(Self {
            policy,
            store: Store::Shared(shared),
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Decides one request of `client` (a key id or an address, told apart by the caller) to a
    /// route of `family`, and spends a unit of its budget if it goes through.
    pub async fn check(&self, family: Family, client: &str) -> Outcome {
        self.decide(family, client, true).await
    }

    /// Whether a request of `client` to a route of `family` would go through now, spending
    /// nothing: for work worth refusing before it is done.
    pub async fn peek(&self, family: Family, client: &str) -> Outcome {
        self.decide(family, client, false).await
    }

    async fn decide(&self, family: Family, client: &str, spend: bool) -> Outcome {
        let Some(quota) = self.policy.quota(family) else {
            return Outcome::Unlimited;
        };
        let verdict = match &self.store {
            Store::Memory(memory) => Some(memory.decide(family, client, quota, spend)),
            Store::Shared(shared) => shared.decide(family, client, quota, spend).await,
        };
        match verdict {
            Some(verdict) => Outcome::Decided { quota, verdict },
            None => Outcome::FailedOpen { quota },
        }
    }
}
