//! The request path's reads on SQLite, run through [`Readers`] with the statements every backend
//! runs.

use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::readers::Readers;
use crate::domain::{Message, MessageId};
use crate::store::{rows, sql, PageQuery, YearTagCount};

/// One page, newest first.
pub(super) async fn page(
    readers: &Readers,
    query: &PageQuery,
) -> Result<Vec<Message>, sqlx::Error> {
    let range = rows::PageRange::of(query);
    let statement = sql::page(query.tag.is_some(), range.ascending);
    let limit = i64::from(query.limit);
    let messages = readers
        .read(|conn| {
            let mut select = conn.prepare_cached(statement)?;
            let rows = match &query.tag {
                Some(tag) => select.query_map(
                    params![tag.as_str(), range.after, range.before, limit],
                    message,
                )?,
                None => select.query_map(params![range.after, range.before, limit], message)?,
            };
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await?;
    Ok(range.newest_first(messages))
}

/// One twoot by id.
pub(super) async fn get(readers: &Readers, id: MessageId) -> Result<Option<Message>, sqlx::Error> {
    readers
        .read(|conn| {
            conn.prepare_cached(sql::GET_MESSAGE)?
                .query_row([id.as_i64()], message)
                .optional()
        })
        .await
}

/// The newest twoot's id, if there is one.
pub(super) async fn newest_id(readers: &Readers) -> Result<Option<MessageId>, sqlx::Error> {
    let newest: Option<i64> = readers.read(|conn| one(conn, sql::NEWEST_ID, [])).await?;
    Ok(newest.map(MessageId::from_i64))
}

/// Whether a connection answers.
pub(super) async fn ping(readers: &Readers) -> Result<(), sqlx::Error> {
    let _: i64 = readers.read(|conn| one(conn, "SELECT 1", [])).await?;
    Ok(())
}

/// Counts per (year, tag) in a year range, by year and tag. Apart from the request's thread: there
/// is a row per year and tag, as many as there are tags.
pub(super) async fn stats(
    readers: &Arc<Readers>,
    start: i32,
    end: i32,
) -> Result<Vec<YearTagCount>, sqlx::Error> {
    readers
        .read_apart(move |conn| {
            conn.prepare_cached(sql::SQLITE_STATS)?
                .query_map([start, end], |row| {
                    Ok(YearTagCount {
                        year: row.get(0)?,
                        tag: row.get(1)?,
                        count: row.get(2)?,
                    })
                })?
                .collect()
        })
        .await
}

/// The one value `statement` returns.
fn one<T: rusqlite::types::FromSql>(
    conn: &Connection,
    statement: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<T> {
    conn.prepare_cached(statement)?
        .query_row(params, |row| row.get(0))
}

/// A twoot from a row of `id, tag, text, created_at`.
fn message(row: &Row<'_>) -> rusqlite::Result<Message> {
    let created_at: i64 = row.get(3)?;
    Ok(Message {
        id: MessageId::from_i64(row.get(0)?),
        tag: row.get(1)?,
        text: row.get(2)?,
        timestamp: super::timestamp(created_at)
            .ok_or_else(|| rusqlite::Error::IntegralValueOutOfRange(3, created_at))?,
    })
}
