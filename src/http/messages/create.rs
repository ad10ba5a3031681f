//! `POST /messages`: validate, assign an id and a time, store, answer 201 with the twoot.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::domain::{Message, MessageText, NewMessage, Tag};
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ApiResult, FieldError, Problem, PROBLEM_JSON};
use crate::http::extract::JsonBody;
use crate::http::messages::idempotency;
use crate::http::AppState;
use crate::posting::PostError;
use crate::store::{self, IdempotentInsert, IdempotentPost, IdempotentResponse, Post};

/// The body of `POST /messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"text": "First coffee of the day.", "tag": "coffee"}))]
pub struct CreateMessage {
    /// 1–280 characters, not only whitespace.
    // Attributes take only literals; a test in `http` keeps this one equal to TEXT_PATTERN.
    #[schema(
        min_length = 1,
        max_length = 280,
        pattern = "[^\\u0009-\\u000d\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028-\\u2029\\u202f\\u205f\\u3000\\ufeff]"
    )]
    pub text: String,
    /// 1–64 ASCII letters, digits, `_` or `-`; stored in lower case.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub tag: String,
}

/// The headers a post may carry, for the OpenAPI document (read by [`idempotency::key`]).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct PostHeaders {
    /// Makes retries safe: unique per twoot (a UUID), 8 to 255 letters, digits or `._~:+/=-`,
    /// bare or as a quoted string.
    #[serde(rename = "Idempotency-Key")]
    #[param(
        nullable = false,
        min_length = 8,
        max_length = 257,
        pattern = "^([A-Za-z0-9._~:+/=-]{8,255}|\"[A-Za-z0-9._~:+/=-]{8,255}\")$"
    )]
    idempotency_key: Option<String>,
}

/// Post a twoot.
///
/// The server assigns the id and the timestamp. Tags are matched case-insensitively and stored in
/// lower case.
///
/// With an `Idempotency-Key`, a retry (after a timeout, through another instance) gets the first
/// answer again, marked `Idempotent-Replayed: true`, and never makes a second twoot. Keys are
/// remembered for 24 hours, per API key (or for all clients without one).
#[utoipa::path(
    post,
    path = "/messages",
    tag = "messages",
    request_body = CreateMessage,
    params(PostHeaders),
    responses(
        (status = 201, description = "Posted, or (with `Idempotent-Replayed: true`) posted before under this Idempotency-Key", body = crate::domain::Message,
            headers(("Location" = String, description = "The new twoot's address"),
                    ("Idempotent-Replayed" = String, description = "`true` when this is the answer to an earlier request with the same Idempotency-Key"))),
        (status = 400, description = "The body is not JSON, or the Idempotency-Key is not valid", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "A request with this Idempotency-Key is still being answered", body = Problem, content_type = PROBLEM_JSON),
        (status = 413, description = "The body is over 64 KiB", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "The body is not sent as JSON", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "A field is missing or invalid, or the Idempotency-Key was used for another body", body = Problem, content_type = PROBLEM_JSON),
        (status = 503, description = "The database is unavailable, or too many posts are waiting to be written", body = Problem, content_type = PROBLEM_JSON),
    )
)]
pub async fn create_message(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let key = idempotency::key(&headers)?;
    let (text, tag) = validate(&body)?;
    match key {
        None => post(&state, text, tag).await,
        Some(key) => {
            let client = caller.map(|Extension(c)| c.key_id).unwrap_or_default();
            post_once(&state, client, key, &body, text, tag).await
        }
    }
}

/// The 201 for a twoot just stored, counted and announced to the live stream.
fn posted(state: &AppState, message: &Message) -> Response {
    crate::metrics::message_posted();
    state.hub.posted(message.id);
    let location = format!("/messages/{}", message.id);
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(message),
    )
        .into_response()
}

