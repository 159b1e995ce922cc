//! Extractors that authenticate a request: having one in a handler's arguments *is* the check.
//!
//! - [`AuthUser`]: any signed-in user (401 without a valid access token).
//! - [`CreatorUser`], [`ModeratorUser`], [`AdminUser`]: the role at least creator / moderator /
//!   admin (403 otherwise).
//! - [`MaybeUser`]: the user if a valid token is present, for endpoints open to everyone whose
//!   answer depends on who asks; a present but bad token is still a 401.
//!
//! A valid signature is not enough: the token's session must be live and its account must
//! exist and be neither suspended nor banned (403 `account_suspended`, `account_banned`), and
//! the role is the account's current one (`principals.rs`: a cache the change log
//! keeps current, so no database round trip per request).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::Role;
use super::jwt::TokenError;
use crate::error::ApiError;
use crate::principals::Refused;
use crate::state::AppState;

/// A signed-in user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthUser {
    pub id: i64,
    /// The account's current role.
    pub role: Role,
    /// The session the request's token belongs to.
    pub session: i64,
}

/// A signed-in user with role creator or admin.
#[derive(Clone, Copy, Debug)]
pub struct CreatorUser(pub AuthUser);

/// A signed-in moderator or admin.
#[derive(Clone, Copy, Debug)]
pub struct ModeratorUser(pub AuthUser);

/// A signed-in admin.
#[derive(Clone, Copy, Debug)]
pub struct AdminUser(pub AuthUser);

/// The signed-in user, if any.
#[derive(Clone, Copy, Debug)]
pub struct MaybeUser(pub Option<AuthUser>);

fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("invalid_token", "malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::unauthorized(
            "invalid_token",
            "expected `Authorization: Bearer <access token>`",
        )),
    }
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<AuthUser>, ApiError> {
    let Some(token) = bearer(parts)? else {
        return Ok(None);
    };
    let claims = state
        .keys
        .verify_once(&parts.extensions, token)
        .map_err(|e| match e {
            TokenError::Expired => {
                ApiError::unauthorized("token_expired", "the access token expired; refresh it")
            }
            TokenError::Invalid => {
                ApiError::unauthorized("invalid_token", "the access token is invalid")
            }
        })?;
    let id = claims
        .sub
        .parse()
        .map_err(|_| ApiError::unauthorized("invalid_token", "the access token is invalid"))?;
    let trusted = state.changes.is_current_within(crate::principals::TRUST);
    let role = state
        .principals
        .check(&state.store, id, claims.sid, trusted)
        .await?
        .map_err(|refused| match refused {
            Refused::NoAccount => {
                ApiError::unauthorized("invalid_token", "the account no longer exists")
            }
            Refused::SessionEnded => ApiError::session_ended(),
            Refused::Restricted(standing) => ApiError::restricted(standing),
        })?;
    Ok(Some(AuthUser {
        id,
        role,
        session: claims.sid,
    }))
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await?.ok_or_else(|| {
            ApiError::unauthorized("missing_token", "this endpoint needs an access token")
        })
    }
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await.map(MaybeUser)
    }
}

fn require(user: AuthUser, role: Role) -> Result<AuthUser, ApiError> {
    if user.role >= role {
        Ok(user)
    } else {
        Err(ApiError::forbidden(
            "insufficient_role",
            format!("this endpoint needs the {} role", role.as_str()),
        ))
    }
}

/// `FromRequestParts` for a wrapper of [`AuthUser`] that needs at least `role`.
macro_rules! at_least {
    ($($wrapper:ident: $role:expr),* $(,)?) => {
        $(
            impl FromRequestParts<AppState> for $wrapper {
                type Rejection = ApiError;

                async fn from_request_parts(
                    parts: &mut Parts,
                    state: &AppState,
                ) -> Result<Self, Self::Rejection> {
                    let user = AuthUser::from_request_parts(parts, state).await?;
                    require(user, $role).map($wrapper)
                }
            }
        )*
    };
}

at_least!(
    CreatorUser: Role::Creator,
    ModeratorUser: Role::Moderator,
    AdminUser: Role::Admin,
);
