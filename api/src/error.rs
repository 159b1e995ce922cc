//! The errors of the API crate: [`ApiError`] (what a request fails with, and its JSON shape) and
//! [`Error`] (what starting the service, connecting the store, seeding and exporting fail with;
//! the cause of every internal 500).
//!
//! Every failure a client sees is `{"error": {"code": "stable_snake_case", "message": "..."}}`
//! with the matching status: handler errors, JSON and query rejections, unknown routes, wrong
//! methods, oversize bodies and timeouts alike. A 5xx never carries internals: the cause is
//! logged with the request's span and the client gets a generic message.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// `Result` with [`ApiError`].
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// What the service's own operations fail with (start-up, the store, seeding, exporting), and the
/// cause of an internal error of a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unsupported database URL {url:?}: expected sqlite:// or postgres://")]
    UnsupportedDatabaseUrl { url: String },
    #[error("cannot connect to the database at {url}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("{what} {}", path.display())]
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Csv {
        path: std::path::PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("invalid Redis URL {url:?}")]
    RedisUrl {
        url: String,
        #[source]
        source: redis::RedisError,
    },
    #[error("{0}")]
    RateLimits(String),
    #[error("the JWT secret must be at least {min} bytes, got {got}")]
    ShortJwtSecret { min: usize, got: usize },
    #[error("cannot sign an access token")]
    Sign(#[source] jsonwebtoken::errors::Error),
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    #[error("engine error")]
    Engine(#[from] engine::Error),
    #[error("cannot listen on {addr}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server error")]
    Serve(#[source] std::io::Error),
    #[error("the seed refers to an unknown {0}")]
    SeedReference(&'static str),
    #[error("a background task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error("{0}")]
    Unexpected(String),
}

/// `err` and its sources, `: `-separated, for logs.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 422: a field failed validation (`code` names the rule, `field` the field).
    #[error("{field}: {message}")]
    Validation {
        field: &'static str,
        code: &'static str,
        message: String,
    },
    /// 400: the request is malformed (bad JSON, bad query string, bad id, bad cursor).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 401: no token, a bad or expired token, wrong credentials, a bad refresh token.
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    /// 403: authenticated but not allowed (role, ownership, blocked).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// 404: the resource does not exist (or is hidden from the caller).
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// 405: the route exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state (e.g. the handle is taken).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 413: the body is larger than the configured limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 429: too many attempts; retry after the given number of seconds.
    #[error("too many requests")]
    RateLimited { retry_after: u64 },
    /// 503: a dependency is not ready (database down, no feed source yet).
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    /// 503 `timeout`: the request took longer than the configured timeout (the service is
    /// slow, not the client: retryable, with `Retry-After`).
    #[error("the request took too long; retry shortly")]
    Timeout,
    /// 500: anything else. The cause is logged, never returned.
    #[error(transparent)]
    Internal(#[from] Error),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable machine-readable code and a human message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code, e.g. `validation_failed`, `token_expired`, `post_not_found`.
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
    /// The request field that failed validation, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// A validation failure of `field`.
    pub fn invalid(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self::Validation {
            field,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }

    /// 401 `session_ended`: a token or refresh token of a sign-in that ended.
    pub fn session_ended() -> Self {
        Self::unauthorized(
            "session_ended",
            "this sign-in has ended (signed out, password changed or revoked); sign in again",
        )
    }

    /// 403 `account_suspended` or `account_banned`: the account may not sign in or act.
    pub fn restricted(standing: crate::store::moderation::Standing) -> Self {
        use crate::store::moderation::Standing;
        match standing {
            Standing::Suspended { until } => Self::forbidden(
                "account_suspended",
                format!("this account is suspended until {until} (Unix time)"),
            ),
            _ => Self::forbidden("account_banned", "this account is banned"),
        }
    }

    /// 503 `overloaded`: the service cannot take this request in time (no CPU slot, no
    /// database connection); the client may retry after the `Retry-After` seconds.
    pub fn overloaded() -> Self {
        Self::Unavailable {
            code: "overloaded",
            message: "the service is overloaded; retry shortly".into(),
        }
    }

    /// Whether the client should retry after a short pause (sent with `Retry-After: 1`).
    fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Timeout
                | Self::Unavailable {
                    code: "overloaded",
                    ..
                }
        )
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { code, .. }
            | Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unavailable { code, .. } => code,
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::Timeout => "timeout",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            // Every connection stayed busy for the pool's acquire timeout: the service is
            // overloaded, which is a 503 the client may retry, not a bug.
            sqlx::Error::PoolTimedOut => {
                tracing::warn!("database pool exhausted: answering 503");
                Self::overloaded()
            }
            err => Self::Internal(Error::Database(err)),
        }
    }
}

impl From<engine::Error> for ApiError {
    fn from(err: engine::Error) -> Self {
        use engine::Error as E;
        match err {
            E::InvalidCursor { .. } | E::CursorUserMismatch => {
                Self::bad_request("invalid_cursor", "the cursor is malformed or not yours")
            }
            E::InvalidPageSize { .. } => Self::invalid("limit", "out_of_range", err.to_string()),
            other => Self::Internal(Error::Engine(other)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (message, field) = match &self {
            Self::Internal(err) => {
                tracing::error!(error = chain(err), "internal error");
                ("internal server error".to_owned(), None)
            }
            Self::Validation { field, message, .. } => {
                (format!("{field}: {message}"), Some((*field).to_owned()))
            }
            other => (other.to_string(), None),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message,
                field,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::RateLimited { retry_after } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        } else if self.is_retryable() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::BadRequest {
                code: "unsupported_media_type",
                message: "expected `Content-Type: application/json`".into(),
            },
            JsonRejection::BytesRejection(_) => Self::PayloadTooLarge,
            JsonRejection::JsonDataError(err) => Self::bad_request("invalid_json", err.body_text()),
            other => Self::bad_request("invalid_json", other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request("invalid_query", rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request("invalid_id", rejection.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exhausted_pool_is_a_retryable_503() {
        let err = ApiError::from(sqlx::Error::PoolTimedOut);
        assert_eq!(
            (err.status(), err.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "overloaded")
        );
        let response = err.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let response = ApiError::Timeout.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let err = ApiError::from(sqlx::Error::RowNotFound);
        assert_eq!(
            (err.status(), err.code()),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        );
    }

    #[tokio::test]
    async fn internal_errors_do_not_leak() {
        let response =
            ApiError::Internal(Error::Unexpected("secret detail".into())).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            body.contains("\"internal\"") && !body.contains("secret"),
            "{body}"
        );
    }
}
