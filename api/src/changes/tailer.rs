//! The tailer: each replica's consumer of the change log.
//!
//! It reads `id > applied` in order, in batches, applies every change once (to the engine's
//! catalog and trending counters, and by dropping the cached contexts of the users it touches),
//! then publishes its new position. It waits for work on three wake-ups, any of which suffices:
//! this process's own writes (a local notify, so a writer's next request sees its write), a
//! PostgreSQL `NOTIFY` sent by any replica's commit (`LISTEN` on its own connection), and a poll
//! every [`TailConfig::poll`]. Notifications are only wake-ups: a replica whose listener
//! connection broke, or that was paused, reads what it missed from the table when it resumes.
//!
//! **Lag bound.** With the replicas connected to the database, a change is applied everywhere
//! within the time of one notification and one read (milliseconds; measured in BENCHMARKS.md);
//! with the listener down, within [`TailConfig::poll`] plus one read.
//!
//! **Retention.** Records older than [`TailConfig::retention`] are deleted (by any replica,
//! every [`TailConfig::prune_every`]), and the log remembers the highest position deleted. A
//! consumer whose position is below it missed records it can no longer read: it reloads the
//! catalog from a consistent snapshot ([`Store::catalog_snapshot`]), drops every cached context
//! and ranked list, and resumes from the snapshot's position.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine::{InteractionKind, PostId, PostMeta, UserId};
use tokio::sync::{Notify, watch};

use super::record::{Change, PostRecord};
use crate::context::UserContexts;
use crate::state::FeedEngine;
use crate::store::Store;
use crate::store::catalog::CatalogSnapshot;
use crate::store::changes::{Position, StoredChange, WAKE_CHANNEL, now_ms};

/// Records read per batch.
const BATCH: i64 = 500;

/// How the tailer runs.
#[derive(Clone, Debug)]
pub struct TailConfig {
    /// Poll interval when no wake-up arrives (the lag bound when `LISTEN` is down).
    pub poll: Duration,
    /// How long records are kept.
    pub retention: Duration,
    /// How often this replica deletes records past retention.
    pub prune_every: Duration,
    /// The PostgreSQL URL to `LISTEN` on (`None` on SQLite: one process, local wake-ups only).
    pub listen_url: Option<String>,
    /// Keep the position of every change applied, in order ([`ChangeFeed::applied_log`]): for
    /// tests that check nothing is skipped or applied twice. Off in service.
    pub record_applied: bool,
}

impl TailConfig {
    /// How long after its last successful read of the log a replica still trusts what it
    /// derived from the log (its cached user contexts): twice the poll interval plus a second.
    pub fn trust_window(&self) -> Duration {
        self.poll * 2 + Duration::from_secs(1)
    }
}

/// The handle of a replica's tailer. Cheap to clone; the tailer stops when the last handle is
/// dropped.
#[derive(Clone)]
pub struct ChangeFeed {
    shared: Arc<Shared>,
    _task: Arc<AbortOnDrop>,
}

struct Shared {
    applied: watch::Sender<Position>,
    wake: Notify,
    paused: watch::Sender<bool>,
    reloads: AtomicU64,
    /// When the tailer last read the log successfully (Unix milliseconds).
    last_read_ms: AtomicI64,
    trust_window: Duration,
    poll: Duration,
    applied_log: Option<Mutex<Vec<Position>>>,
}

struct AbortOnDrop(Vec<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeed")
            .field("applied", &self.position())
            .finish_non_exhaustive()
    }
}

/// What applying changes touches.
#[derive(Clone, Debug)]
pub struct Consumer {
    pub store: Store,
    pub engine: Arc<FeedEngine>,
    pub contexts: UserContexts,
    pub post_rows: crate::post_rows::PostRows,
    pub principals: crate::principals::Principals,
    /// Where the published models are (a `model_current` change reloads from it).
    pub models_dir: std::path::PathBuf,
}

impl ChangeFeed {
    /// Starts tailing after `position` (the position of the snapshot the replica loaded).
    pub fn spawn(consumer: Consumer, position: Position, config: TailConfig) -> Self {
        let shared = Arc::new(Shared {
            applied: watch::channel(position).0,
            wake: Notify::new(),
            paused: watch::channel(false).0,
            reloads: AtomicU64::new(0),
            last_read_ms: AtomicI64::new(now_ms()),
            trust_window: config.trust_window(),
            poll: config.poll,
            applied_log: config.record_applied.then(|| Mutex::new(Vec::new())),
        });
        metrics::gauge!("social_live_changes_applied_position").set(position as f64);
        let mut tasks = Vec::new();
        if let Some(url) = config.listen_url.clone() {
            tasks.push(tokio::spawn(listen(url, Arc::clone(&shared))).abort_handle());
        }
        let tailer = Tailer {
            consumer,
            shared: Arc::clone(&shared),
            config,
        };
        tasks.push(tokio::spawn(tailer.run(position)).abort_handle());
        Self {
            shared,
            _task: Arc::new(AbortOnDrop(tasks)),
        }
    }

