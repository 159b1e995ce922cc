//! `pipeline run --dataset db`: the pipeline reads the API's database straight into its frame.
//!
//! Nothing is read when the run's configuration is built: the rows are streamed in the load
//! stage (`api::Store::stream_interactions`: one statement, sorted by the database, one pair in
//! memory here), optionally copied to a CSV snapshot that trains the same model offline.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use api::store::export::{CsvFile, ExtractWeights, INTERACTION_COLUMNS, POST_COLUMNS};
use datasets::PostRecord;
use datasets::synthetic::EventWeights;
use pipeline::{RowSink, RowSource};

/// The database as a [`RowSource`].
#[derive(Debug)]
pub struct DatabaseRows {
    url: String,
    weights: ExtractWeights,
    snapshot: Option<PathBuf>,
}

impl DatabaseRows {
    /// The rows of `url` weighed by `weights`, copied to `snapshot` if given.
    pub fn new(url: String, weights: ExtractWeights, snapshot: Option<PathBuf>) -> Self {
        Self {
            url,
            weights,
            snapshot,
        }
    }
}

/// `--event-weights VIEW,LIKE,COMMENT` and `--half-life SECS`.
///
/// # Errors
///
/// A malformed list, a negative or non-finite weight, all weights zero, or a half-life that is
/// not a positive number of seconds.
pub fn parse_weights(list: &str, half_life: Option<f64>) -> Result<ExtractWeights> {
    let parts: Vec<&str> = list.split(',').map(str::trim).collect();
    let [view, like, comment] = parts.as_slice() else {
        bail!("--event-weights {list:?}: expected three numbers VIEW,LIKE,COMMENT, e.g. 1,4,6");
    };
    let weight = |name: &str, text: &str| -> Result<f32> {
        text.parse().with_context(|| {
            format!("--event-weights: the {name} weight {text:?} is not a number >= 0")
        })
    };
    let kinds = EventWeights {
        view: weight("view", view)?,
        like: weight("like", like)?,
        comment: weight("comment", comment)?,
    };
    // The generator's own check: each weight finite and >= 0.
    kinds.check().context("--event-weights")?;
    ensure!(
        kinds.view + kinds.like + kinds.comment > 0.0,
        "--event-weights {list:?}: at least one weight must be above 0"
    );
    if let Some(h) = half_life {
        ensure!(
            h.is_finite() && h > 0.0,
            "--half-life {h}: must be a positive number of seconds"
        );
    }
    Ok(ExtractWeights {
        kinds,
        half_life_secs: half_life,
    })
}

/// `url` without its password, for reports and logs.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme + 3 => {
            let user = &url[scheme + 3..at];
            let user = user.split_once(':').map_or(user, |(name, _)| name);
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl RowSource for DatabaseRows {
    fn describe(&self) -> String {
        format!("database {}", redacted(&self.url))
    }

    fn read(&self, sink: &mut RowSink) -> std::result::Result<Option<Vec<PostRecord>>, String> {
        let read = async {
            let store = api::Store::connect(&self.url, 2).await?;
            let mut snapshot = self.snapshot.as_deref().map(Snapshot::create).transpose()?;
            let counts = store
                .stream_interactions(&self.weights, |row| {
                    sink.push(row.user, row.post, row.timestamp, row.weight);
                    if let Some(s) = &mut snapshot {
                        s.interactions.write(row.record());
                    }
                })
                .await?;
            let mut posts = Vec::new();
            store
                .stream_posts(|post| {
                    if let Some(s) = &mut snapshot {
                        s.posts.write(post.record());
                    }
                    posts.push(PostRecord {
                        id: post.id.to_string(),
                        author: Some(post.author.to_string()),
                        created_at: Some(post.created_at),
                        topics: post.topics,
                        text: post.text,
                    });
                })
                .await?;
            store.pool.close().await;
            ensure!(
                counts.pairs > 0,
                "the database has no interactions to train on"
            );
            if let Some(s) = snapshot {
                s.finish()?;
            }
            tracing::info!(
                pairs = counts.pairs,
                events = counts.events,
                posts = posts.len(),
                "read the database's interactions"
            );
            anyhow::Ok(posts)
        };
        let posts = match tokio::runtime::Handle::try_current() {
            // A blocking thread of a runtime (serve --demo, the scheduler).
            Ok(handle) => handle.block_on(read),
            Err(_) => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|runtime| runtime.block_on(read)),
        }
        .map_err(|e| format!("{e:#}"))?;
        Ok(Some(posts))
    }
}

/// The CSV copy of the rows read: `interactions.csv` and `posts.csv` in the columns
/// `api::Store::export_interactions` and `export_posts` write, each renamed into place when
/// complete.
struct Snapshot {
    interactions: CsvFile,
    posts: CsvFile,
}

impl Snapshot {
    fn create(dir: &Path) -> Result<Self> {
        let open = |name: &str, columns: &[&str]| {
            CsvFile::create(&dir.join(name), columns).context("--snapshot")
        };
        Ok(Self {
            interactions: open("interactions.csv", &INTERACTION_COLUMNS)?,
            posts: open("posts.csv", &POST_COLUMNS)?,
        })
    }

    fn finish(self) -> Result<()> {
        self.interactions.finish().context("--snapshot")?;
        self.posts.finish().context("--snapshot")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_and_every_bad_list_is_refused() {
        let w = parse_weights("1, 4,6", Some(86_400.0)).unwrap();
        assert_eq!(
            (
                w.kinds.view,
                w.kinds.like,
                w.kinds.comment,
                w.half_life_secs
            ),
            (1.0, 4.0, 6.0, Some(86_400.0))
        );
        for bad in ["1,4", "1,4,6,7", "a,4,6", "-1,4,6", "NaN,1,1", "0,0,0", ""] {
            assert!(parse_weights(bad, None).is_err(), "{bad}");
        }
        for half in [0.0, -5.0, f64::INFINITY] {
            assert!(parse_weights("1,4,6", Some(half)).is_err(), "{half}");
        }
    }

    #[test]
    fn passwords_never_reach_the_report() {
        assert_eq!(
            redacted("postgres://app:s3cret@db:5432/social"),
            "postgres://app@db:5432/social"
        );
        assert_eq!(redacted("postgres://db/social"), "postgres://db/social");
        assert_eq!(redacted("sqlite:///data/x.db"), "sqlite:///data/x.db");
    }
}
