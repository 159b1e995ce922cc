//! Moderation: suspensions, bans and reinstatement (what a restricted account can no longer do,
//! where its posts disappear from), the admins' account list and the audit log.

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Session, TestApp};
use api::store::moderation::Standing;

crate::both!(
    a_ban_refuses_the_account_and_withholds_its_posts_until_reinstated,
    a_suspension_ends_by_itself,
    moderation_rejections,
    accounts_are_listed_filtered_and_paged,
    the_audit_log_records_every_action,
);

fn ids(body: &Value) -> HashSet<i64> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["post"]["id"].as_i64().or(i["id"].as_i64()).unwrap())
        .collect()
}

/// Every place `post` (by `author`) can be listed to `reader`: feed, trending, search, the
/// author's profile, the post itself, comments on `other_post`.
async fn visible(app: &TestApp, reader: &Session, post: i64, comment_on: i64) -> Vec<&'static str> {
    let mut seen = Vec::new();
    let feed = app.get("/v1/feed?limit=50", Some(&reader.token)).await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.body);
    if ids(&feed.body).contains(&post) {
        seen.push("feed");
    }
    let trending = app.get("/v1/trending?limit=50", None).await;
    if ids(&trending.body).contains(&post) {
        seen.push("trending");
    }
    let search = app.get("/v1/search/posts?q=zeppelin", None).await;
    if ids(&search.body).contains(&post) {
        seen.push("search");
    }
    let author = app.get(&format!("/v1/posts/{post}"), None).await;
    if author.status == StatusCode::OK {
        seen.push("post");
        let by = author.body["author"]["id"].as_i64().unwrap();
        let profile = app.get(&format!("/v1/users/{by}/posts"), None).await;
        if ids(&profile.body).contains(&post) {
            seen.push("profile");
        }
    }
    let comments = app
        .get(&format!("/v1/posts/{comment_on}/comments"), None)
        .await;
    if !comments.body["items"].as_array().unwrap().is_empty() {
        seen.push("comments");
    }
    seen
}