    /// The position of the last change applied here.
    pub fn position(&self) -> Position {
        *self.shared.applied.borrow()
    }

    /// Whether the tailer read the log successfully within its trust window
    /// ([`TailConfig::trust_window`]): while it has not (paused, or its database reads fail),
    /// state derived from the log may be stale and the caller reads from the database instead.
    pub fn is_current(&self) -> bool {
        self.is_current_within(self.shared.trust_window)
    }

    /// Whether the tailer read to the end of the log within `window` (a tighter bound than
    /// [`is_current`](Self::is_current), for sessions and roles: `principals.rs`). Never
    /// tighter than one poll and half a second, or a healthy tailer would not qualify.
    pub fn is_current_within(&self, window: Duration) -> bool {
        let window = window.max(self.shared.poll + Duration::from_millis(500));
        let last = self.shared.last_read_ms.load(Ordering::Acquire);
        now_ms() - last <= window.as_millis() as i64
    }

    /// Every position applied so far, in the order applied (empty unless
    /// [`TailConfig::record_applied`]); a reload appends the snapshot's position negated.
    pub fn applied_log(&self) -> Vec<Position> {
        self.shared
            .applied_log
            .as_ref()
            .map(|log| log.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default()
    }

    /// How many times this replica reloaded from a snapshot since it started.
    pub fn reloads(&self) -> u64 {
        self.shared.reloads.load(Ordering::Relaxed)
    }

    /// Wakes the tailer: this process just committed a change.
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Wakes the tailer and waits until it applied `position` (read your writes), at most
    /// `timeout`. Returns whether it did: `false` means the change is committed but this
    /// replica has not applied it yet (its database reads are failing, or it is paused).
    pub async fn caught_up(&self, position: Position, timeout: Duration) -> bool {
        if self.position() >= position {
            return true;
        }
        self.wake();
        let mut applied = self.shared.applied.subscribe();
        let reached = tokio::time::timeout(timeout, applied.wait_for(|&p| p >= position)).await;
        matches!(reached, Ok(Ok(_)))
    }

    /// Stops applying changes until [`resume`](Self::resume), as a replica cut off from the
    /// database would (for fault tests and operations).
    pub fn pause(&self) {
        self.shared.paused.send_replace(true);
    }

    /// Applies changes again, starting with everything missed meanwhile.
    pub fn resume(&self) {
        self.shared.paused.send_replace(false);
        self.wake();
    }
}

/// Forwards PostgreSQL notifications on [`WAKE_CHANNEL`] as wake-ups, reconnecting after any
/// failure. A lost connection is a wake-up too: notifications sent meanwhile are lost, the
/// table is not.
async fn listen(url: String, shared: Arc<Shared>) {
    let mut pause = Duration::from_millis(100);
    loop {
        match listen_once(&url, &shared).await {
            Ok(()) => pause = Duration::from_millis(100),
            Err(err) => {
                tracing::warn!(error = %err, "change log listener failed; polling until it reconnects");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
        shared.wake.notify_one();
    }
}

async fn listen_once(url: &str, shared: &Shared) -> sqlx::Result<()> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(WAKE_CHANNEL).await?;
    // Changes may have committed while no listener was connected.
    shared.wake.notify_one();
    while listener.try_recv().await?.is_some() {
        shared.wake.notify_one();
    }
    // The connection was lost (`None`): reconnect from scratch.
    Ok(())
}

struct Tailer {
    consumer: Consumer,
    shared: Arc<Shared>,
    config: TailConfig,
}

/// A tailer step's failure: the database, or the task applying changes (a panic).
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("applying changes failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl Tailer {
    async fn run(self, mut position: Position) {
        let mut backoff = Duration::from_millis(50);
        let mut last_prune = tokio::time::Instant::now();
        let mut paused = self.shared.paused.subscribe();
        loop {
            // A paused replica applies nothing until resumed.
            if paused.wait_for(|p| !p).await.is_err() {
                return;
            }
            match self.step(&mut position).await {
                Ok(true) => continue,
                Ok(false) => backoff = Duration::from_millis(50),
                Err(err) => {
                    metrics::counter!("social_live_changes_read_errors_total").increment(1);
                    tracing::warn!(error = %err, position, "cannot read the change log; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            }
            if last_prune.elapsed() >= self.config.prune_every {
                last_prune = tokio::time::Instant::now();
                self.prune().await;
            }
            tokio::select! {
                () = self.shared.wake.notified() => {}
                () = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }

    /// Reads and applies one batch. Returns whether there may be more to read at once.
    async fn step(&self, position: &mut Position) -> Result<bool, StepError> {
        let store = &self.consumer.store;
        let batch = store.changes_after(*position, BATCH).await?;
        // Positions are consecutive except where a transaction rolled back or retention
        // deleted records: only the second needs a reload.
        let gap = batch.first().is_none_or(|c| c.id != *position + 1);
        if gap && store.pruned_through().await? > *position {
            tracing::warn!(
                position,
                "this replica fell behind the change log's retention; reloading from a snapshot"
            );
            *position = reload(&self.consumer).await?;
            self.shared.reloads.fetch_add(1, Ordering::Relaxed);
            self.record(&[-*position]);
            metrics::counter!("social_live_changes_reloads_total").increment(1);
            self.publish(*position);
            return Ok(true);
        }
        let Some(last) = batch.last().map(|c| c.id) else {
            self.read_ok();
            return Ok(false);
        };
        let full = batch.len() as i64 == BATCH;
        let ids: Vec<Position> = batch.iter().map(|c| c.id).collect();
        apply_batch(&self.consumer, batch).await?;
        self.record(&ids);
        *position = last;
        self.publish(last);
        // Caught up only when the batch was the end of the log: a replica working through a
        // backlog does not trust its cached contexts yet.
        if !full {
            self.read_ok();
        }
        Ok(full)
    }

    /// The tailer has read to the end of the log just now.
    fn read_ok(&self) {
        self.shared.last_read_ms.store(now_ms(), Ordering::Release);
    }

    fn record(&self, ids: &[Position]) {
        if let Some(log) = &self.shared.applied_log {
            log.lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(ids);
        }
    }

    fn publish(&self, position: Position) {
        metrics::gauge!("social_live_changes_applied_position").set(position as f64);
        self.shared.applied.send_replace(position);
    }

    async fn prune(&self) {
        let before = now_ms() - self.config.retention.as_millis() as i64;
        match self.consumer.store.prune_changes(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned change records past retention"),
            Err(err) => tracing::warn!(error = %err, "cannot prune the change log"),
        }
    }
}

/// Decodes and applies `batch` in order: the engine's part on a blocking thread, in one task, then
/// the context invalidations.
async fn apply_batch(consumer: &Consumer, batch: Vec<StoredChange>) -> Result<(), StepError> {
    let now = now_ms();
    let mut changes = Vec::with_capacity(batch.len());
    for stored in &batch {
        match Change::decode(&stored.kind, &stored.payload) {
            Ok(change) => {
                metrics::histogram!("social_live_change_apply_delay_seconds")
                    .record((now - stored.created_at_ms).max(0) as f64 / 1000.0);
                metrics::counter!("social_live_changes_applied_total", "kind" => change.kind())
                    .increment(1);
                changes.push(change);
            }
            Err(err) => {
                metrics::counter!("social_live_changes_skipped_total").increment(1);
                tracing::warn!(id = stored.id, error = %err, "skipping a change record this binary cannot read");
            }
        }
    }
    let engine = Arc::clone(&consumer.engine);
    let models_dir = consumer.models_dir.clone();
    let changes = off_runtime(move || {
        for change in &changes {
            apply_to_engine(&engine, &models_dir, change);
        }
        changes
    })
    .await?;
    for change in &changes {
        for user in change.users_touched() {
            consumer.contexts.invalidate(UserId(user)).await;
        }
        if let Some(post) = change.post_touched() {
            consumer.post_rows.invalidate(post).await;
        }
        if let Change::AccountChanged { user } | Change::Restricted { user, .. } = change {
            consumer.principals.invalidate(*user).await;
        }
    }
    Ok(())
}

/// Runs the engine's part of a batch off the async workers, on a blocking thread. Not on the
/// request [`CpuPool`](crate::cpu::CpuPool): a write waits for its change to be applied (read your writes), and
/// behind a queue of feed rankings it would wait for them too. The tailer is one sequential
/// task, so this is never more than one thread at a time.
async fn off_runtime<T, F>(work: F) -> Result<T, StepError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Ok(tokio::task::spawn_blocking(work).await?)
}

fn meta(post: &PostRecord) -> PostMeta {
    PostMeta {
        id: PostId(post.post),
        author: UserId(post.author),
        created_at: post.created_at,
        deleted: false,
        topics: post.topics.clone(),
        text: post.text.clone(),
    }
}

/// The engine's part of one change. Fold-ins are not done here: the engine folds a user in
/// from their context on their next feed request.
fn apply_to_engine(engine: &FeedEngine, models_dir: &std::path::Path, change: &Change) {
    match change {
        Change::PostCreated(post) => engine.add_post(meta(post)),
        Change::PostEdited(post) => engine.update_post(meta(post)),
        Change::PostDeleted { post, .. } => engine.delete_post(PostId(*post)),
        Change::Liked { user, post, at } => {
            engine.record_engagement(PostId(*post), InteractionKind::Like, *at);
            engine.interactions_changed(UserId(*user));
        }
        Change::Commented { user, post, at, .. } => {
            engine.record_engagement(PostId(*post), InteractionKind::Comment, *at);
            engine.interactions_changed(UserId(*user));
        }
        Change::Viewed { user, posts, at } => {
            for post in posts {
                engine.record_engagement(PostId(*post), InteractionKind::View, *at);
            }
            engine.interactions_changed(UserId(*user));
        }
        Change::Unliked {
            user,
            post,
            liked_at,
        } => {
            engine.retract_engagement(PostId(*post), InteractionKind::Like, *liked_at);
            engine.interactions_changed(UserId(*user));
        }
        Change::Followed { .. }
        | Change::Unfollowed { .. }
        | Change::Hidden { .. }
        | Change::Unhidden { .. } => {
            for user in change.users_touched() {
                engine.invalidate_user(UserId(user));
            }
        }
        Change::PostHidden { post, .. } => engine.delete_post(PostId(*post)),
        Change::PostRestored(post) => engine.restore_post(meta(post)),
        Change::AccountChanged { .. } | Change::MutedWordsChanged { .. } => {}
        Change::Restricted { user, until } => match until {
            Some(until) => engine.withhold_author(UserId(*user), *until),
            None => engine.release_author(UserId(*user)),
        },
        // The pointer on disk is the truth (a later change may have moved it again); the load
        // runs on this blocking thread while the old model serves.
        Change::ModelCurrent { version } => {
            match engine.reload(models_dir, engine::ReloadCheck::Pointer) {
                Ok(done) => tracing::info!(
                    asked = version,
                    serving = %engine.model_version(),
                    changed = done.changed.is_some(),
                    "model pointer moved by an operator"
                ),
                Err(error) => tracing::warn!(%error, "model reload after a pointer change failed"),
            }
        }
    }
}

/// Loads the catalog snapshot into the engine (replacing what it held), drops every cached
/// context and ranked list, and returns the snapshot's position.
///
/// # Errors
///
/// The database error; a panic while applying.
async fn reload(consumer: &Consumer) -> Result<Position, StepError> {
    let snapshot = read_snapshot(consumer).await?;
    let position = snapshot.position;
    let engine = Arc::clone(&consumer.engine);
    off_runtime(move || replace(&engine, snapshot)).await?;
    consumer.contexts.invalidate_all();
    consumer.post_rows.invalidate_all();
    consumer.principals.invalidate_all();
    Ok(position)
}

/// The snapshot for `consumer`'s engine (its trending window).
pub(crate) async fn read_snapshot(consumer: &Consumer) -> sqlx::Result<CatalogSnapshot> {
    let window = consumer.engine.config().trending_window.as_secs() as i64;
    consumer
        .store
        .catalog_snapshot(crate::store::now() - window)
        .await
}

/// Replaces the engine's catalog and trending counters with the snapshot's and drops every
/// cached ranked list.
fn replace(engine: &FeedEngine, snapshot: CatalogSnapshot) {
    let CatalogSnapshot {
        posts,
        newest,
        engagement,
        withheld,
        ..
    } = snapshot;
    engine.replace_posts(posts);
    engine.replace_withheld(withheld);
    engine.reset_trending();
    engine.invalidate_all();
    offer_newest(engine, newest, engagement);
}

/// Offers the newest posts to the engine as new (those its model knows are ignored, the others
/// join the fresh buffer, oldest first so that it ends newest-first) and warms trending.
pub(crate) fn offer_newest(
    engine: &FeedEngine,
    newest: Vec<PostMeta>,
    engagement: Vec<(PostId, InteractionKind, i64)>,
) {
    for post in newest {
        engine.add_post(post);
    }
    engine.record_engagements(engagement);
}
