//! Every database fault is answered 503 with `Retry-After`, never 500, and readiness follows
//! whether this instance can write. Each fault is provoked for real: a second connection holding
//! SQLite's write lock, a private MariaDB out of connections, with a locked row, or read-only.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::{Connection, Executor};

use crate::support::servers::instance::{self, Instance};
use crate::support::servers::mariadb::MariaDb;

/// Posts one twoot and returns the status, the `Retry-After` header and the body.
async fn post(instance: &Instance, tag: &str) -> (u16, Option<String>, Value) {
    let reply = instance::client(Duration::from_secs(30))
        .post(instance.url("/messages"))
        .json(&json!({"text": "Is anybody there?", "tag": tag}))
        .send()
        .await
        .expect("the instance answers");
    let status = reply.status().as_u16();
    let retry_after = reply
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned());
    let body = reply.json().await.unwrap_or(Value::Null);
    (status, retry_after, body)
}

async fn ready(instance: &Instance) -> u16 {
    instance::client(Duration::from_secs(10))
        .get(instance.url("/readyz"))
        .send()
        .await
        .expect("the instance answers")
        .status()
        .as_u16()
}

/// Asserts a 503 problem that asks the client to come back, and says nothing of the cause.
fn assert_unavailable((status, retry_after, body): (u16, Option<String>, Value), fault: &str) {
    assert_eq!(status, 503, "{fault}: {body}");
    assert_eq!(retry_after.as_deref(), Some("1"), "{fault}: Retry-After");
    assert_eq!(body["status"], 503, "{fault}: {body}");
    let detail = body["detail"].as_str().unwrap_or_default().to_lowercase();
    for leak in ["sql", "innodb", "1040", "1205", "1290", "sqlite", "lock"] {
        assert!(
            !detail.contains(leak),
            "{fault}: the detail leaks {leak:?}: {body}"
        );
    }
}

/// A private server with a database `twooter` and a user `app` without administrative rights
/// (an administrator would pass through `read_only` and the connection limit).
async fn server_with_app_user(args: &[&str]) -> Option<(MariaDb, String)> {
    if !MariaDb::available() {
        return None;
    }
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    let server = MariaDb::start(&args).await;
    for sql in [
        "CREATE DATABASE twooter",
        "CREATE USER 'app'@'%' IDENTIFIED BY 'app'",
        "GRANT ALL ON twooter.* TO 'app'@'%'",
    ] {
        server.execute(sql).await;
    }
    let url = format!("mysql://app:app@127.0.0.1:{}/twooter", server.port);
    Some((server, url))
}

#[tokio::test]
async fn sqlite_locked_by_another_writer_is_503() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("twooter.db").display());
    let instance = Instance::start(&url, &[("DATABASE_ACQUIRE_TIMEOUT", "300ms")]).await;
    assert_eq!(post(&instance, "coffee").await.0, 201);

    let mut holder = sqlx::SqliteConnection::connect(&url).await.unwrap();
    holder.execute("BEGIN IMMEDIATE").await.unwrap();
    assert_unavailable(post(&instance, "coffee").await, "SQLITE_BUSY");
    holder.execute("ROLLBACK").await.unwrap();
    assert_eq!(post(&instance, "coffee").await.0, 201);
    instance.stop().await;
}

#[tokio::test]
async fn mysql_out_of_connections_is_503() {
    let Some((server, url)) = server_with_app_user(&["--max-connections=10"]).await else {
        return;
    };
    let instance = Instance::start(&url, &[("DATABASE_ACQUIRE_TIMEOUT", "1s")]).await;
    assert_eq!(post(&instance, "coffee").await.0, 201);

    // The instance's own connections go, and other clients take every slot.
    let admin = server.admin().await;
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM information_schema.processlist WHERE user = 'app'")
            .fetch_all(&admin)
            .await
            .unwrap();
    for id in ids {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("KILL {id}")))
            .execute(&admin)
            .await;
    }
    admin.close().await;
    let mut squatters = Vec::new();
    while let Ok(connection) = sqlx::MySqlConnection::connect(&url).await {
        squatters.push(connection);
        assert!(squatters.len() <= 10, "max_connections is not enforced");
    }
    // Past the pool's one-second idle check, the killed connections are found dead and replaced.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_unavailable(
        post(&instance, "coffee").await,
        "too many connections (1040)",
    );

    drop(squatters);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(post(&instance, "coffee").await.0, 201);
    instance.stop().await;
}

#[tokio::test]
async fn mysql_lock_wait_past_the_retries_is_503() {
    let Some((_server, url)) = server_with_app_user(&["--innodb-lock-wait-timeout=1"]).await else {
        return;
    };
    let instance = Instance::start(&url, &[]).await;
    assert_eq!(post(&instance, "locked").await.0, 201);

    // Another transaction holds every counter row of this year's `locked` tag.
    let year = chrono::Datelike::year(&chrono::Utc::now());
    let mut holder = sqlx::MySqlConnection::connect(&url).await.unwrap();
    for slot in 0..16 {
        sqlx::query(
            "INSERT IGNORE INTO message_counts (year, tag, slot, count) VALUES (?, 'locked', ?, 0)",
        )
        .bind(year)
        .bind(slot)
        .execute(&mut holder)
        .await
        .unwrap();
    }
    holder.execute("BEGIN").await.unwrap();
    sqlx::query("SELECT count FROM message_counts WHERE year = ? AND tag = 'locked' FOR UPDATE")
        .bind(year)
        .fetch_all(&mut holder)
        .await
        .unwrap();
    assert_unavailable(post(&instance, "locked").await, "lock wait timeout (1205)");
    holder.execute("ROLLBACK").await.unwrap();
    assert_eq!(post(&instance, "locked").await.0, 201);
    instance.stop().await;
}

#[tokio::test]
async fn a_read_only_mysql_is_503_and_not_ready() {
    let Some((server, url)) = server_with_app_user(&[]).await else {
        return;
    };
    let instance = Instance::start(&url, &[]).await;
    assert_eq!(post(&instance, "coffee").await.0, 201);
    assert_eq!(ready(&instance).await, 200);

    // What a failover leaves on the old primary.
    server.execute("SET GLOBAL read_only = 1").await;
    assert_unavailable(post(&instance, "coffee").await, "read-only (1290)");
    assert_eq!(
        ready(&instance).await,
        503,
        "a read-only database is not ready"
    );
    let reads = instance::client(Duration::from_secs(5))
        .get(instance.url("/messages?tag=coffee"))
        .send()
        .await
        .unwrap();
    assert_eq!(reads.status(), 200, "reads go on");

    server.execute("SET GLOBAL read_only = 0").await;
    assert_eq!(ready(&instance).await, 200);
    assert_eq!(post(&instance, "coffee").await.0, 201);
    instance.stop().await;
}
