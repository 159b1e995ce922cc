//! [`ModelState`]: one loaded model version ([`Model`]) and what is derived from it and the
//! catalog.
//!
//! A [`Model`] is what the artifact says (ids, factors, the index, popularity, the content
//! encoder) and never changes. A state adds the metadata of the model's items read from the
//! catalog when the state is built (authors, creation times, the posts of each author, the
//! topics' mean vectors) and two per-version caches (folded-in user vectors and the vectors
//! of posts added since the model was trained). A request that loaded a state keeps a
//! consistent view of one model version even while a newer one is swapped in. When the
//! catalog is reloaded under a served model, a new state is derived from the same `Model`
//! (shared, not copied) and swapped in like a new version.
//!
//! Before the first model is published the engine serves from an empty state
//! ([`ModelState::without_model`]): no items, no users, no index, version `""`. Every lookup
//! of a model item or user then finds nothing, so the nearest-neighbour source and the
//! model's popularity supply nothing while the fresh buffer, the followed and the trending
//! sources work as usual.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use models::als::{fold_in, gram};
use models::ann::AnnIndex;
use models::artifact::Artifact;
use models::content::ContentEncoder;
use ndarray::{Array1, Array2, ArrayView1};

use crate::catalog::Catalog;
use crate::config::FeedConfig;
use crate::context::PostMeta;
use crate::error::Result;
use crate::ids::{PostId, UserId, parse_raw_ids};
use crate::live::FreshBuffer;

/// The id held by [`Model::item_ids`] for an item whose raw id is not an integer (such an
/// item is in no map, has no metadata and is never proposed).
const UNNAMED: PostId = PostId(i64::MIN);

/// One published model version, as loaded from its artifact.
#[derive(Debug)]
pub(crate) struct Model {
    pub version: String,
    /// When the pipeline wrote it (the manifest's RFC 3339 time; `""` without a model).
    pub created_at: String,
    /// Users by id (raw ids that are not integers are left out).
    pub user_index: HashMap<UserId, u32>,
    /// The id of each item ([`UNNAMED`] for a raw id that is not an integer).
    pub item_ids: Vec<PostId>,
    /// Items by id (raw ids that are not integers are left out).
    pub item_index: HashMap<PostId, u32>,
    pub user_factors: Array2<f32>,
    /// `YᵀY` of the item factors, for fold-in.
    pub gram: Array2<f32>,
    pub regularization: f32,
    pub alpha: f32,
    /// The HNSW index; `index.items()` are the item factors. `None` without a model.
    pub index: Option<AnnIndex>,
    /// `ef` of every HNSW search.
    pub ef_search: usize,
    /// Named model items by descending training popularity (ties by lower index).
    pub popular_order: Vec<u32>,
    /// The artifact's content encoder (a new post's vector from its topics and text), if it
    /// has one; the loader checked that its factors are the model's.
    pub content_encoder: Option<ContentEncoder>,
}

impl Model {
    /// Derives the model from an artifact, parsing its raw ids once.
    pub(crate) fn from_artifact(artifact: Artifact, config: &FeedConfig) -> Self {
        let Artifact {
            manifest,
            user_ids,
            item_ids,
            user_factors,
            item_factors,
            popularity,
            index,
            content_encoder,
            ..
        } = artifact;
        // The index keeps its own copy of the item vectors; the artifact's copy is dropped here.
        drop(item_factors);
        let (users, skipped_users) = parse_raw_ids::<UserId>(&user_ids);
        let (items, skipped_items) = parse_raw_ids::<PostId>(&item_ids);
        drop((user_ids, item_ids));
        if skipped_users + skipped_items > 0 {
            tracing::warn!(
                version = manifest.version,
                users = skipped_users,
                items = skipped_items,
                "model ids that are not integers left out (no request can name them)"
            );
        }
        let user_index = users
            .iter()
            .enumerate()
            .filter_map(|(i, id)| Some(((*id)?, i as u32)))
            .collect();
        let item_index: HashMap<PostId, u32> = items
            .iter()
            .enumerate()
            .filter_map(|(i, id)| Some(((*id)?, i as u32)))
            .collect();
        let item_ids: Vec<PostId> = items.into_iter().map(|id| id.unwrap_or(UNNAMED)).collect();
        let mut popular_order: Vec<u32> = (0..item_ids.len() as u32)
            .filter(|&i| item_ids[i as usize] != UNNAMED)
            .collect();
        popular_order.sort_by(|&a, &b| {
            popularity[b as usize]
                .cmp(&popularity[a as usize])
                .then(a.cmp(&b))
        });
        let gram = gram(index.items());
        let ef_search = config.ef_search.unwrap_or(index.config().ef_search);
        Self {
            version: manifest.version,
            created_at: manifest.created_at,
            user_index,
            item_ids,
            item_index,
            user_factors,
            gram,
            regularization: manifest.model.regularization,
            alpha: manifest.model.alpha,
            index: Some(index),
            ef_search,
            popular_order,
            content_encoder,
        }
    }

