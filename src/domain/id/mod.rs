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

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Serialize, Serializer};

mod backfill;
mod generator;
mod imported;

pub use backfill::BackfillIds;
pub use generator::{IdGenerator, NoNodeLease};
pub use imported::imported_id;

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

    /// The smallest id of millisecond `unix_ms` (clamped into 1970..=2109).
    pub fn first_at(unix_ms: i64) -> Self {
        Self(unix_ms.clamp(0, MAX_TIMESTAMP_MS) << TIME_SHIFT)
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

    /// The node that made the id.
    pub fn node(self) -> NodeId {
        NodeId((self.0 >> SEQUENCE_BITS) as u16 & NodeId::MAX)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn node(n: u16) -> NodeId {
        NodeId::new(n).unwrap()
    }

    #[test]
    fn round_trips_its_parts() {
        let id = MessageId::from_parts(1_680_427_500_000, node(1023), 2047).unwrap();
        assert_eq!(id.unix_ms(), 1_680_427_500_000);
        assert_eq!(id.node(), node(1023));
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
            prop_assert_eq!(id_a.node(), node(a.1));
        }

        #[test]
        fn the_string_form_round_trips(raw in 0..=i64::MAX) {
            let id = MessageId::from_i64(raw);
            prop_assert_eq!(id.to_string().parse::<MessageId>().unwrap(), id);
        }
    }
}
