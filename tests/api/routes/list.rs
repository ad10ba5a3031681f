//! `GET /messages`: newest first, by tag in any case, paged by Link headers, with its parameters
//! checked.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::{app_settling_within, fresh_app, get, post_message, seed_messages, TestDb};

/// What `field` holds in each message of a list.
fn each(list: &Value, field: &str) -> Vec<Value> {
    let messages = list.as_array().expect("a list");
    messages.iter().map(|m| m[field].clone()).collect()
}

#[tokio::test]
async fn lists_newest_first_filtered_by_tag_in_any_case() {
    let (_db, app) = fresh_app().await;
    let mut posted = Vec::new();
    for i in 0..6 {
        let tag = if i % 2 == 0 { "Coffee" } else { "hiking" };
        posted.push(post_message(&app, &format!("twoot {i}"), tag).await);
    }
    let all = get(&app, "/messages").await;
    assert_eq!(all.status, StatusCode::OK);
    let expected: Vec<_> = posted.iter().rev().map(|m| m["id"].clone()).collect();
    assert_eq!(each(&all.json(), "id"), expected);

    for query in ["tag=coffee", "tag=COFFEE", "tag=CoFfEe"] {
        let coffee = get(&app, &format!("/messages?{query}")).await.json();
        assert_eq!(each(&coffee, "text"), ["twoot 4", "twoot 2", "twoot 0"]);
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
    let db = TestDb::sqlite().await;
    let app = app_settling_within(db.store.clone(), std::time::Duration::from_millis(200));
    let mut posted = Vec::new();
    for i in 0..7 {
        posted.push(post_message(&app, &format!("twoot {i}"), "jazz").await["id"].clone());
        post_message(&app, "noise", "other").await;
    }
    posted.reverse();
    let mut seen = Vec::new();
    let mut uri = "/messages?tag=JAZZ&limit=3".to_owned();
    let mut pages = 0;
    loop {
        let reply = get(&app, &uri).await;
        pages += 1;
        seen.extend(each(&reply.json(), "id"));
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

    // `prev` from the last page leads back to the twoots just newer than it, once settled.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let last_page = get(&app, &uri).await;
    let prev = links(last_page.header("link"))
        .into_iter()
        .find(|(rel, _)| rel == "prev")
        .unwrap()
        .1;
    let newer = each(&get(&app, &prev).await.json(), "id");
    assert_eq!(newer, posted[3..6]);
}

#[tokio::test]
async fn limit_defaults_to_100_and_allows_1_to_1000() {
    let (db, app) = fresh_app().await;
    seed_messages(db.store.as_ref(), 1005, 1, 3).await;
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
    let long_tag = "a".repeat(65);
    let malformed: [(&str, &[&str]); 4] = [
        ("limit", &["abc", "", "1.5", "99999999999999999999"]),
        ("before", &["abc", "-5", ""]),
        ("after", &["1e5", "99999999999999999999"]),
        ("tag", &["two%20words", "%22quoted%22", "", &long_tag]),
    ];
    for (field, values) in malformed {
        for value in values {
            let uri = format!("/messages?{field}={value}");
            get(&app, &uri).await.invalid_in(400, "query", &[field]);
        }
    }
    for limit in ["0", "-1", "1001"] {
        let uri = format!("/messages?limit={limit}");
        get(&app, &uri).await.invalid_in(422, "query", &["limit"]);
    }
    // Each bad parameter is named; a repeated one makes the whole query bad.
    get(&app, "/messages?limit=0&before=x")
        .await
        .invalid_in(400, "query", &["before", "limit"]);
    get(&app, "/messages?limit=1&limit=2")
        .await
        .invalid_in(400, "query", &["query"]);
}
