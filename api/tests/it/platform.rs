//! What every endpoint shares: the error shape, headers, limits, docs, health and Redis.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::TestApp;

crate::both!(
    errors_share_one_shape,
    security_headers_and_cors,
    docs_health_and_metrics,
    login_limit_per_ip
);

async fn errors_share_one_shape(app: TestApp) {
    app.get("/v1/nope", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "route_not_found");
    app.send(
        Method::DELETE,
        "/v1/auth/login",
        None,
        serde_json::Value::Null,
    )
    .await
    .assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let big = "x".repeat(70 * 1024);
    let r = app
        .post(
            "/v1/auth/register",
            None,
            json!({"handle": "big", "password": big}),
        )
        .await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let req = Request::post("/v1/auth/login")
        .body(Body::from("{\"handle\":\"a\""))
        .unwrap();
    app.raw(req)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_media_type");
    let req = Request::post("/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from("{\"handle\":"))
        .unwrap();
    app.raw(req)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_json");
}

async fn security_headers_and_cors(app: TestApp) {
    let r = app.get("/healthz", None).await;
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ),
    ] {
        assert_eq!(r.headers[name], value, "{name}");
    }
    assert!(
        r.headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    assert!(!r.headers["x-request-id"].is_empty());
    // A client's request id is kept when it is short and plain, replaced otherwise.
    for (sent, kept) in [
        ("trace-42.a_b", true),
        ("has space", false),
        ("<script>", false),
        (&*"x".repeat(65), false),
    ] {
        let req = axum::http::Request::builder()
            .uri("/healthz")
            .header("x-request-id", sent)
            .body(axum::body::Body::empty())
            .unwrap();
        let got = app.raw(req).await.headers["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(got == sent, kept, "{sent:?} -> {got:?}");
        assert!(got.len() <= 64 && !got.contains(' '), "{got:?}");
    }
    // Errors carry them too.
    assert_eq!(
        app.get("/v1/nope", None).await.headers["x-frame-options"],
        "DENY"
    );

    let mut config = TestApp::config();
    config.cors_origins = vec!["https://app.example.com".into()];
    let app = TestApp::sqlite_with(config).await;
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/v1/feed")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .body(Body::empty())
            .unwrap()
    };
    let ok = app.raw(preflight("https://app.example.com")).await;
    assert_eq!(
        ok.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    let denied = app.raw(preflight("https://evil.example.com")).await;
    assert!(denied.headers.get("access-control-allow-origin").is_none());
}

async fn docs_health_and_metrics(app: TestApp) {
    let r = app.get("/v1/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        r.body["openapi"]
    );
    let paths = r.body["paths"].as_object().unwrap();
    for path in [
        "/v1/auth/login",
        "/v1/feed",
        "/v1/posts/{id}",
        "/v1/search/posts",
        "/v1/users/{id}/follow",
        "/readyz",
        "/v1/admin/model/versions",
        "/v1/admin/model/current",
        "/v1/admin/model/versions/{version}/pin",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    // Every /v1 operation documents the answers any request can get, and those its shape allows.
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/v1/")) {
        for (method, op) in item.as_object().unwrap() {
            let mut want = vec!["400", "401", "429", "503"];
            if path.contains('{') {
                want.push("404");
            }
            if op.get("requestBody").is_some() {
                want.extend(["413", "422"]);
            }
            if op.get("security").is_some() {
                want.push("403");
            }
            for status in want {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{method} {path} does not document {status}"
                );
            }
        }
    }
    assert!(paths.contains_key("/v1/admin/users") && paths.contains_key("/v1/admin/audit"));
    assert!(r.body["components"]["securitySchemes"]["bearer"].is_object());
    let req = Request::get("/docs/").body(Body::empty()).unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), req)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.get("/healthz", None).await.body["status"], "ok");
    let r = app.get("/readyz", None).await;
    assert_eq!(
        (r.status, r.body["database"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let req = Request::get("/metrics").body(Body::empty()).unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), req)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8_lossy(&text);
    for metric in [
        "social_live_model_loaded",
        "social_live_feed_new_post_merges_total",
        "social_live_engine_tombstones",
        "social_live_cpu_workers_idle",
    ] {
        assert!(text.contains(metric), "{metric} missing: {text}");
    }
    // The database going away makes the service unready, with a JSON error.
    app.state.store.pool.close().await;
    app.get("/readyz", None)
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
}

