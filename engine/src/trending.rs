//! Trending: time-decayed engagement over a sliding window, maintained incrementally.
//!
//! An event of weight `w` at time `t` counts `w · 2^(-(now - t) / half_life)` while
//! `now - t <= window`. Every score decays by the same factor, so each post keeps one sum in a
//! fixed frame ("forward decay": `Σ w · 2^((t - landmark) / half_life)`), which a new event
//! changes by one addition and which turns into the score at any `now` by one multiplication.
//! The posts are kept ordered by that sum, so the ranking never has to be computed again:
//!
//! - recording an event is `O(log posts)` (one sum and its place in the order);
//! - an event leaving the window is subtracted again, in time order, when the board is pruned
//!   (`O(log posts)` per expired event);
//! - a [`TrendingSnapshot`] of the [`RANKED`] highest posts is copied from the order at most
//!   once per [`FeedConfig::trending_refresh`] (`O(RANKED)`), and a post's score is looked up
//!   live ([`TrendingView::score`]).
//!
//! The work is proportional to the events, never to the posts with engagement times the
//! requests: the board used to re-rank every event of the window once per refresh, which took
//! 200–350 ms per second per replica at a million posts (BENCHMARKS.md, "Replicas at scale").

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use crate::config::FeedConfig;
use crate::ids::PostId;

/// How many of the highest posts a snapshot lists: enough for the trending source's quota
/// past a 2,048-post seen window and hidden authors, and for `GET /v1/trending`'s 1,000-deep
/// pages. Scores of every other post are still looked up exactly.
pub(crate) const RANKED: usize = 10_000;

/// Below this, a post's summed engagement is what rounding leaves of retracted engagement (an
/// unlike cancels its like): it is not trending. The smallest real contribution (weight 1 at
/// the window's edge) is orders of magnitude above the cut.
const RETRACTED: f64 = 1e-6;

/// The frame is moved forward before its exponent could overflow an `f64` sum (2^1023): at
/// most every 256 half-lives (64 days at the default 6 hours), an `O(posts)` rescaling.
const MAX_EXPONENT: f64 = 256.0;

/// One engagement, kept until it leaves the window.
#[derive(Clone, Copy, Debug)]
struct Event {
    at: i64,
    post: PostId,
    weight: f32,
}

/// A post's engagement in the window.
#[derive(Clone, Copy, Debug)]
struct Sum {
    /// `Σ weight · 2^((at - landmark) / half_life)` over its events in the window.
    forward: f64,
    /// Its events in the window (retractions included): at zero the post leaves the board.
    events: u32,
}

/// A post's place in the order: highest sum first, ties by id.
#[derive(Clone, Copy, Debug)]
struct Rank {
    forward: f64,
    post: PostId,
}

impl Ord for Rank {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .forward
            .total_cmp(&self.forward)
            .then_with(|| self.post.cmp(&other.post))
    }
}

impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Rank {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Rank {}

/// The events of the window and the per-post sums kept from them.
#[derive(Debug)]
struct Scores {
    window: i64,
    half_life: f64,
    /// Events in time order (a late event is inserted in its place), so that expiry is exact.
    events: VecDeque<Event>,
    sums: HashMap<PostId, Sum>,
    order: BTreeSet<Rank>,
    /// The time the forward sums are relative to.
    landmark: i64,
    /// Events before this left the window at the last prune: a later one that old is not
    /// counted.
    horizon: i64,
}

impl Scores {
    fn new(window: Duration, half_life: Duration) -> Self {
        Self {
            window: i64::try_from(window.as_secs()).unwrap_or(i64::MAX),
            half_life: half_life.as_secs_f64().max(1e-9),
            events: VecDeque::new(),
            sums: HashMap::new(),
            order: BTreeSet::new(),
            landmark: 0,
            horizon: i64::MIN,
        }
    }

    fn clear(&mut self) {
        *self = Self {
            events: VecDeque::new(),
            sums: HashMap::new(),
            order: BTreeSet::new(),
            ..*self
        };
    }

    /// `2^((at - landmark) / half_life)`.
    fn growth(&self, at: i64) -> f64 {
        ((at - self.landmark) as f64 / self.half_life).exp2()
    }

    /// The factor that turns a forward sum into the score at `now`.
    fn decay(&self, now: i64) -> f64 {
        (-((now - self.landmark) as f64) / self.half_life).exp2()
    }

    /// Counts one event. `ordered` keeps the post's place in the order current (off while a
    /// batch is loaded, which orders once at the end).
    fn record(&mut self, event: Event, ordered: bool) {
        if event.at < self.horizon || !event.weight.is_finite() {
            return;
        }
        if self.sums.is_empty() {
            self.landmark = event.at;
        } else if (event.at - self.landmark) as f64 / self.half_life > MAX_EXPONENT {
            self.move_landmark(event.at);
        }
        let position = self.events.partition_point(|e| e.at <= event.at);
        self.events.insert(position, event);
        let delta = f64::from(event.weight) * self.growth(event.at);
        self.change(event.post, delta, 1, ordered);
    }

    /// Adds `delta` to `post`'s sum and `events` to its event count, keeping its place in the
    /// order; a post left without events leaves the board.
    fn change(&mut self, post: PostId, delta: f64, events: i32, ordered: bool) {
        let sum = self.sums.entry(post).or_insert(Sum {
            forward: 0.0,
            events: 0,
        });
        let before = Rank {
            forward: sum.forward,
            post,
        };
        sum.events = sum.events.saturating_add_signed(events);
        let gone = sum.events == 0;
        sum.forward = if gone { 0.0 } else { sum.forward + delta };
        let after = Rank {
            forward: sum.forward,
            post,
        };
        if gone {
            self.sums.remove(&post);
        }
        if ordered {
            self.order.remove(&before);
            if !gone {
                self.order.insert(after);
            }
        }
    }

    /// Orders every post again (after a batch was loaded unordered, or the frame moved).
    fn reorder(&mut self) {
        self.order = self
            .sums
            .iter()
            .map(|(&post, s)| Rank {
                forward: s.forward,
                post,
            })
            .collect();
    }

    /// Moves the frame to `landmark`: every sum is rescaled alike, so the order holds but its
    /// keys change.
    fn move_landmark(&mut self, landmark: i64) {
        let factor = ((self.landmark - landmark) as f64 / self.half_life).exp2();
        for sum in self.sums.values_mut() {
            sum.forward *= factor;
        }
        self.landmark = landmark;
        self.reorder();
    }

    /// Subtracts every event older than the window before `now`.
    fn prune(&mut self, now: i64) {
        let oldest = now.saturating_sub(self.window);
        self.horizon = self.horizon.max(oldest);
        while let Some(&event) = self.events.front() {
            if event.at >= oldest {
                break;
            }
            self.events.pop_front();
            let delta = -f64::from(event.weight) * self.growth(event.at);
            self.change(event.post, delta, -1, true);
        }
    }

    /// The score of `post` at `now` (0 when it is not trending).
    fn score(&self, post: PostId, now: i64) -> f32 {
        self.sums.get(&post).map_or(0.0, |s| {
            let score = s.forward * self.decay(now);
            if score > RETRACTED { score as f32 } else { 0.0 }
        })
    }

    /// The `limit` highest posts with their scores at `now`.
    fn top(&self, now: i64, limit: usize) -> Vec<(PostId, f32)> {
        let decay = self.decay(now);
        self.order
            .iter()
            .map(|r| (r.post, r.forward * decay))
            .take_while(|&(_, score)| score > RETRACTED)
            .take(limit)
            .map(|(post, score)| (post, score as f32))
            .collect()
    }
}

/// The highest trending posts at one time, shared by the requests of one refresh period.
#[derive(Debug)]
pub(crate) struct TrendingSnapshot {
    /// The request time (Unix seconds) the scores were computed for.
    pub at: i64,
    built: Instant,
    half_life: f64,
    /// The [`RANKED`] highest posts by decayed engagement at `at`, highest first (ties by id).
    pub ranked: Vec<(PostId, f32)>,
}

impl TrendingSnapshot {
    /// The factor that turns a score at `at` into the score at `now` (every event decays
    /// alike).
    pub(crate) fn decay_to(&self, now: i64) -> f32 {
        (-((now - self.at) as f64) / self.half_life).exp2() as f32
    }

    /// Whether `now` is at most `refresh` (whole seconds) away from the time it was built for.
    fn covers(&self, now: i64, refresh: Duration) -> bool {
        now.abs_diff(self.at) <= refresh.as_secs()
    }
}

/// The engagement of the window and the shared snapshot of its highest posts.
#[derive(Debug)]
pub(crate) struct TrendingBoard {
    refresh: Duration,
    scores: RwLock<Scores>,
    snapshot: ArcSwapOption<TrendingSnapshot>,
    /// Held while a snapshot is copied, so that the requests of one stale moment copy one.
    copying: Mutex<()>,
}

/// What one request sees of trending: the shared list of the highest posts, and every post's
/// score at the request's time.
pub(crate) struct TrendingView<'a> {
    pub snapshot: Arc<TrendingSnapshot>,
    board: &'a TrendingBoard,
    now: i64,
}

