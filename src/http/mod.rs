//! The HTTP API: routes, the OpenAPI document generated from them, and the middleware around them.

pub mod app;
pub mod auth;
pub mod error;
pub mod extract;
pub mod key_cache;
pub mod messages;
pub mod middleware;
pub mod rate_limit;
pub mod service;
pub mod stats;
pub mod stream;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::domain::IdGenerator;
use crate::http::error::{ApiError, FieldError, Location, Problem};
use crate::store::Store;

/// What every handler shares: no per-instance data that another instance would need. Each layer
/// that takes it clones it for every request, so it is one `Arc` rather than a dozen.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The services and settings inside [`AppState`].
pub struct Shared {
    pub store: Arc<dyn Store>,
    /// Where posts are written: together with those posted at the same time, or each alone.
    pub poster: Arc<crate::posting::Poster>,
    pub ids: Arc<IdGenerator>,
    /// Longest wait for the database before `/readyz` answers 503.
    pub readiness_timeout: Duration,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// `POSTING=keys`: posting needs a key with the poster or admin role.
    pub posting_needs_key: bool,
    /// Idempotency-Keys whose first request this instance is answering now.
    pub in_flight: Arc<messages::idempotency::InFlight>,
    /// The statistics as this instance last read them, at most a second old.
    pub stats_cache: Arc<stats::cache::StatsCache>,
    /// API keys as last read, at most a second old.
    pub keys: Arc<key_cache::KeyCache>,
    /// Set on SIGTERM: readiness fails while the instance serves out `SHUTDOWN_DELAY`.
    pub stopping: service::Stopping,
    /// Which ids are settled, for `after` pages and `prev` links; the posts' commit deadline.
    pub catch_up: crate::domain::CatchUp,
    /// This instance's live feed, for `/messages/stream`; told of every post.
    pub hub: Arc<crate::live::Hub>,
    /// How often an idle stream gets a heartbeat comment.
    pub heartbeat: Duration,
    /// Budgets per client and route family, in Redis or in this process.
    pub limiter: Arc<crate::ratelimit::Limiter>,
    /// The proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<crate::ratelimit::TrustedProxies>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Twooter",
        description = "Post short messages (twoots) under a tag, read the newest, and count them per year and tag.\n\nErrors are RFC 9457 problem details (`application/problem+json`).",
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "messages", description = "Post and read twoots"),
        (name = "management", description = "Statistics for the people running Twooter"),
        (name = "service", description = "What this service is and whether it is up"),
    ),
    components(schemas(Problem, FieldError, Location)),
)]
struct ApiDoc;

/// The routes, each registered together with its OpenAPI operation so the two cannot drift.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            messages::create::create_message,
            messages::list::list_messages
        ))
        .routes(routes!(messages::get::get_message))
        .routes(routes!(stream::stream_messages))
        .routes(routes!(stats::message_stats))
        .routes(routes!(service::root))
        .routes(routes!(service::healthz))
        .routes(routes!(service::readyz))
        .routes(routes!(service::metrics))
}

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut openapi = api().into_openapi();
    document(&mut openapi);
    openapi
}

/// What the route attributes cannot say: who may call each operation and its rate-limit answers.
fn document(openapi: &mut utoipa::openapi::OpenApi) {
    auth::document(openapi);
    rate_limit::document(openapi);
}

/// The whole application: API routes, `/openapi.json`, Swagger UI at `/docs`, the web client at
/// `/app`, and problem-details answers for unknown routes and methods.
pub fn router(state: AppState) -> Router {
    let body_limit = state.body_limit;
    let (routes, mut openapi) = api().with_state(state.clone()).split_for_parts();
    document(&mut openapi);
    routes
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .merge(app::routes())
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        // Inside authentication, which tells whose key it is.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.stopping.clone(),
            service::close_when_stopping,
        ))
}

#[cfg(test)]
mod tests {
    use crate::domain::{TAG_PATTERN, TEXT_PATTERN};

    // Schema attributes take only literals, so the copies in the document are checked here.
    #[test]
    fn the_document_states_the_domain_rules() {
        let spec = serde_json::to_value(super::openapi()).unwrap();
        let body = &spec["components"]["schemas"]["CreateMessage"]["properties"];
        assert_eq!(body["text"]["pattern"], TEXT_PATTERN);
        assert_eq!(body["tag"]["pattern"], TAG_PATTERN);
        let list = spec["paths"]["/messages"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let tag = list.iter().find(|param| param["name"] == "tag").unwrap();
        assert_eq!(tag["schema"]["pattern"], TAG_PATTERN);
        let metrics = &spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"];
        assert!(metrics[super::service::METRICS_CONTENT_TYPE].is_object());
        let stream = &spec["paths"]["/messages/stream"]["get"]["responses"]["200"]["content"];
        assert!(stream[super::stream::EVENT_STREAM].is_object());
    }
}
