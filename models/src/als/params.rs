//! ALS hyper-parameters: [`AlsParams`] → [`AlsParams::check`] → [`AlsValidParams`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Hyper-parameters of implicit-feedback ALS.
///
/// The confidence of an observed interaction with weight `w` is `c = 1 + alpha * w`; unobserved
/// pairs have confidence 1 and preference 0. The objective is
/// `Σ_ui c_ui (p_ui - x_u·y_i)² + regularization · (Σ_u |x_u|² + Σ_i |y_i|²)`.
///
/// Defaults are the `DEFAULT_*` constants (see [`Default`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AlsParams {
    /// Dimension of the user and item vectors. Default [`AlsParams::DEFAULT_FACTORS`].
    pub factors: usize,
    /// L2 penalty `λ` on every user and item vector. Default
    /// [`AlsParams::DEFAULT_REGULARIZATION`].
    pub regularization: f32,
    /// Confidence slope: `c = 1 + alpha * w`. Default [`AlsParams::DEFAULT_ALPHA`].
    pub alpha: f32,
    /// Number of sweeps (one sweep updates all users, then all items). Default
    /// [`AlsParams::DEFAULT_ITERATIONS`].
    pub iterations: usize,
    /// Conjugate-gradient steps per row and sweep, warm-started from the previous vector
    /// (ignored when `exact`). Default [`AlsParams::DEFAULT_CG_STEPS`].
    pub cg_steps: usize,
    /// Seed of the random initial factors. Default [`AlsParams::DEFAULT_SEED`].
    pub seed: u64,
    /// Solve every row exactly (Cholesky, O(f³) per row) instead of by conjugate gradient.
    /// Default [`AlsParams::DEFAULT_EXACT`].
    pub exact: bool,
}

// The defaults of factors, regularization and alpha are the winner of the pipeline's default grid
// (`pipeline::tune`) on the validation split of MovieLens-100K (NDCG@10 0.1751 on validation); test was
// never looked at to choose them. Strong regularization and a small confidence slope are typical of
// implicit ALS on ratings data; social event logs may prefer other values: run `pipeline run --tune`.
impl AlsParams {
    /// Default [`factors`](Self::factors): 256.
    pub const DEFAULT_FACTORS: usize = 256;
    /// Default [`regularization`](Self::regularization): 10.0.
    pub const DEFAULT_REGULARIZATION: f32 = 10.0;
    /// Default [`alpha`](Self::alpha): 1.0.
    pub const DEFAULT_ALPHA: f32 = 1.0;
    /// Default [`iterations`](Self::iterations): 15.
    pub const DEFAULT_ITERATIONS: usize = 15;
    /// Default [`cg_steps`](Self::cg_steps): 3, as in the `implicit` library.
    pub const DEFAULT_CG_STEPS: usize = 3;
    /// Default [`seed`](Self::seed): 42.
    pub const DEFAULT_SEED: u64 = 42;
    /// Default [`exact`](Self::exact): `false` (conjugate gradient).
    pub const DEFAULT_EXACT: bool = false;

    /// Validates the parameters.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroFactors`], [`Error::InvalidRegularization`] (negative or non-finite),
    /// [`Error::InvalidAlpha`] (negative or non-finite), [`Error::ZeroIterations`], and
    /// [`Error::ZeroCgSteps`] when `cg_steps == 0` and `exact` is false.
    pub fn check(&self) -> Result<AlsValidParams> {
        if self.factors == 0 {
            return Err(Error::ZeroFactors);
        }
        if !(self.regularization.is_finite() && self.regularization >= 0.0) {
            return Err(Error::InvalidRegularization {
                got: self.regularization,
            });
        }
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(Error::InvalidAlpha { got: self.alpha });
        }
        if self.iterations == 0 {
            return Err(Error::ZeroIterations);
        }
        if self.cg_steps == 0 && !self.exact {
            return Err(Error::ZeroCgSteps);
        }
        Ok(AlsValidParams(self.clone()))
    }
}

impl Default for AlsParams {
    fn default() -> Self {
        Self {
            factors: Self::DEFAULT_FACTORS,
            regularization: Self::DEFAULT_REGULARIZATION,
            alpha: Self::DEFAULT_ALPHA,
            iterations: Self::DEFAULT_ITERATIONS,
            cg_steps: Self::DEFAULT_CG_STEPS,
            seed: Self::DEFAULT_SEED,
            exact: Self::DEFAULT_EXACT,
        }
    }
}

/// Parameters that passed [`AlsParams::check`]; the only way to fit a model.
#[derive(Clone, Debug, PartialEq)]
pub struct AlsValidParams(AlsParams);

impl AlsValidParams {
    /// The validated parameters.
    pub fn params(&self) -> &AlsParams {
        &self.0
    }
}

impl std::ops::Deref for AlsValidParams {
    type Target = AlsParams;

    fn deref(&self) -> &AlsParams {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let p = AlsParams::default();
        assert_eq!(p.factors, 256);
        assert_eq!(p.regularization, 10.0);
        assert_eq!(p.alpha, 1.0);
        assert_eq!(p.iterations, 15);
        assert_eq!(p.cg_steps, 3);
        assert_eq!(p.seed, 42);
        assert!(!p.exact);
        assert_eq!(p.check().unwrap().params(), &p);
    }

    #[test]
    fn rejects_zero_factors() {
        let p = AlsParams {
            factors: 0,
            ..AlsParams::default()
        };
        assert!(matches!(p.check(), Err(Error::ZeroFactors)));
    }

    #[test]
    fn rejects_negative_or_non_finite_regularization() {
        for bad in [-0.1, f32::NAN, f32::INFINITY] {
            let p = AlsParams {
                regularization: bad,
                ..AlsParams::default()
            };
            assert!(
                matches!(p.check(), Err(Error::InvalidRegularization { .. })),
                "{bad}"
            );
        }
        let zero = AlsParams {
            regularization: 0.0,
            ..AlsParams::default()
        };
        assert!(zero.check().is_ok());
    }

    #[test]
    fn rejects_negative_or_non_finite_alpha() {
        for bad in [-1.0, f32::NAN, f32::NEG_INFINITY] {
            let p = AlsParams {
                alpha: bad,
                ..AlsParams::default()
            };
            assert!(
                matches!(p.check(), Err(Error::InvalidAlpha { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_zero_iterations() {
        let p = AlsParams {
            iterations: 0,
            ..AlsParams::default()
        };
        assert!(matches!(p.check(), Err(Error::ZeroIterations)));
    }

    #[test]
    fn rejects_zero_cg_steps_only_for_cg() {
        let p = AlsParams {
            cg_steps: 0,
            ..AlsParams::default()
        };
        assert!(matches!(p.check(), Err(Error::ZeroCgSteps)));
        let exact = AlsParams {
            cg_steps: 0,
            exact: true,
            ..AlsParams::default()
        };
        assert!(exact.check().is_ok());
    }

    #[test]
    fn serde_roundtrip() {
        let p = AlsParams::default();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<AlsParams>(&json).unwrap(), p);
    }
}
