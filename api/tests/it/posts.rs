//! Posts, likes, comments and impressions.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::TestApp;

crate::both!(
    post_lifecycle,
    post_rejections,
    ownership,
    likes_comments_and_views,
    interaction_rejections,
    creator_stats_count_the_audience,
    blocks_hold_for_likes_comments_follows_and_reads,
    a_block_committing_during_a_write_refuses_it,
);

async fn post_lifecycle(app: TestApp) {
    let s = app.register("poster").await;
    let text = "Hello <script>alert(1)</script> #Rust '; DROP TABLE posts; --";
    let r = app
        .post(
            "/v1/posts",
            Some(&s.token),
            json!({"text": text, "topics": ["db"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["text"], text, "stored as sent");
    assert_eq!(
        r.body["text_html"],
        "Hello &lt;script&gt;alert(1)&lt;/script&gt; #Rust &#39;; DROP TABLE posts; --"
    );
    assert_eq!(r.body["topics"], json!(["db", "rust"]));
    assert_eq!(r.body["author"]["handle"], "poster");
    let r = app.get(&format!("/v1/posts/{id}"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["text"], text);
    // Edit keeps topics unless given, and adds new hashtags.
    let r = app
        .send(
            Method::PATCH,
            &format!("/v1/posts/{id}"),
            Some(&s.token),
            json!({"text": "edited #news"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["text"], "edited #news");
    assert_eq!(r.body["topics"], json!(["db", "rust", "news"]));
    // Listing by author, newest first, paginated.
    let second = app.create_post(&s, "second").await;
    let third = app.create_post(&s, "third").await;
    let r = app
        .get(&format!("/v1/users/{}/posts?limit=2", s.id), None)
        .await;
    let ids: Vec<i64> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![third, second]);
    let cursor = r.body["next_cursor"].as_str().unwrap();
    let r = app
        .get(
            &format!("/v1/users/{}/posts?limit=2&cursor={cursor}", s.id),
            None,
        )
        .await;
    assert_eq!(r.body["items"][0]["id"], id);
    assert!(r.body["next_cursor"].is_null());
    // Delete: gone from reads and lists.
    assert_eq!(
        app.delete(&format!("/v1/posts/{id}"), &s.token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    app.get(&format!("/v1/posts/{id}"), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "post_not_found");
    let r = app.get(&format!("/v1/users/{}/posts", s.id), None).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    app.delete(&format!("/v1/posts/{id}"), &s.token)
        .await
        .assert_error(StatusCode::NOT_FOUND, "post_not_found");
    assert_eq!(
        app.get(&format!("/v1/users/{}", s.id), None).await.body["posts"],
        2
    );
}

async fn post_rejections(app: TestApp) {
    let s = app.register("writer").await;
    let cases = [
        (json!({"text": "   "}), "text", "required"),
        (json!({"text": "é".repeat(2001)}), "text", "too_long"),
        (
            json!({"text": "bad \u{0007} bell"}),
            "text",
            "invalid_characters",
        ),
        (
            json!({"text": "ok", "topics": ["two words"]}),
            "topics",
            "invalid_topic",
        ),
        (
            json!({"text": (0..11).map(|i| format!("#t{i}")).collect::<Vec<_>>().join(" ")}),
            "topics",
            "too_many_topics",
        ),
    ];
    for (body, field, code) in cases {
        let r = app.post("/v1/posts", Some(&s.token), body).await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, code);
        assert_eq!(r.body["error"]["field"], field);
    }
    assert!(
        app.post(
            "/v1/posts",
            Some(&s.token),
            json!({"text": "é".repeat(2000)})
        )
        .await
        .status
        .is_success()
    );
    app.post("/v1/posts", None, json!({"text": "hi"}))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    app.post("/v1/posts", Some(&s.token), json!({"text": 5}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_json");
    app.get("/v1/posts/99999", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "post_not_found");
    app.get("/v1/posts/1.5", None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
    app.get("/v1/users/99999/posts", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "user_not_found");
}

async fn ownership(app: TestApp) {
    let author = app.register("owner").await;
    let other = app.register("stranger").await;
    let admin = app.register_as("modder", "admin").await;
    let id = app.create_post(&author, "mine").await;
    let r = app
        .send(
            Method::PATCH,
            &format!("/v1/posts/{id}"),
            Some(&other.token),
            json!({"text": "hacked"}),
        )
        .await;
    r.assert_error(StatusCode::FORBIDDEN, "not_post_author");
    app.delete(&format!("/v1/posts/{id}"), &other.token)
        .await
        .assert_error(StatusCode::FORBIDDEN, "not_post_author");
    let r = app
        .send(
            Method::PATCH,
            &format!("/v1/posts/{id}"),
            Some(&admin.token),
            json!({"text": "edited by admin"}),
        )
        .await;
    r.assert_error(StatusCode::FORBIDDEN, "not_post_author");
    assert_eq!(
        app.get(&format!("/v1/posts/{id}"), None).await.body["text"],
        "mine"
    );
    // An admin may delete (moderation).
    assert_eq!(
        app.delete(&format!("/v1/posts/{id}"), &admin.token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    app.get(&format!("/v1/posts/{id}"), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "post_not_found");
}

async fn likes_comments_and_views(app: TestApp) {
    let author = app.register("author").await;
    let reader = app.register("reader").await;
    let id = app.create_post(&author, "likeable").await;
    assert_eq!(
        app.put(&format!("/v1/posts/{id}/like"), &reader.token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.put(&format!("/v1/posts/{id}/like"), &reader.token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/v1/posts/{id}"), None).await.body["like_count"],
        1
    );
    assert_eq!(
        app.delete(&format!("/v1/posts/{id}/like"), &reader.token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/v1/posts/{id}"), None).await.body["like_count"],
        0
    );
    for i in 0..3 {
        let r = app
            .post(
                &format!("/v1/posts/{id}/comments"),
                Some(&reader.token),
                json!({"text": format!("c{i} <i>")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["text_html"], format!("c{i} &lt;i&gt;"));
    }
    let r = app
        .get(&format!("/v1/posts/{id}/comments?limit=2"), None)
        .await;
    let texts: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["c0 <i>", "c1 <i>"], "oldest first");
    let cursor = r.body["next_cursor"].as_str().unwrap();
    let r = app
        .get(
            &format!("/v1/posts/{id}/comments?limit=2&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(r.body["items"][0]["text"], "c2 <i>");
    assert_eq!(
        app.get(&format!("/v1/posts/{id}"), None).await.body["comment_count"],
        3
    );
    // Views: the first impression counts as first, repeats do not; unknown posts are skipped.
    let other = app.create_post(&author, "viewed").await;
    let r = app
        .post(
            "/v1/views",
            Some(&reader.token),
            json!({"post_ids": [id, other, 999999]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["recorded"].as_i64(), r.body["first_views"].as_i64()),
        (Some(2), Some(2))
    );
    let r = app
        .post("/v1/views", Some(&reader.token), json!({"post_ids": [id]}))
        .await;
    assert_eq!(
        (r.body["recorded"].as_i64(), r.body["first_views"].as_i64()),
        (Some(1), Some(0))
    );
    let context = app.state.context(reader.id).await.unwrap();
    assert!(context.seen.contains(&engine::PostId(other)));
}

/// A creator's audience counts what their live posts received, from everyone.
async fn creator_stats_count_the_audience(app: TestApp) {
    let maker = app.register_as("maker", "creator").await;
    let fans = [app.register("fan_a").await, app.register("fan_b").await];
    let kept = [
        app.create_post(&maker, "one").await,
        app.create_post(&maker, "two").await,
    ];
    let gone = app.create_post(&maker, "three").await;
    for fan in &fans {
        app.put(&format!("/v1/users/{}/follow", maker.id), &fan.token)
            .await;
        for post in [kept[0], gone] {
            app.put(&format!("/v1/posts/{post}/like"), &fan.token).await;
        }
    }
    app.put(&format!("/v1/posts/{}/like", kept[1]), &fans[0].token)
        .await;
    for post in [kept[0], kept[0], gone] {
        let r = app
            .post(
                &format!("/v1/posts/{post}/comments"),
                Some(&fans[1].token),
                json!({"text": "nice"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = app
        .post(
            "/v1/views",
            Some(&fans[0].token),
            json!({"post_ids": [kept[0], kept[1], gone]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Someone else's post and its likes do not count.
    let stranger = app.register("stranger").await;
    let theirs = app.create_post(&stranger, "not yours").await;
    app.put(&format!("/v1/posts/{theirs}/like"), &fans[0].token)
        .await;
    app.delete(&format!("/v1/posts/{gone}"), &maker.token).await;
    let r = app.get("/v1/creator/stats", Some(&maker.token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({
            "followers": 2,
            "posts": 2,
            "likes_received": 3,
            "comments_received": 2,
            "views_received": 2,
        })
    );
}

async fn interaction_rejections(app: TestApp) {
    let s = app.register("critic").await;
    let id = app.create_post(&s, "target").await;
    app.put("/v1/posts/424242/like", &s.token)
        .await
        .assert_error(StatusCode::NOT_FOUND, "post_not_found");
    let r = app
        .post(
            &format!("/v1/posts/{id}/comments"),
            Some(&s.token),
            json!({"text": ""}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "required");
    let r = app
        .post(
            &format!("/v1/posts/{id}/comments"),
            Some(&s.token),
            json!({"text": "x".repeat(1001)}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "too_long");
    let r = app
        .post(
            "/v1/posts/424242/comments",
            Some(&s.token),
            json!({"text": "hi"}),
        )
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "post_not_found");
    app.get("/v1/posts/424242/comments", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "post_not_found");
    let r = app
        .post("/v1/views", Some(&s.token), json!({"post_ids": []}))
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
    let r = app
        .post(
            "/v1/views",
            Some(&s.token),
            json!({"post_ids": (0..101).collect::<Vec<i64>>()}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
    app.post("/v1/views", None, json!({"post_ids": [id]}))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    // Deleted posts cannot be liked or commented.
    app.delete(&format!("/v1/posts/{id}"), &s.token).await;
    app.put(&format!("/v1/posts/{id}/like"), &s.token)
        .await
        .assert_error(StatusCode::NOT_FOUND, "post_not_found");
}

/// A block holds both ways: neither side likes, comments on or follows the other, and neither
/// sees the other's posts and comments (by link, on a profile, under a third user's post).
async fn blocks_hold_for_likes_comments_follows_and_reads(app: TestApp) {
    let victim = app.register("victim").await;
    let troll = app.register("troll").await;
    let third = app.register("third").await;
    let mine = app.create_post(&victim, "my post").await;
    let theirs = app.create_post(&troll, "troll post").await;
    let elsewhere = app.create_post(&third, "a third post").await;
    for (who, on) in [(&troll, elsewhere), (&victim, elsewhere)] {
        let r = app
            .post(
                &format!("/v1/posts/{on}/comments"),
                Some(&who.token),
                json!({"text": "hello"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    app.put(&format!("/v1/users/{}/block", troll.id), &victim.token)
        .await;
    for (who, post, other) in [(&troll, mine, victim.id), (&victim, theirs, troll.id)] {
        app.put(&format!("/v1/posts/{post}/like"), &who.token)
            .await
            .assert_error(StatusCode::FORBIDDEN, "blocked");
        app.post(
            &format!("/v1/posts/{post}/comments"),
            Some(&who.token),
            json!({"text": "hi"}),
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "blocked");
        app.put(&format!("/v1/users/{other}/follow"), &who.token)
            .await
            .assert_error(StatusCode::FORBIDDEN, "blocked");
        app.get(&format!("/v1/posts/{post}"), Some(&who.token))
            .await
            .assert_error(StatusCode::NOT_FOUND, "post_not_found");
        let r = app
            .get(&format!("/v1/users/{other}/posts"), Some(&who.token))
            .await;
        assert!(r.body["items"].as_array().unwrap().is_empty(), "{}", r.body);
        // Under the third user's post each sees only their own comment.
        let r = app
            .get(&format!("/v1/posts/{elsewhere}/comments"), Some(&who.token))
            .await;
        let authors: Vec<i64> = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["author"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(authors, [who.id], "{}", r.body);
    }
    // Others see everything.
    let r = app
        .get(
            &format!("/v1/posts/{elsewhere}/comments"),
            Some(&third.token),
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.get(&format!("/v1/posts/{mine}"), None).await.status,
        StatusCode::OK
    );
    app.put(&format!("/v1/posts/{mine}/like"), &third.token)
        .await;
    // Unblocked: all allowed again.
    app.delete(&format!("/v1/users/{}/block", troll.id), &victim.token)
        .await;
    let r = app
        .put(&format!("/v1/posts/{mine}/like"), &troll.token)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

/// The block check is inside the write's transaction: a like, comment or follow that starts
/// while a block between the two users is being committed (its row written, its change record
/// appended) waits for it and is refused, instead of slipping through between a check and the
/// write.
async fn a_block_committing_during_a_write_refuses_it(app: TestApp) {
    let victim = app.register("victim").await;
    let troll = app.register("troll").await;
    let post = app.create_post(&victim, "my post").await;
    let writes = [
        (Method::PUT, format!("/v1/posts/{post}/like"), Value::Null),
        (
            Method::POST,
            format!("/v1/posts/{post}/comments"),
            json!({"text": "hi"}),
        ),
        (
            Method::PUT,
            format!("/v1/users/{}/follow", victim.id),
            Value::Null,
        ),
    ];
    for (method, uri, body) in writes {
        let store = &app.state.store;
        // What `Store::hide` does for a block, held open before its commit.
        let mut tx = store.begin_write().await.unwrap();
        store.lock_pair(&mut tx, victim.id, troll.id).await.unwrap();
        sqlx::query(
            "INSERT INTO hides (user_id, target_id, kind, created_at) VALUES ($1, $2, 'block', 0)",
        )
        .bind(victim.id)
        .bind(troll.id)
        .execute(&mut *tx)
        .await
        .unwrap();
        let change = api::changes::record::Change::Hidden {
            user: victim.id,
            target: troll.id,
            kind: api::changes::record::HideKindRecord::Block,
            removed: vec![],
        };
        store.append(&mut tx, &change).await.unwrap();
        let (reply, ()) = tokio::join!(app.send(method, &uri, Some(&troll.token), body), async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            tx.commit().await.unwrap();
        });
        reply.assert_error(StatusCode::FORBIDDEN, "blocked");
        app.delete(&format!("/v1/users/{}/block", troll.id), &victim.token)
            .await;
    }
    // Nothing of the troll's got in.
    for (table, column) in [
        ("likes", "user_id"),
        ("comments", "author_id"),
        ("follows", "follower_id"),
    ] {
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} WHERE {column} = $1"
        )))
        .bind(troll.id)
        .fetch_one(&app.state.store.pool)
        .await
        .unwrap();
        assert_eq!(n, 0, "{table}");
    }
}
