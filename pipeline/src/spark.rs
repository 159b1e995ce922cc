//! Training on Apache Spark: MLlib's implicit ALS through PySpark, for logs that outgrow one machine.
//!
//! [`fit`] replaces [`crate::train::fit`] when [`RunConfig::trainer`](crate::RunConfig::trainer) is
//! [`Trainer::Spark`]; every later stage (evaluation, index, gate, publish) is the same as for the
//! native trainer. It:
//!
//! 1. writes the train matrix as Parquet (`user`, `item`: the pipeline's int32 indices; `weight`: the
//!    float32 weight the native trainer would see) into a fresh work directory, with the job
//!    [`JOB`] (`pipeline/spark/als_job.py`, compiled into the binary so it runs from anywhere);
//! 2. runs the job with [`SparkConfig::python`] against [`SparkConfig::master`] (`local[*]` or a cluster
//!    URL; on a cluster the work directory must be on storage every executor reads), polling the
//!    run's [`Cancel`] flag: a cancelled run kills the job;
//! 3. reads the user and item factors back (Parquet, `id` and `features`), checks every row (ids in
//!    range, `factors` finite values) and gives users and items without training interactions zero
//!    vectors, as the native trainer does.
//!
//! MLlib scales `regParam` by each user's and item's interaction count (ALS-WR); the native
//! objective does not. The job gets [`reg_param`]: the native λ divided by the mean number of
//! training interactions per user, so that the typical user is penalised as natively.
//!
//! The work directory is removed after a successful fit and kept after a failure, with the job's
//! log (`job.log`), which the error names.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use models::als::{AlsModel, AlsParams};
use models::sparse::CsrMatrix;
use ndarray::Array2;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Cancel;
use crate::error::{Error, Result};
use crate::progress;

/// The Spark job, shipped in the binary and written into each run's work directory.
pub const JOB: &str = include_str!("../spark/als_job.py");
/// The PySpark version `pipeline/scripts/install-spark.sh` installs and the job is tested with.
pub const PYSPARK_VERSION: &str = "4.3.0";
/// The job's exit code when PySpark cannot be imported.
const EXIT_NO_PYSPARK: i32 = 3;
/// The job's exit code when Spark cannot start (no Java).
const EXIT_NO_SPARK: i32 = 4;
/// How often the running job is polled for its end and the run for cancellation.
const POLL: Duration = Duration::from_millis(100);

/// Which trainer fits the ALS model.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Trainer {
    /// The pipeline's own ALS ([`models::als`]), in process. The default.
    #[default]
    Native,
    /// Spark MLlib's implicit ALS, through PySpark.
    Spark(SparkConfig),
}

/// Where and how the Spark job runs.
#[derive(Clone, Debug, PartialEq)]
pub struct SparkConfig {
    /// The Spark master URL: `local[*]` (every core of this machine, the default), `local[N]`, or a
    /// cluster's (`spark://host:7077`, `yarn`, ...).
    pub master: String,
    /// The Python interpreter that has PySpark ([`default_python`]).
    pub python: PathBuf,
    /// The directory work directories are made in: the training Parquet, the factors, the job and its
    /// log (`None`: `<data_dir>/spark/work`). On a cluster it must be storage every executor reads.
    pub work_dir: Option<PathBuf>,
    /// `spark.driver.memory` (for example `4g`; `None`: Spark's default, 1 GiB). In local mode the
    /// driver does all the work, so this is the memory Spark may use.
    pub driver_memory: Option<String>,
}

impl SparkConfig {
    /// `local[*]`, the Python of [`default_python`] for `data_dir`, work under `data_dir`, Spark's
    /// default driver memory.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            master: "local[*]".to_owned(),
            python: default_python(data_dir),
            work_dir: None,
            driver_memory: None,
        }
    }
}

