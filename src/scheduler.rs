//! `social-live scheduler`: the nightly pipeline.
//!
//! A cron job (tokio-cron-scheduler) runs `pipeline::run` on a blocking thread. Runs never overlap: a
//! tick that finds the previous run still going is skipped with a warning. A failed run is logged and
//! the schedule goes on; the last published model stays current because publishing is atomic. On
//! SIGTERM or Ctrl-C the scheduler stops taking ticks and waits for a run in progress to finish, so a
//! deployment never kills a half-trained model for nothing.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::cli::SchedulerArgs;
use crate::commands::run_config;

pub fn run(data_dir: PathBuf, args: SchedulerArgs) -> Result<()> {
    // Fail fast on a bad configuration, before waiting hours for the first tick.
    run_config(data_dir.clone(), &args.run)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(schedule(data_dir, args))
}

async fn schedule(data_dir: PathBuf, args: SchedulerArgs) -> Result<()> {
    let args = Arc::new(args);
    let running = Arc::new(Mutex::new(()));
    let cron = args.cron.clone();
    let job = {
        let (args, running, data_dir) = (Arc::clone(&args), Arc::clone(&running), data_dir.clone());
        Job::new_async(cron.as_str(), move |_id, _scheduler| {
            let (args, running, data_dir) =
                (Arc::clone(&args), Arc::clone(&running), data_dir.clone());
            Box::pin(async move { run_once(data_dir, args, running).await })
        })
        .with_context(|| format!("invalid --cron {cron:?} (six fields, seconds first)"))?
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
    tracing::info!(cron = %args.cron, next = ?next, "scheduler started");

    if args.run_now {
        let (args, running, data_dir) = (Arc::clone(&args), Arc::clone(&running), data_dir.clone());
        tokio::spawn(run_once(data_dir, args, running));
    }

    shutdown_signal().await;
    tracing::info!("shutting down: no new runs; waiting for a run in progress");
    scheduler
        .shutdown()
        .await
        .context("cannot stop the scheduler")?;
    let _idle = running.lock().await;
    tracing::info!("scheduler stopped");
    Ok(())
}

/// One pipeline run, unless another is still going.
async fn run_once(data_dir: PathBuf, args: Arc<SchedulerArgs>, running: Arc<Mutex<()>>) {
    let Ok(guard) = running.try_lock_owned() else {
        tracing::warn!("previous pipeline run still in progress: skipping this tick");
        return;
    };
    let outcome = tokio::task::spawn_blocking(move || {
        let _guard = guard;
        let mut config = run_config(data_dir, &args.run)?;
        config.show_progress = false;
        pipeline::run(&config).map_err(anyhow::Error::from)
    })
    .await;
    match outcome {
        Ok(Ok(outcome)) => tracing::info!(
            version = %outcome.version,
            ndcg = outcome.report.evaluation.model.metrics.ndcg,
            dir = %outcome.artifact_dir.display(),
            "scheduled pipeline run published a model"
        ),
        Ok(Err(err)) => {
            tracing::error!(error = %format!("{err:#}"), "scheduled pipeline run failed")
        }
        Err(err) => tracing::error!(error = %err, "scheduled pipeline run panicked"),
    }
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
