//! `GET /management/message-stats`: counts per year and tag, within an optional year range.

use axum::http::StatusCode;
use serde_json::json;

use twooter::domain::{BackfillIds, NodeId};

use crate::conformance::{at, new_message};
use crate::support::{fresh_app, get, post_message};

#[tokio::test]
async fn stats_count_per_year_and_tag() {
    let (db, app) = fresh_app().await;
    assert_eq!(
        get(&app, "/management/message-stats").await.json(),
        json!({})
    );
    let mut ids = BackfillIds::new(NodeId::new(9).unwrap());
    let batch = vec![
        new_message(&mut ids, "a", "coffee", at(2022, 1, 0)),
        new_message(&mut ids, "b", "coffee", at(2022, 2, 0)),
        new_message(&mut ids, "c", "hiking", at(2022, 3, 0)),
        new_message(&mut ids, "d", "coffee", at(2023, 1, 0)),
    ];
    db.store.insert_batch(&batch).await.unwrap();
    post_message(&app, "now", "coffee").await;
    let this_year = chrono::Datelike::year(&chrono::Utc::now()).to_string();
    // The empty answer above may be served for up to a second.
    tokio::time::sleep(twooter::http::stats::cache::MAX_AGE).await;

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
    for (query, status, fields) in [
        ("start=abc", 400, &["start"][..]),
        ("end=", 400, &["end"]),
        ("start=2020.5", 400, &["start"]),
        ("start=2024&end=2023", 400, &["end"]),
        ("start=-1", 422, &["start"]),
        ("end=3001", 422, &["end"]),
        ("start=3001&end=5000", 422, &["start", "end"]),
        ("start=x&end=9999", 400, &["start", "end"]),
        ("tag=two%20words", 400, &["tag"]),
        ("tag=", 400, &["tag"]),
        ("top=abc", 400, &["top"]),
        ("top=0", 422, &["top"]),
        ("top=1001", 422, &["top"]),
        ("top=x&start=-1", 400, &["top", "start"]),
    ] {
        let uri = format!("/management/message-stats?{query}");
        get(&app, &uri).await.invalid_in(status, "query", fields);
    }
}

#[tokio::test]
async fn each_year_lists_its_top_tags_and_counts_the_others_apart() {
    let (db, app) = fresh_app().await;
    let mut ids = BackfillIds::new(NodeId::new(9).unwrap());
    let mut batch = Vec::new();
    // In 2021, tag t{n} has n + 1 twoots, for 150 tags.
    for n in 0..150u32 {
        for k in 0..=n {
            batch.push(new_message(
                &mut ids,
                "x",
                &format!("t{n}"),
                at(2021, 1 + k % 28, k),
            ));
        }
    }
    batch.push(new_message(&mut ids, "y", "solo", at(2022, 1, 0)));
    db.store.insert_batch(&batch).await.unwrap();

    let stats = get(&app, "/management/message-stats").await.json();
    let year = stats["2021"].as_object().unwrap();
    assert_eq!(year.len(), 101, "100 tags and the others");
    assert_eq!(year["t149"], 150);
    assert_eq!(year["t50"], 51);
    assert!(year.get("t49").is_none());
    let others: i64 = (1..=50).sum();
    assert_eq!(year["(other tags)"], others);
    assert_eq!(
        stats["2022"],
        json!({"solo": 1}),
        "a small year keeps the prototype's shape"
    );

    let top = get(&app, "/management/message-stats?top=2&start=2021&end=2021").await;
    let total: i64 = (1..=150).sum();
    assert_eq!(
        top.json(),
        json!({"2021": {"t149": 150, "t148": 149, "(other tags)": total - 150 - 149}})
    );
    assert_eq!(top.header("cache-control"), Some("private, max-age=1"));
}

#[tokio::test]
async fn one_tags_count_per_year() {
    let (db, app) = fresh_app().await;
    let mut ids = BackfillIds::new(NodeId::new(9).unwrap());
    let batch = vec![
        new_message(&mut ids, "a", "coffee", at(2020, 1, 0)),
        new_message(&mut ids, "b", "coffee", at(2022, 1, 0)),
        new_message(&mut ids, "c", "coffee", at(2022, 2, 0)),
        new_message(&mut ids, "d", "tea", at(2022, 3, 0)),
    ];
    db.store.insert_batch(&batch).await.unwrap();
    assert_eq!(
        get(&app, "/management/message-stats?tag=CoFFee")
            .await
            .json(),
        json!({"2020": {"coffee": 1}, "2022": {"coffee": 2}})
    );
    assert_eq!(
        get(&app, "/management/message-stats?tag=coffee&start=2021")
            .await
            .json(),
        json!({"2022": {"coffee": 2}})
    );
    assert_eq!(
        get(&app, "/management/message-stats?tag=jazz").await.json(),
        json!({})
    );
}

#[tokio::test]
async fn the_counts_are_at_most_a_second_old() {
    let (_db, app) = fresh_app().await;
    post_message(&app, "first", "coffee").await;
    let this_year = chrono::Datelike::year(&chrono::Utc::now()).to_string();
    let count = |stats: serde_json::Value| stats[&this_year]["coffee"].as_i64().unwrap_or(0);
    assert_eq!(
        count(get(&app, "/management/message-stats").await.json()),
        1
    );
    post_message(&app, "second", "coffee").await;
    let posted = std::time::Instant::now();
    loop {
        if count(get(&app, "/management/message-stats").await.json()) == 2 {
            break;
        }
        assert!(
            posted.elapsed() < twooter::http::stats::cache::MAX_AGE * 3 / 2,
            "the counts were older than a second"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