/// `<data_dir>/spark/venv/bin/python` when that exists (where `pipeline/scripts/install-spark.sh`
/// installs PySpark by default), else `python3` from `PATH`.
pub fn default_python(data_dir: &Path) -> PathBuf {
    let venv = data_dir
        .join("spark")
        .join("venv")
        .join("bin")
        .join("python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// What the report says about the trainer ([`crate::report::TrainingInfo::trainer`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrainerInfo {
    /// The native trainer.
    #[default]
    Native,
    /// Spark MLlib, with what the job reported.
    Spark(SparkRun),
}

/// What the Spark job reported (its `result.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SparkRun {
    /// PySpark's version.
    pub spark_version: String,
    /// The master the job ran against, as Spark reports it.
    pub master: String,
    /// Spark's default parallelism on that master.
    pub default_parallelism: u32,
    /// User and item blocks of the ALS (the parallelism of each half-step).
    pub blocks: u32,
    /// The `regParam` Spark was given (see [`reg_param`]).
    pub reg_param: f64,
    /// Users and items Spark returned factors for (those with training interactions).
    pub users: usize,
    /// See [`users`](Self::users).
    pub items: usize,
    /// The fit and the writing of the factors inside the job, in seconds (the stage's time adds the
    /// JVM's start, the input and reading the factors back).
    pub fit_seconds: f64,
}

/// MLlib's `regParam` for the native `params.regularization` on `user_items`: λ divided by the mean
/// number of training interactions of the users that have any (MLlib multiplies it by each user's
/// count). λ itself when the matrix is empty.
pub fn reg_param(params: &AlsParams, user_items: &CsrMatrix) -> f64 {
    let active = (0..user_items.n_rows())
        .filter(|&u| !user_items.row(u).0.is_empty())
        .count();
    let lambda = f64::from(params.regularization);
    if active == 0 {
        return lambda;
    }
    lambda * active as f64 / user_items.nnz() as f64
}

