//! The router: one `router()` per resource module merged under `/v1`, the OpenAPI document
//! generated from the handlers, and the middleware every request goes through.

pub mod admin;
pub mod auth;
pub mod extract;
pub mod feed;
pub mod health;
pub mod limits;
pub mod models;
pub mod moderation;
pub mod muted;
pub mod pagination;
pub mod posts;
pub mod reports;
pub mod runs;
pub mod search;
pub mod users;
pub mod validate;
pub mod wire;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Social Live API", description = "Accounts, social graph, posts, interactions, personalized feeds and search."),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-up, sign-in and token rotation"),
        (name = "users", description = "Profiles, follows, blocks and mutes"),
        (name = "posts", description = "Posts, likes, comments and impressions"),
        (name = "feed", description = "Personalized feed and trending"),
        (name = "search", description = "Full-text search"),
        (name = "creator", description = "Audience statistics"),
        (name = "admin", description = "Accounts (suspensions, bans, roles), the audit log and models"),
        (name = "moderation", description = "Reports, the report queue and post moderation"),
        (name = "health", description = "Liveness, readiness and metrics"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document and the routes it describes.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = routes();
    document_common_answers(&mut openapi);
    (router, openapi)
}

/// The answers any `/v1` operation can give besides its own, added to each that does not list
/// them (an outside schema-driven client must find no undocumented status): 400 (a malformed
/// query, path or body), 401 (a bad token; open endpoints take an optional one), 404 where the
/// path names a resource, 413 and 422 where a body or parameters are read, 403 (a suspended or
/// banned account) where a token is required, 429 (`limits.rs`) and 503 (overload, timeout).
fn document_common_answers(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let answer = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    let always = [
        (
            "400",
            answer(
                "`invalid_json`, `unsupported_media_type`, `invalid_query`, `invalid_path`, \
                 `invalid_cursor`: a malformed request",
            ),
        ),
        (
            "401",
            answer("`missing_token`, `invalid_token`, `token_expired`, `session_ended`"),
        ),
        (
            "429",
            answer(
                "`rate_limited`: over a rate limit (`Retry-After`, `RateLimit-Policy` and \
                 `RateLimit` headers say which and until when)",
            ),
        ),
        (
            "503",
            answer("`overloaded`, `timeout`: retry later (`Retry-After`)"),
        ),
    ];
    let not_found = answer("no such resource (`user_not_found`, `post_not_found`, ...)");
    let too_large = answer("`payload_too_large`: the body is over the size limit");
    let invalid = answer("a field or parameter failed validation (`field` names it)");
    let restricted = answer("`account_suspended`, `account_banned`, `insufficient_role`");
    for (path, item) in &mut openapi.paths.paths {
        if !path.starts_with("/v1/") {
            continue;
        }
        let names_resource = path.contains('{');
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let has_body = op.request_body.is_some();
            let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let responses = &mut op.responses.responses;
            for (status, response) in &always {
                responses
                    .entry((*status).to_owned())
                    .or_insert_with(|| response.clone());
            }
            let mut add =
                |status: &str, when: bool, response: &RefOr<utoipa::openapi::Response>| {
                    if when {
                        responses
                            .entry(status.to_owned())
                            .or_insert_with(|| response.clone());
                    }
                };
            add("404", names_resource, &not_found);
            add("413", has_body, &too_large);
            add("422", has_body || has_params, &invalid);
            add("403", secured, &restricted);
        }
    }
}

fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(users::router())
        .merge(posts::router())
        .merge(feed::router())
        .merge(search::router())
        .merge(admin::router())
        .merge(models::router())
        .merge(moderation::router())
        .merge(reports::router())
        .merge(runs::router())
        .merge(muted::router())
        .merge(health::router())
        .split_for_parts()
}

/// The whole application: routes, docs and middleware. Tests drive it with `oneshot`.
pub fn app(state: AppState) -> Router {
    let (routes, openapi) = api();
    let config = state.config.clone();
    let limited = state.clone();
    let request_id = HeaderName::from_static("x-request-id");
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(
            config
                .cors_origins
                .iter()
                .filter(|o| !o.is_empty())
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        ))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600));
    routes
        .merge(SwaggerUi::new("/docs").url("/v1/openapi.json", openapi))
        .fallback(|| async { ApiError::not_found("route_not_found", "no such route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn(drop_unsafe_request_id))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    // 5xx are logged where they arise (internal errors at ERROR, shed load at
                    // WARN or in metrics), not once more per response.
                    TraceLayer::new_for_http().on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)).make_span_with(|req: &Request<Body>| {
                        let route = req
                            .extensions()
                            .get::<MatchedPath>()
                            .map_or(req.uri().path(), MatchedPath::as_str);
                        let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                        tracing::info_span!("request", method = %req.method(), route, request_id = id)
                    }),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(CatchPanicLayer::custom(|_| {
                    ApiError::Internal(crate::Error::Unexpected("handler panicked".into())).into_response()
                }))
                .layer(middleware::from_fn(json_errors))
                .layer(middleware::from_fn(security_headers))
                .layer(middleware::from_fn(track))
                .layer(cors)
                .layer(middleware::from_fn_with_state(limited, limits::enforce))
                .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, config.request_timeout()))
                .layer(DefaultBodyLimit::max(config.body_limit)),
        )
}

/// Rewrites error responses that did not come from [`ApiError`] (timeouts, body-limit
/// rejections of middleware) into the JSON error shape.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let err = match status {
        StatusCode::NOT_FOUND => ApiError::not_found("route_not_found", "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        // Only the timeout layer answers 503 without a JSON body.
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => ApiError::Timeout,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::bad_request(
            "unsupported_media_type",
            "expected `Content-Type: application/json`",
        ),
        s if s.is_server_error() => ApiError::Internal(crate::Error::Unexpected(format!(
            "unexpected {s} from a layer"
        ))),
        s => ApiError::bad_request("bad_request", s.canonical_reason().unwrap_or("bad request")),
    };
    let mut out = err.into_response();
    *out.status_mut() = status;
    out
}

/// A client's `X-Request-Id` is kept (to correlate its logs with ours) only when it is at most
/// 64 characters of `A-Z a-z 0-9 . _ -`; any other is replaced by a new UUID, so that logs and
/// responses never carry a client's arbitrary bytes.
async fn drop_unsafe_request_id(mut req: Request, next: Next) -> Response {
    let safe = |v: &HeaderValue| {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= 64
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
    };
    if req.headers().get("x-request-id").is_some_and(|v| !safe(v)) {
        req.headers_mut().remove("x-request-id");
    }
    next.run(req).await
}

/// Security headers on every response. The API's CSP forbids everything (it serves JSON); the
/// Swagger UI under `/docs` gets one that allows its own scripts and styles.
async fn security_headers(req: Request, next: Next) -> Response {
    let docs = req.uri().path().starts_with("/docs");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let csp = if docs {
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    };
    for (name, value) in [
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        ),
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Request count and latency per route and status, for Prometheus.
async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("social_live_http_requests_total", &labels).increment(1);
    metrics::histogram!("social_live_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}
