//! The web client at `/app`: its files with their types and caching, a policy that forbids inline
//! script, and `GET /` sending browsers there while API clients keep the JSON.

use axum::http::StatusCode;

use crate::support::{fresh_app, get, get_with};

const CHROMIUM_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

#[tokio::test]
async fn the_client_and_its_files_are_served_with_their_types() {
    let (_db, app) = fresh_app().await;
    for (uri, content_type) in [
        ("/app", "text/html; charset=utf-8"),
        ("/app/", "text/html; charset=utf-8"),
        ("/app/index.html", "text/html; charset=utf-8"),
        ("/app/main.js", "text/javascript; charset=utf-8"),
        ("/app/timeline.js", "text/javascript; charset=utf-8"),
        ("/app/app.css", "text/css; charset=utf-8"),
        ("/app/icon.svg", "image/svg+xml"),
    ] {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        assert_eq!(reply.header("content-type"), Some(content_type), "{uri}");
        assert_eq!(reply.header("cache-control"), Some("no-cache"), "{uri}");
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        let policy = reply.header("content-security-policy").unwrap();
        assert!(policy.contains("script-src 'self';"), "{uri}: {policy}");
        assert!(!policy.contains("unsafe-inline"), "{uri}: {policy}");
        assert!(policy.contains("default-src 'none'"), "{uri}: {policy}");
        assert!(!reply.body.is_empty(), "{uri}");
    }
    let page = String::from_utf8(get(&app, "/app").await.body).unwrap();
    assert!(page.contains(r#"<script type="module" src="/app/main.js">"#));
    assert!(!page.contains("<script>"), "no inline script");
    assert!(
        !page
            .split_whitespace()
            .any(|word| word.starts_with("on") && word.contains('=')),
        "no inline event handler"
    );
}

#[tokio::test]
async fn an_unchanged_file_is_not_sent_again() {
    let (_db, app) = fresh_app().await;
    let first = get(&app, "/app/main.js").await;
    let etag = first.header("etag").unwrap().to_owned();
    let again = get_with(&app, "/app/main.js", ("if-none-match", &etag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    let other = get_with(&app, "/app/main.js", ("if-none-match", "\"stale\"")).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_ne!(get(&app, "/app/api.js").await.header("etag"), Some(&*etag));
}

#[tokio::test]
async fn unknown_files_are_problems() {
    let (_db, app) = fresh_app().await;
    for uri in ["/app/nope.js", "/app/..%2Fmain.rs", "/app/main.js/x"] {
        let problem = get(&app, uri).await.problem(404);
        assert_eq!(problem["status"], 404, "{uri}");
    }
}

#[tokio::test]
async fn a_browser_asking_for_html_at_the_root_is_sent_to_the_client() {
    let (_db, app) = fresh_app().await;
    let browser = get_with(&app, "/", ("accept", CHROMIUM_ACCEPT)).await;
    assert_eq!(browser.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.header("location"), Some("/app"));
    assert!(
        browser
            .headers
            .get_all("vary")
            .iter()
            .any(|v| v == "accept"),
        "caches keep the page and the JSON apart"
    );

    // API clients: no Accept, JSON named anywhere, or HTML refused with q=0.
    for accept in [
        None,
        Some("*/*"),
        Some("application/json"),
        Some("text/html, application/json"),
        Some("text/html;q=0, */*"),
    ] {
        let reply = match accept {
            Some(accept) => get_with(&app, "/", ("accept", accept)).await,
            None => get(&app, "/").await,
        };
        assert_eq!(reply.status, StatusCode::OK, "{accept:?}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.json()["app"], "/app");
    }
}
