//! The content-encoder stage: fit `models::content` on the trained posts' features, score it on
//! posts hidden from the fit, refit it on every trained post and hand it to the publisher.
//!
//! Post features come with the data: the synthetic network's posts (topics, text, author),
//! MovieLens-100K's `ml-100k.item` (genres as topics, the title as text, no author), or the posts
//! file of a file run ([`RunConfig::posts`](crate::RunConfig::posts)). Without features, or
//! with too few trained posts that have them, the stage is skipped and the report says why.
//!
//! **Protocol.** The candidates are the catalog items that have a feature record and at least one
//! training interaction (an item seen only in test has a zero ALS vector, nothing to learn). A
//! seeded `held_out_fraction` of them is hidden; the encoder is fitted on the rest (choosing its
//! ridge penalty on a validation share of those, never on the held-out posts) and the held-out
//! posts are scored by the cosine between their encoded and their trained vectors, beside the
//! engine's fallbacks computed from the same fitted posts ([`evaluate`]). The published encoder
//! is then refitted on every candidate with the chosen penalty, so the held-out scores describe
//! an encoder fitted on fewer posts than the published one.

pub mod evaluate;
pub mod sources;

use std::collections::HashMap;

use datasets::posts::PostRecord;
use models::content::{ContentEncoder, ContentParams, LambdaScore, PostContent};
use ndarray::{ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::ContentConfig;
use crate::error::Result;
use crate::index_map::IdMap;
pub use evaluate::MethodScore;

/// Fewest trained posts with features the stage fits an encoder on (fewer and the held-out
/// score would be one or two posts' worth of noise).
pub const MIN_POSTS: usize = 20;

/// The post features of a data source.
#[derive(Clone, Debug, PartialEq)]
pub struct PostFeatures {
    /// Where they came from, for the report.
    pub source: String,
    /// One record per post, keyed by item id (a repeated id: the first record counts).
    pub posts: Vec<PostRecord>,
}

/// The content section of the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ContentReport {
    /// No encoder was fitted or published.
    Skipped {
        /// Why.
        reason: String,
    },
    /// An encoder was fitted, scored and published.
    Fitted(Box<ContentFitReport>),
}

/// What the stage did when it fitted an encoder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContentFitReport {
    /// Where the features came from.
    pub source: String,
    /// Feature records read.
    pub posts_read: usize,
    /// Records whose id is a catalog item (repeated ids counted once).
    pub posts_in_catalog: usize,
    /// Catalog items with a record and a trained vector: the candidates.
    pub candidates: usize,
    /// Candidates the encoder was fitted on for the evaluation.
    pub fit_posts: usize,
    /// Candidates hidden from that fit and scored.
    pub held_out_posts: usize,
    /// The encoder's hyper-parameters.
    pub params: ContentParams,
    /// The penalty chosen on the validation share of the fitted posts.
    pub lambda: f32,
    /// Every penalty tried and its validation mean cosine.
    pub selection: Vec<LambdaScore>,
    /// Fitted posts held out to choose the penalty.
    pub validation_posts: usize,
    /// Scores on the held-out posts, encoder and baselines.
    pub held_out: Vec<MethodScore>,
    /// Posts the published encoder was refitted on (all candidates).
    pub published_posts: usize,
    /// Topics in the published encoder's vocabulary.
    pub topics: usize,
}

impl ContentFitReport {
    /// The held-out score of `method` (one of the [`evaluate`] constants).
    pub fn score(&self, method: &str) -> Option<&MethodScore> {
        self.held_out.iter().find(|s| s.method == method)
    }
}

/// What the stage produced.
#[derive(Debug)]
pub struct ContentOutcome {
    /// The encoder to publish, if one was fitted.
    pub encoder: Option<ContentEncoder>,
    /// The report section.
    pub report: ContentReport,
}

impl ContentOutcome {
    fn skipped(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        tracing::info!(%reason, "content encoder skipped");
        Self {
            encoder: None,
            report: ContentReport::Skipped { reason },
        }
    }
}

