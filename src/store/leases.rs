//! The `node_leases` table, the same on every backend but for its clock (see
//! [`super::sql::LeaseStatements`]).

use std::time::Duration;

use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use super::sql::LeaseStatements;
use super::NodeLeaseRow;
use crate::domain::NodeId;

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The leases that have expired.
pub(super) async fn expired<DB>(
    pool: &Pool<DB>,
    statements: &LeaseStatements,
) -> Result<Vec<NodeLeaseRow>, sqlx::Error>
where
    DB: Database,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    &'static str: ColumnIndex<DB::Row>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
{
    let rows = sqlx::query::<DB>(statements.expired)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            let node: i64 = row.try_get("node")?;
            Ok(NodeLeaseRow {
                node: u16::try_from(node)
                    .ok()
                    .and_then(NodeId::new)
                    .ok_or_else(|| sqlx::Error::Decode(format!("node {node}").into()))?,
                holder: row.try_get("holder")?,
                expires_at: row.try_get("expires_at")?,
                fence_ms: row.try_get("fence_ms")?,
            })
        })
        .collect()
}

/// Claims `seen` for `holder` if it is unchanged: it was when one row is affected.
pub(super) async fn claim<DB>(
    pool: &Pool<DB>,
    statements: &LeaseStatements,
    seen: &NodeLeaseRow,
    holder: &str,
    ttl: Duration,
    fence_ms: i64,
) -> Result<DB::QueryResult, sqlx::Error>
where
    DB: Database,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
{
    sqlx::query::<DB>(statements.claim)
        .bind(holder)
        .bind(millis(ttl))
        .bind(fence_ms)
        .bind(i64::from(seen.node.get()))
        .bind(seen.holder.as_str())
        .bind(seen.expires_at)
        .execute(pool)
        .await
}

/// Extends `holder`'s lease of `node`: no row is affected when someone else holds it now.
pub(super) async fn renew<DB>(
    pool: &Pool<DB>,
    statements: &LeaseStatements,
    node: NodeId,
    holder: &str,
    ttl: Duration,
    fence_ms: i64,
) -> Result<DB::QueryResult, sqlx::Error>
where
    DB: Database,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
{
    sqlx::query::<DB>(statements.renew)
        .bind(millis(ttl))
        .bind(fence_ms)
        .bind(i64::from(node.get()))
        .bind(holder)
        .execute(pool)
        .await
}

/// Ends `holder`'s lease of `node`, recording `fence_ms` as the last millisecond it used.
pub(super) async fn release<DB>(
    pool: &Pool<DB>,
    statements: &LeaseStatements,
    node: NodeId,
    holder: &str,
    fence_ms: i64,
) -> Result<(), sqlx::Error>
where
    DB: Database,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
{
    sqlx::query::<DB>(statements.release)
        .bind(fence_ms)
        .bind(i64::from(node.get()))
        .bind(holder)
        .execute(pool)
        .await?;
    Ok(())
}
