//! `social-live scheduler` and `serve --pipeline-schedule`: the nightly pipeline, one run at a
//! time across every process that shares the database.
//!
//! Cron ticks (tokio-cron-scheduler, six fields, UTC) only *queue* the tick's run
//! (`Store::enqueue_tick`: the tick is unique, so every scheduler firing on it queues the same
//! one run). Separately, every `--pipeline-poll-secs` each scheduler takes or renews the
//! database's pipeline lease (`api::store::runs`) and, while it holds it, claims the oldest
//! queued run that is due. A run executes `pipeline::run` on a blocking thread while a heartbeat
//! renews the lease every third of `--lease-secs`. Its result is recorded with `finish_run`
//! under this process's fence, which refuses a runner whose lease was taken over (it was
//! presumed dead). A holder that dies stops renewing: after the lease's lifetime another
//! scheduler takes it over with a higher fence, marks the dead runner's run `abandoned` and
//! queues it again. The pipeline keeps the new version without making it current; `current` is
//! moved (`Runner::record`) only when the promotion gate accepted it and `finish_run` succeeded,
//! so a runner whose lease was taken over never publishes.
//!
//! A failed run is queued again after `--retry-backoff-secs`, doubled for each next attempt, up
//! to `--retries` times; every attempt is a row of the run history, counted in
//! `social_live_pipeline_runs_total{status}` and logged. On SIGTERM or Ctrl-C a scheduler stops
//! claiming, cancels a run in progress at its next stage boundary (`pipeline::Cancel`: nothing is
//! published), records it as failed with an immediate retry (a shutdown costs no backoff and no
//! attempt limit), and releases the lease.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use api::Store;
use api::store::runs::{Claim, Fence, Finish, RunId, RunReport, RunRequest, RunRow};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::cli::{RunArgs, ScheduleArgs, SchedulerArgs};
use crate::commands::run_config;

/// What a scheduler runs, on which schedule, and how it shares the pipeline.
#[derive(Debug)]
pub struct Spec {
    /// Six fields, seconds first, UTC.
    pub cron: String,
    /// The option `cron` came from, for messages (`--cron`, `--pipeline-schedule`).
    pub cron_flag: &'static str,
    pub data_dir: PathBuf,
    /// The options of each `pipeline run`.
    pub run: RunArgs,
    pub schedule: ScheduleArgs,
    /// Queue a run at start.
    pub run_now: bool,
}

pub fn run(data_dir: PathBuf, args: SchedulerArgs) -> Result<()> {
    // Fail fast on a bad configuration, before waiting hours for the first tick.
    run_config(data_dir.clone(), &args.run)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let spec = Spec {
        cron: args.cron,
        cron_flag: "--cron",
        run: args.run,
        schedule: args.schedule,
        run_now: args.run_now,
        data_dir,
    };
    spec.check()?;
    runtime.block_on(async move {
        let url = crate::serve::database_url(&spec.data_dir, spec.run.database_url.clone())?;
        let store = Store::connect(&url, 4).await?;
        let (stop, stopped) = watch::channel(false);
        let scheduler = start(store.clone(), spec, stopped).await?;
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        });
        scheduler.await.context("the scheduler task failed")??;
        store.pool.close().await;
        Ok(())
    })
}

/// Starts the cron job and the claim loop over `store`; the task ends once `stop` turns true
/// (or its sender is dropped) and any run in progress is recorded.
///
/// # Errors
///
/// An invalid cron expression or schedule option; the cron scheduler cannot start.
pub async fn start(
    store: Store,
    spec: Spec,
    stop: watch::Receiver<bool>,
) -> Result<JoinHandle<Result<()>>> {
    let cron = spec.check()?;
    let s = &spec.schedule;
    let runner = Arc::new(Runner {
        holder: holder_name(),
        ttl: Duration::from_secs(s.lease_secs),
        poll: Duration::from_secs(s.pipeline_poll_secs),
        max_attempts: i64::from(s.retries) + 1,
        backoff_secs: s.retry_backoff_secs,
        models_dir: spec
            .run
            .out
            .clone()
            .unwrap_or_else(|| spec.data_dir.join("models")),
        store,
        data_dir: spec.data_dir,
        run: Arc::new(spec.run),
        cron: spec.cron,
    });
    let job = {
        let store = runner.store.clone();
        Job::new_async(runner.cron.as_str(), move |_id, _scheduler| {
            let (store, cron) = (store.clone(), cron.clone());
            Box::pin(async move { enqueue_tick(&store, &cron).await })
        })
        .with_context(|| format!("invalid {} {:?}", spec.cron_flag, runner.cron))?
    };
    let mut scheduler = JobScheduler::new()
        .await
        .context("cannot create the scheduler")?;
    let id = scheduler
        .add(job)
        .await
        .context("cannot schedule the pipeline")?;
    scheduler
        .start()
        .await
        .context("cannot start the scheduler")?;
    let next = scheduler.next_tick_for_job(id).await.ok().flatten();
    tracing::info!(cron = %runner.cron, next = ?next, holder = %runner.holder, "scheduler started");
    if spec.run_now {
        match runner.store.request_run(None).await? {
            RunRequest::Queued(run) => tracing::info!(run = %run.id, "queued a run (--run-now)"),
            RunRequest::Pending(run) => {
                tracing::info!(run = %run.id, "a run is pending already: --run-now queues none")
            }
        }
    }
    Ok(tokio::spawn(async move {
        runner.claim_loop(stop).await;
        tracing::info!("scheduler stopping");
        scheduler
            .shutdown()
            .await
            .context("cannot stop the scheduler")?;
        tracing::info!("scheduler stopped");
        Ok(())
    }))
}

