//! Integration tests of the engine through its public API, on small models trained on a
//! planted world and published to a temporary directory.

mod catalog;
mod cold_start;
mod content;
mod context;
mod feed;
mod live;
mod merge;
mod no_model;
mod swap;
mod updates;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use engine::{
    Engine, FeedConfig, FeedPage, FeedRequest, Interaction, InteractionKind, PostId, PostMeta,
    UserContext, UserId,
};
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
/// Users `0..AUTHORS` also write posts: item `i` (post id `i`) is by user `i % AUTHORS`, so
/// every author writes in one community (`AUTHORS` is a multiple of `GROUPS`).
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

/// The post of model item `i` (the artifact names it `"{i}"`).
pub fn post_id(i: usize) -> PostId {
    PostId(i as i64)
}

/// The user of model row `u` (the artifact names them `"{u}"`).
pub fn user_id(u: usize) -> UserId {
    UserId(u as i64)
}

pub fn author_of(i: usize) -> UserId {
    user_id(i % AUTHORS)
}

/// A user the model has never seen.
pub const STRANGER: UserId = UserId(1_000);
/// Another user the model has never seen, who starts interacting in the tests.
pub const NEWBIE: UserId = UserId(1_001);
/// An author the model has never seen.
pub const NEWCOMER: UserId = UserId(1_002);

/// The `n`th post added in a test (unknown to every model).
pub fn new_post_id(n: usize) -> PostId {
    PostId(10_000 + n as i64)
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
    let user_ids: Vec<String> = (0..USERS).map(|u| u.to_string()).collect();
    let item_ids: Vec<String> = (0..ITEMS).map(|i| i.to_string()).collect();
    publish_named(root, version, &model, &user_ids, &item_ids, seed);
    model
}

/// Polls `root` as the background reloader does; the version swapped in, if any.
pub fn reload(engine: &Engine, root: &Path) -> Option<String> {
    engine
        .reload(root, engine::ReloadCheck::Pointer)
        .unwrap()
        .changed
}

/// Publishes `model` as `version` with these raw ids.
pub fn publish_named(
    root: &Path,
    version: &str,
    model: &AlsModel,
    user_ids: &[String],
    item_ids: &[String],
    seed: u64,
) {
    let popularity = MostPopular::fit(&interactions(seed));
    let index = AnnIndex::build(model.item_factors.view(), &EXACT).unwrap();
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
        user_ids,
        item_ids,
        user_factors: model.user_factors.view(),
        item_factors: model.item_factors.view(),
        popularity: popularity.counts(),
        index: &index,
    };
    publish(root, manifest, &contents, &[]).unwrap();
}

/// The catalog of the planted world: every item is a post by `author_of(i)` with topic
/// `g<group>`, one minute apart, the newest an hour before [`NOW`].
pub fn catalog() -> Vec<PostMeta> {
    (0..ITEMS)
        .map(|i| PostMeta {
            id: post_id(i),
            author: author_of(i),
            created_at: NOW - 3600 - 60 * i as i64,
            deleted: false,
            topics: vec![format!("g{}", group_of_item(i))],
            text: String::new(),
        })
        .collect()
}

/// A new post (not a model item) at `created_at`.
pub fn meta(id: PostId, author: UserId, created_at: i64, topics: &[&str]) -> PostMeta {
    PostMeta {
        id,
        author,
        created_at,
        deleted: false,
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        text: String::new(),
    }
}

/// The store's per-user facts, as the API would fetch them: what each user follows and hides,
/// their interactions and impressions (oldest first here).
#[derive(Debug, Default)]
pub struct Social {
    users: Mutex<HashMap<UserId, Facts>>,
}

#[derive(Clone, Debug, Default)]
struct Facts {
    followees: Vec<UserId>,
    hidden: Vec<UserId>,
    interactions: Vec<Interaction>,
    seen: Vec<PostId>,
}

impl Social {
    fn with<T>(&self, user: UserId, f: impl FnOnce(&mut Facts) -> T) -> T {
        f(self.users.lock().unwrap().entry(user).or_default())
    }

    pub fn follow(&self, user: UserId, author: UserId) {
        self.with(user, |u| {
            if !u.followees.contains(&author) {
                u.followees.push(author);
            }
        });
    }

