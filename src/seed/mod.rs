//! Synthetic twoots: the demo data of the embedded database and `twooter seed`.
//!
//! Deterministic for a given seed: the same texts, tags and times (and, with a fixed node, the
//! same ids) every run. Tags follow a long-tailed popularity curve and activity grows towards the
//! present, as on a real service.

pub mod corpus;
mod vocab;

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::domain::{BackfillIds, MessageText, NewMessage, NodeId, Tag};
use crate::store::{with_fresh_ids, Store, StoreError};

/// Rows per transaction when seeding.
const BATCH: usize = 50_000;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    /// How many twoots.
    pub count: u64,
    /// The RNG seed: the same seed gives the same twoots.
    pub seed: u64,
    /// How many years back from `until` the twoots spread.
    pub years: u32,
    /// The newest possible time.
    pub until: DateTime<Utc>,
    /// The node number written into the ids.
    pub node: NodeId,
}

/// Generates twoots in order of generation, batch by batch.
pub struct Generator {
    rng: SmallRng,
    tags: Vec<Tag>,
    popularity: WeightedIndex<f64>,
    ids: BackfillIds,
    until_ms: i64,
    span_ms: i64,
}

impl Generator {
    /// A generator for `plan`.
    pub fn new(plan: &SeedPlan) -> Self {
        let mut rng = SmallRng::seed_from_u64(plan.seed);
        let tags: Vec<Tag> = corpus::tags()
            .iter()
            .map(|tag| Tag::parse(tag).expect("corpus tags are valid"))
            .collect();
        // Zipf-like: the most popular tag gets about 20 times the twoots of the least.
        let popularity =
            WeightedIndex::new((1..=tags.len()).map(|rank| 1.0 / (rank as f64).powf(0.8)))
                .expect("weights are positive");
        let ids = BackfillIds::starting_at(plan.node, rng.gen());
        let span = Duration::days(365 * i64::from(plan.years.max(1)));
        Self {
            rng,
            tags,
            popularity,
            ids,
            until_ms: plan.until.timestamp_millis(),
            span_ms: span.num_milliseconds(),
        }
    }

    /// The next twoot.
    pub fn next_message(&mut self) -> NewMessage {
        let tag = self.tags[self.popularity.sample(&mut self.rng)].clone();
        let text = corpus::message_text(&mut self.rng, tag.as_str());
        // The square of a uniform variable leans towards 0: more twoots in recent years.
        let age = self.rng.gen::<f64>().powi(2);
        let at_ms = self.until_ms - (age * self.span_ms as f64) as i64;
        let timestamp = Utc
            .timestamp_millis_opt(at_ms)
            .single()
            .expect("within range");
        NewMessage {
            id: self
                .ids
                .id_at(timestamp)
                .expect("seed times are within the id range"),
            text: MessageText::parse(text).expect("corpus texts are valid"),
            tag,
            timestamp,
        }
    }

    /// Gives the next twoots new ids, after a batch met an id that was already taken.
    pub fn reassign_ids(&mut self, batch: &mut [NewMessage]) {
        self.ids.reshuffle();
        for message in batch {
            message.id = self.ids.id_at(message.timestamp).expect("already in range");
        }
    }
}

/// Stores the planned twoots in batches, calling `progress` with the running total.
pub async fn seed(
    store: &dyn Store,
    plan: &SeedPlan,
    mut progress: impl FnMut(u64),
) -> Result<u64, StoreError> {
    let mut generator = Generator::new(plan);
    let mut stored = 0;
    let started = Instant::now();
    while stored < plan.count {
        let size = (plan.count - stored).min(BATCH as u64) as usize;
        // Shared with each attempt's future, and unshared again (the attempt over) to renumber.
        let mut batch: Arc<[NewMessage]> = (0..size).map(|_| generator.next_message()).collect();
        with_fresh_ids(|attempt| {
            if attempt > 1 {
                let rows = Arc::get_mut(&mut batch).expect("the last attempt is over");
                generator.reassign_ids(rows);
            }
            let rows = batch.clone();
            async move { store.insert_batch(&rows).await }
        })
        .await?;
        stored += size as u64;
        progress(stored);
    }
    tracing::debug!(stored, elapsed = ?started.elapsed(), "seeded");
    Ok(stored)
}

/// The demo data the embedded database starts with: a few hundred twoots over the last ten years.
pub fn demo_plan(node: NodeId) -> SeedPlan {
    SeedPlan {
        count: 400,
        seed: 2023,
        years: 10,
        until: Utc::now(),
        node,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(seed: u64) -> SeedPlan {
        SeedPlan {
            count: 0,
            seed,
            years: 25,
            until: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            node: NodeId::new(1).unwrap(),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_twoots() {
        let mut a = Generator::new(&plan(7));
        let mut b = Generator::new(&plan(7));
        for _ in 0..1000 {
            assert_eq!(a.next_message(), b.next_message());
        }
        let mut c = Generator::new(&plan(8));
        assert_ne!(
            Generator::new(&plan(7)).next_message().text,
            c.next_message().text
        );
    }

    #[test]
    fn twoots_spread_over_the_years_and_tags() {
        let mut generator = Generator::new(&plan(1));
        let messages: Vec<_> = (0..20_000).map(|_| generator.next_message()).collect();
        let years: std::collections::BTreeSet<_> = messages
            .iter()
            .map(|m| chrono::Datelike::year(&m.timestamp))
            .collect();
        let tags: std::collections::HashSet<_> = messages.iter().map(|m| m.tag.clone()).collect();
        assert!(years.len() >= 25, "{years:?}");
        assert_eq!(tags.len(), 50);
        assert!(messages
            .iter()
            .all(|m| m.id.unix_ms() == m.timestamp.timestamp_millis()));
    }
}
