//! The fitted [`ContentEncoder`] and how it is fitted.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::cosine;
use super::features::{FeatureSpace, SparseRow};
use super::params::{ContentValidParams, check_lambda};
use super::ridge::Ridge;
use crate::error::{Error, Result};

/// One post's content: the encoder's input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PostContent<'a> {
    /// Topic labels.
    pub topics: &'a [String],
    /// Free text (may be empty).
    pub text: &'a str,
}

/// Maps a post's topics and text to the item-vector space: `b + x W`, with `x` the feature vector
/// of [the module docs](super), and `W` and the intercept `b` fitted by ridge regression.
#[derive(Clone, Debug, PartialEq)]
pub struct ContentEncoder {
    pub(crate) space: FeatureSpace,
    /// `(topics + buckets) x factors`.
    pub(crate) weights: Array2<f32>,
    /// The intercept (`factors`).
    pub(crate) offset: Array1<f32>,
    pub(crate) lambda: f32,
}

impl ContentEncoder {
    /// The vector of a post with these topics and text, or `None` when none of its features is
    /// known to the encoder (no topic of the vocabulary, no word or word pair hashed into a
    /// bucket that a training post hit): such a post is not guessed at.
    pub fn encode(&self, topics: &[String], text: &str) -> Option<Vec<f32>> {
        let row = self.space.row(topics, text);
        (!row.is_empty()).then(|| self.apply(&row).to_vec())
    }

    /// `offset + x W` for a feature row, accumulated in row order.
    fn apply(&self, row: &SparseRow) -> Array1<f32> {
        let mut out = self.offset.clone();
        for &(j, v) in row {
            out.scaled_add(v, &self.weights.row(j as usize));
        }
        out
    }

    /// Dimension of the vectors it produces (the model's factors).
    pub fn factors(&self) -> usize {
        self.weights.ncols()
    }

    /// Number of text hash buckets.
    pub fn buckets(&self) -> usize {
        self.space.buckets()
    }

    /// Whether pairs of adjacent words are features.
    pub fn bigrams(&self) -> bool {
        self.space.bigrams
    }

    /// The topic vocabulary, sorted.
    pub fn topics(&self) -> &[String] {
        &self.space.topics
    }

    /// The ridge penalty it was fitted with.
    pub fn lambda(&self) -> f32 {
        self.lambda
    }

    /// The weights, `(topics + buckets) x factors`: topic rows first, then bucket rows.
    pub fn weights(&self) -> ArrayView2<'_, f32> {
        self.weights.view()
    }

    /// The intercept `b` of `b + x W` (`factors`; not penalised by the ridge).
    pub fn offset(&self) -> ArrayView1<'_, f32> {
        self.offset.view()
    }

    /// The inverse document frequency of each bucket (0 for buckets no training post hit).
    pub fn idf(&self) -> &[f32] {
        &self.space.idf
    }
}

/// The score of one ridge penalty on the validation posts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LambdaScore {
    /// The penalty.
    pub lambda: f32,
    /// Mean cosine between the encoded and the target vectors of the validation posts that have
    /// a known feature.
    pub validation_cosine: f64,
}

/// What [`ContentValidParams::fit`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct ContentFit {
    /// The encoder, refitted on every post with the chosen penalty.
    pub encoder: ContentEncoder,
    /// The chosen penalty.
    pub lambda: f32,
    /// Every penalty tried, in grid order (empty when the grid has one value).
    pub selection: Vec<LambdaScore>,
    /// Posts held out to choose the penalty (0 when the grid has one value).
    pub validation_posts: usize,
}

