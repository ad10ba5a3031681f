//! `POST /messages`: validate, assign an id and a time, store, answer 201 with the twoot.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::{MessageText, NewMessage, Tag};
use crate::http::error::{ApiError, ApiResult, FieldError, Problem, PROBLEM_JSON};
use crate::http::extract::JsonBody;
use crate::http::AppState;
use crate::store;

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

/// Post a twoot.
///
/// The server assigns the id and the timestamp. Tags are matched case-insensitively and stored in
/// lower case.
#[utoipa::path(
    post,
    path = "/messages",
    tag = "messages",
    request_body = CreateMessage,
    responses(
        (status = 201, description = "Posted", body = crate::domain::Message,
            headers(("Location" = String, description = "The new twoot's address"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = PROBLEM_JSON),
        (status = 413, description = "The body is over 64 KiB", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "The body is not sent as JSON", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "A field is missing or invalid", body = Problem, content_type = PROBLEM_JSON),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = PROBLEM_JSON),
    )
)]
pub async fn create_message(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<impl IntoResponse> {
    let (text, tag) = validate(&body)?;
    let id = state.ids.next_id()?;
    let mut message = [NewMessage {
        id,
        text,
        tag,
        timestamp: id.timestamp(),
    }];
    store::insert_with_fresh_ids(
        state.store.as_ref(),
        &mut message,
        Some(state.catch_up.commit_within),
        |batch| {
            for message in batch {
                message.id = state.ids.next_id()?;
                message.timestamp = message.id.timestamp();
            }
            Ok::<_, ApiError>(())
        },
    )
    .await?;
    let [message] = message;
    crate::metrics::message_posted();
    let location = format!("/messages/{}", message.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(message.to_message()),
    ))
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
