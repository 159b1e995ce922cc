//! SVG plots of the run report, drawn with plotters' SVG backend into strings.
//!
//! Text is laid out with plotters' naive font metrics (no font files are read), so the output depends on
//! nothing but the numbers.

use plotters::prelude::*;

use crate::error::{Error, Result};

/// Width and height of every plot, in pixels.
const SIZE: (u32, u32) = (800, 480);
/// The model's colour (a blue).
const MODEL_COLOUR: RGBColor = RGBColor(31, 119, 180);
/// The baseline's colour (an orange).
const BASELINE_COLOUR: RGBColor = RGBColor(255, 127, 14);

/// Turns any plotters error into [`Error::Plot`].
fn plot_err(plot: &'static str) -> impl Fn(String) -> Error {
    move |message| Error::Plot { plot, message }
}

/// The range `[lo, hi]` of finite values, padded by 5 %, and never empty.
fn padded_range(values: impl Iterator<Item = f64>, floor_zero: bool) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    if floor_zero {
        lo = lo.min(0.0);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        hi.abs().max(1.0) * 0.05
    };
    hi += pad;
    if !floor_zero || lo < 0.0 {
        lo -= pad;
    }
    lo..hi
}

/// The training loss (the `implicit` library's definition, as `models::als` reports it) per ALS iteration (`losses[i]` after iteration `i + 1`), as an SVG document.
///
/// # Errors
///
/// [`Error::Plot`] if plotters fails to draw.
pub fn objective_svg(losses: &[f64]) -> Result<String> {
    const NAME: &str = "objective";
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        let x_max = losses.len().max(2) as f64;
        let y_range = padded_range(losses.iter().copied(), false);
        let mut chart = ChartBuilder::on(&root)
            .caption("ALS training loss per iteration", ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(1.0..x_max, y_range)
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("iteration")
            .y_desc("loss: (weighted squared error + regularisation) / total confidence")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.3e}"))
            .draw()
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        let points: Vec<(f64, f64)> = losses
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| ((i + 1) as f64, v))
            .collect();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                MODEL_COLOUR.stroke_width(2),
            ))
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&p| Circle::new(p, 3, MODEL_COLOUR.filled())),
            )
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        root.present().map_err(|e| plot_err(NAME)(e.to_string()))?;
    }
    Ok(svg)
}

/// Recall@K for K = 1..=n of the model and of MostPopular (`curve[K - 1]`), as an SVG document.
///
/// # Errors
///
/// [`Error::Plot`] if plotters fails to draw.
pub fn recall_curve_svg(model: &[f64], popular: &[f64]) -> Result<String> {
    const NAME: &str = "recall_curve";
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        let x_max = model.len().max(popular.len()).max(2) as f64;
        let y_range = padded_range(model.iter().chain(popular).copied(), true);
        let mut chart = ChartBuilder::on(&root)
            .caption("Recall@K on the test split", ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(1.0..x_max, y_range)
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("K")
            .y_desc("Recall@K")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.2}"))
            .draw()
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        for (name, curve, colour) in [
            ("ALS", model, MODEL_COLOUR),
            ("MostPopular", popular, BASELINE_COLOUR),
        ] {
            let points = curve.iter().enumerate().map(|(i, &v)| ((i + 1) as f64, v));
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(|e| plot_err(NAME)(e.to_string()))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        root.present().map_err(|e| plot_err(NAME)(e.to_string()))?;
    }
    Ok(svg)
}

/// ANN recall@k against brute force as a function of the search width `ef`, as an SVG document.
///
/// # Errors
///
/// [`Error::Plot`] if plotters fails to draw.
pub fn ann_recall_svg(points: &[(usize, f64)], k: usize) -> Result<String> {
    const NAME: &str = "ann_recall";
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        let x_max = points.iter().map(|p| p.0).max().unwrap_or(1).max(2) as f64;
        let x_min = points
            .iter()
            .map(|p| p.0)
            .min()
            .unwrap_or(1)
            .min(x_max as usize - 1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("HNSW recall@{k} against brute force"),
                ("sans-serif", 22),
            )
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((x_min..x_max).log_scale(), 0.0..1.05)
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("ef (search width, log scale)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_desc(format!("recall@{k}"))
            .y_label_formatter(&|v| format!("{v:.2}"))
            .draw()
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        let pts: Vec<(f64, f64)> = points.iter().map(|&(ef, r)| (ef as f64, r)).collect();
        chart
            .draw_series(LineSeries::new(
                pts.iter().copied(),
                MODEL_COLOUR.stroke_width(2),
            ))
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        chart
            .draw_series(
                pts.iter()
                    .map(|&p| Circle::new(p, 3, MODEL_COLOUR.filled())),
            )
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        root.present().map_err(|e| plot_err(NAME)(e.to_string()))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polyline_count(svg: &str) -> usize {
        svg.matches("<polyline").count()
    }

    #[test]
    fn objective_plot_is_an_svg_with_one_line_and_a_marker_per_iteration() {
        let svg = objective_svg(&[10.0, 5.0, 4.0, 3.9]).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("ALS training loss per iteration"));
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(polyline_count(&svg) >= 1);
    }

    #[test]
    fn recall_plot_has_both_series_and_a_legend() {
        let model: Vec<f64> = (1..=50).map(|k| k as f64 / 100.0).collect();
        let popular: Vec<f64> = (1..=50).map(|k| k as f64 / 200.0).collect();
        let svg = recall_curve_svg(&model, &popular).unwrap();
        assert!(svg.contains(">ALS<") || svg.contains("ALS"));
        assert!(svg.contains("MostPopular"));
        assert!(polyline_count(&svg) >= 2);
    }

    #[test]
    fn plots_are_deterministic_and_survive_degenerate_input() {
        assert_eq!(
            objective_svg(&[1.0, 0.5]).unwrap(),
            objective_svg(&[1.0, 0.5]).unwrap()
        );
        // Empty, constant and non-finite inputs still give a valid document.
        assert!(objective_svg(&[]).unwrap().contains("</svg>"));
        assert!(objective_svg(&[2.0, 2.0]).unwrap().contains("</svg>"));
        assert!(objective_svg(&[f64::NAN, 1.0]).unwrap().contains("</svg>"));
        assert!(recall_curve_svg(&[], &[]).unwrap().contains("</svg>"));
        assert!(ann_recall_svg(&[], 10).unwrap().contains("</svg>"));
        assert!(
            ann_recall_svg(&[(16, 0.9), (64, 0.99)], 10)
                .unwrap()
                .contains("recall@10")
        );
    }

    #[test]
    fn padded_range_is_never_empty() {
        let r = padded_range([3.0, 3.0].into_iter(), false);
        assert!(r.start < 3.0 && r.end > 3.0);
        let r = padded_range(std::iter::empty(), true);
        assert_eq!(r, 0.0..1.0);
        let r = padded_range([0.2, 0.4].into_iter(), true);
        assert_eq!(r.start, 0.0);
        assert!(r.end > 0.4);
    }
}