impl TrendingView<'_> {
    /// The decayed engagement of `post` at the request's time (0 when it is not trending),
    /// read live (not from the snapshot).
    pub(crate) fn score(&self, post: PostId) -> f32 {
        read(&self.board.scores).score(post, self.now)
    }
}

fn read(scores: &RwLock<Scores>) -> std::sync::RwLockReadGuard<'_, Scores> {
    scores.read().unwrap_or_else(|e| e.into_inner())
}

fn write(scores: &RwLock<Scores>) -> std::sync::RwLockWriteGuard<'_, Scores> {
    scores.write().unwrap_or_else(|e| e.into_inner())
}

impl TrendingBoard {
    pub(crate) fn new(config: &FeedConfig) -> Self {
        Self {
            refresh: config.trending_refresh,
            scores: RwLock::new(Scores::new(
                config.trending_window,
                config.trending_half_life,
            )),
            snapshot: ArcSwapOption::empty(),
            copying: Mutex::new(()),
        }
    }

    /// Counts an engagement of `weight` with `post` at `at` (negative takes one back).
    /// `O(log posts)`; it shows in scores at once and in the ranked list from the next
    /// snapshot. An event older than the window at the last prune is not counted.
    pub(crate) fn record(&self, post: PostId, at: i64, weight: f32) {
        write(&self.scores).record(Event { at, post, weight }, true);
    }

    /// Counts a batch of engagements (the window, warmed at start), ordering the posts once.
    pub(crate) fn record_all(&self, events: impl IntoIterator<Item = (PostId, i64, f32)>) {
        let mut scores = write(&self.scores);
        for (post, at, weight) in events {
            scores.record(Event { at, post, weight }, false);
        }
        scores.reorder();
    }

    /// Forgets every engagement and the shared snapshot: the next request ranks an empty log.
    pub(crate) fn reset(&self) {
        let mut scores = write(&self.scores);
        scores.clear();
        self.snapshot.store(None);
    }

