//! `/v1/auth`: register, login, refresh, logout, change password; `/v1/me/sessions`: my
//! sign-ins, and ending one.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path};
use super::users::UserDto;
use super::validate;
use crate::auth::extract::AuthUser;
use crate::auth::{hash_refresh_token, new_refresh_token, password};
use crate::error::{ApiError, ErrorBody, Result};
use crate::state::AppState;
use crate::store::moderation::Standing;
use crate::store::tokens::{Consumed, SessionRow, SignIn};
use crate::store::{is_unique_violation, now};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(change_password))
        .routes(routes!(sessions))
        .routes(routes!(end_session))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 3 to 30 characters of a-z, 0-9 and _ (case-insensitive, stored lowercased).
    #[schema(pattern = "^[A-Za-z0-9_]{3,30}$")]
    pub handle: String,
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// Shown instead of the handle; at most 50 characters (default: the handle).
    #[schema(max_length = 50)]
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
    #[schema(min_length = 8, max_length = 128)]
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

/// Which session a new token pair belongs to.
enum Session {
    /// A new sign-in, from where.
    New(SignIn),
    /// The next pair of a live session (a refresh).
    Next { id: i64, family: String },
}

async fn issue(
    state: &AppState,
    user: &crate::store::users::UserRow,
    session: Session,
) -> Result<TokenPair> {
    let refresh_token = new_refresh_token();
    let hash = hash_refresh_token(&refresh_token);
    let ttl = state.config.refresh_ttl_secs as i64;
    let session = match session {
        Session::New(sign_in) => {
            let family = new_refresh_token();
            let (id, position) = state
                .store
                .start_session(user.id, &sign_in, &family, &hash, ttl)
                .await?;
            state.applied(Some(position)).await;
            id
        }
        Session::Next { id, family } => {
            state
                .store
                .insert_refresh_token(user.id, &family, &hash, ttl)
                .await?;
            id
        }
    };
    let access_token = state.keys.issue(user.id, session, now())?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in: state.keys.ttl_secs,
        refresh_token,
        user: UserDto::from(user),
    })
}

/// Where a sign-in comes from: the client's address and its `User-Agent` (printable
/// characters only, at most 120), shown in `GET /v1/me/sessions`.
fn sign_in(state: &AppState, headers: &HeaderMap, connect: Option<std::net::SocketAddr>) -> SignIn {
    let device: String = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect();
    SignIn {
        device: device.trim().to_owned(),
        ip: client_ip(state, headers, connect),
    }
}

/// Create an account and sign in.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = TokenPair), (status = 409, description = "`handle_taken` (taken, or reads like a taken handle under Unicode confusables)", body = ErrorBody),
              (status = 422, description = "a field failed validation", body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    connect: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Json(req): Json<RegisterRequest>,
) -> Result<(StatusCode, Json<TokenPair>)> {
    let handle = validate::handle(&req.handle)?;
    validate::password("password", &req.password)?;
    let display_name = req.display_name.unwrap_or_else(|| handle.clone());
    validate::not_impersonating("handle", &handle, false)?;
    validate::text("display_name", &display_name, 50, false)?;
    validate::visible("display_name", &display_name, false)?;
    validate::not_impersonating("display_name", &display_name, false)?;
    if let Some(taken) = state.store.lookalike_handle(&handle).await? {
        return Err(ApiError::conflict(
            "handle_taken",
            format!("this handle reads like @{taken}, which is taken"),
        ));
    }
    let hash = password::hash(&state.cpu, req.password).await?;
    let user = match state
        .store
        .create_user(
            &handle,
            &display_name,
            &hash,
            crate::auth::Role::User.as_str(),
        )
        .await
    {
        Ok(user) => user,
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::conflict("handle_taken", "this handle is taken"));
        }
        Err(e) => return Err(e.into()),
    };
    let from = sign_in(&state, &headers, connect.map(|c| c.0.0));
    Ok((
        StatusCode::CREATED,
        Json(issue(&state, &user, Session::New(from)).await?),
    ))
}

