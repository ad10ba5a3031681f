//! `GET /messages`: the newest twoots, of one tag or all, one page at a time.
//!
//! Pages are keyset pages on the id (`id < before`, newest first), never `OFFSET`: each page is one
//! index range read however deep the client goes, and twoots posted meanwhile neither repeat nor
//! vanish between pages.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::{Message, MessageId, Tag};
use crate::http::error::{ApiError, ApiResult, Problem, PROBLEM_JSON};
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
) -> ApiResult<(HeaderMap, [(header::HeaderName, &'static str); 1], Vec<u8>)> {
    let mut query = parse(&params)?;
    let settled_below = state.catch_up.settled_below(Utc::now());
    // Reading up from a cursor is catching up: only settled twoots, so that the next `prev`
    // cursor never passes one that is still to commit.
    if query.after.is_some() {
        query.before = Some(query.before.map_or(settled_below, |b| b.min(settled_below)));
    }
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
    let headers = links(&params, &query, &messages, more, settled_below);
    let json = [(header::CONTENT_TYPE, "application/json")];
    Ok((headers, json, page_json(&messages)?))
}

/// The page as a JSON array, written into a buffer sized for it up front: axum's `Json` starts at
/// 128 bytes and doubles, copying a page of twenty twoots over five times on the way.
fn page_json(messages: &[Message]) -> ApiResult<Vec<u8>> {
    // Beyond its text and tag, a twoot takes about 100 bytes: an id, a time, names and quotes.
    let size = messages
        .iter()
        .map(|message| message.text.len() + message.tag.len() + 100)
        .sum::<usize>()
        + 2;
    let mut json = Vec::with_capacity(size);
    serde_json::to_writer(&mut json, messages).map_err(|error| ApiError::Internal(error.into()))?;
    Ok(json)
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
            Cursor::parse(raw)
                .map_err(|reason| errors.unreadable(name, reason))
                .ok()
        })
    };
    let before = cursor("before", params.before.as_deref()).and_then(|before| match before {
        Cursor::At(id) => Some(id),
        // Every twoot is older, as with no cursor at all.
        Cursor::PastLast => None,
    });
    let after = cursor("after", params.after.as_deref()).map(|after| match after {
        Cursor::At(id) => id,
        // No id is larger, so no twoot is newer.
        Cursor::PastLast => MessageId::from_i64(i64::MAX),
    });
    errors.finish()?;
    Ok(PageQuery {
        tag,
        before,
        after,
        limit: u32::try_from(limit).expect("limit is within 1..=1000"),
    })
}

/// A page cursor: a point on the id line, not necessarily a twoot's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cursor {
    At(MessageId),
    /// Above the largest id: ids are 63 bits, but the documented form (19 digits) reaches higher.
    PastLast,
}

impl Cursor {
    /// Reads the documented form, `^[0-9]{1,19}$`, so that every value it admits is a cursor.
    pub(crate) fn parse(raw: &str) -> Result<Self, &'static str> {
        const REASON: &str = "must be a message id: 1 to 19 decimal digits";
        if !(1..=19).contains(&raw.len()) || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(REASON);
        }
        // Nineteen digits always fit in a u64.
        let value = raw.parse::<u64>().map_err(|_| REASON)?;
        Ok(i64::try_from(value).map_or(Self::PastLast, |id| Self::At(MessageId::from_i64(id))))
    }
}

/// The `Link` header: `next` for older twoots when there are more, `prev` for newer ones.
fn links(
    params: &ListParams,
    query: &PageQuery,
    page: &[Message],
    more: bool,
    settled_below: MessageId,
) -> HeaderMap {
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
    // Newer twoots may come at any time, so a page always says where to look for them.
    let (has_older, has_newer) = match query.after {
        Some(_) => (true, true),
        None => (more, true),
    };
    let mut values = Vec::new();
    if has_older {
        values.push(link("before", oldest.id, "next"));
    }
    if has_newer {
        // A page read without `after` may show twoots above the settled line; catching up starts
        // below it, and gives those again once settled.
        let below_settled = MessageId::from_i64(settled_below.as_i64().saturating_sub(1).max(0));
        values.push(link("after", newest.id.min(below_settled), "prev"));
    }
    let value = HeaderValue::from_str(&values.join(", ")).expect("links are ASCII");
    headers.insert(header::LINK, value);
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_take_exactly_the_documented_form() {
        assert_eq!(Cursor::parse("0"), Ok(Cursor::At(MessageId::from_i64(0))));
        assert_eq!(
            Cursor::parse("0000000000000000042"),
            Ok(Cursor::At(MessageId::from_i64(42)))
        );
        assert_eq!(
            Cursor::parse("9223372036854775807"),
            Ok(Cursor::At(MessageId::from_i64(i64::MAX)))
        );
        for past in ["9223372036854775808", "9999999999999999999"] {
            assert_eq!(Cursor::parse(past), Ok(Cursor::PastLast), "{past}");
        }
        for bad in ["", "-1", "+1", "1e5", " 1", "x", "00000000000000000001"] {
            assert!(Cursor::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_cursor_past_the_last_id_bounds_nothing_below_and_everything_above() {
        let past = "9999999999999999999".to_owned();
        let query = parse(&ListParams {
            before: Some(past.clone()),
            ..ListParams::default()
        })
        .unwrap();
        assert_eq!(query.before, None);
        let query = parse(&ListParams {
            after: Some(past),
            ..ListParams::default()
        })
        .unwrap();
        assert_eq!(query.after, Some(MessageId::from_i64(i64::MAX)));
    }
}
