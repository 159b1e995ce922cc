//! Trust and safety beyond accounts: moderators hiding, restoring and removing posts, reports
//! and their queue, muted words, and handles that read like taken ones.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{Session, TestApp};

crate::both!(
    moderators_hide_restore_and_remove_posts,
    reports_are_queued_by_target_and_closed_with_an_action,
    report_rejections,
    muted_words_leave_feed_search_and_trending,
    muted_word_rejections,
    handles_that_read_like_taken_ones_are_taken,
);

crate::both_with!(
    |c: &mut api::ServeConfig| c.rate_limits = "report.user=2/3600".into(),
    reports_have_their_own_rate_limit,
);

fn ids(body: &Value) -> HashSet<i64> {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {body}"))
        .iter()
        .map(|i| i["post"]["id"].as_i64().or(i["id"].as_i64()).unwrap())
        .collect()
}

/// Where `reader` finds `post`: feed, trending (as `reader`), search, the post, its author's
/// profile.
async fn found(app: &TestApp, reader: &Session, post: i64, word: &str) -> Vec<&'static str> {
    let mut seen = Vec::new();
    let token = Some(reader.token.as_str());
    let feed = app.get("/v1/feed?limit=50", token).await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.body);
    if ids(&feed.body).contains(&post) {
        seen.push("feed");
    }
    if ids(&app.get("/v1/trending?limit=50", token).await.body).contains(&post) {
        seen.push("trending");
    }
    let search = app.get(&format!("/v1/search/posts?q={word}"), token).await;
    if ids(&search.body).contains(&post) {
        seen.push("search");
    }
    let r = app.get(&format!("/v1/posts/{post}"), token).await;
    if r.status == StatusCode::OK {
        seen.push("post");
        let by = r.body["author"]["id"].as_i64().unwrap();
        if ids(&app.get(&format!("/v1/users/{by}/posts"), token).await.body).contains(&post) {
            seen.push("profile");
        }
    }
    seen
}

