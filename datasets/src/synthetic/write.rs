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

use super::{EventKind, SocialNetwork};
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

    use super::{EventWeights, SocialNetwork, topics_of};
    use crate::atomic;
    use crate::error::Result;
    use crate::frame::FrameBuilder;

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

#[cfg(feature = "polars")]
pub use frames::{to_canonical_frame, write_parquet};
