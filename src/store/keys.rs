//! The `api_keys` table, the same statements on every backend.

use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use super::ApiKeyRow;
use crate::domain::{Role, SecretHash};

const INSERT: &str =
    "INSERT INTO api_keys (id, name, role, secret_sha256, created_at, revoked_at) \
     VALUES (?, ?, ?, ?, ?, NULL)";
const BY_ID: &str = "SELECT id, name, role, secret_sha256, created_at, revoked_at \
     FROM api_keys WHERE id = ?";
const ALL: &str = "SELECT id, name, role, secret_sha256, created_at, revoked_at \
     FROM api_keys ORDER BY created_at, id";
const REVOKE: &str = "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL";

fn key_from_row<R>(row: &R) -> Result<ApiKeyRow, sqlx::Error>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    &'static str: ColumnIndex<R>,
{
    let role: String = row.try_get("role")?;
    let secret: Vec<u8> = row.try_get("secret_sha256")?;
    Ok(ApiKeyRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: role
            .parse::<Role>()
            .map_err(|_| sqlx::Error::Decode(format!("unknown role {role:?}").into()))?,
        secret: SecretHash(
            secret
                .try_into()
                .map_err(|_| sqlx::Error::Decode("a secret hash is not 32 bytes".into()))?,
        ),
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// Stores a new key.
pub(super) async fn create<DB>(pool: &Pool<DB>, key: &ApiKeyRow) -> Result<(), sqlx::Error>
where
    DB: Database,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Type<DB>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
{
    sqlx::query::<DB>(INSERT)
        .bind(key.id.as_str())
        .bind(key.name.as_str())
        .bind(key.role.as_str())
        .bind(key.secret.0.to_vec())
        .bind(key.created_at)
        .execute(pool)
        .await?;
    Ok(())
}

/// One key by its id, revoked or not.
pub(super) async fn by_id<DB>(pool: &Pool<DB>, id: &str) -> Result<Option<ApiKeyRow>, sqlx::Error>
where
    DB: Database,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> Option<i64>: Decode<'r, DB> + Type<DB>,
    &'static str: ColumnIndex<DB::Row>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
{
    let row = sqlx::query::<DB>(BY_ID)
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(key_from_row).transpose()
}

/// Every key, oldest first.
pub(super) async fn all<DB>(pool: &Pool<DB>) -> Result<Vec<ApiKeyRow>, sqlx::Error>
where
    DB: Database,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> Option<i64>: Decode<'r, DB> + Type<DB>,
    &'static str: ColumnIndex<DB::Row>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
{
    let rows = sqlx::query::<DB>(ALL).fetch_all(pool).await?;
    rows.iter().map(key_from_row).collect()
}

/// Revokes a key that is not revoked yet; the query result says whether one was.
pub(super) async fn revoke<DB>(
    pool: &Pool<DB>,
    id: &str,
    at_ms: i64,
) -> Result<DB::QueryResult, sqlx::Error>
where
    DB: Database,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
{
    sqlx::query::<DB>(REVOKE)
        .bind(at_ms)
        .bind(id)
        .execute(pool)
        .await
}
