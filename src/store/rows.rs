//! Reading `messages` rows back, the same on every backend except for how a time is stored.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, QueryBuilder, Row, Type,
};

use super::PageQuery;
use crate::domain::{Message, MessageId, NewMessage};

/// The message in `row`, whose `created_at` column holds a `T` that `timestamp` turns into UTC:
/// SQLite stores milliseconds since 1970, MySQL a `DATETIME(3)`.
pub(super) fn message_from_row<'r, R, T>(
    row: &'r R,
    timestamp: impl FnOnce(T) -> Option<DateTime<Utc>>,
) -> Result<Message, sqlx::Error>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    T: Decode<'r, R::Database> + Type<R::Database> + std::fmt::Debug + Clone,
{
    let created_at: T = row.try_get("created_at")?;
    Ok(Message {
        id: MessageId::from_i64(row.try_get("id")?),
        tag: row.try_get("tag")?,
        text: row.try_get("text")?,
        timestamp: timestamp(created_at.clone()).ok_or_else(|| {
            sqlx::Error::Decode(format!("created_at {created_at:?} is out of range").into())
        })?,
    })
}

/// How a page is read: the id range, exclusive on both ends, and the direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PageRange {
    pub(super) after: i64,
    pub(super) before: i64,
    /// Reading up from `after` finds the twoots just newer than it; the page is then reversed.
    pub(super) ascending: bool,
}

impl PageRange {
    pub(super) fn of(query: &PageQuery) -> Self {
        Self {
            after: query.after.map_or(-1, MessageId::as_i64),
            before: query.before.map_or(i64::MAX, MessageId::as_i64),
            ascending: query.after.is_some(),
        }
    }

    /// The rows of `rows` as messages, newest first.
    fn messages<R>(
        self,
        rows: &[R],
        from_row: impl Fn(&R) -> Result<Message, sqlx::Error>,
    ) -> Result<Vec<Message>, sqlx::Error> {
        let messages = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(self.newest_first(messages))
    }

    /// `messages`, read in this range's direction, newest first.
    pub(super) fn newest_first(self, mut messages: Vec<Message>) -> Vec<Message> {
        if self.ascending {
            messages.reverse();
        }
        messages
    }
}

/// Reads one page with the statement `statement(tagged, ascending)` picks (one of [`super::sql`]'s
/// page statements, which take the tag when the query has one, then the id range and the limit).
pub(super) async fn fetch_page<DB>(
    pool: &Pool<DB>,
    statement: fn(bool, bool) -> &'static str,
    query: &PageQuery,
    from_row: fn(&DB::Row) -> Result<Message, sqlx::Error>,
) -> Result<Vec<Message>, sqlx::Error>
where
    DB: Database,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
{
    let range = PageRange::of(query);
    let mut select = sqlx::query::<DB>(statement(query.tag.is_some(), range.ascending));
    if let Some(tag) = &query.tag {
        select = select.bind(tag.as_str());
    }
    let rows = select
        .bind(range.after)
        .bind(range.before)
        .bind(i64::from(query.limit))
        .fetch_all(pool)
        .await?;
    range.messages(&rows, from_row)
}

/// Reads one message by id with [`super::sql::GET_MESSAGE`].
pub(super) async fn fetch_one<DB>(
    pool: &Pool<DB>,
    id: MessageId,
    from_row: fn(&DB::Row) -> Result<Message, sqlx::Error>,
) -> Result<Option<Message>, sqlx::Error>
where
    DB: Database,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
{
    let row = sqlx::query::<DB>(super::sql::GET_MESSAGE)
        .bind(id.as_i64())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The tag and text stored under each id of `messages` that is taken, looked up with
/// [`super::sql::STORED_BY_ID`] `chunk` ids per statement, inside the caller's transaction.
pub(super) async fn stored_by_id<DB>(
    connection: &mut DB::Connection,
    messages: &[NewMessage],
    chunk: usize,
) -> Result<HashMap<i64, (String, String)>, sqlx::Error>
where
    DB: Database,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    &'static str: ColumnIndex<DB::Row>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let mut stored = HashMap::new();
    for ids_of in messages.chunks(chunk) {
        let mut lookup = QueryBuilder::<DB>::new(super::sql::STORED_BY_ID);
        let mut ids = lookup.separated(", ");
        for message in ids_of {
            ids.push_bind(message.id.as_i64());
        }
        ids.push_unseparated(")");
        for row in lookup.build().fetch_all(&mut *connection).await? {
            stored.insert(
                row.try_get("id")?,
                (row.try_get("tag")?, row.try_get("text")?),
            );
        }
    }
    Ok(stored)
}
