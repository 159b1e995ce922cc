//! The feed with a published model: seed a network, export it, train and publish a small ALS
//! model, swap it in through the admin endpoint, and read personalized feeds over HTTP.

use std::collections::HashMap;

use axum::http::StatusCode;
use datasets::synthetic::SyntheticConfig;
use models::als::AlsParams;
use models::ann::{AnnConfig, AnnIndex};
use models::artifact::{ArtifactContents, Counts, Manifest, SCHEMA_VERSION, publish};
use models::popular::MostPopular;
use models::sparse::CsrMatrix;

use crate::TestApp;

crate::both!(
    published_model_ranks_feeds,
    rollback_swaps_every_replica,
    a_damaged_current_version_falls_back_at_start_and_reload,
    versions_are_listed_pinned_and_checked,
);

/// Trains on the store's export and publishes into the app's models directory.
async fn train_and_publish(app: &TestApp, version: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.csv");
    app.state.store.export_interactions(&path).await.unwrap();
    let (mut users, mut items) = (HashMap::new(), HashMap::new());
    let (mut user_ids, mut item_ids, mut triplets) = (Vec::new(), Vec::new(), Vec::new());
    for row in csv::Reader::from_path(&path).unwrap().records() {
        let row = row.unwrap();
        let u = *users.entry(row[0].to_owned()).or_insert_with(|| {
            user_ids.push(row[0].to_owned());
            user_ids.len() as u32 - 1
        });
        let i = *items.entry(row[1].to_owned()).or_insert_with(|| {
            item_ids.push(row[1].to_owned());
            item_ids.len() as u32 - 1
        });
        triplets.push((u, i, row[2].parse::<f32>().unwrap()));
    }
    let matrix = CsrMatrix::from_triplets(user_ids.len(), item_ids.len(), &triplets).unwrap();
    let model = AlsParams {
        factors: 16,
        iterations: 8,
        ..AlsParams::default()
    }
    .check()
    .unwrap()
    .fit(&matrix)
    .unwrap();
    let ann = AnnConfig {
        max_connections: 16,
        ef_construction: 100,
        ef_search: 256,
    };
    let index = AnnIndex::build(model.item_factors.view(), &ann).unwrap();
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        version: version.to_owned(),
        created_at: "2026-11-25T00:00:00Z".to_owned(),
        model: model.params.clone(),
        ann,
        data_fingerprint: "00".repeat(32),
        counts: Counts {
            users: user_ids.len(),
            items: item_ids.len(),
            interactions: triplets.len(),
        },
        factors: model.params.factors,
        metrics: serde_json::json!({}),
        files: Default::default(),
    };
    let popularity = MostPopular::fit(&matrix);
    let contents = ArtifactContents {
        user_ids: &user_ids,
        item_ids: &item_ids,
        user_factors: model.user_factors.view(),
        item_factors: model.item_factors.view(),
        popularity: popularity.counts(),
        index: &index,
    };
    publish(&app.state.models_dir, manifest, &contents, &[]).unwrap();
}

async fn published_model_ranks_feeds(app: TestApp) {
    let net = datasets::synthetic::generate(&SyntheticConfig {
        users: 80,
        posts: 300,
        interactions: 6000,
        ..SyntheticConfig::default()
    })
    .unwrap();
    app.state.store.seed(&net, "demo", "").await.unwrap();
    // Seeding is a bulk load that bypasses the change log: a replica started after it (as
    // `serve --demo` starts after its seed) loads the seeded posts from its snapshot.
    let _seeded = app;
    let app = _seeded.replica().await;
    let admin = app.register_as("operator", "admin").await;
    let r = reload(&app, &admin.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["changed"], false, "nothing published yet");

    train_and_publish(&app, "v-test-1").await;
    let r = reload(&app, &admin.token).await;
    assert_eq!(
        (
            r.body["changed"].as_bool(),
            r.body["model_version"].as_str()
        ),
        (Some(true), Some("v-test-1"))
    );
    reload(&app, &admin.token).await.body["changed"]
        .as_bool()
        .filter(|c| !c)
        .expect("an unchanged model is not reloaded");
    let r = app.get("/readyz", None).await;
    assert_eq!(r.body["model_version"], "v-test-1");

    // A seeded user (id 2) reads a personalized page; seeded users have no password, so the
    // test issues their token directly.
    let token = app.sign_in_as(2).await;
    let r = app.get("/v1/feed?limit=20", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["model_version"], "v-test-1");
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert!(
        items.iter().any(|i| i["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "similar")),
        "the model contributes: {}",
        r.body
    );
    // Blocking the author of the top post removes every post of theirs from the next pages.
    let author = items[0]["post"]["author"]["id"].as_i64().unwrap();
    app.put(&format!("/v1/users/{author}/block"), &token).await;
    let cursor = r.body["next_cursor"].as_str().unwrap();
    let r = app
        .get(&format!("/v1/feed?limit=20&cursor={cursor}"), Some(&token))
        .await;
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["post"]["author"]["id"] != author)
    );
    let r = app.get("/v1/feed?limit=20", Some(&token)).await;
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["post"]["author"]["id"] != author)
    );
    // The admin status reports the model and the pages it ranked.
    let r = app.get("/v1/admin/model", Some(&admin.token)).await;
    assert_eq!(
        (
            r.body["has_model"].as_bool(),
            r.body["pages_served"].as_u64().map(|n| n >= 3)
        ),
        (Some(true), Some(true))
    );
}

