//! The load stage: get the canonical interaction frame, filter it and merge duplicates.
//!
//! The order follows `docs/EVALUATION.md`: the `min_rating` filter runs before anything else (so the
//! `r>=4` variant drops low ratings before the split), then duplicate (user, item) pairs are merged
//! (the latest kept for ratings, weights summed for social events). The split comes after, in
//! [`crate::split`]. The post features of the source (the content encoder's input) are read here
//! too.

use std::path::PathBuf;

use datasets::loader::{LoadOptions, Loaded, load_interactions};
use datasets::movielens::{fetch_ml100k, load_ml100k_items, ml100k_paths};
use datasets::split::{dedup, filter_min_rating};
use datasets::synthetic::{EventWeights, read_generated, to_canonical_frame};
use polars::prelude::DataFrame;

use crate::config::{DatasetSource, RowSink, RunConfig};
use crate::content::{PostFeatures, sources};
use crate::error::{Error, Result};

/// The loaded, filtered and de-duplicated interactions with the counts of what was dropped.
#[derive(Debug)]
pub struct LoadedData {
    /// The canonical frame: `user: String, item: String, timestamp: Int64, weight: Float32`.
    pub frame: DataFrame,
    /// A short description of the source (`ml-100k`, `synthetic` or the path).
    pub source: String,
    /// The file read, when there is one.
    pub path: Option<PathBuf>,
    /// Valid rows read (before any `min_rating` filter and the dedup).
    pub rows_loaded: usize,
    /// Malformed rows the loader skipped (`skip_bad_rows`).
    pub skipped_rows: usize,
    /// Rows dropped by `min_rating` (the run's, or the file options' own).
    pub below_min_rating: usize,
    /// Rows merged into another row of the same (user, item) pair.
    pub duplicates_merged: usize,
    /// The posts' topics, text and authors, the content encoder's input: the synthetic posts,
    /// MovieLens genres and titles, or the posts file of a file run (`None` without one).
    pub post_features: Option<PostFeatures>,
}

/// A source read into a raw canonical frame.
struct Raw {
    frame: DataFrame,
    skipped_rows: usize,
    /// Rows the loader itself dropped by `LoadOptions::min_rating`.
    below_min_rating: usize,
    path: Option<PathBuf>,
    post_features: Option<PostFeatures>,
}

impl Raw {
    fn from_loaded(loaded: Loaded, post_features: Option<PostFeatures>) -> Self {
        Self {
            frame: loaded.frame,
            skipped_rows: loaded.skipped_rows,
            below_min_rating: loaded.below_min_rating,
            path: Some(loaded.source),
            post_features,
        }
    }
}

/// Reads the source of `config`.
fn read_source(config: &RunConfig) -> Result<Raw> {
    match &config.dataset {
        DatasetSource::Ml100k => {
            // Returns at once (after checking the stored files) when the data set is already there.
            if !ml100k_paths(&config.data_dir).interactions.is_file() {
                tracing::info!(data_dir = %config.data_dir.display(), "MovieLens-100K not found: fetching it");
            }
            let paths = fetch_ml100k(&config.data_dir)?;
            let loaded = load_interactions(&paths.interactions, &LoadOptions::default())?;
            let movies = load_ml100k_items(&paths.items)?;
            Ok(Raw::from_loaded(
                loaded,
                Some(sources::from_movielens(movies)),
            ))
        }
        DatasetSource::Synthetic(synthetic) => {
            let network = datasets::synthetic::generate(synthetic)?;
            let frame = to_canonical_frame(&network, &EventWeights::default())?;
            Ok(Raw {
                frame,
                skipped_rows: 0,
                below_min_rating: 0,
                path: None,
                post_features: Some(sources::from_synthetic(&network)),
            })
        }
        DatasetSource::Generated { dir, .. } => {
            let generated = read_generated(dir, &EventWeights::default())?;
            Ok(Raw {
                frame: generated.frame,
                skipped_rows: 0,
                below_min_rating: 0,
                path: Some(dir.clone()),
                post_features: Some(PostFeatures {
                    source: format!(
                        "{} (topics, text, authors)",
                        dir.join("posts.parquet").display()
                    ),
                    posts: generated.posts,
                }),
            })
        }
        DatasetSource::Rows(rows) => {
            let mut sink = RowSink::new();
            let posts = rows.0.read(&mut sink).map_err(|message| Error::Source {
                source_name: rows.0.describe(),
                message,
            })?;
            tracing::info!(rows = sink.len(), source = rows.0.describe(), "rows read");
            Ok(Raw {
                frame: sink.finish()?,
                skipped_rows: 0,
                below_min_rating: 0,
                path: None,
                post_features: posts.map(|posts| PostFeatures {
                    source: format!("{} (posts)", rows.0.describe()),
                    posts,
                }),
            })
        }
        DatasetSource::File { path, options } => {
            let loaded = load_interactions(path, options)?;
            let posts = config
                .posts
                .as_deref()
                .map(sources::from_file)
                .transpose()?;
            Ok(Raw::from_loaded(loaded, posts))
        }
    }
}

/// Runs the load stage for `config`.
///
/// # Errors
///
/// [`Error::Dataset`] if fetching, reading or generating fails, the posts file or the MovieLens
/// items file included (a malformed row names its file, line and column); [`Error::EmptyData`] if
/// nothing is left after loading or after the `min_rating` filter.
pub fn load(config: &RunConfig) -> Result<LoadedData> {
    let raw = read_source(config)?;
    let (frame, skipped_rows, path) = (raw.frame, raw.skipped_rows, raw.path);
    let post_features = raw.post_features;
    let rows_loaded = frame.height() + raw.below_min_rating;
    if frame.height() == 0 && raw.below_min_rating == 0 {
        return Err(Error::EmptyData { stage: "loading" });
    }
    let frame = match config.min_rating {
        Some(min) => filter_min_rating(frame, min)?,
        None => frame,
    };
    let below_min_rating = rows_loaded - frame.height();
    if frame.height() == 0 {
        return Err(Error::EmptyData {
            stage: "the min_rating filter",
        });
    }
    let before = frame.height();
    let frame = dedup(frame, config.effective_dedup())?;
    let duplicates_merged = before - frame.height();
    tracing::info!(
        rows_loaded,
        skipped_rows,
        below_min_rating,
        duplicates_merged,
        interactions = frame.height(),
        "loaded"
    );
    Ok(LoadedData {
        frame,
        source: config.dataset.describe(),
        path,
        rows_loaded,
        skipped_rows,
        below_min_rating,
        duplicates_merged,
        post_features,
    })
}
