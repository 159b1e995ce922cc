//! `/v1/users` and `/v1/me`: profiles, follows, blocks and mutes.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path, Query};
use super::pagination::{Page, PageParams, page};
use super::validate;
use crate::auth::Role;
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ErrorBody, Result};
use crate::state::AppState;
use crate::store::social::{Across, HideKind};
use crate::store::users::UserRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, update_me))
        .routes(routes!(profile))
        .routes(routes!(follow, unfollow))
        .routes(routes!(block, unblock))
        .routes(routes!(mute, unmute))
        .routes(routes!(followers))
        .routes(routes!(following))
}

/// A user as others see them.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserDto {
    pub id: i64,
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub role: Role,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<&UserRow> for UserDto {
    fn from(row: &UserRow) -> Self {
        Self {
            id: row.id,
            handle: row.handle.clone(),
            display_name: row.display_name.clone(),
            bio: row.bio.clone(),
            role: Role::parse(&row.role),
            created_at: row.created_at,
        }
    }
}

/// A profile: the user and their counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileDto {
    #[serde(flatten)]
    pub user: UserDto,
    pub followers: i64,
    pub following: i64,
    pub posts: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateProfile {
    /// At most 50 characters.
    #[schema(max_length = 50)]
    pub display_name: Option<String>,
    /// At most 300 characters.
    #[schema(max_length = 300)]
    pub bio: Option<String>,
}

pub(crate) async fn existing_user(state: &AppState, id: i64) -> Result<UserRow> {
    state
        .store
        .user_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user_not_found", format!("no user {id}")))
}

async fn profile_of(state: &AppState, row: &UserRow) -> Result<ProfileDto> {
    let counts = state.store.user_counts(row.id).await?;
    Ok(ProfileDto {
        user: UserDto::from(row),
        followers: counts.followers,
        following: counts.following,
        posts: counts.posts,
    })
}

/// My profile.
#[utoipa::path(get, path = "/v1/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = ProfileDto), (status = 401, body = ErrorBody)))]
async fn me(State(state): State<AppState>, user: AuthUser) -> Result<Json<ProfileDto>> {
    let row = existing_user(&state, user.id).await?;
    Ok(Json(profile_of(&state, &row).await?))
}

/// Update my display name and/or bio.
#[utoipa::path(patch, path = "/v1/me", tag = "users", security(("bearer" = [])), request_body = UpdateProfile,
    responses((status = 200, body = ProfileDto), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_me(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<UpdateProfile>,
) -> Result<Json<ProfileDto>> {
    if let Some(name) = &req.display_name {
        validate::text("display_name", name, 50, true)?;
        validate::visible("display_name", name, false)?;
        validate::not_impersonating("display_name", name, user.role == Role::Admin)?;
    }
    if let Some(bio) = &req.bio {
        validate::text("bio", bio, 300, false)?;
        validate::visible("bio", bio, true)?;
    }
    let row = state
        .store
        .update_profile(user.id, req.display_name.as_deref(), req.bio.as_deref())
        .await?
        .ok_or_else(|| ApiError::not_found("user_not_found", "your account no longer exists"))?;
    Ok(Json(profile_of(&state, &row).await?))
}

/// A user's profile.
#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = ProfileDto), (status = 404, description = "`user_not_found`", body = ErrorBody)))]
async fn profile(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<ProfileDto>> {
    let row = existing_user(&state, id).await?;
    Ok(Json(profile_of(&state, &row).await?))
}

/// Follow a user (idempotent).
#[utoipa::path(put, path = "/v1/users/{id}/follow", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 403, description = "`blocked`: they blocked you, or you blocked them", body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, description = "`cannot_follow_self`", body = ErrorBody)))]
async fn follow(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    if id == user.id {
        return Err(ApiError::invalid(
            "id",
            "cannot_follow_self",
            "you cannot follow yourself",
        ));
    }
    existing_user(&state, id).await?;
    let position = across(user.id, state.store.follow(user.id, id).await?)?;
    state.applied(position).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop following a user (idempotent).
#[utoipa::path(delete, path = "/v1/users/{id}/follow", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn unfollow(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    existing_user(&state, id).await?;
    let position = state.store.unfollow(user.id, id).await?;
    state.applied(position).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_hidden(
    state: &AppState,
    user: AuthUser,
    id: i64,
    kind: HideKind,
    on: bool,
) -> Result<StatusCode> {
    if id == user.id {
        return Err(ApiError::invalid(
            "id",
            "cannot_hide_self",
            format!("you cannot {} yourself", kind.as_str()),
        ));
    }
    existing_user(state, id).await?;
    let position = if on {
        state.store.hide(user.id, id, kind).await?
    } else {
        state.store.unhide(user.id, id, kind).await?
    };
    state.applied(position).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Block a user: their posts leave my feed, the follows between us are removed, and they can
/// no longer follow me.
#[utoipa::path(put, path = "/v1/users/{id}/block", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn block(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    set_hidden(&state, user, id, HideKind::Block, true).await
}

/// Lift a block.
#[utoipa::path(delete, path = "/v1/users/{id}/block", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn unblock(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    set_hidden(&state, user, id, HideKind::Block, false).await
}

/// Mute a user: their posts leave my feed.
#[utoipa::path(put, path = "/v1/users/{id}/mute", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn mute(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    set_hidden(&state, user, id, HideKind::Mute, true).await
}

/// Lift a mute.
#[utoipa::path(delete, path = "/v1/users/{id}/mute", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn unmute(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    set_hidden(&state, user, id, HideKind::Mute, false).await
}

/// Who follows a user, newest account first.
#[utoipa::path(get, path = "/v1/users/{id}/followers", tag = "users", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Page<UserDto>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn followers(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<UserDto>>> {
    let limit = params.limit()?;
    let before = params.position("followers")?.unwrap_or(i64::MAX);
    existing_user(&state, id).await?;
    let rows = state.store.followers(id, before, limit as i64 + 1).await?;
    Ok(Json(page(
        rows,
        limit,
        "followers",
        |r| r.id,
        |r| UserDto::from(&r),
    )))
}

/// Whom a user follows.
#[utoipa::path(get, path = "/v1/users/{id}/following", tag = "users", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Page<UserDto>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn following(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<UserDto>>> {
    let limit = params.limit()?;
    let before = params.position("following")?.unwrap_or(i64::MAX);
    existing_user(&state, id).await?;
    let rows = state.store.following(id, before, limit as i64 + 1).await?;
    Ok(Json(page(
        rows,
        limit,
        "following",
        |r| r.id,
        |r| UserDto::from(&r),
    )))
}

/// What `user`'s write to another user did, or 403 `blocked` when a block separates
/// them either way: neither follows, likes or comments on the other.
///
/// # Errors
///
/// `blocked`.
pub(crate) fn across<T>(user: i64, write: Across<T>) -> Result<T> {
    match write {
        Across::Done(done) => Ok(done),
        Across::Blocked { blocker } if blocker == user => Err(ApiError::forbidden(
            "blocked",
            "you blocked this user: unblock them first",
        )),
        Across::Blocked { .. } => Err(ApiError::forbidden("blocked", "this user blocked you")),
    }
}