impl ContentValidParams {
    /// Fits an encoder from posts to their target vectors (`targets` row `i` is post `i`'s
    /// vector), choosing the penalty on held-out posts.
    ///
    /// A seeded `validation_fraction` of the posts (at least one, at most all but one) is held
    /// out; the feature space (topic vocabulary and IDF) and the weights are fitted on the rest
    /// for every penalty of the grid; the penalty whose encoded vectors have the highest mean
    /// cosine with the targets of the held-out posts wins. The encoder is then refitted on all
    /// posts with it. With a one-value grid, it is fitted on all posts directly.
    ///
    /// # Errors
    ///
    /// As [`fit_lambda`](Self::fit_lambda); [`Error::NotEnoughItems`] with a grid of several
    /// penalties and fewer than 2 posts.
    pub fn fit(
        &self,
        posts: &[PostContent<'_>],
        targets: ArrayView2<'_, f32>,
    ) -> Result<ContentFit> {
        check_targets(posts.len(), targets)?;
        let p = self.params();
        if p.lambdas.len() == 1 {
            let lambda = p.lambdas[0];
            return Ok(ContentFit {
                encoder: self.fit_lambda(posts, targets, lambda)?,
                lambda,
                selection: Vec::new(),
                validation_posts: 0,
            });
        }
        let n = posts.len();
        if n < 2 {
            return Err(Error::NotEnoughItems {
                what: "posts to choose the ridge penalty on",
                need: 2,
                got: n,
            });
        }
        let held = ((n as f64 * p.validation_fraction).round() as usize).clamp(1, n - 1);
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(p.seed));
        let (validation, fit) = order.split_at(held);
        let (mut validation, mut fit) = (validation.to_vec(), fit.to_vec());
        validation.sort_unstable();
        fit.sort_unstable();

        let fit_posts: Vec<PostContent<'_>> = fit.iter().map(|&i| posts[i]).collect();
        let problem = Problem::new(self, &fit_posts, targets.select(Axis(0), &fit).view())?;
        let validation_rows: Vec<(SparseRow, usize)> = validation
            .iter()
            .map(|&i| (problem.space.row(posts[i].topics, posts[i].text), i))
            .filter(|(row, _)| !row.is_empty())
            .collect();
        let mut selection = Vec::with_capacity(p.lambdas.len());
        for &lambda in &p.lambdas {
            let encoder = problem.solve(lambda)?;
            let total: f64 = validation_rows
                .iter()
                .map(|(row, i)| {
                    let got = encoder.apply(row);
                    cosine(
                        got.as_slice().expect("contiguous"),
                        &targets.row(*i).to_vec(),
                    )
                })
                .sum();
            let validation_cosine = if validation_rows.is_empty() {
                0.0
            } else {
                total / validation_rows.len() as f64
            };
            tracing::debug!(lambda, validation_cosine, "content encoder penalty");
            selection.push(LambdaScore {
                lambda,
                validation_cosine,
            });
        }
        let best = selection.iter().enumerate().fold(0, |best, (i, s)| {
            if s.validation_cosine > selection[best].validation_cosine {
                i
            } else {
                best
            }
        });
        let lambda = selection[best].lambda;
        Ok(ContentFit {
            encoder: self.fit_lambda(posts, targets, lambda)?,
            lambda,
            selection,
            validation_posts: held,
        })
    }

    /// Fits an encoder on all `posts` with the penalty `lambda`: the topic vocabulary and the
    /// IDF come from the posts, and the weights and the unpenalised intercept solve
    /// `(XcᵀXc + λI) W = XcᵀYc` in closed form (`Xc`, `Yc`: features and targets minus their
    /// column means; `b = ȳ - Wᵀx̄`).
    ///
    /// # Errors
    ///
    /// [`Error::EmptyMatrix`] for no posts or zero-width targets; [`Error::LengthMismatch`] if
    /// `targets` does not have one row per post; [`Error::NonFiniteValue`] for a NaN or
    /// infinite target; [`Error::InvalidLambda`]; [`Error::NoContentFeatures`] if no post has a
    /// topic or a word.
    pub fn fit_lambda(
        &self,
        posts: &[PostContent<'_>],
        targets: ArrayView2<'_, f32>,
        lambda: f32,
    ) -> Result<ContentEncoder> {
        check_targets(posts.len(), targets)?;
        check_lambda(lambda)?;
        Problem::new(self, posts, targets)?.solve(lambda)
    }
}

/// Checks the targets against the posts.
fn check_targets(posts: usize, targets: ArrayView2<'_, f32>) -> Result<()> {
    if posts == 0 || targets.ncols() == 0 {
        return Err(Error::EmptyMatrix {
            what: "content targets",
            rows: targets.nrows(),
            cols: targets.ncols(),
        });
    }
    if targets.nrows() != posts {
        return Err(Error::LengthMismatch {
            what: "content targets rows",
            expected: posts,
            got: targets.nrows(),
        });
    }
    if let Some(((row, col), &value)) = targets.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFiniteValue {
            what: "content targets",
            row,
            col,
            value,
        });
    }
    Ok(())
}

/// A fit in progress: the feature space and the ridge system of a set of posts.
struct Problem {
    space: FeatureSpace,
    ridge: Ridge,
}

impl Problem {
    fn new(
        params: &ContentValidParams,
        posts: &[PostContent<'_>],
        targets: ArrayView2<'_, f32>,
    ) -> Result<Self> {
        let space = FeatureSpace::learn(
            posts.iter().map(|p| (p.topics, p.text)),
            params.buckets,
            params.bigrams,
        );
        let rows: Vec<SparseRow> = posts.iter().map(|p| space.row(p.topics, p.text)).collect();
        if rows.iter().all(Vec::is_empty) {
            return Err(Error::NoContentFeatures);
        }
        let ridge = Ridge::new(&rows, space.dim(), targets.mapv(f64::from).view());
        Ok(Self { space, ridge })
    }

    fn solve(&self, lambda: f32) -> Result<ContentEncoder> {
        let solution = self.ridge.solve(f64::from(lambda))?;
        Ok(ContentEncoder {
            space: self.space.clone(),
            weights: solution.weights.mapv(|v| v as f32),
            offset: solution.intercept.mapv(|v| v as f32),
            lambda,
        })
    }
}
