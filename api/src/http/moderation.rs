//! `/v1/admin/users` and `/v1/admin/audit`: finding accounts, suspending, banning and
//! reinstating them, and the audit log of every moderation and admin action (admins);
//! `/v1/moderation/posts/{id}/hide|restore|remove` (moderators and admins).
//!
//! A suspension or ban takes effect on every replica within a second
//! ([`principals::TRUST`](crate::principals::TRUST)): the account's requests are refused (403
//! `account_suspended` / `account_banned`, tokens already issued included), it cannot sign in
//! or refresh, and its posts leave every feed, search result and trending list (the engine's
//! withheld authors, kept by the change record `restricted`). A suspension ends at its time by
//! itself; reinstating ends either at once.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path, Query};
use super::pagination::{Page, keyset, page};
use super::posts::PostDto;
use super::users::{UserDto, existing_user};
use super::validate;
use crate::auth::Role;
use crate::auth::extract::{AdminUser, AuthUser, ModeratorUser};
use crate::error::{ApiError, ErrorBody, Result};
use crate::state::AppState;
use crate::store::moderation::{
    AuditFilter, AuditRow, PostAction, Standing, StandingChange, UserFilter,
};
use crate::store::now;
use crate::store::users::UserRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(suspend))
        .routes(routes!(ban))
        .routes(routes!(reinstate))
        .routes(routes!(audit_log))
        .routes(routes!(hide_post))
        .routes(routes!(restore_post))
        .routes(routes!(remove_post))
}

/// Longest moderation reason, in characters.
pub const REASON_MAX: usize = 500;
/// Longest suspension: ten years (longer is a ban).
pub const SUSPENSION_MAX_SECS: i64 = 10 * 365 * 86_400;

/// An account's standing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    /// Until `suspended_until`.
    Suspended,
    Banned,
}

/// An account as moderators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDto {
    #[serde(flatten)]
    pub user: UserDto,
    /// The standing in force now (a suspension whose time is up is `active`).
    pub status: Status,
    /// When the suspension ends, Unix seconds; absent unless suspended.
    pub suspended_until: Option<i64>,
    /// The reason given with the last suspension, ban or reinstatement.
    pub status_reason: String,
}

