//! `GET /management/message-stats`: twoots per year and tag, read from the maintained counts.
//!
//! The answer stays small whatever tags users invent: each year lists its `top` tags (100 unless
//! asked), and the rest of the year's twoots under [`OTHER_TAGS`], a key no tag can be; `tag=`
//! asks for one tag's years. Answers come from a per-instance cache at most a second old.

pub mod cache;

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::Tag;
use crate::http::error::{ApiError, ApiResult, FieldError, Problem, PROBLEM_JSON};
use crate::http::extract::{ParamErrors, QueryParams};
use crate::http::AppState;

use cache::Question;

/// Earliest year a range may name.
pub const MIN_YEAR: i32 = 0;
/// Latest year a range may name.
pub const MAX_YEAR: i32 = 3000;
/// Tags per year unless the client asks for another number.
pub const DEFAULT_TOP: u32 = 100;
/// Most tags per year a client may ask for.
pub const MAX_TOP: u32 = 1000;
/// The key under which a year counts its twoots of tags past the `top`: tags are letters, digits,
/// `_` and `-`, so no tag can have it.
pub const OTHER_TAGS: &str = "(other tags)";

/// Year → tag → number of twoots.
pub type MessageStats = BTreeMap<String, BTreeMap<String, i64>>;

/// Query parameters of the statistics, read as strings and parsed by [`parse`].
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// First year counted (UTC), inclusive.
    #[param(value_type = Option<i32>, minimum = 0, maximum = 3000, default = 0)]
    pub start: Option<String>,
    /// Last year counted (UTC), inclusive; not before `start`.
    #[param(value_type = Option<i32>, minimum = 0, maximum = 3000, default = 3000)]
    pub end: Option<String>,
    /// Only this tag (case-insensitive): its count in each year.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub tag: Option<String>,
    /// At most this many tags per year, the most used first; the rest of the year's twoots are
    /// counted under `(other tags)`.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, default = 100)]
    pub top: Option<String>,
}

/// Count twoots per year and tag.
///
/// Years (UTC, as strings) map to tags, which map to how many twoots that tag got that year. Years
/// and tags without twoots are absent. Each year lists at most `top` tags, the most used first;
/// when a year has more, the twoots of the others are counted under `(other tags)`, which no tag
/// can be called. The counts are at most a second old.
#[utoipa::path(
    get,
    path = "/management/message-stats",
    tag = "management",
    params(StatsParams),
    responses(
        (status = 200, description = "Counts per year and tag", body = BTreeMap<String, BTreeMap<String, i64>>,
            example = json!({"2022": {"coffee": 3, "hiking": 1}, "2023": {"coffee": 5}})),
        (status = 400, description = "A parameter cannot be read, or `end` is before `start`", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "A year is outside 0–3000, or `top` outside 1–1000", body = Problem, content_type = PROBLEM_JSON),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = PROBLEM_JSON),
    )
)]
pub async fn message_stats(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<StatsParams>,
) -> ApiResult<([(header::HeaderName, &'static str); 2], Bytes)> {
    let question = parse(&params)?;
    let store = state.store.clone();
    let read = read(store, question.clone());
    let json = state.stats_cache.get(question, read).await?;
    let headers = [
        (header::CONTENT_TYPE, "application/json"),
        // As old as the cache lets it be, and for this client only: the route needs a key.
        (header::CACHE_CONTROL, "private, max-age=1"),
    ];
    Ok((headers, json))
}

/// Reads the answer to `question` from the store.
async fn read(
    store: std::sync::Arc<dyn crate::store::Store>,
    question: Question,
) -> ApiResult<MessageStats> {
    let mut stats = MessageStats::new();
    if let Some(tag) = &question.tag {
        let tag = Tag::parse(tag).expect("the question holds a parsed tag");
        for (year, count) in store.tag_stats(&tag, question.start, question.end).await? {
            stats
                .entry(year.to_string())
                .or_default()
                .insert(tag.as_str().to_owned(), count);
        }
        return Ok(stats);
    }
    let mut years: BTreeMap<i32, Vec<(String, i64)>> = BTreeMap::new();
    for row in store.stats(question.start, question.end).await? {
        years
            .entry(row.year)
            .or_default()
            .push((row.tag, row.count));
    }
    for (year, tags) in years {
        stats.insert(year.to_string(), top_tags(tags, question.top));
    }
    Ok(stats)
}

/// A year's `top` most used tags, and the rest of its twoots under [`OTHER_TAGS`].
fn top_tags(mut tags: Vec<(String, i64)>, top: u32) -> BTreeMap<String, i64> {
    tags.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rest: i64 = tags.iter().skip(top as usize).map(|(_, count)| count).sum();
    let mut year: BTreeMap<String, i64> = tags.into_iter().take(top as usize).collect();
    if rest > 0 {
        year.insert(OTHER_TAGS.to_owned(), rest);
    }
    year
}

/// Reads the parameters: 400 for what cannot be read as its type (a year or `top` that is not
/// an integer, a tag with characters a tag cannot have), 422 for a year outside 0–3000 or a `top`
/// outside 1–1000, and 400 for `end < start`.
fn parse(params: &StatsParams) -> ApiResult<Question> {
    let mut errors = ParamErrors::default();
    let tag = params.tag.as_deref().and_then(|raw| {
        Tag::parse(raw)
            .map_err(|reason| errors.unreadable("tag", reason))
            .ok()
    });
    let top = errors.integer(
        "top",
        params.top.as_deref(),
        1..=i64::from(MAX_TOP),
        i64::from(DEFAULT_TOP),
    );
    let years = i64::from(MIN_YEAR)..=i64::from(MAX_YEAR);
    let start = errors.integer(
        "start",
        params.start.as_deref(),
        years.clone(),
        *years.start(),
    );
    let end = errors.integer("end", params.end.as_deref(), years.clone(), *years.end());
    errors.finish()?;
    if end < start {
        return Err(ApiError::BadParameters(vec![FieldError::query(
            "end",
            format!("must not be before start ({start})"),
        )]));
    }
    let year = |n: i64| i32::try_from(n).expect("years are within 0..=3000");
    Ok(Question {
        start: year(start),
        end: year(end),
        tag: tag.map(|tag| tag.as_str().to_owned()),
        top: u32::try_from(top).expect("top is within 1..=1000"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_keeps_its_most_used_tags_and_counts_the_rest_apart() {
        let tags = vec![
            ("tea".to_owned(), 5),
            ("coffee".to_owned(), 9),
            ("jazz".to_owned(), 5),
            ("chess".to_owned(), 1),
        ];
        let year = top_tags(tags.clone(), 2);
        assert_eq!(
            year,
            BTreeMap::from([
                ("coffee".to_owned(), 9),
                ("jazz".to_owned(), 5),
                (OTHER_TAGS.to_owned(), 6),
            ])
        );
        assert_eq!(top_tags(tags.clone(), 4).len(), 4);
        assert!(!top_tags(tags, 4).contains_key(OTHER_TAGS));
        assert!(Tag::parse(OTHER_TAGS).is_err());
    }
}
