//! The `idempotency_keys` table: read, replace and write an answer inside the transaction that
//! stores its twoot, the same statements on every backend.

use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::IdempotentResponse;

const FIND: &str = "SELECT client, idempotency_key, request_sha256, status, body, created_at \
     FROM idempotency_keys WHERE client = ? AND idempotency_key = ?";
const DELETE: &str = "DELETE FROM idempotency_keys WHERE client = ? AND idempotency_key = ?";
const INSERT: &str = "INSERT INTO idempotency_keys \
     (client, idempotency_key, tag, request_sha256, status, body, created_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?)";
/// Expired records, oldest first, a bounded number at a time, on SQLite (no `DELETE … LIMIT`).
pub(super) const SQLITE_PURGE: &str = "DELETE FROM idempotency_keys WHERE rowid IN \
     (SELECT rowid FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)";
/// Expired records, a bounded number at a time, on MySQL.
pub(super) const MYSQL_PURGE: &str =
    "DELETE FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?";

/// The record of `client`'s `key`, if any.
pub(super) async fn find<'e, DB, E>(
    executor: E,
    client: &str,
    key: &str,
) -> Result<Option<IdempotentResponse>, sqlx::Error>
where
    DB: Database,
    E: Executor<'e, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    &'static str: ColumnIndex<DB::Row>,
    <DB as Database>::Arguments: IntoArguments<DB>,
{
    let Some(row) = sqlx::query::<DB>(FIND)
        .bind(client)
        .bind(key)
        .fetch_optional(executor)
        .await?
    else {
        return Ok(None);
    };
    let hash: Vec<u8> = row.try_get("request_sha256")?;
    let status: i64 = row.try_get("status")?;
    Ok(Some(IdempotentResponse {
        client: row.try_get("client")?,
        key: row.try_get("idempotency_key")?,
        request_sha256: hash
            .try_into()
            .map_err(|_| sqlx::Error::Decode("a request hash is not 32 bytes".into()))?,
        status: u16::try_from(status)
            .map_err(|_| sqlx::Error::Decode(format!("status {status}").into()))?,
        body: row.try_get("body")?,
        created_at: row.try_get("created_at")?,
    }))
}

/// Deletes `client`'s record of `key` (an expired one, about to be replaced).
pub(super) async fn delete<'e, DB, E>(
    executor: E,
    client: &str,
    key: &str,
) -> Result<(), sqlx::Error>
where
    DB: Database,
    E: Executor<'e, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    <DB as Database>::Arguments: IntoArguments<DB>,
{
    sqlx::query::<DB>(DELETE)
        .bind(client)
        .bind(key)
        .execute(executor)
        .await?;
    Ok(())
}

/// Writes `response` for the twoot tagged `tag`.
pub(super) async fn insert<'e, DB, E>(
    executor: E,
    response: &IdempotentResponse,
    tag: &str,
) -> Result<(), sqlx::Error>
where
    DB: Database,
    E: Executor<'e, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Type<DB>,
    <DB as Database>::Arguments: IntoArguments<DB>,
{
    sqlx::query::<DB>(INSERT)
        .bind(response.client.as_str())
        .bind(response.key.as_str())
        .bind(tag)
        .bind(response.request_sha256.to_vec())
        .bind(i64::from(response.status))
        .bind(response.body.as_str())
        .bind(response.created_at)
        .execute(executor)
        .await?;
    Ok(())
}

/// Whether `error` is the unique violation of another request's record of the same key.
pub(super) fn is_taken(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}
