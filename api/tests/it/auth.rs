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
    a_demoted_admin_loses_its_rights_at_once,
    sessions_are_listed_and_ended,
    a_deleted_account_is_refused,
    parallel_refreshes_of_one_token,
    names_cannot_hide_text_or_impersonate_staff,
);

crate::both_with!(
    |c: &mut api::ServeConfig| {
        c.trust_forwarded_for = true;
        c.login_slowdown_after = 8;
    },
    failed_logins_cannot_lock_the_owner_out,
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
    // Handles no account can have (a NUL byte used to be a 500 on PostgreSQL).
    for handle in [
        "da\u{0}ve",
        "x",
        "dave; DROP TABLE users",
        &"d".repeat(5_000),
    ] {
        let r = app
            .post(
                "/v1/auth/login",
                None,
                json!({"handle": handle, "password": "password123"}),
            )
            .await;
        r.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
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
    // The account is now locked for this client for the window, even with the right password
    // (another client is not: `failed_logins_cannot_lock_the_owner_out`).
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
    r.assert_error(StatusCode::UNAUTHORIZED, "session_ended");
    // The sign-in's access tokens stop working too.
    app.get("/v1/me", Some(&s.token))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "session_ended");
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
    assert_eq!(
        app.get("/v1/me", Some(&s.token)).await.status,
        StatusCode::OK
    );
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
    r.assert_error(StatusCode::UNAUTHORIZED, "session_ended");
    // The access token of the ended sign-in is refused at once, long before it expires.
    app.get("/v1/me", Some(&s.token))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "session_ended");
    let r = app
        .post("/v1/auth/logout", None, json!({"refresh_token": s.refresh}))
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    let r = app
        .post("/v1/auth/logout", None, json!({"refresh_token": "unknown"}))
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
}

async fn change_password(app: TestApp) {
    let s = app.register("gina").await;
    let other = login(&app, "gina", "password123").await;
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
    // Every other sign-in ended: its refresh and access tokens are refused...
    let r = app
        .post("/v1/auth/refresh", None, json!({"refresh_token": other.1}))
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "session_ended");
    app.get("/v1/me", Some(&other.0))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "session_ended");
    // ...while the one that changed the password goes on.
    assert_eq!(
        app.get("/v1/me", Some(&s.token)).await.status,
        StatusCode::OK
    );
    let r = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": s.refresh}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// Signs in; the access and refresh tokens.
async fn login(app: &TestApp, handle: &str, password: &str) -> (String, String) {
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"handle": handle, "password": password}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (
        r.body["access_token"].as_str().unwrap().to_owned(),
        r.body["refresh_token"].as_str().unwrap().to_owned(),
    )
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
        .issue(s.id, 1, api::store::now() - 3600)
        .unwrap();
    app.get("/v1/me", Some(&expired))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_expired");
    let foreign = api::auth::jwt::Keys::from_secret(&[9u8; 32], 900)
        .unwrap()
        .issue(s.id, 1, api::store::now())
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
    // The new role holds at once, for the token issued before the change too.
    assert_eq!(
        app.get("/v1/creator/stats", Some(&user.token)).await.status,
        StatusCode::OK
    );
}