/// Per-IP login limit, in process and (with `REDIS_URL`, or a Redis on 127.0.0.1:6379) in Redis
/// under a fresh prefix.
async fn login_limit_per_ip(app: TestApp) {
    drop(app);
    let mut config = TestApp::config();
    config.trust_forwarded_for = true;
    config.login_max_per_ip = 3;
    let mut configs = vec![config.clone()];
    match crate::redis_url() {
        Some(url) => {
            config.redis_url = Some(url);
            // Unique per run: the SQLite and PostgreSQL runs of this test go at the same time.
            config.redis_prefix = format!("sl-test-{}:", crate::unique());
            configs.push(config);
        }
        None => {
            assert!(
                !crate::require("SOCIAL_LIVE_REQUIRE_REDIS"),
                "REDIS_URL is required"
            );
            eprintln!(
                "note: no Redis (REDIS_URL, 127.0.0.1:6379); skipping the Redis run of the login limit"
            );
        }
    }
    for config in configs {
        let app = TestApp::sqlite_with(config).await;
        app.register("victim").await;
        let attempt = |ip: &'static str| {
            Request::post("/v1/auth/login")
                .header("content-type", "application/json")
                .header("x-forwarded-for", ip)
                .body(Body::from(
                    json!({"handle": "victim", "password": "password123"}).to_string(),
                ))
                .unwrap()
        };
        for _ in 0..3 {
            assert_eq!(app.raw(attempt("10.0.0.1")).await.status, StatusCode::OK);
        }
        app.raw(attempt("10.0.0.1"))
            .await
            .assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        assert_eq!(
            app.raw(attempt("10.0.0.2")).await.status,
            StatusCode::OK,
            "other clients are not limited"
        );
    }
}

/// CPU-heavy work (password hashing, ranking) waits for a free worker at most
/// `cpu_queue_ms`, then is shed with a retryable 503; a request past the timeout is a
/// retryable 503 too. Backend-independent: SQLite only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_and_timeouts_are_retryable_503s() {
    let mut config = TestApp::config();
    config.cpu_workers = 1;
    config.cpu_queue_ms = 50;
    let app = TestApp::sqlite_with(config).await;
    let me = app.register("busy").await;
    let login = json!({"handle": "busy", "password": "password123"});
    // Hold the only CPU worker.
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let cpu = app.state.cpu.clone();
    let held = tokio::spawn(async move { cpu.run(move || wait.recv().unwrap()).await });
    while app.state.cpu.idle() > 0 {
        tokio::task::yield_now().await;
    }
    let r = app.post("/v1/auth/login", None, login.clone()).await;
    r.assert_error(StatusCode::SERVICE_UNAVAILABLE, "overloaded");
    assert_eq!(r.headers["retry-after"], "1");
    app.get("/v1/feed", Some(&me.token))
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "overloaded");
    release.send(()).unwrap();
    held.await.unwrap().unwrap();
    assert_eq!(
        app.post("/v1/auth/login", None, login).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v1/feed", Some(&me.token)).await.status,
        StatusCode::OK
    );

    // A feed request waiting for the held worker longer than the request timeout.
    let mut config = TestApp::config();
    config.request_timeout_secs = 1;
    config.cpu_workers = 1;
    config.cpu_queue_ms = 60_000;
    let app = TestApp::sqlite_with(config).await;
    let me = app.register("slow").await;
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let cpu = app.state.cpu.clone();
    let held = tokio::spawn(async move { cpu.run(move || wait.recv().unwrap()).await });
    while app.state.cpu.idle() > 0 {
        tokio::task::yield_now().await;
    }
    let r = app.get("/v1/feed", Some(&me.token)).await;
    r.assert_error(StatusCode::SERVICE_UNAVAILABLE, "timeout");
    assert_eq!(r.headers["retry-after"], "1");
    release.send(()).unwrap();
    held.await.unwrap().unwrap();
}