impl From<&UserRow> for AccountDto {
    fn from(row: &UserRow) -> Self {
        let (status, suspended_until) = match row.standing() {
            Standing::Active => (Status::Active, None),
            Standing::Suspended { until } => (Status::Suspended, Some(until)),
            Standing::Banned => (Status::Banned, None),
        };
        Self {
            user: UserDto::from(row),
            status,
            suspended_until,
            status_reason: row.status_reason.clone(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UserListParams {
    /// Handles starting with this (case-insensitive), at most 30 characters.
    #[param(max_length = 30)]
    pub handle: Option<String>,
    pub role: Option<Role>,
    pub status: Option<Status>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]+$", max_length = 200)]
    pub cursor: Option<String>,
}

/// Accounts, newest first, filtered by handle prefix, role and standing.
#[utoipa::path(get, path = "/v1/admin/users", tag = "admin", security(("bearer" = [])),
    params(UserListParams),
    responses((status = 200, body = Page<AccountDto>),
              (status = 400, description = "`invalid_cursor`, `invalid_query` (an unknown role or status)", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 422, description = "`out_of_range` (`limit`, `handle`)", body = ErrorBody)))]
async fn list_users(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(params): Query<UserListParams>,
) -> Result<Json<Page<AccountDto>>> {
    let (limit, before) = keyset(params.limit, params.cursor, "admin-users")?;
    let handle_prefix = params
        .handle
        .map(|h| h.trim().to_lowercase())
        .filter(|h| !h.is_empty());
    if handle_prefix
        .as_ref()
        .is_some_and(|h| h.chars().count() > 30)
    {
        return Err(ApiError::invalid(
            "handle",
            "out_of_range",
            "a handle prefix is at most 30 characters",
        ));
    }
    let filter = UserFilter {
        handle_prefix,
        role: params.role.map(|r| r.as_str().to_owned()),
        status: params.status.map(|s| {
            match s {
                Status::Active => "active",
                Status::Suspended => "suspended",
                Status::Banned => "banned",
            }
            .to_owned()
        }),
    };
    let rows = state.store.list_users(&filter, before, limit + 1).await?;
    Ok(Json(page(
        rows,
        limit,
        "admin-users",
        |r| r.id,
        |r| AccountDto::from(&r),
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SuspendRequest {
    /// How long, in seconds: 60 to 315,360,000 (ten years).
    #[schema(minimum = 60, maximum = 315_360_000)]
    pub duration_secs: i64,
    /// Why, 1 to 500 characters (kept in the audit log, shown to moderators).
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonRequest {
    /// Why, 1 to 500 characters (kept in the audit log, shown to moderators).
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    pub reason: String,
}

fn reason(raw: &str) -> Result<()> {
    validate::text("reason", raw, REASON_MAX, true)
}

/// Applies `standing` to `id` and answers the account as it now is.
async fn moderate(
    state: &AppState,
    admin: AdminUser,
    id: i64,
    standing: Standing,
    why: &str,
) -> Result<Json<AccountDto>> {
    if standing != Standing::Active && id == admin.0.id {
        return Err(ApiError::conflict(
            "self_moderation",
            "an admin cannot suspend or ban themselves",
        ));
    }
    match state
        .store
        .set_standing(Some(admin.0.id), id, standing, why)
        .await?
    {
        StandingChange::Changed(position) => state.applied(Some(position)).await,
        StandingChange::NoSuchUser => {
            return Err(ApiError::not_found(
                "user_not_found",
                format!("no user {id}"),
            ));
        }
        StandingChange::LastAdmin => {
            return Err(ApiError::conflict(
                "last_admin",
                "this is the only admin in good standing: promote another user first",
            ));
        }
    }
    Ok(Json(AccountDto::from(&existing_user(state, id).await?)))
}

/// Suspend an account for a time. Until then it cannot sign in, refresh or act (its tokens
/// answer 403 `account_suspended`), and its posts leave every feed, search and trending list;
/// all of it on every replica within a second, and undone by itself when the time is up.
#[utoipa::path(post, path = "/v1/admin/users/{id}/suspend", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = SuspendRequest,
    responses((status = 200, body = AccountDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 404, description = "`user_not_found`", body = ErrorBody),
              (status = 409, description = "`last_admin`, `self_moderation`", body = ErrorBody),
              (status = 422, description = "`out_of_range` (`duration_secs`), `required`, `too_long`, `invalid_characters` (`reason`)", body = ErrorBody)))]
async fn suspend(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i64>,
    Json(req): Json<SuspendRequest>,
) -> Result<Json<AccountDto>> {
    if !(60..=SUSPENSION_MAX_SECS).contains(&req.duration_secs) {
        return Err(ApiError::invalid(
            "duration_secs",
            "out_of_range",
            format!("must be between 60 and {SUSPENSION_MAX_SECS} seconds"),
        ));
    }
    reason(&req.reason)?;
    let until = now() + req.duration_secs;
    moderate(
        &state,
        admin,
        id,
        Standing::Suspended { until },
        &req.reason,
    )
    .await
}

/// Ban an account until reinstated: as a suspension without an end (403 `account_banned`).
#[utoipa::path(post, path = "/v1/admin/users/{id}/ban", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ReasonRequest,
    responses((status = 200, body = AccountDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 404, description = "`user_not_found`", body = ErrorBody),
              (status = 409, description = "`last_admin`, `self_moderation`", body = ErrorBody),
              (status = 422, description = "`required`, `too_long`, `invalid_characters` (`reason`)", body = ErrorBody)))]
async fn ban(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i64>,
    Json(req): Json<ReasonRequest>,
) -> Result<Json<AccountDto>> {
    reason(&req.reason)?;
    moderate(&state, admin, id, Standing::Banned, &req.reason).await
}

/// Lift a suspension or a ban: the account signs in again and its posts come back everywhere.
#[utoipa::path(post, path = "/v1/admin/users/{id}/reinstate", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ReasonRequest,
    responses((status = 200, body = AccountDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 404, description = "`user_not_found`", body = ErrorBody),
              (status = 422, description = "`required`, `too_long`, `invalid_characters` (`reason`)", body = ErrorBody)))]