impl Spec {
    /// Checks the schedule and its options; returns the parsed schedule.
    ///
    /// # Errors
    ///
    /// An invalid cron expression; a poll interval of zero or longer than a third of the lease.
    pub fn check(&self) -> Result<Cron> {
        let s = &self.schedule;
        if s.lease_secs == 0
            || s.pipeline_poll_secs == 0
            || s.pipeline_poll_secs.saturating_mul(3) > s.lease_secs
        {
            bail!(
                "--pipeline-poll-secs ({}) must be at least 1 and at most a third of --lease-secs ({})",
                s.pipeline_poll_secs,
                s.lease_secs
            );
        }
        // As tokio-cron-scheduler reads it: seconds required, day of month and day of week both.
        CronParser::builder()
            .seconds(Seconds::Required)
            .dom_and_dow(true)
            .build()
            .parse(&self.cron)
            .with_context(|| {
                format!(
                    "invalid {} {:?} (six fields, seconds first)",
                    self.cron_flag, self.cron
                )
            })
    }
}

/// Queues the run of the tick that just fired: the latest time of the schedule at or before
/// now (the job fires shortly after its tick, so every scheduler computes the same one).
async fn enqueue_tick(store: &Store, cron: &Cron) {
    let tick = match cron.find_previous_occurrence(&chrono::Utc::now(), true) {
        Ok(tick) => tick.timestamp(),
        Err(err) => {
            tracing::error!(error = %err, "cannot place the cron tick");
            return;
        }
    };
    match store.enqueue_tick(tick).await {
        Ok(Some(run)) => tracing::info!(%run, tick, "queued the scheduled run"),
        Ok(None) => tracing::debug!(tick, "the scheduled run is queued already"),
        Err(err) => {
            tracing::error!(error = %err, tick, "cannot queue the scheduled run")
        }
    }
}

/// `host:pid:random`: this process among every scheduler on the database.
fn holder_name() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned());
    let mut random = std::collections::hash_map::RandomState::new().build_hasher();
    random.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        random.finish() as u32
    )
}

/// One scheduler's share of the pipeline.
#[derive(Debug)]
struct Runner {
    store: Store,
    holder: String,
    ttl: Duration,
    poll: Duration,
    max_attempts: i64,
    backoff_secs: u64,
    models_dir: PathBuf,
    data_dir: PathBuf,
    run: Arc<RunArgs>,
    cron: String,
}

/// How a run ended, not yet recorded.
#[derive(Debug)]
struct Ended {
    run: RunId,
    finish: Finish,
    /// The version to make current once the finish is recorded.
    make_current: Option<String>,
}

fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

