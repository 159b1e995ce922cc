//! Profiles, follows, blocks, mutes and the list pagination they share.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::TestApp;

crate::both!(
    profiles,
    follows_and_lists,
    follow_rejections,
    blocks_and_mutes,
    pagination_rejections
);

async fn profiles(app: TestApp) {
    let s = app.register("alice").await;
    let r = app
        .send(
            Method::PATCH,
            "/v1/me",
            Some(&s.token),
            json!({"display_name": "Alice A.", "bio": "<b>hi</b>"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["display_name"], "Alice A.");
    assert_eq!(r.body["bio"], "<b>hi</b>", "text is stored as sent");
    let r = app.get(&format!("/v1/users/{}", s.id), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["handle"], "alice");
    assert_eq!(r.body["bio"], "<b>hi</b>");
    let r = app
        .send(
            Method::PATCH,
            "/v1/me",
            Some(&s.token),
            json!({"display_name": ""}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "required");
    let r = app
        .send(
            Method::PATCH,
            "/v1/me",
            Some(&s.token),
            json!({"bio": "x".repeat(301)}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "too_long");
    assert_eq!(r.body["error"]["field"], "bio");
    app.get("/v1/users/424242", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "user_not_found");
    app.get("/v1/users/abc", None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
}

async fn follows_and_lists(app: TestApp) {
    let a = app.register("anna").await;
    let mut others = Vec::new();
    for i in 0..5 {
        let s = app.register(&format!("fan_{i}")).await;
        assert_eq!(
            app.put(&format!("/v1/users/{}/follow", a.id), &s.token)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        others.push(s);
    }
    // Idempotent.
    assert_eq!(
        app.put(&format!("/v1/users/{}/follow", a.id), &others[0].token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let profile = app.get(&format!("/v1/users/{}", a.id), None).await;
    assert_eq!(profile.body["followers"], 5);
    // Pages of 2: 2 + 2 + 1, newest account first, no repeats.
    let mut seen = Vec::new();
    let mut uri = format!("/v1/users/{}/followers?limit=2", a.id);
    loop {
        let r = app.get(&uri, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        seen.extend(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_i64().unwrap()),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => uri = format!("/v1/users/{}/followers?limit=2&cursor={c}", a.id),
            None => break,
        }
    }
    let mut expected: Vec<i64> = others.iter().map(|s| s.id).collect();
    expected.reverse();
    assert_eq!(seen, expected);
    let r = app
        .get(&format!("/v1/users/{}/following", others[0].id), None)
        .await;
    assert_eq!(r.body["items"][0]["id"], a.id);
    assert!(r.body["next_cursor"].is_null());
    assert_eq!(
        app.delete(&format!("/v1/users/{}/follow", a.id), &others[0].token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = app
        .get(&format!("/v1/users/{}/following", others[0].id), None)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
    assert_eq!(
        app.get(&format!("/v1/users/{}", a.id), None).await.body["followers"],
        4
    );
}

async fn follow_rejections(app: TestApp) {
    let a = app.register("ben").await;
    app.put(&format!("/v1/users/{}/follow", a.id), &a.token)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "cannot_follow_self");
    app.put("/v1/users/999999/follow", &a.token)
        .await
        .assert_error(StatusCode::NOT_FOUND, "user_not_found");
    app.put("/v1/users/x1/follow", &a.token)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
    let r = app
        .send(
            Method::PUT,
            "/v1/users/1/follow",
            None,
            serde_json::Value::Null,
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "missing_token");
}

async fn blocks_and_mutes(app: TestApp) {
    let a = app.register("cara").await;
    let b = app.register("dan").await;
    app.put(&format!("/v1/users/{}/follow", a.id), &b.token)
        .await;
    app.put(&format!("/v1/users/{}/follow", b.id), &a.token)
        .await;
    assert_eq!(
        app.put(&format!("/v1/users/{}/block", b.id), &a.token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    // The block removed both follows, and dan cannot follow cara again.
    assert_eq!(
        app.get(&format!("/v1/users/{}", a.id), None).await.body["followers"],
        0
    );
    assert_eq!(
        app.get(&format!("/v1/users/{}", a.id), None).await.body["following"],
        0
    );
    app.put(&format!("/v1/users/{}/follow", a.id), &b.token)
        .await
        .assert_error(StatusCode::FORBIDDEN, "blocked");
    assert!(app.hidden(a.id).await.contains(&b.id));
    // Unblocking lets them follow again.
    assert_eq!(
        app.delete(&format!("/v1/users/{}/block", b.id), &a.token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert!(!app.hidden(a.id).await.contains(&b.id));
    assert_eq!(
        app.put(&format!("/v1/users/{}/follow", a.id), &b.token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    // A mute hides without unfollowing; lifting a mute while a block remains keeps hiding.
    assert_eq!(
        app.put(&format!("/v1/users/{}/mute", a.id), &b.token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert!(app.hidden(b.id).await.contains(&a.id));
    assert_eq!(
        app.get(&format!("/v1/users/{}", b.id), None).await.body["following"],
        1
    );
    app.put(&format!("/v1/users/{}/block", a.id), &b.token)
        .await;
    app.delete(&format!("/v1/users/{}/mute", a.id), &b.token)
        .await;
    assert!(app.hidden(b.id).await.contains(&a.id), "still blocked");
    app.put(&format!("/v1/users/{}/mute", b.id), &b.token)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "cannot_hide_self");
    app.put("/v1/users/777777/block", &b.token)
        .await
        .assert_error(StatusCode::NOT_FOUND, "user_not_found");
}

async fn pagination_rejections(app: TestApp) {
    let a = app.register("eve").await;
    let base = format!("/v1/users/{}/followers", a.id);
    app.get(&format!("{base}?limit=0"), None)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
    app.get(&format!("{base}?limit=101"), None)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
    app.get(&format!("{base}?limit=abc"), None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_query");
    app.get(&format!("{base}?cursor=not-a-cursor"), None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_cursor");
    // A cursor of another list is refused too.
    let other = api::http::pagination::encode("posts", 5);
    app.get(&format!("{base}?cursor={other}"), None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_cursor");
}
