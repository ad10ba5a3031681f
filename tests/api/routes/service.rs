//! The service's own routes (`/`, `/healthz`, `/readyz`, `/metrics`, `/docs`, `/openapi.json`),
//! unknown routes and methods, and what every response shares: a request id, no internals in a
//! 5xx, compression on request.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::support::{fresh_app, get, get_with, post_message, send};

#[tokio::test]
async fn service_routes_describe_and_probe() {
    let (db, app) = fresh_app().await;
    let root = get(&app, "/").await;
    assert_eq!(root.json()["name"], "twooter");
    assert_eq!(root.json()["docs"], "/docs");
    assert_eq!(get(&app, "/healthz").await.json(), json!({"status": "ok"}));
    assert_eq!(
        get(&app, "/readyz").await.json(),
        json!({"status": "ready"})
    );

    let spec = get(&app, "/openapi.json").await;
    assert_eq!(spec.status, StatusCode::OK);
    assert!(spec.json()["openapi"].as_str().unwrap().starts_with("3.1"));
    let docs = get(&app, "/docs/").await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&docs.body).contains("swagger"));
    let bundle = get(&app, "/docs/swagger-ui-bundle.js").await;
    assert_eq!(
        bundle.status,
        StatusCode::OK,
        "Swagger UI is served from the binary"
    );

    // Readiness follows the database.
    db.store.close().await;
    get(&app, "/readyz").await.problem(503);
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let (_db, app) = fresh_app().await;
    get(&app, "/nope").await.problem(404);
    for (method, uri) in [
        ("PUT", "/messages"),
        ("DELETE", "/messages"),
        ("POST", "/management/message-stats"),
    ] {
        let reply = send(
            &app,
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        reply.problem(405);
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_5xx_hide_internals() {
    let (db, app) = fresh_app().await;
    let reply = get_with(&app, "/healthz", ("x-request-id", "abc-123")).await;
    assert_eq!(reply.header("x-request-id"), Some("abc-123"));
    assert!(get(&app, "/nope")
        .await
        .header("x-request-id")
        .is_some_and(|id| id.len() >= 16));

    db.store.close().await;
    let reply = get(&app, "/messages?tag=coffee").await;
    let problem = reply.problem(503);
    let body = String::from_utf8_lossy(&reply.body).to_lowercase();
    for secret in ["sqlite", "select", "pool", "twooter.db", "closed"] {
        assert!(!body.contains(secret), "{secret} leaked: {problem}");
    }
}

#[tokio::test]
async fn responses_are_compressed_on_request() {
    let (_db, app) = fresh_app().await;
    for i in 0..30 {
        post_message(
            &app,
            &format!("a fairly repetitive twoot number {i}"),
            "coffee",
        )
        .await;
    }
    let reply = get_with(&app, "/messages", ("accept-encoding", "gzip")).await;
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
}

#[tokio::test]
async fn invented_methods_add_a_bounded_number_of_metric_series() {
    use rand::{Rng, SeedableRng};
    let (_db, app) = crate::support::fresh_app().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    for _ in 0..10_000 {
        let method: String = (0..rng.gen_range(3..12))
            .map(|_| rng.gen_range(b'A'..=b'Z') as char)
            .collect();
        let uri = ["/messages", "/management/message-stats", "/nowhere"][rng.gen_range(0..3)];
        let request = Request::builder()
            .method(method.as_str())
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let reply = send(&app, request).await;
        assert!(matches!(reply.status.as_u16(), 404 | 405), "{method} {uri}");
    }
    let scrape = String::from_utf8(crate::support::get(&app, "/metrics").await.body).unwrap();
    let methods: std::collections::BTreeSet<&str> = scrape
        .lines()
        .filter(|line| line.starts_with("twooter_http_requests_total{"))
        .filter_map(|line| line.split("method=\"").nth(1)?.split('"').next())
        .collect();
    let known = [
        "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE", "other",
    ];
    assert!(methods.contains("other"), "{methods:?}");
    assert!(methods.iter().all(|m| known.contains(m)), "{methods:?}");
}
