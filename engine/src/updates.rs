//! Live updates between model runs: new, edited and deleted posts (the catalog and the fresh
//! buffer), engagement (trending), users whose facts changed (caches, fold-in), and what the
//! API reads back (trending posts, authors).
//!
//! The database is the source of truth: the API changes it first, then tells the engine
//! (directly, or through the change log a replica follows), which updates its own state at
//! once. Users' facts are not mirrored: they come with each request ([`UserContext`]), and
//! these calls only drop what the engine cached from older ones.
//!
//! [`UserContext`]: crate::UserContext

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use crate::candidates::{locate, read_fresh};
use crate::context::{InteractionKind, PostMeta};
use crate::engine::{Engine, lock};
use crate::feed::unix_now;
use crate::ids::{PostId, UserId};
use crate::swap::fresh_post;

impl Engine {
    /// Bulk catalog upsert, for start-up: every live post the engine should know (their
    /// authors, times and topics; deleted metas are ignored). Posts go into the catalog only,
    /// never into the fresh buffer, so call it before [`new`](Self::new)'s model or the first
    /// [`swap`](Self::swap) is installed (the API does).
    ///
    /// Called while a model is served, it also derives the model's item metadata (authors,
    /// times, posts by author, topic means) from the catalog again and installs it as a swap
    /// to the same model would (the model itself is shared, not reloaded): posts added since
    /// the model get their vectors recomputed, cached lists are ranked again. That costs a
    /// pass over the model's items.
    pub fn load_posts(&self, posts: impl IntoIterator<Item = PostMeta>) {
        {
            let mut catalog = self.write_catalog();
            for meta in posts {
                if !meta.deleted {
                    catalog.upsert(&meta);
                }
            }
        }
        if self.has_model() {
            self.rederive();
        }
    }

    /// Counts an engagement with `post` at `at` (Unix seconds) towards trending: the post's
    /// score grows by the kind's weight. `O(log posts)`; its score counts at once, and it is
    /// listed among the highest from the next snapshot (within
    /// [`FeedConfig::trending_refresh`](crate::FeedConfig::trending_refresh)). No user state
    /// changes: call [`interactions_changed`](Self::interactions_changed) for the user who
    /// engaged.
    pub fn record_engagement(&self, post: PostId, kind: InteractionKind, at: i64) {
        self.trending.record(post, at, self.config.weights.of(kind));
    }

    /// Counts a batch of engagements, as [`record_engagement`](Self::record_engagement) one by
    /// one would, ordering the posts once (the trending window warmed at start or after a
    /// reload).
    pub fn record_engagements(
        &self,
        events: impl IntoIterator<Item = (PostId, InteractionKind, i64)>,
    ) {
        let weights = self.config.weights;
        self.trending.record_all(
            events
                .into_iter()
                .map(|(post, kind, at)| (post, at, weights.of(kind))),
        );
    }

    /// Takes back an engagement counted by [`record_engagement`](Self::record_engagement) with
    /// the same post, kind and time (an unlike): the post's trending score is what it would be
    /// had the engagement never been counted. `O(log posts)`, like recording.
    pub fn retract_engagement(&self, post: PostId, kind: InteractionKind, at: i64) {
        self.trending
            .record(post, at, -self.config.weights.of(kind));
    }

    /// Forgets every engagement counted towards trending, before warming the window again
    /// from the store (after a reload, see [`replace_posts`](Self::replace_posts)).
    pub fn reset_trending(&self) {
        self.trending.reset();
    }

    /// The current trending posts, for `GET /v1/trending`: up to `limit` posts by time-decayed
    /// engagement over [`FeedConfig::trending_window`](crate::FeedConfig::trending_window)
    /// at the current system time, highest first (ties by id), with their scores (the decayed
    /// sum of interaction weights). Deleted posts, posts of withheld authors
    /// ([`withhold_author`](Self::withhold_author)) and posts the engine does not know (in
    /// neither the model, the fresh buffer nor the catalog) are left out.
    pub fn trending(&self, limit: usize) -> Vec<(PostId, f32)> {
        self.trending_at(limit, unix_now())
    }

    /// [`trending`](Self::trending) at `now` (Unix seconds) instead of the system time, as
    /// [`FeedRequest::now`](crate::FeedRequest::now) does for feeds.
    pub fn trending_at(&self, limit: usize, now: i64) -> Vec<(PostId, f32)> {
        let snapshot = self.trending.view(now).snapshot;
        let decay = snapshot.decay_to(now);
        let state = self.state.load_full();
        let tombstones = self.tombstones.read().unwrap_or_else(|e| e.into_inner());
        let catalog = self.read_catalog();
        snapshot
            .ranked
            .iter()
            .filter(|&&(post, _)| {
                !tombstones.contains(post)
                    && locate(&state, &catalog, post)
                        .is_some_and(|found| !tombstones.withholds(found.author, now))
            })
            .take(limit)
            .map(|&(post, score)| (post, score * decay))
            .collect()
    }

