//! Train → index → publish → load, as the pipeline and the engine use the crate.

use std::path::{Path, PathBuf};

use models::als::{AlsModel, AlsParams};
use models::ann::{AnnConfig, AnnIndex, recall_at_k};
use models::artifact::{
    Artifact, ArtifactContents, Counts, Manifest, SCHEMA_VERSION, current_version, publish,
};
use models::popular::MostPopular;
use models::topk::top_k_dot;

use crate::{Planted, planted};

const CONFIG: AnnConfig = AnnConfig {
    max_connections: 16,
    ef_construction: 100,
    ef_search: 64,
};

fn params() -> AlsParams {
    AlsParams {
        factors: 16,
        iterations: 8,
        ..AlsParams::default()
    }
}

/// Trains on `world` and publishes the result as `version`; returns the model, the index and
/// the version directory.
fn train_and_publish(world: &Planted, root: &Path, version: &str) -> (AlsModel, AnnIndex, PathBuf) {
    let model = params().check().unwrap().fit(&world.train).unwrap();
    let popularity = MostPopular::fit(&world.train);
    let index = AnnIndex::build(model.item_factors.view(), &CONFIG).unwrap();
    let user_ids: Vec<String> = (0..world.n_users).map(|u| format!("u{u}")).collect();
    let item_ids: Vec<String> = (0..world.n_items).map(|i| format!("i{i}")).collect();
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        version: version.to_owned(),
        created_at: "2024-06-01T00:00:00Z".to_owned(),
        model: model.params.clone(),
        ann: CONFIG,
        data_fingerprint: "00".repeat(32),
        counts: Counts {
            users: world.n_users,
            items: world.n_items,
            interactions: world.train.nnz(),
        },
        factors: model.params.factors,
        metrics: serde_json::json!({ "final_loss": model.loss_history.last() }),
        files: Default::default(),
    };
    let contents = ArtifactContents {
        user_ids: &user_ids,
        item_ids: &item_ids,
        user_factors: model.user_factors.view(),
        item_factors: model.item_factors.view(),
        popularity: popularity.counts(),
        index: &index,
    };
    let report = vec![("report.md".to_owned(), b"# Report\n".to_vec())];
    let dir = publish(root, manifest, &contents, &report).unwrap();
    (model, index, dir)
}

#[test]
fn the_served_artifact_recommends_what_the_trained_model_does() {
    let world = planted(5, 400, 300, 10, 7);
    let root = tempfile::tempdir().unwrap();
    let (model, index, _) = train_and_publish(&world, root.path(), "2024-06-01");
    assert_eq!(
        current_version(root.path()).unwrap().as_deref(),
        Some("2024-06-01")
    );

    let served = Artifact::load_current(root.path()).unwrap();
    assert_eq!(served.user_factors, model.user_factors);
    assert_eq!(served.item_factors, model.item_factors);
    assert_eq!(served.item_ids[7], "i7");
    assert_eq!(
        MostPopular::from_counts(served.popularity.clone()).recommend(10, &[]),
        MostPopular::fit(&world.train).recommend(10, &[])
    );
    for u in (0..world.n_users).step_by(17) {
        let (seen, _) = world.train.row(u);
        let query = served.user_factors.row(u);
        assert_eq!(
            served.index.search(query, 10, seen),
            index.search(model.user_factors.row(u), 10, seen)
        );
        assert_eq!(
            top_k_dot(query, served.item_factors.view(), 10, seen),
            top_k_dot(
                model.user_factors.row(u),
                model.item_factors.view(),
                10,
                seen
            )
        );
    }
}

#[test]
fn the_index_finds_the_exact_top_items_of_als_users() {
    let world = planted(8, 800, 1000, 15, 8);
    let model = params().check().unwrap().fit(&world.train).unwrap();
    let index = AnnIndex::build(model.item_factors.view(), &CONFIG).unwrap();
    let excludes: Vec<Vec<u32>> = (0..world.n_users)
        .map(|u| world.train.row(u).0.to_vec())
        .collect();
    let recall = recall_at_k(
        &index,
        model.item_factors.view(),
        model.user_factors.view(),
        &excludes,
        10,
    );
    assert!(recall >= 0.95, "recall@10 on ALS factors = {recall}");
}

#[test]
fn the_same_data_and_seed_publish_byte_identical_files() {
    let world = planted(4, 200, 120, 8, 9);
    let root = tempfile::tempdir().unwrap();
    let (_, _, first) = train_and_publish(&world, root.path(), "first");
    let (_, _, second) = train_and_publish(&world, root.path(), "second");
    let (a, b) = (
        Artifact::load(&first).unwrap().manifest,
        Artifact::load(&second).unwrap().manifest,
    );
    assert_eq!(a.files, b.files);
    for name in a.files.keys() {
        assert_eq!(
            std::fs::read(first.join(name)).unwrap(),
            std::fs::read(second.join(name)).unwrap(),
            "{name}"
        );
    }
}