async fn reinstate(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i64>,
    Json(req): Json<ReasonRequest>,
) -> Result<Json<AccountDto>> {
    reason(&req.reason)?;
    moderate(&state, admin, id, Standing::Active, &req.reason).await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditParams {
    /// Entries by this admin.
    pub actor: Option<i64>,
    /// Entries about this user.
    pub target_user: Option<i64>,
    /// One action: `role_changed`, `suspended`, `banned`, `reinstated`, `post_hidden`,
    /// `post_restored`, `post_removed`, `reports_dismissed`, `model_reloaded`,
    /// `model_current_set`, `model_pinned`, `model_unpinned`, `admin_created`.
    #[param(max_length = 40)]
    pub action: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]+$", max_length = 200)]
    pub cursor: Option<String>,
}

/// One moderation or admin action.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryDto {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// The admin who acted; absent for the command line.
    pub actor: Option<i64>,
    pub action: String,
    pub target_user: Option<i64>,
    pub target_post: Option<i64>,
    pub reason: String,
    /// Facts of the action (a role's before and after, a suspension's end).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<AuditRow> for AuditEntryDto {
    fn from(row: AuditRow) -> Self {
        Self {
            id: row.id,
            at: row.at,
            actor: row.actor_id,
            action: row.action,
            target_user: row.target_user,
            target_post: row.target_post,
            reason: row.reason,
            details: serde_json::from_str(&row.details).unwrap_or_default(),
        }
    }
}

/// The audit log, newest first: every role change, suspension, ban, reinstatement, post hidden,
/// restored or removed by a moderator, dismissed reports, model reload and admin created from
/// the command line, with who, whom, why and when. Append-only.
#[utoipa::path(get, path = "/v1/admin/audit", tag = "admin", security(("bearer" = [])),
    params(AuditParams),
    responses((status = 200, body = Page<AuditEntryDto>),
              (status = 400, description = "`invalid_cursor`, `invalid_query`", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 422, description = "`out_of_range` (`limit`, `action`)", body = ErrorBody)))]
async fn audit_log(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(params): Query<AuditParams>,
) -> Result<Json<Page<AuditEntryDto>>> {
    let (limit, before) = keyset(params.limit, params.cursor, "audit")?;
    if params
        .action
        .as_ref()
        .is_some_and(|a| a.chars().count() > 40)
    {
        return Err(ApiError::invalid(
            "action",
            "out_of_range",
            "an action is at most 40 characters",
        ));
    }
    let filter = AuditFilter {
        actor: params.actor,
        target_user: params.target_user,
        action: params.action,
    };
    let rows = state
        .store
        .audit_entries(&filter, before, limit + 1)
        .await?;
    Ok(Json(page(
        rows,
        limit,
        "audit",
        |r| r.id,
        AuditEntryDto::from,
    )))
}

/// 409 `self_moderation` when `me` would act on their own account; 403 `insufficient_role`
/// when a moderator would act on a moderator or an admin (only admins do).
///
/// # Errors
///
/// Those, `user_not_found`, or the database error.
pub(crate) async fn moderator_may_act_on(state: &AppState, me: AuthUser, user: i64) -> Result<()> {
    if user == me.id {
        return Err(ApiError::conflict(
            "self_moderation",
            "a moderator cannot suspend or ban themselves",
        ));
    }
    let target = Role::parse(&existing_user(state, user).await?.role);
    if me.role < Role::Admin && target >= Role::Moderator {
        return Err(ApiError::forbidden(
            "insufficient_role",
            "only an admin can suspend or ban a moderator or an admin",
        ));
    }
    Ok(())
}

