//! Exports the interaction log the pipeline trains on.

use std::path::{Path, PathBuf};

use datasets::synthetic::{EventKind, EventWeights};
use futures_util::TryStreamExt as _;

use super::Store;
use crate::Error;

fn io_error<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

fn csv_error(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
    move |source| Error::Csv {
        path: path.to_owned(),
        source,
    }
}

/// How each kind of event weighs in the interactions the pipeline trains on, and how it fades
/// with age. `Default`: the synthetic generator's weights (a view 1, a like 4, a comment 6, so
/// that a model trained on the seeded database sees what a model trained on the generator sees),
/// no decay.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ExtractWeights {
    /// The weight of each kind (0 leaves a kind out).
    pub kinds: EventWeights,
    /// An event this many seconds older than the newest event of the log weighs half as much
    /// (`None`: no decay).
    pub half_life_secs: Option<f64>,
}

/// Each kind of event and the `SELECT` of its events; `kind` is the kind's index here.
const EVENTS: [(EventKind, &str); 3] = [
    (
        EventKind::View,
        "SELECT user_id, post_id, created_at, 0 AS kind FROM views",
    ),
    (
        EventKind::Like,
        "SELECT user_id, post_id, created_at, 1 AS kind FROM likes",
    ),
    (
        EventKind::Comment,
        "SELECT author_id, post_id, created_at, 2 AS kind FROM comments",
    ),
];

/// One (user, post) pair as the pipeline trains on it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InteractionRow {
    pub user: i64,
    pub post: i64,
    /// The summed (and decayed) weight of the user's events on the post.
    pub weight: f32,
    /// The time of the latest of them, Unix seconds.
    pub timestamp: i64,
}

/// One live post as the content encoder reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostFeatureRow {
    pub id: i64,
    pub author: i64,
    pub created_at: i64,
    pub topics: Vec<String>,
    pub text: String,
}

/// What an export wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportCounts {
    /// (user, post) pairs written.
    pub pairs: usize,
    /// Events read.
    pub events: usize,
}

impl Store {
    /// Streams the interactions of live posts to `sink`, one row per (user, post) in ascending
    /// order, the weight summed over the user's events on the post (each weighed by its kind and
    /// decayed by its age), the time the latest. One statement, so one consistent snapshot on
    /// PostgreSQL; the database sorts the events and rows arrive as it sends them, so memory
    /// here is one pair, whatever the size of the log.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn stream_interactions(
        &self,
        weights: &ExtractWeights,
        mut sink: impl FnMut(InteractionRow),
    ) -> Result<ExportCounts, Error> {
        let mut counts = ExportCounts {
            pairs: 0,
            events: 0,
        };
        let weighted: Vec<&str> = EVENTS
            .iter()
            .filter(|(kind, _)| weights.kinds.weight(*kind) != 0.0)
            .map(|(_, sql)| *sql)
            .collect();
        if weighted.is_empty() {
            return Ok(counts);
        }
        let union = weighted.join(" UNION ALL ");
        let newest = match weights.half_life_secs {
            Some(_) => {
                let sql = format!("SELECT MAX(e.created_at) FROM ({union}) e");
                let (newest,): (Option<i64>,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&self.pool)
                    .await?;
                newest.unwrap_or(0)
            }
            None => 0,
        };
        let decay = |at: i64| match weights.half_life_secs {
            Some(half) => (-((newest - at).max(0) as f64) / half).exp2() as f32,
            None => 1.0,
        };
        let sql = format!(
            "SELECT e.user_id, e.post_id, e.created_at, e.kind FROM ({union}) e \
             JOIN posts p ON p.id = e.post_id \
             WHERE p.deleted_at IS NULL AND p.hidden_at IS NULL \
             ORDER BY e.user_id, e.post_id"
        );
        let mut rows =
            sqlx::query_as::<_, (i64, i64, i64, i32)>(sqlx::AssertSqlSafe(sql)).fetch(&self.pool);
        let mut pending: Option<InteractionRow> = None;
        while let Some((user, post, at, kind)) = rows.try_next().await? {
            counts.events += 1;
            let weight = weights.kinds.weight(EVENTS[kind as usize].0) * decay(at);
            match &mut pending {
                Some(row) if row.user == user && row.post == post => {
                    row.weight += weight;
                    row.timestamp = row.timestamp.max(at);
                }
                _ => {
                    if let Some(done) = pending.replace(InteractionRow {
                        user,
                        post,
                        weight,
                        timestamp: at,
                    }) {
                        counts.pairs += 1;
                        sink(done);
                    }
                }
            }
        }
        if let Some(done) = pending {
            counts.pairs += 1;
            sink(done);
        }
        Ok(counts)
    }

    /// Streams the live posts to `sink` by id, topics split on whitespace.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn stream_posts(&self, mut sink: impl FnMut(PostFeatureRow)) -> Result<usize, Error> {
        let mut rows = sqlx::query_as::<_, (i64, i64, i64, String, String)>(
            "SELECT id, author_id, created_at, topics, text FROM posts \
             WHERE deleted_at IS NULL AND hidden_at IS NULL ORDER BY id",
        )
        .fetch(&self.pool);
        let mut n = 0;
        while let Some((id, author, created_at, topics, text)) = rows.try_next().await? {
            sink(PostFeatureRow {
                id,
                author,
                created_at,
                topics: topics.split_whitespace().map(str::to_owned).collect(),
                text,
            });
            n += 1;
        }
        Ok(n)
    }

    /// Writes [`stream_interactions`](Self::stream_interactions) with the default weights to
    /// `path` as CSV ([`INTERACTION_COLUMNS`], with a header): a snapshot the pipeline reads
    /// back as the same rows. Sorted, so an unchanged database gives a byte-identical file;
    /// written beside `path` and renamed into place.
    ///
    /// # Errors
    ///
    /// A database or file error.
    pub async fn export_interactions(&self, path: &Path) -> Result<ExportCounts, Error> {
        let mut file = CsvFile::create(path, &INTERACTION_COLUMNS)?;
        let counts = self
            .stream_interactions(&ExtractWeights::default(), |row| file.write(row.record()))
            .await?;
        file.finish()?;
        Ok(counts)
    }

    /// Writes the live posts to `path` as CSV ([`POST_COLUMNS`], topics separated by `|`: the
    /// pipeline's posts file, input of the content encoder), by id.
    ///
    /// # Errors
    ///
    /// A database or file error.
    pub async fn export_posts(&self, path: &Path) -> Result<usize, Error> {
        let mut file = CsvFile::create(path, &POST_COLUMNS)?;
        let n = self.stream_posts(|post| file.write(post.record())).await?;
        file.finish()?;
        Ok(n)
    }
}