/// The client address the login limit counts against.
pub(crate) fn client_ip(
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

/// How long a login to an account past `login_slowdown_after` failures waits.
const LOGIN_SLOWDOWN: std::time::Duration = std::time::Duration::from_secs(1);

/// Sign in with a handle and password. Limited per client IP (every attempt) and per account
/// and client IP (failed attempts): over a limit the answer is 429 with `Retry-After`. Many
/// failures on one account from every client slow its logins down, never refuse them.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenPair), (status = 401, description = "`invalid_credentials`", body = ErrorBody),
              (status = 403, description = "`account_suspended` or `account_banned` (the password was right)", body = ErrorBody),
              (status = 429, description = "`rate_limited`", body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    connect: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Json<TokenPair>> {
    let from = sign_in(&state, &headers, connect.map(|c| c.0.0));
    let ip_key = format!("login:ip:{}", from.ip);
    let (ip_hits, retry) = state.limiter.hit(&ip_key).await;
    if ip_hits > state.config.login_max_per_ip {
        return Err(ApiError::RateLimited { retry_after: retry });
    }
    // Failures count per (account, client) and per account. The first refuses only the client
    // that failed; the second slows every login to the account down but refuses none, so nobody
    // can lock an owner out by failing on purpose (OWASP's authentication guidance).
    let handle = req.handle.trim().to_lowercase();
    let pair_key = format!("login:account:{handle}:{}", from.ip);
    let account_key = format!("login:account:{handle}");
    let (failures, retry) = state.limiter.count(&pair_key).await;
    if failures >= state.config.login_max_per_account {
        return Err(ApiError::RateLimited { retry_after: retry });
    }
    let (account_failures, _) = state.limiter.count(&account_key).await;
    if account_failures >= state.config.login_slowdown_after {
        metrics::counter!("social_live_login_slowed_total").increment(1);
        tokio::time::sleep(LOGIN_SLOWDOWN).await;
    }
    // A handle that cannot exist (a NUL byte, say, which PostgreSQL cannot even compare) is an
    // unknown account, checked against the dummy hash all the same.
    let user = match validate::handle(&handle) {
        Ok(handle) => state.store.user_by_handle(&handle).await?,
        Err(_) => None,
    };
    let stored = user.as_ref().map_or_else(
        || password::dummy_hash().to_owned(),
        |u| u.password_hash.clone(),
    );
    let ok = password::verify(&state.cpu, req.password, stored).await? && user.is_some();
    let Some(user) = user.filter(|_| ok) else {
        state.limiter.hit(&pair_key).await;
        state.limiter.hit(&account_key).await;
        return Err(ApiError::unauthorized(
            "invalid_credentials",
            "wrong handle or password",
        ));
    };
    state.limiter.reset(&pair_key).await;
    // Told only to whoever knows the password.
    let standing = user.standing();
    if standing != Standing::Active {
        return Err(ApiError::restricted(standing));
    }
    Ok(Json(issue(&state, &user, Session::New(from)).await?))
}

/// Exchange a refresh token for a new token pair (the old refresh token is spent).
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair),
              (status = 401, description = "`invalid_refresh_token`, `refresh_token_expired`, `session_ended` (signed out, password changed, ended by its owner), or `refresh_token_reused` (the token was spent already: the whole sign-in is now ended)", body = ErrorBody),
              (status = 403, description = "`account_suspended` or `account_banned` (the token is spent: sign in again once reinstated)", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> Result<Json<TokenPair>> {
    match state
        .store
        .consume_refresh_token(&hash_refresh_token(&req.refresh_token))
        .await?
    {
        Consumed::Fresh {
            user_id,
            session,
            family,
        } => {
            let user = state.store.user_by_id(user_id).await?.ok_or_else(|| {
                ApiError::unauthorized("invalid_refresh_token", "the refresh token is not valid")
            })?;
            let next = Session::Next {
                id: session,
                family,
            };
            Ok(Json(issue(&state, &user, next).await?))
        }
        Consumed::Reused { position } => {
            tracing::warn!("a spent refresh token was presented again; its sign-in is ended");
            state.applied(position).await;
            Err(ApiError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; its sign-in is now ended everywhere",
            ))
        }
        Consumed::Ended => Err(ApiError::session_ended()),
        Consumed::Restricted { standing } => Err(ApiError::restricted(standing)),
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

/// Sign out: end the refresh token's sign-in. Its access tokens stop working on every replica
/// within a second.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204), (status = 401, description = "`invalid_refresh_token` (unknown, or its sign-in already ended)", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn logout(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> Result<StatusCode> {
    if let Some(position) = state
        .store
        .end_session_of_token(&hash_refresh_token(&req.refresh_token))
        .await?
    {
        state.applied(Some(position)).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::unauthorized(
            "invalid_refresh_token",
            "the refresh token is not valid",
        ))
    }
}

/// Change my password; every other sign-in of mine ends (on every replica within a second):
/// other devices sign in again, this one goes on.
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
    let position = state
        .store
        .change_password(user.id, &hash, user.session)
        .await?;
    state.applied(Some(position)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// One of my sign-ins.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDto {
    pub id: i64,
    /// The `User-Agent` of the client that signed in (may be empty).
    pub device: String,
    /// The address it signed in from.
    pub ip: String,
    /// When it signed in, Unix seconds.
    pub created_at: i64,
    /// When it last refreshed its tokens, Unix seconds.
    pub last_used_at: i64,
    /// Whether it is the sign-in of this request's token.
    pub current: bool,
}

/// My live sign-ins.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsPage {
    /// Newest first; at most 32 (signing in past that ends the oldest).
    pub items: Vec<SessionDto>,
}

/// My live sign-ins, newest first.
#[utoipa::path(get, path = "/v1/me/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = SessionsPage), (status = 401, body = ErrorBody)))]
async fn sessions(State(state): State<AppState>, user: AuthUser) -> Result<Json<SessionsPage>> {
    let rows = state.store.live_sessions(user.id).await?;
    let items = rows
        .into_iter()
        .map(|r: SessionRow| SessionDto {
            current: r.id == user.session,
            id: r.id,
            device: r.device,
            ip: r.ip,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        })
        .collect();
    Ok(Json(SessionsPage { items }))
}

/// End one of my sign-ins (this one included): its tokens stop working on every replica within
/// a second.
#[utoipa::path(delete, path = "/v1/me/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The session's id (from `GET /v1/me/sessions`)")),
    responses((status = 204), (status = 401, body = ErrorBody),
              (status = 404, description = "`session_not_found` (not mine, or already ended)", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn end_session(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    match state.store.end_session(user.id, id).await? {
        Some(position) => {
            state.applied(Some(position)).await;
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::not_found(
            "session_not_found",
            format!("no live session {id} of yours"),
        )),
    }
}
