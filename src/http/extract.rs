//! Extractors that fail with problem details instead of the framework's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, StatusCode};
use serde::de::DeserializeOwned;

use crate::http::error::{ApiError, FieldError};
use crate::http::AppState;

/// A JSON request body, parsed but not yet checked against any shape, so that the handler can
/// name every bad field at once instead of stopping at serde's first complaint.
#[derive(Debug)]
pub struct JsonBody(pub serde_json::Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
                        limit: state.body_limit,
                    },
                    _ => ApiError::MalformedJson(rejection.body_text()),
                })?;
        serde_json::from_slice(&bytes)
            .map(Self)
            .map_err(|error| ApiError::MalformedJson(error.to_string()))
    }
}

/// Whether the content type is JSON: `application/json` or any `application/*+json`.
fn is_json(content_type: Option<&axum::http::HeaderValue>) -> bool {
    let Some(mime) = content_type.and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let essence = mime.split(';').next().unwrap_or_default().trim();
    let Some(subtype) = essence
        .split_once('/')
        .filter(|(kind, _)| kind.eq_ignore_ascii_case("application"))
        .map(|(_, subtype)| subtype.to_ascii_lowercase())
    else {
        return false;
    };
    subtype == "json" || subtype.ends_with("+json")
}

/// Query parameters, each read as an optional string so that the handler parses and reports them
/// itself; a query that is not even a list of `name=value` pairs (or repeats a name) is a 400.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(Self)
            .map_err(|error| {
                ApiError::BadParameters(vec![FieldError::query("query", error.to_string())])
            })
    }
}

/// Collects query parameter problems so that one response names them all: 400 if any value cannot
/// be read as its type, else 422 if any is out of range.
#[derive(Debug, Default)]
pub struct ParamErrors {
    unreadable: Vec<FieldError>,
    out_of_range: Vec<FieldError>,
}

impl ParamErrors {
    /// Records a value that cannot be read as its type.
    pub fn unreadable(&mut self, name: &str, detail: impl Into<String>) {
        self.unreadable.push(FieldError::query(name, detail));
    }

    /// Reads an optional integer in `range`, recording what is wrong and falling back to `default`.
    pub fn integer(
        &mut self,
        name: &str,
        raw: Option<&str>,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
    ) -> i64 {
        match raw.map(str::parse::<i64>) {
            None => default,
            Some(Ok(n)) if range.contains(&n) => n,
            Some(Ok(_)) => {
                let detail = format!("must be from {} to {}", range.start(), range.end());
                self.out_of_range.push(FieldError::query(name, detail));
                default
            }
            Some(Err(_)) => {
                self.unreadable(name, "must be an integer");
                default
            }
        }
    }

    /// `Ok` if nothing was recorded, else the problem naming everything that was.
    pub fn finish(mut self) -> Result<(), ApiError> {
        if !self.unreadable.is_empty() {
            self.unreadable.append(&mut self.out_of_range);
            return Err(ApiError::BadParameters(self.unreadable));
        }
        if !self.out_of_range.is_empty() {
            return Err(ApiError::Unprocessable(self.out_of_range));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn recognises_json_media_types() {
        for yes in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
        ] {
            assert!(is_json(Some(&HeaderValue::from_static(yes))), "{yes}");
        }
        for no in ["text/plain", "application/xml", "json", "text/json", ""] {
            assert!(!is_json(Some(&HeaderValue::from_static(no))), "{no}");
        }
        assert!(!is_json(None));
    }
}
