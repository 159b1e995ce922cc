//! Writing a [`SocialNetwork`]: CSV (always), Parquet and the canonical frame (`polars` feature).
//!
//! Four tables, observable data only (never [`HiddenTruth`](super::HiddenTruth)):
//!
//! - `users`: `user_id`, `handle`, `joined_at`
//! - `follows`: `follower_id`, `followee_id`
//! - `posts`: `post_id`, `author_id`, `created_at`, `topics` (names, space-separated), `text`
//! - `interactions`: `user_id`, `post_id`, `kind` (`view`/`like`/`comment`), `timestamp`
//!
//! Ids are unsigned integers, times Unix seconds. Each file is written atomically, and the same
//! network always gives byte-identical files.

use std::path::{Path, PathBuf};

use super::{EventKind, SocialNetwork, SyntheticConfig};
use crate::atomic;
use crate::error::{Error, Result};

/// Weight of each event kind in the canonical frame. Default: view 1, like 4, comment 6.
///
/// A view is the weakest signal (it may be a scroll-by); a like is an explicit endorsement, worth a
/// few views; a comment costs the user the most effort, so it weighs most. With
/// [`Dedup::SumWeights`](crate::split::Dedup::SumWeights) a viewed, liked and commented post scores 11,
/// a merely viewed one 1: the confidence ALS gives the pair grows with engagement. A weight of 0
/// drops that kind (e.g. `view: 0.0` for a likes-and-comments-only variant).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventWeights {
    /// Weight of a view (default 1.0).
    pub view: f32,
    /// Weight of a like (default 4.0).
    pub like: f32,
    /// Weight of a comment (default 6.0).
    pub comment: f32,
}

impl Default for EventWeights {
    fn default() -> Self {
        Self {
            view: 1.0,
            like: 4.0,
            comment: 6.0,
        }
    }
}

impl EventWeights {
    /// The weight of `kind`.
    pub fn weight(&self, kind: EventKind) -> f32 {
        match kind {
            EventKind::View => self.view,
            EventKind::Like => self.like,
            EventKind::Comment => self.comment,
        }
    }

    /// # Errors
    ///
    /// [`Error::InvalidEventWeight`](crate::Error::InvalidEventWeight) for a negative, NaN or
    /// infinite weight.
    pub fn check(&self) -> Result<()> {
        for kind in [EventKind::View, EventKind::Like, EventKind::Comment] {
            let value = self.weight(kind);
            if !(value.is_finite() && value >= 0.0) {
                return Err(Error::InvalidEventWeight {
                    kind: kind.as_str(),
                    value,
                });
            }
        }
        Ok(())
    }
}

