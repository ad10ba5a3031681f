//! Who is calling: the one place that reads `Authorization: Bearer`, checks the key against the
//! store (through a cache at most a second old, `key_cache.rs`), and decides whether the caller may use the route.
//!
//! Reading and (unless `POSTING=keys`) posting are public; everything under `/management` needs an
//! `admin` key. A key that is sent is always checked, even on a public route, so that a client
//! with a revoked or mistyped key hears about it instead of being served as anonymous.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, RefOr, ResponseBuilder};

use crate::domain::{PresentedKey, Role, SecretHash};
use crate::http::error::{ApiError, AuthFailure, PROBLEM_JSON};
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
    let caller = match caller(&state, request.headers()).await {
        Ok(caller) => caller,
        Err(refusal @ ApiError::Unauthenticated(AuthFailure::Invalid)) => {
            let (family, client) = super::rate_limit::charged_for_invalid_key(&state, &request);
            return super::rate_limit::refuse_invalid_key(&state, family, client, refusal).await;
        }
        Err(error) => return error.into_response(),
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

/// The caller the `Authorization` header names: `None` without one, an error for one that is not a
/// live key.
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Option<Caller>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .ok_or(ApiError::Unauthenticated(AuthFailure::Malformed))?;
    let invalid = ApiError::Unauthenticated(AuthFailure::Invalid);
    let key = PresentedKey::parse(token).ok_or(ApiError::Unauthenticated(AuthFailure::Invalid))?;
    let stored = state.keys.row(state.store.as_ref(), &key.id).await?;
    // An unknown id still costs a comparison, so that timing tells no more than the answer.
    let stored_hash = stored
        .as_ref()
        .map_or(SecretHash([0; 32]), |row| row.secret.clone());
    let matches = key.hash().matches(&stored_hash);
    match stored {
        Some(row) if matches && row.revoked_at.is_none() => Ok(Some(Caller {
            key_id: row.id,
            role: row.role,
        })),
        _ => Err(invalid),
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
