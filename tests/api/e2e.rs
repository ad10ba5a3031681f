//! End to end over real sockets: the binary serves a database, a client drives the contract, and
//! `import` and `seed` run as commands against the same database while it serves.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::support::process::{create_key, get_json, get_json_as, run, twooter, Server};
use crate::support::{stats_total, Backend, TestDb};

async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    body
}

async fn drive_the_contract(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut command = twooter(dir.path());
    command.env("DATABASE_URL", &db.url);
    let server = Server::start(command);
    let client = Client::new();
    let url = |path: &str| server.url(path);
    let admin = create_key(dir.path(), Some(&db.url), "admin");

    // Post, read back by Location, list, page.
    let mut ids = Vec::new();
    for i in 0..5 {
        let response = client
            .post(url("/messages"))
            .json(&json!({"text": format!("e2e twoot {i} 🚀"), "tag": "E2E"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let message: Value = response.json().await.unwrap();
        assert_eq!(message["tag"], "e2e");
        let read: Value = get_json(&url(&location)).await;
        assert_eq!(read, message);
        ids.push(message["id"].as_str().unwrap().to_owned());
    }
    ids.reverse();
    let first = client
        .get(url("/messages?tag=e2e&limit=2"))
        .send()
        .await
        .unwrap();
    let link = first.headers()["link"].to_str().unwrap().to_owned();
    let page: Vec<Value> = first.json().await.unwrap();
    assert_eq!(
        page.iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ids[..2]
    );
    let next = link
        .split(", ")
        .find(|l| l.ends_with("rel=\"next\""))
        .unwrap();
    let next = next.trim_start_matches('<').split('>').next().unwrap();
    let page: Vec<Value> = serde_json::from_value(get_json(&url(next)).await).unwrap();
    assert_eq!(
        page.iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ids[2..4]
    );

    // Every kind of bad input, over the wire.
    let big = json!({"text": "a".repeat(70_000), "tag": "x"}).to_string();
    for (body, content_type, status) in [
        ("{", "application/json", 400),
        (r#"{"text":"hi","tag":"x"}"#, "text/plain", 415),
        (r#"{"text":"","tag":"a b"}"#, "application/json", 422),
        (big.as_str(), "application/json", 413),
    ] {
        let post = client
            .post(url("/messages"))
            .header("content-type", content_type);
        problem(post.body(body.to_owned()).send().await.unwrap(), status).await;
    }
    for (path, status) in [
        ("/messages?limit=0", 422),
        ("/messages?before=x", 400),
        ("/messages/1", 404),
        ("/management/message-stats?start=2024&end=2023", 400),
        ("/management/message-stats?start=3001", 422),
    ] {
        let request = client.get(url(path)).bearer_auth(&admin);
        problem(request.send().await.unwrap(), status).await;
    }
    problem(client.delete(url("/messages")).send().await.unwrap(), 405).await;

    // The commands write to the database the server is serving.
    std::fs::write(
        dir.path().join("old.csv"),
        "message,tag,timestamp\nfrom the prototype,E2E,2019-05-05T10:00:00Z\nbroken,,2019-05-05T10:00:00Z\n",
    )
    .unwrap();
    run(dir.path(), &db.url, &["import", "old.csv"], 2);
    let seed = ["seed", "--count", "500", "--seed", "9"];
    run(dir.path(), &db.url, &seed, 0);

    let stats: Value = get_json_as(&url("/management/message-stats"), &admin).await;
    assert_eq!(stats["2019"]["e2e"], 1, "{stats}");
    assert_eq!(stats_total(&stats), 5 + 1 + 500);
    let e2e: Vec<Value> =
        serde_json::from_value(get_json(&url("/messages?tag=e2e")).await).unwrap();
    assert_eq!(e2e.last().unwrap()["text"], "from the prototype");
    assert_eq!(e2e.last().unwrap()["timestamp"], "2019-05-05T10:00:00Z");
    let ready = client.get(url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_contract_end_to_end_on_sqlite() {
    drive_the_contract(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_contract_end_to_end_on_mariadb() {
    drive_the_contract(Backend::MySql).await;
}
