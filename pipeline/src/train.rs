//! The training stage: implicit ALS on the train matrix.

use models::als::{AlsModel, AlsParams, IterationStats};
use models::sparse::CsrMatrix;

use crate::error::Result;
use crate::progress;

/// Fits ALS with `params` on `user_items` (users × items, training weights), with a progress bar over
/// the iterations when `show_progress` is set and a debug log line per iteration.
///
/// # Errors
///
/// [`crate::Error::Model`] if the parameters are invalid or the fit fails.
pub fn fit(user_items: &CsrMatrix, params: &AlsParams, show_progress: bool) -> Result<AlsModel> {
    let valid = params.check()?;
    let bar = progress::bar(show_progress, params.iterations as u64, "training");
    let mut on_iter = |stats: &IterationStats| {
        tracing::debug!(
            iteration = stats.iteration,
            loss = stats.loss,
            elapsed_s = stats.elapsed.as_secs_f64(),
            "als iteration"
        );
        bar.set_message(format!("objective {:.6e}", stats.loss));
        bar.inc(1);
    };
    let model = valid.fit_with(user_items, &mut on_iter)?;
    bar.finish_and_clear();
    Ok(model)
}
