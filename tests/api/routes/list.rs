//! `GET /messages`: newest first, by tag in any case, paged by Link headers, with its parameters
//! checked.

use axum::http::StatusCode;
use serde_json::json;

use super::assert_refused_queries;
use crate::support::{fresh_app, get, post_message, seed_messages};

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
    assert_refused_queries(&app, "/messages", cases).await;
    // A tag of 65 characters.
    get(&app, &format!("/messages?tag={}", "a".repeat(65)))
        .await
        .invalid(400, &["tag"]);
}
