//! One operation of each kind: the statement the service runs for an endpoint, on the store's
//! pools, with its rows decoded as the service decodes them; a post is the store's `insert`, and
//! SQLite's pages and by-id reads are the store's own `page` and `get`, which hold their
//! connections outside any sqlx pool.

use anyhow::Context;
use clap::ValueEnum;
use sqlx::Row;
use twooter::domain::{IdGenerator, MessageId, MessageText, NewMessage, Tag};
use twooter::store::{sql, PageQuery, Store};

use crate::db::Db;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Op {
    /// `GET /messages?tag=T&limit=L`
    Tag,
    /// `GET /messages?limit=L`
    All,
    /// `GET /messages?tag=T&limit=L&before=ID`
    Deep,
    /// `GET /messages/{id}`
    Get,
    /// `GET /management/message-stats`
    Stats,
    /// `POST /messages`
    Post,
}

/// What each task needs to run its statement.
pub struct Work {
    pub db: Db,
    pub op: Op,
    pub tag: String,
    pub limit: i64,
    pub before: i64,
    pub id: i64,
    /// Ids for posts, made as the service makes them.
    pub ids: IdGenerator,
    pub post_text: MessageText,
    pub post_tag: Tag,
}

/// Decodes a page row as the service does, so the driver does the same work.
fn mysql_message(row: &sqlx::mysql::MySqlRow) -> Result<(), sqlx::Error> {
    let _: i64 = row.try_get("id")?;
    let _: String = row.try_get("tag")?;
    let _: String = row.try_get("text")?;
    let _: chrono::NaiveDateTime = row.try_get("created_at")?;
    Ok(())
}

impl Work {
    pub async fn once(&self) -> anyhow::Result<()> {
        match (&self.db, self.op) {
            (Db::Sqlite(store), Op::Tag | Op::Deep | Op::All) => {
                let (tag, before) = self.page_bounds();
                let query = PageQuery {
                    tag: tag
                        .map(Tag::parse)
                        .transpose()
                        .map_err(anyhow::Error::msg)?,
                    before: (before != i64::MAX).then(|| MessageId::from_i64(before)),
                    after: None,
                    limit: u32::try_from(self.limit)?,
                };
                store.page(&query).await?;
            }
            (Db::MySql(store), Op::Tag | Op::Deep | Op::All) => {
                let (tag, before) = self.page_bounds();
                let mut query = sqlx::query(sql::mysql_page(tag.is_some(), false));
                if let Some(tag) = tag {
                    query = query.bind(tag);
                }
                let rows = query
                    .bind(-1_i64)
                    .bind(before)
                    .bind(self.limit)
                    .fetch_all(store.pool())
                    .await?;
                rows.iter().try_for_each(mysql_message)?;
            }
            (Db::Sqlite(store), Op::Get) => {
                store
                    .get(MessageId::from_i64(self.id))
                    .await?
                    .context("no such twoot")?;
            }
            (Db::MySql(store), Op::Get) => {
                let row = sqlx::query(sql::GET_MESSAGE)
                    .bind(self.id)
                    .fetch_optional(store.pool())
                    .await?
                    .context("no such twoot")?;
                mysql_message(&row)?;
            }
            (Db::Sqlite(store), Op::Stats) => {
                let json: String = sqlx::query_scalar(sql::SQLITE_STATS)
                    .bind(0_i32)
                    .bind(3000_i32)
                    .fetch_one(store.readers())
                    .await?;
                let _: Vec<(i32, String, i64)> = serde_json::from_str(&json)?;
            }
            (Db::MySql(store), Op::Stats) => {
                let rows = sqlx::query(sql::MYSQL_STATS)
                    .bind(0_i32)
                    .bind(3000_i32)
                    .fetch_all(store.pool())
                    .await?;
                for row in &rows {
                    let _: i16 = row.try_get("year")?;
                    let _: String = row.try_get("tag")?;
                    let _: i64 = row.try_get("count")?;
                }
            }
            (db, Op::Post) => {
                let id = self.ids.next_id()?;
                let message = NewMessage {
                    id,
                    text: self.post_text.clone(),
                    tag: self.post_tag.clone(),
                    timestamp: id.timestamp(),
                };
                db.store().insert(&message).await?;
            }
        }
        Ok(())
    }

    /// The tag and the exclusive upper id bound of a page, as `id_bounds` in the store makes them.
    fn page_bounds(&self) -> (Option<&str>, i64) {
        match self.op {
            Op::Tag => (Some(&self.tag), i64::MAX),
            Op::Deep => (Some(&self.tag), self.before),
            _ => (None, i64::MAX),
        }
    }
}
