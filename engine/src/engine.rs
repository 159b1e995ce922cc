//! [`Engine`]: feed assembly over the current model, live updates and hot swap.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use arc_swap::ArcSwap;
use models::artifact::Artifact;
use ndarray::Array1;

use crate::cache::{Snapshot, SnapshotCache};
use crate::candidates::{Context, gather, locate};
use crate::config::FeedConfig;
use crate::cursor::{Cursor, id_hash};
use crate::diversity::diversify;
use crate::error::{Error, Result};
use crate::feed::{FeedItem, FeedPage, FeedRequest, SourceCounts};
use crate::filters::Admission;
use crate::graph::{Interaction, InteractionKind, PostId, PostMeta, SocialGraph, UserId};
use crate::live::{Tombstones, Trending};
use crate::scoring::score;
use crate::state::ModelState;
use crate::swap::fresh_post;

/// The feed engine. Share it behind an `Arc`; every method takes `&self` and is safe to call
/// from many threads at once.
pub struct Engine<G> {
    pub(crate) graph: G,
    pub(crate) config: FeedConfig,
    pub(crate) state: ArcSwap<ModelState>,
    cache: SnapshotCache,
    tombstones: RwLock<Tombstones>,
    trending: Mutex<Trending>,
    /// Posts added since the engine started, replayed into the fresh buffer of every new model
    /// that does not know them. Its lock also orders `add_post` against `swap`.
    pub(crate) added: Mutex<Vec<PostMeta>>,
    /// Users who interacted since the engine started: their vectors are folded in from the
    /// graph rather than read from the model, whatever the model version.
    active: RwLock<HashSet<UserId>>,
    /// Bumped whenever the candidate pool changes for everyone (post added or deleted, model
    /// swapped): cached lists of older generations are not reused for fresh feeds.
    pub(crate) generation: AtomicU64,
    next_session: AtomicU64,
    stats: Mutex<EngineStats>,
}

/// Running totals since the engine started, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Pages served.
    pub pages: u64,
    /// Pages cut from a cached ranked list without ranking.
    pub cache_hits: u64,
    /// Ranked lists built.
    pub builds: u64,
    /// Candidates each source supplied, summed over every build.
    pub sources: SourceCounts,
}

impl<G> fmt::Debug for Engine<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("model_version", &self.state.load().version)
            .field("config", &self.config)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// What a request needs from the graph about its user, read once.
