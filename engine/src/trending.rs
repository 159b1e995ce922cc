//! Trending: time-decayed engagement over a sliding window.
//!
//! Counting is O(1) per event (an append to a log in arrival order). Ranking is not done per
//! request: a [`TrendingSnapshot`] of every post with engagement in the window, ranked, is
//! rebuilt at most once per [`FeedConfig::trending_refresh`] and shared by every request
//! through an `ArcSwap`. Between rebuilds all scores decay by the same factor, so a snapshot's
//! ranking stays exact and its scores are rescaled to the request's time on lookup; only events
//! recorded since it was built are missing, for about one refresh period.
//!
//! A snapshot that is stale by the clock but was ranked for about the request's time keeps
//! serving while a background thread ranks the next one, so no request waits for a rebuild
//! (a scan of every event in the window). A request finds no usable
//! snapshot only at the start, or when its time is further than the refresh period from the
//! snapshot's (requests replaying another time, as tests do): it ranks one itself.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use crate::config::FeedConfig;
use crate::ids::PostId;

/// The engagement log.
///
/// Each event of weight `w` at time `t` counts `w · 2^(-(now - t) / half_life)` while
/// `now - t <= window`; events are kept in arrival order and pruned from the front.
#[derive(Debug, Default)]
pub(crate) struct Trending {
    events: VecDeque<(i64, PostId, f32)>,
}

impl Trending {
    pub(crate) fn record(&mut self, post: PostId, at: i64, weight: f32) {
        self.events.push_back((at, post, weight));
    }

    /// Drops events older than `window` before `now` (only those at the front: events arrive
    /// roughly in time order, and stragglers are skipped by [`scores`](Self::scores)).
    pub(crate) fn prune(&mut self, now: i64, window: Duration) {
        let oldest = now.saturating_sub(window.as_secs() as i64);
        while self.events.front().is_some_and(|(t, _, _)| *t < oldest) {
            self.events.pop_front();
        }
    }

    /// The decayed engagement of every post with an event in the window, highest first (ties
    /// by id).
    pub(crate) fn scores(
        &self,
        now: i64,
        window: Duration,
        half_life: Duration,
    ) -> Vec<(PostId, f32)> {
        let oldest = now.saturating_sub(window.as_secs() as i64);
        let half = half_life.as_secs_f64().max(1e-9);
        let mut sums: HashMap<PostId, f64> = HashMap::new();
        for (t, post, w) in &self.events {
            if *t < oldest || *t > now {
                continue;
            }
            let age = (now - t) as f64;
            *sums.entry(*post).or_default() += f64::from(*w) * (-age / half).exp2();
        }
        // A post whose engagement was all retracted (unlikes) sums to zero, up to rounding: it
        // is not trending. The smallest real contribution (weight 1 at the window's edge) is
        // orders of magnitude above the cut.
        let mut out: Vec<(PostId, f32)> = sums
            .into_iter()
            .filter(|&(_, s)| s > RETRACTED)
            .map(|(p, s)| (p, s as f32))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
}

/// Below this, a post's summed engagement is what rounding leaves of retracted engagement.
const RETRACTED: f64 = 1e-6;

/// The ranked trending scores at one time, shared by the requests of one refresh period.
#[derive(Debug)]
pub(crate) struct TrendingSnapshot {
    /// The request time (Unix seconds) the scores were computed for.
    pub at: i64,
    built: Instant,
    half_life: f64,
    /// The decayed engagement at `at` of every post with an event in the window, highest
    /// first (ties by id).
    pub ranked: Vec<(PostId, f32)>,
    /// Position of each post in `ranked`.
    by_post: HashMap<PostId, u32>,
}

impl TrendingSnapshot {
    fn new(at: i64, half_life: Duration, ranked: Vec<(PostId, f32)>) -> Self {
        let by_post = ranked
            .iter()
            .enumerate()
            .map(|(i, (p, _))| (*p, i as u32))
            .collect();
        Self {
            at,
            built: Instant::now(),
            half_life: half_life.as_secs_f64().max(1e-9),
            ranked,
            by_post,
        }
    }

    /// The factor that turns a score at `at` into the score at `now` (every event decays
    /// alike).
    pub(crate) fn decay_to(&self, now: i64) -> f32 {
        (-((now - self.at) as f64) / self.half_life).exp2() as f32
    }

