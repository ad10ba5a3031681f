//! The HTTP contract, route by route, against the real router on a fresh SQLite database: a file
//! per route group.

mod create;
mod get;
mod list;
mod service;
mod stats;

use crate::support::get;

/// Asserts that each query string on `path` is refused with its status, naming exactly its
/// fields, every one of them in the query.
async fn assert_refused_queries(app: &axum::Router, path: &str, cases: &[(&str, u16, &[&str])]) {
    for (query, status, fields) in cases {
        let problem = get(app, &format!("{path}?{query}"))
            .await
            .invalid(*status, fields);
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["in"] == "query"),
            "{query}: {problem}"
        );
    }
}
