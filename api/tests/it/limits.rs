//! Rate limits on every route: quotas per user and per IP for each class, the IETF headers,
//! shared between replicas through Redis, and still enforced (per replica) while Redis is down.

use axum::http::StatusCode;
use serde_json::json;

use crate::replicas::OwnRedis;
use crate::{Reply, TestApp};

const LIMITS: &str = "read.user=3/60,read.ip=5/60,write.user=2/60,write.ip=100/60";

fn limited(config: &mut api::ServeConfig) {
    config.rate_limits = LIMITS.into();
}

fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

crate::both_with!(
    |c: &mut api::ServeConfig| super::limited(c),
    quotas_per_user_and_ip_with_ietf_headers,
);

async fn quotas_per_user_and_ip_with_ietf_headers(app: TestApp) {
    let a = app.register("reader_a").await;
    let b = app.register("reader_b").await;
    for left in [2, 1, 0] {
        let r = app.get("/v1/me", Some(&a.token)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            header(&r, "ratelimit-policy"),
            "\"read-ip\";q=5;w=60, \"read-user\";q=3;w=60"
        );
        assert!(
            header(&r, "ratelimit").starts_with(&format!("\"read-user\";r={left};t=")),
            "{}",
            header(&r, "ratelimit")
        );
    }
    let r = app.get("/v1/me", Some(&a.token)).await;
    r.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = header(&r, "retry-after").parse().unwrap();
    assert!(
        (1..=20).contains(&retry),
        "one interval of 60 s / 3: {retry}"
    );
    assert!(header(&r, "ratelimit").starts_with("\"read-user\";r=0;t="));
    // Writes have their own quota.
    let r = app
        .post(
            "/v1/posts",
            Some(&a.token),
            json!({"text": "still writing"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(header(&r, "ratelimit").starts_with("\"write-user\";r=1;"));
    // The address (every test request comes from the same one) had 3 reads charged, the refused
    // one not: b reads twice more, then the address is out.
    for _ in 0..2 {
        assert_eq!(
            app.get("/v1/me", Some(&b.token)).await.status,
            StatusCode::OK
        );
    }
    let r = app.get("/v1/me", Some(&b.token)).await;
    r.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(header(&r, "ratelimit").starts_with("\"read-ip\";r=0;"));
    app.get("/v1/trending", None)
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // Health and metrics are not limited.
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(header(&r, "ratelimit").is_empty());
}

/// Two replicas on one Redis share the counters; with Redis killed both still answer and still
/// limit (each in its own process), and nothing fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_limits_in_redis_and_keep_limiting_without_it() {
    let Some(mut redis) = OwnRedis::start() else {
        assert!(
            !crate::require("SOCIAL_LIVE_REQUIRE_REDIS"),
            "redis-server is required"
        );
        eprintln!("note: redis-server is not installed; skipping the Redis limiter test");
        return;
    };
    let app = match TestApp::postgres().await {
        Some(app) => app,
        None => TestApp::sqlite().await,
    };
    let url = redis.url.clone();
    let with_redis = move |config: &mut api::ServeConfig| {
        config.rate_limits = "read.user=4/60".into();
        config.redis_url = Some(url.clone());
    };
    let a = app.replica_with(with_redis.clone()).await;
    let b = app.replica_with(with_redis).await;
    let user = a.register("shared").await;
    for replica in [&a, &b, &a, &b] {
        assert_eq!(
            replica.get("/v1/me", Some(&user.token)).await.status,
            StatusCode::OK
        );
    }
    for replica in [&a, &b] {
        replica
            .get("/v1/me", Some(&user.token))
            .await
            .assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    }
    redis.kill();
    let other = a.register("fallback").await;
    for replica in [&a, &b] {
        for _ in 0..4 {
            let r = replica.get("/v1/me", Some(&other.token)).await;
            assert_eq!(r.status, StatusCode::OK, "Redis down: {}", r.body);
        }
        replica
            .get("/v1/me", Some(&other.token))
            .await
            .assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    }
}
