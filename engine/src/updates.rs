//! Live updates between model runs: interactions (fold-in and trending), new, edited and
//! deleted posts, and what the API reads back (trending posts).
//!
//! The graph is the source of truth: the API changes it first, then tells the engine, which
//! updates its own state at once (a user's vector and cached list, the fresh buffer, the
//! tombstones, the engagement log).

use std::sync::atomic::Ordering;

use crate::candidates::locate;
use crate::engine::{Engine, lock};
use crate::error::Result;
use crate::feed::unix_now;
use crate::graph::{InteractionKind, PostId, PostMeta, SocialGraph};
use crate::swap::fresh_post;

impl<G: SocialGraph> Engine<G> {
    /// Tells the engine that `user` interacted with `post` at `at` (Unix seconds). Call it after
    /// the interaction is visible through [`SocialGraph::interactions`].
    ///
    /// The post's trending score grows by the kind's weight, and the user is refreshed as by
    /// [`refresh_user`](Self::refresh_user): their vector is folded in again at once (ALS
    /// fold-in against the model's fixed item vectors, with the cached Gram matrix) and their
    /// cached candidate list is dropped. Without a model only trending counts.
    ///
    /// # Errors
    ///
    /// Fold-in errors ([`Error::Model`](crate::Error::Model)); the engagement is counted
    /// regardless.
    pub fn record_interaction(
        &self,
        user: &str,
        post: &str,
        kind: InteractionKind,
        at: i64,
    ) -> Result<()> {
        self.record_engagement(post, kind, at);
        self.refresh_user(user)
    }

    /// Tells the engine that `user`'s interactions changed in a way that is not new engagement
    /// (an unlike, a removed comment): their vector is folded in again from
    /// [`SocialGraph::interactions`] and their cached candidate list is dropped, and nothing
    /// counts towards trending. Call it after the change is visible in the graph.
    ///
    /// A user left with no interactions with model items is ranked with the model's trained
    /// vector again (or none, if the model does not know them). Without a model there is
    /// nothing to fold in and only the cached list is dropped.
    ///
    /// # Errors
    ///
    /// Fold-in errors ([`Error::Model`](crate::Error::Model)); the cached list is dropped
    /// regardless.
    pub fn refresh_user(&self, user: &str) -> Result<()> {
        self.active
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(user.to_owned());
        self.cache.invalidate(user);
        let state = self.state.load_full();
        state.forget_user_vector(user);
        if state.has_model() {
            let interactions = self.graph.interactions(user);
            self.user_vector_in(&state, user, &interactions)?;
        }
        Ok(())
    }

    /// Counts an engagement with `post` at `at` towards trending only (no fold-in, no cache
    /// invalidation): for warming the trending window from the store after a restart. O(1); it
    /// shows in trending from the next snapshot (within
    /// [`FeedConfig::trending_refresh`](crate::FeedConfig::trending_refresh)).
    pub fn record_engagement(&self, post: &str, kind: InteractionKind, at: i64) {
        self.trending.record(post, at, self.config.weights.of(kind));
    }

    /// The current trending posts, for `GET /v1/trending`: up to `limit` posts by time-decayed
    /// engagement over [`FeedConfig::trending_window`](crate::FeedConfig::trending_window)
    /// at the current system time, highest first (ties by id), with their scores (the decayed
    /// sum of interaction weights). Deleted posts (tombstoned through
    /// [`delete_post`](Self::delete_post), or unknown or deleted in the graph) are left out.
    pub fn trending(&self, limit: usize) -> Vec<(PostId, f32)> {
        self.trending_at(limit, unix_now())
    }

    /// [`trending`](Self::trending) at `now` (Unix seconds) instead of the system time, as
    /// [`FeedRequest::now`](crate::FeedRequest::now) does for feeds.
    pub fn trending_at(&self, limit: usize, now: i64) -> Vec<(PostId, f32)> {
        let snapshot = self.trending.snapshot(now, &self.config);
        let decay = snapshot.decay_to(now);
        let state = self.state.load_full();
        let tombstones = self.tombstones.read().unwrap_or_else(|e| e.into_inner());
        snapshot
            .ranked
            .iter()
            .filter(|(post, _)| {
                !tombstones.contains(post) && locate(&state, &self.graph, post).is_some()
            })
            .take(limit)
            .map(|(post, score)| (post.clone(), score * decay))
            .collect()
    }

    /// Drops `user`'s cached candidate list, so that their next page is ranked afresh. Call it
    /// when they follow, unfollow, block, unblock, mute or unmute someone.
    pub fn invalidate_user(&self, user: &str) {
        self.cache.invalidate(user);
    }

    /// Makes a new post a candidate at once. Its vector comes from the model's content encoder
    /// (topics and text) when the artifact has one, else it is the mean of its author's item
    /// vectors, else the mean of its topics' item vectors, else it has none (it can still be
    /// served as fresh, followed or trending). Users' cached ranked lists take it in on their
    /// next page (merged with the reasons and score a new ranking would give it, not ranked
    /// again). Posts the model already knows, and deleted posts, are ignored; adding a post
    /// again replaces it (as [`update_post`](Self::update_post)).
    pub fn add_post(&self, meta: PostMeta) {
        if meta.deleted {
            return;
        }
        self.upsert_fresh(meta);
    }

    /// Tells the engine that a post was edited (text, topics). Call it after the edit is
    /// visible in the graph.
    ///
    /// A post added since the model was trained gets its entry in the fresh buffer recomputed
    /// from `meta` (vector, author, time) and the candidate pool's generation is bumped, so
    /// cached lists are ranked again; the new version is also the one replayed into the next
    /// model. A post the model knows keeps the model's vector until the next model, which is
    /// trained on what it became: nothing in the engine changes and no cached list is dropped.
    /// A post the engine does not know is added as by [`add_post`](Self::add_post); `meta`
    /// marked deleted deletes it as by [`delete_post`](Self::delete_post).
    pub fn update_post(&self, meta: PostMeta) {
        if meta.deleted {
            self.delete_post(&meta.id);
            return;
        }
        self.upsert_fresh(meta);
    }

    /// Adds or replaces a post that the model does not know in the fresh buffer and in the
    /// posts replayed into later models. A new post is merged into cached lists when their
    /// next page is cut; a replacement (an edit: its vector may change) bumps the generation,
    /// so cached lists are ranked again.
    fn upsert_fresh(&self, meta: PostMeta) {
        let mut added = lock(&self.added);
        let state = self.state.load();
        if state.item_index.contains_key(&meta.id) {
            return;
        }
        let post = fresh_post(&state, &meta);
        let replaced = {
            let mut fresh = state.fresh.write().unwrap_or_else(|e| e.into_inner());
            let replaced = fresh.contains(&post.id);
            fresh.push(post);
            replaced
        };
        added.insert(meta.id.clone(), meta);
        if replaced {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Tombstones a post: it leaves every feed at once, including pages of running sessions
    /// (every page is cut through the tombstones, so cached lists stay valid), and trending.
    pub fn delete_post(&self, post: &str) {
        self.tombstones
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(post);
        // No need to replay it into later models (their fresh buffers would only hold it for
        // the tombstone to filter out).
        lock(&self.added).remove(post);
    }
}