    /// Trending for a request at `now`: the shared snapshot while it is fresh (see
    /// [`FeedConfig::trending_refresh`]), else a new one copied from the board.
    pub(crate) fn view(&self, now: i64) -> TrendingView<'_> {
        TrendingView {
            snapshot: self.snapshot(now),
            board: self,
            now,
        }
    }

    fn snapshot(&self, now: i64) -> Arc<TrendingSnapshot> {
        let fresh = |s: &TrendingSnapshot| {
            !self.refresh.is_zero()
                && s.covers(now, self.refresh)
                && s.built.elapsed() < self.refresh
        };
        if let Some(s) = self.snapshot.load_full()
            && fresh(&s)
        {
            return s;
        }
        let _copying = self.copying.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = self.snapshot.load_full()
            && fresh(&s)
        {
            return s;
        }
        // Under the write lock, so that a reset is never undone by a copy of what it cleared.
        let mut scores = write(&self.scores);
        scores.prune(now);
        let snapshot = Arc::new(TrendingSnapshot {
            at: now,
            built: Instant::now(),
            half_life: scores.half_life,
            ranked: scores.top(now, RANKED),
        });
        self.snapshot.store(Some(Arc::clone(&snapshot)));
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    const H: i64 = 3600;
    const A: PostId = PostId(1);
    const B: PostId = PostId(2);
    const OLD: PostId = PostId(3);

    fn config(refresh: Duration) -> FeedConfig {
        FeedConfig {
            trending_refresh: refresh,
            ..FeedConfig::default()
        }
    }

    /// The definition, computed from scratch: every event in the window, decayed to `now`.
    fn oracle(
        events: &[(PostId, i64, f32)],
        now: i64,
        config: &FeedConfig,
    ) -> HashMap<PostId, f64> {
        let oldest = now - config.trending_window.as_secs() as i64;
        let half = config.trending_half_life.as_secs_f64();
        let mut sums: HashMap<PostId, f64> = HashMap::new();
        for &(post, at, weight) in events {
            if at >= oldest {
                *sums.entry(post).or_default() +=
                    f64::from(weight) * (-((now - at) as f64) / half).exp2();
            }
        }
        sums.retain(|_, s| *s > RETRACTED);
        sums
    }

    fn ranked(sums: &HashMap<PostId, f64>) -> Vec<PostId> {
        let mut out: Vec<(PostId, f64)> = sums.iter().map(|(&p, &s)| (p, s)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn trending_decays_and_forgets_old_events() {
        let board = TrendingBoard::new(&config(Duration::ZERO));
        let now = 100 * H;
        board.record(OLD, now - 50 * H, 100.0); // outside a 48 h window
        board.record(A, now - 6 * H, 4.0); // one half-life ago: counts 2
        board.record(B, now, 1.5);
        board.record(B, now, 1.0);
        let view = board.view(now);
        let s = &view.snapshot.ranked;
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, B);
        assert!((s[0].1 - 2.5).abs() < 1e-6);
        assert_eq!(s[1].0, A);
        assert!((s[1].1 - 2.0).abs() < 1e-5);
        assert_eq!(view.score(OLD), 0.0);
        assert!((view.score(A) - 2.0).abs() < 1e-5);
        let scores = read(&board.scores);
        assert_eq!(scores.events.len(), 3);
        assert_eq!(scores.sums.len(), 2);
        // An event older than the pruned window is not counted any more.
        drop(scores);
        board.record(OLD, now - 49 * H, 100.0);
        assert_eq!(board.view(now).score(OLD), 0.0);
    }

    /// Random events (late ones, retractions of earlier ones, expiries) against the definition:
    /// the incremental scores and order equal a ranking from scratch at every step.
    #[test]
    fn incremental_scores_equal_a_ranking_from_scratch() {
        let config = config(Duration::ZERO);
        let board = TrendingBoard::new(&config);
        let mut rng = StdRng::seed_from_u64(7);
        let mut events: Vec<(PostId, i64, f32)> = Vec::new();
        let mut now = 1_000 * H;
        for step in 0..3_000 {
            now += rng.random_range(0..600);
            let event = if step % 7 == 3 && !events.is_empty() {
                // An unlike: takes back an earlier event exactly.
                let (post, at, weight) = events[rng.random_range(0..events.len())];
                (post, at, -weight)
            } else {
                let late = rng.random_range(0..4 * H);
                let weight = [1.0, 3.0, 4.0][rng.random_range(0..3)];
                (PostId(rng.random_range(1..60)), now - late, weight)
            };
            let horizon = read(&board.scores).horizon;
            if event.1 >= horizon {
                events.push(event);
            }
            board.record(event.0, event.1, event.2);
            if step % 50 == 0 {
                let view = board.view(now);
                let want = oracle(&events, now, &config);
                let got: Vec<PostId> = view.snapshot.ranked.iter().map(|&(p, _)| p).collect();
                assert_eq!(got, ranked(&want), "order at step {step}");
                for post in (1..60).map(PostId) {
                    let want = want.get(&post).copied().unwrap_or(0.0);
                    let got = f64::from(view.score(post));
                    assert!(
                        (got - want).abs() <= 1e-4 * want.max(1.0),
                        "{post}: {got} vs {want}"
                    );
                }
            }
        }
        // Everything expires: the board empties.
        let view = board.view(now + 100 * H);
        assert!(view.snapshot.ranked.is_empty());
        assert!(read(&board.scores).sums.is_empty());
        assert!(read(&board.scores).order.is_empty());
    }

    #[test]
    fn the_frame_moves_without_changing_scores() {
        let config = FeedConfig {
            trending_refresh: Duration::ZERO,
            trending_half_life: Duration::from_secs(1),
            trending_window: Duration::from_secs(400),
            ..FeedConfig::default()
        };
        let board = TrendingBoard::new(&config);
        board.record(A, 0, 2.0);
        board.record(B, 200, 1.0);
        // 300 half-lives past the landmark: the frame moves.
        board.record(B, 300, 1.0);
        assert_eq!(read(&board.scores).landmark, 300);
        let view = board.view(300);
        let want = 1.0 + 2f64.powi(-100);
        assert!((f64::from(view.score(B)) - want).abs() < 1e-6);
        assert_eq!(view.snapshot.ranked[0].0, B);
    }

    #[test]
    fn a_batch_ranks_as_events_one_by_one() {
        let config = config(Duration::ZERO);
        let now = 100 * H;
        let events: Vec<(PostId, i64, f32)> = (0..500)
            .map(|i| {
                (
                    PostId(i % 37),
                    now - (i * 97) % (40 * H),
                    1.0 + (i % 3) as f32,
                )
            })
            .collect();
        let one_by_one = TrendingBoard::new(&config);
        for &(post, at, weight) in &events {
            one_by_one.record(post, at, weight);
        }
        let batch = TrendingBoard::new(&config);
        batch.record_all(events.iter().copied());
        assert_eq!(
            one_by_one.view(now).snapshot.ranked,
            batch.view(now).snapshot.ranked
        );
    }

    #[test]
    fn the_snapshot_is_shared_until_it_is_stale() {
        let config = config(Duration::from_secs(3600));
        let board = TrendingBoard::new(&config);
        let now = 100 * H;
        board.record(A, now - 10, 1.0);
        let first = board.view(now).snapshot;
        assert_eq!(first.ranked.len(), 1);
        // An event recorded meanwhile waits for the next refresh to be listed, but its score
        // counts at once...
        board.record(B, now - 5, 3.0);
        let same = board.view(now + 1);
        assert!(Arc::ptr_eq(&first, &same.snapshot));
        assert!(same.score(B) > 2.9);
        // ...and a request far enough in time lists it.
        let later = board.view(now + 3601).snapshot;
        assert_eq!(later.ranked[0].0, B);
        assert_eq!(later.ranked.len(), 2);
        // A zero refresh copies on every request.
        let zero = TrendingBoard::new(&self::config(Duration::ZERO));
        let a = zero.view(now).snapshot;
        let b = zero.view(now).snapshot;
        assert!(!Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn rescaled_scores_equal_scores_ranked_at_the_request_time() {
        let config = config(Duration::from_secs(3600));
        let board = TrendingBoard::new(&config);
        let now = 100 * H;
        let events = [(A, now - 6 * H, 4.0), (B, now - 100, 1.0)];
        for (post, at, weight) in events {
            board.record(post, at, weight);
        }
        let s = board.view(now).snapshot;
        let later = now + 1800;
        for (post, score) in oracle(&events, later, &config) {
            let (_, at_build) = s.ranked.iter().find(|(p, _)| *p == post).unwrap();
            let got = f64::from(at_build * s.decay_to(later));
            assert!((got - score).abs() < 1e-5, "{post}: {got} vs {score}");
        }
    }

    #[test]
    fn a_snapshot_lists_the_highest_posts_only() {
        let board = TrendingBoard::new(&config(Duration::ZERO));
        let now = 100 * H;
        let posts = RANKED as i64 + 5;
        board.record_all((0..posts).map(|i| (PostId(i), now - i, 1.0)));
        let view = board.view(now);
        assert_eq!(view.snapshot.ranked.len(), RANKED);
        // Newest engagement decays least: the highest are the lowest ids.
        assert_eq!(view.snapshot.ranked[0].0, PostId(0));
        assert_eq!(
            view.snapshot.ranked[RANKED - 1].0,
            PostId(RANKED as i64 - 1)
        );
        // A post past the list still has its exact score.
        let want = (-((posts - 1) as f64) / (6.0 * H as f64)).exp2();
        assert!((f64::from(view.score(PostId(posts - 1))) - want).abs() < 1e-6);
    }

    #[test]
    fn a_reset_forgets_every_engagement_and_the_snapshot() {
        let config = config(Duration::from_secs(3600));
        let board = TrendingBoard::new(&config);
        let now = 100 * H;
        board.record(A, now - 10, 1.0);
        assert_eq!(board.view(now).snapshot.ranked.len(), 1);
        board.reset();
        let empty = board.view(now);
        assert!(empty.snapshot.ranked.is_empty());
        assert_eq!(empty.score(A), 0.0);
        board.record(B, now - 5, 2.0);
        let later = board.view(now + 3601).snapshot;
        assert_eq!(later.ranked.len(), 1);
        assert_eq!(later.ranked[0].0, B);
    }
}