    /// `user` blocks or mutes `author` (or is blocked by them).
    pub fn hide(&self, user: UserId, author: UserId) {
        self.with(user, |u| u.hidden.push(author));
    }

    pub fn mark_seen(&self, user: UserId, post: PostId) {
        self.with(user, |u| u.seen.push(post));
    }

    /// Stores an interaction at [`NOW`] (later ones are newer).
    pub fn interact(&self, user: UserId, post: PostId, kind: InteractionKind) {
        self.with(user, |u| {
            u.interactions.push(Interaction {
                post,
                kind,
                at: NOW,
            })
        });
    }

    /// Removes the most recent interaction of `user` with `post` of `kind` (an unlike);
    /// returns whether there was one.
    pub fn remove_interaction(&self, user: UserId, post: PostId, kind: InteractionKind) -> bool {
        self.with(user, |u| {
            let found = u
                .interactions
                .iter()
                .rposition(|x| x.post == post && x.kind == kind);
            found.map(|i| u.interactions.remove(i)).is_some()
        })
    }

    /// `user`'s context as the API fetches it: newest first, at most the config's bounds.
    pub fn context(&self, user: UserId, config: &FeedConfig) -> UserContext {
        let facts = self.with(user, |u| u.clone());
        UserContext {
            followees: facts.followees,
            hidden: facts.hidden,
            interactions: facts
                .interactions
                .into_iter()
                .rev()
                .take(config.context_interactions)
                .collect(),
            seen: facts
                .seen
                .into_iter()
                .rev()
                .take(config.context_seen)
                .collect(),
        }
    }
}

/// A published world: the model, its directory and the users' facts.
#[derive(Debug)]
pub struct World {
    pub dir: tempfile::TempDir,
    pub model: AlsModel,
    pub social: Social,
}

impl World {
    pub fn publish() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let model = publish_version(dir.path(), "v1", 42);
        Self {
            dir,
            model,
            social: Social::default(),
        }
    }

    pub fn artifact(&self) -> Artifact {
        Artifact::load_current(self.dir.path()).unwrap()
    }

    /// An engine serving the world's model over its catalog.
    pub fn engine(&self, config: FeedConfig) -> Engine {
        Engine::new(self.artifact(), catalog(), config).unwrap()
    }

    pub fn context(&self, engine: &Engine, user: UserId) -> UserContext {
        self.social.context(user, engine.config())
    }

    /// `user`'s page, with their context fetched as the API does.
    pub fn feed(&self, engine: &Engine, user: UserId, request: &FeedRequest) -> FeedPage {
        self.try_feed(engine, user, request).unwrap()
    }

    pub fn try_feed(
        &self,
        engine: &Engine,
        user: UserId,
        request: &FeedRequest,
    ) -> engine::Result<FeedPage> {
        engine.feed(user, &self.context(engine, user), request)
    }

    pub fn user_vector(&self, engine: &Engine, user: UserId) -> Option<Vec<f32>> {
        engine
            .user_vector(user, &self.context(engine, user))
            .unwrap()
    }

    /// An interaction as the API handles it: stored, counted towards trending at `at`, and
    /// the user's cached state dropped.
    pub fn interact(
        &self,
        engine: &Engine,
        user: UserId,
        post: PostId,
        kind: InteractionKind,
        at: i64,
    ) {
        self.social.interact(user, post, kind);
        engine.record_engagement(post, kind, at);
        engine.interactions_changed(user);
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
pub fn first(limit: usize) -> FeedRequest {
    FeedRequest {
        limit,
        cursor: None,
        now: NOW,
    }
}

/// The request for the page after `cursor` at [`NOW`].
pub fn next(limit: usize, cursor: &str) -> FeedRequest {
    FeedRequest {
        limit,
        cursor: Some(cursor.to_owned()),
        now: NOW,
    }
}

pub fn posts(page: &FeedPage) -> Vec<PostId> {
    page.items.iter().map(|i| i.post).collect()
}

/// Item index of a model item's post.
pub fn item_of(post: PostId) -> u32 {
    assert!(
        (0..ITEMS as i64).contains(&post.0),
        "{post} is not a model item"
    );
    post.0 as u32
}

/// Whether `post` is one of the planted world's items.
pub fn is_item(post: PostId) -> bool {
    (0..ITEMS as i64).contains(&post.0)
}
