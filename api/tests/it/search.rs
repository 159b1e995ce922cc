//! Full-text search of posts and users.

use axum::http::StatusCode;

use crate::TestApp;

crate::both!(search_posts_and_users, search_rejections);

async fn search_posts_and_users(app: TestApp) {
    let a = app.register("rustacean").await;
    let b = app.register("gopher").await;
    let me = app.register("searcher").await;
    let p1 = app.create_post(&a, "Async Rust runtimes compared").await;
    let p2 = app.create_post(&a, "Rust borrow checker tips").await;
    let p3 = app
        .create_post(&b, "Go channels and rust-free concurrency")
        .await;
    let _other = app.create_post(&b, "Nothing to see here").await;

    let r = app.get("/v1/search/posts?q=rust", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut ids: Vec<i64> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, vec![p1, p2, p3]);
    // Every word must match; the last one is a prefix.
    let r = app.get("/v1/search/posts?q=borrow%20che", None).await;
    let ids: Vec<i64> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![p2]);
    // Pagination: 3 results in pages of 2.
    let r = app.get("/v1/search/posts?q=rust&limit=2", None).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    let cursor = r.body["next_cursor"].as_str().unwrap();
    let r2 = app
        .get(
            &format!("/v1/search/posts?q=rust&limit=2&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(r2.body["items"].as_array().unwrap().len(), 1);
    assert!(r2.body["next_cursor"].is_null());
    // Deleted posts and posts of authors I blocked are not found.
    app.delete(&format!("/v1/posts/{p2}"), &a.token).await;
    app.put(&format!("/v1/users/{}/block", b.id), &me.token)
        .await;
    let r = app.get("/v1/search/posts?q=rust", Some(&me.token)).await;
    let ids: Vec<i64> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![p1]);
    // Edits are searchable.
    app.send(
        axum::http::Method::PATCH,
        &format!("/v1/posts/{p1}"),
        Some(&a.token),
        serde_json::json!({"text": "zebra facts"}),
    )
    .await;
    let r = app.get("/v1/search/posts?q=zebra", None).await;
    assert_eq!(r.body["items"][0]["id"], p1);
    // Users by handle prefix and display name.
    let r = app.get("/v1/search/users?q=rusta", None).await;
    assert_eq!(r.body["items"][0]["handle"], "rustacean");
    app.send(
        axum::http::Method::PATCH,
        "/v1/me",
        Some(&b.token),
        serde_json::json!({"display_name": "Gopher Smith"}),
    )
    .await;
    let r = app.get("/v1/search/users?q=smith", None).await;
    assert_eq!(r.body["items"][0]["id"], b.id);
    // Query syntax is neutralised, not interpreted.
    let r = app
        .get("/v1/search/posts?q=%22rust%22%20OR%20*%20NEAR(", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn search_rejections(app: TestApp) {
    app.get("/v1/search/posts", None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_query");
    app.get("/v1/search/posts?q=", None)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
    app.get("/v1/search/posts?q=%21%21%21", None)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "no_search_terms");
    let long = "a".repeat(201);
    app.get(&format!("/v1/search/users?q={long}"), None)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
    app.get("/v1/search/users?q=x&cursor=bad", None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_cursor");
    app.get("/v1/search/users?q=x&limit=101", None)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
}
