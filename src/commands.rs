//! What each command does: turn parsed arguments into library calls and print the outcome on stdout.
//!
//! Output goes through `writeln!` on a locked stdout rather than `println!`, so that a closed pipe
//! (`social-live ... | head`) is an ordinary error instead of a panic.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use datasets::loader::{ColumnNames, FileFormat, LoadOptions};
use datasets::synthetic::SyntheticConfig;
use models::als::AlsParams;
use pipeline::{DatasetSource, RunConfig, Weighting};

use crate::cli::{
    AdminCommand, Cli, Command, DatasetsCommand, FormatArg, GenerateArgs, PipelineCommand,
    ProfileArg, PublicDataset, RunArgs, SyntheticArgs, TrainerArg, WeightingArg,
};

pub fn run(cli: Cli) -> Result<()> {
    let data_dir = cli.global.data_dir;
    match cli.command {
        Command::Datasets(DatasetsCommand::Fetch { name }) => fetch(&data_dir, name),
        Command::Datasets(DatasetsCommand::Generate(args)) => generate(&data_dir, &args),
        Command::Datasets(DatasetsCommand::Seed(args)) => {
            crate::serve::seed_command(&data_dir, &args)
        }
        Command::Pipeline(PipelineCommand::Run(args)) => pipeline_run(data_dir, &args),
        Command::Scheduler(args) => crate::scheduler::run(data_dir, *args),
        Command::Serve(args) => crate::serve::run(data_dir, *args),
        Command::Admin(AdminCommand::Create(args)) => crate::admin::create(&data_dir, &args),
    }
}

fn fetch(data_dir: &std::path::Path, name: PublicDataset) -> Result<()> {
    match name {
        PublicDataset::Ml100k => {
            let paths = datasets::movielens::fetch_ml100k(data_dir)
                .context("cannot fetch MovieLens-100K")?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "interactions: {}", paths.interactions.display())?;
            writeln!(out, "items:        {}", paths.items.display())?;
        }
    }
    Ok(())
}

pub fn synthetic_config(size: &SyntheticArgs, seed: u64) -> Result<SyntheticConfig> {
    let defaults = SyntheticConfig::default();
    let config = SyntheticConfig {
        users: size.users.unwrap_or(defaults.users),
        posts: size.posts.unwrap_or(defaults.posts),
        interactions: size.interactions.unwrap_or(defaults.interactions),
        seed,
        ..defaults
    };
    config.check().context("invalid synthetic network size")?;
    Ok(config)
}

fn generate(data_dir: &std::path::Path, args: &GenerateArgs) -> Result<()> {
    let config = synthetic_config(&args.size, args.seed)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| data_dir.join("datasets").join("synthetic"));
    let network = datasets::synthetic::generate(&config).context("cannot generate the network")?;
    let mut written = datasets::synthetic::write_parquet(&network, &out)
        .with_context(|| format!("cannot write Parquet files into {}", out.display()))?;
    if args.csv {
        written.extend(
            datasets::synthetic::write_csv(&network, &out)
                .with_context(|| format!("cannot write CSV files into {}", out.display()))?,
        );
    }
    // Last: a directory with a manifest holds a whole network.
    written.push(
        datasets::synthetic::write_manifest(&network, &out)
            .with_context(|| format!("cannot write the manifest into {}", out.display()))?,
    );
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "generated {} users, {} follows, {} posts, {} interactions (seed {})",
        network.users.len(),
        network.follows.len(),
        network.posts.len(),
        network.interactions.len(),
        config.seed
    )?;
    for path in written {
        writeln!(out, "{}", path.display())?;
    }
    Ok(())
}

fn load_options(args: &RunArgs) -> LoadOptions {
    let columns = match (&args.user_col, &args.item_col, &args.time_col) {
        (Some(user), Some(item), Some(timestamp)) => Some(ColumnNames {
            user: user.clone(),
            item: item.clone(),
            timestamp: timestamp.clone(),
            weight: args.weight_col.clone(),
        }),
        _ => None,
    };
    LoadOptions {
        format: match args.format {
            FormatArg::Auto => FileFormat::Auto,
            FormatArg::Csv => FileFormat::Csv,
            FormatArg::Tsv => FileFormat::Tsv,
            FormatArg::Parquet => FileFormat::Parquet,
        },
        columns,
        skip_bad_rows: args.skip_bad_rows,
        ..LoadOptions::default()
    }
}

/// The exit status of `pipeline run` when the promotion gate rejects the model.
const EXIT_REJECTED: i32 = 3;
/// The exit status of `pipeline run` stopped by SIGTERM or Ctrl-C (nothing published).
const EXIT_CANCELLED: i32 = 4;