/// Flips one byte in the middle of `file` of `version` (the outside test's corruption).
fn flip_byte(models_dir: &std::path::Path, version: &str, file: &str) {
    let path = models_dir.join(version).join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    std::fs::write(&path, bytes).unwrap();
}

/// Seeds a small network and returns two replicas sharing one models directory with versions
/// `v-test-1` and `v-test-2` (current) published, neither loaded yet.
async fn two_replicas_two_versions(app: &TestApp, shared: &std::path::Path) -> (TestApp, TestApp) {
    let net = datasets::synthetic::generate(&SyntheticConfig {
        users: 40,
        posts: 120,
        interactions: 2000,
        ..SyntheticConfig::default()
    })
    .unwrap();
    app.state.store.seed(&net, "demo", "").await.unwrap();
    let a = app
        .replica_with(|c| c.models_dir = Some(shared.to_owned()))
        .await;
    train_and_publish(&a, "v-test-1").await;
    train_and_publish(&a, "v-test-2").await;
    let b = app
        .replica_with(|c| c.models_dir = Some(shared.to_owned()))
        .await;
    (a, b)
}

/// `POST /v1/admin/model/reload`.
async fn reload(app: &TestApp, token: &str) -> crate::Reply {
    app.post(
        "/v1/admin/model/reload",
        Some(token),
        serde_json::Value::Null,
    )
    .await
}

async fn served(app: &TestApp) -> String {
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["model_version"].as_str().unwrap().to_owned()
}

async fn set_current(app: &TestApp, token: &str, version: &str) -> crate::Reply {
    app.send(
        axum::http::Method::PUT,
        "/v1/admin/model/current",
        Some(token),
        serde_json::json!({"version": version, "reason": "test"}),
    )
    .await
}

