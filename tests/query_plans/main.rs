//! No request scans a table: the database's own query plans for the statements the service runs
//! (`twooter::store::sql`) must be index range reads with no sort, on every backend.

#[path = "../support/mod.rs"]
mod support;

use sqlx::query::Query;
use sqlx::{Database, Encode, MySql, Row, Sqlite, Type};
use twooter::store::{sql, PageQuery};

use crate::support::{seed_messages, Backend, TestDb};

/// Fills the database so the planner has statistics that look like production; returns the
/// newest message's id.
async fn fill(db: &TestDb) -> i64 {
    seed_messages(db.store.as_ref(), 5000, 3, 25).await;
    let newest = PageQuery {
        tag: None,
        before: None,
        after: None,
        limit: 1,
    };
    db.store.page(&newest).await.unwrap()[0].id.as_i64()
}

/// `explain`, an `EXPLAIN` of a statement, with the statement's parameters bound: a tag first
/// where it takes one, then the integers.
fn bound<DB: Database>(
    explain: String,
    tagged: bool,
    params: &[i64],
) -> Query<'static, DB, DB::Arguments>
where
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    // The statements are the service's own constants; only EXPLAIN is put in front of them.
    let mut query = sqlx::query::<DB>(sqlx::AssertSqlSafe(explain));
    if tagged {
        query = query.bind("coffee");
    }
    for &param in params {
        query = query.bind(param);
    }
    query
}

/// Each statement `backend` runs, with parameters that exercise it (a tag, id bounds, a limit,
/// or a year range), and whether a tag comes first.
fn statements(backend: Backend, existing_id: i64) -> Vec<(&'static str, Vec<i64>, bool)> {
    let (stats, tag_stats, by_tag) = match backend {
        Backend::Sqlite => (
            sql::SQLITE_STATS,
            sql::SQLITE_TAG_STATS,
            [sql::PAGE_BY_TAG_NEWEST, sql::PAGE_BY_TAG_OLDEST],
        ),
        Backend::MySql => (
            sql::MYSQL_STATS,
            sql::MYSQL_TAG_STATS,
            [sql::MYSQL_PAGE_BY_TAG_NEWEST, sql::MYSQL_PAGE_BY_TAG_OLDEST],
        ),
    };
    vec![
        (sql::GET_MESSAGE, vec![existing_id], false),
        (by_tag[0], vec![-1, i64::MAX, 21], true),
        (by_tag[1], vec![-1, i64::MAX, 21], true),
        (sql::PAGE_NEWEST, vec![-1, i64::MAX, 21], false),
        (sql::PAGE_OLDEST, vec![-1, i64::MAX, 21], false),
        (stats, vec![0, 3000], false),
        (tag_stats, vec![0, 3000], true),
    ]
}

#[tokio::test]
async fn sqlite_plans_are_index_range_reads() {
    let db = TestDb::sqlite().await;
    let newest = fill(&db).await;
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    for (statement, params, tagged) in statements(Backend::Sqlite, newest) {
        let explain = format!("EXPLAIN QUERY PLAN {statement}");
        let query = bound::<Sqlite>(explain, tagged, &params);
        let rows = query.fetch_all(&pool).await.unwrap();
        let plan: Vec<String> = rows.iter().map(|row| row.get("detail")).collect();
        assert!(
            plan.iter()
                .all(|step| step.starts_with("SEARCH ") && !step.contains("TEMP B-TREE")),
            "{statement}\n{plan:#?}"
        );
        assert!(!plan.is_empty(), "{statement}");
    }
}

#[tokio::test]
async fn mysql_plans_are_index_range_reads() {
    let Some(db) = TestDb::new(Backend::MySql).await else {
        return;
    };
    let newest = fill(&db).await;
    let pool = sqlx::MySqlPool::connect(&db.url).await.unwrap();
    let analyze = sqlx::query("ANALYZE TABLE messages, message_counts");
    analyze.execute(&pool).await.unwrap();
    for (statement, params, tagged) in statements(Backend::MySql, newest) {
        let explain = format!("EXPLAIN {statement}");
        let query = bound::<MySql>(explain, tagged, &params);
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
