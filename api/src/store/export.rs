//! Exports the interaction log the pipeline trains on.

use std::collections::HashMap;
use std::path::Path;

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

/// Weights of the exported interactions: a view 1, a like 4, a comment 6 (the synthetic
/// generator's [`datasets::synthetic::EventWeights`] defaults, so that a model trained on an
/// export of the seeded database sees what a model trained on the generator sees).
const WEIGHTS: [(&str, f32); 3] = [
    ("SELECT user_id, post_id, created_at FROM views", 1.0),
    ("SELECT user_id, post_id, created_at FROM likes", 4.0),
    ("SELECT author_id, post_id, created_at FROM comments", 6.0),
];

/// What an export wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportCounts {
    /// (user, post) pairs written.
    pub pairs: usize,
    /// Events read.
    pub events: usize,
}

impl Store {
    /// Writes `user,item,weight,timestamp` rows to `path` (CSV with a header): one row per user
    /// and live post, the weight summed over the user's views, likes and comments of it, the
    /// time of the latest. Rows are sorted by user and item, so an unchanged database gives a
    /// byte-identical file. The file is written beside `path` and renamed into place.
    ///
    /// # Errors
    ///
    /// A database or file error.
    pub async fn export_interactions(&self, path: &Path) -> Result<ExportCounts, Error> {
        let live: std::collections::HashSet<i64> = sqlx::query_as::<_, (i64,)>(
            "SELECT id FROM posts WHERE deleted_at IS NULL AND hidden_at IS NULL",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect();
        let mut pairs: HashMap<(i64, i64), (f32, i64)> = HashMap::new();
        let mut events = 0;
        for (sql, weight) in WEIGHTS {
            let mut rows = sqlx::query_as::<_, (i64, i64, i64)>(sql).fetch(&self.pool);
            while let Some((user, post, at)) = rows.try_next().await? {
                if !live.contains(&post) {
                    continue;
                }
                events += 1;
                let entry = pairs.entry((user, post)).or_insert((0.0, at));
                entry.0 += weight;
                entry.1 = entry.1.max(at);
            }
        }
        let mut rows: Vec<_> = pairs.into_iter().collect();
        rows.sort_unstable_by_key(|(key, _)| *key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_error("cannot create", dir))?;
        }
        let tmp = path.with_extension("csv.partial");
        {
            let mut out = csv::Writer::from_path(&tmp).map_err(csv_error(&tmp))?;
            out.write_record(["user", "item", "weight", "timestamp"])
                .map_err(csv_error(&tmp))?;
            for ((user, post), (weight, at)) in &rows {
                out.write_record([
                    user.to_string(),
                    post.to_string(),
                    weight.to_string(),
                    at.to_string(),
                ])
                .map_err(csv_error(&tmp))?;
            }
            out.flush().map_err(io_error("cannot write", &tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(io_error("cannot write", path))?;
        Ok(ExportCounts {
            pairs: rows.len(),
            events,
        })
    }

    /// Writes the live posts to `path`: CSV with `id,author,created_at,topics,text`, topics
    /// separated by `|` (the pipeline's posts file, input of the content encoder), by id.
    ///
    /// # Errors
    ///
    /// A database or file error.
    pub async fn export_posts(&self, path: &Path) -> Result<usize, Error> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_error("cannot create", dir))?;
        }
        let tmp = path.with_extension("csv.partial");
        let mut out = csv::Writer::from_path(&tmp).map_err(csv_error(&tmp))?;
        out.write_record(["id", "author", "created_at", "topics", "text"])
            .map_err(csv_error(&tmp))?;
        let mut rows = sqlx::query_as::<_, (i64, i64, i64, String, String)>(
            "SELECT id, author_id, created_at, topics, text FROM posts WHERE deleted_at IS NULL AND hidden_at IS NULL ORDER BY id",
        )
        .fetch(&self.pool);
        let mut n = 0;
        while let Some((id, author, created_at, topics, text)) = rows.try_next().await? {
            let topics = topics.split_whitespace().collect::<Vec<_>>().join("|");
            out.write_record([
                id.to_string(),
                author.to_string(),
                created_at.to_string(),
                topics,
                text,
            ])
            .map_err(csv_error(&tmp))?;
            n += 1;
        }
        out.flush().map_err(io_error("cannot write", &tmp))?;
        drop(out);
        std::fs::rename(&tmp, path).map_err(io_error("cannot write", path))?;
        Ok(n)
    }
}
