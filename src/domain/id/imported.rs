//! Ids for imported rows: the same row of the same file gets the same id on every run.
//!
//! An imported twoot keeps its millisecond; the 21 node and sequence bits below it are spread from
//! the row's position in the file. So any number of rows may share a millisecond (a date-precision
//! export puts thousands in one), and a rerun after a crash, or of the same file, lands each row
//! on the id it already has, which is how the import recognises what it stored before.

use chrono::{DateTime, Utc};

use super::{MessageId, TIME_SHIFT};

/// The node and sequence bits below the millisecond, together.
const SLOT_MASK: u64 = (1 << TIME_SHIFT) - 1;
/// Odd, so multiplying by it permutes the slots: distinct ordinals within any 2^21 rows never share
/// a slot. Large and irregular, so consecutive rows scatter over every node number rather than
/// piling onto node 0, the node the first live instance leases.
const ORDINAL_SPREAD: u64 = 0x9E37_79B9_7F4A_7C15 & SLOT_MASK | 1;
/// Odd too, so the probes of one row visit every slot before any repeats.
const PROBE_STRIDE: u64 = 0x0005_F356_495B & SLOT_MASK | 1;

/// The id of the row at `ordinal` (its position among the file's rows, from 0) posted at `at`, on
/// its `probe`-th try (0 first; the next when the id is taken by a different twoot), or `None`
/// when `at` is outside 1970..=2109.
pub fn imported_id(at: DateTime<Utc>, ordinal: u64, probe: u32) -> Option<MessageId> {
    let ms = at.timestamp_millis();
    if !(0..=super::MAX_TIMESTAMP_MS).contains(&ms) {
        return None;
    }
    let slot = ordinal
        .wrapping_mul(ORDINAL_SPREAD)
        .wrapping_add(u64::from(probe).wrapping_mul(PROBE_STRIDE))
        & SLOT_MASK;
    Some(MessageId::from_i64(ms << TIME_SHIFT | slot as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).unwrap()
    }

    #[test]
    fn keeps_the_millisecond_and_stays_in_range() {
        let id = imported_id(at(1_680_427_500_123), 12_345, 7).unwrap();
        assert_eq!(id.unix_ms(), 1_680_427_500_123);
        assert!(id.as_i64() >= 0);
        let last = imported_id(at(super::super::MAX_TIMESTAMP_MS), u64::MAX, u32::MAX).unwrap();
        assert!(last.as_i64() >= 0);
        assert!(imported_id(at(-1), 0, 0).is_none());
    }

    #[test]
    fn a_million_rows_in_one_millisecond_get_a_million_ids() {
        let ids: HashSet<_> = (0..1_000_000u64)
            .map(|ordinal| imported_id(at(0), ordinal, 0).unwrap())
            .collect();
        assert_eq!(ids.len(), 1_000_000);
    }

    #[test]
    fn consecutive_rows_spread_over_the_node_numbers() {
        let nodes: HashSet<_> = (0..64u64)
            .map(|ordinal| imported_id(at(0), ordinal, 0).unwrap().node().get())
            .collect();
        assert!(nodes.len() > 48, "{} nodes", nodes.len());
    }

    #[test]
    fn a_rows_probes_never_repeat_within_a_millisecond() {
        let slots: HashSet<_> = (0..100_000u32)
            .map(|probe| imported_id(at(0), 42, probe).unwrap())
            .collect();
        assert_eq!(slots.len(), 100_000);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Any multiset of times for up to a million rows: every row its own id. The times are
        /// drawn from a seed (a million-element strategy would be too slow to shrink), over few
        /// distinct milliseconds so that many rows share each one.
        #[test]
        fn no_two_rows_of_a_file_share_an_id(
            rows in 1usize..=1_000_000,
            distinct_ms in 1i64..5_000,
            seed: u64,
            offset in 0u64..(1 << 40),
        ) {
            let mut state = seed | 1;
            let mut seen = HashSet::with_capacity(rows);
            for ordinal in 0..rows as u64 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let ms = (state % distinct_ms as u64) as i64;
                let id = imported_id(at(ms), offset + ordinal, 0).unwrap();
                prop_assert!(seen.insert(id), "row {} collides", ordinal);
                prop_assert_eq!(id.unix_ms(), ms);
            }
        }
    }
}
