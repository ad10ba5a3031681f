//! Group commit of concurrent posts, on every backend: through the router (`routes.rs`: many
//! posts each stored once, a full queue, idempotent posts in a batch), at the poster itself
//! (`poster.rs`: a taken id and a late post fail alone), and the release binary killed under load
//! (`crash.rs`).

use std::sync::Arc;

use sqlx::Connection;

use twooter::store::{self, PoolConfig, Post, Store};

use crate::support::{test_config, TestDb};

/// One test per backend for each function named.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(crate::support::Backend::Sqlite).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(crate::support::Backend::MySql).await;
                }
            )*
        }
    };
}

mod crash;
mod poster;
mod routes;

/// Another connection holding the database's write lock, so that the writer waits and posts
/// queue up behind it.
pub(super) enum WriteHold {
    Sqlite(sqlx::SqliteConnection),
    MySql(sqlx::MySqlConnection),
}

impl WriteHold {
    pub(super) async fn take(db: &TestDb) -> Self {
        if db.url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql("BEGIN IMMEDIATE")
                .execute(&mut connection)
                .await
                .unwrap();
            Self::Sqlite(connection)
        } else {
            let mut connection = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql("LOCK TABLES messages WRITE")
                .execute(&mut connection)
                .await
                .unwrap();
            Self::MySql(connection)
        }
    }

    pub(super) async fn release(self) {
        match self {
            Self::Sqlite(mut connection) => {
                sqlx::raw_sql("ROLLBACK")
                    .execute(&mut connection)
                    .await
                    .unwrap();
            }
            Self::MySql(mut connection) => {
                sqlx::raw_sql("UNLOCK TABLES")
                    .execute(&mut connection)
                    .await
                    .unwrap();
            }
        }
    }
}

/// Batches written so far in this process (nextest runs each test in its own) and the posts they
/// held, from the batch size histogram.
pub(super) fn batches_written() -> (u64, u64) {
    let text = twooter::metrics::render();
    let read = |series: &str| crate::support::metric_value(&text, series) as u64;
    (
        read("twooter_post_batch_size_count"),
        read("twooter_post_batch_size_sum"),
    )
}

pub(super) fn config(batch_max: usize, queue_max: usize) -> twooter::config::Config {
    let mut config = test_config();
    config.post_batch_max = batch_max;
    config.post_queue_max = queue_max;
    config
}

pub(super) async fn count_rows(db: &TestDb) -> i64 {
    let sql = "SELECT COUNT(*) FROM messages";
    if db.url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar(sql)
            .fetch_one(&mut connection)
            .await
            .unwrap()
    } else {
        let mut connection = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar(sql)
            .fetch_one(&mut connection)
            .await
            .unwrap()
    }
}

/// The test's database through a pool of one connection, which gets one post writer.
pub(super) async fn one_writer(db: &TestDb) -> Arc<dyn Store> {
    let pool = PoolConfig {
        max_connections: 1,
        ..PoolConfig::default()
    };
    store::connect(&db.url, &pool).await.unwrap()
}

pub(super) fn live_post(message: twooter::domain::NewMessage) -> Post {
    Post {
        message,
        commit_by: chrono::Utc::now() + chrono::Duration::seconds(60),
        idempotent: None,
    }
}