/// Posts under an Idempotency-Key: stored with its answer, or the first answer replayed.
async fn post_once(
    state: &AppState,
    client: String,
    key: String,
    body: &Value,
    text: MessageText,
    tag: Tag,
) -> ApiResult<Response> {
    let _in_flight = state.in_flight.enter(&client, &key)?;
    let fingerprint = idempotency::fingerprint(body);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let lifetime_ms = idempotency::KEY_LIFETIME.as_millis() as i64;
    let answer = |shown: &Message| IdempotentPost {
        response: IdempotentResponse {
            client: client.clone(),
            key: key.clone(),
            request_sha256: fingerprint,
            status: StatusCode::CREATED.as_u16(),
            body: serde_json::to_string(shown).expect("a message always serializes"),
            created_at: now_ms,
        },
        live_after_ms: now_ms - lifetime_ms,
    };
    match store_post(state, text, tag, |shown| Some(answer(shown))).await? {
        (shown, IdempotentInsert::Stored) => Ok(posted(state, &shown)),
        (_, IdempotentInsert::Existing(first)) if first.request_sha256 == fingerprint => {
            Ok(idempotency::replay(&first))
        }
        (_, IdempotentInsert::Existing(_)) => Err(ApiError::IdempotencyKeyReused),
        (_, IdempotentInsert::Conflict) => Err(ApiError::IdempotencyInFlight),
    }
}

/// Posts without an Idempotency-Key.
async fn post(state: &AppState, text: MessageText, tag: Tag) -> ApiResult<Response> {
    let (shown, _) = store_post(state, text, tag, |_| None).await?;
    Ok(posted(state, &shown))
}

/// Stores a post with a new id (and, from `answer`, its Idempotency-Key's answer) through the
/// poster; when the id turns out taken, again with a fresh one ([`store::with_fresh_ids`]). The
/// twoot as shown, and what became of it.
async fn store_post(
    state: &AppState,
    text: MessageText,
    tag: Tag,
    answer: impl Fn(&Message) -> Option<IdempotentPost>,
) -> ApiResult<(Message, IdempotentInsert)> {
    let within =
        chrono::Duration::from_std(state.catch_up.commit_within).unwrap_or(chrono::Duration::MAX);
    let stored = store::with_fresh_ids(|_| {
        // Made here, so that the future below holds the post and not the request's borrows.
        let made = state.ids.next_id().map(|id| {
            let message = NewMessage {
                id,
                text: text.clone(),
                tag: tag.clone(),
                timestamp: id.timestamp(),
            };
            let shown = message.to_message();
            let post = Post {
                commit_by: message.timestamp + within,
                idempotent: answer(&shown),
                message,
            };
            (shown, post)
        });
        async move {
            let (shown, post) = made?;
            let outcome = state.poster.post(post).await?;
            Ok::<_, PostError>((shown, outcome))
        }
    })
    .await?;
    Ok(stored)
}

/// Checks every field and reports all that are wrong at once.
fn validate(body: &Value) -> ApiResult<(MessageText, Tag)> {
    let Value::Object(fields) = body else {
        return Err(ApiError::Unprocessable(vec![FieldError::body(
            "body",
            "must be a JSON object with the fields text and tag",
        )]));
    };
    let mut errors = Vec::new();
    let text = string_field(fields, "text", &mut errors)
        .and_then(|raw| record(MessageText::parse(raw), "text", &mut errors));
    let tag = string_field(fields, "tag", &mut errors)
        .and_then(|raw| record(Tag::parse(raw), "tag", &mut errors));
    match (text, tag) {
        (Some(text), Some(tag)) => Ok((text, tag)),
        _ => Err(ApiError::Unprocessable(errors)),
    }
}

fn string_field<'a>(
    fields: &'a serde_json::Map<String, Value>,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'a str> {
    match fields.get(name) {
        Some(Value::String(value)) => Some(value),
        None => {
            errors.push(FieldError::body(name, "is required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::body(name, "must be a string"));
            None
        }
    }
}

fn record<T>(
    parsed: Result<T, &'static str>,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    parsed
        .map_err(|reason| errors.push(FieldError::body(name, reason)))
        .ok()
}
