//! `/v1/posts`: create, edit, delete, read; likes, comments and view impressions.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path, Query};
use super::pagination::{Page, PageParams, page};
use super::users::existing_user;
use super::validate;
use crate::auth::Role;
use crate::auth::extract::{AuthUser, MaybeUser};
use crate::error::{ApiError, ErrorBody, Result};
use crate::state::AppState;
use crate::store::moderation::PostAction;
use crate::store::posts::{CommentRow, PostRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_post))
        .routes(routes!(get_post, edit_post, delete_post))
        .routes(routes!(posts_by_author))
        .routes(routes!(like, unlike))
        .routes(routes!(add_comment, list_comments))
        .routes(routes!(record_views))
}

/// Who wrote a post or comment.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuthorDto {
    pub id: i64,
    pub handle: String,
}

/// A post.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PostDto {
    pub id: i64,
    pub author: AuthorDto,
    /// The text exactly as it was sent.
    pub text: String,
    /// The text escaped for inclusion in HTML (clients rendering HTML use this one): `&`, `<`,
    /// `>`, `"` and `'` as entities, everything else as sent.
    pub text_html: String,
    /// Topic labels: those given and the text's hashtags, lowercased.
    pub topics: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last edit (equal to `created_at` when never edited).
    pub updated_at: i64,
    pub like_count: i64,
    pub comment_count: i64,
    /// Present when a moderator hid the post (only its author and moderators read it then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<ModerationDto>,
}

/// A moderator's action on a post, as its author and moderators see it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ModerationDto {
    /// `hidden`: out of every list and unreadable to others until restored.
    pub state: &'static str,
    /// Unix seconds.
    pub at: i64,
    pub reason: String,
}

impl From<&PostRow> for PostDto {
    fn from(row: &PostRow) -> Self {
        Self {
            id: row.id,
            author: AuthorDto {
                id: row.author_id,
                handle: row.author_handle.clone(),
            },
            text: row.text.clone(),
            text_html: escape_html(&row.text),
            topics: row.topic_list(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            like_count: row.like_count,
            comment_count: row.comment_count,
            moderation: row.hidden_at.map(|at| ModerationDto {
                state: "hidden",
                at,
                reason: row.hidden_reason.clone(),
            }),
        }
    }
}

/// `text` escaped for HTML text and quoted attribute values: `&`, `<`, `>`, `"` and `'` become
/// entities, nothing else changes (spaces, line breaks and every other character stay as sent).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A comment.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CommentDto {
    pub id: i64,
    pub post_id: i64,
    pub author: AuthorDto,
    pub text: String,
    pub text_html: String,
    pub created_at: i64,
}