/// Fits implicit ALS with `params` on `user_items` with Spark (see the module docs). The model has
/// no loss history (MLlib does not report its objective). `data_dir` is where the work directory goes
/// unless [`SparkConfig::work_dir`] says otherwise.
///
/// # Errors
///
/// [`Error::Model`] for invalid parameters; [`Error::Io`] when the work directory cannot be made or
/// written; [`Error::Spark`] when the job cannot start, fails (with its last line and its log's path)
/// or writes factors that do not fit the matrix; [`Error::Cancelled`] when `cancel` is set while it
/// runs (the job is killed).
pub fn fit(
    user_items: &CsrMatrix,
    params: &AlsParams,
    spark: &SparkConfig,
    data_dir: &Path,
    cancel: &Cancel,
    show_progress: bool,
) -> Result<(AlsModel, SparkRun)> {
    params.check()?;
    let root = spark
        .work_dir
        .clone()
        .unwrap_or_else(|| data_dir.join("spark").join("work"));
    std::fs::create_dir_all(&root).map_err(Error::io(&root))?;
    let work = tempfile::Builder::new()
        .prefix("als-")
        .tempdir_in(&root)
        .map_err(Error::io(&root))?;
    let dir = work.path();
    let job = dir.join("als_job.py");
    std::fs::write(&job, JOB).map_err(Error::io(&job))?;
    let input = dir.join("train.parquet");
    write_triples(&input, user_items)?;
    let output = dir.join("out");
    let log = dir.join("job.log");
    let reg = reg_param(params, user_items);

    let mut command = Command::new(&spark.python);
    command
        .arg(&job)
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .arg("--checkpoint-dir")
        .arg(dir.join("checkpoints"))
        .args(["--master", &spark.master])
        .args(["--factors", &params.factors.to_string()])
        .args(["--iterations", &params.iterations.to_string()])
        .args(["--reg-param", &reg.to_string()])
        .args(["--alpha", &params.alpha.to_string()])
        // Spark's seed is a signed long.
        .args(["--seed", &(params.seed & i64::MAX as u64).to_string()])
        // Executors run the Python the driver runs.
        .env("PYSPARK_PYTHON", &spark.python)
        .stdin(Stdio::null())
        // Its own process group: a terminal's Ctrl-C reaches the pipeline, which cancels the run
        // and stops the whole group (the job, its JVM and Python workers) itself.
        .process_group(0);
    if let Some(memory) = &spark.driver_memory {
        command.args(["--driver-memory", memory]);
    }
    let log_file = File::create(&log).map_err(Error::io(&log))?;
    let err_file = log_file.try_clone().map_err(Error::io(&log))?;
    command.stdout(log_file).stderr(err_file);
    tracing::info!(
        master = spark.master,
        python = %spark.python.display(),
        work = %dir.display(),
        reg_param = reg,
        "starting the Spark ALS job"
    );
    let mut child = command.spawn().map_err(|e| Error::Spark {
        message: format!(
            "cannot run {} ({e}): install PySpark with pipeline/scripts/install-spark.sh or pass \
             --spark-python",
            spark.python.display()
        ),
    })?;

    let bar = progress::spinner(show_progress, "training on Spark");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(Error::io(&log))? {
            break status;
        }
        if cancel.is_cancelled() {
            stop_group(&mut child);
            bar.finish_and_clear();
            return Err(Error::Cancelled {
                at: "while Spark was training (the job was stopped)".to_owned(),
            });
        }
        bar.set_message(format!("{:.0} s", start.elapsed().as_secs_f64()));
        std::thread::sleep(POLL);
    };
    bar.finish_and_clear();
    if !status.success() {
        let last = last_line(&log).unwrap_or_else(|| "no output".to_owned());
        let kept = work.keep();
        let message = match status.code() {
            Some(EXIT_NO_PYSPARK | EXIT_NO_SPARK) => last,
            Some(code) => format!("the job exited with {code}: {last}"),
            None => format!("the job was killed by a signal: {last}"),
        };
        return Err(Error::Spark {
            message: format!("{message} (log: {})", kept.join("job.log").display()),
        });
    }

    let read = || -> Result<_> {
        let run = read_result(&output.join("result.json"))?;
        let users = read_factors(
            &output.join("user_factors"),
            user_items.n_rows(),
            params.factors,
            "user",
        )?;
        let items = read_factors(
            &output.join("item_factors"),
            user_items.n_cols(),
            params.factors,
            "item",
        )?;
        Ok((run, users, items))
    };
    let (run, user_factors, item_factors) = match read() {
        Ok(read) => read,
        Err(e) => {
            // Kept for a second look, like the work of a failed job.
            let kept = work.keep();
            tracing::warn!(work = %kept.display(), "the Spark job's output was kept");
            return Err(e);
        }
    };
    tracing::info!(
        spark_version = run.spark_version,
        fit_seconds = run.fit_seconds,
        users = run.users,
        items = run.items,
        "Spark ALS job finished"
    );
    if let Err(e) = work.close() {
        tracing::warn!(error = %e, "could not remove the Spark work directory");
    }
    Ok((
        AlsModel {
            user_factors,
            item_factors,
            loss_history: Vec::new(),
            params: params.clone(),
        },
        run,
    ))
}

