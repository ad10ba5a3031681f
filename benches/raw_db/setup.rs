//! The commands that set up a run rather than measure: the ids a run reads, a fresh MySQL
//! database, InnoDB's buffer pool, and a CSV export to import.

use std::time::Duration;

use anyhow::{bail, Context};
use chrono::Utc;
use serde_json::json;
use sqlx::Connection;
use twooter::domain::NodeId;
use twooter::seed::{Generator, SeedPlan};

use crate::db::{mysql_url, Db};

pub async fn probe(url: &str, tag: &str) -> anyhow::Result<()> {
    const AT_DEPTH: &str =
        "SELECT id FROM messages WHERE tag = ? ORDER BY id DESC LIMIT 1 OFFSET ?";
    const TAG_COUNT: &str = "SELECT COUNT(*) FROM messages WHERE tag = ?";
    let db = Db::connect(url, 1).await?;
    let (backend, version, total, count, deep, middle) = match &db {
        Db::Sqlite(store) => {
            let readers = store.readers();
            let count: i64 = sqlx::query_scalar(TAG_COUNT)
                .bind(tag)
                .fetch_one(readers)
                .await?;
            let at = |offset: i64| {
                sqlx::query_scalar::<_, i64>(AT_DEPTH)
                    .bind(tag)
                    .bind(offset)
                    .fetch_optional(readers)
            };
            (
                "sqlite",
                sqlx::query_scalar::<_, String>("SELECT sqlite_version()")
                    .fetch_one(readers)
                    .await?,
                sqlx::query_scalar::<_, Option<i64>>("SELECT SUM(count) FROM message_counts")
                    .fetch_one(readers)
                    .await?,
                count,
                at(count * 9 / 10).await?,
                at(count / 2).await?,
            )
        }
        Db::MySql(store) => {
            let pool = store.pool();
            let count: i64 = sqlx::query_scalar(TAG_COUNT)
                .bind(tag)
                .fetch_one(pool)
                .await?;
            let at = |offset: i64| {
                sqlx::query_scalar::<_, i64>(AT_DEPTH)
                    .bind(tag)
                    .bind(offset)
                    .fetch_optional(pool)
            };
            (
                "mysql",
                sqlx::query_scalar::<_, String>("SELECT VERSION()")
                    .fetch_one(pool)
                    .await?,
                sqlx::query_scalar::<_, Option<i64>>(
                    "SELECT CAST(SUM(count) AS SIGNED) FROM message_counts",
                )
                .fetch_one(pool)
                .await?,
                count,
                at(count * 9 / 10).await?,
                at(count / 2).await?,
            )
        }
    };
    db.store().close().await;
    let (Some(deep), Some(middle)) = (deep, middle) else {
        bail!("no twoot is tagged {tag:?}");
    };
    let line = json!({
        "backend": backend,
        "version": version,
        "total": total.unwrap_or(0),
        "tag": tag,
        "tag_count": count,
        "deep_before": deep,
        "get_id": middle,
    });
    println!("{line}");
    Ok(())
}

pub async fn reset(url: &str) -> anyhow::Result<()> {
    let url = mysql_url(url).context("only MySQL databases are reset; remove a SQLite file")?;
    let mut server = url::Url::parse(&url)?;
    let name = server.path().trim_start_matches('/').to_owned();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("the URL must name a database of letters, digits and _: {name:?}");
    }
    server.set_path("");
    let mut connection = sqlx::MySqlConnection::connect(server.as_str()).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS `{name}`"
    )))
    .execute(&mut connection)
    .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
    )))
    .execute(&mut connection)
    .await?;
    connection.close().await?;
    Ok(())
}

pub async fn buffer_pool(url: &str, bytes: u64) -> anyhow::Result<()> {
    let url = mysql_url(url).context("only MySQL has a buffer pool")?;
    let mut connection = sqlx::MySqlConnection::connect(&url).await?;
    let size = "SELECT CAST(@@innodb_buffer_pool_size AS UNSIGNED)";
    let before: u64 = sqlx::query_scalar(size).fetch_one(&mut connection).await?;
    if before < bytes {
        sqlx::query("SET GLOBAL innodb_buffer_pool_size = ?")
            .bind(bytes)
            .execute(&mut connection)
            .await?;
    }
    // The server resizes in the background, in whole chunks.
    let mut after: u64 = sqlx::query_scalar(size).fetch_one(&mut connection).await?;
    for _ in 0..600 {
        let status: Option<(String, String)> =
            sqlx::query_as("SHOW STATUS LIKE 'Innodb_buffer_pool_resize_status'")
                .fetch_optional(&mut connection)
                .await?;
        let resizing = status.is_some_and(|(_, value)| {
            !value.is_empty() && !value.contains("Completed") && !value.contains("finished")
        });
        if !resizing {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = sqlx::query_scalar(size).fetch_one(&mut connection).await?;
    }
    connection.close().await?;
    println!("{}", json!({ "before": before, "after": after }));
    Ok(())
}

/// The prototype wrote Python's `str(datetime)`: a space, microseconds and no zone.
pub fn write_csv(rows: u64, out: &std::path::Path, seed: u64, years: u32) -> anyhow::Result<()> {
    let plan = SeedPlan {
        count: rows,
        seed,
        years,
        until: Utc::now(),
        node: NodeId::new(1).expect("node 1 exists"),
    };
    let mut generator = Generator::new(&plan);
    let mut writer = csv::Writer::from_path(out)?;
    writer.write_record(["message", "tag", "timestamp"])?;
    for _ in 0..rows {
        let message = generator.next_message();
        let timestamp = message
            .timestamp
            .format("%Y-%m-%d %H:%M:%S%.6f")
            .to_string();
        writer.write_record([message.text.as_str(), message.tag.as_str(), &timestamp])?;
    }
    writer.flush()?;
    Ok(())
}
