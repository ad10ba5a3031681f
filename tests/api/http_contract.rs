//! The HTTP contract, request by request, against the real router on a fresh SQLite database.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

use crate::support::{app, get, post_json, post_twoot, send, TestDb};

async fn fresh_app() -> (TestDb, axum::Router) {
    let db = TestDb::sqlite().await;
    let app = app(db.store.clone());
    (db, app)
}

#[tokio::test]
async fn posting_returns_201_with_location_and_the_twoot() {
    let (_db, app) = fresh_app().await;
    let reply = post_json(
        &app,
        "/messages",
        r#"{"text": "First coffee of the day.", "tag": "CoFFee"}"#,
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let twoot = reply.json();
    let id = twoot["id"].as_str().expect("the id is a JSON string");
    assert!(id.parse::<i64>().unwrap() > 0);
    assert_eq!(
        reply.header("location"),
        Some(format!("/messages/{id}").as_str())
    );
    assert_eq!(twoot["text"], "First coffee of the day.");
    assert_eq!(twoot["tag"], "coffee");
    let timestamp = twoot["timestamp"].as_str().unwrap();
    assert!(timestamp.ends_with('Z'), "{timestamp}");
    let posted = chrono::DateTime::parse_from_rfc3339(timestamp).unwrap();
    assert!((chrono::Utc::now() - posted.to_utc()).num_seconds().abs() < 60);

    let read = get(&app, &format!("/messages/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), twoot);
}

#[tokio::test]
async fn accepts_280_four_byte_characters_and_ignores_unknown_fields() {
    let (_db, app) = fresh_app().await;
    let text = "𝄞".repeat(280);
    let reply = post_json(
        &app,
        "/messages",
        json!({"text": text, "tag": "music", "mood": "good"}).to_string(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json()["text"], text);
    let reply = post_json(
        &app,
        "/messages",
        json!({"text": "x", "tag": "a".repeat(64)}).to_string(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
}

#[tokio::test]
async fn invalid_bodies_are_422_naming_each_field() {
    let (_db, app) = fresh_app().await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"tag": "coffee"}), vec!["text"]),
        (json!({"text": "hello"}), vec!["tag"]),
        (json!({}), vec!["text", "tag"]),
        (json!({"text": 5, "tag": "coffee"}), vec!["text"]),
        (json!({"text": "hi", "tag": ["coffee"]}), vec!["tag"]),
        (json!({"text": null, "tag": "coffee"}), vec!["text"]),
        (json!({"text": "", "tag": "coffee"}), vec!["text"]),
        (json!({"text": " \t\n ", "tag": "coffee"}), vec!["text"]),
        (
            json!({"text": "a".repeat(281), "tag": "coffee"}),
            vec!["text"],
        ),
        (
            json!({"text": "😀".repeat(281), "tag": "coffee"}),
            vec!["text"],
        ),
        (json!({"text": "hi", "tag": ""}), vec!["tag"]),
        (json!({"text": "hi", "tag": "two words"}), vec!["tag"]),
        (json!({"text": "hi", "tag": "quo\"te"}), vec!["tag"]),
        (json!({"text": "hi", "tag": "it's"}), vec!["tag"]),
        (json!({"text": "hi", "tag": "a".repeat(65)}), vec!["tag"]),
        (json!({"text": "", "tag": "a b"}), vec!["text", "tag"]),
        (json!(["text", "tag"]), vec!["body"]),
        (json!("hello"), vec!["body"]),
    ];
    for (body, fields) in cases {
        let reply = post_json(&app, "/messages", body.to_string()).await;
        let problem = reply.invalid(422, &fields);
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["in"] == "body"),
            "{problem}"
        );
    }
    // Nothing was stored along the way.
    assert_eq!(get(&app, "/messages").await.json(), json!([]));
}