struct UserFacts {
    hidden: HashSet<UserId>,
    interactions: Vec<Interaction>,
    interacted: HashSet<PostId>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<G: SocialGraph> Engine<G> {
    /// An engine serving `artifact`, reading social facts from `graph`.
    ///
    /// Reads the metadata of every model item from `graph` (authors, creation times, topics).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] from [`FeedConfig::check`].
    pub fn new(artifact: Artifact, graph: G, config: FeedConfig) -> Result<Self> {
        config.check()?;
        let state = ModelState::new(artifact, &graph, &config);
        let seed = crate::feed::unix_now() as u64;
        Ok(Self {
            cache: SnapshotCache::new(config.cache_capacity, config.cache_ttl),
            graph,
            config,
            state: ArcSwap::from_pointee(state),
            tombstones: RwLock::new(Tombstones::default()),
            trending: Mutex::new(Trending::default()),
            added: Mutex::new(Vec::new()),
            active: RwLock::new(HashSet::new()),
            generation: AtomicU64::new(0),
            next_session: AtomicU64::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            stats: Mutex::new(EngineStats::default()),
        })
    }

    /// The version of the model serving new requests.
    pub fn model_version(&self) -> String {
        self.state.load().version.clone()
    }

    /// Running totals since the engine started.
    pub fn stats(&self) -> EngineStats {
        *lock(&self.stats)
    }

    /// The configuration.
    pub fn config(&self) -> &FeedConfig {
        &self.config
    }

    /// The social graph.
    pub fn graph(&self) -> &G {
        &self.graph
    }

    /// One page of `user`'s feed.
    ///
    /// The first page (no cursor) ranks the candidate pool into a list cached for the user's
    /// feed session; later pages continue down that list, skipping what became inadmissible
    /// (deleted, newly hidden, seen). When the list is gone (expired, invalidated by the
    /// user's own action, or ranked by an older model) it is rebuilt without the posts already
    /// served, so pages never repeat a post. A page is ranked by exactly one model version,
    /// the one in [`FeedPage::model_version`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPageSize`], [`Error::InvalidCursor`], [`Error::CursorUserMismatch`],
    /// and fold-in errors ([`Error::Model`]) for a user whose interactions cannot be folded in.
    pub fn feed(&self, user: &str, request: &FeedRequest) -> Result<FeedPage> {
        let max = self.config.max_page_size;
        if request.limit == 0 || request.limit > max {
            return Err(Error::InvalidPageSize {
                got: request.limit,
                max,
            });
        }
        let cursor = request
            .cursor
            .as_deref()
            .map(|c| Cursor::decode(c, user))
            .transpose()?;
        // One model for the whole request, even if another is swapped in meanwhile.
        let state = self.state.load_full();
        let generation = self.generation.load(Ordering::SeqCst);
        let mut served: HashSet<u64> = cursor
            .as_ref()
            .map(|c| c.served.iter().copied().collect())
            .unwrap_or_default();
        // A cached list is reused while the model and the pool are unchanged (a post added or
        // deleted since re-ranks the rest of the session, so new posts show on the next page).
        let cached = self.cache.get(user).filter(|s| {
            s.version == state.version
                && s.generation == generation
                && cursor.as_ref().is_none_or(|c| s.session == c.session)
        });
        let session = match (&cursor, &cached) {
            (Some(c), _) => c.session,
            (None, Some(s)) => s.session,
            (None, None) => self.next_session.fetch_add(1, Ordering::Relaxed),
        };
        let facts = self.user_facts(user);
        let tombstones = self.tombstones.read().unwrap_or_else(|e| e.into_inner());
        let cache_hit = cached.is_some();
        let (mut snapshot, mut fresh_build) = match cached {
            Some(s) => (s, false),
            None => {
                let s = self.build(
                    &state,
                    user,
                    &facts,
                    &tombstones,
                    &served,
                    session,
                    generation,
                    request.now,
                )?;
                (s, true)
            }
        };
        let mut items = Vec::with_capacity(request.limit);
        loop {
            let admission = Admission {
                user,
                graph: &self.graph,
                hidden: &facts.hidden,
                interacted: &facts.interacted,
                served: &served,
                tombstones: &tombstones,
            };
            let taken: Vec<FeedItem> = snapshot
                .items
                .iter()
                .filter(|it| admission.admits(&it.post, &it.author))
                .take(request.limit - items.len())
                .cloned()
                .collect();
            served.extend(taken.iter().map(|it| id_hash(&it.post)));
            items.extend(taken);
            if items.len() == request.limit || fresh_build {
                break;
            }
            // The cached list ran out: rank what is left, once.
            snapshot = self.build(
                &state,
                user,
                &facts,
                &tombstones,
                &served,
                session,
                generation,
                request.now,
            )?;
            fresh_build = true;
        }
        drop(tombstones);
        let next_cursor =
            (items.len() == request.limit).then(|| Cursor::new(user, session, &served).encode());
        tracing::debug!(
            user,
            session,
            version = state.version,
            items = items.len(),
            sources = ?snapshot.sources,
            "feed page"
        );
        {
            let mut stats = lock(&self.stats);
            stats.pages += 1;
            stats.cache_hits += u64::from(cache_hit);
        }
        Ok(FeedPage {
            items,
            next_cursor,
            model_version: state.version.clone(),
            sources: snapshot.sources,
        })
    }

    fn user_facts(&self, user: &str) -> UserFacts {
        let interactions = self.graph.interactions(user);
        UserFacts {
            hidden: self.graph.hidden_authors(user).into_iter().collect(),
            interacted: interactions.iter().map(|i| i.post.clone()).collect(),
            interactions,
        }
    }

    /// Ranks the candidate pool for `user` into a new cached list.
    #[allow(clippy::too_many_arguments)]
    fn build(
        &self,
        state: &ModelState,
        user: &str,
        facts: &UserFacts,
        tombstones: &Tombstones,
        served: &HashSet<u64>,
        session: u64,
        generation: u64,
        now: i64,
    ) -> Result<Arc<Snapshot>> {
        let config = &self.config;
        let user_vector = self.user_vector_in(state, user, &facts.interactions)?;
        let mut author_interactions: HashMap<UserId, usize> = HashMap::new();
        for i in &facts.interactions {
            if let Some((author, _)) = locate(state, &self.graph, &i.post) {
                *author_interactions.entry(author).or_default() += 1;
            }
        }
        let trending = {
            let mut t = lock(&self.trending);
            t.prune(now, config.trending_window);
            t.scores(now, config.trending_window, config.trending_half_life)
        };
        let ctx = Context {
            state,
            graph: &self.graph,
            config,
            user_vector,
            followees: self.graph.followees(user),
            trending_by_post: trending.iter().cloned().collect(),
            trending,
            admission: Admission {
                user,
                graph: &self.graph,
                hidden: &facts.hidden,
                interacted: &facts.interacted,
                served,
                tombstones,
            },
            author_interactions,
        };
        let pool = gather(&ctx);
        let sources = pool.counts;
        let mut ranked: Vec<FeedItem> = pool
            .into_candidates()
            .into_iter()
            .map(|c| FeedItem {
                score: score(&c, now, config, &ctx.followees, &ctx.author_interactions),
                post: c.post,
                author: c.author,
                reasons: c.reasons,
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.post.cmp(&b.post))
        });
        let items = diversify(
            ranked,
            |it| it.author.as_str(),
            config.max_per_author,
            config.diversity_window,
        );
        {
            let mut stats = lock(&self.stats);
            stats.builds += 1;
            let (t, s) = (&mut stats.sources, &sources);
            t.similar += s.similar;
            t.followed += s.followed;
            t.trending += s.trending;
            t.popular += s.popular;
            t.fresh += s.fresh;
        }
        let snapshot = Arc::new(Snapshot {
            session,
            version: state.version.clone(),
            generation,
            items,
            sources,
        });
        self.cache.insert(user, Arc::clone(&snapshot));
        Ok(snapshot)
    }

