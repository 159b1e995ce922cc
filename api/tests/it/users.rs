//! Profiles, follows, blocks, mutes and the list pagination they share.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::TestApp;

crate::both!(
    profiles,
    follows_and_lists,
    follow_rejections,
    blocks_and_mutes,
    pagination_rejections,
    user_context_equals_a_scan_of_the_tables
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

/// The one-statement context read against a brute force over the tables: every part, its
/// order and its bounds.
async fn user_context_equals_a_scan_of_the_tables(app: TestApp) {
    use api::store::context::ContextLimits;
    use engine::{InteractionKind, PostId, UserId};
    let me = app.register("ctx_me").await;
    let others = [
        app.register("ctx_a").await,
        app.register("ctx_b").await,
        app.register("ctx_c").await,
        app.register("ctx_d").await,
    ];
    let mut posts = Vec::new();
    for (i, other) in others.iter().enumerate() {
        for j in 0..4 {
            posts.push(app.create_post(other, &format!("post {i}.{j}")).await);
        }
    }
    for other in &others[..3] {
        app.put(&format!("/v1/users/{}/follow", other.id), &me.token)
            .await;
    }
    app.put(&format!("/v1/users/{}/mute", others[2].id), &me.token)
        .await;
    app.put(&format!("/v1/users/{}/block", others[2].id), &me.token)
        .await;
    app.put(&format!("/v1/users/{}/block", me.id), &others[3].token)
        .await;
    for (i, post) in posts.iter().enumerate() {
        match i % 3 {
            0 => {
                app.put(&format!("/v1/posts/{post}/like"), &me.token).await;
            }
            1 => {
                app.post(
                    &format!("/v1/posts/{post}/comments"),
                    Some(&me.token),
                    serde_json::json!({"text": "hm"}),
                )
                .await;
            }
            _ => {}
        }
        app.post(
            "/v1/views",
            Some(&me.token),
            serde_json::json!({ "post_ids": [post] }),
        )
        .await;
    }
    let limits = ContextLimits {
        interactions: 7,
        seen: 5,
        followees: 2,
    };
    let got = app.state.store.user_context(me.id, limits).await.unwrap();
    let pool = &app.state.store.pool;
    let rows = |sql: &'static str| async move {
        sqlx::query_as::<_, (i64, i64)>(sql)
            .bind(me.id)
            .fetch_all(pool)
            .await
            .unwrap()
    };
    let follows = rows(
        "SELECT followee_id, created_at FROM follows WHERE follower_id = $1 \
         ORDER BY created_at DESC, followee_id DESC",
    )
    .await;
    let want_followees: Vec<UserId> = follows.iter().take(2).map(|r| UserId(r.0)).collect();
    assert_eq!(got.followees, want_followees);
    let mut hidden: Vec<UserId> = vec![UserId(others[2].id), UserId(others[3].id)];
    hidden.sort_unstable();
    assert_eq!(
        got.hidden, hidden,
        "muted and blocked once, and who blocked me"
    );
    let mut all = Vec::new();
    for (sql, kind) in [
        (
            "SELECT post_id, created_at FROM likes WHERE user_id = $1",
            InteractionKind::Like,
        ),
        (
            "SELECT post_id, created_at FROM comments WHERE author_id = $1",
            InteractionKind::Comment,
        ),
        (
            "SELECT post_id, created_at FROM views WHERE user_id = $1",
            InteractionKind::View,
        ),
    ] {
        for (post, at) in rows(sql).await {
            all.push((at, kind, post));
        }
    }
    let rank = |k: InteractionKind| match k {
        InteractionKind::Comment => 0,
        InteractionKind::Like => 1,
        InteractionKind::Share => 2,
        InteractionKind::View => 3,
    };
    all.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(rank(a.1).cmp(&rank(b.1)))
            .then(b.2.cmp(&a.2))
    });
    // Each kind is cut to its newest `interactions` (views to `seen`'s larger bound) before the
    // merge; with every post viewed and a third liked or commented, the first 7 overall are
    // within those cuts.
    let want: Vec<(i64, InteractionKind, i64)> = all.iter().take(7).copied().collect();
    let got_interactions: Vec<(i64, InteractionKind, i64)> = got
        .interactions
        .iter()
        .map(|i| (i.at, i.kind, i.post.0))
        .collect();
    assert_eq!(got_interactions, want);
    let mut views: Vec<(i64, i64)> =
        rows("SELECT post_id, created_at FROM views WHERE user_id = $1").await;
    views.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    let want_seen: Vec<PostId> = views.iter().take(5).map(|v| PostId(v.0)).collect();
    assert_eq!(got.seen, want_seen);
}
