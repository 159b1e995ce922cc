//! `/v1/feed` and `/v1/trending`: pages ranked by the engine, hydrated from the store.

use std::sync::Arc;

use axum::extract::State;
use engine::{FeedRequest, Reason, UserId};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Query};
use super::pagination::{self, PageParams};
use super::posts::PostDto;
use crate::auth::extract::{AuthUser, MaybeUser};
use crate::error::{ErrorBody, Result};
use crate::state::AppState;
use crate::store::posts::PostRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(feed))
        .routes(routes!(trending))
}

/// Why a post is in the feed.
/// Why a post is in a feed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReasonDto {
    /// Stable: `similar`, `followed`, `trending`, `popular` or `fresh`.
    pub code: String,
    /// For a person to read, naming the author or topic where it helps ("From @ana, whom you
    /// follow", "Popular in #cars right now").
    pub text: String,
}

impl ReasonDto {
    /// `reason` for `post`.
    pub fn explain(reason: Reason, post: &PostRow) -> Self {
        let code = serde_json::to_value(reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let author = &post.author_handle;
        let topic = post.topics.split_whitespace().next();
        let text = match (reason, topic) {
            (Reason::Similar, Some(t)) => format!("Because you liked posts about #{t}"),
            (Reason::Similar, None) => "Like posts you liked".to_owned(),
            (Reason::Followed, _) => format!("From @{author}, whom you follow"),
            (Reason::Trending, Some(t)) => format!("Popular in #{t} right now"),
            (Reason::Trending, None) => "Popular right now".to_owned(),
            (Reason::Popular, Some(t)) => format!("Among the most liked posts about #{t}"),
            (Reason::Popular, None) => "Among the most liked posts".to_owned(),
            (Reason::Fresh, Some(t)) => format!("New in #{t}"),
            (Reason::Fresh, None) => format!("New from @{author}"),
        };
        Self { code, text }
    }
}

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
    let now = crate::store::now();
    let context = state.context(user.id).await?;
    let muted = state.muted(Some(&user)).await?;
    let mut items = Vec::with_capacity(limit);
    let mut cursor = params.cursor;
    let mut rounds = 0;
    // Muted words are matched on the hydrated rows (the engine keeps no text): a page that
    // lost posts to them is filled from the next ones, a few rounds at most.
    let (next_cursor, model_version) = loop {
        let request = FeedRequest {
            limit: limit - items.len(),
            cursor: cursor.take(),
            now,
        };
        let engine = state.engine.clone();
        let context = Arc::clone(&context);
        // Ranking (and a fold-in of the user's vector after new interactions) is CPU work,
        // milliseconds on a cache miss: keep it off the async workers, bounded.
        let page = state
            .cpu
            .run(move || engine.feed(UserId(user.id), &context, &request))
            .await??;
        let ids: Vec<i64> = page.items.iter().map(|i| i.post.0).collect();
        let mut rows = state.live_posts(&ids).await?;
        items.extend(page.items.into_iter().filter_map(|item| {
            let row = rows.remove(&item.post.0)?;
            (!muted.hides_post(&row, now)).then(|| FeedItemDto {
                post: PostDto::from(&*row),
                score: item.score,
                reasons: item
                    .reasons
                    .into_iter()
                    .map(|r| ReasonDto::explain(r, &row))
                    .collect(),
            })
        }));
        rounds += 1;
        if items.len() >= limit
            || page.next_cursor.is_none()
            || muted.is_empty()
            || rounds >= MUTED_ROUNDS
        {
            break (page.next_cursor, page.model_version);
        }
        cursor = page.next_cursor;
    };
    Ok(Json(FeedPageDto {
        items,
        next_cursor,
        model_version,
    }))
}

/// How many engine pages one feed page may take when muted words removed posts from it.
const MUTED_ROUNDS: usize = 4;

pub const TRENDING_DEPTH: usize = 1_000;

/// One trending post.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TrendingItemDto {
    pub post: PostDto,
    /// Time-decayed engagement (likes, comments, views) over the trending window.
    pub score: f32,
}

/// A page of trending posts, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendingPage {
    pub items: Vec<TrendingItemDto>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// What is trending now: the top posts by time-decayed engagement, in pages (at most 1,000
/// posts deep). A signed-in caller does not see the posts of authors they blocked or muted or
/// who blocked them. The ranking is live, so a post can move between pages while a client pages
/// through it; no page repeats a post of the same response.
#[utoipa::path(get, path = "/v1/trending", tag = "feed", params(PageParams),
    responses((status = 200, body = TrendingPage), (status = 400, description = "`invalid_cursor`", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn trending(
    State(state): State<AppState>,
    viewer: MaybeUser,
    Query(params): Query<PageParams>,
) -> Result<Json<TrendingPage>> {
    let limit = params.limit()?;
    let offset = match params.position("trending")? {
        Some(at) if at > 0 && (at as usize) < TRENDING_DEPTH => at as usize,
        Some(_) => return Err(pagination::invalid_cursor()),
        None => 0,
    };
    let hidden = state.hidden_from(viewer.0.as_ref()).await?;
    let muted = state.muted(viewer.0.as_ref()).await?;
    // The whole depth when posts are filtered for the viewer (they must not take page slots),
    // else one more than the page, to know whether there is a next one.
    let want = if hidden.is_empty() && muted.is_empty() {
        offset + limit + 1
    } else {
        TRENDING_DEPTH + 1
    };
    let mut top = state.engine.trending(want);
    if !hidden.is_empty() {
        top.retain(|(post, _)| {
            state
                .engine
                .author_of(*post)
                .is_some_and(|a| !hidden.contains(&a))
        });
    }
    let depth = top.len().min(TRENDING_DEPTH);
    let now = crate::store::now();
    let mut items = Vec::with_capacity(limit);
    // `at`: the next position of the viewer's list (the cursor). Muted words are matched on
    // hydrated rows, so a page that lost posts to them reads on, a few rounds at most.
    let mut at = offset;
    for _ in 0..MUTED_ROUNDS {
        let upto = (at + limit - items.len()).min(depth);
        if at >= upto {
            break;
        }
        let ids: Vec<i64> = top[at..upto].iter().map(|(id, _)| id.0).collect();
        let mut rows = state.live_posts(&ids).await?;
        for &(id, score) in &top[at..upto] {
            if let Some(row) = rows.remove(&id.0)
                && !muted.hides_post(&row, now)
            {
                items.push(TrendingItemDto {
                    post: PostDto::from(&*row),
                    score,
                });
            }
        }
        at = upto;
        if items.len() >= limit || muted.is_empty() {
            break;
        }
    }
    Ok(Json(TrendingPage {
        items,
        next_cursor: (at < depth).then(|| pagination::encode("trending", at as i64)),
    }))
}
