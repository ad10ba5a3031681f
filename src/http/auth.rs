//! Who is calling: the one place that reads `Authorization: Bearer`, checks the key against the
//! store (through a cache at most a second old, `key_cache.rs`), and decides whether the caller may use the route.
//!
//! Reading and (unless `POSTING=keys`) posting are public; everything under `/management` needs an
//! `admin` key. A key that is sent is always checked, even on a public route, so that a client
//! with a revoked or mistyped key hears about it instead of being served as anonymous.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, RefOr, ResponseBuilder};

use crate::domain::{PresentedKey, Role, SecretHash};
use crate::http::error::{ApiError, AuthFailure, PROBLEM_JSON};
use crate::http::rate_limit::{self, AddressCharge};
use crate::http::AppState;

/// The name of the bearer scheme in the OpenAPI document.
pub const SCHEME: &str = "bearer";

/// The caller a valid key names, put in the request's extensions for the handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key's public id.
    pub key_id: String,
    pub role: Role,
}

/// The role a route needs, if any.
fn needed_role(method: &Method, path: &str, posting_needs_key: bool) -> Option<Role> {
    if path == "/management" || path.starts_with("/management/") {
        Some(Role::Admin)
    } else if posting_needs_key && method == Method::POST && path == "/messages" {
        Some(Role::Poster)
    } else {
        None
    }
}

fn satisfies(role: Role, needed: Role) -> bool {
    match needed {
        Role::Admin => role == Role::Admin,
        Role::Poster => role.may_post(),
    }
}

/// Checks the key a request carries and the role its route needs; answers 401 or 403 itself.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match request.headers().get(header::AUTHORIZATION).cloned() {
        None => None,
        Some(value) => {
            // Worked out before the look-up: the request itself cannot be held across it.
            let charge = rate_limit::address_charge(&state, &request);
            match caller(&state, &value, &charge).await {
                Ok(caller) => Some(caller),
                Err(refusal) => return refusal,
            }
        }
    };
    let needed = needed_role(
        request.method(),
        request.uri().path(),
        state.posting_needs_key,
    );
    match (needed, &caller) {
        (Some(_), None) => return ApiError::Unauthenticated(AuthFailure::Missing).into_response(),
        (Some(needed), Some(caller)) if !satisfies(caller.role, needed) => {
            return ApiError::Forbidden { needed }.into_response()
        }
        _ => {}
    }
    if let Some(caller) = caller {
        request.extensions_mut().insert(caller);
    }
    next.run(request).await
}

/// The caller the `Authorization` header names, or the answer for a header that names none: 401,
/// or 429 once made-up keys have spent the address's budget (`charge`). A key this instance has
/// not seen within a second is looked up in the store only while that budget lasts, so made-up
/// keys cannot buy look-ups without bound.
async fn caller(
    state: &AppState,
    value: &HeaderValue,
    charge: &AddressCharge,
) -> Result<Caller, Response> {
    let token = value
        .to_str()
        .ok()
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .ok_or_else(|| ApiError::Unauthenticated(AuthFailure::Malformed).into_response())?;
    let invalid = || {
        rate_limit::refuse_invalid_key(
            state,
            charge,
            ApiError::Unauthenticated(AuthFailure::Invalid),
        )
    };
    let Some(key) = PresentedKey::parse(token) else {
        return Err(invalid().await);
    };
    let stored = match state.keys.cached(&key.id) {
        Some(stored) => stored,
        None => {
            if let Some(refused) = rate_limit::refused_already(state, charge).await {
                return Err(refused);
            }
            state
                .keys
                .fetch(state.store.as_ref(), &key.id)
                .await
                .map_err(|error| ApiError::from(error).into_response())?
        }
    };
    // An unknown id still costs a comparison, so that timing tells no more than the answer.
    let stored_hash = stored
        .as_ref()
        .map_or(SecretHash([0; 32]), |row| row.secret.clone());
    let matches = key.hash().matches(&stored_hash);
    match stored {
        Some(row) if matches && row.revoked_at.is_none() => Ok(Caller {
            key_id: row.id,
            role: row.role,
        }),
        _ => Err(invalid().await),
    }
}

/// Declares the bearer scheme, and on each operation that needs a key, the key and the 401/403
/// answers; the rule is [`needed_role`]'s, so the document cannot drift from it.
pub fn document(openapi: &mut OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        SCHEME,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("twt_<id>_<secret>")
                .description(Some(
                    "An API key from `twooter keys create`. `/management/*` needs the admin role; \
                     posting needs a key (admin or poster) only when the server runs with POSTING=keys.",
                ))
                .build(),
        ),
    );
    for (path, item) in openapi.paths.paths.iter_mut() {
        for (method, operation) in [
            (Method::GET, item.get.as_mut()),
            (Method::POST, item.post.as_mut()),
        ] {
            let Some(operation) = operation else { continue };
            let always = needed_role(&method, path, false);
            let with_keys = needed_role(&method, path, true);
            match (always, with_keys) {
                (Some(role), _) => require(operation, role, false),
                (None, Some(role)) => require(operation, role, true),
                (None, None) => {}
            }
        }
    }
}

fn require(operation: &mut Operation, role: Role, optional: bool) {
    let bearer = SecurityRequirement::new(SCHEME, Vec::<String>::new());
    operation.security = Some(if optional {
        vec![SecurityRequirement::default(), bearer]
    } else {
        vec![bearer]
    });
    let when = if optional { " (with POSTING=keys)" } else { "" };
    let problem = |description: String| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            "Problem",
                        ))))
                        .build(),
                )
                .build(),
        )
    };
    let responses = &mut operation.responses.responses;
    responses.insert(
        "401".to_owned(),
        problem(format!("No API key, or one that is not valid{when}")),
    );
    responses.insert(
        "403".to_owned(),
        problem(format!("The key's role is not {role} or above{when}")),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_needs_admin_and_posting_a_key_only_when_asked() {
        assert_eq!(
            needed_role(&Method::GET, "/management/message-stats", false),
            Some(Role::Admin)
        );
        assert_eq!(needed_role(&Method::POST, "/messages", false), None);
        assert_eq!(
            needed_role(&Method::POST, "/messages", true),
            Some(Role::Poster)
        );
        assert_eq!(needed_role(&Method::GET, "/messages", true), None);
        assert_eq!(needed_role(&Method::GET, "/managementx", false), None);
        assert!(satisfies(Role::Admin, Role::Poster));
        assert!(!satisfies(Role::Poster, Role::Admin));
    }
}