fn pipeline_run(data_dir: PathBuf, args: &RunArgs) -> Result<()> {
    let config = run_config(data_dir, args)?;
    cancel_on_signal(config.cancel.clone());
    let outcome = match pipeline::run(&config) {
        Err(err @ pipeline::Error::Cancelled { .. }) => {
            eprintln!("{err}");
            std::process::exit(EXIT_CANCELLED);
        }
        other => other.context("pipeline failed")?,
    };
    print_summary(&outcome)?;
    if !outcome.gate.accepted {
        // Not an error (nothing failed, and the reason is already on stdout), but not a
        // publication either: a distinct status lets a script or a cron job tell them apart.
        std::io::stdout().flush()?;
        std::process::exit(EXIT_REJECTED);
    }
    Ok(())
}

/// On the first SIGTERM or Ctrl-C, asks the run to stop at its next stage boundary (it then
/// publishes nothing); a second one ends the process at once.
fn cancel_on_signal(cancel: pipeline::Cancel) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        tracing::warn!("cannot watch for signals: SIGTERM ends the run at once");
        return;
    };
    // Registered here, before the run starts, so a SIGTERM never meets the default handler.
    #[cfg(unix)]
    let mut terminate = runtime
        .block_on(async {
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        })
        .map_err(|err| tracing::warn!(error = %err, "cannot listen for SIGTERM"))
        .ok();
    std::thread::spawn(move || {
        runtime.block_on(async {
            #[cfg(unix)]
            let terminate = async {
                match terminate.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let terminate = std::future::pending::<()>();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                () = terminate => {},
            }
        });
        eprintln!(
            "stopping at the next stage boundary; nothing will be published (again to quit now)"
        );
        cancel.cancel();
        runtime.block_on(crate::scheduler::shutdown_signal());
        std::process::exit(EXIT_CANCELLED);
    });
}

/// The network `datasets generate` wrote into `dir`, named by its manifest.
fn generated(dir: PathBuf) -> Result<DatasetSource> {
    let config = datasets::synthetic::read_manifest(&dir).context("--dataset")?;
    Ok(DatasetSource::Generated { dir, config })
}

/// The pipeline configuration `args` describe, checked before any work starts.
pub fn run_config(data_dir: PathBuf, args: &RunArgs) -> Result<RunConfig> {
    // The cheap checks first: nothing is read before the parameters are known to be valid.
    let defaults = AlsParams::default();
    let als = AlsParams {
        factors: args.factors.unwrap_or(defaults.factors),
        regularization: args.reg.unwrap_or(defaults.regularization),
        alpha: args.alpha.unwrap_or(defaults.alpha),
        iterations: args.iterations.unwrap_or(defaults.iterations),
        seed: args.seed,
        ..defaults
    };
    als.check().context("invalid model parameters")?;
    let ann = models::ann::AnnConfig {
        ef_construction: args
            .ef_construction
            .unwrap_or(models::ann::AnnConfig::DEFAULT_EF_CONSTRUCTION),
        ..models::ann::AnnConfig::default()
    };
    ann.check().context("invalid index parameters")?;
    if args.dataset != "db" {
        for (given, flag) in [
            (args.event_weights.is_some(), "--event-weights"),
            (args.half_life.is_some(), "--half-life"),
            (args.snapshot.is_some(), "--snapshot"),
        ] {
            if given {
                bail!("{flag} applies to --dataset db only");
            }
        }
    }
    if let Some(file) = &args.posts
        && !file.is_file()
    {
        bail!("--posts {}: no such file", file.display());
    }
    let mut weighting = args.weighting;
    let mut posts = None;
    let dataset = match args.dataset.as_str() {
        "ml-100k" => DatasetSource::Ml100k,
        "db" => {
            // Views, likes and comments are weighed: the weight must reach the confidence.
            weighting = WeightingArg::Raw;
            let weights = crate::database::parse_weights(
                args.event_weights.as_deref().unwrap_or("1,4,6"),
                args.half_life,
            )?;
            let url = crate::serve::database_url(&data_dir, args.database_url.clone())?;
            DatasetSource::Rows(pipeline::Rows(std::sync::Arc::new(
                crate::database::DatabaseRows::new(url, weights, args.snapshot.clone()),
            )))
        }
        "synthetic" => generated(data_dir.join("datasets").join("synthetic"))?,
        path => {
            let path = PathBuf::from(path);
            if !path.exists() {
                bail!(
                    "--dataset {}: no such file or directory (expected ml-100k, synthetic, db or a path)",
                    path.display()
                );
            }
            if path.is_dir() {
                generated(path)?
            } else {
                posts.clone_from(&args.posts);
                DatasetSource::File {
                    path,
                    options: load_options(args),
                }
            }
        }
    };
    if args.posts.is_some() && posts.is_none() {
        bail!("--posts applies to a CSV, TSV or Parquet --dataset only");
    }
    let trainer = trainer(&data_dir, args)?;
    let config = RunConfig {
        dataset,
        data_dir,
        models_dir: args.out.clone(),
        als,
        trainer,
        ann,
        tune: args.tune,
        search: tune_config(args),
        export: args.export.clone(),
        k: args.k,
        min_rating: args.min_rating,
        weighting: match weighting {
            WeightingArg::Binary => Weighting::Binary,
            WeightingArg::Raw => Weighting::Raw,
        },
        show_progress: std::io::stderr().is_terminal(),
        posts,
        evaluation: evaluation_config(args),
        gate: gate_config(args),
        keep_versions: args
            .keep_versions
            .unwrap_or(RunConfig::default().keep_versions),
        ..RunConfig::default()
    };
    config
        .validate()
        .context("invalid pipeline configuration")?;
    Ok(config)
}

