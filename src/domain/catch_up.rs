//! Catching up by id without missing a twoot.
//!
//! Ids are made before the insert waits for the database, and instances' clocks differ, so twoots
//! do not commit in id order: a client that has read past an id could miss an older one that
//! commits later. Two rules close that gap. A post must commit within `commit_within` of its id's
//! time or is rolled back (the store checks before committing), and clocks agree within
//! `clock_skew`. So every id older than `commit_within + clock_skew` before now is settled: it is
//! either stored or never will be. Pages read up from an `after` cursor stop below that line, and
//! the `prev` link of a page read without one starts below it too; the live feed reads again every
//! id above it, and a stream that resumes replays from below it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::MessageId;

/// How long a post may take to commit, and how far apart instances' clocks may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatchUp {
    /// Longest a post may take from its id to its commit before it is rolled back.
    pub commit_within: Duration,
    /// Largest difference between two instances' clocks.
    pub clock_skew: Duration,
}

impl CatchUp {
    /// The smallest id that may not be settled at `now`: every smaller one is stored or never
    /// will be.
    pub fn settled_below(&self, now: DateTime<Utc>) -> MessageId {
        let lag = self.commit_within.saturating_add(self.clock_skew);
        let lag_ms = i64::try_from(lag.as_millis()).unwrap_or(i64::MAX);
        let first_unsettled_ms = now.timestamp_millis().saturating_sub(lag_ms).max(0);
        MessageId::first_at(first_unsettled_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_trails_now_by_the_commit_deadline_and_the_skew() {
        let rules = CatchUp {
            commit_within: Duration::from_secs(5),
            clock_skew: Duration::from_secs(2),
        };
        let now = DateTime::from_timestamp_millis(1_700_000_007_000).unwrap();
        let line = rules.settled_below(now);
        assert_eq!(line.unix_ms(), 1_700_000_000_000);
        assert_eq!(line, MessageId::first_at(1_700_000_000_000));
        let epoch = DateTime::from_timestamp_millis(1_000).unwrap();
        assert_eq!(rules.settled_below(epoch), MessageId::from_i64(0));
    }
}
