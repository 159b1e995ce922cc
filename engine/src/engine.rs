//! [`Engine`]: feed assembly over the current model. Live updates are in `updates`, hot swap
//! in `swap`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use arc_swap::ArcSwap;
use models::artifact::Artifact;
use ndarray::Array1;

use crate::cache::{Snapshot, SnapshotCache};
use crate::candidates::{Context, Pool, fresh, gather, locate, read_fresh};
use crate::config::FeedConfig;
use crate::cursor::{Cursor, id_hash};
use crate::diversity::diversify;
use crate::error::{Error, Result};
use crate::feed::{FeedItem, FeedPage, FeedRequest, Reason, SourceCounts};
use crate::filters::Admission;
use crate::graph::{Interaction, PostId, PostMeta, SocialGraph, UserId};
use crate::live::{FreshPost, Tombstones};
use crate::scoring::score;
use crate::state::ModelState;
use crate::trending::{TrendingBoard, TrendingSnapshot};

/// Most ranked lists one page may build when the lists run out before the page is full (a
/// list holds at least the sources' quotas of candidates, so one is nearly always enough).
const MAX_BUILDS_PER_PAGE: usize = 3;

/// The feed engine. Share it behind an `Arc`; every method takes `&self` and is safe to call
/// from many threads at once.
pub struct Engine<G> {
    pub(crate) graph: G,
    pub(crate) config: FeedConfig,
    /// The served model; an empty state (version `""`) before the first one.
    pub(crate) state: ArcSwap<ModelState>,
    pub(crate) cache: SnapshotCache,
    pub(crate) tombstones: RwLock<Tombstones>,
    pub(crate) trending: TrendingBoard,
    /// Posts added since the engine started (their latest version, by id), replayed into the
    /// fresh buffer of every new model that does not know them. Its lock also orders
    /// `add_post` against `swap`.
    pub(crate) added: Mutex<HashMap<PostId, PostMeta>>,
    /// Users who interacted since the engine started: their vectors are folded in from the
    /// graph rather than read from the model, whatever the model version.
    pub(crate) active: RwLock<HashSet<UserId>>,
    /// Bumped when a post in the fresh buffer is edited (its vector changes) and when a model
    /// is swapped in: cached lists of older generations are not reused. Added posts are merged
    /// into cached lists and deleted ones filtered when a page is cut, so neither bumps it.
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
    /// Cached lists into which posts added since their ranking were merged (a cache hit that
    /// scores only the new posts).
    pub merges: u64,
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

/// One feed request as the ranking sees it: what was read once at its start. Only the set of
/// posts served in the session changes while the page is cut, so it travels beside this.
struct RequestContext<'a> {
    state: &'a ModelState,
    user: &'a str,
    facts: &'a UserFacts,
    tombstones: &'a Tombstones,
    session: u64,
    generation: u64,
    now: i64,
}

