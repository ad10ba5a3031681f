//! `GET /messages`: the newest twoots, of one tag or all, one page at a time.
//!
//! Pages are keyset pages on the id (`id < before`, newest first), never `OFFSET`: each page is one
//! index range read however deep the client goes, and twoots posted meanwhile neither repeat nor
//! vanish between pages.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::{Message, MessageId, Tag};
use crate::error::{ApiResult, Problem, PROBLEM_JSON};
use crate::http::extract::{ParamErrors, QueryParams};
use crate::http::AppState;
use crate::store::PageQuery;

/// Page size when the client names none.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page size.
pub const MAX_LIMIT: u32 = 1000;

/// Query parameters of `GET /messages`, read as strings and parsed by [`parse`].
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only twoots with this tag (case-insensitive).
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub tag: Option<String>,
    /// Most twoots to return.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// Only twoots older than this id: the `next` link's cursor.
    #[param(value_type = Option<String>, pattern = "^[0-9]{1,19}$")]
    pub before: Option<String>,
    /// Only twoots newer than this id; the page holds the ones just newer than it, newest first.
    /// The `prev` link's cursor: follow it to catch up on twoots posted since.
    #[param(value_type = Option<String>, pattern = "^[0-9]{1,19}$")]
    pub after: Option<String>,
}

/// Read the newest twoots.
///
/// Newest first. When older twoots exist, the `Link` header has a `rel="next"` URL for them; when
/// the page is not empty it also has a `rel="prev"` URL that returns the twoots posted after it.
#[utoipa::path(
    get,
    path = "/messages",
    tag = "messages",
    params(ListParams),
    responses(
        (status = 200, description = "A page of twoots, newest first", body = Vec<Message>,
            headers(("Link" = String, description = "RFC 8288 links to the next (older) and previous (newer) pages"))),
        (status = 400, description = "A parameter cannot be read", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "A parameter is out of range", body = Problem, content_type = PROBLEM_JSON),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = PROBLEM_JSON),
    )
)]
pub async fn list_messages(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<ListParams>,
) -> ApiResult<(HeaderMap, Json<Vec<Message>>)> {
    let query = parse(&params)?;
    let limit = query.limit;
    // One extra row tells whether another page exists without a second query.
    let mut messages = state
        .store
        .page(&PageQuery {
            limit: limit + 1,
            ..query.clone()
        })
        .await?;
    let more = messages.len() > limit as usize;
    if more {
        if query.after.is_some() {
            messages.remove(0);
        } else {
            messages.pop();
        }
    }
    let headers = links(&params, &query, &messages, more);
    Ok((headers, Json(messages)))
}

/// Reads every parameter, reporting all bad ones at once.
fn parse(params: &ListParams) -> ApiResult<PageQuery> {
    let mut errors = ParamErrors::default();
    let tag = params.tag.as_deref().and_then(|raw| {
        Tag::parse(raw)
            .map_err(|reason| errors.unreadable("tag", reason))
            .ok()
    });
    let limit = errors.integer(
        "limit",
        params.limit.as_deref(),
        1..=i64::from(MAX_LIMIT),
        i64::from(DEFAULT_LIMIT),
    );
    let mut cursor = |name: &str, raw: Option<&str>| {
        raw.and_then(|raw| {
            raw.parse::<MessageId>()
                .map_err(|reason| errors.unreadable(name, reason.to_string()))
                .ok()
        })
    };
    let before = cursor("before", params.before.as_deref());
    let after = cursor("after", params.after.as_deref());
    errors.finish()?;
    Ok(PageQuery {
        tag,
        before,
        after,
        limit: u32::try_from(limit).expect("limit is within 1..=1000"),
    })
}

/// The `Link` header: `next` for older twoots when there are more, `prev` for newer ones.
fn links(params: &ListParams, query: &PageQuery, page: &[Message], more: bool) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let (Some(newest), Some(oldest)) = (page.first(), page.last()) else {
        return headers;
    };
    let link = |cursor: &str, id: MessageId, rel: &str| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        if let Some(tag) = &query.tag {
            url.append_pair("tag", tag.as_str());
        }
        if params.limit.is_some() {
            url.append_pair("limit", &query.limit.to_string());
        }
        url.append_pair(cursor, &id.to_string());
        format!("</messages?{}>; rel=\"{rel}\"", url.finish())
    };
    // Reading up from `after`, "more" means more newer twoots; older ones exist below the cursor.
    let (has_older, has_newer) = match query.after {
        Some(_) => (true, more),
        None => (more, true),
    };
    let mut values = Vec::new();
    if has_older {
        values.push(link("before", oldest.id, "next"));
    }
    if has_newer {
        values.push(link("after", newest.id, "prev"));
    }
    let value = HeaderValue::from_str(&values.join(", ")).expect("links are ASCII");
    headers.insert(header::LINK, value);
    headers
}
