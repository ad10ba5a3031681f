//! Live posts written together on SQLite: one transaction on the one writer connection, one
//! multi-row insert, one upsert per counter, one durable commit.

use chrono::Utc;
use sqlx::SqlitePool;

use super::{begin_write, insert_rows};
use crate::domain::NewMessage;
use crate::store::posts::batch_deadline;
use crate::store::{duplicate_or, idempotency, IdempotentInsert, Post, StoreError};

/// See [`crate::store::Store::insert_posts`].
pub(super) async fn insert_posts(
    writer: &SqlitePool,
    posts: &[Post],
) -> Result<Vec<IdempotentInsert>, StoreError> {
    let Some(commit_by) = batch_deadline(posts) else {
        return Ok(Vec::new());
    };
    // The one writer serialises this with every other write, so a key's record read here cannot
    // be written by anyone else before this commits.
    let mut tx = begin_write(writer).await?;
    let mut outcomes = Vec::with_capacity(posts.len());
    let mut fresh: Vec<&NewMessage> = Vec::with_capacity(posts.len());
    for post in posts {
        if let Some(idempotent) = &post.idempotent {
            let (client, key) = (&idempotent.response.client, &idempotent.response.key);
            if let Some(found) = idempotency::find(&mut *tx, client, key).await? {
                if found.created_at > idempotent.live_after_ms {
                    outcomes.push(IdempotentInsert::Existing(found));
                    continue;
                }
                idempotency::delete(&mut *tx, client, key).await?;
            }
            idempotency::insert(&mut *tx, &idempotent.response, post.message.tag.as_str()).await?;
        }
        fresh.push(&post.message);
        outcomes.push(IdempotentInsert::Stored);
    }
    insert_rows(&mut tx, fresh.iter().copied())
        .await
        .map_err(|e| duplicate_or(e, std::slice::from_ref(&posts[0].message)))?;
    if Utc::now() > commit_by {
        tx.rollback().await?;
        return Err(StoreError::PastCommitDeadline);
    }
    tx.commit().await?;
    Ok(outcomes)
}
