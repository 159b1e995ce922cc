//! Integration tests of the engine through its public API, on small models trained on a
//! planted world and published to a temporary directory.

mod cold_start;
mod content;
mod feed;
mod live;
mod merge;
mod no_model;
mod swap;
mod updates;

use std::path::Path;
use std::sync::Arc;

use engine::{Engine, FeedConfig, InMemoryGraph, PostMeta};
use models::als::{AlsModel, AlsParams};
use models::ann::{AnnConfig, AnnIndex};
use models::artifact::{Artifact, ArtifactContents, Counts, Manifest, SCHEMA_VERSION, publish};
use models::popular::MostPopular;
use models::sparse::CsrMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const GROUPS: usize = 4;
pub const USERS: usize = 80;
pub const ITEMS: usize = 160;
/// Users `u0..u{AUTHORS}` also write posts: item `i` is by `u{i % AUTHORS}`, so every author
/// writes in one community (`AUTHORS` is a multiple of `GROUPS`).
pub const AUTHORS: usize = 20;
/// "Now" in the tests (Unix seconds).
pub const NOW: i64 = 1_750_000_000;

/// An `ef_search` above the item count: the index search is exhaustive.
pub const EXACT: AnnConfig = AnnConfig {
    max_connections: 16,
    ef_construction: 100,
    ef_search: 512,
};

pub fn group_of_item(i: usize) -> usize {
    i % GROUPS
}

pub fn group_of_user(u: usize) -> usize {
    u % GROUPS
}

pub fn post_id(i: usize) -> String {
    format!("p{i}")
}

pub fn user_id(u: usize) -> String {
    format!("u{u}")
}

pub fn author_of(i: usize) -> String {
    user_id(i % AUTHORS)
}

/// Every user interacts with 12 items of their community and one random item.
pub fn interactions(seed: u64) -> CsrMatrix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let per_group = ITEMS / GROUPS;
    let mut triplets = Vec::new();
    for u in 0..USERS {
        let g = group_of_user(u);
        let mut picks: Vec<u32> = Vec::new();
        while picks.len() < 12 {
            let i = (rng.random_range(0..per_group) * GROUPS + g) as u32;
            if !picks.contains(&i) {
                picks.push(i);
            }
        }
        for i in picks {
            triplets.push((u as u32, i, rng.random_range(1..4) as f32));
        }
        triplets.push((u as u32, rng.random_range(0..ITEMS as u32), 1.0));
    }
    CsrMatrix::from_triplets(USERS, ITEMS, &triplets).unwrap()
}

pub fn train(seed: u64) -> AlsModel {
    AlsParams {
        factors: 8,
        iterations: 10,
        seed,
        ..AlsParams::default()
    }
    .check()
    .unwrap()
    .fit(&interactions(seed))
    .unwrap()
}

/// Trains on the planted world with `seed` and publishes it as `version` under `root`.
pub fn publish_version(root: &Path, version: &str, seed: u64) -> AlsModel {
    let model = train(seed);
    let popularity = MostPopular::fit(&interactions(seed));
    let index = AnnIndex::build(model.item_factors.view(), &EXACT).unwrap();
    let user_ids: Vec<String> = (0..USERS).map(user_id).collect();
    let item_ids: Vec<String> = (0..ITEMS).map(post_id).collect();
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        version: version.to_owned(),
        created_at: "2025-06-15T00:00:00Z".to_owned(),
        model: model.params.clone(),
        ann: EXACT,
        data_fingerprint: "00".repeat(32),
        counts: Counts {
            users: USERS,
            items: ITEMS,
            interactions: 0,
        },
        factors: model.params.factors,
        metrics: serde_json::json!({}),
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
    publish(root, manifest, &contents, &[]).unwrap();
    model
}

/// The graph of the planted world: every item is a post by `author_of(i)` with topic
/// `g<group>`, one minute apart, the newest an hour before [`NOW`]. No interactions are
/// mirrored, so users known to the model are ranked with their trained vectors.
pub fn graph() -> Arc<InMemoryGraph> {
    let graph = Arc::new(InMemoryGraph::new());
    for i in 0..ITEMS {
        graph.add_post(PostMeta {
            id: post_id(i),
            author: author_of(i),
            created_at: NOW - 3600 - 60 * i as i64,
            deleted: false,
            topics: vec![format!("g{}", group_of_item(i))],
            text: String::new(),
        });
    }
    graph
}

/// A published world: the model, its directory and the graph.
#[derive(Debug)]
pub struct World {
    pub dir: tempfile::TempDir,
    pub model: AlsModel,
    pub graph: Arc<InMemoryGraph>,
}

impl World {
    pub fn publish() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let model = publish_version(dir.path(), "v1", 42);
        Self {
            dir,
            model,
            graph: graph(),
        }
    }

    pub fn artifact(&self) -> Artifact {
        Artifact::load_current(self.dir.path()).unwrap()
    }

    pub fn engine(&self, config: FeedConfig) -> Engine<Arc<InMemoryGraph>> {
        Engine::new(self.artifact(), Arc::clone(&self.graph), config).unwrap()
    }
}

/// Only the nearest-neighbour source (exact search), ranked by the model score alone, no
/// diversity rule: the feed is the model's ranking.
pub fn model_only() -> FeedConfig {
    FeedConfig {
        followed_quota: 0,
        trending_quota: 0,
        fresh_quota: 0,
        w_freshness: 0.0,
        w_affinity: 0.0,
        w_trending: 0.0,
        diversity_window: 0,
        exact_search_max_items: ITEMS,
        ..FeedConfig::default()
    }
}

/// The request for a first page at [`NOW`].
pub fn first(limit: usize) -> engine::FeedRequest {
    engine::FeedRequest {
        limit,
        cursor: None,
        now: NOW,
    }
}

/// The request for the page after `cursor` at [`NOW`].
pub fn next(limit: usize, cursor: &str) -> engine::FeedRequest {
    engine::FeedRequest {
        limit,
        cursor: Some(cursor.to_owned()),
        now: NOW,
    }
}

pub fn posts(page: &engine::FeedPage) -> Vec<String> {
    page.items.iter().map(|i| i.post.clone()).collect()
}

/// Item index of a post id `p<i>`.
pub fn item_of(post: &str) -> u32 {
    post[1..].parse().unwrap()
}
