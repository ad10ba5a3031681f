//! No request scans a table: the database's own query plans for the statements the service runs
//! (`twooter::store::sql`) must be index range reads with no sort, on every backend.

#[path = "../support/mod.rs"]
mod support;

use sqlx::Row;
use twooter::store::sql;

use crate::support::{Backend, TestDb};

/// Fills the database so the planner has statistics that look like production.
async fn fill(db: &TestDb) {
    crate::support::seed_messages(db.store.as_ref(), 5000, 3, 25).await;
}

/// Each statement with parameters that exercise it: a tag, id bounds, a limit, or a year range.
fn statements(
    stats: &'static str,
    by_tag: [&'static str; 2],
    existing_id: i64,
) -> Vec<(&'static str, Vec<i64>, bool)> {
    // (statement, integer parameters, whether a tag comes first)
    vec![
        (sql::GET_MESSAGE, vec![existing_id], false),
        (by_tag[0], vec![-1, i64::MAX, 21], true),
        (by_tag[1], vec![-1, i64::MAX, 21], true),
        (sql::PAGE_NEWEST, vec![-1, i64::MAX, 21], false),
        (sql::PAGE_OLDEST, vec![-1, i64::MAX, 21], false),
        (stats, vec![0, 3000], false),
    ]
}

#[tokio::test]
async fn sqlite_plans_are_index_range_reads() {
    let db = TestDb::sqlite().await;
    fill(&db).await;
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    let id: i64 = sqlx::query_scalar("SELECT MAX(id) FROM messages")
        .fetch_one(&pool)
        .await
        .unwrap();
    for (statement, params, tagged) in statements(
        sql::SQLITE_STATS,
        [sql::PAGE_BY_TAG_NEWEST, sql::PAGE_BY_TAG_OLDEST],
        id,
    ) {
        let explain = format!("EXPLAIN QUERY PLAN {statement}");
        let mut query = sqlx::query(&explain);
        if tagged {
            query = query.bind("coffee");
        }
        for param in params {
            query = query.bind(param);
        }
        let plan: Vec<String> = query
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>("detail"))
            .collect();
        assert!(
            plan.iter()
                .all(|step| step.starts_with("SEARCH ") && !step.contains("TEMP B-TREE")),
            "{statement}\n{plan:#?}"
        );
    }
}

#[tokio::test]
async fn mysql_plans_are_index_range_reads() {
    let Some(db) = TestDb::new(Backend::MySql).await else {
        return;
    };
    fill(&db).await;
    let pool = sqlx::MySqlPool::connect(&db.url).await.unwrap();
    sqlx::query("ANALYZE TABLE messages, message_counts")
        .execute(&pool)
        .await
        .unwrap();
    let id: i64 = sqlx::query_scalar("SELECT MAX(id) FROM messages")
        .fetch_one(&pool)
        .await
        .unwrap();
    for (statement, params, tagged) in statements(
        sql::MYSQL_STATS,
        [sql::MYSQL_PAGE_BY_TAG_NEWEST, sql::MYSQL_PAGE_BY_TAG_OLDEST],
        id,
    ) {
        let explain = format!("EXPLAIN {statement}");
        let mut query = sqlx::query(&explain);
        if tagged {
            query = query.bind("coffee");
        }
        for param in params {
            query = query.bind(param);
        }
        for row in query.fetch_all(&pool).await.unwrap() {
            let access: String = row.try_get("type").unwrap_or_default();
            let key: Option<String> = row.try_get("key").unwrap_or_default();
            let extra: Option<String> = row.try_get("Extra").unwrap_or_default();
            let extra = extra.unwrap_or_default();
            // A page must be a range on (tag, id) or the primary key: `ref` on the tag alone
            // walks the tag from its newest twoot down to the cursor.
            let expected: &[&str] = if statement == sql::GET_MESSAGE {
                &["const"]
            } else {
                &["range"]
            };
            assert!(
                expected.contains(&access.as_str()) && key.is_some(),
                "{statement}: type={access} key={key:?} extra={extra}"
            );
            assert!(
                !extra.contains("filesort") && !extra.contains("temporary"),
                "{statement}: {extra}"
            );
        }
    }
}
