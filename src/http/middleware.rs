//! Middleware around every route: request ids, one log line and metrics per request, the request
//! timeout, panics answered as problems, compression and CORS.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tracing::Instrument;

use crate::http::error::ApiError;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The header a client names a retryable POST with (IETF httpapi draft).
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on a response that repeats the one first given for an Idempotency-Key.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Settings of the middleware stack.
#[derive(Debug, Clone)]
pub struct Options {
    pub request_timeout: Duration,
    pub cors_origins: Vec<String>,
}

/// Wraps `router` in the middleware stack, outermost first: request id, panic catcher, access log
/// and metrics, compression, CORS, timeout.
pub fn wrap(router: Router, options: &Options) -> Router {
    let timeout = options.request_timeout;
    router
        .layer(middleware::from_fn_with_state(timeout, enforce_timeout))
        .layer(cors(&options.cors_origins))
        .layer(CompressionLayer::new())
        .layer(
            ServiceBuilder::new()
                // Marked sensitive, a key prints as `Sensitive` in any debug output of a request.
                .layer(SetSensitiveRequestHeadersLayer::new([
                    axum::http::header::AUTHORIZATION,
                ]))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(middleware::from_fn(access_log))
                .layer(CatchPanicLayer::custom(
                    |_: Box<dyn std::any::Any + Send>| {
                        tracing::error!("handler panicked");
                        ApiError::Internal("handler panicked".into()).into_response()
                    },
                )),
        )
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            axum::http::header::CONTENT_TYPE,
            axum::http::header::AUTHORIZATION,
            IDEMPOTENCY_KEY,
            REQUEST_ID,
        ])
        .expose_headers([
            axum::http::header::LOCATION,
            axum::http::header::LINK,
            IDEMPOTENT_REPLAYED,
            REQUEST_ID,
        ]);
    if origins.iter().any(|origin| origin == "*") {
        layer.allow_origin(Any)
    } else {
        let origins = origins
            .iter()
            .filter_map(|origin| HeaderValue::from_str(origin).ok())
            .collect::<Vec<_>>();
        layer.allow_origin(AllowOrigin::list(origins))
    }
}

/// Answers 503 with a problem when the handler runs past the request timeout.
async fn enforce_timeout(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// Runs the request inside a span carrying its id, then writes one log line and the request
/// metrics, labelled by route template (never the raw path).
async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_owned();
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // Formatting the peer's address is wasted work when access lines are filtered out.
    let remote = tracing::enabled!(target: "twooter::access", tracing::Level::INFO)
        .then(|| request.extensions().get::<ConnectInfo<SocketAddr>>())
        .flatten()
        .map(|ConnectInfo(addr)| addr.to_string());
    // At ERROR level the span is on whenever any event is, so the warnings and errors a request
    // logs carry its id even under RUST_LOG=warn.
    let span = tracing::error_span!("request", request_id = %request_id);
    let response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let route = route_label(&route);
    crate::metrics::http_request(method_label(&method), route, status, elapsed);
    span.in_scope(|| {
        tracing::info!(
            target: "twooter::access",
            method = %method,
            route,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            remote = remote.as_deref().unwrap_or("-"),
            "request"
        )
    });
    response
}

/// The method as a metric label: the standard ones by name, any other as `other`, so that clients
/// inventing methods cannot add series without bound.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::PATCH,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("other", Method::as_str)
}

/// Swagger UI serves many asset paths under one wildcard route; they share one label.
fn route_label(route: &str) -> &str {
    if route.starts_with("/docs") {
        "/docs"
    } else {
        route
    }
}
