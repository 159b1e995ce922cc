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

crate::both!(published_model_ranks_feeds);

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
    let r = app
        .post(
            "/v1/admin/model/reload",
            Some(&admin.token),
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["changed"], false, "nothing published yet");

    train_and_publish(&app, "v-test-1").await;
    let r = app
        .post(
            "/v1/admin/model/reload",
            Some(&admin.token),
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(
        (
            r.body["changed"].as_bool(),
            r.body["model_version"].as_str()
        ),
        (Some(true), Some("v-test-1"))
    );
    app.post(
        "/v1/admin/model/reload",
        Some(&admin.token),
        serde_json::Value::Null,
    )
    .await
    .body["changed"]
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