/// The trainer of `--trainer` and the `--spark-*` flags.
fn trainer(data_dir: &std::path::Path, args: &RunArgs) -> Result<pipeline::Trainer> {
    if args.trainer == TrainerArg::Native {
        // --spark-python may come from SOCIAL_LIVE_SPARK_PYTHON, which a native run ignores.
        for (given, flag) in [
            (args.spark_master.is_some(), "--spark-master"),
            (args.spark_work_dir.is_some(), "--spark-work-dir"),
            (args.spark_driver_memory.is_some(), "--spark-driver-memory"),
        ] {
            if given {
                bail!("{flag} applies to --trainer spark only");
            }
        }
        return Ok(pipeline::Trainer::Native);
    }
    if args.tune {
        bail!(
            "--tune searches with the native trainer and cannot tune --trainer spark: tune \
             natively, then pass --factors, --reg, --alpha and --iterations to the Spark run"
        );
    }
    let mut spark = pipeline::SparkConfig::new(data_dir);
    if let Some(master) = &args.spark_master {
        if master.trim().is_empty() || master.chars().any(char::is_whitespace) {
            bail!(
                "--spark-master {master:?}: expected a Spark master URL such as local[2] or spark://host:7077"
            );
        }
        spark.master.clone_from(master);
    }
    if let Some(python) = &args.spark_python {
        spark.python.clone_from(python);
    }
    spark.work_dir.clone_from(&args.spark_work_dir);
    if let Some(memory) = &args.spark_driver_memory {
        let digits = memory.trim_end_matches(['k', 'm', 'g', 't', 'K', 'M', 'G', 'T']);
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || memory.len() - digits.len() > 1
        {
            bail!("--spark-driver-memory {memory:?}: expected a size such as 512m or 4g");
        }
        spark.driver_memory = Some(memory.clone());
    }
    Ok(pipeline::Trainer::Spark(spark))
}

/// The evaluation of `--profile`, with `--eval-users`, `--seed-runs` and `--no-baselines` over it.
fn evaluation_config(args: &RunArgs) -> pipeline::EvaluationConfig {
    let profile = match args.profile {
        ProfileArg::Full => pipeline::EvaluationConfig::default(),
        ProfileArg::Nightly => pipeline::EvaluationConfig::nightly(),
    };
    pipeline::EvaluationConfig {
        max_users: args.eval_users.or(profile.max_users),
        seed_runs: args.seed_runs.unwrap_or(profile.seed_runs),
        run_baselines: profile.run_baselines && !args.no_baselines,
        ..profile
    }
}

/// The promotion gate of `--no-gate` and the `--gate-*` flags over the library's defaults; it
/// scores the evaluation's sample size of users.
fn gate_config(args: &RunArgs) -> pipeline::GateConfig {
    let d = pipeline::GateConfig::default();
    pipeline::GateConfig {
        enabled: !args.no_gate,
        max_users: evaluation_config(args).max_users,
        window_secs: args.gate_window.unwrap_or(d.window_secs),
        ndcg_tolerance: args.gate_ndcg_tolerance.unwrap_or(d.ndcg_tolerance),
        min_index_recall: args.gate_min_recall.unwrap_or(d.min_index_recall),
        ..d
    }
}

