//! The command line: every flag, its environment variable and its default.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Social Live: a social-feed platform built around a recommendation engine.
#[derive(Debug, Parser)]
#[command(name = "social-live", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command shares.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Directory for data sets, model artifacts and local state.
    #[arg(
        long,
        env = "SOCIAL_LIVE_DATA_DIR",
        default_value = "data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Log format on stderr: `text` for people, `json` for log collectors.
    #[arg(long, env = "SOCIAL_LIVE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Log filter in `tracing` syntax (overridden by `RUST_LOG` when that is set).
    #[arg(long, env = "SOCIAL_LIVE_LOG", default_value = "info", global = true)]
    pub log: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch, generate and inspect data sets.
    #[command(subcommand)]
    Datasets(DatasetsCommand),
    /// Train, evaluate and publish recommendation models.
    #[command(subcommand)]
    Pipeline(PipelineCommand),
    /// Run the pipeline on a cron schedule (nightly by default) until SIGTERM or Ctrl-C, one
    /// run at a time across every scheduler sharing the database.
    Scheduler(Box<SchedulerArgs>),
    /// Serve the HTTP API until SIGTERM or Ctrl-C (`--demo`: seed, train and serve a demo).
    Serve(Box<ServeArgs>),
    /// Administer the service's database directly.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin account (the first one, say). The password is read from
    /// `SOCIAL_LIVE_ADMIN_PASSWORD` when set, else from the first line of stdin.
    Create(AdminCreateArgs),
}

#[derive(Debug, Args)]
pub struct AdminCreateArgs {
    /// The new account's handle (3 to 30 of a-z, 0-9 and `_`).
    #[arg(long)]
    pub handle: String,
    /// Database URL [default: the SQLite file `social-live.db` in the data directory].
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: api::ServeConfig,
    /// The quickstart: if the database is empty, fill it with a generated social network and a
    /// demo account; if no model is published, train one from the database; then serve and print
    /// the demo login and example requests.
    #[arg(long)]
    pub demo: bool,
    /// Size of the generated network for `--demo`.
    #[command(flatten)]
    pub synthetic: SyntheticArgs,
    /// Also run the pipeline on this cron schedule (six fields, seconds first, UTC), as
    /// `social-live scheduler` does: every replica can be started with it, and one at a time
    /// (the holder of the database's pipeline lease) runs each job [default: no schedule].
    #[arg(long, env = "SOCIAL_LIVE_PIPELINE_SCHEDULE", value_name = "CRON")]
    pub pipeline_schedule: Option<String>,
    /// What the scheduled runs train on, as `pipeline run --dataset` (with its defaults).
    #[arg(long, env = "SOCIAL_LIVE_PIPELINE_DATASET", default_value = "db")]
    pub pipeline_dataset: String,
    /// The lease, the poll and the retries of the scheduled runs.
    #[command(flatten)]
    pub schedule: ScheduleArgs,
}

/// How schedulers share the pipeline: one lease in the database, held by one process at a time.
#[derive(Debug, Clone, Args)]
pub struct ScheduleArgs {
    /// Lifetime of the pipeline lease, in seconds: renewed every third of it while its holder
    /// lives; a holder that died is taken over after it.
    #[arg(long, env = "SOCIAL_LIVE_PIPELINE_LEASE_SECS", default_value_t = 60)]
    pub lease_secs: u64,
    /// How often a scheduler tries to take the lease and claims queued runs, in seconds (at
    /// most a third of --lease-secs).
    #[arg(long, env = "SOCIAL_LIVE_PIPELINE_POLL_SECS", default_value_t = 5)]
    pub pipeline_poll_secs: u64,
    /// Retries of a failed run (each attempt is a row in the run history).
    #[arg(long, env = "SOCIAL_LIVE_PIPELINE_RETRIES", default_value_t = 3)]
    pub retries: u32,
    /// Wait before the first retry, in seconds; doubled for each next one.
    #[arg(
        long,
        env = "SOCIAL_LIVE_PIPELINE_RETRY_BACKOFF_SECS",
        default_value_t = 60
    )]
    pub retry_backoff_secs: u64,
}