async fn a_demoted_admin_loses_its_rights_at_once(app: TestApp) {
    let root = app.register_as("root_admin", "admin").await;
    let rogue = app.register_as("rogue", "admin").await;
    let role = |id: i64| format!("/v1/admin/users/{id}/role");
    assert_eq!(
        app.get("/v1/admin/model", Some(&rogue.token)).await.status,
        StatusCode::OK
    );
    let r = app
        .send(
            axum::http::Method::PUT,
            &role(rogue.id),
            Some(&root.token),
            json!({"role": "user"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The demoted admin's token, issued while it was admin, has no admin rights any more...
    app.get("/v1/admin/model", Some(&rogue.token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "insufficient_role");
    // ...and cannot promote itself back.
    app.send(
        axum::http::Method::PUT,
        &role(rogue.id),
        Some(&rogue.token),
        json!({"role": "admin"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "insufficient_role");
    let r = app.get("/v1/me", Some(&rogue.token)).await;
    assert_eq!(r.body["role"], "user", "{}", r.body);
    // The last admin cannot demote itself.
    app.send(
        axum::http::Method::PUT,
        &role(root.id),
        Some(&root.token),
        json!({"role": "user"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "last_admin");
    assert_eq!(
        app.get("/v1/admin/model", Some(&root.token)).await.status,
        StatusCode::OK
    );
    // Setting the role it has changes nothing and answers the user.
    let r = app
        .send(
            axum::http::Method::PUT,
            &role(root.id),
            Some(&root.token),
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn sessions_are_listed_and_ended(app: TestApp) {
    let s = app.register("sam").await;
    let req = axum::http::Request::builder()
        .method(axum::http::Method::POST)
        .uri("/v1/auth/login")
        .header("content-type", "application/json")
        .header("user-agent", "Phone\tApp/1.0")
        .body(axum::body::Body::from(
            json!({"handle": "sam", "password": "password123"}).to_string(),
        ))
        .unwrap();
    let r = app.raw(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let phone = r.body["access_token"].as_str().unwrap().to_owned();
    let r = app.get("/v1/me/sessions", Some(&s.token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", r.body);
    // Newest first; the control character of the user agent is dropped.
    assert_eq!(items[0]["device"], "PhoneApp/1.0");
    assert_eq!(items[0]["current"], false);
    assert_eq!(items[1]["current"], true);
    let phone_id = items[0]["id"].as_i64().unwrap();
    let mine = items[1]["id"].as_i64().unwrap();
    // Another user cannot end it.
    let eve = app.register("eve").await;
    let uri = format!("/v1/me/sessions/{phone_id}");
    app.send(
        axum::http::Method::DELETE,
        &uri,
        Some(&eve.token),
        serde_json::Value::Null,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "session_not_found");
    assert_eq!(app.get("/v1/me", Some(&phone)).await.status, StatusCode::OK);
    let r = app
        .send(
            axum::http::Method::DELETE,
            &uri,
            Some(&s.token),
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.get("/v1/me", Some(&phone))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "session_ended");
    app.send(
        axum::http::Method::DELETE,
        &uri,
        Some(&s.token),
        serde_json::Value::Null,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "session_not_found");
    app.send(
        axum::http::Method::DELETE,
        "/v1/me/sessions/abc",
        Some(&s.token),
        serde_json::Value::Null,
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
    let r = app.get("/v1/me/sessions", Some(&s.token)).await;
    let ids: Vec<i64> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![mine]);
    // Ending my own sign-in ends this token.
    let uri = format!("/v1/me/sessions/{mine}");
    let r = app
        .send(
            axum::http::Method::DELETE,
            &uri,
            Some(&s.token),
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    app.get("/v1/me", Some(&s.token))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "session_ended");
}

/// A valid token of an account deleted meanwhile is a 401, for reads and writes (it used to be
/// a 500 from a foreign-key violation).
async fn a_deleted_account_is_refused(app: TestApp) {
    let s = app.register("gone").await;
    assert_eq!(
        app.get("/v1/me", Some(&s.token)).await.status,
        StatusCode::OK
    );
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(s.id)
        .execute(&app.state.store.pool)
        .await
        .unwrap();
    // No change record says so: the cache entry lives on, but its session went with the
    // account (ON DELETE CASCADE) and a fresh read finds no account.
    app.state.principals.invalidate(s.id).await;
    app.get("/v1/me", Some(&s.token))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    app.post("/v1/posts", Some(&s.token), json!({"text": "hello"}))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
}

/// The same refresh token presented 8 times at once: exactly one new pair, every other answer
/// a 401 (never a 500 "database is locked" on SQLite), and the sign-in ends (a reuse).
async fn parallel_refreshes_of_one_token(app: TestApp) {
    let s = app.register("racer").await;
    let replies = futures_util::future::join_all((0..8).map(|_| {
        app.post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": s.refresh}),
        )
    }))
    .await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        r.assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    }
    app.get("/v1/me", Some(&s.token))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "session_ended");
}

/// An attacker failing on purpose from one address is refused after five failures; the owner,
/// from another address, signs in all the same. Failures spread over many addresses slow every
/// login to the account down (a second each past `login_slowdown_after`) but refuse none.
async fn failed_logins_cannot_lock_the_owner_out(app: TestApp) {
    app.register("owner").await;
    let login = |ip: &'static str, password: &'static str| {
        let app = &app;
        async move {
            let req = axum::http::Request::post("/v1/auth/login")
                .header("content-type", "application/json")
                .header("x-forwarded-for", ip)
                .body(axum::body::Body::from(
                    json!({"handle": "owner", "password": password}).to_string(),
                ))
                .unwrap();
            app.raw(req).await
        }
    };
    for _ in 0..5 {
        login("10.0.0.1", "wrong-password")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    login("10.0.0.1", "password123")
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let r = login("10.0.0.2", "password123").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Three more addresses fail (8 failures on the account): logins slow down, still succeed.
    for ip in ["10.0.0.3", "10.0.0.4", "10.0.0.5"] {
        login(ip, "wrong-password")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    let started = std::time::Instant::now();
    let r = login("10.0.0.6", "password123").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(950),
        "no slowdown after 8 failures: {:?}",
        started.elapsed()
    );
}

/// Display names and bios refuse invisible and text-direction characters; names that pass for a
/// reserved staff name under the Unicode confusable skeleton are refused, except for admins.
async fn names_cannot_hide_text_or_impersonate_staff(app: TestApp) {
    let register = |handle: &'static str, name: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/v1/auth/register",
                None,
                json!({"handle": handle, "password": "password123", "display_name": name}),
            )
            .await
        }
    };
    for (name, code) in [
        ("evil\u{202E}gnp.exe", "invisible_characters"),
        ("zero\u{200B}width", "invisible_characters"),
        ("\u{3164}", "invisible_characters"),
        ("Admin", "impersonation"),
        ("\u{0430}dmin", "impersonation"), // Cyrillic а
        ("\u{FF21}\u{FF44}\u{FF4D}\u{FF49}\u{FF4E}", "impersonation"), // fullwidth
        ("@Mod", "impersonation"),
        ("S U P P O R T", "impersonation"),
    ] {
        let r = register("newbie", name).await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, code);
        assert_eq!(r.body["error"]["field"], "display_name", "{name}");
    }
    register("admin", "Someone")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "impersonation");
    // Ordinary names, accents, scripts and emoji are fine.
    for (handle, name) in [
        ("ann", "Ann-Marie"),
        ("jose", "José"),
        ("yuki", "雪"),
        ("adminton", "Badminton fan"),
    ] {
        let r = register(handle, name).await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.body);
    }
    let s = app.register("editor").await;
    let patch = |body: serde_json::Value| {
        let app = &app;
        let token = s.token.clone();
        async move {
            app.send(axum::http::Method::PATCH, "/v1/me", Some(&token), body)
                .await
        }
    };
    patch(json!({"display_name": "Staff"}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "impersonation");
    patch(json!({"bio": "hidden\u{2066}text"}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invisible_characters");
    // A bio keeps its emoji sequences (joiners, variation selectors).
    let r = patch(
        json!({"bio": "family \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} \u{2764}\u{FE0F}"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Admins may be called Admin.
    let boss = app.register_as("bossy", "admin").await;
    let r = app
        .send(
            axum::http::Method::PATCH,
            "/v1/me",
            Some(&boss.token),
            json!({"display_name": "Admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
