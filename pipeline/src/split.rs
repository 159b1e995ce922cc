//! The split stage: the protocol's temporal split and the move to dense indices.
//!
//! `datasets::split::temporal_split` applies rule 2 of `docs/EVALUATION.md` (per user, the last
//! floor(n/5) interactions by (timestamp, item id) go to test; users with fewer than 5 stay in train).
//! The id maps cover every user and item of the data, so the catalog includes items seen only in test.
//! The validation split for tuning applies the same rule to the train part.

use datasets::frame::{ITEM, USER};
use datasets::split::temporal_split;
use models::sparse::CsrMatrix;
use polars::prelude::DataFrame;

use crate::config::Weighting;
use crate::error::{Error, Result};
use crate::evaluate::EvalSplit;
use crate::index_map::IdMap;
use crate::interactions::{Interactions, string_column};
use crate::tune::ValidationData;

/// The split data on dense indices.
#[derive(Debug)]
pub struct PreparedData {
    /// Every user of the data.
    pub users: IdMap,
    /// Every item of the data: the catalog.
    pub items: IdMap,
    /// The train part, canonical order.
    pub train: Interactions,
    /// The test part, canonical order.
    pub test: Interactions,
    /// The train part as a frame, for the validation split.
    pub train_frame: DataFrame,
}

/// Splits the de-duplicated canonical `frame` and maps it to dense indices.
///
/// # Errors
///
/// [`Error::Dataset`] if the split fails, [`Error::Column`] if the frame is not canonical.
pub fn prepare(frame: &DataFrame) -> Result<PreparedData> {
    let users = IdMap::from_ids(string_column(frame, USER)?.iter().map(String::as_str));
    let items = IdMap::from_ids(string_column(frame, ITEM)?.iter().map(String::as_str));
    let split = temporal_split(frame)?;
    let train = Interactions::from_frame(&split.train, &users, &items)?;
    let test = Interactions::from_frame(&split.test, &users, &items)?;
    tracing::info!(
        users = users.len(),
        items = items.len(),
        train = train.len(),
        test = test.len(),
        "split"
    );
    Ok(PreparedData {
        users,
        items,
        train,
        test,
        train_frame: split.train,
    })
}

impl PreparedData {
    /// The per-user sets of the test split.
    pub fn eval_split(&self) -> EvalSplit {
        EvalSplit::new(&self.train, &self.test, self.users.len(), self.items.len())
    }

    /// The train part as the users × items training matrix.
    ///
    /// # Errors
    ///
    /// [`Error::Model`] if the matrix cannot be built.
    pub fn train_matrix(&self, weighting: Weighting) -> Result<CsrMatrix> {
        self.train
            .to_csr(self.users.len(), self.items.len(), weighting)
    }

    /// The validation split: the protocol's rule applied to the train part.
    ///
    /// # Errors
    ///
    /// [`Error::NothingToEvaluate`] if it holds no validation interaction, [`Error::Dataset`] if the
    /// split fails.
    pub fn validation(&self, weighting: Weighting) -> Result<ValidationData> {
        let split = temporal_split(&self.train_frame)?;
        let fit = Interactions::from_frame(&split.train, &self.users, &self.items)?;
        let validation = Interactions::from_frame(&split.test, &self.users, &self.items)?;
        if validation.is_empty() {
            return Err(Error::NothingToEvaluate {
                split: "validation",
            });
        }
        Ok(ValidationData {
            split: EvalSplit::new(&fit, &validation, self.users.len(), self.items.len()),
            fit_matrix: fit.to_csr(self.users.len(), self.items.len(), weighting)?,
            fit_interactions: fit.len(),
            validation_interactions: validation.len(),
        })
    }

    /// Items that appear only in the test part.
    pub fn test_only_items(&self) -> usize {
        let mut in_train = vec![false; self.items.len()];
        for &i in &self.train.item {
            in_train[i as usize] = true;
        }
        let mut counted = vec![false; self.items.len()];
        self.test
            .item
            .iter()
            .filter(|&&i| {
                !in_train[i as usize] && !std::mem::replace(&mut counted[i as usize], true)
            })
            .count()
    }
}
