//! `/v1/admin` (roles) and `/v1/creator` (audience statistics); moderation is in
//! `moderation.rs`, models in `models.rs`.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path};
use super::moderation::REASON_MAX;
use super::users::{UserDto, existing_user};
use super::validate;
use crate::auth::Role;
use crate::auth::extract::{AdminUser, CreatorUser};
use crate::error::{ApiError, ErrorBody, Result};
use crate::state::AppState;
use crate::store::users::RoleChange;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(set_role))
        .routes(routes!(creator_stats))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetRole {
    pub role: Role,
    /// Why, at most 500 characters (kept in the audit log).
    #[serde(default)]
    pub reason: String,
}

/// A creator's audience.
#[derive(Debug, Serialize, ToSchema)]
pub struct AudienceDto {
    pub followers: i64,
    pub posts: i64,
    pub likes_received: i64,
    pub comments_received: i64,
    pub views_received: i64,
}

/// Set a user's role. It takes effect on every replica within a second, for tokens already
/// issued too. The last admin cannot be demoted (409 `last_admin`).
#[utoipa::path(put, path = "/v1/admin/users/{id}/role", tag = "admin", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = SetRole,
    responses((status = 200, body = UserDto), (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 404, description = "`user_not_found`", body = ErrorBody),
              (status = 409, description = "`last_admin`", body = ErrorBody),
              (status = 422, description = "`too_long`, `invalid_characters` (`reason`)", body = ErrorBody)))]
async fn set_role(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<i64>,
    Json(req): Json<SetRole>,
) -> Result<Json<UserDto>> {
    validate::text("reason", &req.reason, REASON_MAX, false)?;
    match state
        .store
        .set_role(Some(admin.id), id, req.role.as_str(), &req.reason)
        .await?
    {
        RoleChange::Changed(position) => state.applied(Some(position)).await,
        RoleChange::Unchanged => {}
        RoleChange::NoSuchUser => {
            return Err(ApiError::not_found(
                "user_not_found",
                format!("no user {id}"),
            ));
        }
        RoleChange::LastAdmin => {
            return Err(ApiError::conflict(
                "last_admin",
                "this is the only admin in good standing: promote another user first",
            ));
        }
    }
    Ok(Json(UserDto::from(&existing_user(&state, id).await?)))
}

/// My audience (creators and admins).
#[utoipa::path(get, path = "/v1/creator/stats", tag = "creator", security(("bearer" = [])),
    responses((status = 200, body = AudienceDto), (status = 403, description = "`insufficient_role`", body = ErrorBody)))]
async fn creator_stats(
    State(state): State<AppState>,
    CreatorUser(user): CreatorUser,
) -> Result<Json<AudienceDto>> {
    let s = state.store.audience_stats(user.id).await?;
    Ok(Json(AudienceDto {
        followers: s.followers,
        posts: s.posts,
        likes_received: s.likes_received,
        comments_received: s.comments_received,
        views_received: s.views_received,
    }))
}