fn topics_of(net: &SocialNetwork, topics: &[u32]) -> String {
    topics
        .iter()
        .map(|&t| net.topic_names[t as usize].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes `users.csv`, `follows.csv`, `posts.csv` and `interactions.csv` (with headers) into `dir`,
/// creating it. Returns the paths in that order.
///
/// # Errors
///
/// [`Error::Io`] / [`Error::Csv`] when a file cannot be written.
pub fn write_csv(net: &SocialNetwork, dir: &Path) -> Result<Vec<PathBuf>> {
    let users = csv_file(dir, "users.csv", &["user_id", "handle", "joined_at"], |w| {
        net.users.iter().try_for_each(|u| {
            w.write_record([u.id.to_string(), u.handle.clone(), u.joined_at.to_string()])
        })
    })?;
    let follows = csv_file(dir, "follows.csv", &["follower_id", "followee_id"], |w| {
        net.follows
            .iter()
            .try_for_each(|f| w.write_record([f.follower.to_string(), f.followee.to_string()]))
    })?;
    let posts = csv_file(
        dir,
        "posts.csv",
        &["post_id", "author_id", "created_at", "topics", "text"],
        |w| {
            net.posts.iter().try_for_each(|p| {
                w.write_record([
                    p.id.to_string(),
                    p.author.to_string(),
                    p.created_at.to_string(),
                    topics_of(net, &p.topics),
                    p.text.clone(),
                ])
            })
        },
    )?;
    let interactions = csv_file(
        dir,
        "interactions.csv",
        &["user_id", "post_id", "kind", "timestamp"],
        |w| {
            net.interactions.iter().try_for_each(|e| {
                w.write_record([
                    e.user.to_string(),
                    e.post.to_string(),
                    e.kind.as_str().to_owned(),
                    e.timestamp.to_string(),
                ])
            })
        },
    )?;
    Ok(vec![users, follows, posts, interactions])
}

type CsvWriter<'a, 'b> = csv::Writer<&'a mut std::io::BufWriter<&'b mut std::fs::File>>;

fn csv_file<F>(dir: &Path, name: &str, header: &[&str], rows: F) -> Result<PathBuf>
where
    F: FnOnce(&mut CsvWriter<'_, '_>) -> csv::Result<()>,
{
    let path = dir.join(name);
    let csv_err = |source| Error::Csv {
        path: path.clone(),
        source,
    };
    atomic::write_with(&path, |out| {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(out);
        w.write_record(header).map_err(csv_err)?;
        rows(&mut w).map_err(csv_err)?;
        w.flush().map_err(|e| Error::io(&path, e))
    })?;
    Ok(path)
}

#[cfg(feature = "polars")]
mod frames {
    use std::path::{Path, PathBuf};

    use polars::prelude::*;

    use super::{EventKind, EventWeights, SocialNetwork, SyntheticConfig, topics_of};
    use crate::atomic;
    use crate::error::{Error, Result, RowProblem};
    use crate::frame::FrameBuilder;
    use crate::posts::PostRecord;

    fn u32s(name: &str, values: impl Iterator<Item = u32>) -> Column {
        UInt32Chunked::from_vec(name.into(), values.collect()).into_column()
    }

    fn i64s(name: &str, values: impl Iterator<Item = i64>) -> Column {
        Int64Chunked::from_vec(name.into(), values.collect()).into_column()
    }

    fn strings<'a>(name: &str, values: impl Iterator<Item = &'a str>) -> Column {
        let mut b = StringChunkedBuilder::new(name.into(), 0);
        values.for_each(|v| b.append_value(v));
        b.finish().into_column()
    }

    /// Writes `users.parquet`, `follows.parquet`, `posts.parquet` and `interactions.parquet` (zstd)
    /// into `dir`, creating it. Returns the paths in that order.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) / [`Error::Polars`](crate::Error::Polars) when a file cannot be
    /// built or written.
    pub fn write_parquet(net: &SocialNetwork, dir: &Path) -> Result<Vec<PathBuf>> {
        let users = DataFrame::new(
            net.users.len(),
            vec![
                u32s("user_id", net.users.iter().map(|u| u.id)),
                strings("handle", net.users.iter().map(|u| u.handle.as_str())),
                i64s("joined_at", net.users.iter().map(|u| u.joined_at)),
            ],
        )?;
        let follows = DataFrame::new(
            net.follows.len(),
            vec![
                u32s("follower_id", net.follows.iter().map(|f| f.follower)),
                u32s("followee_id", net.follows.iter().map(|f| f.followee)),
            ],
        )?;
        let topics: Vec<String> = net
            .posts
            .iter()
            .map(|p| topics_of(net, &p.topics))
            .collect();
        let posts = DataFrame::new(
            net.posts.len(),
            vec![
                u32s("post_id", net.posts.iter().map(|p| p.id)),
                u32s("author_id", net.posts.iter().map(|p| p.author)),
                i64s("created_at", net.posts.iter().map(|p| p.created_at)),
                strings("topics", topics.iter().map(String::as_str)),
                strings("text", net.posts.iter().map(|p| p.text.as_str())),
            ],
        )?;
        let events = &net.interactions;
        let interactions = DataFrame::new(
            events.len(),
            vec![
                u32s("user_id", events.iter().map(|e| e.user)),
                u32s("post_id", events.iter().map(|e| e.post)),
                strings("kind", events.iter().map(|e| e.kind.as_str())),
                i64s("timestamp", events.iter().map(|e| e.timestamp)),
            ],
        )?;
        let mut paths = Vec::with_capacity(4);
        for (name, mut df) in [
            ("users.parquet", users),
            ("follows.parquet", follows),
            ("posts.parquet", posts),
            ("interactions.parquet", interactions),
        ] {
            let path = dir.join(name);
            atomic::write_with(&path, |out| {
                ParquetWriter::new(out).finish(&mut df)?;
                Ok(())
            })?;
            paths.push(path);
        }
        Ok(paths)
    }

    /// A network read back from the directory `datasets generate` wrote.
    #[derive(Debug)]
    pub struct Generated {
        /// The generator's parameters (its manifest).
        pub config: SyntheticConfig,
        /// The events as a canonical frame, as [`to_canonical_frame`] makes it.
        pub frame: DataFrame,
        /// The posts: author, creation time, topics and text.
        pub posts: Vec<PostRecord>,
    }

    /// Reads the network in `dir` (its manifest, `interactions.parquet` and `posts.parquet`),
    /// weighing events by `weights`: the same frame and posts as the network in memory gave.
    ///
    /// # Errors
    ///
    /// [`Error::NotGenerated`] without a manifest, [`Error::Manifest`], [`Error::Parquet`] for
    /// an unreadable file, [`Error::MissingColumn`] / [`Error::ColumnType`] for a table not in
    /// the layout [`write_parquet`] writes, [`Error::MalformedRow`] for a null or an unknown
    /// event kind, [`Error::InvalidEventWeight`].
    pub fn read_generated(dir: &Path, weights: &EventWeights) -> Result<Generated> {
        weights.check()?;
        let config = super::read_manifest(dir)?;
        let path = dir.join("interactions.parquet");
        let events = read(&path)?;
        let (users, posts, kinds, times) = (
            u32_column(&path, &events, "user_id")?,
            u32_column(&path, &events, "post_id")?,
            str_column(&path, &events, "kind")?,
            i64_column(&path, &events, "timestamp")?,
        );
        let mut b = FrameBuilder::with_capacity(events.height());
        let (mut user, mut item) = (String::new(), String::new());
        for (row, (((u, p), k), t)) in users.zip(posts).zip(kinds).zip(times).enumerate() {
            let malformed = |column: &str, problem| Error::MalformedRow {
                file: path.clone(),
                line: row as u64 + 1,
                column: column.to_owned(),
                problem,
            };
            let kind = match k {
                Some("view") => EventKind::View,
                Some("like") => EventKind::Like,
                Some("comment") => EventKind::Comment,
                Some(other) => {
                    return Err(malformed(
                        "kind",
                        RowProblem::UnknownEventKind {
                            value: other.to_owned(),
                        },
                    ));
                }
                None => return Err(malformed("kind", RowProblem::Null)),
            };
            let (Some(u), Some(p), Some(t)) = (u, p, t) else {
                return Err(malformed("user_id, post_id or timestamp", RowProblem::Null));
            };
            let w = weights.weight(kind);
            if w == 0.0 {
                continue;
            }
            use std::fmt::Write;
            user.clear();
            item.clear();
            let _ = write!(user, "{u}");
            let _ = write!(item, "{p}");
            b.push(&user, &item, t, w);
        }
        let frame = b.finish()?;

        let path = dir.join("posts.parquet");
        let table = read(&path)?;
        let rows = u32_column(&path, &table, "post_id")?
            .zip(u32_column(&path, &table, "author_id")?)
            .zip(i64_column(&path, &table, "created_at")?)
            .zip(str_column(&path, &table, "topics")?)
            .zip(str_column(&path, &table, "text")?);
        let mut posts = Vec::with_capacity(table.height());
        for (row, ((((id, author), created_at), topics), text)) in rows.enumerate() {
            let Some(id) = id else {
                return Err(Error::MalformedRow {
                    file: path.clone(),
                    line: row as u64 + 1,
                    column: "post_id".to_owned(),
                    problem: RowProblem::Null,
                });
            };
            posts.push(PostRecord {
                id: id.to_string(),
                author: author.map(|a| a.to_string()),
                created_at,
                topics: topics
                    .unwrap_or("")
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                text: text.unwrap_or("").to_owned(),
            });
        }
        Ok(Generated {
            config,
            frame,
            posts,
        })
    }

    fn read(path: &Path) -> Result<DataFrame> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        ParquetReader::new(file)
            .finish()
            .map_err(|source| Error::Parquet {
                path: path.to_path_buf(),
                source,
            })
    }

    fn column<'a>(path: &Path, df: &'a DataFrame, name: &str) -> Result<&'a Column> {
        df.column(name).map_err(|_| Error::MissingColumn {
            file: path.to_path_buf(),
            column: name.to_owned(),
            available: df
                .get_column_names()
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    fn type_error(path: &Path, col: &Column, expected: &'static str) -> Error {
        Error::ColumnType {
            file: path.to_path_buf(),
            column: col.name().to_string(),
            dtype: col.dtype().to_string(),
            expected,
        }
    }

    fn u32_column<'a>(
        path: &Path,
        df: &'a DataFrame,
        name: &str,
    ) -> Result<impl Iterator<Item = Option<u32>> + 'a> {
        let col = column(path, df, name)?;
        Ok(col.u32().map_err(|_| type_error(path, col, "u32"))?.iter())
    }

    fn i64_column<'a>(
        path: &Path,
        df: &'a DataFrame,
        name: &str,
    ) -> Result<impl Iterator<Item = Option<i64>> + 'a> {
        let col = column(path, df, name)?;
        Ok(col.i64().map_err(|_| type_error(path, col, "i64"))?.iter())
    }

    fn str_column<'a>(
        path: &Path,
        df: &'a DataFrame,
        name: &str,
    ) -> Result<impl Iterator<Item = Option<&'a str>> + 'a> {
        let col = column(path, df, name)?;
        Ok(col
            .str()
            .map_err(|_| type_error(path, col, "string"))?
            .iter())
    }

    /// The events as a canonical frame: `user` = user id, `item` = post id (both as strings),
    /// `timestamp`, `weight` from `weights`; one row per event, in event order, kinds weighing 0
    /// left out. Deduplicate with [`Dedup::SumWeights`](crate::split::Dedup::SumWeights).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEventWeight`](crate::Error::InvalidEventWeight) for a negative, NaN or
    /// infinite weight.
    pub fn to_canonical_frame(net: &SocialNetwork, weights: &EventWeights) -> Result<DataFrame> {
        weights.check()?;
        let mut b = FrameBuilder::with_capacity(net.interactions.len());
        let mut user = String::new();
        let mut item = String::new();
        for e in &net.interactions {
            let w = weights.weight(e.kind);
            if w == 0.0 {
                continue;
            }
            user.clear();
            item.clear();
            use std::fmt::Write;
            let _ = write!(user, "{}", e.user);
            let _ = write!(item, "{}", e.post);
            b.push(&user, &item, e.timestamp, w);
        }
        b.finish()
    }
}

