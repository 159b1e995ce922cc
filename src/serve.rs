//! `social-live serve`: the HTTP API, and the `--demo` quickstart that seeds a database, trains a
//! model from it and serves it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cli::{RunArgs, ServeArgs};

/// The demo account the quickstart creates.
const DEMO_HANDLE: &str = "demo";
const DEMO_PASSWORD: &str = "demo-password";

pub fn run(data_dir: PathBuf, args: ServeArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(data_dir, args))
}

async fn serve(data_dir: PathBuf, args: ServeArgs) -> Result<()> {
    let mut config = args.config;
    if args.demo {
        prepare_demo(&data_dir, &config, &args.synthetic).await?;
    }
    if config.models_dir.is_none() {
        config.models_dir = Some(data_dir.join("models"));
    }
    let state = api::build_state(config, &data_dir).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // The scheduler shares the service's database and data directory; it starts before the
    // listener so that a bad schedule stops serve at once.
    let scheduler = match args.pipeline_schedule {
        Some(cron) => {
            let run = RunArgs::for_dataset(
                &args.pipeline_dataset,
                state.config.database_url.clone(),
                Some(state.models_dir.clone()),
            );
            let spec = crate::scheduler::Spec {
                cron,
                cron_flag: "--pipeline-schedule",
                data_dir: data_dir.clone(),
                run,
                schedule: args.schedule,
                run_now: false,
            };
            Some(crate::scheduler::start(state.store.clone(), spec, stopped.clone()).await?)
        }
        None => None,
    };
    if args.demo {
        print_demo(&state.config.listen.to_string())?;
    }
    tokio::spawn(async move {
        crate::scheduler::shutdown_signal().await;
        let _ = stop.send(true);
    });
    let mut serving = stopped.clone();
    api::serve(state, async move {
        let _ = serving.wait_for(|stop| *stop).await;
    })
    .await?;
    if let Some(scheduler) = scheduler {
        scheduler.await.context("the scheduler task failed")??;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Seeds an empty database and trains a model when none is published.
async fn prepare_demo(
    data_dir: &Path,
    config: &api::ServeConfig,
    size: &crate::cli::SyntheticArgs,
) -> Result<()> {
    let url = database_url(data_dir, config.database_url.clone())?;
    let store = api::Store::connect(&url, 4).await?;
    if store.is_empty().await? {
        seed(&store, size, 42).await?;
    }
    let models = config
        .models_dir
        .clone()
        .unwrap_or_else(|| data_dir.join("models"));
    if !models.join("current").exists() {
        tracing::info!("no published model: training one from the database");
        let data_dir = data_dir.to_owned();
        let url = Some(url);
        tokio::task::spawn_blocking(move || -> Result<()> {
            let args = RunArgs::for_dataset("db", url, Some(models));
            let mut config = crate::commands::run_config(data_dir, &args)?;
            config.show_progress = false;
            let outcome = pipeline::run(&config).context("pipeline failed")?;
            tracing::info!(
                version = %outcome.version,
                ndcg = outcome.report.evaluation.model.metrics.ndcg,
                "demo model published"
            );
            Ok(())
        })
        .await??;
    }
    store.pool.close().await;
    Ok(())
}

/// Fills `store` (empty) with a generated network of `size` and the demo account.
async fn seed(store: &api::Store, size: &crate::cli::SyntheticArgs, seed: u64) -> Result<()> {
    let net_config = crate::commands::synthetic_config(size, seed)?;
    tracing::info!(
        users = net_config.users,
        posts = net_config.posts,
        interactions = net_config.interactions,
        "generating the demo social network"
    );
    let net =
        tokio::task::spawn_blocking(move || datasets::synthetic::generate(&net_config)).await??;
    let cpu = api::cpu::CpuPool::new(1, std::time::Duration::from_secs(60));
    let hash = api::auth::password::hash(&cpu, DEMO_PASSWORD.to_owned()).await?;
    let counts = store
        .seed(&net, DEMO_HANDLE, &hash)
        .await
        .context("cannot seed the database")?;
    tracing::info!(?counts, "database seeded");
    Ok(())
}

/// `datasets seed`: fills an empty database with a generated network and the demo account,
/// without training a model (for benchmarks and staging).
pub fn seed_command(data_dir: &Path, args: &crate::cli::SeedArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let url = database_url(data_dir, args.database_url.clone())?;
        let store = api::Store::connect(&url, 4).await?;
        if !store.is_empty().await? {
            bail!("the database at {} is not empty", api::store::redact(&url));
        }
        seed(&store, &args.size, args.seed).await?;
        store.pool.close().await;
        Ok(())
    })
}

fn print_demo(listen: &str) -> Result<()> {
    let base = format!("http://{listen}");
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Social Live is serving at {base} (API docs: {base}/docs)"
    )?;
    writeln!(
        out,
        "demo login: handle `{DEMO_HANDLE}`, password `{DEMO_PASSWORD}`"
    )?;
    writeln!(out, "try:")?;
    writeln!(
        out,
        "  TOKEN=$(curl -s -X POST {base}/v1/auth/login -H 'content-type: application/json' \\\n     -d '{{\"handle\":\"{DEMO_HANDLE}\",\"password\":\"{DEMO_PASSWORD}\"}}' | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')"
    )?;
    writeln!(
        out,
        "  curl -s '{base}/v1/feed?limit=5' -H \"authorization: Bearer $TOKEN\""
    )?;
    writeln!(out, "  curl -s '{base}/v1/trending?limit=5'")?;
    writeln!(out, "  curl -s '{base}/v1/search/posts?q=post'")?;
    out.flush()?;
    Ok(())
}

pub fn database_url(data_dir: &Path, url: Option<String>) -> Result<String> {
    Ok(match url {
        Some(url) => url,
        None => {
            std::fs::create_dir_all(data_dir).with_context(|| {
                format!("cannot create the data directory {}", data_dir.display())
            })?;
            api::store::default_database_url(data_dir)
        }
    })
}
