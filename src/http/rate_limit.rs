//! Rate limits at the door: which family a route belongs to, who the client is, and the
//! `RateLimit-Policy` / `RateLimit` headers (IETF httpapi ratelimit-headers draft, structured
//! fields) on every response of a limited route; a refused request is a 429 problem with
//! `Retry-After`.
//!
//! Only reading and posting twoots are limited. Probes (`/healthz`, `/readyz`) and `/metrics`
//! never are: an orchestrator or Prometheus that got 429 would take a healthy instance for a
//! sick one. `/docs`, `/openapi.json` and `/` are static; `/management` is for admins and its
//! answer is cached for a second; unknown routes answer 404 without work.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::{
    header::HeaderBuilder, ContentBuilder, ObjectBuilder, OpenApi, RefOr, ResponseBuilder, Type,
};

use crate::http::auth::Caller;
use crate::http::error::{ApiError, PROBLEM_JSON};
use crate::http::AppState;
use crate::ratelimit::{Family, Outcome, Quota, TrustedProxies, Verdict};

pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// The family of a route, or `None` for one that is never limited.
pub fn family(method: &Method, path: &str) -> Option<Family> {
    let messages = path == "/messages" || path.starts_with("/messages/");
    match *method {
        Method::GET | Method::HEAD if messages => Some(Family::Read),
        Method::POST if path == "/messages" => Some(Family::Write),
        _ => None,
    }
}

/// Spends a unit of the client's budget for the route's family, or answers 429.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(family) = family(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let client = client(&state, &request);
    let outcome = state.limiter.check(family, &client).await;
    answer(family, outcome, next.run(request)).await
}

/// The answer `outcome` calls for: `pass`'s when the request goes through, else the 429 problem;
/// with the `RateLimit-Policy` and `RateLimit` headers of the family either way.
async fn answer(
    family: Family,
    outcome: Outcome,
    pass: impl std::future::Future<Output = Response>,
) -> Response {
    match outcome {
        Outcome::Unlimited => pass.await,
        Outcome::FailedOpen { quota } => {
            crate::metrics::rate_limit_failed_open(family.name());
            let mut response = pass.await;
            response
                .headers_mut()
                .insert(RATELIMIT_POLICY, policy_header(family, quota));
            response
        }
        Outcome::Decided { quota, verdict } if verdict.allowed => {
            with_budget_headers(pass.await, family, quota, &verdict)
        }
        Outcome::Decided { quota, verdict } => too_many_requests(family, quota, &verdict),
    }
}

/// The 429 problem for a spent budget, counted, with its headers.
fn too_many_requests(family: Family, quota: Quota, verdict: &Verdict) -> Response {
    crate::metrics::rate_limited(family.name());
    let refusal = ApiError::TooManyRequests {
        counted: family.counted(),
        count: quota.count,
        window: quota.window,
        retry_after: verdict.retry_after_seconds(),
    };
    with_budget_headers(refusal.into_response(), family, quota, verdict)
}

/// `response` with the family's `RateLimit-Policy` and the client's `RateLimit`.
fn with_budget_headers(
    mut response: Response,
    family: Family,
    quota: Quota,
    verdict: &Verdict,
) -> Response {
    let headers = response.headers_mut();
    headers.insert(RATELIMIT_POLICY, policy_header(family, quota));
    let state = format!(
        "\"{}\";r={};t={}",
        family.name(),
        verdict.remaining(quota),
        verdict.reset_seconds()
    );
    headers.insert(
        RATELIMIT,
        HeaderValue::from_str(&state).expect("digits and a token"),
    );
    response
}

/// The budget a request's key is charged to when it is not a live one: its address's `keys`
/// budget, whatever the route. Only the address is worked out up front, since most keys are live
/// and spend nothing here.
pub struct AddressCharge {
    address: Option<IpAddr>,
}

/// Works out the [`AddressCharge`] of `request`.
pub fn address_charge(state: &AppState, request: &Request) -> AddressCharge {
    AddressCharge {
        address: request_address(state, request),
    }
}

/// Answers a key that is not a live one with `refusal` (401) after it has spent a unit of its
/// address's budget, or with the 429 problem past that budget: sending made-up keys escapes no
/// limit.
pub async fn refuse_invalid_key(
    state: &AppState,
    charge: &AddressCharge,
    refusal: ApiError,
) -> Response {
    let client = address_key(charge.address);
    let outcome = state.limiter.check(Family::Keys, &client).await;
    answer(Family::Keys, outcome, async { refusal.into_response() }).await
}