/// The manifest of a generated network's directory: the generator's parameters, written last.
pub const MANIFEST: &str = "network.json";

/// Writes [`MANIFEST`] (the parameters `net` was generated with) into `dir`, after its tables:
/// a directory with a manifest holds a whole network.
///
/// # Errors
///
/// [`Error::Io`] when it cannot be written.
pub fn write_manifest(net: &SocialNetwork, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(MANIFEST);
    let json = serde_json::to_vec_pretty(&net.config).map_err(|source| Error::Manifest {
        path: path.clone(),
        source,
    })?;
    atomic::write_with(&path, |out| {
        use std::io::Write as _;
        out.write_all(&json).map_err(|e| Error::io(&path, e))
    })?;
    Ok(path)
}

/// The parameters of the network generated into `dir` (its [`MANIFEST`]).
///
/// # Errors
///
/// [`Error::NotGenerated`] without a manifest, [`Error::Manifest`] when it does not parse.
pub fn read_manifest(dir: &Path) -> Result<SyntheticConfig> {
    let path = dir.join(MANIFEST);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotGenerated {
                dir: dir.to_path_buf(),
            });
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    serde_json::from_slice(&bytes).map_err(|source| Error::Manifest { path, source })
}

#[cfg(feature = "polars")]
pub use frames::{Generated, read_generated, to_canonical_frame, write_parquet};