impl RequestContext<'_> {
    fn admission<'b>(
        &'b self,
        graph: &'b dyn SocialGraph,
        served: &'b HashSet<u64>,
    ) -> Admission<'b> {
        Admission {
            user: self.user,
            graph,
            hidden: &self.facts.hidden,
            interacted: &self.facts.interacted,
            served,
            tombstones: self.tombstones,
        }
    }
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
        Ok(Self::with_state(state, graph, config))
    }

    /// An engine with no model yet, for a fresh deployment before the first pipeline run.
    ///
    /// Feeds come from the followed, trending and fresh sources (the nearest-neighbour source
    /// supplies nothing, and the trending source tops up with the newest posts instead of the
    /// model's popular ones), so a feed is never empty while the engine knows an admissible
    /// post. Without a model the engine knows the posts passed to
    /// [`add_post`](Self::add_post) (pass the store's recent posts at start-up) and those the
    /// graph lists for followed authors. [`model_version`](Self::model_version) is `""` and
    /// pages name that version; [`record_interaction`](Self::record_interaction) counts
    /// towards trending and folds in nothing. [`swap`](Self::swap) (or
    /// [`reload_if_changed`](Self::reload_if_changed)) installs the first model; posts added
    /// before stay candidates.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] from [`FeedConfig::check`].
    pub fn without_model(graph: G, config: FeedConfig) -> Result<Self> {
        config.check()?;
        let state = ModelState::without_model(&config);
        tracing::info!("engine serving without a model");
        Ok(Self::with_state(state, graph, config))
    }

    fn with_state(state: ModelState, graph: G, config: FeedConfig) -> Self {
        let seed = crate::feed::unix_now() as u64;
        Self {
            cache: SnapshotCache::new(config.cache_capacity, config.cache_ttl),
            graph,
            config,
            state: ArcSwap::from_pointee(state),
            tombstones: RwLock::new(Tombstones::default()),
            trending: TrendingBoard::default(),
            added: Mutex::new(HashMap::new()),
            active: RwLock::new(HashSet::new()),
            generation: AtomicU64::new(0),
            next_session: AtomicU64::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            stats: Mutex::new(EngineStats::default()),
        }
    }

    /// The version of the model serving new requests, `""` before the first model.
    pub fn model_version(&self) -> String {
        self.state.load().version.clone()
    }

    /// Whether a model is being served (false for an engine built
    /// [`without_model`](Self::without_model) until its first swap).
    pub fn has_model(&self) -> bool {
        self.state.load().has_model()
    }

    /// How many deleted posts the engine filters out (tombstones are dropped once no served
    /// model knows the post; see [`swap`](Self::swap)).
    pub fn tombstones(&self) -> usize {
        self.tombstones
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
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
    /// user's own action, or ranked by an older model) or runs out, what is left is ranked
    /// again without the posts already served, so pages never repeat a post. A page is
    /// shorter than asked (and has no next cursor) only when nothing admissible is left. A
    /// page is ranked by exactly one model version, the one in [`FeedPage::model_version`].
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
        // A cached list is reused while the model is the same and no post was edited; posts
        // added since are merged into it, so they show on the next page, and deleted ones are
        // filtered as the page is cut.
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
        let req = RequestContext {
            state: &state,
            user,
            facts: &facts,
            tombstones: &tombstones,
            session,
            generation,
            now: request.now,
        };
        let cache_hit = cached.is_some();
        let mut builds = 0;
        let mut snapshot = match cached {
            Some(s) if s.fresh_mark < read_fresh(&state).len() => {
                self.merge_added(&req, &served, &s)?
            }
            Some(s) => s,
            None => {
                builds += 1;
                self.build(&req, &served)?
            }
        };
        let mut sources = snapshot.sources;
        let mut items = Vec::with_capacity(request.limit);
        loop {
            let admission = req.admission(&self.graph, &served);
            let taken: Vec<FeedItem> = snapshot
                .items
                .iter()
                .filter(|it| admission.admits(&it.post, &it.author))
                .take(request.limit - items.len())
                .cloned()
                .collect();
            let got = taken.len();
            served.extend(taken.iter().map(|it| id_hash(&it.post)));
            items.extend(taken);
            // Stop when the page is full, or when a list ranked for this page gave nothing
            // (nothing admissible is left) or the builds are used up.
            if items.len() == request.limit
                || (builds > 0 && (got == 0 || builds == MAX_BUILDS_PER_PAGE))
            {
                break;
            }
            // The list ran out: rank what is left.
            snapshot = self.build(&req, &served)?;
            sources = if builds == 0 {
                snapshot.sources
            } else {
                sources.plus(&snapshot.sources)
            };
            builds += 1;
        }
        drop(tombstones);
        let next_cursor =
            (items.len() == request.limit).then(|| Cursor::new(user, session, &served).encode());
        tracing::debug!(
            user,
            session,
            version = state.version,
            items = items.len(),
            ?sources,
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
            sources,
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

    /// Ranks the candidate pool for the request (without `served`) into a new cached list.
    fn build(&self, req: &RequestContext<'_>, served: &HashSet<u64>) -> Result<Arc<Snapshot>> {
        // Read before the sources run: a post added during the ranking is merged later (or
        // found already in the list) rather than missed.
        let fresh_mark = read_fresh(req.state).len();
        let trending = self.trending.snapshot(req.now, &self.config);
        let ctx = self.context(req, served, &trending)?;
        let pool = gather(&ctx);
        let similar_floor = pool.similar_floor;
        let sources = pool.counts;
        let items = self.order(self.scored(&ctx, req.now, pool));
        {
            let mut stats = lock(&self.stats);
            stats.builds += 1;
            stats.sources = stats.sources.plus(&sources);
        }
        let snapshot = Arc::new(Snapshot {
            session: req.session,
            version: req.state.version.clone(),
            generation: req.generation,
            fresh_mark,
            similar_floor,
            items,
            sources,
        });
        self.cache.insert(req.user, Arc::clone(&snapshot));
        Ok(snapshot)
    }

    /// Merges the posts added since `cached` was ranked into it, with the reasons and scores a
    /// new ranking would give them (see [`fresh::propose_added`]), instead of ranking the whole
    /// pool again: a new post costs a few dot products per cached list, not a ranking per
    /// list.
    fn merge_added(
        &self,
        req: &RequestContext<'_>,
        served: &HashSet<u64>,
        cached: &Snapshot,
    ) -> Result<Arc<Snapshot>> {
        let (fresh_mark, added): (usize, Vec<FreshPost>) = {
            let buffer = read_fresh(req.state);
            (buffer.len(), buffer.since(cached.fresh_mark).to_vec())
        };
        let trending = self.trending.snapshot(req.now, &self.config);
        let ctx = self.context(req, served, &trending)?;
        let listed: HashSet<&str> = cached.items.iter().map(|it| it.post.as_str()).collect();
        let added: Vec<FreshPost> = added
            .into_iter()
            .filter(|p| !listed.contains(p.id.as_str()))
            .collect();
        let mut pool = Pool::default();
        fresh::propose_added(&ctx, &mut pool, &added, cached.similar_floor);
        let mut added_counts = pool.counts;
        let mut items = cached.items.clone();
        items.extend(self.scored(&ctx, req.now, pool));
        let left_slot = self.trim_explore_slot(&ctx, &mut items);
        let items = self.order(items);
        let sources = cached.sources.plus(&added_counts);
        let sources = SourceCounts {
            fresh: sources.fresh.saturating_sub(left_slot),
            ..sources
        };
        added_counts.fresh = added_counts.fresh.saturating_sub(left_slot);
        {
            let mut stats = lock(&self.stats);
            stats.merges += 1;
            stats.sources = stats.sources.plus(&added_counts);
        }
        let snapshot = Arc::new(Snapshot {
            session: cached.session,
            version: cached.version.clone(),
            generation: cached.generation,
            fresh_mark,
            similar_floor: cached.similar_floor,
            items,
            sources,
        });
        self.cache.insert(req.user, Arc::clone(&snapshot));
        Ok(snapshot)
    }

    /// What the sources and the scoring need about the request's user, read once per ranking.
    fn context<'a>(
        &'a self,
        req: &'a RequestContext<'a>,
        served: &'a HashSet<u64>,
        trending: &'a TrendingSnapshot,
    ) -> Result<Context<'a>> {
        let state = req.state;
        let user_vector = self.user_vector_in(state, req.user, &req.facts.interactions)?;
        let mut author_interactions: HashMap<UserId, usize> = HashMap::new();
        for i in &req.facts.interactions {
            if let Some(found) = locate(state, &self.graph, &i.post) {
                *author_interactions
                    .entry(found.author.into_owned())
                    .or_default() += 1;
            }
        }
        Ok(Context {
            state,
            graph: &self.graph,
            config: &self.config,
            user_vector,
            followees: self.graph.followees(req.user).into_iter().collect(),
            trending,
            trending_decay: trending.decay_to(req.now),
            admission: req.admission(&self.graph, served),
            author_interactions,
        })
    }

    /// The pool's candidates with their blended scores.
    fn scored(&self, ctx: &Context<'_>, now: i64, pool: Pool) -> Vec<FeedItem> {
        pool.into_candidates()
            .into_iter()
            .map(|c| FeedItem {
                score: score(
                    &c,
                    now,
                    &self.config,
                    &ctx.followees,
                    &ctx.author_interactions,
                ),
                post: c.post,
                author: c.author,
                reasons: c.reasons,
            })
            .collect()
    }

    /// Sorts by score (ties by post id) and applies the diversity rule.
    fn order(&self, mut ranked: Vec<FeedItem>) -> Vec<FeedItem> {
        ranked.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.post.cmp(&b.post))
        });
        diversify(
            ranked,
            |it| it.author.as_str(),
            self.config.max_per_author,
            self.config.diversity_window,
        )
    }

    /// Keeps the "new" reason on the newest [`FeedConfig::fresh_quota`] admissible posts of
    /// `items` only, as the explore slot of a new ranking would (newest first, ties by id);
    /// posts left with no reason leave the list. Returns how many lost the reason.
    fn trim_explore_slot(&self, ctx: &Context<'_>, items: &mut Vec<FeedItem>) -> usize {
        let quota = self.config.fresh_quota;
        let mut slot: Vec<(i64, usize)> = {
            let buffer = read_fresh(ctx.state);
            items
                .iter()
                .enumerate()
                .filter(|(_, it)| {
                    it.reasons.contains(&Reason::Fresh)
                        && ctx.admission.admits(&it.post, &it.author)
                })
                .map(|(i, it)| (buffer.get(&it.post).map_or(i64::MIN, |p| p.created_at), i))
                .collect()
        };
        if slot.len() <= quota {
            return 0;
        }
        slot.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| items[a.1].post.cmp(&items[b.1].post))
        });
        let out = &slot[quota..];
        for &(_, i) in out {
            items[i].reasons.retain(|r| *r != Reason::Fresh);
        }
        items.retain(|it| !it.reasons.is_empty());
        out.len()
    }

    /// `user`'s vector under `state`: a vector folded in for this version, else the model's
    /// row (unless the user interacted since the engine started), else a fold-in of their
    /// interactions with model items, else `None` (cold start, and always without a model).
    pub(crate) fn user_vector_in(
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
    /// cold-start user, and for everyone without a model): for debugging and tests.
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
}
