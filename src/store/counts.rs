//! Checking the counters against `messages` and setting them right, the same on every backend but
//! for its statements ([`super::sql::CountStatements`]). A year's messages are a range of the
//! primary key, since ids carry their time.

use std::collections::BTreeMap;

use chrono::{Datelike, TimeZone, Utc};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use super::sql::CountStatements;
use super::YearAudit;
use crate::domain::{MessageId, MAX_TIMESTAMP_MS};

/// The ids of `year`'s messages: from the first id of its first millisecond, inclusive, to the
/// first id of the next year, exclusive.
pub(super) fn year_ids(year: i32) -> (i64, i64) {
    let first_id = |year: i32| {
        let ms = Utc
            .with_ymd_and_hms(year, 1, 1, 0, 0, 0)
            .single()
            .map_or(i64::MAX, |at| at.timestamp_millis());
        // Past the last millisecond an id can hold, every id is below the year's start.
        if ms > MAX_TIMESTAMP_MS {
            i64::MAX
        } else {
            MessageId::first_at(ms).as_i64()
        }
    };
    (first_id(year), first_id(year + 1))
}

/// One tag's count in each year of `start..=end`, with `statement` (the backend's tag statistics,
/// which take the tag and the two years and answer `(year, count)` rows).
pub(super) async fn tag_year_counts<DB>(
    pool: &Pool<DB>,
    statement: &'static str,
    tag: &str,
    start: i32,
    end: i32,
) -> Result<Vec<(i32, i64)>, sqlx::Error>
where
    DB: Database,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
{
    let rows = sqlx::query::<DB>(statement)
        .bind(tag)
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get::<i64, _>(0)? as i32, row.try_get::<i64, _>(1)?)))
        .collect()
}

/// The years to check: those with counters, and every year from the oldest message's to the
/// newest's.
pub(super) async fn years<DB>(
    pool: &Pool<DB>,
    statements: &CountStatements,
) -> Result<Vec<i32>, sqlx::Error>
where
    DB: Database,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> Option<i64>: Decode<'r, DB>,
    usize: ColumnIndex<DB::Row>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
{
    let rows = sqlx::query::<DB>(statements.counted_years)
        .fetch_all(pool)
        .await?;
    let mut years = rows
        .iter()
        .map(|row| Ok(row.try_get::<i64, _>(0)? as i32))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let bound = |statement| async move {
        let row = sqlx::query::<DB>(statement).fetch_one(pool).await?;
        row.try_get::<Option<i64>, _>(0)
    };
    let year = |id: i64| MessageId::from_i64(id).timestamp().year();
    if let (Some(oldest), Some(newest)) = (
        bound(statements.oldest_id).await?,
        bound(super::sql::NEWEST_ID).await?,
    ) {
        years.extend(year(oldest)..=year(newest));
    }
    years.sort_unstable();
    years.dedup();
    Ok(years)
}

/// What the counters say and what `messages` holds for `year`, per tag, read in one transaction
/// so that both come from the same moment.
pub(super) async fn audit_year<DB>(
    pool: &Pool<DB>,
    statements: &CountStatements,
    year: i32,
) -> Result<YearAudit, sqlx::Error>
where
    DB: Database,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let (first, next) = year_ids(year);
    let mut tx = pool.begin().await?;
    let counters = sqlx::query::<DB>(statements.year_counters)
        .bind(year)
        .fetch_all(&mut *tx)
        .await?;
    let messages = sqlx::query::<DB>(statements.year_messages)
        .bind(first)
        .bind(next)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    let by_tag = |rows: Vec<DB::Row>| {
        rows.iter()
            .map(|row| Ok((row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?)))
            .collect::<Result<BTreeMap<_, _>, sqlx::Error>>()
    };
    Ok(YearAudit {
        counters: by_tag(counters)?,
        counted: by_tag(messages)?,
    })
}

/// Sets the counter of (`year`, `tag`) to its number of messages, counted while the counter is
/// held against concurrent posts: the counter before and the count.
pub(super) async fn repair<DB>(
    pool: &Pool<DB>,
    statements: &CountStatements,
    year: i32,
    tag: &str,
) -> Result<(i64, i64), sqlx::Error>
where
    DB: Database,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
    <DB as Database>::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let (first, next) = year_ids(year);
    let mut tx = pool.begin_with(statements.begin_repair).await?;
    let before: i64 = sqlx::query::<DB>(statements.lock_counter)
        .bind(year)
        .bind(tag)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    let counted: i64 = sqlx::query::<DB>(statements.tag_messages)
        .bind(tag)
        .bind(first)
        .bind(next)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    sqlx::query::<DB>(statements.clear_counter)
        .bind(year)
        .bind(tag)
        .execute(&mut *tx)
        .await?;
    if counted > 0 {
        sqlx::query::<DB>(statements.set_counter)
            .bind(year)
            .bind(tag)
            .bind(counted)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok((before, counted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NodeId;

    #[test]
    fn a_years_ids_run_from_its_first_millisecond_to_the_next_years() {
        let (first, next) = year_ids(2023);
        let node = NodeId::new(1023).unwrap();
        let last_of_2022 = Utc.with_ymd_and_hms(2022, 12, 31, 23, 59, 59).unwrap();
        let in_2022 =
            MessageId::from_parts(last_of_2022.timestamp_millis() + 999, node, 2047).unwrap();
        assert!(in_2022.as_i64() < first);
        let first_of_2023 = Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0).unwrap();
        let at_start = MessageId::from_parts(first_of_2023.timestamp_millis(), node, 0).unwrap();
        assert!((first..next).contains(&at_start.as_i64()));
        assert_eq!(year_ids(2024).0, next);
        assert_eq!(year_ids(1969), (0, 0));
        assert_eq!(year_ids(2200), (i64::MAX, i64::MAX));
    }
}
