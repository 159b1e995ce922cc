//! `/v1/feed` and `/v1/trending`: pages ranked by the engine, hydrated from the store.

use axum::extract::State;
use engine::{FeedRequest, Reason};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Query};
use super::pagination::{DEFAULT_LIMIT, MAX_LIMIT, PageParams};
use super::posts::PostDto;
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ErrorBody, Result};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(feed))
        .routes(routes!(trending))
}

/// Why a post is in the feed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReasonDto {
    /// `similar`, `followed`, `trending`, `popular` or `fresh`.
    pub code: String,
    /// A phrase a client can show ("from someone you follow").
    pub text: &'static str,
}

impl From<Reason> for ReasonDto {
    fn from(reason: Reason) -> Self {
        let code = serde_json::to_value(reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Self {
            code,
            text: reason.describe(),
        }
    }
}

/// One ranked post.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FeedItemDto {
    pub post: PostDto,
    /// The blended ranking score (higher ranks first).
    pub score: f32,
    pub reasons: Vec<ReasonDto>,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPageDto {
    pub items: Vec<FeedItemDto>,
    /// Pass as `cursor` for the next page; pages never repeat a post.
    pub next_cursor: Option<String>,
    /// The model version that ranked this page (empty when no model is published yet).
    pub model_version: String,
}

/// My personalized feed.
#[utoipa::path(get, path = "/v1/feed", tag = "feed", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = FeedPageDto), (status = 400, description = "`invalid_cursor`", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn feed(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<PageParams>,
) -> Result<Json<FeedPageDto>> {
    let limit = params.limit()?;
    let request = FeedRequest {
        limit,
        cursor: params.cursor,
        now: crate::store::now(),
    };
    let engine = state.engine.clone();
    // Ranking is CPU work (milliseconds on a cache miss): keep it off the async workers, bounded.
    let page = state
        .cpu
        .run(move || engine.feed(&user.id.to_string(), &request))
        .await??;
    let ids: Vec<i64> = page
        .items
        .iter()
        .filter_map(|i| i.post.parse().ok())
        .collect();
    let mut rows = state.store.posts_by_ids(&ids).await?;
    let items = page
        .items
        .into_iter()
        .filter_map(|item| {
            let row = rows.remove(&item.post.parse().ok()?)?;
            Some(FeedItemDto {
                post: PostDto::from(&row),
                score: item.score,
                reasons: item.reasons.into_iter().map(ReasonDto::from).collect(),
            })
        })
        .collect();
    Ok(Json(FeedPageDto {
        items,
        next_cursor: page.next_cursor,
        model_version: page.model_version,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TrendingParams {
    /// Posts to return, 1 to 100 (default 20).
    pub limit: Option<usize>,
}

/// One trending post.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TrendingItemDto {
    pub post: PostDto,
    /// Time-decayed engagement (likes, comments, views) over the trending window.
    pub score: f32,
}

/// What is trending now, for everyone.
#[utoipa::path(get, path = "/v1/trending", tag = "feed", params(TrendingParams),
    responses((status = 200, body = Vec<TrendingItemDto>), (status = 422, body = ErrorBody)))]
async fn trending(
    State(state): State<AppState>,
    Query(params): Query<TrendingParams>,
) -> Result<Json<Vec<TrendingItemDto>>> {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "out_of_range",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let top = state.engine.trending(limit);
    let ids: Vec<i64> = top.iter().filter_map(|(id, _)| id.parse().ok()).collect();
    let mut rows = state.store.posts_by_ids(&ids).await?;
    Ok(Json(
        top.into_iter()
            .filter_map(|(id, score)| {
                let row = rows.remove(&id.parse().ok()?)?;
                Some(TrendingItemDto {
                    post: PostDto::from(&row),
                    score,
                })
            })
            .collect(),
    ))
}