/// Runs the stage on the `features` of the data source (`None` for a file run without a posts
/// file, the only source without features), the catalog `items`, the trained `item_factors` and
/// the training `popularity` of each item.
///
/// # Errors
///
/// [`crate::Error::Model`] if a fit fails for another reason than posts without any feature
/// (which skips the stage).
pub fn fit_and_evaluate(
    features: Option<&PostFeatures>,
    items: &IdMap,
    item_factors: ArrayView2<'_, f32>,
    popularity: &[u32],
    config: &ContentConfig,
) -> Result<ContentOutcome> {
    if !config.enabled {
        return Ok(ContentOutcome::skipped("disabled in the configuration"));
    }
    let Some(features) = features else {
        return Ok(ContentOutcome::skipped(
            "no post features: a file source needs a posts file (RunConfig::posts)",
        ));
    };
    // The first record of each catalog item, in item order.
    let mut record_of: HashMap<u32, &PostRecord> = HashMap::new();
    for post in &features.posts {
        if let Some(i) = items.index(&post.id) {
            record_of.entry(i).or_insert(post);
        }
    }
    let posts_in_catalog = record_of.len();
    let mut candidates: Vec<(usize, &PostRecord)> = record_of
        .into_iter()
        .filter(|&(i, _)| popularity[i as usize] > 0)
        .map(|(i, p)| (i as usize, p))
        .collect();
    candidates.sort_unstable_by_key(|&(i, _)| i);
    if candidates.len() < MIN_POSTS {
        return Ok(ContentOutcome::skipped(format!(
            "{} of {} feature records ({}) are trained catalog items; at least {MIN_POSTS} are needed",
            candidates.len(),
            features.posts.len(),
            features.source
        )));
    }

    let n = candidates.len();
    let held = ((n as f64 * config.held_out_fraction).round() as usize).clamp(1, n - 2);
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(config.params.seed);
    // Its own stream, so the held-out draw and the encoder's validation draw are unrelated.
    rng.set_stream(1);
    order.shuffle(&mut rng);
    let (mut held_idx, mut fit_idx) = (order[..held].to_vec(), order[held..].to_vec());
    held_idx.sort_unstable();
    fit_idx.sort_unstable();
    let held_out: Vec<(usize, &PostRecord)> = held_idx.iter().map(|&k| candidates[k]).collect();
    let fitted: Vec<(usize, &PostRecord)> = fit_idx.iter().map(|&k| candidates[k]).collect();

    let params = config.params.check()?;
    let targets = |posts: &[(usize, &PostRecord)]| {
        let rows: Vec<usize> = posts.iter().map(|&(i, _)| i).collect();
        item_factors.select(Axis(0), &rows)
    };
    let fit = match params.fit(&contents(&fitted), targets(&fitted).view()) {
        Ok(fit) => fit,
        Err(models::error::Error::NoContentFeatures) => {
            return Ok(ContentOutcome::skipped(format!(
                "no post of {} has a topic or a word",
                features.source
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let baselines = evaluate::Baselines::new(&fitted, item_factors);
    let scores = evaluate::score_held_out(&fit.encoder, &baselines, &held_out, item_factors);
    let encoder = params.fit_lambda(
        &contents(&candidates),
        targets(&candidates).view(),
        fit.lambda,
    )?;
    let report = ContentFitReport {
        source: features.source.clone(),
        posts_read: features.posts.len(),
        posts_in_catalog,
        candidates: n,
        fit_posts: fitted.len(),
        held_out_posts: held_out.len(),
        params: config.params.clone(),
        lambda: fit.lambda,
        selection: fit.selection,
        validation_posts: fit.validation_posts,
        held_out: scores,
        published_posts: n,
        topics: encoder.topics().len(),
    };
    if let Some(s) = report.score(evaluate::ENCODER) {
        tracing::info!(
            lambda = report.lambda,
            held_out = report.held_out_posts,
            covered = s.covered,
            mean_cosine = s.mean_cosine,
            "content encoder fitted"
        );
    }
    Ok(ContentOutcome {
        encoder: Some(encoder),
        report: ContentReport::Fitted(Box::new(report)),
    })
}

/// The encoder's inputs for `(item, record)` pairs.
fn contents<'a>(posts: &[(usize, &'a PostRecord)]) -> Vec<PostContent<'a>> {
    posts
        .iter()
        .map(|&(_, p)| PostContent {
            topics: &p.topics,
            text: &p.text,
        })
        .collect()
}