    /// The author of a live post (one of the model's, the fresh buffer's or the catalog's),
    /// `None` for a deleted or unknown post: the API filters hidden authors out of trending
    /// with it.
    pub fn author_of(&self, post: PostId) -> Option<UserId> {
        let state = self.state.load();
        let tombstones = self.tombstones.read().unwrap_or_else(|e| e.into_inner());
        if tombstones.contains(post) {
            return None;
        }
        let catalog = self.read_catalog();
        locate(&state, &catalog, post).map(|found| found.author)
    }

    /// Drops `user`'s cached candidate list, so that their next page is ranked afresh. Call it
    /// when they follow, unfollow, block, unblock, mute or unmute someone (or are blocked).
    pub fn invalidate_user(&self, user: UserId) {
        self.cache.invalidate(user);
    }

    /// Tells the engine that `user`'s interactions changed (a like, a comment, a view, an
    /// unlike): their cached list and folded-in vector are dropped and they are marked
    /// active, so their next [`feed`](Self::feed) folds their vector in from the context's
    /// interactions (ALS fold-in against the model's fixed item vectors, with the cached Gram
    /// matrix) instead of reading the model's trained row. No fold-in happens here: it runs
    /// lazily inside the next `feed`, on the caller's CPU pool.
    ///
    /// A user whose context holds no interactions with model items is ranked with the model's
    /// trained vector (or none, if the model does not know them). Nothing counts towards
    /// trending: that is [`record_engagement`](Self::record_engagement).
    pub fn interactions_changed(&self, user: UserId) {
        self.active
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(user);
        self.cache.invalidate(user);
        self.state.load().forget_user_vector(user);
    }

