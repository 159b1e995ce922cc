//! `/v1/auth`: register, login, refresh, logout, change password.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Json;
use super::users::UserDto;
use super::validate;
use crate::auth::extract::AuthUser;
use crate::auth::{Role, hash_refresh_token, new_refresh_token, password};
use crate::error::{ApiError, ErrorBody, Result};
use crate::state::AppState;
use crate::store::tokens::Consumed;
use crate::store::{is_unique_violation, now};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(change_password))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 3 to 30 characters of a-z, 0-9 and _ (case-insensitive, stored lowercased).
    pub handle: String,
    /// 8 to 128 characters.
    pub password: String,
    /// Shown instead of the handle; at most 50 characters (default: the handle).
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub handle: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token of the last token pair. It can be used once.
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 8 to 128 characters.
    pub new_password: String,
}

/// An access token for requests and a refresh token for the next pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque; exchange it at `/v1/auth/refresh` for a new pair. Single use: presenting it a
    /// second time revokes every token of its sign-in.
    pub refresh_token: String,
    pub user: UserDto,
}

async fn issue(
    state: &AppState,
    user: &crate::store::users::UserRow,
    family: Option<String>,
) -> Result<TokenPair> {
    let role = Role::parse(&user.role);
    let access_token = state.keys.issue(user.id, role, now())?;
    let refresh_token = new_refresh_token();
    let family = family.unwrap_or_else(new_refresh_token);
    state
        .store
        .insert_refresh_token(
            user.id,
            &family,
            &hash_refresh_token(&refresh_token),
            state.config.refresh_ttl_secs as i64,
        )
        .await?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in: state.keys.ttl_secs,
        refresh_token,
        user: UserDto::from(user),
    })
}

/// Create an account and sign in.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = TokenPair), (status = 409, description = "`handle_taken`", body = ErrorBody),
              (status = 422, description = "a field failed validation", body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    Json(req): Json<RegisterRequest>,
) -> Result<(StatusCode, Json<TokenPair>)> {
    let handle = validate::handle(&req.handle)?;
    validate::password("password", &req.password)?;
    let display_name = req.display_name.unwrap_or_else(|| handle.clone());
    validate::text("display_name", &display_name, 50, false)?;
    let hash = password::hash(&state.cpu, req.password).await?;
    let user = match state
        .store
        .create_user(&handle, &display_name, &hash, Role::User.as_str())
        .await
    {
        Ok(user) => user,
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::conflict("handle_taken", "this handle is taken"));
        }
        Err(e) => return Err(e.into()),
    };
    Ok((StatusCode::CREATED, Json(issue(&state, &user, None).await?)))
}

/// The client address the login limit counts against.
fn client_ip(
    state: &AppState,
    headers: &HeaderMap,
    connect: Option<std::net::SocketAddr>,
) -> String {
    if state.config.trust_forwarded_for
        && let Some(first) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
    {
        return first.trim().to_owned();
    }
    connect.map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
}

/// Sign in with a handle and password. Limited per client IP (every attempt) and per account
/// (failed attempts): over the limit the answer is 429 with `Retry-After`.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenPair), (status = 401, description = "`invalid_credentials`", body = ErrorBody),
              (status = 429, description = "`rate_limited`", body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    connect: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Json<TokenPair>> {
    let ip_key = format!(
        "login:ip:{}",
        client_ip(&state, &headers, connect.map(|c| c.0.0))
    );
    let (ip_hits, retry) = state.limiter.hit(&ip_key).await;
    if ip_hits > state.config.login_max_per_ip {
        return Err(ApiError::RateLimited { retry_after: retry });
    }
    let handle = req.handle.trim().to_lowercase();
    let account_key = format!("login:account:{handle}");
    let (failures, retry) = state.limiter.count(&account_key).await;
    if failures >= state.config.login_max_per_account {
        return Err(ApiError::RateLimited { retry_after: retry });
    }
    let user = state.store.user_by_handle(&handle).await?;
    let stored = user.as_ref().map_or_else(
        || password::dummy_hash().to_owned(),
        |u| u.password_hash.clone(),
    );
    let ok = password::verify(&state.cpu, req.password, stored).await? && user.is_some();
    let Some(user) = user.filter(|_| ok) else {
        state.limiter.hit(&account_key).await;
        return Err(ApiError::unauthorized(
            "invalid_credentials",
            "wrong handle or password",
        ));
    };
    state.limiter.reset(&account_key).await;
    Ok(Json(issue(&state, &user, None).await?))
}

/// Exchange a refresh token for a new token pair (the old refresh token is spent).
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair),
              (status = 401, description = "`invalid_refresh_token`, `refresh_token_expired`, or `refresh_token_reused` (the whole sign-in is revoked)", body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> Result<Json<TokenPair>> {
    match state
        .store
        .consume_refresh_token(&hash_refresh_token(&req.refresh_token))
        .await?
    {
        Consumed::Fresh { user_id, family } => {
            let user = state.store.user_by_id(user_id).await?.ok_or_else(|| {
                ApiError::unauthorized("invalid_refresh_token", "the refresh token is not valid")
            })?;
            Ok(Json(issue(&state, &user, Some(family)).await?))
        }
        Consumed::Reused => {
            tracing::warn!("a spent refresh token was presented again; its sign-in is revoked");
            Err(ApiError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; every token of this sign-in is now revoked",
            ))
        }
        Consumed::Expired => Err(ApiError::unauthorized(
            "refresh_token_expired",
            "the refresh token expired; sign in again",
        )),
        Consumed::Unknown => Err(ApiError::unauthorized(
            "invalid_refresh_token",
            "the refresh token is not valid",
        )),
    }
}

/// Sign out: revoke the refresh token's sign-in. Access tokens already issued stay valid until
/// they expire (minutes).
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204), (status = 401, description = "`invalid_refresh_token`", body = ErrorBody)))]
async fn logout(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> Result<StatusCode> {
    if state
        .store
        .revoke_by_token(&hash_refresh_token(&req.refresh_token))
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::unauthorized(
            "invalid_refresh_token",
            "the refresh token is not valid",
        ))
    }
}

/// Change my password; every refresh token of mine is revoked (other devices sign in again).
#[utoipa::path(post, path = "/v1/auth/password", tag = "auth", request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses((status = 204), (status = 401, description = "`invalid_credentials` (wrong current password) or a token error", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<ChangePasswordRequest>,
) -> Result<StatusCode> {
    validate::password("new_password", &req.new_password)?;
    let row =
        state.store.user_by_id(user.id).await?.ok_or_else(|| {
            ApiError::unauthorized("invalid_token", "the account no longer exists")
        })?;
    if !password::verify(&state.cpu, req.current_password, row.password_hash).await? {
        return Err(ApiError::unauthorized(
            "invalid_credentials",
            "the current password is wrong",
        ));
    }
    let hash = password::hash(&state.cpu, req.new_password).await?;
    state.store.set_password_hash(user.id, &hash).await?;
    state.store.revoke_user_tokens(user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
