//! What the service is and whether it is up: `/`, `/healthz`, `/readyz`, `/metrics`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::NoNodeLease;
use crate::http::error::{ApiError, ApiResult, Problem, PROBLEM_JSON};
use crate::http::AppState;
use crate::store::StoreError;

/// A short description of the running service.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceInfo {
    /// Always `twooter`.
    pub name: &'static str,
    /// The running version.
    pub version: &'static str,
    /// Where the interactive API documentation is.
    pub docs: &'static str,
    /// Where the OpenAPI document is.
    pub openapi: &'static str,
    /// Where the web client is.
    pub app: &'static str,
}

/// The answer of the health probes.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// Describe the service.
///
/// A browser asking for HTML (its `Accept` names `text/html` and no JSON) is sent to the web
/// client instead.
#[utoipa::path(get, path = "/", tag = "service",
    responses(
        (status = 200, description = "What this service is", body = ServiceInfo),
        (status = 303, description = "A browser asking for HTML: the web client is at the `Location`",
            headers(("Location" = String, description = "`/app`"))),
    ))]
pub async fn root(headers: HeaderMap) -> Response {
    // Caches keep the page and the JSON apart.
    let vary = [(header::VARY, "accept")];
    if crate::http::app::wants_html(&headers) {
        return (vary, Redirect::to(crate::http::app::PATH)).into_response();
    }
    let info = Json(ServiceInfo {
        name: "twooter",
        version: env!("CARGO_PKG_VERSION"),
        docs: "/docs",
        openapi: "/openapi.json",
        app: crate::http::app::PATH,
    });
    (vary, info).into_response()
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Set once SIGTERM arrives: `/readyz` fails from then on, so that load balancers stop choosing
/// this instance while it still answers everything else for `SHUTDOWN_DELAY`.
#[derive(Debug, Clone, Default)]
pub struct Stopping(Arc<AtomicBool>);

impl Stopping {
    pub fn begin(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// While stopping, each HTTP/1 answer closes its connection: a load balancer's kept-alive
/// connections are gone before the instance stops accepting, so none is cut under a request.
pub async fn close_when_stopping(
    State(stopping): State<Stopping>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let http1 = request.version() <= axum::http::Version::HTTP_11;
    let mut response = next.run(request).await;
    if http1 && stopping.is_set() {
        response.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Readiness: this instance can take writes, so it can take traffic.
///
/// It is not stopping, the database answers in time, is not read-only and (on a cluster) this node is in the primary
/// component, and the instance holds a node number for ids.
#[utoipa::path(get, path = "/readyz", tag = "service",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The instance is stopping, the database cannot take writes, or this instance cannot make ids", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    if state.stopping.is_set() {
        return Err(ApiError::Stopping);
    }
    match tokio::time::timeout(state.readiness_timeout, state.store.check_writable()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(ApiError::Unavailable(Box::new(error))),
        Err(elapsed) => {
            return Err(ApiError::Unavailable(Box::new(StoreError::Unavailable(
                sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)),
            ))))
        }
    }
    if state.ids.node().is_none() {
        return Err(NoNodeLease.into());
    }
    Ok(Json(Health { status: "ready" }))
}

/// The media type of `/metrics`: Prometheus' text exposition format.
pub(crate) const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Prometheus metrics in the text exposition format.
// Attributes take only literals; a test in `http` keeps this one equal to METRICS_CONTENT_TYPE.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Metrics", body = String, content_type = "text/plain; version=0.0.4; charset=utf-8")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    crate::metrics::record_pool(state.store.pool_stats());
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        crate::metrics::render(),
    )
}
