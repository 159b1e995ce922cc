//! `/v1/search`: posts by full text, users by handle and name.

use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Query};
use super::pagination::{Page, PageParams, encode};
use super::posts::PostDto;
use super::users::UserDto;
use crate::auth::extract::MaybeUser;
use crate::error::{ApiError, ErrorBody, Result};
use crate::state::AppState;
use crate::store::search::tokens;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_posts))
        .routes(routes!(search_users))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchParams {
    /// The words to find (every word must match; the last one as a prefix). 1 to 200 characters.
    #[param(min_length = 1, max_length = 200, pattern = "[A-Za-z0-9]")]
    pub q: String,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]+$", max_length = 200)]
    pub cursor: Option<String>,
}

/// The query's tokens, page size and offset.
fn parse(params: SearchParams, kind: &str) -> Result<(Vec<String>, usize, i64)> {
    if params.q.trim().is_empty() || params.q.chars().count() > 200 {
        return Err(ApiError::invalid(
            "q",
            "out_of_range",
            "the query must be 1 to 200 characters",
        ));
    }
    let tokens = tokens(&params.q);
    if tokens.is_empty() {
        return Err(ApiError::invalid(
            "q",
            "no_search_terms",
            "the query has no letters or digits",
        ));
    }
    let paging = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    };
    let offset = paging.position(kind)?.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::bad_request(
            "invalid_cursor",
            "the cursor is malformed",
        ));
    }
    Ok((tokens, paging.limit()?, offset))
}

fn cut<T>(mut rows: Vec<T>, limit: usize, offset: i64, kind: &str) -> (Vec<T>, Option<String>) {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = more.then(|| encode(kind, offset + limit as i64));
    (rows, next)
}

/// Posts matching the query, most relevant first. Posts of authors the caller blocked or muted,
/// or who blocked the caller, and of suspended or banned authors, are left out.
#[utoipa::path(get, path = "/v1/search/posts", tag = "search", params(SearchParams),
    responses((status = 200, body = Page<PostDto>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn search_posts(
    State(state): State<AppState>,
    viewer: MaybeUser,
    Query(params): Query<SearchParams>,
) -> Result<Json<Page<PostDto>>> {
    let (tokens, limit, offset) = parse(params, "search_posts")?;
    let rows = state
        .store
        .search_posts(&tokens, offset, limit as i64 + 1)
        .await?;
    let (rows, next_cursor) = cut(rows, limit, offset, "search_posts");
    let hidden = state.hidden_from(viewer.0.as_ref()).await?;
    let muted = state.muted(viewer.0.as_ref()).await?;
    let now = crate::store::now();
    let items = rows
        .iter()
        .filter(|r| {
            !hidden.contains(&engine::UserId(r.author_id))
                && !state.withheld(r.author_id)
                && !muted.hides_post(r, now)
        })
        .map(PostDto::from)
        .collect();
    Ok(Json(Page { items, next_cursor }))
}

/// Users whose handle or display name matches the query.
#[utoipa::path(get, path = "/v1/search/users", tag = "search", params(SearchParams),
    responses((status = 200, body = Page<UserDto>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn search_users(
    State(state): State<AppState>,
    Query(params): Query<SearchParams>,
) -> Result<Json<Page<UserDto>>> {
    let (tokens, limit, offset) = parse(params, "search_users")?;
    let rows = state
        .store
        .search_users(&tokens, offset, limit as i64 + 1)
        .await?;
    let (rows, next_cursor) = cut(rows, limit, offset, "search_users");
    Ok(Json(Page {
        items: rows.iter().map(UserDto::from).collect(),
        next_cursor,
    }))
}
