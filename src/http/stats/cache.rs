//! The statistics as this instance last read them, at most [`MAX_AGE`] old: however many people
//! ask, the database is asked once a second per instance and question. Concurrent requests for a
//! stale answer wait for one read instead of each making their own. Answers are kept as the JSON
//! they are sent as: a fresh one costs a request a reference count, not a copy and a serialization.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;

use super::MessageStats;

/// How old an answer may be.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// Questions remembered at once: a client cycling through tags or year ranges cannot make the
/// cache grow without bound; past this, answers older than [`MAX_AGE`] are dropped, and if all
/// are fresh the new question is answered without being remembered.
const MAX_QUESTIONS: usize = 512;

/// One question: the year range, the tag if one was asked for, and how many tags per year.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Question {
    pub start: i32,
    pub end: i32,
    pub tag: Option<String>,
    pub top: u32,
}

type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Bytes)>>>;

/// Answers by question, each behind its own lock.
#[derive(Default)]
pub struct StatsCache {
    slots: Mutex<HashMap<Question, Slot>>,
}

impl StatsCache {
    /// The answer to `question` as JSON: remembered if it is fresh, else read with `read`.
    pub async fn get<E, F>(&self, question: Question, read: F) -> Result<Bytes, E>
    where
        F: Future<Output = Result<MessageStats, E>>,
    {
        let json = |stats: MessageStats| {
            Bytes::from(serde_json::to_vec(&stats).expect("maps of strings to numbers serialize"))
        };
        let Some(slot) = self.slot(question) else {
            return read.await.map(json);
        };
        let mut answer = slot.lock().await;
        if let Some((at, stats)) = answer.as_ref() {
            if at.elapsed() < MAX_AGE {
                return Ok(stats.clone());
            }
        }
        let started = Instant::now();
        let stats = json(read.await?);
        *answer = Some((started, stats.clone()));
        Ok(stats)
    }

    fn slot(&self, question: Question) -> Option<Slot> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if !slots.contains_key(&question) && slots.len() >= MAX_QUESTIONS {
            slots.retain(|_, slot| {
                slot.try_lock().map_or(true, |answer| {
                    answer
                        .as_ref()
                        .is_some_and(|(at, _)| at.elapsed() < MAX_AGE)
                })
            });
            if slots.len() >= MAX_QUESTIONS {
                return None;
            }
        }
        Some(slots.entry(question).or_default().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn question(tag: &str) -> Question {
        Question {
            start: 0,
            end: 3000,
            tag: Some(tag.to_owned()),
            top: 100,
        }
    }

    #[tokio::test]
    async fn concurrent_questions_make_one_read_and_a_second_later_another() {
        let cache = Arc::new(StatsCache::default());
        let reads = Arc::new(AtomicUsize::new(0));
        let ask = |cache: Arc<StatsCache>, reads: Arc<AtomicUsize>| async move {
            cache
                .get(question("coffee"), async {
                    reads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok::<_, ()>(MessageStats::new())
                })
                .await
        };
        let asking: Vec<_> = (0..20)
            .map(|_| tokio::spawn(ask(cache.clone(), reads.clone())))
            .collect();
        for answer in asking {
            answer.await.unwrap().unwrap();
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        tokio::time::sleep(MAX_AGE).await;
        ask(cache.clone(), reads.clone()).await.unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_read_is_not_remembered_and_questions_stay_bounded() {
        let cache = StatsCache::default();
        let failed: Result<_, &str> = cache.get(question("tea"), async { Err("down") }).await;
        assert!(failed.is_err());
        let answered = cache
            .get(question("tea"), async {
                Ok::<_, &str>(MessageStats::new())
            })
            .await;
        assert!(answered.is_ok());
        for n in 0..MAX_QUESTIONS * 2 {
            let tag = format!("t{n}");
            cache
                .get(question(&tag), async { Ok::<_, ()>(MessageStats::new()) })
                .await
                .unwrap();
        }
        assert!(cache.slots.lock().unwrap().len() <= MAX_QUESTIONS);
    }
}
