//! The generic cell rate algorithm, once: each client's state is one number, the theoretical
//! arrival time (TAT) of its next request. A request is let through when, after adding one
//! interval to the TAT, the TAT is no more than one window ahead of now. The Redis script in
//! `shared.rs` is this function in Lua, run where the state lives.

use super::policy::Quota;

/// What one decision found, in microseconds from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    /// How far the client's TAT is ahead of now after the decision: the time until its whole
    /// quota is back.
    pub backlog_us: u64,
    /// When refused, the time until one request would be let through.
    pub retry_us: u64,
}

/// Decides one request at `now_us` for a client whose TAT is `tat_us` (`None`: never seen, or
/// long enough ago that it no longer matters). Returns the verdict and the TAT to store, if any.
pub fn decide(tat_us: Option<u64>, now_us: u64, quota: Quota) -> (Verdict, Option<u64>) {
    let tat = tat_us.unwrap_or(now_us).max(now_us);
    let new_tat = tat + quota.interval_us();
    let allow_at = new_tat.saturating_sub(quota.window_us());
    if allow_at > now_us {
        let verdict = Verdict {
            allowed: false,
            backlog_us: tat - now_us,
            retry_us: allow_at - now_us,
        };
        return (verdict, None);
    }
    let verdict = Verdict {
        allowed: true,
        backlog_us: new_tat - now_us,
        retry_us: 0,
    };
    (verdict, Some(new_tat))
}

impl Verdict {
    /// Requests the client may still make at once.
    pub fn remaining(&self, quota: Quota) -> u32 {
        let free = quota.window_us().saturating_sub(self.backlog_us);
        u32::try_from(free / quota.interval_us())
            .unwrap_or(u32::MAX)
            .min(quota.count)
    }

    /// Whole seconds until the whole quota is back, rounded down.
    pub fn reset_seconds(&self) -> u64 {
        self.backlog_us / 1_000_000
    }

    /// Whole seconds to wait before retrying a refused request, rounded up, at least 1.
    pub fn retry_after_seconds(&self) -> u64 {
        self.retry_us.div_ceil(1_000_000).max(1)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const FIVE_PER_10S: Quota = Quota {
        count: 5,
        window: Duration::from_secs(10),
    };

    #[test]
    fn the_whole_quota_at_once_then_one_per_interval() {
        let mut tat = None;
        for remaining in (0..5).rev() {
            let (verdict, stored) = decide(tat, 0, FIVE_PER_10S);
            assert!(verdict.allowed);
            assert_eq!(verdict.remaining(FIVE_PER_10S), remaining);
            tat = stored;
        }
        let (refused, stored) = decide(tat, 0, FIVE_PER_10S);
        assert!(!refused.allowed);
        assert_eq!(stored, None);
        assert_eq!(refused.remaining(FIVE_PER_10S), 0);
        assert_eq!(refused.retry_us, 2_000_000);
        assert_eq!(refused.retry_after_seconds(), 2);
        assert_eq!(refused.reset_seconds(), 10);
        // One interval later, one more request and no more.
        let (verdict, tat) = decide(tat, 2_000_000, FIVE_PER_10S);
        assert!(verdict.allowed);
        assert_eq!(verdict.remaining(FIVE_PER_10S), 0);
        assert!(!decide(tat, 2_000_000, FIVE_PER_10S).0.allowed);
        // A whole window later, the whole quota again.
        let (verdict, _) = decide(tat, 12_000_000, FIVE_PER_10S);
        assert_eq!(verdict.remaining(FIVE_PER_10S), 4);
    }

    #[test]
    fn a_short_wait_still_asks_for_a_whole_second() {
        let verdict = Verdict {
            allowed: false,
            backlog_us: 0,
            retry_us: 1,
        };
        assert_eq!(verdict.retry_after_seconds(), 1);
    }
}