#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// When to run, as a cron expression with six fields, seconds first, in UTC
    /// (the default is 03:00 every night).
    #[arg(long, env = "SOCIAL_LIVE_PIPELINE_CRON", default_value = "0 0 3 * * *")]
    pub cron: String,
    /// Also queue a run right away, before the first scheduled time (unless one is queued or
    /// running).
    #[arg(long)]
    pub run_now: bool,
    /// The lease, the poll and the retries.
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    /// What each run does: the options of `pipeline run` (its `--database-url` is also where
    /// the run history and the lease live).
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum DatasetsCommand {
    /// Download a public data set into the data directory and verify its checksum.
    Fetch {
        /// The data set to fetch.
        #[arg(value_enum)]
        name: PublicDataset,
    },
    /// Generate a seeded synthetic social network (users, follows, posts, interactions).
    Generate(GenerateArgs),
    /// Fill an empty database with a generated social network and the demo account, without
    /// training a model (for benchmarks and staging; `serve --demo` also trains).
    Seed(SeedArgs),
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    #[command(flatten)]
    pub size: SyntheticArgs,
    /// Seed of the generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Database URL [default: the SQLite file `social-live.db` in the data directory].
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PublicDataset {
    /// MovieLens-100K (943 users, 1,682 movies, 100,000 ratings).
    #[value(name = "ml-100k")]
    Ml100k,
}

/// Size and seed of a synthetic social network.
#[derive(Debug, Clone, Args)]
pub struct SyntheticArgs {
    /// Number of users [default: the generator's, 2000].
    #[arg(long)]
    pub users: Option<usize>,
    /// Number of posts [default: the generator's, 10000].
    #[arg(long)]
    pub posts: Option<usize>,
    /// Number of view/like/comment events [default: the generator's, 200000].
    #[arg(long)]
    pub interactions: Option<usize>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub size: SyntheticArgs,
    /// Seed of the generator; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory [default: <data-dir>/datasets/synthetic].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write CSV files beside the Parquet files.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Load, split, (tune), train, evaluate, index and publish a model.
    ///
    /// The promotion gate first scores the new model and the published one on the same recent
    /// held-out interactions (the last day of the test split): a model that is worse beyond the
    /// tolerance, or whose index misses the true top items, is kept for inspection (with
    /// gate.json saying why) but not made current. SIGTERM or Ctrl-C stops the run at its next
    /// stage boundary (the index build between batches) and publishes nothing. Exit status: 0
    /// published, 1 error, 2 usage error, 3 rejected by the gate (not published), 4 cancelled
    /// (not published).
    Run(Box<RunArgs>),
}

/// Who trains the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrainerArg {
    /// The pipeline's own implicit ALS, in process.
    Native,
    /// Spark MLlib's implicit ALS through PySpark, on --spark-master.
    Spark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WeightingArg {
    /// Every interaction counts 1 (confidence 1 + alpha).
    Binary,
    /// The rating or event weight scales the confidence (1 + alpha * weight).
    Raw,
}

/// How much a run measures beyond the model it trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// Every user with test items evaluated, three training seeds, the ItemKNN, EASE and Random
    /// baselines: the data scientist's run.
    Full,
    /// 5,000 sampled users for the evaluation and for the gate, one training seed, MostPopular
    /// as the only baseline: the scheduled job at scale.
    Nightly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Auto,
    Csv,
    Tsv,
    Parquet,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// `ml-100k` (fetched when missing), `synthetic` (the network `datasets generate` wrote into
    /// <data-dir>/datasets/synthetic), `db` (the interactions of the API's database, `DATABASE_URL`
    /// or the data directory's SQLite file), the directory of a generated network (`datasets
    /// generate --out`), or the path of a CSV/TSV/Parquet log.
    #[arg(long, default_value = "ml-100k")]
    pub dataset: String,
    /// The database `--dataset db` reads, and the scheduler's run history and lease
    /// [default: the data directory's SQLite file].
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// With a CSV/TSV/Parquet `--dataset`: its posts (CSV `id,author,created_at,topics,text`,
    /// topics separated by `|`), the content encoder's input [default: none, no encoder].
    #[arg(long, value_name = "FILE")]
    pub posts: Option<PathBuf>,
    /// With `--dataset db`: the weight of a view, a like and a comment, summed per (user, post)
    /// [default: 1,4,6].
    #[arg(long, value_name = "VIEW,LIKE,COMMENT")]
    pub event_weights: Option<String>,
    /// With `--dataset db`: an event this many seconds older than the newest one weighs half as
    /// much [default: no decay].
    #[arg(long, value_name = "SECS")]
    pub half_life: Option<f64>,
    /// With `--dataset db`: also write the rows read to DIR (interactions.csv, posts.csv), a
    /// snapshot that `--dataset DIR/interactions.csv --posts DIR/posts.csv --weighting raw`
    /// trains on to the same model.
    #[arg(long, value_name = "DIR")]
    pub snapshot: Option<PathBuf>,
    /// Directory to publish model versions into [default: <data-dir>/models].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Latent factors of ALS [default: the model's tuned default].
    #[arg(long)]
    pub factors: Option<usize>,
    /// L2 regularization of ALS [default: the model's tuned default].
    #[arg(long)]
    pub reg: Option<f32>,
    /// Confidence scale of ALS, c = 1 + alpha * weight [default: the model's tuned default].
    #[arg(long)]
    pub alpha: Option<f32>,
    /// ALS iterations [default: the model's tuned default].
    #[arg(long)]
    pub iterations: Option<usize>,
    /// Who trains the model: `native` (in process) or `spark` (Spark MLlib's implicit ALS through
    /// PySpark, for logs that outgrow one machine; pipeline/scripts/install-spark.sh installs it,
    /// and Spark needs Java 17 on PATH).
    #[arg(long, value_enum, default_value_t = TrainerArg::Native)]
    pub trainer: TrainerArg,
    /// With --trainer spark: the Spark master URL, `local[N]` or a cluster's [default: local[*],
    /// every core of this machine].
    #[arg(long, value_name = "URL")]
    pub spark_master: Option<String>,
    /// With --trainer spark: the Python interpreter that has PySpark [default:
    /// <data-dir>/spark/venv/bin/python when it exists, else python3].
    #[arg(long, value_name = "PATH", env = "SOCIAL_LIVE_SPARK_PYTHON")]
    pub spark_python: Option<PathBuf>,
    /// With --trainer spark: where the job's work directories go; on a cluster, storage every
    /// executor reads [default: <data-dir>/spark/work].
    #[arg(long, value_name = "DIR")]
    pub spark_work_dir: Option<PathBuf>,
    /// With --trainer spark: `spark.driver.memory`, the memory of the whole job in local mode
    /// (`512m`, `4g`) [default: Spark's, 1g].
    #[arg(long, value_name = "SIZE")]
    pub spark_driver_memory: Option<String>,
    /// The HNSW index's candidate list while inserting: lower builds faster and finds a little
    /// less (the promotion gate still asks for an index recall of --gate-min-recall)
    /// [default: 200].
    #[arg(long, value_name = "N")]
    pub ef_construction: Option<usize>,
    /// Seed of every random choice (initialisation, sampling) [default: 42].
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Choose factors, regularization, alpha and iterations on the validation split first, by a
    /// seeded successive-halving search over wide log-uniform ranges (never on test).
    #[arg(long)]
    pub tune: bool,
    /// Wall-clock budget of --tune in seconds: no trial starts after it; the best so far wins
    /// [default: 600].
    #[arg(long, value_name = "SECS", requires = "tune")]
    pub tune_budget: Option<f64>,
    /// Most ALS fits --tune may make [default: 200].
    #[arg(long, value_name = "N", requires = "tune")]
    pub tune_trials: Option<usize>,
    /// Configurations --tune samples for its first rung (the next rungs keep the best third, with
    /// three times the iterations) [default: 54].
    #[arg(long, value_name = "N", requires = "tune")]
    pub tune_configs: Option<usize>,
    /// What the evaluation measures beyond the model (`--eval-users`, `--seed-runs` and
    /// `--no-baselines` override a part of it).
    #[arg(long, value_enum, default_value_t = ProfileArg::Full)]
    pub profile: ProfileArg,
    /// Evaluate, and gate on, at most N of the users with test items: a uniform sample drawn with
    /// --seed [default: every user; 5,000 with --profile nightly].
    #[arg(long, value_name = "N")]
    pub eval_users: Option<usize>,
    /// ALS fits (seeds --seed, --seed + 1, ...) the report's seed spread is measured over; 1 for
    /// none [default: 3; 1 with --profile nightly].
    #[arg(long, value_name = "N")]
    pub seed_runs: Option<usize>,
    /// Do not score the ItemKNN, EASE and Random baselines (MostPopular always is) [default:
    /// scored; skipped with --profile nightly].
    #[arg(long)]
    pub no_baselines: bool,
    /// Write train.tsv, test.tsv and recs.tsv into this directory for outside scoring.
    #[arg(long)]
    pub export: Option<PathBuf>,
    /// Keep only interactions whose rating is at least this (the `r>=4` variant), before splitting.
    #[arg(long)]
    pub min_rating: Option<f32>,
    /// How interaction weights enter the confidence.
    #[arg(long, value_enum, default_value_t = WeightingArg::Binary)]
    pub weighting: WeightingArg,
    /// Cut-off K of the ranking metrics.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// File format of a PATH data set.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// Skip (and count) malformed rows of a PATH data set instead of failing on the first one.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// User column of a PATH data set (with --item-col and --time-col; detected when absent).
    #[arg(long, requires_all = ["item_col", "time_col"])]
    pub user_col: Option<String>,
    /// Item column of a PATH data set.
    #[arg(long, requires_all = ["user_col", "time_col"])]
    pub item_col: Option<String>,
    /// Timestamp column of a PATH data set.
    #[arg(long, requires_all = ["user_col", "item_col"])]
    pub time_col: Option<String>,
    /// Rating or weight column of a PATH data set (optional).
    #[arg(long, requires = "user_col")]
    pub weight_col: Option<String>,
    /// Publish even a model the promotion gate rejects (its decision is still computed and
    /// recorded in gate.json and the report) [default: the gate is enforced].
    #[arg(long)]
    pub no_gate: bool,
    /// The gate's holdout: the test interactions at most this many seconds before the newest
    /// interaction of the data (the whole test split when they come from fewer than 50 users)
    /// [default: 86400, one day].
    #[arg(long, value_name = "SECS")]
    pub gate_window: Option<u64>,
    /// How much worse, relatively, the new model's NDCG@K on the holdout may be than the
    /// current model's: 0.02 asks for at least 98 % of it [default: 0.02].
    #[arg(long, value_name = "F")]
    pub gate_ndcg_tolerance: Option<f64>,
    /// The least recall@K of the new model's index against exact search [default: 0.95].
    #[arg(long, value_name = "F")]
    pub gate_min_recall: Option<f64>,
    /// Model versions to keep after publishing: the newest N, plus the current one and every
    /// pinned one, whatever their age [default: 10].
    #[arg(long, value_name = "N")]
    pub keep_versions: Option<usize>,
}

impl RunArgs {
    /// The defaults of `pipeline run` for `dataset`, publishing into `out`.
    pub fn for_dataset(dataset: &str, database_url: Option<String>, out: Option<PathBuf>) -> Self {
        use clap::Parser as _;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            run: RunArgs,
        }
        let mut run = Wrapper::parse_from(["run"]).run;
        run.dataset = dataset.to_owned();
        run.database_url = database_url;
        run.out = out;
        run
    }
}

/// Logs go to stderr so that stdout carries only what the user asked for.
pub fn init_tracing(global: &GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    // hnsw_rs reports every build step at info level; keep it to warnings unless asked.
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(format!("{},hnsw_rs=warn", global.log)))
        .unwrap_or_else(|_| EnvFilter::new("info,hnsw_rs=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match global.log_format {
        LogFormat::Text => builder.with_target(false).init(),
        LogFormat::Json => builder.json().init(),
    }
}
