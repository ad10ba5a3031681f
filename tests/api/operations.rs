//! Operations behaviour of the router: request timeout, CORS, metrics, readiness when the
//! database goes away and comes back.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get as get_route;
use axum::Router;

use twooter::http::middleware;

use crate::support::proxy::Proxy;
use crate::support::{app, fresh_app, get, get_with, send, test_config, Backend, TestDb};

#[tokio::test]
async fn a_request_past_the_timeout_is_a_503_problem() {
    let slow = Router::new().route(
        "/slow",
        get_route(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "too late"
        }),
    );
    let options = middleware::Options {
        request_timeout: Duration::from_millis(100),
        cors_origins: Vec::new(),
    };
    let app = middleware::wrap(slow, &options);
    let started = std::time::Instant::now();
    let problem = get(&app, "/slow").await.problem(503);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(problem["detail"].as_str().unwrap().contains("too long"));
}

#[tokio::test]
async fn cors_allows_the_configured_origins_only() {
    let db = TestDb::sqlite().await;
    let mut config = test_config();
    config.cors_origins = vec!["https://app.example".into()];
    let app = twooter::app::build_router(&config, db.store.clone(), crate::support::test_ids());
    let preflight = |origin: &'static str| {
        Request::options("/messages")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = send(&app, preflight("https://app.example")).await;
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let refused = send(&app, preflight("https://evil.example")).await;
    assert_eq!(refused.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn metrics_cover_requests_queries_posts_pool_and_build() {
    let (_db, app) = fresh_app().await;
    let posted = crate::support::post_message(&app, "measured", "coffee").await;
    get(
        &app,
        &format!("/messages/{}", posted["id"].as_str().unwrap()),
    )
    .await;
    get(&app, "/messages/does-not-exist").await;
    get(&app, "/metrics").await;
    let reply = get(&app, "/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = String::from_utf8(reply.body).unwrap();
    for expected in [
        r#"twooter_http_requests_total{method="POST",route="/messages",status="2xx"} 1"#,
        r#"twooter_http_requests_total{method="GET",route="/messages/{id}",status="4xx"} 1"#,
        r#"twooter_http_request_duration_seconds_bucket{method="GET",route="/messages/{id}",status="2xx",le="0.005"}"#,
        r#"twooter_db_query_duration_seconds_count{query="insert_message",outcome="ok"} 1"#,
        "twooter_twoots_posted_total 1",
        "twooter_db_pool_connections_max 11",
        r#"twooter_build_info{version=""#,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    // Label values stay bounded: no raw path or tag ever becomes one.
    assert!(
        !text.contains("does-not-exist") && !text.contains("coffee"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database_away_and_back() {
    let Some(db) = TestDb::new(Backend::MySql).await else {
        return;
    };
    let upstream = crate::support::mysql_address();
    let mut proxy = Proxy::start(upstream).await;
    let through_proxy = db
        .url
        .replace(&upstream.to_string(), &proxy.address.to_string());
    assert_ne!(through_proxy, db.url);
    let pool = twooter::store::PoolConfig {
        max_connections: 4,
        acquire_timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let store = twooter::store::connect(&through_proxy, &pool)
        .await
        .unwrap();
    let app = app(store);
    assert_eq!(get(&app, "/readyz").await.status, StatusCode::OK);

    proxy.cut();
    get(&app, "/readyz").await.problem(503);
    get(&app, "/messages").await.problem(503);
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);

    proxy.restore().await;
    let mut ready = false;
    for _ in 0..50 {
        if get(&app, "/readyz").await.status == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "readiness did not come back with the database");
    assert_eq!(get(&app, "/messages").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_body_limit_is_configurable() {
    let db = TestDb::sqlite().await;
    let mut config = test_config();
    config.body_limit = 100;
    let app = twooter::app::build_router(&config, db.store.clone(), crate::support::test_ids());
    let body = serde_json::json!({"text": "a".repeat(150), "tag": "coffee"}).to_string();
    let problem = crate::support::post_json(&app, "/messages", body)
        .await
        .problem(413);
    assert_eq!(problem["detail"], "The body must be at most 100 bytes");
    let small = serde_json::json!({"text": "short", "tag": "coffee"}).to_string();
    assert_eq!(
        crate::support::post_json(&app, "/messages", small)
            .await
            .status,
        StatusCode::CREATED
    );
}

/// MariaDB closes connections idle past `wait_timeout`, as proxies and failovers do. The pool
/// must notice before a request gets such a connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_the_server_closed_is_replaced_before_use() {
    let Some(db) = TestDb::new(Backend::MySql).await else {
        return;
    };
    // One connection, so the request after the kill can only get the killed one or a new one.
    let pool = twooter::store::PoolConfig {
        max_connections: 1,
        acquire_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let store = twooter::store::connect(&db.url, &pool).await.unwrap();
    let app = app(store);
    assert_eq!(get(&app, "/messages").await.status, StatusCode::OK);

    let database = db.url.rsplit('/').next().unwrap().to_owned();
    let admin = sqlx::MySqlPool::connect(&crate::support::mysql_server_url())
        .await
        .unwrap();
    let pooled: Vec<i64> = sqlx::query_scalar(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
    )
    .bind(&database)
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(
        !pooled.is_empty(),
        "the service holds a connection to {database}"
    );
    for id in pooled {
        sqlx::query(sqlx::AssertSqlSafe(format!("KILL CONNECTION {id}")))
            .execute(&admin)
            .await
            .unwrap();
    }
    admin.close().await;

    // Past the idle time after which the pool pings a connection before handing it out.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let reply = get(&app, "/messages").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
}

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
    type Writer = Self;

    fn make_writer(&'w self) -> Self {
        self.clone()
    }
}

/// A 5xx body says nothing; its cause is in the log under the request's id, and must stay there
/// when operators keep only warnings and errors.
#[tokio::test]
async fn under_rust_log_warn_a_failed_request_logs_its_cause_with_its_request_id() {
    let down = Router::new().route(
        "/down",
        get_route(|| async {
            twooter::http::error::ApiError::Unavailable("connection refused by the database".into())
        }),
    );
    let options = middleware::Options {
        request_timeout: Duration::from_secs(5),
        cors_origins: Vec::new(),
    };
    let app = middleware::wrap(down, &options);
    let logs = Captured::default();
    let _guard = tracing::subscriber::set_default(twooter::telemetry::subscriber(
        true,
        "warn",
        logs.clone(),
    ));

    let reply = get_with(&app, "/down", ("x-request-id", "trace-me-42")).await;
    reply.problem(503);
    assert!(!String::from_utf8_lossy(&reply.body).contains("connection refused"));

    let output = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = output
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let warning = lines
        .iter()
        .find(|line| line["message"] == "database unavailable")
        .unwrap_or_else(|| panic!("no warning logged: {output}"));
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["span"]["request_id"], "trace-me-42", "{output}");
    assert!(warning["error"]
        .as_str()
        .unwrap()
        .contains("connection refused by the database"));
    // The access line is INFO, so this filter leaves it out.
    assert!(
        lines.iter().all(|line| line["message"] != "request"),
        "{output}"
    );
}