    /// No model: version `""`, no users, no items.
    pub(crate) fn empty() -> Self {
        Self {
            version: String::new(),
            created_at: String::new(),
            user_index: HashMap::new(),
            item_ids: Vec::new(),
            item_index: HashMap::new(),
            user_factors: Array2::zeros((0, 0)),
            gram: Array2::zeros((0, 0)),
            regularization: 0.0,
            alpha: 0.0,
            index: None,
            ef_search: 0,
            popular_order: Vec::new(),
            content_encoder: None,
        }
    }

    /// The item factors (`items x factors`; `0 x 0` without a model).
    pub(crate) fn items(&self) -> ndarray::ArrayView2<'_, f32> {
        match &self.index {
            Some(index) => index.items(),
            None => ndarray::ArrayView2::from_shape((0, 0), &[]).expect("an empty shape"),
        }
    }
}

/// Author and creation time of a model item, read from the catalog when the state was built.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ItemMeta {
    pub author: UserId,
    pub created_at: i64,
}

/// Folded-in user vectors of one model version.
pub(crate) type UserVectors = moka::sync::Cache<UserId, Arc<Array1<f32>>>;

/// One model version, ready to serve.
#[derive(Debug)]
pub(crate) struct ModelState {
    pub model: Arc<Model>,
    /// Per item, its author and creation time (`None` when the catalog did not hold the post
    /// when the state was built; such an item is located through the catalog instead).
    pub item_meta: Vec<Option<ItemMeta>>,
    /// Model items of each author, ascending.
    pub items_by_author: HashMap<UserId, Vec<u32>>,
    /// Mean item vector of each topic.
    pub topic_means: HashMap<String, Array1<f32>>,
    /// Folded-in vectors of users who interacted since the engine started (or who are unknown
    /// to the model), keyed by user; bounded like the candidate-list cache (an evicted vector
    /// is folded in again when needed).
    pub user_vectors: UserVectors,
    /// Posts added since the model was trained, with vectors in this model's space.
    pub fresh: RwLock<FreshBuffer>,
}

impl ModelState {
    /// Derives the serving state of `model`, reading each item's metadata from `catalog`.
    /// `user_vectors` is a new cache for a new model, or the cache of a state of the same
    /// model (its vectors are still right).
    pub(crate) fn new(model: Arc<Model>, catalog: &Catalog, user_vectors: UserVectors) -> Self {
        let items = model.items();
        let f = items.ncols();
        let mut item_meta = Vec::with_capacity(model.item_ids.len());
        let mut items_by_author: HashMap<UserId, Vec<u32>> = HashMap::new();
        let mut topic_sums: HashMap<u32, (Array1<f32>, usize)> = HashMap::new();
        for (i, &id) in model.item_ids.iter().enumerate() {
            let post = (id != UNNAMED).then(|| catalog.get(id)).flatten();
            let Some(post) = post else {
                item_meta.push(None);
                continue;
            };
            for &topic in catalog.topic_ids(post) {
                let entry = topic_sums
                    .entry(topic)
                    .or_insert_with(|| (Array1::zeros(f), 0));
                entry.0 += &items.row(i);
                entry.1 += 1;
            }
            items_by_author
                .entry(post.author)
                .or_default()
                .push(i as u32);
            item_meta.push(Some(ItemMeta {
                author: post.author,
                created_at: post.created_at,
            }));
        }
        let topic_means = topic_sums
            .into_iter()
            .map(|(t, (sum, n))| (catalog.topic_name(t).to_owned(), sum / n as f32))
            .collect();
        let described = item_meta.iter().filter(|m| m.is_some()).count();
        tracing::info!(
            version = model.version,
            items = model.item_ids.len(),
            in_catalog = described,
            "engine model state ready"
        );
        Self {
            model,
            item_meta,
            items_by_author,
            topic_means,
            user_vectors,
            fresh: RwLock::new(FreshBuffer::default()),
        }
    }

