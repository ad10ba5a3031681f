//! Message ids: Snowflake-style 63-bit integers that sort by time and need no central counter.
//!
//! Layout, most significant first (the sign bit stays 0 so every backend's signed BIGINT holds it):
//!
//! | bits | field                                                                |
//! |------|----------------------------------------------------------------------|
//! | 42   | milliseconds since 1970-01-01T00:00:00Z (good until 2109-05-15)      |
//! | 10   | node: which writer made it (0–1023)                                  |
//! | 11   | sequence within that millisecond on that node (0–2047)               |
//!
//! Two writers never coordinate per id. Each instance holds a node number that no other running
//! instance holds: leased from the database (see `crate::lease`), or fixed by configuration for a
//! fleet that numbers itself. Within a node, ids only grow, and a node that changes hands starts
//! above the last millisecond its previous holder could have used, so ids are unique by
//! construction, not only because one primary key happens to see every row.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use rand::Rng;
use serde::{Serialize, Serializer};

const NODE_BITS: u32 = 10;
const SEQUENCE_BITS: u32 = 11;
const TIME_SHIFT: u32 = NODE_BITS + SEQUENCE_BITS;
const MAX_SEQUENCE: u16 = (1 << SEQUENCE_BITS) - 1;

/// Largest timestamp an id can carry, in milliseconds since the Unix epoch.
pub const MAX_TIMESTAMP_MS: i64 = (1 << (63 - TIME_SHIFT)) - 1;

/// A message id. Serialized as a decimal string, since JavaScript loses integers above 2^53.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(i64);

impl MessageId {
    /// The id made of these parts, or `None` if the time is outside 1970..=2109.
    pub fn from_parts(unix_ms: i64, node: NodeId, sequence: u16) -> Option<Self> {
        if !(0..=MAX_TIMESTAMP_MS).contains(&unix_ms) || sequence > MAX_SEQUENCE {
            return None;
        }
        Some(Self(
            unix_ms << TIME_SHIFT | i64::from(node.0) << SEQUENCE_BITS | i64::from(sequence),
        ))
    }

    /// Wraps a value read back from the database.
    pub fn from_i64(raw: i64) -> Self {
        Self(raw)
    }

    /// The value stored in the database.
    pub fn as_i64(self) -> i64 {
        self.0
    }

    /// Milliseconds since the Unix epoch at which the id was made.
    pub fn unix_ms(self) -> i64 {
        self.0 >> TIME_SHIFT
    }

    /// The id's time as a UTC timestamp.
    pub fn timestamp(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.unix_ms())
            .single()
            .expect("42-bit millisecond values are always representable")
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a string is not a message id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be a message id: a decimal integer from 0 to 9223372036854775807")]
pub struct InvalidMessageId;

impl FromStr for MessageId {
    type Err = InvalidMessageId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // `i64::from_str` accepts a leading '+' or '-'; an id is digits only.
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidMessageId);
        }
        s.parse::<i64>().map(Self).map_err(|_| InvalidMessageId)
    }
}

impl Serialize for MessageId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// Serializes a timestamp as RFC 3339 in UTC with a `Z`, with as many fraction digits as it has.
pub(crate) fn serialize_rfc3339<S: Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// The writer number in every id an instance makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeId(u16);

impl NodeId {
    /// Largest node number.
    pub const MAX: u16 = (1 << NODE_BITS) - 1;

    /// The node `n`, if it fits in the id's node bits.
    pub fn new(n: u16) -> Option<Self> {
        (n <= Self::MAX).then_some(Self(n))
    }

    /// The node number.
    pub fn get(self) -> u16 {
        self.0
    }
}

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
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn node(n: u16) -> NodeId {
        NodeId::new(n).unwrap()
    }

    #[test]
    fn round_trips_its_parts() {
        let id = MessageId::from_parts(1_680_427_500_000, node(1023), 2047).unwrap();
        assert_eq!(id.unix_ms(), 1_680_427_500_000);
        assert_eq!(
            id.timestamp().to_rfc3339_opts(SecondsFormat::AutoSi, true),
            "2023-04-02T09:25:00Z"
        );
        assert!(id.as_i64() > 0);
        assert!(
            MessageId::from_parts(MAX_TIMESTAMP_MS, node(1023), 2047)
                .unwrap()
                .as_i64()
                > 0
        );
        assert!(MessageId::from_parts(MAX_TIMESTAMP_MS + 1, node(0), 0).is_none());
        assert!(MessageId::from_parts(-1, node(0), 0).is_none());
        assert!(NodeId::new(1024).is_none());
    }

    #[test]
    fn serializes_as_a_string() {
        let id = MessageId::from_i64(7_049_402_335_127_552);
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"7049402335127552\"");
    }

    #[test]
    fn parses_only_plain_digits() {
        assert_eq!("42".parse::<MessageId>().unwrap(), MessageId::from_i64(42));
        for bad in ["", "+1", "-1", "1.0", "abc", " 1", "9223372036854775808"] {
            assert!(bad.parse::<MessageId>().is_err(), "{bad:?} accepted");
        }
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
        assert_eq!(after.as_i64() >> SEQUENCE_BITS & i64::from(NodeId::MAX), 3);
        // A node given back at the same millisecond still moves past every id made.
        ids.grant(node(1), later, 0);
        assert!(ids.next_at(65_000).unwrap() > after);
    }

    proptest! {
        #[test]
        fn ids_order_by_time_then_node_then_sequence(
            a in (0..=MAX_TIMESTAMP_MS, 0..=NodeId::MAX, 0..=MAX_SEQUENCE),
            b in (0..=MAX_TIMESTAMP_MS, 0..=NodeId::MAX, 0..=MAX_SEQUENCE),
        ) {
            let id_a = MessageId::from_parts(a.0, node(a.1), a.2).unwrap();
            let id_b = MessageId::from_parts(b.0, node(b.1), b.2).unwrap();
            prop_assert_eq!(id_a.cmp(&id_b), a.cmp(&b));
            prop_assert_eq!(id_a.unix_ms(), a.0);
        }

        #[test]
        fn the_string_form_round_trips(raw in 0..=i64::MAX) {
            let id = MessageId::from_i64(raw);
            prop_assert_eq!(id.to_string().parse::<MessageId>().unwrap(), id);
        }

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

        #[test]
        fn backfill_ids_within_2048_rows_never_collide(times in prop::collection::vec(0i64..50, 1..2048)) {
            let mut ids = BackfillIds::new(node(5));
            let mut seen = HashSet::new();
            for ms in times {
                let at = Utc.timestamp_millis_opt(ms).unwrap();
                prop_assert!(seen.insert(ids.id_at(at).unwrap()));
            }
        }
    }
}
