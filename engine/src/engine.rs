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
use crate::catalog::Catalog;
use crate::config::FeedConfig;
use crate::context::{Interaction, PostMeta, UserContext, UserFacts};
use crate::cursor::Cursor;
use crate::diversity::diversify;
use crate::error::{Error, Result};
use crate::feed::{FeedItem, FeedPage, FeedRequest, Reason, SourceCounts};
use crate::filters::Admission;
use crate::ids::{PostId, UserId};
use crate::live::{FreshPost, Tombstones};
use crate::scoring::score;
use crate::state::{Model, ModelState, UserVectors};
use crate::trending::{TrendingBoard, TrendingView};

/// Most ranked lists one page may build when the lists run out before the page is full (a
/// list holds at least the sources' quotas of candidates, so one is nearly always enough).
const MAX_BUILDS_PER_PAGE: usize = 3;

/// The feed engine. Share it behind an `Arc`; every method takes `&self` and is safe to call
/// from many threads at once.
///
/// It keeps catalog-side state only (live posts, the fresh buffer, trending counters, the
/// model, bounded caches); what it needs about a user comes with each request as a
/// [`UserContext`].
pub struct Engine {
    pub(crate) config: FeedConfig,
    /// The served model; an empty state (version `""`) before the first one.
    pub(crate) state: ArcSwap<ModelState>,
    /// Every live post. Requests read it while ranking (not while cutting a page from a
    /// cached list). Lock order: `added`, then `tombstones`, then `catalog`; a writer never
    /// holds `catalog` while taking another lock.
    pub(crate) catalog: RwLock<Catalog>,
    pub(crate) cache: SnapshotCache,
    pub(crate) tombstones: RwLock<Tombstones>,
    pub(crate) trending: TrendingBoard,
    /// Posts added since the engine started (their latest version, by id), replayed into the
    /// fresh buffer of every new model that does not know them. Its lock also orders
    /// `add_post` against `swap`.
    pub(crate) added: Mutex<HashMap<PostId, PostMeta>>,
    /// Users whose interactions changed since the engine started
    /// ([`interactions_changed`](Self::interactions_changed)): their vectors are folded in
    /// from their contexts rather than read from the model, whatever the model version.
    /// Bounded by the number of users (8 bytes each), not by their history.
    pub(crate) active: RwLock<HashSet<UserId>>,
    /// Bumped when a post in the fresh buffer is edited (its vector changes) and when a model
    /// is swapped in: cached lists of older generations are not reused. Added posts are merged
    /// into cached lists and deleted ones filtered when a page is cut, so neither bumps it.
    pub(crate) generation: AtomicU64,
    next_session: AtomicU64,
    stats: Mutex<EngineStats>,
    /// What the last reload found about the published versions (see [`Engine::reload`]).
    pub(crate) model_health: Mutex<crate::swap::ModelHealth>,
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

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("model_version", &self.state.load().version())
            .field("catalog", &self.catalog_len())
            .field("config", &self.config)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// One feed request as the ranking sees it: what was read once at its start. Only the set of
/// posts served in the session changes while the page is cut, so it travels beside this.
struct RequestContext<'a> {
    state: &'a ModelState,
    user: UserId,
    facts: &'a UserFacts<'a>,
    tombstones: &'a Tombstones,
    session: u64,
    generation: u64,
    now: i64,
}

