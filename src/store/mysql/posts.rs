//! Live posts written together on MySQL: one transaction, one multi-row insert, one upsert per
//! counter, one durable commit; run again after a deadlock or a certification failure.

use chrono::Utc;

use super::write::{conflict_pause, insert_rows, worth_another_attempt};
use super::MySqlStore;
use crate::domain::NewMessage;
use crate::store::posts::batch_deadline;
use crate::store::{
    duplicate_or, idempotency, IdempotentInsert, IdempotentResponse, Post, StoreError,
};

/// What one attempt left to settle for each post: done, or a key another request took first.
enum Pending<'a> {
    Done(IdempotentInsert),
    /// Another request's record of the key took the row first; after the commit, its record (to
    /// replay) or its absence (it rolled back, or is still in flight) says which.
    KeyTaken(&'a IdempotentResponse),
}

impl MySqlStore {
    /// See [`crate::store::Store::insert_posts`].
    pub(super) async fn insert_posts_retrying(
        &self,
        posts: &[Post],
    ) -> Result<Vec<IdempotentInsert>, StoreError> {
        let mut attempt = 1;
        let pending = loop {
            match self.try_insert_posts(posts).await {
                Ok(Some(pending)) => break pending,
                Ok(None) => return Err(StoreError::PastCommitDeadline),
                // Not again once the batch's deadline has passed: the writer then answers the
                // late posts and writes the others.
                Err(error)
                    if worth_another_attempt(&error, attempt)
                        && batch_deadline(posts).is_some_and(|by| Utc::now() <= by) =>
                {
                    conflict_pause(attempt).await;
                    attempt += 1;
                }
                Err(error) => {
                    return Err(duplicate_or(error, std::slice::from_ref(&posts[0].message)))
                }
            }
        };
        let mut outcomes = Vec::with_capacity(posts.len());
        for pending in pending {
            outcomes.push(match pending {
                Pending::Done(done) => done,
                Pending::KeyTaken(response) => {
                    idempotency::find(&self.pool, &response.client, &response.key)
                        .await?
                        .map_or(IdempotentInsert::Conflict, IdempotentInsert::Existing)
                }
            });
        }
        Ok(outcomes)
    }

    /// One attempt; `None` when the deadline passed before the commit, which was rolled back.
    async fn try_insert_posts<'a>(
        &self,
        posts: &'a [Post],
    ) -> Result<Option<Vec<Pending<'a>>>, sqlx::Error> {
        let Some(commit_by) = batch_deadline(posts) else {
            return Ok(Some(Vec::new()));
        };
        let mut tx = self.pool.begin().await?;
        let mut pending = Vec::with_capacity(posts.len());
        let mut fresh: Vec<&NewMessage> = Vec::with_capacity(posts.len());
        for post in posts {
            if let Some(idempotent) = &post.idempotent {
                let response = &idempotent.response;
                let (client, key) = (&response.client, &response.key);
                if let Some(found) = idempotency::find(&mut *tx, client, key).await? {
                    if found.created_at > idempotent.live_after_ms {
                        pending.push(Pending::Done(IdempotentInsert::Existing(found)));
                        continue;
                    }
                    idempotency::delete(&mut *tx, client, key).await?;
                }
                // The key's row before any twoot: a concurrent request with the same key waits
                // here on its lock. A failed statement leaves the rest of the transaction alone.
                match idempotency::insert(&mut *tx, response, post.message.tag.as_str()).await {
                    Err(error) if idempotency::is_taken(&error) => {
                        pending.push(Pending::KeyTaken(response));
                        continue;
                    }
                    result => result?,
                }
            }
            fresh.push(&post.message);
            pending.push(Pending::Done(IdempotentInsert::Stored));
        }
        insert_rows(&mut tx, fresh, true).await?;
        if Utc::now() > commit_by {
            tx.rollback().await?;
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(pending))
    }
}