    /// Drops every cached ranked list: every user's next page is ranked afresh.
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate_all();
    }

    /// Makes a new post known and a candidate at once: it enters the catalog and, when the
    /// model does not know it, the fresh buffer. Its vector there comes from the model's
    /// content encoder (topics and text) when the artifact has one, else it is the mean of
    /// its author's item vectors, else the mean of its topics' item vectors, else it has none
    /// (it can still be served as fresh, followed or trending). Users' cached ranked lists
    /// take it in on their next page (merged with the reasons and score a new ranking would
    /// give it, not ranked again). Deleted metas are ignored (see
    /// [`delete_post`](Self::delete_post)); adding a post again replaces it (as
    /// [`update_post`](Self::update_post)).
    pub fn add_post(&self, meta: PostMeta) {
        if meta.deleted {
            return;
        }
        self.upsert_fresh(meta);
    }

    /// Tells the engine that a post was edited (text, topics).
    ///
    /// The catalog takes the new version. A post added since the model was trained gets its
    /// entry in the fresh buffer recomputed from `meta` (vector, author, time) and the
    /// candidate pool's generation is bumped, so cached lists are ranked again; the new
    /// version is also the one replayed into the next model. A post the model knows keeps the
    /// model's vector until the next model, which is trained on what it became: no cached
    /// list is dropped. A post the engine does not know is added as by
    /// [`add_post`](Self::add_post); `meta` marked deleted deletes it as by
    /// [`delete_post`](Self::delete_post).
    pub fn update_post(&self, meta: PostMeta) {
        if meta.deleted {
            self.delete_post(meta.id);
            return;
        }
        self.upsert_fresh(meta);
    }

    /// Upserts a live post into the catalog, and adds or replaces it in the fresh buffer and
    /// in the posts replayed into later models when the model does not know it. A new post
    /// is merged into cached lists when their next page is cut; a replacement in the fresh
    /// buffer (an edit: its vector may change) bumps the generation, so cached lists are
    /// ranked again.
    fn upsert_fresh(&self, meta: PostMeta) {
        let mut added = lock(&self.added);
        self.write_catalog().upsert(&meta);
        let state = self.state.load();
        if state.item(meta.id).is_some() {
            return;
        }
        let post = fresh_post(&state, &meta);
        let replaced = {
            let mut fresh = state.fresh.write().unwrap_or_else(|e| e.into_inner());
            let replaced = fresh.contains(post.id);
            fresh.push(post);
            replaced
        };
        added.insert(meta.id, meta);
        if replaced {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Deletes a post: it is tombstoned, so it leaves every feed at once, including pages of
    /// running sessions (every page is cut through the tombstones, so cached lists stay
    /// valid), and trending; and it leaves the catalog.
    pub fn delete_post(&self, post: PostId) {
        self.delete_posts(&[post]);
    }

    /// Brings back a post hidden by a moderator (deleted as by
    /// [`delete_post`](Self::delete_post)): its tombstone goes, it enters the catalog again and
    /// is a candidate as a new post would be ([`add_post`](Self::add_post)); the candidate
    /// pool's generation is bumped, since lists ranked while it was hidden left it out.
    pub fn restore_post(&self, meta: PostMeta) {
        if meta.deleted {
            return;
        }
        self.tombstones
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(meta.id);
        self.upsert_fresh(meta);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn delete_posts(&self, posts: &[PostId]) {
        {
            let mut tombstones = self.tombstones.write().unwrap_or_else(|e| e.into_inner());
            for &post in posts {
                tombstones.insert(post);
            }
        }
        {
            let mut catalog = self.write_catalog();
            for &post in posts {
                catalog.remove(post);
            }
        }
        // No need to replay them into later models (their fresh buffers would only hold them
        // for the tombstones to filter out).
        let mut added = lock(&self.added);
        for post in posts {
            added.remove(post);
        }
    }

    /// Withholds every post of `author` from every list (feeds, including pages of running
    /// sessions, and trending) until `until`, Unix seconds (`i64::MAX`: until
    /// [`release_author`](Self::release_author)); a suspended or banned account. Their posts
    /// stay in the catalog and come back, ranked where they were, when released or when the
    /// time is up. Replaces an earlier time for the same author.
    pub fn withhold_author(&self, author: UserId, until: i64) {
        self.tombstones
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .withhold(author, until);
    }

    /// Shows `author`'s posts again (see [`withhold_author`](Self::withhold_author)).
    pub fn release_author(&self, author: UserId) {
        self.tombstones
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .release(author);
        // Lists ranked while the author was withheld left their posts out.
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Replaces every withheld author with `authors` (author, until), for a reload from the
    /// store.
    pub fn replace_withheld(&self, authors: impl IntoIterator<Item = (UserId, i64)>) {
        self.tombstones
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .replace_withheld(authors);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Whether `author`'s posts are withheld at `now` (Unix seconds): the API filters what it
    /// lists from the store (search) with it.
    pub fn withholds(&self, author: UserId, now: i64) -> bool {
        self.tombstones
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .withholds(author, now)
    }

    /// Replaces the catalog with `live`, for a replica that fell behind its change log's
    /// retention and reloads every live post from the store.
    ///
    /// Afterwards the catalog holds exactly these posts (deleted metas are left out). Posts
    /// the engine knew (in the catalog, the fresh buffer, or the served model's items it had
    /// metadata for) that are absent are deleted as by [`delete_post`](Self::delete_post).
    /// Posts present are upserted into the catalog; those in the fresh buffer are updated
    /// there; posts the engine did not know enter the catalog only (they are followed and
    /// trending candidates, not fresh ones). Under a model, its item metadata is derived
    /// from the new catalog again (as by [`load_posts`](Self::load_posts)). Every cached
    /// ranked list is dropped. Trending counters are kept: call
    /// [`reset_trending`](Self::reset_trending) before warming them again.
    pub fn replace_posts(&self, live: impl IntoIterator<Item = PostMeta>) {
        let live: Vec<PostMeta> = live.into_iter().filter(|m| !m.deleted).collect();
        let ids: HashSet<PostId> = live.iter().map(|m| m.id).collect();
        // Each lock is taken alone (see the lock order on `Engine::catalog`): a post added
        // meanwhile is live in the store too, and a post deleted meanwhile is tombstoned.
        let mut known: HashSet<PostId> = self.read_catalog().ids().collect();
        known.extend(lock(&self.added).keys().copied());
        {
            let state = self.state.load();
            known.extend(read_fresh(&state).iter_newest().map(|p| p.id));
            known.extend(
                state
                    .model
                    .item_ids
                    .iter()
                    .zip(&state.item_meta)
                    .filter(|(_, meta)| meta.is_some())
                    .map(|(&id, _)| id),
            );
        }
        let absent: Vec<PostId> = {
            let tombstones = self.tombstones.read().unwrap_or_else(|e| e.into_inner());
            known
                .into_iter()
                .filter(|id| !ids.contains(id) && !tombstones.contains(*id))
                .collect()
        };
        self.delete_posts(&absent);
        let in_fresh: Vec<PostMeta> = {
            let added = lock(&self.added);
            live.iter()
                .filter(|m| added.get(&m.id).is_some_and(|old| old != *m))
                .cloned()
                .collect()
        };
        {
            let mut catalog = self.write_catalog();
            for meta in &live {
                catalog.upsert(meta);
            }
        }
        for meta in in_fresh {
            self.upsert_fresh(meta);
        }
        if self.has_model() {
            self.rederive();
        }
        self.invalidate_all();
        tracing::info!(
            live = ids.len(),
            deleted = absent.len(),
            "engine catalog replaced"
        );
    }
}