    /// The serving state before any model is published: version `""` and nothing in it but
    /// the (empty) fresh buffer and user-vector cache.
    pub(crate) fn without_model(config: &FeedConfig) -> Self {
        Self {
            model: Arc::new(Model::empty()),
            item_meta: Vec::new(),
            items_by_author: HashMap::new(),
            topic_means: HashMap::new(),
            user_vectors: UserVectors::new(config.cache_capacity),
            fresh: RwLock::new(FreshBuffer::default()),
        }
    }

    pub(crate) fn version(&self) -> &str {
        &self.model.version
    }

    /// Whether this state serves a published model.
    pub(crate) fn has_model(&self) -> bool {
        self.model.index.is_some()
    }

    /// The model item of `post`, if the model knows it.
    pub(crate) fn item(&self, post: PostId) -> Option<u32> {
        self.model.item_index.get(&post).copied()
    }

    /// The item factors (`items x factors`; `0 x 0` without a model).
    pub(crate) fn items(&self) -> ndarray::ArrayView2<'_, f32> {
        self.model.items()
    }

    /// The vector of a new post: the mean of its author's item vectors, else the mean of its
    /// topics' mean vectors, else `None`.
    pub(crate) fn new_post_vector(&self, meta: &PostMeta) -> Option<Array1<f32>> {
        let items = self.items();
        if let Some(own) = self.items_by_author.get(&meta.author)
            && !own.is_empty()
        {
            let mut sum = Array1::<f32>::zeros(items.ncols());
            for &i in own {
                sum += &items.row(i as usize);
            }
            return Some(sum / own.len() as f32);
        }
        let known: Vec<&Array1<f32>> = meta
            .topics
            .iter()
            .filter_map(|t| self.topic_means.get(t))
            .collect();
        if known.is_empty() {
            return None;
        }
        let mut sum = Array1::<f32>::zeros(items.ncols());
        for v in &known {
            sum += *v;
        }
        Some(sum / known.len() as f32)
    }

    /// Folds in a user from their interactions (`(item, weight)` of model items).
    ///
    /// # Errors
    ///
    /// Fold-in errors from [`models::als::fold_in`].
    pub(crate) fn fold_in(&self, items: &[u32], weights: &[f32]) -> Result<Array1<f32>> {
        let m = &self.model;
        Ok(fold_in(
            self.items(),
            m.gram.view(),
            m.regularization,
            m.alpha,
            items,
            weights,
        )?)
    }

    /// The model's vector of `user`, if the model knows them.
    pub(crate) fn model_user_vector(&self, user: UserId) -> Option<ArrayView1<'_, f32>> {
        self.model
            .user_index
            .get(&user)
            .map(|&u| self.model.user_factors.row(u as usize))
    }

    /// A cached folded-in vector of `user` for this version.
    pub(crate) fn cached_user_vector(&self, user: UserId) -> Option<Array1<f32>> {
        self.user_vectors.get(&user).map(|v| (*v).clone())
    }

    /// Forgets the cached folded-in vector of `user`.
    pub(crate) fn forget_user_vector(&self, user: UserId) {
        self.user_vectors.invalidate(&user);
    }

    /// Caches a folded-in vector of `user` for this version.
    pub(crate) fn cache_user_vector(&self, user: UserId, vector: Array1<f32>) {
        self.user_vectors.insert(user, Arc::new(vector));
    }
}
