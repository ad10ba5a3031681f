//! Group commit at the poster: a failure that belongs to one post of a batch stays with it.

use std::sync::Arc;
use std::time::Duration;

use twooter::domain::{BackfillIds, NodeId};
use twooter::posting::{PostError, Poster, Settings};
use twooter::store::{IdempotentInsert, Post, StoreError};

use super::{batches_written, count_rows, live_post, one_writer, WriteHold};
use crate::conformance::new_message;
use crate::support::{Backend, TestDb};

/// One post of a batch takes an id already stored: the batch fails, is written again a post at a
/// time, and only that post fails (its handler then retries it with a fresh id).
async fn a_taken_id_fails_only_its_own_post(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    twooter::metrics::install();
    // One connection: one writer, so the queued posts make one batch.
    let store = one_writer(&db).await;
    let mut ids = BackfillIds::new(NodeId::new(9).unwrap());
    let now = chrono::Utc::now();
    let taken = new_message(&mut ids, "already here", "taken", now);
    store.insert(&taken).await.unwrap();
    let poster = Arc::new(Poster::start(
        store.clone(),
        Settings {
            batch_max: 16,
            queue_max: 64,
        },
    ));
    let submit = |message| {
        let poster = poster.clone();
        tokio::spawn(async move { poster.post(live_post(message)).await })
    };

    let hold = WriteHold::take(&db).await;
    let first = submit(new_message(&mut ids, "first", "batch", now));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut batch = Vec::new();
    for i in 0..5 {
        let mut message = new_message(&mut ids, &format!("batched {i}"), "batch", now);
        if i == 2 {
            message.id = taken.id;
        }
        batch.push((message.clone(), submit(message)));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    hold.release().await;

    assert!(matches!(first.await.unwrap(), Ok(IdempotentInsert::Stored)));
    for (i, (message, outcome)) in batch.into_iter().enumerate() {
        let outcome = outcome.await.unwrap();
        let stored = store.get(message.id).await.unwrap().unwrap();
        if i == 2 {
            assert!(
                matches!(outcome, Err(PostError::Store(StoreError::DuplicateId(id))) if id == taken.id),
                "{outcome:?}"
            );
            assert_eq!(stored.text, "already here");
        } else {
            assert!(
                matches!(outcome, Ok(IdempotentInsert::Stored)),
                "{outcome:?}"
            );
            assert_eq!(stored.text, message.text.as_str());
        }
    }
    assert_eq!(count_rows(&db).await, 6);
    assert_eq!(
        crate::conformance::recount(store.as_ref()).await,
        store.stats(0, 3000).await.unwrap()
    );
    assert_eq!(
        batches_written(),
        (2, 6),
        "the five queued posts made one batch"
    );
}

/// A batch that would commit after one post's deadline: that post alone is answered
/// `PastCommitDeadline`, and the others are written in the next transaction.
async fn a_late_post_fails_alone(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = one_writer(&db).await;
    let poster = Arc::new(Poster::start(
        store.clone(),
        Settings {
            batch_max: 16,
            queue_max: 64,
        },
    ));
    let mut ids = BackfillIds::new(NodeId::new(9).unwrap());
    let now = chrono::Utc::now();
    let submit = |post: Post| {
        let poster = poster.clone();
        tokio::spawn(async move { poster.post(post).await })
    };
    let hold = WriteHold::take(&db).await;
    let blocker = submit(live_post(new_message(&mut ids, "blocker", "late", now)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut late = live_post(new_message(&mut ids, "late", "late", now));
    late.commit_by = chrono::Utc::now() + chrono::Duration::milliseconds(100);
    let late_id = late.message.id;
    let late = submit(late);
    let on_time: Vec<_> = (0..3)
        .map(|i| {
            let post = live_post(new_message(&mut ids, &format!("on time {i}"), "late", now));
            (post.message.id, submit(post))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    hold.release().await;

    assert!(matches!(
        blocker.await.unwrap(),
        Ok(IdempotentInsert::Stored)
    ));
    let late = late.await.unwrap();
    assert!(
        matches!(late, Err(PostError::Store(StoreError::PastCommitDeadline))),
        "{late:?}"
    );
    assert!(store.get(late_id).await.unwrap().is_none());
    for (id, outcome) in on_time {
        assert!(matches!(
            outcome.await.unwrap(),
            Ok(IdempotentInsert::Stored)
        ));
        assert!(store.get(id).await.unwrap().is_some());
    }
    assert_eq!(count_rows(&db).await, 4);
}

on_every_backend!(a_taken_id_fails_only_its_own_post, a_late_post_fails_alone);