    /// The score of `post` at `at` (0 when it is not trending).
    pub(crate) fn score_at_build(&self, post: PostId) -> f32 {
        self.by_post
            .get(&post)
            .map_or(0.0, |&i| self.ranked[i as usize].1)
    }

    /// Whether `now` is at most `refresh` (whole seconds) away from the time it was built for.
    fn covers(&self, now: i64, refresh: Duration) -> bool {
        now.abs_diff(self.at) <= refresh.as_secs()
    }
}

/// The engagement log and the shared snapshot ranked from it.
#[derive(Debug, Default)]
pub(crate) struct TrendingBoard {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    log: Mutex<Trending>,
    snapshot: ArcSwapOption<TrendingSnapshot>,
    /// Set while a background thread ranks the next snapshot, so that only one does.
    refreshing: AtomicBool,
}

/// What ranking needs from [`FeedConfig`], copied for the background thread.
#[derive(Clone, Copy, Debug)]
struct Ranking {
    window: Duration,
    half_life: Duration,
}

impl Shared {
    /// Ranks the log at `now` and publishes the result. The snapshot is published under
    /// the log's lock, so that a [`TrendingBoard::reset`] is never undone by a ranking of
    /// the log it cleared.
    fn rebuild(&self, now: i64, ranking: Ranking) -> Arc<TrendingSnapshot> {
        let mut log = crate::engine::lock(&self.log);
        log.prune(now, ranking.window);
        let ranked = log.scores(now, ranking.window, ranking.half_life);
        let fresh = Arc::new(TrendingSnapshot::new(now, ranking.half_life, ranked));
        self.snapshot.store(Some(Arc::clone(&fresh)));
        fresh
    }
}

impl TrendingBoard {
    /// Counts an engagement of `weight` with `post` at `at`. O(1); seen by the next snapshot.
    pub(crate) fn record(&self, post: PostId, at: i64, weight: f32) {
        crate::engine::lock(&self.shared.log).record(post, at, weight);
    }

    /// Forgets every engagement and the shared snapshot: the next request ranks an empty log.
    pub(crate) fn reset(&self) {
        let mut log = crate::engine::lock(&self.shared.log);
        log.events.clear();
        self.shared.snapshot.store(None);
    }

    /// The snapshot for a request at `now`: the shared one while it is fresh (see
    /// [`FeedConfig::trending_refresh`]); a stale one ranked for about `now` while a
    /// background thread ranks the next; else a new one ranked from the log at once.
    pub(crate) fn snapshot(&self, now: i64, config: &FeedConfig) -> Arc<TrendingSnapshot> {
        let refresh = config.trending_refresh;
        let ranking = Ranking {
            window: config.trending_window,
            half_life: config.trending_half_life,
        };
        if !refresh.is_zero()
            && let Some(s) = self.shared.snapshot.load_full()
            && s.covers(now, refresh)
            && (s.built.elapsed() < refresh || self.refresh_in_background(now, ranking))
        {
            return s;
        }
        self.shared.rebuild(now, ranking)
    }

    /// Starts a thread that ranks a snapshot at `now`, unless one is running; returns whether
    /// the request may go on with the stale snapshot (false if no thread could be started).
    fn refresh_in_background(&self, now: i64, ranking: Ranking) -> bool {
        if self
            .shared
            .refreshing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return true;
        }
        let shared = Arc::clone(&self.shared);
        let spawned = std::thread::Builder::new()
            .name("trending-refresh".into())
            .spawn(move || {
                shared.rebuild(now, ranking);
                shared.refreshing.store(false, Ordering::Release);
            });
        match spawned {
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(%error, "cannot start the trending refresh thread");
                self.shared.refreshing.store(false, Ordering::Release);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3600;
    const A: PostId = PostId(1);
    const B: PostId = PostId(2);
    const OLD: PostId = PostId(3);

    #[test]
    fn trending_decays_and_forgets_old_events() {
        let mut t = Trending::default();
        let now = 100 * H as i64;
        t.record(OLD, now - 50 * H as i64, 100.0); // outside a 48 h window
        t.record(A, now - 6 * H as i64, 4.0); // one half-life ago: counts 2
        t.record(B, now, 1.5);
        t.record(B, now, 1.0);
        let s = t.scores(now, Duration::from_secs(48 * H), Duration::from_secs(6 * H));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, B);
        assert!((s[0].1 - 2.5).abs() < 1e-6);
        assert_eq!(s[1].0, A);
        assert!((s[1].1 - 2.0).abs() < 1e-5);
        t.prune(now, Duration::from_secs(48 * H));
        assert_eq!(t.events.len(), 3);
    }

