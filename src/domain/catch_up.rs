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

    /// Where a reader that has seen `seen` resumes at `now`: after `seen`, and after nothing of
    /// the unsettled window below it. A twoot that commits after `seen` was read has an id above
    /// the settled line at `seen`'s time, so reading up from below that line misses none of them;
    /// the price is that the window's twoots already seen are read again.
    pub fn resume_after(&self, seen: MessageId, now: DateTime<Utc>) -> MessageId {
        // An id from a clock ahead of ours (or past the last) is held to our own clock.
        let seen_at = DateTime::from_timestamp_millis(seen.unix_ms()).map_or(now, |at| at.min(now));
        let line = self.settled_below(seen_at);
        seen.min(MessageId::from_i64(line.as_i64().saturating_sub(1).max(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: CatchUp = CatchUp {
        commit_within: Duration::from_secs(5),
        clock_skew: Duration::from_secs(2),
    };

    #[test]
    fn the_line_trails_now_by_the_commit_deadline_and_the_skew() {
        let now = DateTime::from_timestamp_millis(1_700_000_007_000).unwrap();
        let line = RULES.settled_below(now);
        assert_eq!(line.unix_ms(), 1_700_000_000_000);
        assert_eq!(line, MessageId::first_at(1_700_000_000_000));
        let epoch = DateTime::from_timestamp_millis(1_000).unwrap();
        assert_eq!(RULES.settled_below(epoch), MessageId::from_i64(0));
    }

    #[test]
    fn a_resumed_reader_reads_again_the_window_below_what_it_saw() {
        let now = DateTime::from_timestamp_millis(1_700_000_100_000).unwrap();
        // Seen a minute ago: the window below it, not the one below now, may still have grown.
        let seen = MessageId::first_at(1_700_000_040_000);
        let from = RULES.resume_after(seen, now);
        assert_eq!(
            from.as_i64() + 1,
            MessageId::first_at(1_700_000_033_000).as_i64()
        );
        // An id from ahead of our clock, or past the last, resumes below our own line.
        for ahead in [
            MessageId::first_at(1_700_000_500_000),
            MessageId::from_i64(i64::MAX),
        ] {
            assert_eq!(
                RULES.resume_after(ahead, now).as_i64() + 1,
                RULES.settled_below(now).as_i64()
            );
        }
    }
}
