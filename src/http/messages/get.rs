//! `GET /messages/{id}`: one twoot.

use axum::extract::{Path, State};
use axum::Json;

use crate::domain::{Message, MessageId};
use crate::http::error::{ApiError, ApiResult, Problem, PROBLEM_JSON};
use crate::http::AppState;

/// Read one twoot.
#[utoipa::path(
    get,
    path = "/messages/{id}",
    tag = "messages",
    params(("id" = String, Path, description = "The twoot's id", pattern = "^[0-9]{1,19}$")),
    responses(
        (status = 200, description = "The twoot", body = Message),
        (status = 404, description = "No twoot has this id", body = Problem, content_type = PROBLEM_JSON),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = PROBLEM_JSON),
    )
)]
pub async fn get_message(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Message>> {
    // Not an id means no twoot has it: 404, as for any id that was never assigned.
    let id: MessageId = id.parse().map_err(|_| ApiError::NotFound)?;
    state
        .store
        .get(id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}