/// The search `--tune` runs: the library's defaults with the budget, trial cap and configurations
/// of the command line.
fn tune_config(args: &RunArgs) -> pipeline::TuneConfig {
    let d = pipeline::TuneConfig::default();
    pipeline::TuneConfig {
        budget_seconds: args.tune_budget.unwrap_or(d.budget_seconds),
        max_trials: args.tune_trials.unwrap_or(d.max_trials),
        configurations: args.tune_configs.unwrap_or(d.configurations),
        ..d
    }
}

/// The metrics table (every model of the report with its intervals), the ANN recall and where
/// the model went.
fn print_summary(outcome: &pipeline::RunOutcome) -> Result<()> {
    let report = &outcome.report;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} users, {} items, {} interactions ({} train, {} test); {} users evaluated{}",
        report.data.users,
        report.data.items,
        report.data.interactions,
        report.data.train_interactions,
        report.data.test_interactions,
        report.evaluation.model.metrics.users,
        match &report.evaluation.sample {
            Some(s) => format!(
                " (a sample of the {} with test items, seed {})",
                s.eligible_users, s.seed
            ),
            None => String::new(),
        }
    )?;
    if let pipeline::spark::TrainerInfo::Spark(spark) = &report.training.trainer {
        writeln!(
            out,
            "trained on Spark {} ({}, {} blocks, regParam {:.6}): {:.1} s in the job, {:.1} s with its start-up and the data's round trip",
            spark.spark_version,
            spark.master,
            spark.blocks,
            spark.reg_param,
            spark.fit_seconds,
            report.training.seconds
        )?;
    }
    if let Some(tuning) = &report.tuning {
        let best = &tuning.trials[tuning.best];
        writeln!(
            out,
            "tuned on validation ({} trials in {:.1} s, {:?}): factors {}, regularization {}, alpha {}, {} iterations (validation NDCG@{} {:.4})",
            tuning.trials.len(),
            tuning.seconds,
            tuning.stopped,
            best.factors,
            best.regularization,
            best.alpha,
            best.iterations,
            tuning.k,
            best.ndcg
        )?;
    }
    let evaluation = &report.evaluation;
    let k = evaluation.k;
    let ndcg = format!("NDCG@{k} [95% CI]");
    let recall = format!("Recall@{k} [95% CI]");
    let coverage = format!("coverage@{k}");
    writeln!(
        out,
        "{:<12} {:>26} {:>26} {:>12} {:>8}",
        "model", ndcg, recall, coverage, "fit s"
    )?;
    for (name, scores) in evaluation.scored_models() {
        let (m, ci) = (&scores.metrics, &scores.intervals);
        writeln!(
            out,
            "{:<12} {:>26} {:>26} {:>12.4} {:>8.2}",
            name,
            format!("{:.4} [{:.4}, {:.4}]", m.ndcg, ci.ndcg.low, ci.ndcg.high),
            format!(
                "{:.4} [{:.4}, {:.4}]",
                m.recall, ci.recall.low, ci.recall.high
            ),
            m.coverage,
            scores.fit_seconds
        )?;
    }
    for skipped in evaluation.baselines.iter().filter(|b| b.scores.is_none()) {
        writeln!(
            out,
            "{:<12} skipped: {}",
            skipped.name,
            skipped.skipped.as_deref().unwrap_or("")
        )?;
    }
    writeln!(
        out,
        "HNSW recall@{} vs exact search: {:.4} (ef_search {}, {} users)",
        report.ann.measurement.k,
        report.ann.measurement.recall,
        report.ann.config.ef_search,
        report.ann.measurement.users_sampled
    )?;
    let gate = &outcome.gate;
    match (gate.enforced, gate.accepted) {
        (true, true) => writeln!(out, "promotion gate: accepted: {}", gate.reason)?,
        (false, _) => writeln!(out, "promotion gate: not enforced: {}", gate.reason)?,
        (true, false) => writeln!(out, "promotion gate: rejected")?,
    }
    if outcome.made_current {
        writeln!(
            out,
            "published {} at {}",
            outcome.version,
            outcome.artifact_dir.display()
        )?;
    } else if gate.accepted {
        writeln!(
            out,
            "kept {} at {} (not made current)",
            outcome.version,
            outcome.artifact_dir.display()
        )?;
    } else {
        writeln!(
            out,
            "not published: {} (kept in {})",
            gate.reason,
            outcome.artifact_dir.display()
        )?;
    }
    for version in &outcome.pruned {
        writeln!(out, "removed old version {version}")?;
    }
    Ok(())
}
