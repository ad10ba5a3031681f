//! The request path's reads on SQLite, each a single trip to a connection's thread and back.
//!
//! sqlx hands every row across from the connection's thread on its own, waking the reading task
//! for each; a page therefore comes back as one row holding the page as a JSON array, built by
//! SQLite around the same statement the other backends run.

use sqlx::query::QueryScalar;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{FromRow, Sqlite};

use super::readers::Readers;
use crate::domain::{Message, MessageId};
use crate::store::{rows, sql, PageQuery};

/// A page as [`sql::sqlite_json_page`] returns it: `[id, tag, text, created_at]` per twoot.
type JsonRow = (i64, String, String, i64);

/// One page, newest first.
pub(super) async fn page(
    readers: &Readers,
    query: &PageQuery,
) -> Result<Vec<Message>, sqlx::Error> {
    let range = rows::PageRange::of(query);
    let mut select = sqlx::query_scalar::<_, String>(sql::sqlite_json_page(
        query.tag.is_some(),
        range.ascending,
    ));
    if let Some(tag) = &query.tag {
        select = select.bind(tag.as_str());
    }
    let select = select
        .bind(range.after)
        .bind(range.before)
        .bind(i64::from(query.limit));
    messages(&one(readers, select).await?)
}

/// The twoots of a page's JSON array, newest first whatever order the array holds them in.
fn messages(json: &str) -> Result<Vec<Message>, sqlx::Error> {
    let rows: Vec<JsonRow> = serde_json::from_str(json).map_err(decode_error)?;
    let mut messages = rows
        .into_iter()
        .map(|(id, tag, text, created_at)| {
            Ok(Message {
                id: MessageId::from_i64(id),
                tag,
                text,
                timestamp: super::timestamp(created_at).ok_or_else(|| {
                    decode_error(format!("created_at {created_at} is out of range"))
                })?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    messages.sort_unstable_by_key(|message| std::cmp::Reverse(message.id));
    Ok(messages)
}

/// One twoot by id. It is one row already, so it is read as the other backends read it.
pub(super) async fn get(readers: &Readers, id: MessageId) -> Result<Option<Message>, sqlx::Error> {
    let select = sqlx::query(sql::GET_MESSAGE).bind(id.as_i64());
    let mut reader = readers.acquire().await?;
    let row = select.fetch_optional(&mut *reader).await;
    reader
        .check(row)?
        .as_ref()
        .map(super::message_from_row)
        .transpose()
}

/// The one value `select` returns.
pub(super) async fn one<T>(
    readers: &Readers,
    select: QueryScalar<'_, Sqlite, T, SqliteArguments>,
) -> Result<T, sqlx::Error>
where
    T: Send + Unpin,
    (T,): Send + Unpin + for<'r> FromRow<'r, SqliteRow>,
{
    let mut reader = readers.acquire().await?;
    let value = select.fetch_one(&mut *reader).await;
    reader.check(value)
}

/// A value SQLite returned that is not what the statement promises.
pub(super) fn decode_error(
    error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> sqlx::Error {
    sqlx::Error::Decode(error.into())
}