/// Kills the job's process group (the job leads it) and reaps the job.
fn stop_group(child: &mut std::process::Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Writes the nonzeros of `user_items` as Parquet `user` (int32), `item` (int32), `weight` (float32).
fn write_triples(path: &Path, user_items: &CsrMatrix) -> Result<()> {
    let nnz = user_items.nnz();
    let (mut users, mut items, mut weights) = (
        Vec::with_capacity(nnz),
        Vec::with_capacity(nnz),
        Vec::with_capacity(nnz),
    );
    for u in 0..user_items.n_rows() {
        let (cols, values) = user_items.row(u);
        for (&i, &w) in cols.iter().zip(values) {
            users.push(index_i32(u)?);
            items.push(index_i32(i as usize)?);
            weights.push(w);
        }
    }
    let mut df = DataFrame::new(
        nnz,
        vec![
            Int32Chunked::from_vec("user".into(), users).into_column(),
            Int32Chunked::from_vec("item".into(), items).into_column(),
            Float32Chunked::from_vec("weight".into(), weights).into_column(),
        ],
    )
    .map_err(|e| parquet_error(path, &e))?;
    let file = File::create(path).map_err(Error::io(path))?;
    ParquetWriter::new(file)
        .finish(&mut df)
        .map_err(|e| parquet_error(path, &e))?;
    Ok(())
}

/// `index` as Spark's int id.
fn index_i32(index: usize) -> Result<i32> {
    i32::try_from(index).map_err(|_| Error::Spark {
        message: format!("index {index} does not fit Spark's int ids (at most 2^31 - 1)"),
    })
}

fn parquet_error(path: &Path, e: &PolarsError) -> Error {
    Error::Spark {
        message: format!("{}: {e}", path.display()),
    }
}

/// The job's `result.json`.
fn read_result(path: &Path) -> Result<SparkRun> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Spark {
        message: format!(
            "the job succeeded but wrote no result ({}: {e})",
            path.display()
        ),
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Spark {
        message: format!("{}: {e}", path.display()),
    })
}

