//! Ids for messages with a given past time: imports and seeding.

use chrono::{DateTime, Utc};
use rand::Rng;

use super::{MessageId, NodeId, MAX_SEQUENCE};

/// Makes ids for twoots with a given past time (imports and seeding), where many rows can share a
/// millisecond and rows arrive in any order. Consecutive ids take consecutive sequence numbers, so
/// rows that share a millisecond within 2048 rows of each other never collide; rarer collisions
/// with rows stored earlier are caught by the primary key, and the caller calls [`Self::reshuffle`]
/// and retries.
#[derive(Debug)]
pub struct BackfillIds {
    node: NodeId,
    sequence: u16,
}

impl BackfillIds {
    /// Ids written with `node`, starting at a random sequence number.
    pub fn new(node: NodeId) -> Self {
        Self::starting_at(node, rand::thread_rng().gen())
    }

    /// Ids written with `node`, starting at `sequence` (wrapped into range): for repeatable runs.
    pub fn starting_at(node: NodeId, sequence: u16) -> Self {
        Self {
            node,
            sequence: sequence & MAX_SEQUENCE,
        }
    }

    /// An id for a twoot posted at `at`, or `None` if `at` is outside 1970..=2109.
    pub fn id_at(&mut self, at: DateTime<Utc>) -> Option<MessageId> {
        let id = MessageId::from_parts(at.timestamp_millis(), self.node, self.sequence)?;
        self.sequence = if self.sequence == MAX_SEQUENCE {
            0
        } else {
            self.sequence + 1
        };
        Some(id)
    }

    /// Jumps to a random sequence number, after a batch met an id that was already taken.
    pub fn reshuffle(&mut self) {
        self.sequence = rand::thread_rng().gen_range(0..=MAX_SEQUENCE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use std::collections::HashSet;

    proptest! {
        #[test]
        fn backfill_ids_within_2048_rows_never_collide(times in prop::collection::vec(0i64..50, 1..2048)) {
            let mut ids = BackfillIds::new(NodeId::new(5).unwrap());
            let mut seen = HashSet::new();
            for ms in times {
                let at = Utc.timestamp_millis_opt(ms).unwrap();
                prop_assert!(seen.insert(ids.id_at(at).unwrap()));
            }
        }
    }
}
