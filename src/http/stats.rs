//! `GET /management/message-stats`: twoots per year and tag, read from the maintained counts.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::http::error::{ApiError, ApiResult, FieldError, Problem, PROBLEM_JSON};
use crate::http::extract::{ParamErrors, QueryParams};
use crate::http::AppState;

/// Earliest year a range may name.
pub const MIN_YEAR: i32 = 0;
/// Latest year a range may name.
pub const MAX_YEAR: i32 = 3000;

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
}

/// Count twoots per year and tag.
///
/// Years (UTC, as strings) map to tags, which map to how many twoots that tag got that year. Years
/// and tags without twoots are absent.
#[utoipa::path(
    get,
    path = "/management/message-stats",
    tag = "management",
    params(StatsParams),
    responses(
        (status = 200, description = "Counts per year and tag", body = BTreeMap<String, BTreeMap<String, i64>>,
            example = json!({"2022": {"coffee": 3, "hiking": 1}, "2023": {"coffee": 5}})),
        (status = 400, description = "A year cannot be read, or `end` is before `start`", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "A year is outside 0–3000", body = Problem, content_type = PROBLEM_JSON),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = PROBLEM_JSON),
    )
)]
pub async fn message_stats(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<StatsParams>,
) -> ApiResult<Json<MessageStats>> {
    let (start, end) = parse(&params)?;
    let mut stats = MessageStats::new();
    for row in state.store.stats(start, end).await? {
        stats
            .entry(row.year.to_string())
            .or_default()
            .insert(row.tag, row.count);
    }
    Ok(Json(stats))
}

/// Reads the year range: 400 for what is not an integer, 422 for a year outside 0–3000, and 400
/// for `end < start`.
fn parse(params: &StatsParams) -> ApiResult<(i32, i32)> {
    let mut errors = ParamErrors::default();
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
    Ok((year(start), year(end)))
}
