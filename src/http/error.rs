//! The one error type of the HTTP API, rendered as RFC 9457 problem details.
//!
//! Handlers and extractors return [`ApiError`]; anything unexpected becomes `Internal`, whose cause
//! is logged in full (tied to the response by `X-Request-Id`) and never sent to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{NoNodeLease, Role};
use crate::posting::PostError;
use crate::store::StoreError;
use crate::telemetry::ErrorChain;

/// Seconds a client is asked to wait before it retries a request answered 503: long enough for a
/// pool to reconnect or a cluster to elect, short enough that nobody notices.
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Problem type of a request whose fields or parameters are invalid.
pub const VALIDATION_PROBLEM: &str = "https://twooter.dev/problems/validation-error";

/// `Result` with [`ApiError`] as its error.
pub type ApiResult<T, E = ApiError> = Result<T, E>;

/// Where an invalid value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Body,
    Query,
    Header,
}

/// One invalid field or parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's or parameter's name.
    pub field: String,
    /// Where it was.
    #[serde(rename = "in")]
    pub location: Location,
    /// What is wrong with it.
    pub detail: String,
}

impl FieldError {
    /// A problem with the body field `field`.
    pub fn body(field: &str, detail: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            location: Location::Body,
            detail: detail.into(),
        }
    }

    /// A problem with the request header `field`.
    pub fn header(field: &str, detail: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            location: Location::Header,
            detail: detail.into(),
        }
    }

    /// A problem with the query parameter `field`.
    pub fn query(field: &str, detail: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            location: Location::Query,
            detail: detail.into(),
        }
    }
}

