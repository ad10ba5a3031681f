//! Who may do what: `/management/*` needs an admin key, posting needs a key only with
//! `POSTING=keys`, and every refusal is a problem with a `WWW-Authenticate` challenge.

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use twooter::config::Config;
use twooter::domain::Role;

use crate::support::{app_with, create_key, send, Reply, TestDb};

const STATS: &str = "/management/message-stats";

fn config(posting: &str) -> Config {
    Config::from_lookup(|name| match name {
        "POSTING" => Some(posting.to_owned()),
        "RATE_LIMITS" => Some("off".to_owned()),
        _ => None,
    })
    .unwrap()
}

async fn call(app: &axum::Router, method: &str, uri: &str, authorization: Option<&str>) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let body = if method == "POST" {
        request = request.header("content-type", "application/json");
        Body::from(json!({"text": "keyed", "tag": "keys"}).to_string())
    } else {
        Body::empty()
    };
    send(app, request.body(body).unwrap()).await
}

fn challenged(reply: &Reply, status: u16, challenge: &str) {
    reply.problem(status);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(challenge),
        "{status}"
    );
}

#[tokio::test]
async fn management_needs_an_admin_key() {
    let db = TestDb::sqlite().await;
    let app = app_with(&config("open"), db.store.clone());
    let admin = create_key(db.store.as_ref(), Role::Admin).await;
    let poster = create_key(db.store.as_ref(), Role::Poster).await;

    let none = call(&app, "GET", STATS, None).await;
    challenged(&none, 401, r#"Bearer realm="twooter""#);
    for malformed in [
        "Basic YWRtaW46YWRtaW4=",
        "Bearer",
        admin.as_str(),
        "Bearer  ",
    ] {
        let reply = call(&app, "GET", STATS, Some(malformed)).await;
        challenged(
            &reply,
            401,
            r#"Bearer realm="twooter", error="invalid_request""#,
        );
    }
    let mut wrong_secret = admin.clone();
    wrong_secret.replace_range(admin.len() - 4.., "0000");
    let unknown_id = format!("twt_{}{}", "f".repeat(16), &admin[20..]);
    for bad in [
        "Bearer nonsense".to_owned(),
        format!("Bearer {wrong_secret}"),
        format!("Bearer {unknown_id}"),
    ] {
        let reply = call(&app, "GET", STATS, Some(&bad)).await;
        challenged(
            &reply,
            401,
            r#"Bearer realm="twooter", error="invalid_token""#,
        );
        assert!(!String::from_utf8_lossy(&reply.body).contains(&admin[21..]));
    }
    let forbidden = call(&app, "GET", STATS, Some(&format!("Bearer {poster}"))).await;
    challenged(
        &forbidden,
        403,
        r#"Bearer realm="twooter", error="insufficient_scope""#,
    );
    // The scheme's name is case-insensitive (RFC 9110 §11.1).
    for scheme in ["Bearer", "bearer"] {
        let ok = call(&app, "GET", STATS, Some(&format!("{scheme} {admin}"))).await;
        assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    }
}

#[tokio::test]
async fn a_revoked_key_is_refused_everywhere_it_is_sent() {
    let db = TestDb::sqlite().await;
    let app = app_with(&config("open"), db.store.clone());
    let admin = create_key(db.store.as_ref(), Role::Admin).await;
    let bearer = format!("Bearer {admin}");
    assert_eq!(call(&app, "GET", STATS, Some(&bearer)).await.status, 200);
    let id = &admin[4..20];
    assert!(db.store.revoke_api_key(id, 1).await.unwrap());
    // Each instance trusts its copy of a key for at most this long.
    tokio::time::sleep(twooter::http::key_cache::KNOWN_FOR).await;
    let invalid = r#"Bearer realm="twooter", error="invalid_token""#;
    challenged(&call(&app, "GET", STATS, Some(&bearer)).await, 401, invalid);
    // A public route serves anyone, but not someone who sends a key that is no longer valid.
    assert_eq!(call(&app, "GET", "/messages", None).await.status, 200);
    challenged(
        &call(&app, "GET", "/messages", Some(&bearer)).await,
        401,
        invalid,
    );
}

#[tokio::test]
async fn posting_is_open_by_default_and_needs_a_key_when_configured() {
    let db = TestDb::sqlite().await;
    let open = app_with(&config("open"), db.store.clone());
    assert_eq!(call(&open, "POST", "/messages", None).await.status, 201);

    let keys = app_with(&config("keys"), db.store.clone());
    let none = call(&keys, "POST", "/messages", None).await;
    challenged(&none, 401, r#"Bearer realm="twooter""#);
    for role in [Role::Poster, Role::Admin] {
        let key = create_key(db.store.as_ref(), role).await;
        let reply = call(&keys, "POST", "/messages", Some(&format!("Bearer {key}"))).await;
        assert_eq!(reply.status, 201, "{role}");
    }
    // Reading stays public.
    assert_eq!(call(&keys, "GET", "/messages", None).await.status, 200);
}

#[tokio::test]
async fn the_document_declares_the_bearer_scheme_where_it_applies() {
    let spec = serde_json::to_value(twooter::http::openapi()).unwrap();
    let scheme = &spec["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    let stats = &spec["paths"][STATS]["get"];
    assert_eq!(stats["security"], json!([{"bearer": []}]));
    assert!(stats["responses"]["401"].is_object());
    assert!(stats["responses"]["403"].is_object());
    let post = &spec["paths"]["/messages"]["post"];
    assert_eq!(post["security"], json!([{}, {"bearer": []}]));
    assert!(spec["paths"]["/messages"]["get"]["security"].is_null());
}

/// Requests that find a key's row expired at the same moment wait for one look-up instead of
/// sending one each: here twenty of them, held behind a lock on the keys table until all are
/// waiting, cost the store one query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_look_ups_of_one_key_share_one_query() {
    use std::sync::Arc;
    use std::time::Duration;

    use sqlx::Connection;
    use twooter::http::key_cache::KeyCache;
    use twooter::metrics::InstrumentedStore;

    let Some(db) = TestDb::new(crate::support::Backend::MySql).await else {
        return;
    };
    twooter::metrics::install();
    let token = create_key(db.store.as_ref(), Role::Admin).await;
    let id = token[4..20].to_owned();
    let store: Arc<dyn twooter::store::Store> = Arc::new(InstrumentedStore(db.store.clone()));
    let cache = Arc::new(KeyCache::default());

    let mut lock = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql("LOCK TABLES api_keys WRITE")
        .execute(&mut lock)
        .await
        .unwrap();
    let look_ups: Vec<_> = (0..20)
        .map(|_| {
            let (cache, store, id) = (cache.clone(), store.clone(), id.clone());
            tokio::spawn(async move { cache.fetch(store.as_ref(), &id).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        look_ups.iter().all(|task| !task.is_finished()),
        "the look-ups wait for the lock"
    );
    sqlx::raw_sql("UNLOCK TABLES")
        .execute(&mut lock)
        .await
        .unwrap();
    for look_up in look_ups {
        let row = look_up.await.unwrap().unwrap().expect("the key's row");
        assert_eq!(row.id, id);
    }
    let queries = crate::support::metric_value(
        &twooter::metrics::render(),
        r#"twooter_db_query_duration_seconds_count{query="get_api_key",outcome="ok"}"#,
    );
    assert_eq!(queries, 1.0);
}