/// Reads the Parquet factors in `dir` (Spark's part files: `id` int, `features` array<float>) into an
/// `n × factors` matrix; rows Spark did not return stay zero.
///
/// # Errors
///
/// [`Error::Spark`] for a missing directory, an unreadable file, a missing column, an id out of
/// range or repeated, a null, a vector of the wrong length or a value that is not finite.
pub fn read_factors(dir: &Path, n: usize, factors: usize, kind: &str) -> Result<Array2<f32>> {
    let bad = |reason: String| Error::Spark {
        message: format!("{kind} factors in {}: {reason}", dir.display()),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| bad(e.to_string()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    let mut out = Array2::<f32>::zeros((n, factors));
    let mut seen = vec![false; n];
    for path in &files {
        let file = File::open(path).map_err(Error::io(path))?;
        let df = ParquetReader::new(file)
            .finish()
            .map_err(|e| parquet_error(path, &e))?;
        let column = |name: &str| {
            df.column(name)
                .map_err(|_| bad(format!("{} has no `{name}` column", path.display())))
        };
        let ids = column("id")?
            .cast(&DataType::Int64)
            .map_err(|e| bad(e.to_string()))?;
        let ids = ids.i64().map_err(|e| bad(e.to_string()))?;
        let features = column("features")?;
        let features = features
            .list()
            .map_err(|_| bad(format!("`features` is {}, not a list", features.dtype())))?;
        for (id, vector) in ids.iter().zip(features.amortized_iter()) {
            let (Some(id), Some(vector)) = (id, vector) else {
                return Err(bad("a null id or vector".to_owned()));
            };
            let row = usize::try_from(id)
                .ok()
                .filter(|&r| r < n)
                .ok_or_else(|| bad(format!("id {id} is outside 0..{n}")))?;
            if std::mem::replace(&mut seen[row], true) {
                return Err(bad(format!("id {id} appears twice")));
            }
            let values = vector
                .as_ref()
                .cast(&DataType::Float32)
                .map_err(|e| bad(e.to_string()))?;
            let values = values.f32().map_err(|e| bad(e.to_string()))?;
            if values.len() != factors {
                return Err(bad(format!(
                    "id {id} has {} values, not {factors}",
                    values.len()
                )));
            }
            for (dst, v) in out.row_mut(row).iter_mut().zip(values.iter()) {
                *dst = v
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| bad(format!("id {id} has a null or non-finite value")))?;
            }
        }
    }
    if files.is_empty() {
        return Err(bad("no Parquet files".to_owned()));
    }
    Ok(out)
}

/// The last non-empty line of `path` (the job's one-line error or the end of Spark's traceback).
fn last_line(path: &Path) -> Option<String> {
    let file = File::open(path).ok()?;
    BufReader::new(file)
        .lines()
        .map_while(std::result::Result::ok)
        .filter(|l| !l.trim().is_empty())
        .last()
        .map(|l| l.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn matrix() -> CsrMatrix {
        // Three users, the middle one without interactions; four items, the last never seen.
        CsrMatrix::from_triplets(
            3,
            4,
            &[
                (0, 0, 1.0),
                (0, 1, 2.0),
                (0, 2, 1.0),
                (2, 0, 1.0),
                (2, 1, 1.0),
                (2, 2, 4.0),
            ],
        )
        .unwrap()
    }

    /// One row of Spark's factors: the id and its vector.
    type Row = (i32, Vec<f32>);

    /// Writes factors the way Spark does: `id` int32, `features` a list of float32.
    fn write_part(path: &Path, rows: &[Row]) {
        let ids = Int32Chunked::from_vec("id".into(), rows.iter().map(|r| r.0).collect());
        let features: ListChunked = rows
            .iter()
            .map(|r| Series::new("".into(), r.1.clone()))
            .collect();
        let mut df = DataFrame::new(
            rows.len(),
            vec![
                ids.into_column(),
                features.with_name("features".into()).into_column(),
            ],
        )
        .unwrap();
        ParquetWriter::new(File::create(path).unwrap())
            .finish(&mut df)
            .unwrap();
    }

    #[test]
    fn reg_param_divides_lambda_by_the_mean_interactions_of_active_users() {
        let params = AlsParams {
            regularization: 9.0,
            ..AlsParams::default()
        };
        // Two active users with six interactions: a mean of 3.
        assert!((reg_param(&params, &matrix()) - 3.0).abs() < 1e-12);
        let empty = CsrMatrix::from_triplets(2, 2, &[]).unwrap();
        assert!((reg_param(&params, &empty) - 9.0).abs() < 1e-12);
    }

    #[test]
    fn the_training_triples_are_the_matrix_nonzeros_as_int32_and_float32() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.parquet");
        write_triples(&path, &matrix()).unwrap();
        let df = ParquetReader::new(File::open(&path).unwrap())
            .finish()
            .unwrap();
        let users: Vec<i32> = df
            .column("user")
            .unwrap()
            .i32()
            .unwrap()
            .into_no_null_iter()
            .collect();
        let items: Vec<i32> = df
            .column("item")
            .unwrap()
            .i32()
            .unwrap()
            .into_no_null_iter()
            .collect();
        let weights: Vec<f32> = df
            .column("weight")
            .unwrap()
            .f32()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(users, [0, 0, 0, 2, 2, 2]);
        assert_eq!(items, [0, 1, 2, 0, 1, 2]);
        assert_eq!(weights, [1.0, 2.0, 1.0, 1.0, 1.0, 4.0]);
    }

    #[test]
    fn factors_are_read_from_every_part_and_missing_rows_are_zero() {
        let dir = tempfile::tempdir().unwrap();
        write_part(
            &dir.path().join("part-00001.parquet"),
            &[(2, vec![3.0, -1.5])],
        );
        write_part(
            &dir.path().join("part-00000.parquet"),
            &[(0, vec![0.5, 0.25])],
        );
        std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
        let f = read_factors(dir.path(), 4, 2, "item").unwrap();
        assert_eq!(
            f,
            ndarray::array![[0.5, 0.25], [0.0, 0.0], [3.0, -1.5], [0.0, 0.0]]
        );
    }

    #[test]
    fn factors_that_do_not_fit_the_data_are_rejected_with_the_reason() {
        let cases: [(&[Row], &str); 5] = [
            (&[(4, vec![1.0, 1.0])], "id 4 is outside 0..4"),
            (&[(-1, vec![1.0, 1.0])], "id -1 is outside 0..4"),
            (&[(1, vec![1.0])], "id 1 has 1 values, not 2"),
            (&[(1, vec![1.0, f32::NAN])], "non-finite"),
            (
                &[(1, vec![1.0, 2.0]), (1, vec![1.0, 2.0])],
                "id 1 appears twice",
            ),
        ];
        for (rows, expected) in cases {
            let dir = tempfile::tempdir().unwrap();
            write_part(&dir.path().join("part-0.parquet"), rows);
            let err = read_factors(dir.path(), 4, 2, "user")
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err} should say {expected}");
            assert!(
                err.starts_with("Spark training failed: user factors in"),
                "{err}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let err = read_factors(dir.path(), 4, 2, "user")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no Parquet files"), "{err}");
        let err = read_factors(&dir.path().join("absent"), 4, 2, "user")
            .unwrap_err()
            .to_string();
        assert!(err.contains("absent"), "{err}");
    }

    /// A stand-in for the Python interpreter: a shell script that ignores the job and runs `body`.
    fn fake_python(dir: &Path, body: &str) -> PathBuf {
        let path = dir.join("python");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// Fits the test matrix with `python` in `dir` and returns the error it must end in.
    fn fit_error(dir: &Path, python: PathBuf, cancel: &Cancel) -> Error {
        let params = AlsParams {
            factors: 2,
            iterations: 2,
            ..AlsParams::default()
        };
        let config = SparkConfig {
            python,
            work_dir: Some(dir.join("work")),
            ..SparkConfig::new(dir)
        };
        fit(&matrix(), &params, &config, dir, cancel, false).unwrap_err()
    }

    #[test]
    fn a_job_that_fails_names_its_last_line_and_keeps_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let python = fake_python(
            dir.path(),
            "echo 'Traceback (most recent call last):'\necho 'pyspark.errors.PySparkRuntimeError: boom' >&2\nexit 1",
        );
        let err = fit_error(dir.path(), python, &Cancel::default()).to_string();
        assert!(
            err.contains("the job exited with 1: pyspark.errors.PySparkRuntimeError: boom"),
            "{err}"
        );
        let log = err.rsplit("(log: ").next().unwrap().trim_end_matches(')');
        let text = std::fs::read_to_string(log).unwrap();
        assert!(text.contains("Traceback"), "{text}");
        // The job and its input are kept beside the log for a second look.
        let work = Path::new(log).parent().unwrap();
        assert!(work.join("als_job.py").is_file() && work.join("train.parquet").is_file());
    }

    #[test]
    fn a_missing_pyspark_or_interpreter_is_one_clear_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let python = fake_python(
            dir.path(),
            "echo 'PySpark is not installed for /usr/bin/python3 (No module named pyspark): run pipeline/scripts/install-spark.sh or pass --spark-python' >&2\nexit 3",
        );
        let err = fit_error(dir.path(), python, &Cancel::default()).to_string();
        assert!(
            err.starts_with("Spark training failed: PySpark is not installed for /usr/bin/python3"),
            "{err}"
        );
        let err = fit_error(
            dir.path(),
            dir.path().join("no-such-python"),
            &Cancel::default(),
        )
        .to_string();
        assert!(
            err.contains("no-such-python") && err.contains("install-spark.sh"),
            "{err}"
        );
    }

    #[test]
    fn cancelling_stops_the_job_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("finished");
        let python = fake_python(dir.path(), &format!("sleep 30\ntouch {}", marker.display()));
        let cancel = Cancel::default();
        let stopper = {
            let cancel = cancel.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                cancel.cancel();
            })
        };
        let start = Instant::now();
        let err = fit_error(dir.path(), python, &cancel);
        stopper.join().unwrap();
        assert!(matches!(err, Error::Cancelled { .. }), "{err}");
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the job was not stopped"
        );
        assert!(!marker.exists());
    }

    #[test]
    fn a_job_that_writes_no_result_is_an_error_not_a_zero_model() {
        let dir = tempfile::tempdir().unwrap();
        let python = fake_python(dir.path(), "exit 0");
        let err = fit_error(dir.path(), python, &Cancel::default()).to_string();
        assert!(
            err.contains("the job succeeded but wrote no result"),
            "{err}"
        );
    }
}