impl Runner {
    async fn claim_loop(&self, mut stop: watch::Receiver<bool>) {
        let mut lease: Option<Fence> = None;
        let mut unrecorded: Option<Ended> = None;
        loop {
            lease = self.hold(lease).await;
            if let Some(fence) = lease {
                if let Some(ended) = unrecorded.take() {
                    unrecorded = self.record(ended, fence).await;
                } else if !stopping(&stop) {
                    match self
                        .store
                        .claim_next(&self.holder, fence, self.max_attempts)
                        .await
                    {
                        Ok(Claim::LeaseLost) => {
                            tracing::warn!(%fence, "the pipeline lease was taken over");
                            lease = None;
                        }
                        Ok(Claim::Held { abandoned, run }) => {
                            for id in abandoned {
                                tracing::warn!(run = %id, "abandoned a run whose runner lost the lease; queued again while attempts remain");
                                count("abandoned");
                            }
                            if let Some(run) = run {
                                let (ended, held) = self.execute(*run, fence, &mut stop).await;
                                if !held {
                                    lease = None;
                                }
                                unrecorded = self.record(ended, fence).await;
                            }
                        }
                        Err(err) => tracing::error!(error = %err, "cannot claim a pipeline run"),
                    }
                }
            }
            if stopping(&stop) {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(self.poll) => {}
                _ = stop.changed() => {}
            }
        }
        if let Some(ended) = unrecorded {
            tracing::error!(run = %ended.run, "stopping with a finished run unrecorded: the next lease holder abandons it and runs it again");
        }
        if let Some(fence) = lease {
            match self.store.release_lease(&self.holder, fence).await {
                Ok(()) => tracing::info!(%fence, "released the pipeline lease"),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot release the pipeline lease: it expires by itself")
                }
            }
        }
    }

    /// Renews the lease, or tries to take it.
    async fn hold(&self, lease: Option<Fence>) -> Option<Fence> {
        match lease {
            Some(fence) => match self.store.renew_lease(&self.holder, fence, self.ttl).await {
                Ok(true) => Some(fence),
                Ok(false) => {
                    tracing::warn!(%fence, "the pipeline lease was taken over");
                    None
                }
                Err(err) => {
                    // Still ours unless it expires: the next renewal or the fence will tell.
                    tracing::warn!(error = %err, "cannot renew the pipeline lease");
                    Some(fence)
                }
            },
            None => match self.store.try_acquire_lease(&self.holder, self.ttl).await {
                Ok(Some(fence)) => {
                    tracing::info!(%fence, holder = %self.holder, "took the pipeline lease");
                    Some(fence)
                }
                Ok(None) => None,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot take the pipeline lease");
                    None
                }
            },
        }
    }

    /// Runs `run` on a blocking thread, renewing the lease every third of its lifetime; a stop
    /// request cancels it at its next stage boundary (it publishes nothing and is queued again
    /// at once). Returns how it ended and whether the lease is still held.
    async fn execute(
        &self,
        run: RunRow,
        fence: Fence,
        stop: &mut watch::Receiver<bool>,
    ) -> (Ended, bool) {
        tracing::info!(run = %run.id, attempt = run.attempt, trigger = run.trigger.as_str(), %fence, "pipeline run started");
        let (data_dir, args) = (self.data_dir.clone(), Arc::clone(&self.run));
        let cancel = pipeline::Cancel::default();
        let cancelled = cancel.clone();
        let mut job = tokio::task::spawn_blocking(move || {
            let mut config = run_config(data_dir, &args)?;
            config.show_progress = false;
            config.cancel = cancelled;
            // Only `Runner::record` moves `current`, after the run is recorded under its fence.
            config.make_current = false;
            pipeline::run(&config).map_err(anyhow::Error::from)
        });
        let mut heartbeat = tokio::time::interval(self.ttl / 3);
        heartbeat.tick().await;
        let mut held = true;
        let mut told = false;
        let outcome = loop {
            tokio::select! {
                outcome = &mut job => break outcome,
                _ = heartbeat.tick(), if held => {
                    match self.store.renew_lease(&self.holder, fence, self.ttl).await {
                        Ok(true) => {}
                        Ok(false) => {
                            held = false;
                            tracing::warn!(run = %run.id, %fence, "lost the pipeline lease mid-run: its result will not be published");
                        }
                        Err(err) => tracing::warn!(error = %err, "cannot renew the pipeline lease"),
                    }
                }
                _ = stop.changed(), if !told => {
                    told = true;
                    cancel.cancel();
                    tracing::info!(run = %run.id, "shutting down: stopping the run in progress at its next stage boundary");
                }
            }
        };
        (self.ended(&run, outcome), held)
    }

    /// The finish of `run` from the pipeline's outcome.
    fn ended(
        &self,
        run: &RunRow,
        outcome: Result<Result<pipeline::RunOutcome>, tokio::task::JoinError>,
    ) -> Ended {
        let error = match outcome {
            Ok(Ok(outcome)) => {
                let report = &outcome.report;
                let evaluation = &report.evaluation;
                let verdict = verdict(&outcome);
                let accepted = verdict.accepted;
                let result = RunReport {
                    version: outcome.version.clone(),
                    counts: serde_json::to_value(&report.data).unwrap_or_default(),
                    metrics: serde_json::json!({
                        "k": evaluation.k,
                        "ndcg": evaluation.model.metrics.ndcg,
                        "recall": evaluation.model.metrics.recall,
                        "precision": evaluation.model.metrics.precision,
                        "coverage": evaluation.model.metrics.coverage,
                        "index_recall": report.ann.measurement.recall,
                    }),
                    gate: verdict.gate,
                };
                tracing::info!(run = %run.id, version = %outcome.version, ndcg = evaluation.model.metrics.ndcg, accepted, reason = %verdict.reason, "pipeline run finished");
                return if accepted {
                    Ended {
                        run: run.id,
                        make_current: verdict.make_current.then(|| outcome.version.clone()),
                        finish: Finish::Published(result),
                    }
                } else {
                    Ended {
                        run: run.id,
                        make_current: None,
                        finish: Finish::Rejected(result),
                    }
                };
            }
            Ok(Err(err))
                if matches!(
                    err.downcast_ref::<pipeline::Error>(),
                    Some(pipeline::Error::Cancelled { .. })
                ) =>
            {
                // A shutdown is not the run's failure: whichever scheduler holds the lease
                // next runs it again at once, whatever the attempts left.
                let error = format!("{err:#} (the scheduler shut down)");
                tracing::warn!(run = %run.id, %error, "pipeline run cancelled: queued again");
                return Ended {
                    run: run.id,
                    finish: Finish::Failed {
                        error,
                        retry_at: Some(api::store::now()),
                    },
                    make_current: None,
                };
            }
            Ok(Err(err)) => format!("{err:#}"),
            Err(err) if err.is_panic() => "the pipeline panicked".to_owned(),
            Err(err) => format!("the pipeline task failed: {err}"),
        };
        let retry_at = (run.attempt < self.max_attempts).then(|| {
            let exponent = u32::try_from(run.attempt - 1).unwrap_or(u32::MAX).min(20);
            api::store::now() + (self.backoff_secs.saturating_mul(1 << exponent)) as i64
        });
        tracing::error!(run = %run.id, attempt = run.attempt, error = %error, retry_at, "pipeline run failed");
        Ended {
            run: run.id,
            finish: Finish::Failed { error, retry_at },
            make_current: None,
        }
    }

    /// Records `ended` under `fence` and then makes its version current; `Some` (to try
    /// again) when the database cannot be reached.
    async fn record(&self, ended: Ended, fence: Fence) -> Option<Ended> {
        match self
            .store
            .finish_run(ended.run, &self.holder, fence, &ended.finish)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(run = %ended.run, %fence, "the pipeline lease changed hands: the run's result is not recorded or published");
                return None;
            }
            Err(err) => {
                tracing::error!(error = %err, run = %ended.run, "cannot record the pipeline run: trying again");
                return Some(ended);
            }
        }
        let status = match &ended.finish {
            Finish::Published(_) => "published",
            Finish::Rejected(_) => "rejected",
            Finish::Failed { .. } => "failed",
        };
        if let Some(version) = ended.make_current {
            let dir = self.models_dir.clone();
            let set = {
                let version = version.clone();
                tokio::task::spawn_blocking(move || {
                    let previous = models::artifact::current_version(&dir).ok().flatten();
                    models::artifact::set_current(&dir, &version).map(|()| previous)
                })
                .await
            };
            let (previous, failure) = match set {
                Ok(Ok(previous)) => (previous, None),
                Ok(Err(err)) => (None, Some(format!("cannot make {version} current: {err}"))),
                Err(err) => (None, Some(format!("cannot make {version} current: {err}"))),
            };
            if let Some(error) = failure {
                tracing::error!(run = %ended.run, %error, "pipeline run not published");
                if let Err(err) = self.store.unpublish_run(ended.run, fence, &error).await {
                    tracing::error!(error = %err, "cannot record the failure");
                }
                count("failed");
                return None;
            }
            tracing::info!(run = %ended.run, %version, "published the new model version");
            // Every replica reloads when it applies this change (within a second), not at its
            // next poll; a failure here only delays them to that poll.
            if let Err(err) = self
                .store
                .record_model_current(
                    None,
                    &version,
                    previous.as_deref(),
                    &format!("published by pipeline run {}", ended.run),
                )
                .await
            {
                tracing::warn!(error = %err, %version, "cannot log the new model version: replicas take it at their next poll");
            }
        }
        count(status);
        None
    }
}

/// What the promotion gate decided about a run's model.
#[derive(Debug)]
struct Verdict {
    accepted: bool,
    /// The decision as recorded in the history.
    gate: Option<serde_json::Value>,
    reason: String,
    /// Whether `current` is still to be moved to the version (by `Runner::record`, after the
    /// run is recorded under a valid fence).
    make_current: bool,
}

/// The gate's verdict on `outcome` (a disabled gate accepts, `enforced: false`).
fn verdict(outcome: &pipeline::RunOutcome) -> Verdict {
    let gate = &outcome.gate;
    Verdict {
        accepted: gate.accepted || !gate.enforced,
        gate: serde_json::to_value(gate).ok(),
        reason: gate.reason.clone(),
        make_current: !outcome.made_current,
    }
}

/// Counts a run that ended with `status`.
fn count(status: &'static str) {
    metrics::counter!("social_live_pipeline_runs_total", "status" => status).increment(1);
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