impl RequestContext<'_> {
    fn admission<'b>(&'b self, served: &'b HashSet<PostId>) -> Admission<'b> {
        Admission {
            user: self.user,
            hidden: &self.facts.hidden,
            excluded: &self.facts.excluded,
            served,
            tombstones: self.tombstones,
            now: self.now,
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Engine {
    /// An engine serving `artifact` over the catalog `posts`: [`without_model`] (without its
    /// log line), [`load_posts`] and the model installed as by [`swap`]. Posts the model does
    /// not know go into the catalog only, not into the fresh buffer (as by `load_posts`).
    ///
    /// [`without_model`]: Self::without_model
    /// [`load_posts`]: Self::load_posts
    /// [`swap`]: Self::swap
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] from [`FeedConfig::check`].
    pub fn new(
        artifact: Artifact,
        posts: impl IntoIterator<Item = PostMeta>,
        config: FeedConfig,
    ) -> Result<Self> {
        config.check()?;
        let engine = Self::with_state(ModelState::without_model(&config), config);
        engine.load_posts(posts);
        let model = Arc::new(Model::from_artifact(artifact, &engine.config));
        let state = ModelState::new(
            model,
            &engine.read_catalog(),
            UserVectors::new(engine.config.cache_capacity),
        );
        engine.state.store(Arc::new(state));
        Ok(engine)
    }

    /// An engine with no model yet, for a fresh deployment before the first pipeline run.
    ///
    /// Feeds come from the followed, trending and fresh sources (the nearest-neighbour source
    /// supplies nothing, and the trending source tops up with the newest posts of the fresh
    /// buffer instead of the model's popular ones), so a feed is never empty while the engine
    /// knows an admissible post. Without a model the fresh buffer holds the posts passed to
    /// [`add_post`](Self::add_post); the catalog ([`load_posts`](Self::load_posts)) serves
    /// followed and trending posts. [`model_version`](Self::model_version) is `""` and pages
    /// name that version; there is nothing to fold in. [`swap`](Self::swap) (or
    /// [`reload`](Self::reload)) installs the first model; posts added
    /// before stay candidates.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] from [`FeedConfig::check`].
    pub fn without_model(config: FeedConfig) -> Result<Self> {
        config.check()?;
        let state = ModelState::without_model(&config);
        tracing::info!("engine serving without a model");
        Ok(Self::with_state(state, config))
    }

    fn with_state(state: ModelState, config: FeedConfig) -> Self {
        let seed = crate::feed::unix_now() as u64;
        let trending = TrendingBoard::new(&config);
        Self {
            cache: SnapshotCache::new(config.cache_capacity, config.cache_ttl),
            config,
            state: ArcSwap::from_pointee(state),
            catalog: RwLock::new(Catalog::default()),
            tombstones: RwLock::new(Tombstones::default()),
            trending,
            added: Mutex::new(HashMap::new()),
            active: RwLock::new(HashSet::new()),
            generation: AtomicU64::new(0),
            next_session: AtomicU64::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            stats: Mutex::new(EngineStats::default()),
            model_health: Mutex::new(crate::swap::ModelHealth::default()),
        }
    }

    pub(crate) fn read_catalog(&self) -> std::sync::RwLockReadGuard<'_, Catalog> {
        self.catalog.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write_catalog(&self) -> std::sync::RwLockWriteGuard<'_, Catalog> {
        self.catalog.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The version of the model serving new requests, `""` before the first model.
    pub fn model_version(&self) -> String {
        self.state.load().version().to_owned()
    }

    /// When the served model was trained (its manifest's RFC 3339 `created_at`; `""` without a
    /// model).
    pub fn model_created_at(&self) -> String {
        self.state.load().model.created_at.clone()
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

    /// How many authors are withheld (see [`withhold_author`](Self::withhold_author)), expired
    /// suspensions included until they are released or replaced.
    pub fn withheld_authors(&self) -> usize {
        self.tombstones
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .withheld_len()
    }

    /// Running totals since the engine started.
    pub fn stats(&self) -> EngineStats {
        *lock(&self.stats)
    }

    /// The configuration.
    pub fn config(&self) -> &FeedConfig {
        &self.config
    }

    /// How many live posts the engine knows (its catalog).
    pub fn catalog_len(&self) -> usize {
        self.read_catalog().len()
    }

    /// One page of `user`'s feed, with what the request needs about them in `ctx` (fetched
    /// by the caller, bounded by [`FeedConfig::context_interactions`] and
    /// [`FeedConfig::context_seen`]; the engine uses whatever it is given).
    ///
    /// The first page (no cursor) ranks the candidate pool into a list cached for the user's
    /// feed session; later pages continue down that list, skipping what became inadmissible
    /// (deleted, hidden or seen according to `ctx`, or served). A user whose interactions
    /// changed ([`interactions_changed`](Self::interactions_changed)) has their vector folded
    /// in here from `ctx.interactions`. When the list is gone (expired, invalidated by the
    /// user's own action, or ranked by an older model) or runs out, what is left is ranked
    /// again without the posts already served, so pages never repeat a post. A page is
    /// shorter than asked (and has no next cursor) only when nothing admissible is left. A
    /// page is ranked by exactly one model version, the one in [`FeedPage::model_version`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPageSize`], [`Error::InvalidCursor`], [`Error::CursorUserMismatch`],
    /// and fold-in errors ([`Error::Model`]) for a user whose interactions cannot be folded in.
    pub fn feed(&self, user: UserId, ctx: &UserContext, request: &FeedRequest) -> Result<FeedPage> {
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
        let mut served: HashSet<PostId> = cursor
            .as_ref()
            .map(|c| c.served.iter().copied().collect())
            .unwrap_or_default();
        let tombstones = self.tombstones.read().unwrap_or_else(|e| e.into_inner());
        // A cached list is reused while the model is the same, no post was edited and no
        // author left out of it came back; posts added since are merged into it, so they show
        // on the next page, and deleted ones are filtered as the page is cut.
        let cached = self.cache.get(user).filter(|s| {
            s.version == state.version()
                && s.generation == generation
                && !tombstones.ends_between(s.ranked_at, request.now)
                && cursor.as_ref().is_none_or(|c| s.session == c.session)
        });
        let session = match (&cursor, &cached) {
            (Some(c), _) => c.session,
            (None, Some(s)) => s.session,
            (None, None) => self.next_session.fetch_add(1, Ordering::Relaxed),
        };
        let facts = UserFacts::new(ctx);
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
            let admission = req.admission(&served);
            let taken: Vec<FeedItem> = snapshot
                .items
                .iter()
                .filter(|it| admission.admits(it.post, it.author))
                .take(request.limit - items.len())
                .cloned()
                .collect();
            let got = taken.len();
            served.extend(taken.iter().map(|it| it.post));
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
            user = user.0,
            session,
            version = state.version(),
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
            model_version: state.version().to_owned(),
            sources,
        })
    }

    /// Ranks the candidate pool for the request (without `served`) into a new cached list.
    fn build(&self, req: &RequestContext<'_>, served: &HashSet<PostId>) -> Result<Arc<Snapshot>> {
        // Read before the sources run: a post added during the ranking is merged later (or
        // found already in the list) rather than missed.
        let fresh_mark = read_fresh(req.state).len();
        let trending = self.trending.view(req.now);
        let catalog = self.read_catalog();
        let ctx = self.context(req, served, trending, &catalog)?;
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
            version: req.state.version().to_owned(),
            generation: req.generation,
            ranked_at: req.now,
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
        served: &HashSet<PostId>,
        cached: &Snapshot,
    ) -> Result<Arc<Snapshot>> {
        let (fresh_mark, added): (usize, Vec<FreshPost>) = {
            let buffer = read_fresh(req.state);
            (buffer.len(), buffer.since(cached.fresh_mark).to_vec())
        };
        let trending = self.trending.view(req.now);
        let catalog = self.read_catalog();
        let ctx = self.context(req, served, trending, &catalog)?;
        let listed: HashSet<PostId> = cached.items.iter().map(|it| it.post).collect();
        let added: Vec<FreshPost> = added
            .into_iter()
            .filter(|p| !listed.contains(&p.id))
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
            ranked_at: cached.ranked_at,
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
        served: &'a HashSet<PostId>,
        trending: TrendingView<'a>,
        catalog: &'a Catalog,
    ) -> Result<Context<'a>> {
        let state = req.state;
        let user_vector = self.user_vector_in(state, req.user, req.facts.interactions)?;
        // Author affinity counts interactions with live posts only: a deleted post's author is
        // not located the same way on every replica (a long-running one still has it in its
        // fresh buffer, one that started after the delete never saw it).
        let mut author_interactions: HashMap<UserId, usize> = HashMap::new();
        for i in req.facts.interactions {
            if req.tombstones.contains(i.post) {
                continue;
            }
            if let Some(found) = locate(state, catalog, i.post) {
                *author_interactions.entry(found.author).or_default() += 1;
            }
        }
        Ok(Context {
            state,
            catalog,
            config: &self.config,
            user_vector,
            followees: &req.facts.followees,
            interactions: req.facts.interactions,
            trending,
            admission: req.admission(served),
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
                    ctx.followees,
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
            |it| it.author,
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
                    it.reasons.contains(&Reason::Fresh) && ctx.admission.admits(it.post, it.author)
                })
                .map(|(i, it)| (buffer.get(it.post).map_or(i64::MIN, |p| p.created_at), i))
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
    /// row (unless the user's interactions changed since the engine started), else a fold-in
    /// of their `interactions` with model items (cached for this version), else `None` (cold
    /// start, and always without a model).
    pub(crate) fn user_vector_in(
        &self,
        state: &ModelState,
        user: UserId,
        interactions: &[Interaction],
    ) -> Result<Option<Array1<f32>>> {
        if let Some(v) = state.cached_user_vector(user) {
            return Ok(Some(v));
        }
        let active = self
            .active
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&user);
        let model_row = || state.model_user_vector(user).map(|v| v.to_owned());
        if !active && let Some(v) = model_row() {
            return Ok(Some(v));
        }
        let (items, weights): (Vec<u32>, Vec<f32>) = interactions
            .iter()
            .filter_map(|i| {
                let item = state.item(i.post)?;
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

    /// The vector the engine ranks `user`'s feed with under the current model, given their
    /// context (`None` for a cold-start user, and for everyone without a model): for
    /// debugging and tests. Like [`feed`](Self::feed), it folds in (and caches) the vector of
    /// a user whose interactions changed.
    ///
    /// # Errors
    ///
    /// Fold-in errors ([`Error::Model`]).
    pub fn user_vector(&self, user: UserId, ctx: &UserContext) -> Result<Option<Vec<f32>>> {
        let state = self.state.load_full();
        Ok(self
            .user_vector_in(&state, user, &ctx.interactions)?
            .map(|v| v.to_vec()))
    }
}