/// The columns of an interactions snapshot (what the pipeline's file loader reads).
pub const INTERACTION_COLUMNS: [&str; 4] = ["user", "item", "weight", "timestamp"];
/// The columns of a posts snapshot (the pipeline's posts file).
pub const POST_COLUMNS: [&str; 5] = ["id", "author", "created_at", "topics", "text"];

impl InteractionRow {
    /// The row as [`INTERACTION_COLUMNS`] (the weight printed so that it reads back exactly).
    pub fn record(&self) -> [String; 4] {
        [
            self.user.to_string(),
            self.post.to_string(),
            self.weight.to_string(),
            self.timestamp.to_string(),
        ]
    }
}

impl PostFeatureRow {
    /// The row as [`POST_COLUMNS`], topics separated by `|`.
    pub fn record(&self) -> [String; 5] {
        [
            self.id.to_string(),
            self.author.to_string(),
            self.created_at.to_string(),
            self.topics.join("|"),
            self.text.clone(),
        ]
    }
}

/// A CSV file written beside its path and renamed into place by [`finish`](Self::finish), so a
/// reader never sees half of it. A failed write is kept and returned by `finish` (rows arrive
/// from a stream that cannot stop on it).
#[derive(Debug)]
pub struct CsvFile {
    path: PathBuf,
    tmp: PathBuf,
    out: csv::Writer<std::fs::File>,
    failed: Option<csv::Error>,
}

impl CsvFile {
    /// Creates `path`'s temporary file (and `path`'s directory) and writes `header`.
    ///
    /// # Errors
    ///
    /// The directory or the file cannot be created or written.
    pub fn create(path: &Path, header: &[&str]) -> Result<Self, Error> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_error("cannot create", dir))?;
        }
        let tmp = path.with_extension("csv.partial");
        let mut out = csv::Writer::from_path(&tmp).map_err(csv_error(&tmp))?;
        out.write_record(header).map_err(csv_error(&tmp))?;
        Ok(Self {
            path: path.to_owned(),
            tmp,
            out,
            failed: None,
        })
    }

    /// Appends a record (after a failure, nothing more is written).
    pub fn write<I, T>(&mut self, record: I)
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        if self.failed.is_none()
            && let Err(e) = self.out.write_record(record)
        {
            self.failed = Some(e);
        }
    }

    /// Flushes the file and renames it into place.
    ///
    /// # Errors
    ///
    /// A write that failed, or the flush or the rename.
    pub fn finish(mut self) -> Result<(), Error> {
        if let Some(e) = self.failed.take() {
            return Err(csv_error(&self.tmp)(e));
        }
        self.out
            .flush()
            .map_err(io_error("cannot write", &self.tmp))?;
        drop(self.out);
        std::fs::rename(&self.tmp, &self.path).map_err(io_error("cannot write", &self.path))
    }
}
