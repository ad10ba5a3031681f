//! `twooter recount`: checks the counters that statistics read against the messages they count,
//! a year at a time, and with `--repair` sets every drifted one right, while the service runs.
//!
//! Each year is read in one transaction, so its counters and its messages are compared at the
//! same moment whatever is posted meanwhile; a repair counts one (year, tag) while holding its
//! counter against concurrent posts, so nothing posted during the repair is lost or counted twice.

use crate::store::{Store, StoreError};

/// A counter that disagrees with the messages it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub year: i32,
    pub tag: String,
    /// What the counter said.
    pub counters: i64,
    /// How many messages there were.
    pub counted: i64,
    /// The count the repair wrote, when one ran (it may be higher than `counted` if twoots were
    /// posted since).
    pub repaired_to: Option<i64>,
}

/// What a recount found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecountReport {
    pub years: usize,
    /// (year, tag) pairs checked.
    pub pairs: usize,
    /// Twoots counted.
    pub messages: i64,
    pub drifts: Vec<Drift>,
}

impl RecountReport {
    /// Whether every counter is right now: none drifted, or each drifted one was repaired.
    pub fn is_clean(&self) -> bool {
        self.drifts.iter().all(|drift| drift.repaired_to.is_some())
    }
}

/// Checks every year's counters, repairing drifted ones if `repair`; `on_year` hears of each
/// year as it is done, `on_drift` of each drift as it is found (and repaired).
pub async fn recount(
    store: &dyn Store,
    repair: bool,
    mut on_year: impl FnMut(i32),
    mut on_drift: impl FnMut(&Drift),
) -> Result<RecountReport, StoreError> {
    let mut report = RecountReport::default();
    for year in store.count_years().await? {
        let audit = store.audit_year(year).await?;
        let mut tags: Vec<&String> = audit.counters.keys().chain(audit.counted.keys()).collect();
        tags.sort_unstable();
        tags.dedup();
        report.years += 1;
        report.pairs += tags.len();
        report.messages += audit.counted.values().sum::<i64>();
        for tag in tags {
            let counters = audit.counters.get(tag).copied().unwrap_or(0);
            let counted = audit.counted.get(tag).copied().unwrap_or(0);
            if counters == counted {
                continue;
            }
            let repaired_to = if repair {
                Some(store.repair_count(year, tag).await?.1)
            } else {
                None
            };
            let drift = Drift {
                year,
                tag: tag.clone(),
                counters,
                counted,
                repaired_to,
            };
            on_drift(&drift);
            report.drifts.push(drift);
        }
        on_year(year);
    }
    Ok(report)
}
