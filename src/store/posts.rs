//! Posts written together: what one waiting request hands the store, and the deadline a batch of
//! them must commit by.

use chrono::{DateTime, Utc};

use super::IdempotentResponse;
use crate::domain::NewMessage;

/// One live post, ready to be stored with others in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub message: NewMessage,
    /// The latest moment its commit may start: see [`super::Store::insert_post`].
    pub commit_by: DateTime<Utc>,
    /// Its Idempotency-Key's answer, when it carried one.
    pub idempotent: Option<IdempotentPost>,
}

/// The answer of a post made under an Idempotency-Key, stored with its twoot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentPost {
    pub response: IdempotentResponse,
    /// A use of the key after this moment (ms since the Unix epoch) is still live: its answer is
    /// replayed instead of storing the twoot.
    pub live_after_ms: i64,
}

/// When a transaction holding `posts` must commit by: the earliest deadline among them.
pub(super) fn batch_deadline(posts: &[Post]) -> Option<DateTime<Utc>> {
    posts.iter().map(|post| post.commit_by).min()
}