/// Applies `action` to post `id` and answers the post as moderators now see it (for a
/// removal, as it was).
async fn moderate_post(
    state: &AppState,
    moderator: ModeratorUser,
    id: i64,
    action: PostAction,
    why: &str,
) -> Result<Json<PostDto>> {
    reason(why)?;
    let found = |post: Option<crate::store::posts::PostRow>| {
        post.filter(|p| p.deleted_at.is_none() || action == PostAction::Remove)
            .ok_or_else(|| ApiError::not_found("post_not_found", format!("no post {id}")))
    };
    found(
        state
            .store
            .post(id)
            .await?
            .filter(|p| p.deleted_at.is_none()),
    )?;
    let Some(position) = state
        .store
        .moderate_post(moderator.0.id, id, action, why.trim())
        .await?
    else {
        return Err(ApiError::conflict(
            "not_applicable",
            match action {
                PostAction::Hide => "the post is hidden already",
                PostAction::Restore => "the post is not hidden",
                PostAction::Remove => "the post is deleted already",
            },
        ));
    };
    state.applied(Some(position)).await;
    Ok(Json(PostDto::from(&found(state.store.post(id).await?)?)))
}

/// Hide a post: it leaves every feed, search, trending list and profile on every replica at
/// once, and only its author (who sees why, in `moderation`) and moderators can read it, until
/// restored. Recorded in the audit log.
#[utoipa::path(post, path = "/v1/moderation/posts/{id}/hide", tag = "moderation", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ReasonRequest,
    responses((status = 200, body = PostDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 404, description = "`post_not_found`", body = ErrorBody),
              (status = 409, description = "`not_applicable` (hidden already)", body = ErrorBody),
              (status = 422, description = "`required`, `too_long`, `invalid_characters` (`reason`)", body = ErrorBody)))]
async fn hide_post(
    State(state): State<AppState>,
    moderator: ModeratorUser,
    Path(id): Path<i64>,
    Json(req): Json<ReasonRequest>,
) -> Result<Json<PostDto>> {
    moderate_post(&state, moderator, id, PostAction::Hide, &req.reason).await
}

/// Restore a hidden post: it is a feed, search and trending candidate again, as it was.
#[utoipa::path(post, path = "/v1/moderation/posts/{id}/restore", tag = "moderation", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ReasonRequest,
    responses((status = 200, body = PostDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 404, description = "`post_not_found`", body = ErrorBody),
              (status = 409, description = "`not_applicable` (not hidden)", body = ErrorBody),
              (status = 422, description = "`required`, `too_long`, `invalid_characters` (`reason`)", body = ErrorBody)))]
async fn restore_post(
    State(state): State<AppState>,
    moderator: ModeratorUser,
    Path(id): Path<i64>,
    Json(req): Json<ReasonRequest>,
) -> Result<Json<PostDto>> {
    moderate_post(&state, moderator, id, PostAction::Restore, &req.reason).await
}

/// Remove a post for good (a deletion, recorded in the audit log with the reason).
#[utoipa::path(post, path = "/v1/moderation/posts/{id}/remove", tag = "moderation", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ReasonRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 404, description = "`post_not_found`", body = ErrorBody),
              (status = 422, description = "`required`, `too_long`, `invalid_characters` (`reason`)", body = ErrorBody)))]
async fn remove_post(
    State(state): State<AppState>,
    moderator: ModeratorUser,
    Path(id): Path<i64>,
    Json(req): Json<ReasonRequest>,
) -> Result<axum::http::StatusCode> {
    moderate_post(&state, moderator, id, PostAction::Remove, &req.reason).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
