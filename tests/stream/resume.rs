//! A reconnection with `Last-Event-ID` gets a twoot that committed late below the last id the
//! client saw: at once, and after that twoot's window has settled. The window below the last id
//! comes again (at-least-once), so the client sees the late one and repeats, never a gap.

use std::time::Duration;

use twooter::domain::{MessageId, MessageText, NewMessage, NodeId, Tag};
use twooter::store::Post;

use crate::sse::{instance, post, Sse};
use crate::support::TestDb;

const WAIT: Duration = Duration::from_secs(5);
/// `POST_COMMIT_DEADLINE` of the instance, whose clock skew is 1 ms: ids older than this (and
/// the skew) are settled.
const DEADLINE: Duration = Duration::from_secs(2);

/// Sees one twoot, disconnects, stores a twoot with a lower id as a slow post on another
/// instance would, waits `away`, and reconnects with the id it saw.
async fn a_late_commit_below_the_last_id_is_replayed(away: Duration) {
    let db = TestDb::sqlite().await;
    let server = instance(
        &db.url,
        &[("POST_COMMIT_DEADLINE", "2s"), ("MAX_CLOCK_SKEW", "1ms")],
    );
    let client = reqwest::Client::new();
    let mut stream = Sse::open(&server.url("/messages/stream?tag=late"), None).await;
    let seen = post(&client, &server, "seen before the late one", "late").await;
    assert_eq!(stream.ids(1, WAIT).await, std::slice::from_ref(&seen));
    drop(stream);

    // Its id was made just before the one seen, on another node; it commits only now.
    let seen_id = MessageId::from_i64(seen.parse().unwrap());
    let id = MessageId::from_parts(seen_id.unix_ms() - 100, NodeId::new(900).unwrap(), 0).unwrap();
    let late = NewMessage {
        id,
        text: MessageText::parse("committed late").unwrap(),
        tag: Tag::parse("late").unwrap(),
        timestamp: id.timestamp(),
    };
    let commit_by = late.id.timestamp() + chrono::Duration::from_std(DEADLINE).unwrap();
    let post_late = Post {
        message: late.clone(),
        commit_by,
        idempotent: None,
    };
    db.store.insert_posts(&[post_late]).await.unwrap();
    tokio::time::sleep(away).await;

    let url = server.url("/messages/stream?tag=late");
    let mut resumed = Sse::open(&url, Some(&seen)).await;
    // The window below the id seen is replayed, oldest first: the late twoot, then the one seen
    // again.
    assert_eq!(resumed.ids(2, WAIT).await, [late.id.to_string(), seen]);
    let live = post(&client, &server, "after the reconnection", "late").await;
    assert_eq!(resumed.ids(1, WAIT).await, [live]);
    let extra = resumed.message(Duration::from_millis(1500)).await;
    assert!(extra.is_none(), "an event twice: {extra:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_commit_is_replayed_to_a_client_that_reconnects_at_once() {
    a_late_commit_below_the_last_id_is_replayed(Duration::ZERO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_commit_is_replayed_to_a_client_that_reconnects_after_it_settled() {
    // Longer than the deadline: by now even the late twoot's id is below the settled line.
    a_late_commit_below_the_last_id_is_replayed(DEADLINE + Duration::from_millis(500)).await;
}