    fn config(refresh: Duration) -> FeedConfig {
        FeedConfig {
            trending_refresh: refresh,
            ..FeedConfig::default()
        }
    }

    #[test]
    fn the_snapshot_is_shared_until_it_is_stale() {
        let board = TrendingBoard::default();
        let now = 100 * H as i64;
        let config = config(Duration::from_secs(3600));
        board.record(A, now - 10, 1.0);
        let first = board.snapshot(now, &config);
        assert_eq!(first.ranked.len(), 1);
        // An event recorded meanwhile waits for the next refresh...
        board.record(B, now - 5, 3.0);
        let same = board.snapshot(now + 1, &config);
        assert!(Arc::ptr_eq(&first, &same));
        // ...which a request far enough in time forces.
        let later = board.snapshot(now + 3601, &config);
        assert_eq!(later.ranked[0].0, B);
        assert_eq!(later.ranked.len(), 2);
        // A zero refresh ranks on every request (the behaviour before snapshots).
        let zero = self::config(Duration::ZERO);
        let a = board.snapshot(now, &zero);
        let b = board.snapshot(now, &zero);
        assert!(!Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn a_stale_snapshot_serves_while_the_next_is_ranked_in_the_background() {
        let board = TrendingBoard::default();
        let now = 100 * H as i64;
        // Requests in the same second as the snapshot, which is stale after 1 ms.
        let config = config(Duration::from_millis(1));
        board.record(A, now - 10, 1.0);
        let first = board.snapshot(now, &config);
        board.record(B, now - 5, 3.0);
        std::thread::sleep(Duration::from_millis(5));
        let stale = board.snapshot(now, &config);
        assert!(Arc::ptr_eq(&first, &stale));
        let deadline = Instant::now() + Duration::from_secs(30);
        let next = loop {
            let s = board.shared.snapshot.load_full().unwrap();
            if !Arc::ptr_eq(&s, &first) {
                break s;
            }
            assert!(Instant::now() < deadline, "no background refresh");
            std::thread::sleep(Duration::from_millis(1));
        };
        assert_eq!(next.at, now);
        assert_eq!(next.ranked[0].0, B);
        assert_eq!(next.ranked.len(), 2);
    }

    #[test]
    fn rescaled_scores_equal_scores_ranked_at_the_request_time() {
        let board = TrendingBoard::default();
        let now = 100 * H as i64;
        let config = config(Duration::from_secs(3600));
        board.record(A, now - 6 * H as i64, 4.0);
        board.record(B, now - 100, 1.0);
        let s = board.snapshot(now, &config);
        let later = now + 1800;
        let mut log = Trending::default();
        log.record(A, now - 6 * H as i64, 4.0);
        log.record(B, now - 100, 1.0);
        let want = log.scores(later, config.trending_window, config.trending_half_life);
        for (post, score) in want {
            let got = s.score_at_build(post) * s.decay_to(later);
            assert!((got - score).abs() < 1e-5, "{post}: {got} vs {score}");
        }
        assert_eq!(s.score_at_build(PostId(99)), 0.0);
    }

    #[test]
    fn a_reset_forgets_every_engagement_and_the_snapshot() {
        let board = TrendingBoard::default();
        let now = 100 * H as i64;
        let config = config(Duration::from_secs(3600));
        board.record(A, now - 10, 1.0);
        assert_eq!(board.snapshot(now, &config).ranked.len(), 1);
        board.reset();
        assert!(board.snapshot(now, &config).ranked.is_empty());
        board.record(B, now - 5, 2.0);
        let later = board.snapshot(now + 3601, &config);
        assert_eq!(later.ranked.len(), 1);
        assert_eq!(later.ranked[0].0, B);
    }
}