async fn rollback_swaps_every_replica(app: TestApp) {
    let shared = tempfile::tempdir().unwrap();
    let (a, b) = two_replicas_two_versions(&app, shared.path()).await;
    // b started after both were published: it serves the current one.
    assert_eq!(served(&b).await, "v-test-2");
    let admin = a.register_as("operator", "admin").await;
    let r = reload(&a, &admin.token).await;
    assert_eq!(r.body["model_version"], "v-test-2", "{}", r.body);

    let r = set_current(&a, &admin.token, "v-test-1").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["model_version"], "v-test-1", "{}", r.body);
    assert_eq!(r.body["fallback"], false);
    // The other replica swaps through the change log (its pointer poll is not running here).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while served(&b).await != "v-test-1" {
        assert!(std::time::Instant::now() < deadline, "b did not roll back");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // And forward again.
    assert_eq!(
        set_current(&a, &admin.token, "v-test-2").await.body["model_version"],
        "v-test-2"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while served(&b).await != "v-test-2" {
        assert!(
            std::time::Instant::now() < deadline,
            "b did not roll forward"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Audited with the version replaced.
    let r = a
        .get(
            "/v1/admin/audit?action=model_current_set",
            Some(&admin.token),
        )
        .await;
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", r.body);
    assert_eq!(items[0]["details"]["previous"], "v-test-1");

    // Rejections: unknown, malformed, damaged, not an admin.
    set_current(&a, &admin.token, "v-none")
        .await
        .assert_error(StatusCode::NOT_FOUND, "version_not_found");
    set_current(&a, &admin.token, "../etc")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_characters");
    flip_byte(shared.path(), "v-test-1", "item_factors.npy");
    let r = set_current(&a, &admin.token, "v-test-1").await;
    r.assert_error(StatusCode::CONFLICT, "version_damaged");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("item_factors.npy"),
        "{}",
        r.body
    );
    assert!(
        !r.body["error"]["message"].as_str().unwrap().contains('/'),
        "{}",
        r.body
    );
    assert_eq!(
        served(&a).await,
        "v-test-2",
        "a refused rollback changes nothing"
    );
    let user = a.register("reader").await;
    set_current(&a, &user.token, "v-test-2")
        .await
        .assert_error(StatusCode::FORBIDDEN, "insufficient_role");
}

async fn a_damaged_current_version_falls_back_at_start_and_reload(app: TestApp) {
    let shared = tempfile::tempdir().unwrap();
    let (a, _b) = two_replicas_two_versions(&app, shared.path()).await;
    flip_byte(shared.path(), "v-test-2", "item_factors.npy");
    // A replica started now does not refuse to start: it serves the older valid version.
    let c = app
        .replica_with(|c| c.models_dir = Some(shared.path().to_owned()))
        .await;
    let r = c.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["model_version"], "v-test-1", "{}", r.body);
    assert_eq!(r.body["model_wanted"], "v-test-2");
    assert_eq!(r.body["model_fallback"], true);
    let problem = &r.body["model_problems"][0];
    assert_eq!(problem["version"], "v-test-2");
    let why = problem["problem"].as_str().unwrap();
    assert!(
        why.contains("item_factors.npy") && !why.contains('/'),
        "{why}"
    );
    assert!(r.body["model_age_secs"].as_i64().unwrap() > 0);
    // The metrics carry the same facts (their values are process-wide: tests share the
    // recorder, so only the series are checked here).
    let req = axum::http::Request::get("/metrics")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(c.router.clone(), req)
        .await
        .unwrap();
    let text = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8_lossy(&text);
    for series in [
        "social_live_model_fallback ",
        "social_live_model_problems ",
        "social_live_model_age_seconds ",
        "social_live_model_info{version=",
    ] {
        assert!(text.contains(series), "{series} missing");
    }
    // A replica serving v-test-2 finds the damage on an operator's reload and falls back.
    let admin = a.register_as("operator", "admin").await;
    let r = reload(&a, &admin.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["changed"].as_bool(),
            r.body["model_version"].as_str(),
            r.body["fallback"].as_bool()
        ),
        (Some(true), Some("v-test-1"), Some(true)),
        "{}",
        r.body
    );
    // With every version damaged, a start still succeeds and serves without a model.
    flip_byte(shared.path(), "v-test-1", "item_factors.npy");
    let d = app
        .replica_with(|c| c.models_dir = Some(shared.path().to_owned()))
        .await;
    let r = d.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["model_version"].as_str(),
            r.body["model_fallback"].as_bool()
        ),
        (Some(""), Some(true))
    );
    assert_eq!(
        r.body["model_problems"].as_array().unwrap().len(),
        2,
        "{}",
        r.body
    );
    let token = d.sign_in_as(2).await;
    let r = d.get("/v1/feed?limit=5", Some(&token)).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "feeds without a model: {}",
        r.body
    );
}

