//! Content-encoder hyper-parameters: [`ContentParams`] → [`ContentParams::check`] →
//! [`ContentValidParams`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Hyper-parameters of the content encoder.
///
/// Defaults are the `DEFAULT_*` constants (see [`Default`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ContentParams {
    /// Number of hash buckets of the text features. Default [`ContentParams::DEFAULT_BUCKETS`].
    pub buckets: usize,
    /// Hash pairs of adjacent words as well as single words. Default
    /// [`ContentParams::DEFAULT_BIGRAMS`].
    pub bigrams: bool,
    /// The ridge penalties tried, in order; the one with the best mean cosine on the validation
    /// posts wins (ties go to the earlier one). With a single value, nothing is held out. Default
    /// [`ContentParams::DEFAULT_LAMBDAS`].
    pub lambdas: Vec<f32>,
    /// Share of the posts held out to choose the penalty. Default
    /// [`ContentParams::DEFAULT_VALIDATION_FRACTION`].
    pub validation_fraction: f64,
    /// Seed of the validation draw. Default [`ContentParams::DEFAULT_SEED`].
    pub seed: u64,
}

impl ContentParams {
    /// Default [`buckets`](Self::buckets): 2^12 = 4,096.
    pub const DEFAULT_BUCKETS: usize = 1 << 12;
    /// The largest [`buckets`](Self::buckets) accepted: 2^20 (the weight matrix is
    /// `buckets x factors` `f32`s, and the fit may solve a `buckets x buckets` system).
    pub const MAX_BUCKETS: usize = 1 << 20;
    /// Default [`bigrams`](Self::bigrams): `true`.
    pub const DEFAULT_BIGRAMS: bool = true;
    /// Default [`lambdas`](Self::lambdas): 1 to 1,000 in half decades. The validation choice
    /// was 10 on MovieLens-100K (genres and titles) and 100 on the default synthetic network,
    /// and the penalties below 1 never came close on either.
    pub const DEFAULT_LAMBDAS: [f32; 7] = [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0];
    /// Default [`validation_fraction`](Self::validation_fraction): 0.2.
    pub const DEFAULT_VALIDATION_FRACTION: f64 = 0.2;
    /// Default [`seed`](Self::seed): 42.
    pub const DEFAULT_SEED: u64 = 42;

    /// Validates the parameters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBuckets`] (0 or above [`MAX_BUCKETS`](Self::MAX_BUCKETS)),
    /// [`Error::EmptyLambdaGrid`], [`Error::InvalidLambda`] (not finite and `> 0`),
    /// [`Error::InvalidValidationFraction`] (not strictly between 0 and 1).
    pub fn check(&self) -> Result<ContentValidParams> {
        if self.buckets == 0 || self.buckets > Self::MAX_BUCKETS {
            return Err(Error::InvalidBuckets { got: self.buckets });
        }
        if self.lambdas.is_empty() {
            return Err(Error::EmptyLambdaGrid);
        }
        for &l in &self.lambdas {
            check_lambda(l)?;
        }
        let f = self.validation_fraction;
        if !(f.is_finite() && f > 0.0 && f < 1.0) {
            return Err(Error::InvalidValidationFraction { got: f });
        }
        Ok(ContentValidParams(self.clone()))
    }
}

/// Checks one ridge penalty: finite and `> 0` (so every system is positive definite).
pub(crate) fn check_lambda(lambda: f32) -> Result<()> {
    if lambda.is_finite() && lambda > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidLambda { got: lambda })
    }
}

impl Default for ContentParams {
    fn default() -> Self {
        Self {
            buckets: Self::DEFAULT_BUCKETS,
            bigrams: Self::DEFAULT_BIGRAMS,
            lambdas: Self::DEFAULT_LAMBDAS.to_vec(),
            validation_fraction: Self::DEFAULT_VALIDATION_FRACTION,
            seed: Self::DEFAULT_SEED,
        }
    }
}

/// Parameters that passed [`ContentParams::check`]; the only way to fit an encoder.
#[derive(Clone, Debug, PartialEq)]
pub struct ContentValidParams(ContentParams);

impl ContentValidParams {
    /// The validated parameters.
    pub fn params(&self) -> &ContentParams {
        &self.0
    }
}

impl std::ops::Deref for ContentValidParams {
    type Target = ContentParams;

    fn deref(&self) -> &ContentParams {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let p = ContentParams::default();
        assert_eq!(p.buckets, 4096);
        assert_eq!(p.check().unwrap().params(), &p);
    }

    #[test]
    fn rejects_bad_buckets() {
        for got in [0, ContentParams::MAX_BUCKETS + 1] {
            let p = ContentParams {
                buckets: got,
                ..ContentParams::default()
            };
            assert!(matches!(p.check(), Err(Error::InvalidBuckets { got: g }) if g == got));
        }
    }

    #[test]
    fn rejects_an_empty_grid() {
        let p = ContentParams {
            lambdas: vec![],
            ..ContentParams::default()
        };
        assert!(matches!(p.check(), Err(Error::EmptyLambdaGrid)));
    }

    #[test]
    fn rejects_bad_lambdas() {
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            let p = ContentParams {
                lambdas: vec![1.0, bad],
                ..ContentParams::default()
            };
            assert!(
                matches!(p.check(), Err(Error::InvalidLambda { got }) if got.to_bits() == bad.to_bits()),
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_bad_validation_fractions() {
        for bad in [0.0, 1.0, -0.1, f64::NAN] {
            let p = ContentParams {
                validation_fraction: bad,
                ..ContentParams::default()
            };
            assert!(
                matches!(p.check(), Err(Error::InvalidValidationFraction { .. })),
                "{bad}"
            );
        }
    }
}
