//! Progress bars on stderr for the stages that take longer than a second.
//!
//! Bars are hidden unless the run asks for them *and* stderr is a terminal, so logs and CI output stay
//! clean. `indicatif` bars are `Sync`, so rayon workers can advance one.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Whether bars are drawn at all.
fn visible(show: bool) -> bool {
    show && std::io::stderr().is_terminal()
}

/// A bar of `len` steps labelled `label`, or a hidden one.
pub(crate) fn bar(show: bool, len: u64, label: &'static str) -> ProgressBar {
    if !visible(show) {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{prefix:>10.bold} [{bar:40.cyan/blue}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    ProgressBar::new(len).with_style(style).with_prefix(label)
}

/// A spinner with the elapsed time labelled `label`, for a stage of unknown length, or a hidden one.
pub(crate) fn spinner(show: bool, label: &'static str) -> ProgressBar {
    if !visible(show) {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template("{prefix:>10.bold} {spinner} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let bar = ProgressBar::new_spinner()
        .with_style(style)
        .with_prefix(label);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_hidden_when_not_requested() {
        assert!(bar(false, 10, "x").is_hidden());
        assert!(spinner(false, "x").is_hidden());
    }
}