async fn versions_are_listed_pinned_and_checked(app: TestApp) {
    let shared = tempfile::tempdir().unwrap();
    let (a, b) = two_replicas_two_versions(&app, shared.path()).await;
    let admin = a.register_as("operator", "admin").await;
    let r = a
        .get("/v1/admin/model/versions?limit=1", Some(&admin.token))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let first = &r.body["items"][0];
    assert_eq!(
        (
            first["version"].as_str(),
            first["current"].as_bool(),
            first["pinned"].as_bool()
        ),
        (Some("v-test-2"), Some(true), Some(false)),
        "{}",
        r.body
    );
    assert_eq!(first["counts"]["items"].as_u64().map(|n| n > 0), Some(true));
    let cursor = r.body["next_cursor"].as_str().expect("a second page");
    let r = a
        .get(
            &format!("/v1/admin/model/versions?limit=1&cursor={cursor}"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(r.body["items"][0]["version"], "v-test-1", "{}", r.body);
    assert_eq!(r.body["items"][0]["current"], false);
    assert!(r.body["next_cursor"].is_null(), "{}", r.body);
    a.get("/v1/admin/model/versions?cursor=bm9wZQ", Some(&admin.token))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_cursor");
    a.get("/v1/admin/model/versions?limit=0", Some(&admin.token))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");

    let r = a
        .put("/v1/admin/model/versions/v-test-1/pin", &admin.token)
        .await;
    assert_eq!(
        (r.status, r.body["pinned"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{}",
        r.body
    );
    assert!(
        models::artifact::pinned(shared.path())
            .unwrap()
            .contains("v-test-1")
    );
    let r = a
        .delete("/v1/admin/model/versions/v-test-1/pin", &admin.token)
        .await;
    assert_eq!(
        (r.status, r.body["pinned"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{}",
        r.body
    );
    a.put("/v1/admin/model/versions/v-none/pin", &admin.token)
        .await
        .assert_error(StatusCode::NOT_FOUND, "version_not_found");
    a.delete("/v1/admin/model/versions/v-none/pin", &admin.token)
        .await
        .assert_error(StatusCode::NOT_FOUND, "version_not_found");
    a.put("/v1/admin/model/versions/current/pin", &admin.token)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_characters");
    let user = a.register("reader").await;
    a.get("/v1/admin/model/versions", Some(&user.token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "insufficient_role");

    // The run report's files, linked from the version list and from the served model's status.
    let v2 = shared.path().join("v-test-2");
    std::fs::write(
        v2.join("report.md"),
        "# Pipeline run\n![Runs over time](history.svg)\n",
    )
    .unwrap();
    std::fs::write(v2.join("history.svg"), "<svg></svg>").unwrap();
    std::fs::write(
        v2.join("report.json"),
        r#"{"history": [{"version": "v-test-2"}]}"#,
    )
    .unwrap();
    let r = a.get("/v1/admin/model/versions", Some(&admin.token)).await;
    let (newest, older) = (&r.body["items"][0], &r.body["items"][1]);
    assert_eq!(
        (newest["report"].as_str(), newest["history_plot"].as_str()),
        (
            Some("/v1/admin/model/versions/v-test-2/report/report.md"),
            Some("/v1/admin/model/versions/v-test-2/report/history.svg")
        ),
        "{}",
        r.body
    );
    assert!(
        older["report"].is_null() && older["history_plot"].is_null(),
        "{older}"
    );
    // Replica a started before anything was published and serves no model (no links); b
    // started after and serves v-test-2.
    let status = a.get("/v1/admin/model", Some(&admin.token)).await;
    assert!(status.body["history_plot"].is_null(), "{}", status.body);
    let status = b.get("/v1/admin/model", Some(&admin.token)).await;
    assert_eq!(status.body["model_version"], "v-test-2", "{}", status.body);
    assert_eq!(
        (&status.body["history_plot"], &status.body["report"]),
        (&newest["history_plot"], &newest["report"]),
        "{}",
        status.body
    );
    let svg = a
        .get(newest["history_plot"].as_str().unwrap(), Some(&admin.token))
        .await;
    assert_eq!(svg.status, StatusCode::OK);
    assert_eq!(svg.headers["content-type"], "image/svg+xml");
    let md = a
        .get(newest["report"].as_str().unwrap(), Some(&admin.token))
        .await;
    assert_eq!(
        (md.status, md.headers["content-type"].to_str().unwrap()),
        (StatusCode::OK, "text/markdown; charset=utf-8")
    );
    let json = a
        .get(
            "/v1/admin/model/versions/v-test-2/report/report.json",
            Some(&admin.token),
        )
        .await;
    assert_eq!(
        json.body["history"][0]["version"], "v-test-2",
        "{}",
        json.body
    );
    for (uri, status, code) in [
        // Not a report file, though the version has it.
        (
            "v-test-2/report/item_factors.npy",
            StatusCode::NOT_FOUND,
            "file_not_found",
        ),
        (
            "v-test-2/report/manifest.json",
            StatusCode::NOT_FOUND,
            "file_not_found",
        ),
        // A report file this version lacks.
        (
            "v-test-1/report/history.svg",
            StatusCode::NOT_FOUND,
            "file_not_found",
        ),
        (
            "v-none/report/report.md",
            StatusCode::NOT_FOUND,
            "version_not_found",
        ),
        (
            "current/report/report.md",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_characters",
        ),
        (
            "..%2Fv-test-2/report/report.md",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_characters",
        ),
        (
            "v-test-2/report/..%2Fcurrent",
            StatusCode::NOT_FOUND,
            "file_not_found",
        ),
    ] {
        a.get(
            &format!("/v1/admin/model/versions/{uri}"),
            Some(&admin.token),
        )
        .await
        .assert_error(status, code);
    }
    a.get(newest["history_plot"].as_str().unwrap(), Some(&user.token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "insufficient_role");
}
