//! `Idempotency-Key` on `POST /messages` (IETF httpapi draft): the key, what it answered, and the
//! requests with a key that are in flight on this instance.
//!
//! The answer is stored in the same transaction as the twoot (see `Store::insert_idempotent`), so
//! a retry after a timeout, after a crash, or through another instance gets the first answer and
//! never makes a second twoot. A key lives [`KEY_LIFETIME`]; expired ones are purged in the
//! background and may be used again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::http::error::{ApiError, FieldError};
use crate::http::middleware::{IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED};
use crate::store::IdempotentResponse;

/// How long a key is remembered: a client may retry for this long and still get the first answer.
pub const KEY_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Shortest key accepted: a key must be unique per twoot, which a few characters are not.
pub const MIN_KEY_LENGTH: usize = 8;
/// Longest key accepted: room for any UUID, ULID or hash a client would use.
pub const MAX_KEY_LENGTH: usize = 255;
/// The characters a key is made of: those of UUIDs, ULIDs, base64 and hex digests. The OpenAPI
/// document states the same rule as a pattern, so that clients and fuzzers see what is taken.
fn is_key_character(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"._~:+/=-".contains(&byte)
}

/// The `Idempotency-Key` header: `None` without one, 400 for one that is not 8 to 255 key
/// characters (letters, digits and `._~:+/=-`), bare or as a quoted string.
pub fn key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(&IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::BadParameters(vec![FieldError::header(
            "Idempotency-Key",
            format!(
                "must be {MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} letters, digits or ._~:+/=- (a UUID)"
            ),
        )])
    };
    let key = value.to_str().map_err(|_| bad())?.trim();
    // A structured-field string ("…") as the draft writes it, or the bare token most clients send.
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(key);
    let length_ok = (MIN_KEY_LENGTH..=MAX_KEY_LENGTH).contains(&key.len());
    if !length_ok || !key.bytes().all(is_key_character) {
        return Err(bad());
    }
    Ok(Some(key.to_owned()))
}

/// The fingerprint of a request body, so that reusing a key for another body is caught: taken of
/// the parsed JSON re-serialized, so a retry that spaces or orders its fields differently is the
/// same request.
pub fn fingerprint(body: &serde_json::Value) -> [u8; 32] {
    let canonical = serde_json::to_vec(body).expect("a JSON value always serializes");
    Sha256::digest(canonical).into()
}

/// The first answer again, marked as a replay.
pub fn replay(stored: &IdempotentResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::CREATED);
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        stored.body.clone(),
    )
        .into_response();
    let id = serde_json::from_str::<serde_json::Value>(&stored.body)
        .ok()
        .and_then(|body| body["id"].as_str().map(str::to_owned));
    if let Some(location) = id.and_then(|id| HeaderValue::from_str(&format!("/messages/{id}")).ok())
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
        .headers_mut()
        .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    response
}

/// The (client, key) pairs whose first request this instance is still answering.
#[derive(Debug, Default)]
pub struct InFlight(Mutex<HashSet<(String, String)>>);

impl InFlight {
    /// Marks the pair in flight until the guard drops; 409 when it already is.
    pub fn enter(self: &Arc<Self>, client: &str, key: &str) -> Result<InFlightGuard, ApiError> {
        let pair = (client.to_owned(), key.to_owned());
        let mut pairs = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !pairs.insert(pair.clone()) {
            return Err(ApiError::IdempotencyInFlight);
        }
        Ok(InFlightGuard {
            set: self.clone(),
            pair,
        })
    }
}

/// Holds a (client, key) pair in flight; dropping it, even when the request is cancelled, frees it.
pub struct InFlightGuard {
    set: Arc<InFlight>,
    pair: (String, String),
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut pairs = self.set.0.lock().unwrap_or_else(|e| e.into_inner());
        pairs.remove(&self.pair);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keys_and_refuses_bad_ones() {
        let mut headers = HeaderMap::new();
        assert_eq!(key(&headers).unwrap(), None);
        for (raw, read) in [("abc-1234", "abc-1234"), ("\"8e03978e\"", "8e03978e")] {
            headers.insert(&IDEMPOTENCY_KEY, HeaderValue::from_str(raw).unwrap());
            assert_eq!(key(&headers).unwrap().as_deref(), Some(read));
        }
        for bad in [
            "",
            "\"\"",
            "0",
            "true",
            "short",
            "with space",
            "{\"a\": 1}",
            &"k".repeat(256),
        ] {
            headers.insert(&IDEMPOTENCY_KEY, HeaderValue::from_str(bad).unwrap());
            assert!(key(&headers).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_request_per_key_at_a_time() {
        let set = Arc::new(InFlight::default());
        let guard = set.enter("", "k").unwrap();
        assert!(set.enter("", "k").is_err());
        assert!(set.enter("other", "k").is_ok());
        drop(guard);
        assert!(set.enter("", "k").is_ok());
    }

    #[test]
    fn the_fingerprint_ignores_spacing_and_field_order() {
        let a: serde_json::Value = serde_json::from_str(r#"{"text":"hi","tag":"x"}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{ "tag": "x", "text": "hi" }"#).unwrap();
        let c: serde_json::Value = serde_json::from_str(r#"{"text":"ho","tag":"x"}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
