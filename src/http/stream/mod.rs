//! `GET /messages/stream`: new twoots as Server-Sent Events, replayed from a cursor first.
//!
//! Each twoot is an event `message` whose id is the twoot's id and whose data is the twoot as one
//! item of `GET /messages`. `Last-Event-ID` (or `?after=`) replays from the store, oldest first,
//! the twoots after it and the unsettled window below it, then the stream goes on live; one that
//! falls further behind than the buffer gets a last event `overflow` and is closed.

mod feed;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::{MessageId, Tag};
use crate::http::error::{ApiError, ApiResult, FieldError, Problem, PROBLEM_JSON};
use crate::http::extract::{ParamErrors, QueryParams};
use crate::http::messages::list::Cursor;
use crate::http::rate_limit::client_address;
use crate::http::AppState;
use crate::live::SubscribeError;

/// The media type of the stream.
pub const EVENT_STREAM: &str = "text/event-stream";

/// Query parameters of `GET /messages/stream`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// Only twoots with this tag (case-insensitive).
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub tag: Option<String>,
    /// Replay the twoots after this id first; `Last-Event-ID` wins when both are sent.
    #[param(value_type = Option<String>, pattern = "^[0-9]{1,19}$")]
    pub after: Option<String>,
}

/// The headers of a reconnection, for the OpenAPI document.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct StreamHeaders {
    /// The id of the last event received: the twoots after it are replayed first.
    #[serde(rename = "Last-Event-ID")]
    #[param(nullable = false, pattern = "^[0-9]{1,19}$")]
    last_event_id: Option<String>,
}

/// Follow new twoots live.
///
/// Server-Sent Events: each twoot is an event `message` with the twoot's id as its `id` and the
/// twoot (as in `GET /messages`) as its `data`; a comment `: heartbeat` comes every
/// `STREAM_HEARTBEAT`. With `Last-Event-ID` or `after`, the twoots after that id, and those of the
/// unsettled window below it (ids made less than `POST_COMMIT_DEADLINE + MAX_CLOCK_SKEW` before
/// it, where a twoot that committed late may be), are sent first, oldest first, then new ones,
/// without gap or repeat where the two meet. Across a reconnection delivery is at-least-once: an
/// event may repeat across a reconnect; dedupe by id. A twoot that commits after a newer one was
/// sent comes late, out of id order. A client that falls behind by more than `STREAM_BUFFER`
/// events gets an event `overflow` (data: `{"reason": …}`) and the stream ends.
#[utoipa::path(
    get,
    path = "/messages/stream",
    tag = "messages",
    params(StreamParams, StreamHeaders),
    responses(
        (status = 200, description = "The stream of new twoots", content_type = "text/event-stream", body = String),
        (status = 400, description = "A parameter or Last-Event-ID cannot be read", body = Problem, content_type = PROBLEM_JSON),
        (status = 429, description = "This client has as many streams open as it may (STREAM_MAX_PER_CLIENT)", body = Problem, content_type = PROBLEM_JSON,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        (status = 503, description = "This instance has as many subscribers as it takes (STREAM_MAX_SUBSCRIBERS), or the database is unavailable", body = Problem, content_type = PROBLEM_JSON,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
pub async fn stream_messages(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    QueryParams(params): QueryParams<StreamParams>,
) -> ApiResult<Response> {
    let (tag, after) = parse(&params, &headers)?;
    let peer = peer.map(|Extension(ConnectInfo(address))| address);
    // Counted as the rate limits count it: behind a trusted proxy, the client it names.
    let client = client_address(&state.trusted_proxies, peer, &headers);
    let subscription = state
        .hub
        .subscribe(client)
        .await
        .map_err(|error| match error {
            SubscribeError::Full => ApiError::StreamsFull,
            SubscribeError::ClientFull => ApiError::TooManyStreams,
            SubscribeError::Store(error) => error.into(),
        })?;
    // A twoot below the cursor may have committed after the client saw the cursor's: the replay
    // reads the unsettled window below it again.
    let after = after.map(|seen| state.catch_up.resume_after(seen, Utc::now()));
    let feed = feed::Feed::start(state.store.clone(), subscription, tag, after).await?;
    let keep_alive = KeepAlive::new().interval(state.heartbeat).text("heartbeat");
    let mut response = Sse::new(feed.events())
        .keep_alive(keep_alive)
        .into_response();
    // nginx would otherwise hold events back in its proxy buffer.
    response.headers_mut().insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    Ok(response)
}

/// Reads the tag and the cursor, reporting every bad one at once as `GET /messages` does.
fn parse(
    params: &StreamParams,
    headers: &HeaderMap,
) -> ApiResult<(Option<Tag>, Option<MessageId>)> {
    let mut errors = ParamErrors::default();
    let tag = params.tag.as_deref().and_then(|raw| {
        Tag::parse(raw)
            .map_err(|reason| errors.unreadable("tag", reason))
            .ok()
    });
    let after = params.after.as_deref().and_then(|raw| {
        Cursor::parse(raw)
            .map_err(|reason| errors.unreadable("after", reason))
            .ok()
    });
    errors.finish()?;
    let last_event_id = match headers.get("last-event-id") {
        None => None,
        Some(value) => {
            let bad = |reason: &str| {
                ApiError::BadParameters(vec![FieldError::header("Last-Event-ID", reason)])
            };
            let raw = value
                .to_str()
                .map_err(|_| bad("must be a message id: 1 to 19 decimal digits"))?;
            Some(Cursor::parse(raw).map_err(bad)?)
        }
    };
    let after = last_event_id.or(after).map(|cursor| match cursor {
        Cursor::At(id) => id,
        // No id is larger: only the unsettled window below now is replayed.
        Cursor::PastLast => MessageId::from_i64(i64::MAX),
    });
    Ok((tag, after))
}