async fn a_ban_refuses_the_account_and_withholds_its_posts_until_reinstated(app: TestApp) {
    let admin = app.register_as("warden", "admin").await;
    let spammer = app.register("spammer").await;
    let reader = app.register("reader").await;
    let fan = app.register("fan").await;
    app.put(&format!("/v1/users/{}/follow", spammer.id), &reader.token)
        .await;
    let post = app.create_post(&spammer, "buy zeppelin tickets").await;
    let other = app.create_post(&reader, "my own post").await;
    let r = app
        .post(
            &format!("/v1/posts/{other}/comments"),
            Some(&spammer.token),
            json!({"text": "great, buy zeppelin tickets"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app.put(&format!("/v1/posts/{post}/like"), &fan.token).await;
    let everywhere = ["feed", "trending", "search", "post", "profile", "comments"];
    assert_eq!(visible(&app, &reader, post, other).await, everywhere);

    let r = app
        .post(
            &format!("/v1/admin/users/{}/ban", spammer.id),
            Some(&admin.token),
            json!({"reason": "spam"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "banned");
    assert_eq!(r.body["status_reason"], "spam");
    assert!(r.body["suspended_until"].is_null());
    // Its token, issued before, is refused for reads and writes alike...
    app.get("/v1/me", Some(&spammer.token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "account_banned");
    app.post("/v1/posts", Some(&spammer.token), json!({"text": "more"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "account_banned");
    app.put(&format!("/v1/posts/{other}/like"), &spammer.token)
        .await
        .assert_error(StatusCode::FORBIDDEN, "account_banned");
    // ...it cannot sign in (with the right password) nor refresh...
    app.post(
        "/v1/auth/login",
        None,
        json!({"handle": "spammer", "password": "password123"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "account_banned");
    app.post(
        "/v1/auth/refresh",
        None,
        json!({"refresh_token": spammer.refresh}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "account_banned");
    // ...while a wrong password says nothing about the ban.
    app.post(
        "/v1/auth/login",
        None,
        json!({"handle": "spammer", "password": "wrong-password"}),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    // Its posts and comments are gone from every list; admins still find the post.
    assert!(visible(&app, &reader, post, other).await.is_empty());
    assert_eq!(
        app.get(&format!("/v1/posts/{post}"), Some(&admin.token))
            .await
            .status,
        StatusCode::OK
    );

    let r = app
        .post(
            &format!("/v1/admin/users/{}/reinstate", spammer.id),
            Some(&admin.token),
            json!({"reason": "appeal accepted"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "active");
    // Everything is back.
    assert_eq!(visible(&app, &reader, post, other).await, everywhere);
    // The refused refresh left its token unspent: it works now, once.
    let r = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": spammer.refresh}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let next = r.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next, spammer.refresh);
    assert_eq!(
        app.get("/v1/me", Some(r.body["access_token"].as_str().unwrap()))
            .await
            .status,
        StatusCode::OK
    );
    // A sign-in works too.
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"handle": "spammer", "password": "password123"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        app.get("/v1/me", Some(&spammer.token)).await.status,
        StatusCode::OK
    );
}

async fn a_suspension_ends_by_itself(app: TestApp) {
    let author = app.register("hothead").await;
    let reader = app.register("calm").await;
    app.put(&format!("/v1/users/{}/follow", author.id), &reader.token)
        .await;
    let post = app.create_post(&author, "zeppelin rant").await;
    let until = api::store::now() + 2;
    match app
        .state
        .store
        .set_standing(None, author.id, Standing::Suspended { until }, "cool off")
        .await
        .unwrap()
    {
        api::store::moderation::StandingChange::Changed(position) => {
            app.state.applied(Some(position)).await;
        }
        other => panic!("{other:?}"),
    }
    let r = app.get("/v1/me", Some(&author.token)).await;
    r.assert_error(StatusCode::FORBIDDEN, "account_suspended");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&until.to_string())
    );
    let r = app.get("/v1/search/posts?q=zeppelin", None).await;
    assert!(!ids(&r.body).contains(&post));
    let r = app.get("/v1/feed?limit=50", Some(&reader.token)).await;
    assert!(!ids(&r.body).contains(&post));
    // Its time is up: no write, and everything is back.
    tokio::time::sleep(std::time::Duration::from_millis(
        ((until + 1) * 1000 - api::store::changes::now_ms()).max(0) as u64,
    ))
    .await;
    assert_eq!(
        app.get("/v1/me", Some(&author.token)).await.status,
        StatusCode::OK
    );
    let r = app.get("/v1/search/posts?q=zeppelin", None).await;
    assert!(ids(&r.body).contains(&post), "{}", r.body);
    let r = app.get("/v1/feed?limit=50", Some(&reader.token)).await;
    assert!(ids(&r.body).contains(&post), "{}", r.body);
    let r = app
        .get(
            "/v1/admin/users?handle=hothead&status=active",
            Some(&app.register_as("judge", "admin").await.token),
        )
        .await;
    assert_eq!(r.body["items"][0]["status"], "active", "{}", r.body);
}

async fn moderation_rejections(app: TestApp) {
    let admin = app.register_as("chief", "admin").await;
    let user = app.register("someone").await;
    let suspend = format!("/v1/admin/users/{}/suspend", user.id);
    app.post(
        &suspend,
        Some(&user.token),
        json!({"duration_secs": 3600, "reason": "x"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "insufficient_role");
    app.post(
        &suspend,
        None,
        json!({"duration_secs": 3600, "reason": "x"}),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    for (body, code) in [
        (json!({"duration_secs": 59, "reason": "x"}), "out_of_range"),
        (
            json!({"duration_secs": 400_000_000, "reason": "x"}),
            "out_of_range",
        ),
        (json!({"duration_secs": 3600, "reason": "  "}), "required"),
        (
            json!({"duration_secs": 3600, "reason": "x".repeat(501)}),
            "too_long",
        ),
        (
            json!({"duration_secs": 3600, "reason": "a\u{0}b"}),
            "invalid_characters",
        ),
    ] {
        app.post(&suspend, Some(&admin.token), body.clone())
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    app.post(&suspend, Some(&admin.token), json!({"reason": "x"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_json");
    app.post(
        "/v1/admin/users/999999/ban",
        Some(&admin.token),
        json!({"reason": "x"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "user_not_found");
    app.post(
        &format!("/v1/admin/users/{}/ban", admin.id),
        Some(&admin.token),
        json!({"reason": "oops"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "self_moderation");
    // Another admin can be banned while one in good standing is left...
    let deputy = app.register_as("deputy", "admin").await;
    let r = app
        .post(
            &format!("/v1/admin/users/{}/ban", deputy.id),
            Some(&admin.token),
            json!({"reason": "rogue"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // ...and then the chief is the last: it can be neither banned nor demoted.
    match app
        .state
        .store
        .set_standing(None, admin.id, Standing::Banned, "x")
        .await
        .unwrap()
    {
        api::store::moderation::StandingChange::LastAdmin => {}
        other => panic!("{other:?}"),
    }
    app.send(
        Method::PUT,
        &format!("/v1/admin/users/{}/role", admin.id),
        Some(&admin.token),
        json!({"role": "user"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "last_admin");
    for bad in [
        "/v1/admin/users?limit=0",
        "/v1/admin/users?limit=101",
        "/v1/admin/audit?limit=0",
    ] {
        app.get(bad, Some(&admin.token))
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
    }
    app.get(
        &format!("/v1/admin/users?handle={}", "a".repeat(31)),
        Some(&admin.token),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
    for bad in [
        "/v1/admin/users?role=root",
        "/v1/admin/users?status=gone",
        "/v1/admin/audit?actor=x",
    ] {
        app.get(bad, Some(&admin.token))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_query");
    }
    for bad in ["/v1/admin/users?cursor=nope", "/v1/admin/audit?cursor=nope"] {
        app.get(bad, Some(&admin.token))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_cursor");
    }
}

async fn accounts_are_listed_filtered_and_paged(app: TestApp) {
    let admin = app.register_as("keeper", "admin").await;
    let mut made = Vec::new();
    for handle in ["zed_a", "zed_b", "zed_c", "zeta_d", "z_e_"] {
        made.push(app.register(handle).await);
    }
    let get = |uri: String| {
        let app = &app;
        let token = admin.token.clone();
        async move {
            let r = app.get(&uri, Some(&token)).await;
            assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
            r.body
        }
    };
    let handles = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["handle"].as_str().unwrap().to_owned())
            .collect()
    };
    // A prefix, newest first, paged two at a time.
    let mut seen = Vec::new();
    let mut uri = "/v1/admin/users?handle=ZED_&limit=2".to_owned();
    loop {
        let body = get(uri.clone()).await;
        seen.extend(handles(&body));
        match body["next_cursor"].as_str() {
            Some(c) => uri = format!("/v1/admin/users?handle=zed_&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["zed_c", "zed_b", "zed_a"]);
    // `_` and `%` are matched literally.
    assert_eq!(
        handles(&get("/v1/admin/users?handle=z_".into()).await),
        ["z_e_"]
    );
    assert!(handles(&get("/v1/admin/users?handle=%25".into()).await).is_empty());
    assert_eq!(
        handles(&get("/v1/admin/users?role=admin".into()).await),
        ["keeper"]
    );
    app.post(
        &format!("/v1/admin/users/{}/suspend", made[0].id),
        Some(&admin.token),
        json!({"duration_secs": 3600, "reason": "heated"}),
    )
    .await;
    app.post(
        &format!("/v1/admin/users/{}/ban", made[1].id),
        Some(&admin.token),
        json!({"reason": "spam"}),
    )
    .await;
    let body = get("/v1/admin/users?status=suspended".into()).await;
    assert_eq!(handles(&body), ["zed_a"]);
    let until = body["items"][0]["suspended_until"].as_i64().unwrap();
    assert!((until - api::store::now() - 3600).abs() <= 2, "{until}");
    assert_eq!(
        handles(&get("/v1/admin/users?status=banned".into()).await),
        ["zed_b"]
    );
    let active = handles(&get("/v1/admin/users?status=active&handle=zed".into()).await);
    assert_eq!(active, ["zed_c"]);
}

async fn the_audit_log_records_every_action(app: TestApp) {
    let admin = app.register_as("auditor", "admin").await;
    let target = app.register("subject").await;
    let other = app.register("bystander").await;
    let uri = |id: i64, what: &str| format!("/v1/admin/users/{id}/{what}");
    app.send(
        Method::PUT,
        &format!("/v1/admin/users/{}/role", target.id),
        Some(&admin.token),
        json!({"role": "creator", "reason": "verified"}),
    )
    .await;
    app.post(
        &uri(target.id, "suspend"),
        Some(&admin.token),
        json!({"duration_secs": 600, "reason": "flame war"}),
    )
    .await;
    app.post(
        &uri(target.id, "ban"),
        Some(&admin.token),
        json!({"reason": "again"}),
    )
    .await;
    app.post(
        &uri(target.id, "reinstate"),
        Some(&admin.token),
        json!({"reason": "appeal"}),
    )
    .await;
    app.post(
        &uri(other.id, "ban"),
        Some(&admin.token),
        json!({"reason": "bot"}),
    )
    .await;
    let r = app
        .get(
            &format!("/v1/admin/audit?target_user={}", target.id),
            Some(&admin.token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["reinstated", "banned", "suspended", "role_changed"]
    );
    let reasons: Vec<&str> = items
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["appeal", "again", "flame war", "verified"]);
    assert!(items.iter().all(|e| e["actor"] == admin.id));
    assert_eq!(
        items[3]["details"],
        json!({"from": "user", "to": "creator"})
    );
    assert_eq!(items[0]["details"], json!({"was": "banned"}));
    assert!(items[2]["details"]["until"].as_i64().unwrap() > api::store::now());
    // Filters and pages.
    let r = app
        .get("/v1/admin/audit?action=banned&limit=1", Some(&admin.token))
        .await;
    assert_eq!(r.body["items"][0]["target_user"], other.id);
    let c = r.body["next_cursor"].as_str().unwrap();
    let r = app
        .get(
            &format!("/v1/admin/audit?action=banned&limit=1&cursor={c}"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(r.body["items"][0]["target_user"], target.id);
    assert!(r.body["next_cursor"].is_null());
    let r = app
        .get(
            &format!("/v1/admin/audit?actor={}", admin.id + 1000),
            Some(&admin.token),
        )
        .await;
    assert!(r.body["items"].as_array().unwrap().is_empty());
    // Not for users.
    app.get("/v1/admin/audit", Some(&other.token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "account_banned");
    app.get("/v1/admin/audit", Some(&target.token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "insufficient_role");
}