impl From<CommentRow> for CommentDto {
    fn from(row: CommentRow) -> Self {
        Self {
            id: row.id,
            post_id: row.post_id,
            author: AuthorDto {
                id: row.author_id,
                handle: row.author_handle,
            },
            text_html: escape_html(&row.text),
            text: row.text,
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePost {
    /// 1 to 2000 characters; `#hashtags` become topics.
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    pub text: String,
    /// Extra topics (at most 10 with the hashtags), each 1 to 50 letters, digits, `_` or `-`.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub topics: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EditPost {
    /// The new text (1 to 2000 characters); absent keeps the text.
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    pub text: Option<String>,
    /// The new topics; absent keeps the given topics.
    pub topics: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateComment {
    /// 1 to 1000 characters.
    #[schema(min_length = 1, max_length = 1000, pattern = "\\S")]
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ViewBatch {
    /// Posts shown to the user, at most 100 per call; unknown or deleted posts are skipped.
    #[schema(max_items = 100)]
    pub post_ids: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViewsRecorded {
    /// Impressions counted (of live posts).
    pub recorded: usize,
    /// Posts this user saw for the first time (they will not be recommended to them again).
    pub first_views: usize,
}

/// A live post (neither deleted nor hidden by a moderator), or 404.
pub(crate) async fn live_post(state: &AppState, id: i64) -> Result<PostRow> {
    undeleted_post(state, id)
        .await
        .and_then(|p| match p.hidden_at {
            None => Ok(p),
            Some(_) => Err(post_not_found(id)),
        })
}

/// A post that is not deleted (perhaps hidden by a moderator), or 404.
async fn undeleted_post(state: &AppState, id: i64) -> Result<PostRow> {
    state
        .store
        .post(id)
        .await?
        .filter(|p| p.deleted_at.is_none())
        .ok_or_else(|| post_not_found(id))
}

fn post_not_found(id: i64) -> ApiError {
    ApiError::not_found("post_not_found", format!("no post {id}"))
}

/// Publish a post. It is a feed candidate at once.
#[utoipa::path(post, path = "/v1/posts", tag = "posts", security(("bearer" = [])), request_body = CreatePost,
    responses((status = 201, body = PostDto), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_post(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<CreatePost>,
) -> Result<(StatusCode, Json<PostDto>)> {
    validate::text("text", &req.text, validate::POST_MAX, true)?;
    let topics = validate::topics(&req.topics, &req.text)?;
    let (row, position) = state
        .store
        .create_post(user.id, &req.text, &topics.join(" "))
        .await?;
    state.applied(Some(position)).await;
    Ok((StatusCode::CREATED, Json(PostDto::from(&row))))
}

/// A post. Posts of suspended or banned authors, those of someone the caller blocked or who
/// blocked them, and posts hidden by a moderator are not found (moderators and admins find
/// them all; a hidden post's author finds it, with its `moderation`).
#[utoipa::path(get, path = "/v1/posts/{id}", tag = "posts", params(("id" = i64, Path)),
    responses((status = 200, body = PostDto), (status = 404, description = "`post_not_found`", body = ErrorBody)))]
async fn get_post(
    State(state): State<AppState>,
    viewer: MaybeUser,
    Path(id): Path<i64>,
) -> Result<Json<PostDto>> {
    let post = undeleted_post(&state, id).await?;
    let hidden = match viewer.0 {
        Some(v) if v.role >= Role::Moderator => false,
        Some(v) if post.hidden_at.is_some() => v.id != post.author_id,
        None if post.hidden_at.is_some() => true,
        Some(v) => {
            state.withheld(post.author_id)
                || state
                    .store
                    .blocker_between(v.id, post.author_id)
                    .await?
                    .is_some()
        }
        None => state.withheld(post.author_id),
    };
    if hidden {
        return Err(ApiError::not_found(
            "post_not_found",
            format!("no post {id}"),
        ));
    }
    Ok(Json(PostDto::from(&post)))
}

/// Edit my post.
#[utoipa::path(patch, path = "/v1/posts/{id}", tag = "posts", security(("bearer" = [])), params(("id" = i64, Path)), request_body = EditPost,
    responses((status = 200, body = PostDto), (status = 403, description = "`not_post_author`", body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn edit_post(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Json(req): Json<EditPost>,
) -> Result<Json<PostDto>> {
    let post = live_post(&state, id).await?;
    if post.author_id != user.id {
        return Err(ApiError::forbidden(
            "not_post_author",
            "only the author can edit a post",
        ));
    }
    let text = req.text.unwrap_or(post.text);
    validate::text("text", &text, validate::POST_MAX, true)?;
    let given = req
        .topics
        .unwrap_or_else(|| post.topics.split_whitespace().map(str::to_owned).collect());
    let topics = validate::topics(&given, &text)?;
    let position = state
        .store
        .update_post(id, &text, &topics.join(" "))
        .await?;
    state.applied(position).await;
    let row = live_post(&state, id).await?;
    Ok(Json(PostDto::from(&row)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DeleteParams {
    /// A moderator's reason, at most 500 characters (kept in the audit log).
    pub reason: Option<String>,
}

/// Delete a post: its author, or a moderator (recorded in the audit log, with `reason`; see
/// also `POST /v1/moderation/posts/{id}/remove`). It leaves every feed at once.
#[utoipa::path(delete, path = "/v1/posts/{id}", tag = "posts", security(("bearer" = [])), params(("id" = i64, Path), DeleteParams),
    responses((status = 204), (status = 401, body = ErrorBody),
              (status = 403, description = "`not_post_author`", body = ErrorBody),
              (status = 404, description = "`post_not_found`", body = ErrorBody),
              (status = 422, description = "`too_long`, `invalid_characters` (`reason`)", body = ErrorBody)))]
async fn delete_post(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Query(params): Query<DeleteParams>,
) -> Result<StatusCode> {
    let post = undeleted_post(&state, id).await?;
    let position = if post.author_id == user.id {
        state.store.delete_post(id).await?
    } else if user.role >= Role::Moderator {
        let reason = params.reason.unwrap_or_default();
        validate::text("reason", &reason, super::moderation::REASON_MAX, false)?;
        state
            .store
            .moderate_post(user.id, id, PostAction::Remove, &reason)
            .await?
    } else {
        return Err(ApiError::forbidden(
            "not_post_author",
            "only the author or a moderator can delete a post",
        ));
    };
    state.applied(position).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's posts, newest first (none while the user is suspended or banned, nor when the
/// caller blocked them or was blocked by them).
#[utoipa::path(get, path = "/v1/users/{id}/posts", tag = "posts", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Page<PostDto>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn posts_by_author(
    State(state): State<AppState>,
    viewer: MaybeUser,
    Path(id): Path<i64>,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<PostDto>>> {
    let limit = params.limit()?;
    let before = params.position("posts")?.unwrap_or(i64::MAX);
    existing_user(&state, id).await?;
    let blocked = match viewer.0 {
        Some(v) => state.store.blocker_between(v.id, id).await?.is_some(),
        None => false,
    };
    let rows = if blocked || state.withheld(id) {
        Vec::new()
    } else {
        state
            .store
            .posts_by_author(id, before, limit as i64 + 1)
            .await?
    };
    Ok(Json(page(
        rows,
        limit,
        "posts",
        |r| r.id,
        |r| PostDto::from(&r),
    )))
}

/// Like a post (idempotent). Not a post of someone you blocked or who blocked you.
#[utoipa::path(put, path = "/v1/posts/{id}/like", tag = "posts", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 403, description = "`blocked`", body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn like(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let post = live_post(&state, id).await?;
    let position = super::users::across(
        user.id,
        state.store.like(user.id, id, post.author_id).await?,
    )?;
    state.applied(position).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Take back a like (idempotent).
#[utoipa::path(delete, path = "/v1/posts/{id}/like", tag = "posts", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn unlike(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    live_post(&state, id).await?;
    let position = state.store.unlike(user.id, id).await?;
    state.applied(position).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Comment on a post. Not on a post of someone you blocked or who blocked you.
#[utoipa::path(post, path = "/v1/posts/{id}/comments", tag = "posts", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = CreateComment,
    responses((status = 201, body = CommentDto), (status = 403, description = "`blocked`", body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_comment(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Json(req): Json<CreateComment>,
) -> Result<(StatusCode, Json<CommentDto>)> {
    validate::text("text", &req.text, validate::COMMENT_MAX, true)?;
    let post = live_post(&state, id).await?;
    let (row, position) = super::users::across(
        user.id,
        state
            .store
            .add_comment(id, post.author_id, user.id, &req.text)
            .await?,
    )?;
    state.applied(Some(position)).await;
    Ok((StatusCode::CREATED, Json(CommentDto::from(row))))
}

/// A post's comments, oldest first, without those of suspended or banned authors, and, for a
/// signed-in caller, of authors they blocked or muted or who blocked them.
#[utoipa::path(get, path = "/v1/posts/{id}/comments", tag = "posts", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Page<CommentDto>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_comments(
    State(state): State<AppState>,
    viewer: MaybeUser,
    Path(id): Path<i64>,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<CommentDto>>> {
    let limit = params.limit()?;
    let after = params.position("comments")?.unwrap_or(0);
    live_post(&state, id).await?;
    let rows = state.store.comments(id, after, limit as i64 + 1).await?;
    let mut page = page(rows, limit, "comments", |r| r.id, CommentDto::from);
    let hidden = state.hidden_from(viewer.0.as_ref()).await?;
    page.items
        .retain(|c| !state.withheld(c.author.id) && !hidden.contains(&engine::UserId(c.author.id)));
    Ok(Json(page))
}

/// Record impressions: posts the client showed to the user. Seen posts are not recommended to
/// them again and count towards trending.
#[utoipa::path(post, path = "/v1/views", tag = "posts", security(("bearer" = [])), request_body = ViewBatch,
    responses((status = 200, body = ViewsRecorded), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record_views(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<ViewBatch>,
) -> Result<Json<ViewsRecorded>> {
    if req.post_ids.is_empty() || req.post_ids.len() > 100 {
        return Err(ApiError::invalid(
            "post_ids",
            "out_of_range",
            "between 1 and 100 post ids per call",
        ));
    }
    let (recorded, first, position) = state.store.record_views(user.id, &req.post_ids).await?;
    state.applied(position).await;
    Ok(Json(ViewsRecorded {
        recorded,
        first_views: first.len(),
    }))
}
