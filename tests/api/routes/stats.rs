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
    ] {
        let uri = format!("/management/message-stats?{query}");
        get(&app, &uri).await.invalid_in(status, "query", fields);
    }
}
