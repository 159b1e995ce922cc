//! The feed and trending over HTTP, with the engine's live updates.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::json;

use crate::{Session, TestApp};

crate::both!(
    feed_follows_filters_and_pages,
    feed_reflects_writes_at_once,
    trending_counts_engagement,
    trending_hides_blocked_and_muted_authors,
    feed_rejections
);

async fn feed_ids(app: &TestApp, s: &Session, limit: usize) -> (Vec<i64>, serde_json::Value) {
    let mut ids = Vec::new();
    let mut uri = format!("/v1/feed?limit={limit}");
    let mut first = serde_json::Value::Null;
    loop {
        let r = app.get(&uri, Some(&s.token)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        if first.is_null() {
            first = r.body.clone();
        }
        let items = r.body["items"].as_array().unwrap();
        ids.extend(items.iter().map(|i| i["post"]["id"].as_i64().unwrap()));
        match r.body["next_cursor"].as_str() {
            Some(c) if !items.is_empty() => uri = format!("/v1/feed?limit={limit}&cursor={c}"),
            _ => break,
        }
    }
    (ids, first)
}

async fn feed_follows_filters_and_pages(app: TestApp) {
    let me = app.register("reader").await;
    let friend = app.register("friend").await;
    let stranger = app.register("stranger").await;
    let blocked = app.register("troll").await;
    let muted = app.register("noisy").await;
    app.put(&format!("/v1/users/{}/follow", friend.id), &me.token)
        .await;
    app.put(&format!("/v1/users/{}/follow", blocked.id), &me.token)
        .await;
    let mut friend_posts = Vec::new();
    for i in 0..4 {
        friend_posts.push(app.create_post(&friend, &format!("friend post {i}")).await);
    }
    let stranger_posts = [
        app.create_post(&stranger, "stranger 1").await,
        app.create_post(&stranger, "stranger 2").await,
    ];
    let troll_posts = [
        app.create_post(&blocked, "troll 1").await,
        app.create_post(&blocked, "troll 2").await,
    ];
    let noisy_posts = [app.create_post(&muted, "noisy").await];
    let own = app.create_post(&me, "my own post").await;
    app.put(&format!("/v1/users/{}/block", blocked.id), &me.token)
        .await;
    app.put(&format!("/v1/users/{}/mute", muted.id), &me.token)
        .await;

    let (ids, first) = feed_ids(&app, &me, 3).await;
    assert_eq!(first["model_version"], "");
    let unique: HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "pages never repeat a post: {ids:?}"
    );
    for p in &friend_posts {
        assert!(
            unique.contains(p),
            "followed author's post {p} missing from {ids:?}"
        );
    }
    for p in troll_posts.iter().chain(&noisy_posts).chain([&own]) {
        assert!(
            !unique.contains(p),
            "blocked, muted or own post {p} in the feed {ids:?}"
        );
    }
    for p in &stranger_posts {
        assert!(
            unique.contains(p),
            "new posts get an explore slot: {p} missing from {ids:?}"
        );
    }
    let item = &first["items"][0];
    assert!(item["score"].as_f64().unwrap().is_finite());
    let reasons = item["reasons"].as_array().unwrap();
    assert!(!reasons.is_empty());
    assert!(
        reasons
            .iter()
            .all(|r| r["code"].is_string() && r["text"].is_string())
    );
    let friend_item = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["post"]["author"]["id"] == friend.id)
        .unwrap();
    assert!(
        friend_item["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "followed"),
        "{friend_item}"
    );
    // Reasons say why in words, naming the author or the topic.
    let handle = friend_item["post"]["author"]["handle"].as_str().unwrap();
    for item in first["items"].as_array().unwrap() {
        for r in item["reasons"].as_array().unwrap() {
            let text = r["text"].as_str().unwrap();
            let topic = item["post"]["topics"][0].as_str();
            let by = item["post"]["author"]["handle"].as_str().unwrap();
            match (r["code"].as_str().unwrap(), topic) {
                ("followed", _) => assert_eq!(text, format!("From @{by}, whom you follow")),
                ("trending", Some(t)) => assert_eq!(text, format!("Popular in #{t} right now")),
                ("similar", Some(t)) => {
                    assert_eq!(text, format!("Because you liked posts about #{t}"));
                }
                (code, _) => assert!(!text.is_empty() && text != code, "{code}: {text}"),
            }
        }
    }
    assert!(
        friend_item["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["text"] == format!("From @{handle}, whom you follow"))
    );
}

async fn feed_reflects_writes_at_once(app: TestApp) {
    let me = app.register("watcher").await;
    let author = app.register("creator").await;
    let first = app.create_post(&author, "first").await;
    let (ids, _) = feed_ids(&app, &me, 10).await;
    assert!(ids.contains(&first));
    // A post deleted a second ago is gone; a new one is there.
    app.delete(&format!("/v1/posts/{first}"), &author.token)
        .await;
    let second = app.create_post(&author, "second").await;
    let (ids, _) = feed_ids(&app, &me, 10).await;
    assert!(!ids.contains(&first) && ids.contains(&second), "{ids:?}");
    // Seen posts (impressions) are not served again.
    app.post("/v1/views", Some(&me.token), json!({"post_ids": [second]}))
        .await;
    let (ids, _) = feed_ids(&app, &me, 10).await;
    assert!(!ids.contains(&second), "{ids:?}");
    // Blocking the author drops their posts at once.
    let third = app.create_post(&author, "third").await;
    assert!(feed_ids(&app, &me, 10).await.0.contains(&third));
    app.put(&format!("/v1/users/{}/block", author.id), &me.token)
        .await;
    assert!(!feed_ids(&app, &me, 10).await.0.contains(&third));
}

async fn trending_counts_engagement(app: TestApp) {
    let author = app.register("star").await;
    let fans: Vec<Session> = futures_join(&app, 3).await;
    let hot = app.create_post(&author, "hot take").await;
    let cold = app.create_post(&author, "cold take").await;
    for fan in &fans {
        app.put(&format!("/v1/posts/{hot}/like"), &fan.token).await;
        app.post(
            &format!("/v1/posts/{hot}/comments"),
            Some(&fan.token),
            json!({"text": "wow"}),
        )
        .await;
    }
    app.put(&format!("/v1/posts/{cold}/like"), &fans[0].token)
        .await;
    let r = app.get("/v1/trending?limit=5", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["post"]["id"], hot);
    assert_eq!(items[1]["post"]["id"], cold);
    assert!(items[0]["score"].as_f64().unwrap() > items[1]["score"].as_f64().unwrap());
    assert!(r.body["next_cursor"].is_null());
    // One per page: the cursor walks the ranking.
    let r = app.get("/v1/trending?limit=1", None).await;
    assert_eq!(r.body["items"][0]["post"]["id"], hot);
    let cursor = r.body["next_cursor"].as_str().unwrap().to_owned();
    let r = app
        .get(&format!("/v1/trending?limit=1&cursor={cursor}"), None)
        .await;
    assert_eq!(r.body["items"][0]["post"]["id"], cold, "{}", r.body);
    assert!(r.body["next_cursor"].is_null());
    app.delete(&format!("/v1/posts/{hot}"), &author.token).await;
    let r = app.get("/v1/trending", None).await;
    let items = r.body["items"].as_array().unwrap();
    assert!(items.iter().all(|i| i["post"]["id"] != hot), "{}", r.body);
    app.get("/v1/trending?limit=0", None)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
    app.get("/v1/trending?limit=101", None)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
    for bad in ["nope", "dHJlbmRpbmc6LTE", "cG9zdHM6MQ"] {
        // garbage, "trending:-1", "posts:1"
        app.get(&format!("/v1/trending?cursor={bad}"), None)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_cursor");
    }
}

/// A signed-in caller's trending list leaves out the authors they blocked or muted and those who
/// blocked them, without losing page slots to them; anonymous callers see everything.
async fn trending_hides_blocked_and_muted_authors(app: TestApp) {
    let troll = app.register("troll").await;
    let bore = app.register("bore").await;
    let picky = app.register("picky").await;
    let viewer = app.register("viewer").await;
    let fans = futures_join(&app, 2).await;
    let mut posts = Vec::new();
    for (author, n) in [(&troll, 3), (&bore, 2), (&picky, 1)] {
        for i in 0..n {
            let post = app.create_post(author, &format!("post {i}")).await;
            for fan in &fans[..1 + (i % 2)] {
                app.put(&format!("/v1/posts/{post}/like"), &fan.token).await;
            }
            posts.push((post, author.id));
        }
    }
    app.put(&format!("/v1/users/{}/block", troll.id), &viewer.token)
        .await;
    app.put(&format!("/v1/users/{}/mute", bore.id), &viewer.token)
        .await;
    app.put(&format!("/v1/users/{}/block", viewer.id), &picky.token)
        .await;
    let ids = |r: &crate::Reply| -> Vec<i64> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["post"]["id"].as_i64().unwrap())
            .collect()
    };
    let everyone = ids(&app.get("/v1/trending?limit=10", None).await);
    assert_eq!(everyone.len(), posts.len());
    let r = app.get("/v1/trending?limit=10", Some(&viewer.token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        ids(&r),
        Vec::<i64>::new(),
        "every author is hidden from the viewer"
    );
    // Someone who hides only the troll: a full first page of the others, in the same order.
    let fan = &fans[0];
    app.put(&format!("/v1/users/{}/block", troll.id), &fan.token)
        .await;
    let want: Vec<i64> = everyone
        .iter()
        .copied()
        .filter(|p| posts.iter().any(|&(q, a)| q == *p && a != troll.id))
        .collect();
    let r = app.get("/v1/trending?limit=2", Some(&fan.token)).await;
    assert_eq!(ids(&r), want[..2].to_vec());
    let cursor = r.body["next_cursor"].as_str().unwrap().to_owned();
    let r = app
        .get(
            &format!("/v1/trending?limit=2&cursor={cursor}"),
            Some(&fan.token),
        )
        .await;
    assert_eq!(ids(&r), want[2..].to_vec());
    assert!(r.body["next_cursor"].is_null(), "{}", r.body);
}

async fn futures_join(app: &TestApp, n: usize) -> Vec<Session> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(app.register(&format!("fan_{i}")).await);
    }
    out
}

async fn feed_rejections(app: TestApp) {
    let me = app.register("someone").await;
    let other = app.register("another").await;
    app.get("/v1/feed", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    app.get("/v1/feed?cursor=garbage", Some(&me.token))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_cursor");
    app.get("/v1/feed?limit=0", Some(&me.token))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
    app.get("/v1/feed?limit=1000", Some(&me.token))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
    // Someone else's cursor is refused.
    for i in 0..3 {
        app.create_post(&other, &format!("p{i}")).await;
    }
    let r2 = app.get("/v1/feed?limit=1", Some(&me.token)).await;
    let cursor = r2.body["next_cursor"].as_str().expect("more pages");
    app.get(
        &format!("/v1/feed?limit=1&cursor={cursor}"),
        Some(&other.token),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_cursor");
}