    /// `user`'s vector under `state`: a vector folded in for this version, else the model's
    /// row (unless the user interacted since the engine started), else a fold-in of their
    /// interactions with model items, else `None` (cold start).
    fn user_vector_in(
        &self,
        state: &ModelState,
        user: &str,
        interactions: &[Interaction],
    ) -> Result<Option<Array1<f32>>> {
        if let Some(v) = state.cached_user_vector(user) {
            return Ok(Some(v));
        }
        let active = self
            .active
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(user);
        let model_row = || state.model_user_vector(user).map(|v| v.to_owned());
        if !active && let Some(v) = model_row() {
            return Ok(Some(v));
        }
        let (items, weights): (Vec<u32>, Vec<f32>) = interactions
            .iter()
            .filter_map(|i| {
                let item = *state.item_index.get(&i.post)?;
                Some((item, self.config.weights.of(i.kind)))
            })
            .unzip();
        if items.is_empty() {
            return Ok(model_row());
        }
        let v = state.fold_in(&items, &weights)?;
        state.cache_user_vector(user, v.clone());
        Ok(Some(v))
    }

    /// The vector the engine ranks `user`'s feed with under the current model (`None` for a
    /// cold-start user): for debugging and tests.
    ///
    /// # Errors
    ///
    /// Fold-in errors ([`Error::Model`]).
    pub fn user_vector(&self, user: &str) -> Result<Option<Vec<f32>>> {
        let state = self.state.load_full();
        let interactions = self.graph.interactions(user);
        Ok(self
            .user_vector_in(&state, user, &interactions)?
            .map(|v| v.to_vec()))
    }

    /// Tells the engine that `user` interacted with `post` at `at` (Unix seconds). Call it after
    /// the interaction is visible through [`SocialGraph::interactions`].
    ///
    /// The user's vector is folded in again at once (ALS fold-in against the model's fixed item
    /// vectors, with the cached Gram matrix), their cached candidate list is dropped, and the
    /// post's trending score grows by the kind's weight.
    ///
    /// # Errors
    ///
    /// Fold-in errors ([`Error::Model`]).
    pub fn record_interaction(
        &self,
        user: &str,
        post: &str,
        kind: InteractionKind,
        at: i64,
    ) -> Result<()> {
        self.record_engagement(post, kind, at);
        self.active
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(user.to_owned());
        let state = self.state.load_full();
        state.forget_user_vector(user);
        let interactions = self.graph.interactions(user);
        self.user_vector_in(&state, user, &interactions)?;
        self.cache.invalidate(user);
        Ok(())
    }

    /// Counts an engagement with `post` at `at` towards trending only (no fold-in, no cache
    /// invalidation): for warming the trending window from the store after a restart.
    pub fn record_engagement(&self, post: &str, kind: InteractionKind, at: i64) {
        lock(&self.trending).record(post, at, self.config.weights.of(kind));
    }

    /// Drops `user`'s cached candidate list, so that their next page is ranked afresh. Call it
    /// when they follow, block or mute someone.
    pub fn invalidate_user(&self, user: &str) {
        self.cache.invalidate(user);
    }

    /// Makes a new post a candidate at once. Its vector is the mean of its author's item
    /// vectors, else the mean of its topics' item vectors, else it has none (it can still be
    /// served as fresh, followed or trending). Posts the model already knows, and deleted
    /// posts, are ignored.
    pub fn add_post(&self, meta: PostMeta) {
        if meta.deleted {
            return;
        }
        let mut added = lock(&self.added);
        let state = self.state.load();
        if state.item_index.contains_key(&meta.id) {
            return;
        }
        let post = fresh_post(&state, &meta);
        state
            .fresh
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(post);
        added.push(meta);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Tombstones a post: it leaves every feed at once, including pages of running sessions.
    pub fn delete_post(&self, post: &str) {
        self.tombstones
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(post);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}