/// The 429 answer when the address's budget is already spent, spending nothing: checked before work
/// worth sparing, such as looking a key up.
pub async fn refused_already(state: &AppState, charge: &AddressCharge) -> Option<Response> {
    match state
        .limiter
        .peek(Family::Keys, &address_key(charge.address))
        .await
    {
        Outcome::Decided { quota, verdict } if !verdict.allowed => {
            Some(too_many_requests(Family::Keys, quota, &verdict))
        }
        _ => None,
    }
}

/// Who the request counts against: its key when it carries a valid one, else its address.
fn client(state: &AppState, request: &Request) -> String {
    if let Some(caller) = request.extensions().get::<Caller>() {
        return format!("key:{}", caller.key_id);
    }
    address_client(state, request)
}

/// The request's address as a client: the peer, or behind a trusted proxy the address it names.
fn address_client(state: &AppState, request: &Request) -> String {
    address_key(request_address(state, request))
}

/// The address of `request`'s client (see [`client_address`]).
fn request_address(state: &AppState, request: &Request) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer);
    client_address(&state.trusted_proxies, peer, request.headers())
}

/// The limiter's name for the client at `address`.
fn address_key(address: Option<IpAddr>) -> String {
    match address {
        Some(address) => format!("address:{address}"),
        // Only a router called in-process, as tests do, has no peer.
        None => "address:unknown".to_owned(),
    }
}

/// The client's address: `peer`'s, or behind a trusted proxy the one its `X-Forwarded-For`
/// names; `None` without a peer. Every per-address limit counts by this.
pub fn client_address(
    trusted_proxies: &TrustedProxies,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok());
    peer.map(|peer| trusted_proxies.client(peer.ip(), forwarded))
}

fn policy_header(family: Family, quota: Quota) -> HeaderValue {
    let text = format!(
        "\"{}\";q={};w={}",
        family.name(),
        quota.count,
        quota.window.as_secs()
    );
    HeaderValue::from_str(&text).expect("digits and a token")
}

/// Declares, on each limited operation, the 429 answer and the headers of every answer; the
/// routes are [`family`]'s, so the document cannot drift from it.
pub fn document(openapi: &mut OpenApi) {
    let string = || ObjectBuilder::new().schema_type(Type::String).build();
    let policy = HeaderBuilder::new()
        .schema(string())
        .description(Some(
            "The route family's quota and window in seconds, e.g. `\"read\";q=600;w=60` \
             (IETF httpapi ratelimit-headers draft). Absent when limits are off.",
        ))
        .build();
    let state = HeaderBuilder::new()
        .schema(string())
        .description(Some(
            "Requests left now and whole seconds until the whole quota is back, e.g. \
             `\"read\";r=599;t=0`. Absent when limits are off or cannot be decided.",
        ))
        .build();
    let retry_after = HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::Integer).build())
        .description(Some(
            "Seconds to wait before a request of this family can go through",
        ))
        .build();
    for (path, item) in openapi.paths.paths.iter_mut() {
        for (method, operation) in [
            (Method::GET, item.get.as_mut()),
            (Method::POST, item.post.as_mut()),
        ] {
            let Some(operation) = operation else { continue };
            if family(&method, path).is_none() {
                continue;
            }
            let responses = &mut operation.responses.responses;
            // 401 and 403 are answered before the limits are looked at.
            for (status, response) in responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                if !matches!(status.as_str(), "401" | "403") {
                    response
                        .headers
                        .insert("RateLimit-Policy".into(), policy.clone());
                    response.headers.insert("RateLimit".into(), state.clone());
                }
            }
            let too_many = ResponseBuilder::new()
                .description("This client has used up its quota for the route family (RATE_LIMITS)")
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            "Problem",
                        ))))
                        .build(),
                )
                .header("Retry-After", retry_after.clone())
                .header("RateLimit-Policy", policy.clone())
                .header("RateLimit", state.clone())
                .build();
            responses.insert("429".to_owned(), RefOr::T(too_many));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_posts_of_twoots_are_limited_and_nothing_else() {
        assert_eq!(family(&Method::GET, "/messages"), Some(Family::Read));
        assert_eq!(family(&Method::HEAD, "/messages/42"), Some(Family::Read));
        assert_eq!(family(&Method::POST, "/messages"), Some(Family::Write));
        for (method, path) in [
            (Method::GET, "/healthz"),
            (Method::GET, "/readyz"),
            (Method::GET, "/metrics"),
            (Method::GET, "/docs/"),
            (Method::GET, "/openapi.json"),
            (Method::GET, "/management/message-stats"),
            (Method::POST, "/messages/42"),
            (Method::GET, "/messagesx"),
        ] {
            assert_eq!(family(&method, path), None, "{method} {path}");
        }
    }
}