#[tokio::test]
async fn malformed_json_is_400() {
    let (_db, app) = fresh_app().await;
    for body in [
        "{",
        "",
        "not json",
        r#"{"text": "a", "tag": "b",}"#,
        "{\"text\": \"\\x\"}",
    ] {
        let problem = post_json(&app, "/messages", body).await.problem(400);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("not valid JSON"),
            "{problem}"
        );
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let (_db, app) = fresh_app().await;
    let body = r#"{"text": "hi", "tag": "coffee"}"#;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = Request::post("/messages");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        send(&app, request.body(Body::from(body)).unwrap())
            .await
            .problem(415);
    }
    let reply = send(
        &app,
        Request::post("/messages")
            .header("content-type", "application/json; charset=utf-8")
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_body_over_64_kib_is_413() {
    let (_db, app) = fresh_app().await;
    let big = json!({"text": "a".repeat(70 * 1024), "tag": "coffee"}).to_string();
    post_json(&app, "/messages", big).await.problem(413);
    // Just under the limit is read, then refused for its content instead.
    let fits = json!({"text": "a".repeat(60 * 1024), "tag": "coffee"}).to_string();
    post_json(&app, "/messages", fits)
        .await
        .invalid(422, &["text"]);
}

#[tokio::test]
async fn unknown_ids_and_routes_are_404_and_wrong_methods_405() {
    let (_db, app) = fresh_app().await;
    for uri in [
        "/messages/12345",
        "/messages/abc",
        "/messages/-1",
        "/messages/99999999999999999999",
        "/nope",
    ] {
        get(&app, uri).await.problem(404);
    }
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
async fn lists_newest_first_filtered_by_tag_in_any_case() {
    let (_db, app) = fresh_app().await;
    let mut posted = Vec::new();
    for i in 0..6 {
        let tag = if i % 2 == 0 { "Coffee" } else { "hiking" };
        posted.push(post_twoot(&app, &format!("twoot {i}"), tag).await);
    }
    let all = get(&app, "/messages").await;
    assert_eq!(all.status, StatusCode::OK);
    let ids: Vec<_> = all
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    let expected: Vec<_> = posted.iter().rev().map(|m| m["id"].clone()).collect();
    assert_eq!(ids, expected);

    for query in ["tag=coffee", "tag=COFFEE", "tag=CoFfEe"] {
        let coffee = get(&app, &format!("/messages?{query}")).await.json();
        let texts: Vec<_> = coffee
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts, ["twoot 4", "twoot 2", "twoot 0"]);
    }
    assert_eq!(get(&app, "/messages?tag=unused").await.json(), json!([]));
}

/// The `rel` → URL pairs of a Link header.
fn links(value: Option<&str>) -> Vec<(String, String)> {
    value
        .unwrap_or_default()
        .split(", ")
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (url, rel) = part.split_once("; rel=").unwrap();
            (
                rel.trim_matches('"').to_owned(),
                url.trim_matches(['<', '>']).to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn pages_follow_the_next_link_to_the_end() {
    let (_db, app) = fresh_app().await;
    let mut posted = Vec::new();
    for i in 0..7 {
        posted.push(post_twoot(&app, &format!("twoot {i}"), "jazz").await["id"].clone());
        post_twoot(&app, "noise", "other").await;
    }
    posted.reverse();
    let mut seen = Vec::new();
    let mut uri = "/messages?tag=JAZZ&limit=3".to_owned();
    let mut pages = 0;
    loop {
        let reply = get(&app, &uri).await;
        pages += 1;
        seen.extend(
            reply
                .json()
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].clone()),
        );
        let links = links(reply.header("link"));
        match links.iter().find(|(rel, _)| rel == "next") {
            Some((_, next)) => {
                assert!(
                    next.contains("tag=jazz") && next.contains("limit=3"),
                    "{next}"
                );
                uri = next.clone();
            }
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, posted);

    // `prev` from the last page leads back to the twoots just newer than it.
    let last_page = get(&app, &uri).await;
    let prev = links(last_page.header("link"))
        .into_iter()
        .find(|(rel, _)| rel == "prev")
        .unwrap()
        .1;
    let newer: Vec<_> = get(&app, &prev)
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(newer, posted[3..6]);
}

#[tokio::test]
async fn limit_defaults_to_100_and_allows_1_to_1000() {
    let (db, app) = fresh_app().await;
    crate::support::seed_twoots(db.store.as_ref(), 1005, 1, 3).await;
    let count = |uri: &'static str| {
        let app = app.clone();
        async move { get(&app, uri).await.json().as_array().unwrap().len() }
    };
    assert_eq!(count("/messages").await, 100);
    assert_eq!(count("/messages?limit=1").await, 1);
    assert_eq!(count("/messages?limit=1000").await, 1000);
    assert!(
        links(get(&app, "/messages?limit=1000").await.header("link"))
            .iter()
            .any(|(rel, _)| rel == "next")
    );
}

#[tokio::test]
async fn bad_list_parameters_are_400_and_out_of_range_422() {
    let (_db, app) = fresh_app().await;
    let cases: &[(&str, u16, &[&str])] = &[
        ("limit=abc", 400, &["limit"]),
        ("limit=", 400, &["limit"]),
        ("limit=1.5", 400, &["limit"]),
        ("limit=0", 422, &["limit"]),
        ("limit=-1", 422, &["limit"]),
        ("limit=1001", 422, &["limit"]),
        ("limit=99999999999999999999", 400, &["limit"]),
        ("before=abc", 400, &["before"]),
        ("before=-5", 400, &["before"]),
        ("before=", 400, &["before"]),
        ("after=1e5", 400, &["after"]),
        ("after=99999999999999999999", 400, &["after"]),
        ("tag=two%20words", 400, &["tag"]),
        ("tag=%22quoted%22", 400, &["tag"]),
        ("tag=", 400, &["tag"]),
        ("limit=0&before=x", 400, &["before", "limit"]),
        ("limit=1&limit=2", 400, &["query"]),
    ];
    for (query, status, fields) in cases {
        let problem = get(&app, &format!("/messages?{query}"))
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
    // A tag of 65 characters.
    get(&app, &format!("/messages?tag={}", "a".repeat(65)))
        .await
        .invalid(400, &["tag"]);
}

#[tokio::test]
async fn stats_count_per_year_and_tag() {
    let (db, app) = fresh_app().await;
    assert_eq!(
        get(&app, "/management/message-stats").await.json(),
        json!({})
    );
    let mut ids = twooter::domain::BackfillIds::new(twooter::domain::NodeId::new(9).unwrap());
    let at = crate::conformance::at;
    let batch = vec![
        crate::conformance::twoot(&mut ids, "a", "coffee", at(2022, 1, 0)),
        crate::conformance::twoot(&mut ids, "b", "coffee", at(2022, 2, 0)),
        crate::conformance::twoot(&mut ids, "c", "hiking", at(2022, 3, 0)),
        crate::conformance::twoot(&mut ids, "d", "coffee", at(2023, 1, 0)),
    ];
    db.store.insert_batch(&batch).await.unwrap();
    post_twoot(&app, "now", "coffee").await;
    let this_year = chrono::Datelike::year(&chrono::Utc::now()).to_string();

    let all = get(&app, "/management/message-stats").await;
    assert_eq!(all.status, StatusCode::OK);
    let mut expected = json!({"2022": {"coffee": 2, "hiking": 1}, "2023": {"coffee": 1}});
    expected[this_year.as_str()] = json!({"coffee": 1});
    assert_eq!(all.json(), expected);
    assert_eq!(
        get(&app, "/management/message-stats?start=2022&end=2022")
            .await
            .json(),
        json!({"2022": {"coffee": 2, "hiking": 1}})
    );
    assert_eq!(
        get(&app, "/management/message-stats?start=2023")
            .await
            .json()["2023"],
        json!({"coffee": 1})
    );
    assert_eq!(
        get(&app, "/management/message-stats?end=2022").await.json(),
        json!({"2022": {"coffee": 2, "hiking": 1}})
    );
    assert_eq!(
        get(&app, "/management/message-stats?start=0&end=3000")
            .await
            .json(),
        expected
    );
    assert_eq!(
        get(&app, "/management/message-stats?start=1990&end=1990")
            .await
            .json(),
        json!({})
    );
}

#[tokio::test]
async fn bad_stats_parameters() {
    let (_db, app) = fresh_app().await;
    let cases: &[(&str, u16, &[&str])] = &[
        ("start=abc", 400, &["start"]),
        ("end=", 400, &["end"]),
        ("start=2020.5", 400, &["start"]),
        ("start=2024&end=2023", 400, &["end"]),
        ("start=-1", 422, &["start"]),
        ("end=3001", 422, &["end"]),
        ("start=3001&end=5000", 422, &["start", "end"]),
        ("start=x&end=9999", 400, &["start", "end"]),
    ];
    for (query, status, fields) in cases {
        get(&app, &format!("/management/message-stats?{query}"))
            .await
            .invalid(*status, fields);
    }
}

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
async fn every_response_carries_a_request_id_and_5xx_hide_internals() {
    let (db, app) = fresh_app().await;
    let reply = send(
        &app,
        Request::get("/healthz")
            .header("x-request-id", "abc-123")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
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
        post_twoot(
            &app,
            &format!("a fairly repetitive twoot number {i}"),
            "coffee",
        )
        .await;
    }
    let reply = send(
        &app,
        Request::get("/messages")
            .header("accept-encoding", "gzip")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
}
