//! The rate-limit middleware: every `/v1` request is checked against its class's quotas for the
//! client IP and, with a valid access token, for the user (`limits.rs`), before any handler
//! runs. Answers carry the IETF `RateLimit-Policy` and `RateLimit` headers
//! (draft-ietf-httpapi-ratelimit-headers): the policies that apply, and the one closest to its
//! limit; a refusal is 429 `rate_limited` with `Retry-After`.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::jwt::Verified;
use crate::error::ApiError;
use crate::limits::{Check, Class, Scope};
use crate::state::AppState;

/// The user a request's access token names, if its signature is valid (its session is checked
/// by the handler's extractor, not here: this only picks the quota). The verdict is left in the
/// request for the extractor ([`Verified`]).
fn token_user(state: &AppState, req: &mut Request) -> Option<i64> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim().to_owned();
    let claims = state.keys.verify(&token);
    let user = claims.as_ref().ok().and_then(|c| c.sub.parse().ok());
    req.extensions_mut().insert(Verified { token, claims });
    user
}

pub async fn enforce(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let policy = &state.routes.policy;
    let Some(class) = (!policy.is_off())
        .then(|| Class::of(req.method(), req.uri().path()))
        .flatten()
    else {
        return next.run(req).await;
    };
    let connect = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let ip = super::auth::client_ip(&state, req.headers(), connect);
    let mut named = Vec::with_capacity(2);
    let mut checks = Vec::with_capacity(2);
    if let Some(quota) = policy.quota(class, Scope::Ip) {
        named.push((Scope::Ip, quota));
        checks.push(Check {
            key: format!("{}:ip:{ip}", class.as_str()),
            quota,
        });
    }
    if let Some(user) = token_user(&state, &mut req)
        && let Some(quota) = policy.quota(class, Scope::User)
    {
        named.push((Scope::User, quota));
        checks.push(Check {
            key: format!("{}:user:{user}", class.as_str()),
            quota,
        });
    }
    if checks.is_empty() {
        return next.run(req).await;
    }
    let decisions = state.routes.check(&checks).await;
    let policies = named
        .iter()
        .map(|(scope, q)| {
            format!(
                "\"{}-{}\";q={};w={}",
                class.as_str(),
                scope.as_str(),
                q.quota,
                q.window.as_secs()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    // The binding one: a refusal, else the fewest requests left (one decision per check).
    let Some((i, binding)) = decisions
        .iter()
        .enumerate()
        .min_by_key(|(_, d)| (d.allowed, d.remaining))
        .map(|(i, d)| (i, *d))
    else {
        return next.run(req).await;
    };
    let reset_secs = (binding.reset_ms.max(0) as u64).div_ceil(1000);
    let current = format!(
        "\"{}-{}\";r={};t={}",
        class.as_str(),
        named[i].0.as_str(),
        binding.remaining,
        reset_secs
    );
    let mut response = if binding.allowed {
        next.run(req).await
    } else {
        metrics::counter!("social_live_rate_limited_total", "class" => class.as_str(), "scope" => named[i].0.as_str())
            .increment(1);
        ApiError::RateLimited {
            retry_after: reset_secs.max(1),
        }
        .into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policies) {
        headers.insert("ratelimit-policy", value);
    }
    if let Ok(value) = HeaderValue::from_str(&current) {
        headers.insert("ratelimit", value);
    }
    response
}