/// An RFC 9457 problem details body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "type": VALIDATION_PROBLEM,
    "title": "Your request is not valid",
    "status": 422,
    "detail": "1 field is invalid",
    "errors": [{"field": "text", "in": "body", "detail": "must be at most 280 characters"}]
}))]
pub struct Problem {
    /// A URI naming the kind of problem; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// Each invalid field or parameter, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(nullable = false)]
    pub errors: Vec<FieldError>,
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header on a route that needs a key.
    Missing,
    /// An `Authorization` header that is not `Bearer KEY`.
    Malformed,
    /// A key that is unknown, mistyped or revoked.
    Invalid,
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Query or path values that cannot be read as their type (400).
    #[error("invalid parameters")]
    BadParameters(Vec<FieldError>),
    /// Well-formed values outside what is allowed (422).
    #[error("invalid fields")]
    Unprocessable(Vec<FieldError>),
    /// A body that is not JSON (400).
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// A body in a media type other than JSON (415).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A body over the size limit (413).
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    /// No key, or a key that is not valid (401).
    #[error("not authenticated")]
    Unauthenticated(AuthFailure),
    /// A valid key whose role is not enough for the route (403).
    #[error("forbidden")]
    Forbidden { needed: Role },
    /// No such resource (404).
    #[error("not found")]
    NotFound,
    /// A request with this Idempotency-Key is still being answered (409).
    #[error("idempotency key in flight")]
    IdempotencyInFlight,
    /// This Idempotency-Key was used for another request body (422).
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    /// The client has used up its quota for the route family (429).
    #[error("rate limited")]
    TooManyRequests {
        /// What is counted, in the plural: "read requests".
        counted: &'static str,
        count: u32,
        window: std::time::Duration,
        retry_after: u64,
    },
    /// The route exists but not with this method (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request took longer than the configured timeout (503).
    #[error("request timed out")]
    Timeout,
    /// The database is unreachable, saturated, read-only or out of its cluster (503).
    #[error("service unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Too many posts are waiting to be written (503).
    #[error("post queue full")]
    Overloaded(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// This instance got SIGTERM: it answers requests a little longer but is no longer ready (503).
    #[error("stopping")]
    Stopping,
    /// This instance cannot make message ids now: it holds no node number (503).
    #[error("no node number for ids")]
    NoNodeLease(#[from] NoNodeLease),
    /// This instance has as many live-stream subscribers as it takes (503).
    #[error("too many stream subscribers")]
    StreamsFull,
    /// This client has as many live streams open as it may (429).
    #[error("too many streams from one client")]
    TooManyStreams,
    /// A bug or an unexpected failure (500).
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        if error.is_outage() {
            Self::Unavailable(Box::new(error))
        } else {
            Self::Internal(Box::new(error))
        }
    }
}

impl From<PostError> for ApiError {
    fn from(error: PostError) -> Self {
        match error {
            PostError::QueueFull(_) => Self::Overloaded(Box::new(error)),
            PostError::Stopped => Self::Internal(Box::new(error)),
            PostError::NoId(error) => error.into(),
            PostError::Store(error) => error.into(),
        }
    }
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadParameters(_) | Self::MalformedJson(_) => StatusCode::BAD_REQUEST,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::IdempotencyInFlight => StatusCode::CONFLICT,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Timeout
            | Self::Unavailable(_)
            | Self::Overloaded(_)
            | Self::NoNodeLease(_)
            | Self::StreamsFull
            | Self::Stopping => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyStreams => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem details body; for 5xx it says nothing about the cause.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let plain = |detail: &str| Problem {
            problem_type: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.to_owned(),
            errors: Vec::new(),
        };
        match self {
            Self::BadParameters(errors) | Self::Unprocessable(errors) => Problem {
                problem_type: VALIDATION_PROBLEM.to_owned(),
                title: "Your request is not valid".to_owned(),
                status: status.as_u16(),
                detail: match errors.len() {
                    1 => format!("{} {}", errors[0].field, errors[0].detail),
                    n => format!("{n} fields are invalid"),
                },
                errors: errors.clone(),
            },
            Self::MalformedJson(reason) => plain(&format!("The body is not valid JSON: {reason}")),
            Self::UnsupportedMediaType => {
                plain("The body must be JSON, sent with Content-Type: application/json")
            }
            Self::PayloadTooLarge { limit } => {
                plain(&format!("The body must be at most {limit} bytes"))
            }
            Self::Unauthenticated(AuthFailure::Missing) => {
                plain("This needs an API key: send Authorization: Bearer KEY")
            }
            Self::Unauthenticated(AuthFailure::Malformed) => {
                plain("The Authorization header must read Bearer KEY")
            }
            Self::Unauthenticated(AuthFailure::Invalid) => {
                plain("The API key is not valid: it is unknown, mistyped or revoked")
            }
            Self::Forbidden { needed } => {
                plain(&format!("This needs a key with the {needed} role"))
            }
            Self::NotFound => plain("There is nothing at this address"),
            Self::IdempotencyInFlight => plain(
                "A request with this Idempotency-Key is still being answered; retry in a moment",
            ),
            Self::IdempotencyKeyReused => plain(
                "This Idempotency-Key was used for a different request; use a new key for a new twoot",
            ),
            Self::TooManyRequests {
                counted,
                count,
                window,
                retry_after,
            } => plain(&format!(
                "This client may make {count} {counted} per {}; retry in {retry_after} s",
                humantime::format_duration(*window)
            )),
            Self::MethodNotAllowed => plain("This address does not accept this method"),
            Self::Timeout => plain("The request took too long; try again"),
            Self::Unavailable(_) => plain("The database cannot serve this request now; try again"),
            Self::Overloaded(_) => {
                plain("Too many posts are waiting to be written; try again in a moment")
            }
            Self::NoNodeLease(_) => plain("This instance cannot make ids now; try again"),
            Self::StreamsFull => {
                plain("This instance has as many live streams as it takes; try again")
            }
            Self::TooManyStreams => plain(
                "This client has as many live streams open as it may; close one or try again",
            ),
            Self::Stopping => plain("This instance is stopping; another one will answer"),
            Self::Internal(_) => plain("Something went wrong on our side"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(cause) => {
                tracing::error!(error = %ErrorChain(cause.as_ref()), "request failed")
            }
            Self::Unavailable(cause) => {
                tracing::warn!(error = %ErrorChain(cause.as_ref()), "database unavailable")
            }
            Self::NoNodeLease(cause) => tracing::warn!(error = %cause, "cannot make an id"),
            Self::Overloaded(cause) => tracing::warn!(error = %cause, "post refused"),
            _ => {}
        }
        let mut response = problem_response(&self.problem());
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(challenge) = self.challenge() {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl ApiError {
    /// Seconds a client should wait before trying again: the rate limiter's own figure for a spent
    /// budget, a short fixed pause for any other 429 or 503.
    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after, .. } => Some(*retry_after),
            _ if matches!(
                self.status(),
                StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS
            ) =>
            {
                Some(u64::from(RETRY_AFTER_SECONDS))
            }
            _ => None,
        }
    }

    /// The `WWW-Authenticate` challenge of a 401 or 403 (RFC 6750 §3).
    fn challenge(&self) -> Option<&'static str> {
        match self {
            Self::Unauthenticated(AuthFailure::Missing) => Some(r#"Bearer realm="twooter""#),
            Self::Unauthenticated(AuthFailure::Malformed) => {
                Some(r#"Bearer realm="twooter", error="invalid_request""#)
            }
            Self::Unauthenticated(AuthFailure::Invalid) => {
                Some(r#"Bearer realm="twooter", error="invalid_token""#)
            }
            Self::Forbidden { .. } => Some(r#"Bearer realm="twooter", error="insufficient_scope""#),
            _ => None,
        }
    }
}

/// Renders a problem with its status and media type.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).expect("a problem always serializes");
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
        body,
    )
        .into_response()
}
