//! What the test binaries share: fresh databases per test, the router under test, small request
//! helpers, the real binary as a process ([`process`]), a connection the test can cut ([`proxy`])
//! and private database servers to break ([`servers`]). Each binary includes this module by
//! path and uses a part of it, so what one of them leaves unused is not dead code.
#![allow(dead_code)]

pub mod process;
pub mod proxy;
pub mod servers;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use twooter::config::Config;
use twooter::domain::NodeId;
use twooter::store::{self, PoolConfig, Store};

/// Where the MariaDB/MySQL tests connect; each test makes its own database there.
pub fn mysql_server_url() -> String {
    std::env::var("TWOOTER_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// The MariaDB server's socket address, from [`mysql_server_url`].
pub fn mysql_address() -> std::net::SocketAddr {
    let url = url::Url::parse(&mysql_server_url()).unwrap();
    let host = url.host_str().unwrap();
    let port = url.port().unwrap_or(3306);
    format!("{host}:{port}").parse().unwrap()
}

/// A database that exists for one test and is dropped after it, even if the test fails.
pub struct TestDb {
    /// The database's own URL.
    pub url: String,
    pub store: Arc<dyn Store>,
    cleanup: Cleanup,
    _dir: Option<tempfile::TempDir>,
}

enum Cleanup {
    None,
    MySql { server: String, name: String },
}

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    MySql,
}

impl TestDb {
    /// A fresh, migrated database on `backend`, or `None` when MariaDB is not reachable outside
    /// CI (the test then passes vacuously and says so; in CI it fails instead).
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite().await),
            Backend::MySql => Self::mysql().await,
        }
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("twooter.db").display());
        Self::sqlite_at(url, Some(dir)).await
    }

    /// A fresh, migrated in-memory SQLite database, which lives on the store's one writer
    /// connection (`url` reaches another, empty one).
    pub async fn sqlite_in_memory() -> Self {
        Self::sqlite_at("sqlite::memory:".to_owned(), None).await
    }

    async fn sqlite_at(url: String, dir: Option<tempfile::TempDir>) -> Self {
        let store = store::connect(&url, &PoolConfig::default()).await.unwrap();
        store.migrate().await.unwrap();
        Self {
            url,
            store,
            cleanup: Cleanup::None,
            _dir: dir,
        }
    }

    pub async fn mysql() -> Option<Self> {
        let server = mysql_server_url();
        let admin = match sqlx::MySqlPool::connect(&server).await {
            Ok(pool) => pool,
            Err(error) if std::env::var("CI").as_deref() != Ok("true") => {
                eprintln!("SKIPPED: MariaDB test, cannot reach {server}: {error}");
                return None;
            }
            Err(error) => panic!("MariaDB at {server} is required in CI: {error}"),
        };
        let name = format!("twooter_test_{:016x}", rand::random::<u64>());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{name}`")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let url = format!("{server}/{name}");
        let store = store::connect(&url, &PoolConfig::default()).await.unwrap();
        store.migrate().await.unwrap();
        Some(Self {
            url,
            store,
            cleanup: Cleanup::MySql { server, name },
            _dir: None,
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::MySql { server, name } = &self.cleanup {
            let (server, name) = (server.clone(), name.clone());
            // Drop runs outside async context, possibly while unwinding: use a runtime of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    if let Ok(pool) = sqlx::MySqlPool::connect(&server).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS `{name}`"
                        )))
                        .execute(&pool)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Stores `count` synthetic twoots spread over `years` years, the same ones for the same `seed`.
/// Every twoot the statistics' counters hold, over all years and tags.
pub async fn counted(store: &dyn Store) -> i64 {
    store
        .stats(0, 3000)
        .await
        .unwrap()
        .iter()
        .map(|c| c.count)
        .sum()
}

pub async fn seed_messages(store: &dyn Store, count: u64, seed: u64, years: u32) {
    let plan = twooter::seed::SeedPlan {
        count,
        seed,
        years,
        until: chrono::Utc::now(),
        node: NodeId::new(2).unwrap(),
    };
    twooter::seed::seed(store, &plan, |_| {}).await.unwrap();
}

/// Settings for a router under test: the defaults, as a laptop would run them, but with no rate
/// limits, which the tests of the limits set themselves.
pub fn test_config() -> Config {
    Config::from_lookup(|name| (name == "RATE_LIMITS").then(|| "off".to_owned())).unwrap()
}

/// The full application router over `store`, with its middleware, called as an operator would:
/// a request to `/management` without a key gets an admin key of the store's (made on first
/// use). The tests of the keys themselves use [`app_with`], which adds nothing.
pub fn app(store: Arc<dyn Store>) -> axum::Router {
    let key = Arc::new(tokio::sync::OnceCell::<String>::new());
    let keys = store.clone();
    app_with(&test_config(), store).layer(axum::middleware::from_fn(
        move |mut request: Request<Body>, next: axum::middleware::Next| {
            let (key, keys) = (key.clone(), keys.clone());
            async move {
                let headers = request.headers();
                if request.uri().path().starts_with("/management")
                    && !headers.contains_key("authorization")
                {
                    let key = key
                        .get_or_init(|| create_key(keys.as_ref(), twooter::domain::Role::Admin))
                        .await;
                    let value = format!("Bearer {key}").parse().unwrap();
                    request.headers_mut().insert("authorization", value);
                }
                next.run(request).await
            }
        },
    ))
}

/// The full application router over `store` with `config`, with nothing added.
pub fn app_with(config: &Config, store: Arc<dyn Store>) -> axum::Router {
    twooter::app::build_router(config, store, test_ids())
}

/// Makes an API key with `role` in `store`, as `twooter keys create` does, and returns it.
pub async fn create_key(store: &dyn Store, role: twooter::domain::Role) -> String {
    let key = twooter::domain::PresentedKey::generate();
    store
        .create_api_key(&twooter::store::ApiKeyRow {
            id: key.id.clone(),
            name: format!("test {role}"),
            role,
            secret: key.hash(),
            created_at: chrono::Utc::now().timestamp_millis(),
            revoked_at: None,
        })
        .await
        .unwrap();
    key.reveal()
}

/// The router over `store` with posts that must commit within `deadline` and clocks taken as
/// equal, so that twoots settle for catching up `deadline` after they are made.
pub fn app_settling_within(store: Arc<dyn Store>, deadline: std::time::Duration) -> axum::Router {
    let mut config = test_config();
    config.post_commit_deadline = deadline;
    config.max_clock_skew = std::time::Duration::ZERO;
    twooter::app::build_router(&config, store, test_ids())
}

/// Ids with a fixed node, as `NODE_ID` gives them: a router under test holds no lease.
pub fn test_ids() -> Arc<twooter::domain::IdGenerator> {
    Arc::new(twooter::domain::IdGenerator::new(NodeId::new(1).unwrap()))
}

/// The router over a fresh SQLite database, which lives as long as the `TestDb`.
pub async fn fresh_app() -> (TestDb, axum::Router) {
    let db = TestDb::sqlite().await;
    let app = app(db.store.clone());
    (db, app)
}

/// A response read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with this status, and returns it.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let problem = self.json();
        assert_eq!(problem["status"], status);
        assert!(problem["type"].is_string());
        assert!(problem["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(problem["detail"].as_str().is_some_and(|t| !t.is_empty()));
        problem
    }

    /// Asserts a validation problem naming exactly these fields.
    pub fn invalid(&self, status: u16, fields: &[&str]) -> Value {
        let problem = self.problem(status);
        assert_eq!(
            problem["type"],
            "https://twooter.dev/problems/validation-error"
        );
        let named: Vec<&str> = problem["errors"]
            .as_array()
            .expect("an errors list")
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(named, fields, "{problem}");
        problem
    }

    /// Asserts a validation problem naming exactly these fields, each of them in `place` (`body`
    /// or `query`).
    pub fn invalid_in(&self, status: u16, place: &str, fields: &[&str]) -> Value {
        let problem = self.invalid(status, fields);
        let errors = problem["errors"].as_array().unwrap();
        assert!(errors.iter().all(|e| e["in"] == place), "{problem}");
        problem
    }
}

/// Sends `request` to `app` and reads the whole response.
pub async fn send(app: &axum::Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(app: &axum::Router, uri: &str) -> Reply {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// `GET uri` with one request header.
pub async fn get_with(app: &axum::Router, uri: &str, (name, value): (&str, &str)) -> Reply {
    let request = Request::get(uri).header(name, value).body(Body::empty());
    send(app, request.unwrap()).await
}

pub async fn post_json(app: &axum::Router, uri: &str, body: impl Into<Body>) -> Reply {
    send(
        app,
        Request::post(uri)
            .header("content-type", "application/json")
            .body(body.into())
            .unwrap(),
    )
    .await
}

/// Posts a twoot that must be accepted, returning it.
pub async fn post_message(app: &axum::Router, text: &str, tag: &str) -> Value {
    let reply = post_json(
        app,
        "/messages",
        serde_json::json!({"text": text, "tag": tag}).to_string(),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

/// How many messages a `GET /management/message-stats` body counts, over every year and tag.
pub fn stats_total(stats: &Value) -> i64 {
    let per_year = stats.as_object().unwrap().values();
    let counts = per_year.flat_map(|tags| tags.as_object().unwrap().values());
    counts.map(|n| n.as_i64().unwrap()).sum()
}

/// The value of the first sample in Prometheus `text` whose line starts with `series` (a name,
/// with its labels where it has any), or 0 when there is none yet.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}
