//! [`ModelState`]: one loaded model version and everything derived from it at load time.
//!
//! A state is immutable except for two per-version caches (folded-in user vectors and the
//! vectors of posts added since the model was trained), so a request that loaded it keeps a
//! consistent view of one model version even while a newer one is swapped in.
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

use crate::config::FeedConfig;
use crate::error::Result;
use crate::graph::{PostMeta, SocialGraph, UserId};
use crate::live::FreshBuffer;

/// Author and creation time of a model item, read from the graph at load time.
#[derive(Clone, Debug)]
pub(crate) struct ItemMeta {
    pub author: UserId,
    pub created_at: i64,
}

/// One model version, ready to serve.
#[derive(Debug)]
pub(crate) struct ModelState {
    pub version: String,
    pub user_index: HashMap<String, u32>,
    pub item_ids: Vec<String>,
    pub item_index: HashMap<String, u32>,
    pub user_factors: Array2<f32>,
    /// `YᵀY` of the item factors, for fold-in.
    pub gram: Array2<f32>,
    pub regularization: f32,
    pub alpha: f32,
    /// The HNSW index; `index.items()` are the item factors. `None` without a model.
    pub index: Option<AnnIndex>,
    /// `ef` of every HNSW search.
    pub ef_search: usize,
    /// Model items by descending training popularity (ties by lower index).
    pub popular_order: Vec<u32>,
    /// Per item, its author and creation time (`None` when the graph does not know the post).
    pub item_meta: Vec<Option<ItemMeta>>,
    /// Model items of each author, ascending.
    pub items_by_author: HashMap<UserId, Vec<u32>>,
    /// Mean item vector of each topic.
    pub topic_means: HashMap<String, Array1<f32>>,
    /// The artifact's content encoder (a new post's vector from its topics and text), if it
    /// has one; the loader checked that its factors are the model's.
    pub content_encoder: Option<ContentEncoder>,
    /// Folded-in vectors of users who interacted since the engine started (or who are unknown
    /// to the model), keyed by user; bounded like the candidate-list cache (an evicted vector
    /// is folded in again when needed).
    pub user_vectors: moka::sync::Cache<UserId, Arc<Array1<f32>>>,
    /// Posts added since the model was trained, with vectors in this model's space.
    pub fresh: RwLock<FreshBuffer>,
}

impl ModelState {
    /// Derives the serving state from an artifact, reading each item's metadata from `graph`.
    pub(crate) fn new(artifact: Artifact, graph: &dyn SocialGraph, config: &FeedConfig) -> Self {
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
        let items = index.items();
        let f = items.ncols();
        let user_index = user_ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, i as u32))
            .collect();
        let item_index: HashMap<String, u32> = item_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i as u32))
            .collect();
        let mut popular_order: Vec<u32> = (0..item_ids.len() as u32).collect();
        popular_order.sort_by(|&a, &b| {
            popularity[b as usize]
                .cmp(&popularity[a as usize])
                .then(a.cmp(&b))
        });
        let mut item_meta = Vec::with_capacity(item_ids.len());
        let mut items_by_author: HashMap<UserId, Vec<u32>> = HashMap::new();
        let mut topic_sums: HashMap<String, (Array1<f32>, usize)> = HashMap::new();
        for (i, id) in item_ids.iter().enumerate() {
            let meta = graph.post_meta(id).filter(|m| !m.deleted);
            if let Some(PostMeta {
                author,
                created_at,
                topics,
                ..
            }) = meta
            {
                for topic in topics {
                    let entry = topic_sums
                        .entry(topic)
                        .or_insert_with(|| (Array1::zeros(f), 0));
                    entry.0 += &items.row(i);
                    entry.1 += 1;
                }
                items_by_author
                    .entry(author.clone())
                    .or_default()
                    .push(i as u32);
                item_meta.push(Some(ItemMeta { author, created_at }));
            } else {
                item_meta.push(None);
            }
        }
        let topic_means = topic_sums
            .into_iter()
            .map(|(t, (sum, n))| (t, sum / n as f32))
            .collect();
        let gram = gram(items);
        let ef_search = config.ef_search.unwrap_or(index.config().ef_search);
        tracing::info!(
            version = manifest.version,
            items = item_ids.len(),
            "engine model state ready"
        );
        Self {
            version: manifest.version,
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
            item_meta,
            items_by_author,
            topic_means,
            content_encoder,
            user_vectors: moka::sync::Cache::new(config.cache_capacity),
            fresh: RwLock::new(FreshBuffer::default()),
        }
    }

    /// The serving state before any model is published: version `""` and nothing in it but
    /// the (empty) fresh buffer and user-vector cache.
    pub(crate) fn without_model(config: &FeedConfig) -> Self {
        Self {
            version: String::new(),
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
            item_meta: Vec::new(),
            items_by_author: HashMap::new(),
            topic_means: HashMap::new(),
            content_encoder: None,
            user_vectors: moka::sync::Cache::new(config.cache_capacity),
            fresh: RwLock::new(FreshBuffer::default()),
        }
    }

    /// Whether this state serves a published model.
    pub(crate) fn has_model(&self) -> bool {
        self.index.is_some()
    }

    /// The item factors (`items x factors`; `0 x 0` without a model).
    pub(crate) fn items(&self) -> ndarray::ArrayView2<'_, f32> {
        match &self.index {
            Some(index) => index.items(),
            None => ndarray::ArrayView2::from_shape((0, 0), &[]).expect("an empty shape"),
        }
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
        Ok(fold_in(
            self.items(),
            self.gram.view(),
            self.regularization,
            self.alpha,
            items,
            weights,
        )?)
    }

    /// The model's vector of `user`, if the model knows them.
    pub(crate) fn model_user_vector(&self, user: &str) -> Option<ArrayView1<'_, f32>> {
        self.user_index
            .get(user)
            .map(|&u| self.user_factors.row(u as usize))
    }

    /// A cached folded-in vector of `user` for this version.
    pub(crate) fn cached_user_vector(&self, user: &str) -> Option<Array1<f32>> {
        self.user_vectors.get(user).map(|v| (*v).clone())
    }

    /// Forgets the cached folded-in vector of `user`.
    pub(crate) fn forget_user_vector(&self, user: &str) {
        self.user_vectors.invalidate(user);
    }

    /// Caches a folded-in vector of `user` for this version.
    pub(crate) fn cache_user_vector(&self, user: &str, vector: Array1<f32>) {
        self.user_vectors.insert(user.to_owned(), Arc::new(vector));
    }
}
