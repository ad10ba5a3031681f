//! The in-process limiter, used when there is no `REDIS_URL`: each instance keeps its own
//! budgets, so behind a balancer of N instances a client gets up to N times its quota.
//!
//! The TATs live in a few maps behind their own locks, so that requests of different clients
//! rarely wait for each other; a TAT in the past means the same as none and is swept out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::gcra::{self, Verdict};
use super::policy::Quota;
use super::Family;

const SHARDS: usize = 16;
/// A shard is swept once it holds this many clients, and then once it doubles.
const FIRST_SWEEP: usize = 1024;

struct Shard {
    tats: HashMap<(Family, String), u64>,
    sweep_at: usize,
}

/// Budgets of this process.
pub struct Memory {
    started: Instant,
    shards: Vec<Mutex<Shard>>,
}

impl Default for Memory {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        tats: HashMap::new(),
                        sweep_at: FIRST_SWEEP,
                    })
                })
                .collect(),
        }
    }
}

impl Memory {
    /// Decides one request of `client` in `family`.
    pub fn decide(&self, family: Family, client: &str, quota: Quota, spend: bool) -> Verdict {
        // Microseconds since start-up: a monotonic clock, unlike the wall clock.
        let now = self.started.elapsed().as_micros() as u64 + 1;
        let key = (family, client.to_owned());
        let mut shard = self.shards[shard_of(&key)]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (verdict, tat) = gcra::decide(shard.tats.get(&key).copied(), now, quota);
        if let Some(tat) = tat.filter(|_| spend) {
            shard.tats.insert(key, tat);
            if shard.tats.len() >= shard.sweep_at {
                shard.tats.retain(|_, tat| *tat > now);
                shard.sweep_at = (shard.tats.len() * 2).max(FIRST_SWEEP);
            }
        }
        verdict
    }

    /// Clients this process holds a budget for (swept or not).
    pub fn clients(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().map_or(0, |shard| shard.tats.len()))
            .sum()
    }
}

fn shard_of(key: &(Family, String)) -> usize {
    use std::hash::{BuildHasher, RandomState};
    static HASHER: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
    HASHER.get_or_init(RandomState::new).hash_one(key) as usize % SHARDS
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn clients_and_families_have_their_own_budgets() {
        let memory = Memory::default();
        let quota = Quota {
            count: 2,
            window: Duration::from_secs(60),
        };
        for _ in 0..2 {
            assert!(memory.decide(Family::Write, "a", quota, true).allowed);
        }
        assert!(!memory.decide(Family::Write, "a", quota, true).allowed);
        assert!(memory.decide(Family::Write, "b", quota, true).allowed);
        assert!(memory.decide(Family::Read, "a", quota, true).allowed);
    }

    #[test]
    fn spent_budgets_are_swept_out() {
        let memory = Memory::default();
        let quota = Quota {
            count: 1_000_000,
            window: Duration::from_secs(1),
        };
        // Each client's TAT is one microsecond ahead: past by the time the shard is swept.
        for client in 0..FIRST_SWEEP * SHARDS * 2 {
            memory.decide(Family::Read, &client.to_string(), quota, true);
        }
        assert!(memory.clients() < FIRST_SWEEP * SHARDS * 2);
    }
}
