//! `POST /messages`: a twoot is stored and returned with its Location; every bad body is refused
//! with the status that says why.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

use crate::support::{fresh_app, get, post_json, send};

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
    let message = reply.json();
    let id = message["id"].as_str().expect("the id is a JSON string");
    assert!(id.parse::<i64>().unwrap() > 0);
    assert_eq!(
        reply.header("location"),
        Some(format!("/messages/{id}").as_str())
    );
    assert_eq!(message["text"], "First coffee of the day.");
    assert_eq!(message["tag"], "coffee");
    let timestamp = message["timestamp"].as_str().unwrap();
    assert!(timestamp.ends_with('Z'), "{timestamp}");
    let posted = chrono::DateTime::parse_from_rfc3339(timestamp).unwrap();
    assert!((chrono::Utc::now() - posted.to_utc()).num_seconds().abs() < 60);

    let read = get(&app, &format!("/messages/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), message);
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
        reply.invalid_in(422, "body", &fields);
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