async fn audit_actions(app: &TestApp, admin: &Session) -> Vec<String> {
    let r = app
        .get("/v1/admin/audit?limit=100", Some(&admin.token))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn moderators_hide_restore_and_remove_posts(app: TestApp) {
    let admin = app.register_as("warden", "admin").await;
    let moderator = app.register_as("keeper", "moderator").await;
    let author = app.register("author").await;
    let reader = app.register("reader").await;
    app.put(&format!("/v1/users/{}/follow", author.id), &reader.token)
        .await;
    let post = app.create_post(&author, "a zeppelin rant").await;
    let other = app.create_post(&author, "a calm zeppelin note").await;
    app.put(&format!("/v1/posts/{post}/like"), &admin.token)
        .await;
    let everywhere = ["feed", "trending", "search", "post", "profile"];
    assert_eq!(found(&app, &reader, post, "zeppelin").await, everywhere);

    // Users cannot moderate.
    app.post(
        &format!("/v1/moderation/posts/{post}/hide"),
        Some(&reader.token),
        json!({"reason": "dislike"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "insufficient_role");
    let r = app
        .post(
            &format!("/v1/moderation/posts/{post}/hide"),
            Some(&moderator.token),
            json!({"reason": "abusive language"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["moderation"]["state"], "hidden");
    assert_eq!(r.body["moderation"]["reason"], "abusive language");
    // Gone from every list, and unreadable but to its author (who sees why) and moderators.
    assert!(found(&app, &reader, post, "zeppelin").await.is_empty());
    app.get(&format!("/v1/posts/{post}"), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "post_not_found");
    let mine = app
        .get(&format!("/v1/posts/{post}"), Some(&author.token))
        .await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.body["moderation"]["reason"], "abusive language");
    // A hidden post takes no likes, comments or edits.
    app.put(&format!("/v1/posts/{post}/like"), &reader.token)
        .await
        .assert_error(StatusCode::NOT_FOUND, "post_not_found");
    app.send(
        axum::http::Method::PATCH,
        &format!("/v1/posts/{post}"),
        Some(&author.token),
        json!({"text": "sneaky edit"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "post_not_found");
    // The other post is untouched.
    assert_eq!(
        found(&app, &reader, other, "calm").await,
        everywhere[..]
            .iter()
            .filter(|w| **w != "trending")
            .copied()
            .collect::<Vec<_>>()
    );
    app.post(
        &format!("/v1/moderation/posts/{post}/hide"),
        Some(&moderator.token),
        json!({"reason": "again"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "not_applicable");

    let r = app
        .post(
            &format!("/v1/moderation/posts/{post}/restore"),
            Some(&moderator.token),
            json!({"reason": "context: a quote"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.get("moderation").is_none());
    assert_eq!(found(&app, &reader, post, "zeppelin").await, everywhere);
    app.post(
        &format!("/v1/moderation/posts/{post}/restore"),
        Some(&moderator.token),
        json!({"reason": "again"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "not_applicable");

    let r = app
        .post(
            &format!("/v1/moderation/posts/{post}/remove"),
            Some(&moderator.token),
            json!({"reason": "illegal content"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.get(&format!("/v1/posts/{post}"), Some(&author.token))
        .await
        .assert_error(StatusCode::NOT_FOUND, "post_not_found");
    assert!(found(&app, &reader, post, "zeppelin").await.is_empty());
    app.post(
        &format!("/v1/moderation/posts/{post}/remove"),
        Some(&moderator.token),
        json!({"reason": "again"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "post_not_found");
    // A moderator deleting through DELETE is audited too; a user may not.
    app.delete(&format!("/v1/posts/{other}"), &reader.token)
        .await
        .assert_error(StatusCode::FORBIDDEN, "not_post_author");
    let r = app
        .delete(&format!("/v1/posts/{other}?reason=spam"), &moderator.token)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    // Rejections.
    for (path, body, code) in [
        ("hide", json!({"reason": ""}), "required"),
        ("hide", json!({"reason": "x".repeat(501)}), "too_long"),
    ] {
        app.post(
            &format!("/v1/moderation/posts/{post}/{path}"),
            Some(&moderator.token),
            body,
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    app.post(
        "/v1/moderation/posts/999999/hide",
        Some(&moderator.token),
        json!({"reason": "x"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "post_not_found");
    // Moderators do not manage accounts.
    app.post(
        &format!("/v1/admin/users/{}/ban", author.id),
        Some(&moderator.token),
        json!({"reason": "x"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "insufficient_role");
    let actions = audit_actions(&app, &admin).await;
    for want in ["post_hidden", "post_restored", "post_removed"] {
        assert!(actions.iter().any(|a| a == want), "{want}: {actions:?}");
    }
    assert_eq!(
        actions.iter().filter(|a| *a == "post_removed").count(),
        2,
        "{actions:?}"
    );
}

async fn report(app: &TestApp, by: &Session, target: Value, category: &str) -> crate::Reply {
    let mut body = target;
    body["category"] = json!(category);
    body["text"] = json!("see for yourself");
    app.post("/v1/reports", Some(&by.token), body).await
}

async fn reports_are_queued_by_target_and_closed_with_an_action(app: TestApp) {
    let admin = app.register_as("warden", "admin").await;
    let moderator = app.register_as("keeper", "moderator").await;
    let troll = app.register("troll").await;
    let reporters = [
        app.register("first").await,
        app.register("second").await,
        app.register("third").await,
    ];
    let post = app.create_post(&troll, "zeppelin flame bait").await;
    for (r, category) in reporters.iter().zip(["spam", "hate", "spam"]) {
        let got = report(&app, r, json!({"post_id": post}), category).await;
        assert_eq!(got.status, StatusCode::CREATED, "{}", got.body);
        assert_eq!(got.body["status"], "open");
        assert_eq!(got.body["target"]["user_id"], troll.id);
        assert!(got.body["outcome"].is_null());
    }
    let got = report(
        &app,
        &reporters[0],
        json!({"user_id": troll.id}),
        "harassment",
    )
    .await;
    assert_eq!(got.status, StatusCode::CREATED, "{}", got.body);

    // The queue: one entry per target, the newest first, with counts per category.
    app.get("/v1/moderation/reports", Some(&troll.token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "insufficient_role");
    let q = app
        .get("/v1/moderation/reports", Some(&moderator.token))
        .await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.body);
    let items = q.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", q.body);
    assert_eq!(items[0]["target"]["user_id"], troll.id);
    assert!(items[0]["target"]["post_id"].is_null());
    assert_eq!(items[0]["reports"], 1);
    assert_eq!(items[1]["target"]["post_id"], post);
    assert_eq!(items[1]["reports"], 3);
    assert_eq!(items[1]["handle"], "troll");
    assert_eq!(items[1]["post"]["text"], "zeppelin flame bait");
    assert_eq!(
        items[1]["categories"],
        json!([{"category": "spam", "count": 2}, {"category": "hate", "count": 1}])
    );
    assert_eq!(items[1]["latest"].as_array().unwrap().len(), 3);
    assert_eq!(items[1]["latest"][0]["reporter_id"], reporters[2].id);
    // Paged by target, filtered by category.
    let first = app
        .get("/v1/moderation/reports?limit=1", Some(&moderator.token))
        .await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = app
        .get(
            &format!("/v1/moderation/reports?limit=1&cursor={cursor}"),
            Some(&moderator.token),
        )
        .await;
    assert_eq!(second.body["items"][0]["target"]["post_id"], post);
    assert!(second.body["next_cursor"].is_null());
    let hate = app
        .get(
            "/v1/moderation/reports?category=hate",
            Some(&moderator.token),
        )
        .await;
    assert_eq!(hate.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(hate.body["items"][0]["reports"], 1);

    // Resolving the post's reports hides it, in one step, linked to the audit entry.
    let r = app
        .post(
            "/v1/moderation/reports/close",
            Some(&moderator.token),
            json!({"post_id": post, "decision": "hide_post", "reason": "hate speech"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"closed": 3, "outcome": "post_hidden"}));
    app.get(&format!("/v1/posts/{post}"), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "post_not_found");
    app.post(
        "/v1/moderation/reports/close",
        Some(&moderator.token),
        json!({"post_id": post, "decision": "dismiss", "reason": "again"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "no_open_reports");
    // Reporters see the outcome; nobody else's reports.
    for r in &reporters[1..] {
        let mine = app.get("/v1/reports", Some(&r.token)).await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
        let items = mine.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{}", mine.body);
        assert_eq!(items[0]["status"], "resolved");
        assert_eq!(items[0]["outcome"], "post_hidden");
        assert!(items[0]["closed_at"].is_i64());
    }
    let resolved = app
        .get(
            "/v1/moderation/reports?status=resolved",
            Some(&moderator.token),
        )
        .await;
    assert_eq!(resolved.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        resolved.body["items"][0]["post"]["moderation"]["state"],
        "hidden"
    );

    // A moderator may suspend a user but not ban one, nor act on staff.
    app.post(
        "/v1/moderation/reports/close",
        Some(&moderator.token),
        json!({"user_id": troll.id, "decision": "ban_user", "reason": "x"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "insufficient_role");
    app.post(
        "/v1/moderation/reports/close",
        Some(&moderator.token),
        json!({"user_id": troll.id, "decision": "suspend_user", "reason": "x"}),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
    app.post(
        "/v1/moderation/reports/close",
        Some(&moderator.token),
        json!({"user_id": troll.id, "decision": "hide_post", "reason": "x"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "not_applicable");
    let r = app
        .post(
            "/v1/moderation/reports/close",
            Some(&moderator.token),
            json!({"user_id": troll.id, "decision": "suspend_user", "duration_secs": 3600, "reason": "repeated abuse"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["outcome"], "suspended");
    app.get("/v1/me", Some(&troll.token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "account_suspended");
    let mine = app.get("/v1/reports", Some(&reporters[0].token)).await;
    let outcomes: Vec<&str> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["suspended", "post_hidden"]);
    // Reports on staff go to admins.
    let got = report(
        &app,
        &reporters[1],
        json!({"user_id": moderator.id}),
        "other",
    )
    .await;
    assert_eq!(got.status, StatusCode::CREATED);
    app.post(
        "/v1/moderation/reports/close",
        Some(&moderator.token),
        json!({"user_id": moderator.id, "decision": "suspend_user", "duration_secs": 60, "reason": "x"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "self_moderation");
    let r = app
        .post(
            "/v1/moderation/reports/close",
            Some(&admin.token),
            json!({"user_id": moderator.id, "decision": "dismiss", "reason": "no case"}),
        )
        .await;
    assert_eq!(r.body, json!({"closed": 1, "outcome": "no_action"}));
    let dismissed = app.get("/v1/reports", Some(&reporters[1].token)).await;
    assert_eq!(dismissed.body["items"][0]["status"], "dismissed");
    assert_eq!(dismissed.body["items"][0]["outcome"], "no_action");
    // Every close is in the audit log.
    let actions = audit_actions(&app, &admin).await;
    for want in ["post_hidden", "suspended", "reports_dismissed"] {
        assert!(actions.iter().any(|a| a == want), "{want}: {actions:?}");
    }
}

async fn report_rejections(app: TestApp) {
    let moderator = app.register_as("keeper", "moderator").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let post = app.create_post(&bob, "hello").await;
    let mine = app.create_post(&alice, "mine").await;
    report(&app, &alice, json!({"post_id": mine}), "spam")
        .await
        .assert_error(StatusCode::CONFLICT, "self_report");
    report(&app, &alice, json!({"user_id": alice.id}), "spam")
        .await
        .assert_error(StatusCode::CONFLICT, "self_report");
    report(&app, &alice, json!({}), "spam")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_target");
    report(
        &app,
        &alice,
        json!({"post_id": post, "user_id": bob.id}),
        "spam",
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_target");
    report(&app, &alice, json!({"post_id": 999_999}), "spam")
        .await
        .assert_error(StatusCode::NOT_FOUND, "post_not_found");
    report(&app, &alice, json!({"user_id": 999_999}), "spam")
        .await
        .assert_error(StatusCode::NOT_FOUND, "user_not_found");
    report(&app, &alice, json!({"post_id": post}), "nonsense")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_json");
    let r = app
        .post(
            "/v1/reports",
            Some(&alice.token),
            json!({"post_id": post, "category": "spam", "text": "x".repeat(1001)}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "too_long");
    app.post(
        "/v1/reports",
        None,
        json!({"post_id": post, "category": "spam"}),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    assert_eq!(
        report(&app, &alice, json!({"post_id": post}), "spam")
            .await
            .status,
        StatusCode::CREATED
    );
    report(&app, &alice, json!({"post_id": post}), "hate")
        .await
        .assert_error(StatusCode::CONFLICT, "already_reported");
    for (body, status, code) in [
        (
            json!({"post_id": post, "decision": "dismiss", "reason": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
        ),
        (
            json!({"decision": "dismiss", "reason": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_target",
        ),
        (
            json!({"user_id": alice.id, "decision": "dismiss", "reason": "x"}),
            StatusCode::NOT_FOUND,
            "no_open_reports",
        ),
    ] {
        app.post("/v1/moderation/reports/close", Some(&moderator.token), body)
            .await
            .assert_error(status, code);
    }
    let r = app
        .get("/v1/moderation/reports?status=nope", Some(&moderator.token))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    app.get("/v1/moderation/reports?cursor=zzz", Some(&moderator.token))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_cursor");
}

async fn reports_have_their_own_rate_limit(app: TestApp) {
    let alice = app.register("alice").await;
    let targets: Vec<Session> = vec![
        app.register("one").await,
        app.register("two").await,
        app.register("three").await,
    ];
    for t in &targets[..2] {
        let r = report(&app, &alice, json!({"user_id": t.id}), "spam").await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = report(&app, &alice, json!({"user_id": targets[2].id}), "spam").await;
    r.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // Other writes are not charged to the report quota.
    assert_eq!(
        app.get("/v1/reports", Some(&alice.token)).await.status,
        StatusCode::OK
    );
    app.create_post(&alice, "still posting").await;
}

async fn muted_words_leave_feed_search_and_trending(app: TestApp) {
    let author = app.register("author").await;
    let reader = app.register("reader").await;
    let fan = app.register("fan").await;
    app.put(&format!("/v1/users/{}/follow", author.id), &reader.token)
        .await;
    let spoiler = app
        .create_post(&author, "The zeppelin finale: SPOILER, the butler did it")
        .await;
    let tagged = app.create_post(&author, "race day #zeppelin_cup").await;
    let plain = app.create_post(&author, "a quiet zeppelin evening").await;
    for p in [spoiler, tagged, plain] {
        app.put(&format!("/v1/posts/{p}/like"), &fan.token).await;
    }
    let lists = ["feed", "trending", "search", "post", "profile"];
    assert_eq!(found(&app, &reader, spoiler, "zeppelin").await, lists);

    let r = app
        .post(
            "/v1/me/muted-words",
            Some(&reader.token),
            json!({"phrase": "  Spoiler! "}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["phrase"], "spoiler");
    assert!(r.body["expires_at"].is_null());
    let r = app
        .post(
            "/v1/me/muted-words",
            Some(&reader.token),
            json!({"phrase": "#zeppelin_cup", "duration_secs": 3600}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let topic = r.body["id"].as_i64().unwrap();
    assert!(r.body["expires_at"].as_i64().unwrap() > api::store::now() + 3500);
    // Muted posts leave the lists (the post itself and the profile still show it: they were
    // asked for by name).
    assert_eq!(
        found(&app, &reader, spoiler, "zeppelin").await,
        ["post", "profile"]
    );
    assert_eq!(
        found(&app, &reader, tagged, "zeppelin").await,
        ["post", "profile"]
    );
    assert_eq!(found(&app, &reader, plain, "zeppelin").await, lists);
    // Only for the one who muted them.
    let for_fan = found(&app, &fan, spoiler, "zeppelin").await;
    assert!(
        for_fan.contains(&"trending") && for_fan.contains(&"search"),
        "{for_fan:?}"
    );
    let listed = app.get("/v1/me/muted-words", Some(&reader.token)).await;
    let phrases: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["phrase"].as_str().unwrap())
        .collect();
    assert_eq!(phrases, ["spoiler", "zeppelin_cup"]);
    // Unmuted: back at once.
    let r = app
        .delete(&format!("/v1/me/muted-words/{topic}"), &reader.token)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(found(&app, &reader, tagged, "zeppelin").await, lists);
    // A mute that expires stops hiding by itself.
    let at = api::store::now();
    match app
        .state
        .store
        .mute_phrase(reader.id, "quiet", Some(at + 2))
        .await
        .unwrap()
    {
        api::store::muted::Muted::Done(_, position) => app.state.applied(Some(position)).await,
        other => panic!("{other:?}"),
    }
    assert!(
        !found(&app, &reader, plain, "zeppelin")
            .await
            .contains(&"feed")
    );
    tokio::time::sleep(std::time::Duration::from_millis(
        ((at + 3) * 1000 - api::store::changes::now_ms()).max(0) as u64,
    ))
    .await;
    assert_eq!(found(&app, &reader, plain, "zeppelin").await, lists);
    let listed = app.get("/v1/me/muted-words", Some(&reader.token)).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
}

async fn muted_word_rejections(app: TestApp) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    for (body, code) in [
        (json!({"phrase": ""}), "required"),
        (json!({"phrase": "!!! ???"}), "no_words"),
        (json!({"phrase": "a b c d e f g h i"}), "too_many_words"),
        (json!({"phrase": "x".repeat(101)}), "too_long"),
        (json!({"phrase": "ok", "duration_secs": 10}), "out_of_range"),
        (
            json!({"phrase": "ok", "duration_secs": 400 * 86_400}),
            "out_of_range",
        ),
    ] {
        app.post("/v1/me/muted-words", Some(&alice.token), body)
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    let r = app
        .post(
            "/v1/me/muted-words",
            Some(&alice.token),
            json!({"phrase": "ok"}),
        )
        .await;
    let id = r.body["id"].as_i64().unwrap();
    // Muting again replaces the expiry and keeps the entry.
    let r = app
        .post(
            "/v1/me/muted-words",
            Some(&alice.token),
            json!({"phrase": "OK", "duration_secs": 60}),
        )
        .await;
    assert_eq!(r.body["id"], id);
    assert!(r.body["expires_at"].is_i64());
    // Nobody else's entry can be removed.
    app.delete(&format!("/v1/me/muted-words/{id}"), &bob.token)
        .await
        .assert_error(StatusCode::NOT_FOUND, "muted_word_not_found");
    app.get("/v1/me/muted-words", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    // At most 200.
    for i in 1..200 {
        match app
            .state
            .store
            .mute_phrase(alice.id, &format!("word{i}"), None)
            .await
            .unwrap()
        {
            api::store::muted::Muted::Done(..) => {}
            other => panic!("{i}: {other:?}"),
        }
    }
    app.post(
        "/v1/me/muted-words",
        Some(&alice.token),
        json!({"phrase": "one more"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "too_many_muted_words");
}

async fn handles_that_read_like_taken_ones_are_taken(app: TestApp) {
    app.register("mike").await;
    app.register("paypal").await;
    for lookalike in ["rnike", "m_ike", "paypa1", "PAYPAL_"] {
        let r = app
            .post(
                "/v1/auth/register",
                None,
                json!({"handle": lookalike, "password": "password123"}),
            )
            .await;
        r.assert_error(StatusCode::CONFLICT, "handle_taken");
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains('@'),
            "{}",
            r.body
        );
    }
    // A handle that merely shares letters is free.
    app.register("mikey").await;
    // Handles written before the skeleton column existed are filled on start.
    sqlx::query("UPDATE users SET handle_skeleton = NULL")
        .execute(&app.state.store.pool)
        .await
        .unwrap();
    assert!(app.state.store.backfill_skeletons().await.unwrap() >= 3);
    app.post(
        "/v1/auth/register",
        None,
        json!({"handle": "rnikey", "password": "password123"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "handle_taken");
}

/// An SQLite database written before the trust-and-safety migration (which rebuilds `users` to
/// widen its role constraint) keeps every account, follow, post and search entry, and ids are
/// never given twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_users_rebuild_keeps_every_row_and_reference() {
    use sqlx::Executor as _;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    sqlx::any::install_default_drivers();
    {
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        pool.execute("PRAGMA foreign_keys = ON").await.unwrap();
        let all = sqlx::migrate!("migrations/sqlite");
        let before = sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Owned(
                all.migrations
                    .iter()
                    .filter(|m| m.version < 5)
                    .cloned()
                    .collect(),
            ),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        before.run(&pool).await.unwrap();
        for (handle, role) in [
            ("ann", "admin"),
            ("ben", "user"),
            ("gone", "user"),
            ("cy", "creator"),
        ] {
            sqlx::query(
                "INSERT INTO users (handle, display_name, password_hash, role, created_at, updated_at) \
                 VALUES ($1, $1, '', $2, 1, 1)",
            )
            .bind(handle)
            .bind(role)
            .execute(&pool)
            .await
            .unwrap();
        }
        // The newest account is deleted: its id must not be given again.
        pool.execute("DELETE FROM users WHERE handle = 'cy'")
            .await
            .unwrap();
        pool.execute(
            "INSERT INTO follows (follower_id, followee_id, created_at) VALUES (2, 1, 1); \
             INSERT INTO posts (author_id, text, topics, created_at, updated_at) \
             VALUES (1, 'hello zeppelin', '', 1, 1); \
             UPDATE users SET status = 'suspended', suspended_until = 99 WHERE id = 2;",
        )
        .await
        .unwrap();
        pool.close().await;
    }
    let store = api::store::Store::connect(&url, 2).await.unwrap();
    type Row = (i64, String, String, String, Option<i64>, Option<String>);
    let users: Vec<Row> = sqlx::query_as(
        "SELECT id, handle, role, status, suspended_until, handle_skeleton FROM users ORDER BY id",
    )
    .fetch_all(&store.pool)
    .await
    .unwrap();
    assert_eq!(
        users,
        vec![
            (
                1,
                "ann".into(),
                "admin".into(),
                "active".into(),
                None,
                Some("ann".into())
            ),
            (
                2,
                "ben".into(),
                "user".into(),
                "suspended".into(),
                Some(99),
                Some("ben".into())
            ),
            (
                3,
                "gone".into(),
                "user".into(),
                "active".into(),
                None,
                Some("gone".into())
            ),
        ]
    );
    // References still hold (and cascade), search still follows the table.
    let follows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM follows")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(follows.0, 1);
    let fk: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&store.pool)
        .await
        .unwrap();
    assert!(fk.is_empty(), "{fk:?}");
    let found = store.search_users(&["ben".into()], 0, 10).await.unwrap();
    assert_eq!(found.len(), 1);
    let new = store
        .create_user("dee", "Dee", "", "moderator")
        .await
        .unwrap();
    assert_eq!(new.id, 5, "the deleted account's id 4 is not given again");
    assert_eq!(
        store
            .search_users(&["dee".into()], 0, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    sqlx::query("DELETE FROM users WHERE id = 2")
        .execute(&store.pool)
        .await
        .unwrap();
    let follows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM follows")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(
        follows.0, 0,
        "deleting an account still cascades to its follows"
    );
    // The widened constraint still refuses unknown roles.
    assert!(
        sqlx::query("UPDATE users SET role = 'overlord' WHERE id = 1")
            .execute(&store.pool)
            .await
            .is_err()
    );
}
