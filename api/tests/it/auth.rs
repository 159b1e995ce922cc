//! Sign-up, sign-in, token rotation, roles and login limits.

use axum::http::StatusCode;
use serde_json::json;

use crate::TestApp;

crate::both!(
    register_login_and_me,
    registration_rejections,
    login_rejections_and_account_limit,
    refresh_rotates_and_reuse_revokes_the_family,
    logout_revokes,
    change_password,
    token_rejections,
    roles_are_checked,
);

async fn register_login_and_me(app: TestApp) {
    let r = app
        .post(
            "/v1/auth/register",
            None,
            json!({"handle": "Alice_1", "password": "password123", "display_name": "Alice"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["user"]["handle"], "alice_1");
    assert_eq!(r.body["user"]["display_name"], "Alice");
    assert_eq!(r.body["user"]["role"], "user");
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    assert!(r.body.get("password_hash").is_none() && r.body["user"].get("password_hash").is_none());

    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"handle": "ALICE_1", "password": "password123"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let token = r.body["access_token"].as_str().unwrap().to_owned();
    let me = app.get("/v1/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["handle"], "alice_1");
    assert_eq!(
        (me.body["followers"].as_i64(), me.body["posts"].as_i64()),
        (Some(0), Some(0))
    );
}

async fn registration_rejections(app: TestApp) {
    let cases = [
        (
            json!({"handle": "ab", "password": "password123"}),
            "handle",
            "invalid_handle",
        ),
        (
            json!({"handle": "semi;colon", "password": "password123"}),
            "handle",
            "invalid_handle",
        ),
        (
            json!({"handle": "bob", "password": "short"}),
            "password",
            "password_too_short",
        ),
        (
            json!({"handle": "bob", "password": "x".repeat(129)}),
            "password",
            "password_too_long",
        ),
        (
            json!({"handle": "bob", "password": "password123", "display_name": "x".repeat(51)}),
            "display_name",
            "too_long",
        ),
    ];
    for (body, field, code) in cases {
        let r = app.post("/v1/auth/register", None, body).await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, code);
        assert_eq!(r.body["error"]["field"], field);
    }
    app.register("bob").await;
    let r = app
        .post(
            "/v1/auth/register",
            None,
            json!({"handle": "BOB", "password": "password123"}),
        )
        .await;
    r.assert_error(StatusCode::CONFLICT, "handle_taken");
    let r = app
        .post("/v1/auth/register", None, json!({"handle": "carol"}))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_json");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("password"),
        "{}",
        r.body
    );
    let r = app
        .post("/v1/auth/register", None, json!("just a string"))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_json");
}

async fn login_rejections_and_account_limit(app: TestApp) {
    app.register("dave").await;
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"handle": "nobody", "password": "password123"}),
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    for _ in 0..5 {
        let r = app
            .post(
                "/v1/auth/login",
                None,
                json!({"handle": "dave", "password": "wrong-password"}),
            )
            .await;
        r.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    // The account is now locked for the window, even with the right password.
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"handle": "dave", "password": "password123"}),
        )
        .await;
    r.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry));
}

async fn refresh_rotates_and_reuse_revokes_the_family(app: TestApp) {
    let s = app.register("erin").await;
    let r = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": s.refresh}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let second = r.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, s.refresh);
    assert_eq!(
        app.get("/v1/me", r.body["access_token"].as_str())
            .await
            .status,
        StatusCode::OK
    );
    // Presenting the spent token again revokes the whole sign-in, including the new token.
    let r = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": s.refresh}),
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    let r = app
        .post("/v1/auth/refresh", None, json!({"refresh_token": second}))
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    let r = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": "garbage"}),
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    // Another sign-in of the same user is unaffected.
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"handle": "erin", "password": "password123"}),
        )
        .await;
    let other = r.body["refresh_token"].as_str().unwrap().to_owned();
    let r = app
        .post("/v1/auth/refresh", None, json!({"refresh_token": other}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn logout_revokes(app: TestApp) {
    let s = app.register("frank").await;
    let r = app
        .post("/v1/auth/logout", None, json!({"refresh_token": s.refresh}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": s.refresh}),
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    let r = app
        .post("/v1/auth/logout", None, json!({"refresh_token": "unknown"}))
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
}

async fn change_password(app: TestApp) {
    let s = app.register("gina").await;
    let path = "/v1/auth/password";
    let r = app
        .post(
            path,
            Some(&s.token),
            json!({"current_password": "nope-nope", "new_password": "new-password-1"}),
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let r = app
        .post(
            path,
            Some(&s.token),
            json!({"current_password": "password123", "new_password": "short"}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "password_too_short");
    assert_eq!(r.body["error"]["field"], "new_password");
    let r = app
        .post(
            path,
            None,
            json!({"current_password": "password123", "new_password": "new-password-1"}),
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    let r = app
        .post(
            path,
            Some(&s.token),
            json!({"current_password": "password123", "new_password": "new-password-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"handle": "gina", "password": "password123"}),
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"handle": "gina", "password": "new-password-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Refresh tokens issued before the change are revoked.
    let r = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": s.refresh}),
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");
}

async fn token_rejections(app: TestApp) {
    let s = app.register("hank").await;
    app.get("/v1/me", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    app.get("/v1/me", Some("garbage"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let expired = app
        .state
        .keys
        .issue(s.id, api::auth::Role::User, api::store::now() - 3600)
        .unwrap();
    app.get("/v1/me", Some(&expired))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_expired");
    let foreign = api::auth::jwt::Keys::from_secret(&[9u8; 32], 900)
        .unwrap()
        .issue(s.id, api::auth::Role::Admin, api::store::now())
        .unwrap();
    app.get("/v1/me", Some(&foreign))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let req = axum::http::Request::builder()
        .uri("/v1/me")
        .header("authorization", format!("Basic {}", s.token))
        .body(axum::body::Body::empty())
        .unwrap();
    app.raw(req)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
}

async fn roles_are_checked(app: TestApp) {
    let user = app.register("ivan").await;
    let creator = app.register_as("judy", "creator").await;
    let admin = app.register_as("kate", "admin").await;
    app.get("/v1/creator/stats", Some(&user.token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "insufficient_role");
    let r = app.get("/v1/creator/stats", Some(&creator.token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["followers"], 0);
    app.get("/v1/admin/model", Some(&creator.token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "insufficient_role");
    let r = app.get("/v1/admin/model", Some(&admin.token)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["has_model"], false);
    assert_eq!(r.body["model_version"], "");
    let uri = format!("/v1/admin/users/{}/role", user.id);
    let r = app
        .send(
            axum::http::Method::PUT,
            &uri,
            Some(&user.token),
            json!({"role": "admin"}),
        )
        .await;
    r.assert_error(StatusCode::FORBIDDEN, "insufficient_role");
    let r = app
        .send(
            axum::http::Method::PUT,
            &uri,
            Some(&admin.token),
            json!({"role": "creator"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["role"], "creator");
    let r = app
        .send(
            axum::http::Method::PUT,
            &uri,
            Some(&admin.token),
            json!({"role": "root"}),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_json");
    let r = app
        .send(
            axum::http::Method::PUT,
            "/v1/admin/users/999999/role",
            Some(&admin.token),
            json!({"role": "user"}),
        )
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "user_not_found");
    // The new role shows in tokens issued after the change.
    let r = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": user.refresh}),
        )
        .await;
    let token = r.body["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/v1/creator/stats", Some(token)).await.status,
        StatusCode::OK
    );
}
