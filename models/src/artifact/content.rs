//! The optional content encoder's files.
//!
//! - `content_encoder.json`: the feature rules (format version, hash, tokenizer, buckets,
//!   bigrams), the penalty, the factors and the topic vocabulary in feature order.
//! - `content_weights.npy`: `f32 (topics + buckets) x factors`, topic rows first.
//! - `content_idf.npy`: `f32 buckets`.
//! - `content_offset.npy`: `f32 factors`, the intercept.
//!
//! The rules are written out, not only versioned, so that a loader built with other feature rules
//! refuses the files instead of encoding posts differently from how the encoder was fitted.

use std::path::Path;

use ndarray::Array1;
use serde::{Deserialize, Serialize};

use super::manifest::{
    CONTENT_IDF_FILE, CONTENT_META_FILE, CONTENT_OFFSET_FILE, CONTENT_WEIGHTS_FILE,
};
use super::npy;
use crate::content::{ContentEncoder, ContentParams, FeatureSpace};
use crate::error::{Error, Result};

/// Version of the content encoder's file layout and feature rules.
const FORMAT_VERSION: u32 = 1;
/// The text hash (see `content/features.rs`).
const HASH: &str = "fnv1a-64";
/// The tokenizer (see `content/features.rs`).
const TOKENIZER: &str = "lowercase alphanumeric words";
/// The weighting (see `content/features.rs`).
const WEIGHTING: &str =
    "topics multi-hot; text (1 + ln tf) * smoothed idf; each block unit L2 norm";

/// `content_encoder.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    format_version: u32,
    hash: String,
    tokenizer: String,
    weighting: String,
    buckets: usize,
    bigrams: bool,
    lambda: f32,
    factors: usize,
    topics: Vec<String>,
}

/// The files of `encoder`, as (name, bytes).
pub(crate) fn encode(encoder: &ContentEncoder) -> Vec<(&'static str, Vec<u8>)> {
    let meta = Meta {
        format_version: FORMAT_VERSION,
        hash: HASH.to_owned(),
        tokenizer: TOKENIZER.to_owned(),
        weighting: WEIGHTING.to_owned(),
        buckets: encoder.buckets(),
        bigrams: encoder.bigrams(),
        lambda: encoder.lambda(),
        factors: encoder.factors(),
        topics: encoder.topics().to_vec(),
    };
    let mut json = serde_json::to_vec_pretty(&meta).expect("the metadata always serialises");
    json.push(b'\n');
    vec![
        (CONTENT_META_FILE, json),
        (
            CONTENT_WEIGHTS_FILE,
            npy::encode_f32_matrix(encoder.weights()),
        ),
        (CONTENT_IDF_FILE, npy::encode_f32_vector(encoder.idf())),
        (
            CONTENT_OFFSET_FILE,
            npy::encode_f32_vector(encoder.offset().as_slice().expect("contiguous")),
        ),
    ]
}

/// Reads the encoder from its verified file bytes (`file(name)`) in `dir` and checks it against
/// the model's `factors`.
///
/// # Errors
///
/// [`Error::MalformedContentEncoder`] for a description that does not parse, other feature rules,
/// an unsorted vocabulary or a non-finite value; [`Error::Npy`]; [`Error::DimensionMismatch`]
/// when a shape disagrees with the description or the factors differ from the model's.
pub(crate) fn decode<'a>(
    file: impl Fn(&str) -> &'a [u8],
    dir: &Path,
    factors: usize,
) -> Result<ContentEncoder> {
    let meta_path = dir.join(CONTENT_META_FILE);
    let bad = |path: &Path, reason: String| Error::MalformedContentEncoder {
        path: path.to_path_buf(),
        reason,
    };
    let meta: Meta = serde_json::from_slice(file(CONTENT_META_FILE))
        .map_err(|e| bad(&meta_path, e.to_string()))?;
    if meta.format_version != FORMAT_VERSION {
        return Err(bad(
            &meta_path,
            format!(
                "format version {}, this build reads {FORMAT_VERSION}",
                meta.format_version
            ),
        ));
    }
    for (what, got, want) in [
        ("hash", &meta.hash, HASH),
        ("tokenizer", &meta.tokenizer, TOKENIZER),
        ("weighting", &meta.weighting, WEIGHTING),
    ] {
        if got != want {
            return Err(bad(
                &meta_path,
                format!("{what} {got:?}, this build uses {want:?}"),
            ));
        }
    }
    if meta.buckets == 0 || meta.buckets > ContentParams::MAX_BUCKETS {
        return Err(bad(&meta_path, format!("{} buckets", meta.buckets)));
    }
    if !(meta.lambda.is_finite() && meta.lambda > 0.0) {
        return Err(bad(&meta_path, format!("penalty {}", meta.lambda)));
    }
    if !meta.topics.windows(2).all(|w| w[0] < w[1]) {
        return Err(bad(
            &meta_path,
            "topics are not sorted and distinct".to_owned(),
        ));
    }
    if meta.factors != factors {
        return Err(Error::DimensionMismatch {
            what: "content encoder factors",
            expected: factors,
            got: meta.factors,
        });
    }

    let path = |name: &str| dir.join(name);
    let weights = npy::decode_f32_matrix(file(CONTENT_WEIGHTS_FILE), &path(CONTENT_WEIGHTS_FILE))?;
    let idf = npy::decode_f32_vector(file(CONTENT_IDF_FILE), &path(CONTENT_IDF_FILE))?;
    let offset: Array1<f32> =
        npy::decode_f32_vector(file(CONTENT_OFFSET_FILE), &path(CONTENT_OFFSET_FILE))?;
    for (what, expected, got) in [
        ("content_weights columns", factors, weights.ncols()),
        (
            "content_weights rows",
            meta.topics.len() + meta.buckets,
            weights.nrows(),
        ),
        ("content_idf", meta.buckets, idf.len()),
        ("content_offset", factors, offset.len()),
    ] {
        if expected != got {
            return Err(Error::DimensionMismatch {
                what,
                expected,
                got,
            });
        }
    }
    if !weights.iter().chain(&offset).all(|v| v.is_finite()) {
        return Err(bad(
            &path(CONTENT_WEIGHTS_FILE),
            "a weight or the intercept is not finite".to_owned(),
        ));
    }
    if !idf.iter().all(|v| v.is_finite() && *v >= 0.0) {
        return Err(bad(
            &path(CONTENT_IDF_FILE),
            "an idf is negative or not finite".to_owned(),
        ));
    }
    Ok(ContentEncoder {
        space: FeatureSpace::new(meta.topics, idf.to_vec(), meta.bigrams),
        weights,
        offset,
        lambda: meta.lambda,
    })
}
