//! The web client at `/app`: static files compiled into the binary, so a release serves the very
//! client it was tested with and nothing is fetched from elsewhere.
//!
//! The files are plain ES modules with no build step. Their names carry no hash, so each answer
//! is `no-cache` with an `ETag`: a browser revalidates every load and gets a `304` until a new
//! binary serves new bytes.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use crate::http::error::ApiError;

/// Where the client is served.
pub const PATH: &str = "/app";

/// No inline script or style, nothing from another origin, no framing. The chart is SVG built
/// through the DOM, which `img-src` does not govern.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("assets/", $name)),
        }
    };
}

const INDEX: &str = "index.html";

const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("main.js", "text/javascript; charset=utf-8"),
    asset!("api.js", "text/javascript; charset=utf-8"),
    asset!("rules.js", "text/javascript; charset=utf-8"),
    asset!("compose.js", "text/javascript; charset=utf-8"),
    asset!("timeline.js", "text/javascript; charset=utf-8"),
    asset!("live.js", "text/javascript; charset=utf-8"),
    asset!("stats.js", "text/javascript; charset=utf-8"),
    asset!("chart.js", "text/javascript; charset=utf-8"),
];

/// Each asset's entity tag, a digest of its bytes, worked out on first use.
fn etags() -> &'static [HeaderValue] {
    static ETAGS: OnceLock<Vec<HeaderValue>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| {
                let digest = Sha256::digest(asset.body);
                let tag = format!("\"{}\"", hex::encode(&digest[..12]));
                HeaderValue::from_str(&tag).expect("hex is a valid header value")
            })
            .collect()
    })
}

/// `/app`, `/app/` and `/app/{file}`; merged beside the API, outside the OpenAPI document.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(PATH, get(index))
        .route("/app/", get(index))
        .route("/app/{file}", get(file))
}

async fn index(headers: HeaderMap) -> Response {
    serve(INDEX, &headers)
}

async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&name, &headers)
}

fn serve(name: &str, request: &HeaderMap) -> Response {
    let Some(position) = ASSETS.iter().position(|asset| asset.name == name) else {
        return ApiError::NotFound.into_response();
    };
    let asset = &ASSETS[position];
    let etag = etags()[position].clone();
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == "*" || tag.trim() == etag)
        });
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, etag);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    (headers, asset.body).into_response()
}

/// Whether a request to `/` comes from a browser that wants a page rather than the JSON: its
/// `Accept` names `text/html` and does not name JSON (a media range with `q=0` names nothing).
pub fn wants_html(headers: &HeaderMap) -> bool {
    let accepted: Vec<String> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter(|range| !refused(range))
        .map(|range| {
            let media = range.split(';').next().unwrap_or_default();
            media.trim().to_ascii_lowercase()
        })
        .collect();
    accepted.iter().any(|media| media == "text/html")
        && !accepted
            .iter()
            .any(|media| media == "application/json" || media.ends_with("+json"))
}

fn refused(range: &str) -> bool {
    range.split(';').skip(1).any(|param| {
        let Some((name, value)) = param.split_once('=') else {
            return false;
        };
        name.trim().eq_ignore_ascii_case("q") && value.trim().parse::<f32>().is_ok_and(|q| q == 0.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MAX_TAG_CHARS, MAX_TEXT_CHARS, TAG_PATTERN, TEXT_PATTERN};

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn browsers_want_html_and_api_clients_do_not() {
        let chromium =
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        assert!(wants_html(&accept(chromium)));
        assert!(wants_html(&accept("TEXT/HTML")));
        assert!(!wants_html(&HeaderMap::new()));
        assert!(!wants_html(&accept("*/*")));
        assert!(!wants_html(&accept("application/json")));
        assert!(!wants_html(&accept("text/html, application/json")));
        assert!(!wants_html(&accept("text/html, application/problem+json")));
        assert!(!wants_html(&accept("text/html;q=0, */*")));
        assert!(wants_html(&accept("text/html, application/json;q=0")));
    }

    // The client states the rules as the user types; these keep its copy equal to the domain's.
    #[test]
    fn the_client_states_the_domain_rules() {
        let rules = include_str!("assets/rules.js");
        let quoted = |text: &str| format!("'{}'", text.replace('\\', "\\\\"));
        assert!(
            rules.contains(&quoted(TEXT_PATTERN)),
            "TEXT_PATTERN differs"
        );
        assert!(rules.contains(&quoted(TAG_PATTERN)), "TAG_PATTERN differs");
        assert!(rules.contains(&format!("MAX_TEXT_CHARS = {MAX_TEXT_CHARS};")));
        assert!(rules.contains(&format!("MAX_TAG_CHARS = {MAX_TAG_CHARS};")));
    }

    #[test]
    fn every_asset_the_page_names_is_served() {
        let index = include_str!("assets/index.html");
        for asset in ASSETS.iter().filter(|asset| asset.name != INDEX) {
            let named = index.contains(&format!("/app/{}", asset.name))
                || ASSETS
                    .iter()
                    .filter_map(|other| std::str::from_utf8(other.body).ok())
                    .any(|text| text.contains(&format!("./{}", asset.name)));
            assert!(named, "{} is served but nothing loads it", asset.name);
        }
    }
}
