//! Ids for messages posted now, on one instance: monotonic, and minted only while the instance
//! holds its node number.

use std::sync::Mutex;
use std::time::Instant;

use chrono::Utc;

use super::{MessageId, NodeId, MAX_SEQUENCE, MAX_TIMESTAMP_MS};

/// Why no id can be made right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this instance holds no node number for ids: its lease is missing or has lapsed")]
pub struct NoNodeLease;

/// Makes ids for messages posted now, on one instance. Cheap to share: one short lock per id.
#[derive(Debug)]
pub struct IdGenerator {
    state: Mutex<GeneratorState>,
}

#[derive(Debug)]
struct GeneratorState {
    /// The node to mint with and until when; `None` while the instance holds no node.
    grant: Option<Grant>,
    /// No id is minted at a millisecond below this one (a node's previous holder used them).
    floor_ms: i64,
    /// The last millisecond used and the next sequence number in it.
    last_ms: i64,
    next_sequence: u16,
}

#[derive(Debug, Clone, Copy)]
struct Grant {
    node: NodeId,
    /// When the right to mint with `node` ends; `None` for a node fixed by configuration.
    until: Option<Instant>,
}

impl IdGenerator {
    /// A generator that always writes `node`: for a fleet that numbers its instances itself
    /// (`NODE_ID`), and for tools whose ids a primary key checks.
    pub fn new(node: NodeId) -> Self {
        Self::with_grant(Some(Grant { node, until: None }))
    }

    /// A generator that mints nothing until [`Self::grant`] gives it a node.
    pub fn unassigned() -> Self {
        Self::with_grant(None)
    }

    fn with_grant(grant: Option<Grant>) -> Self {
        Self {
            state: Mutex::new(GeneratorState {
                grant,
                floor_ms: 0,
                last_ms: 0,
                next_sequence: 0,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, GeneratorState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Mint with `node` until `until`, at milliseconds of `floor_ms` or later. Renewing the same
    /// node only moves `until`; a different node starts at a millisecond after every id made so
    /// far, so this generator's ids keep growing across the change.
    pub fn grant(&self, node: NodeId, until: Instant, floor_ms: i64) {
        let mut state = self.state();
        let changed = state.grant.is_none_or(|grant| grant.node != node);
        if changed {
            state.next_sequence = MAX_SEQUENCE + 1;
        }
        state.floor_ms = state.floor_ms.max(floor_ms);
        state.grant = Some(Grant {
            node,
            until: Some(until),
        });
    }

    /// Stop minting at once: the node is no longer this instance's.
    pub fn revoke(&self) {
        self.state().grant = None;
    }

    /// The node currently held, if the right to mint with it has not lapsed.
    pub fn node(&self) -> Option<NodeId> {
        let state = self.state();
        state.grant.filter(Grant::is_valid).map(|grant| grant.node)
    }

    /// The latest millisecond an id made now could carry: the clock, or later if the sequence
    /// of a busy millisecond ran ahead of it or a floor put it there.
    pub fn high_water_ms(&self) -> i64 {
        let state = self.state();
        Utc::now()
            .timestamp_millis()
            .max(state.last_ms)
            .max(state.floor_ms)
    }

    /// A new id for the current time, larger than every id this generator made before.
    pub fn next_id(&self) -> Result<MessageId, NoNodeLease> {
        self.next_at(Utc::now().timestamp_millis())
    }

    /// A new id at `now_ms` or, if the clock stepped back, is below the floor or the millisecond
    /// is used up, just after the last id made: ids from one generator never go backwards.
    fn next_at(&self, now_ms: i64) -> Result<MessageId, NoNodeLease> {
        let mut state = self.state();
        let grant = state.grant.filter(Grant::is_valid).ok_or(NoNodeLease)?;
        let now_ms = now_ms.max(state.floor_ms);
        let (ms, sequence) = if now_ms > state.last_ms {
            (now_ms, 0)
        } else if state.next_sequence <= MAX_SEQUENCE {
            (state.last_ms, state.next_sequence)
        } else {
            (state.last_ms + 1, 0)
        };
        state.last_ms = ms;
        state.next_sequence = sequence + 1;
        Ok(
            MessageId::from_parts(ms.min(MAX_TIMESTAMP_MS), grant.node, sequence)
                .expect("sequence and node are in range"),
        )
    }
}

impl Grant {
    fn is_valid(&self) -> bool {
        self.until.is_none_or(|until| Instant::now() < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn node(n: u16) -> NodeId {
        NodeId::new(n).unwrap()
    }

    #[test]
    fn a_burst_in_one_millisecond_stays_unique_and_ordered() {
        let ids = IdGenerator::new(node(7));
        let made: Vec<_> = (0..5000).map(|_| ids.next_at(1_000).unwrap()).collect();
        assert!(made.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_clock_that_steps_back_does_not_reorder_ids() {
        let ids = IdGenerator::new(node(7));
        let first = ids.next_at(10_000).unwrap();
        let second = ids.next_at(9_000).unwrap();
        assert!(second > first);
    }

    #[test]
    fn concurrent_generation_is_unique() {
        let ids = std::sync::Arc::new(IdGenerator::new(node(3)));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let ids = ids.clone();
                std::thread::spawn(move || {
                    (0..20_000)
                        .map(|_| ids.next_id().unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for t in threads {
            for id in t.join().unwrap() {
                assert!(seen.insert(id), "duplicate id {id}");
            }
        }
    }

    #[test]
    fn an_unassigned_or_lapsed_generator_mints_nothing() {
        let ids = IdGenerator::unassigned();
        assert_eq!(ids.next_id(), Err(NoNodeLease));
        ids.grant(
            node(4),
            Instant::now() + std::time::Duration::from_secs(60),
            0,
        );
        assert_eq!(ids.node(), Some(node(4)));
        assert!(ids.next_id().is_ok());
        ids.grant(node(4), Instant::now(), 0);
        assert_eq!(ids.next_id(), Err(NoNodeLease));
        assert_eq!(ids.node(), None);
        ids.grant(
            node(4),
            Instant::now() + std::time::Duration::from_secs(60),
            0,
        );
        ids.revoke();
        assert_eq!(ids.next_id(), Err(NoNodeLease));
    }

    #[test]
    fn a_new_node_starts_above_its_previous_holders_fence_and_above_own_ids() {
        let later = Instant::now() + std::time::Duration::from_secs(60);
        let ids = IdGenerator::unassigned();
        ids.grant(node(900), later, 0);
        let before = ids.next_at(5_000).unwrap();
        // The next node was used by an instance whose clock ran a minute ahead.
        ids.grant(node(3), later, 65_000);
        let after = ids.next_at(5_000).unwrap();
        assert!(after > before);
        assert_eq!(after.unix_ms(), 65_000);
        assert_eq!(after.node(), node(3));
        // A node given back at the same millisecond still moves past every id made.
        ids.grant(node(1), later, 0);
        assert!(ids.next_at(65_000).unwrap() > after);
    }

    proptest! {
        #[test]
        fn generated_ids_increase_whatever_the_clock_does(steps in prop::collection::vec(-5i64..5, 1..3000)) {
            let ids = IdGenerator::new(node(1));
            let mut now = 1_000_000i64;
            let mut previous = None;
            for step in steps {
                now += step;
                let id = ids.next_at(now).unwrap();
                prop_assert!(previous.is_none_or(|p| id > p));
                previous = Some(id);
            }
        }
    }
}
