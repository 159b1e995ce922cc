//! SVG plots of the run report, drawn with plotters' SVG backend into strings.
//!
//! Text is laid out with plotters' naive font metrics (no font files are read), so the output depends on
//! nothing but the numbers.

use plotters::coord::combinators::LogCoord;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::error::{Error, Result};

/// Width and height of every plot, in pixels.
const SIZE: (u32, u32) = (800, 480);
/// The model's colour (a blue).
const MODEL_COLOUR: RGBColor = RGBColor(31, 119, 180);
/// The colours of the other series, in order (an orange, a green, a red, a purple, a brown).
const SERIES_COLOURS: [RGBColor; 5] = [
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];
/// At most this many tick labels on a zoomed axis.
const MAX_TICKS: usize = 8;

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

/// An axis labelled at given values (plotters' `with_key_points` loses the f64 label formatter).
struct Ticked<R> {
    inner: R,
    ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Only the bold mesh lines carry labels; no light lines.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// Tick values for `range` at a round step (1, 2 or 5 × 10^e, the smallest giving at most
/// `max_ticks` ticks) and the number of decimals that prints each of them differently.
pub fn nice_ticks(range: &std::ops::Range<f64>, max_ticks: usize) -> (Vec<f64>, usize) {
    let span = range.end - range.start;
    if !(span.is_finite() && span > 0.0) || max_ticks == 0 {
        return (vec![range.start], 2);
    }
    let raw = span / max_ticks as f64;
    let mut e = raw.log10().floor() as i32;
    let step = loop {
        let unit = 10f64.powi(e);
        if let Some(m) = [1.0, 2.0, 5.0].into_iter().find(|m| m * unit >= raw) {
            break (m * unit, e);
        }
        e += 1;
    };
    let (step, exp) = step;
    let decimals = usize::try_from(-exp).unwrap_or(0);
    let first = (range.start / step).ceil() as i64;
    let last = (range.end / step).floor() as i64;
    // Multiples of the step, rounded to the printed precision so that 0.1 + 0.2 prints as 0.3.
    let scale = 10f64.powi(decimals as i32);
    let ticks = (first..=last)
        .map(|t| ((t as f64 * step) * scale).round() / scale)
        .collect();
    (ticks, decimals)
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
        let (y_ticks, decimals) = nice_ticks(&y_range, MAX_TICKS);
        let mut chart = ChartBuilder::on(&root)
            .caption("ALS training loss per iteration", ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(
                RangedCoordf64::from(1.0..x_max),
                Ticked {
                    inner: RangedCoordf64::from(y_range),
                    ticks: y_ticks,
                },
            )
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("iteration")
            .y_desc("loss: (weighted squared error + regularisation) / total confidence")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.decimals$}"))
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

/// Recall@K for K = 1..=n of every model (`(name, curve)` with `curve[K - 1]`; the first is drawn in
/// the model's colour), as an SVG document.
///
/// # Errors
///
/// [`Error::Plot`] if plotters fails to draw.
pub fn recall_curve_svg(series: &[(&str, &[f64])]) -> Result<String> {
    const NAME: &str = "recall_curve";
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        let x_max = series.iter().map(|s| s.1.len()).max().unwrap_or(0).max(2) as f64;
        let y_range = padded_range(series.iter().flat_map(|s| s.1.iter().copied()), true);
        let (y_ticks, decimals) = nice_ticks(&y_range, MAX_TICKS);
        let mut chart = ChartBuilder::on(&root)
            .caption("Recall@K on the test split", ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(
                RangedCoordf64::from(1.0..x_max),
                Ticked {
                    inner: RangedCoordf64::from(y_range),
                    ticks: y_ticks,
                },
            )
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("K")
            .y_desc("Recall@K")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.decimals$}"))
            .draw()
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        for (i, (name, curve)) in series.iter().enumerate() {
            let colour = if i == 0 {
                MODEL_COLOUR
            } else {
                SERIES_COLOURS[(i - 1) % SERIES_COLOURS.len()]
            };
            let points = curve.iter().enumerate().map(|(i, &v)| ((i + 1) as f64, v));
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(|e| plot_err(NAME)(e.to_string()))?
                .label(*name)
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
/// The y axis spans the measured recalls with 5 % padding (recall is usually within a few
/// hundredths of 1, which a 0..1 axis flattens into a line), at round ticks whose labels carry as
/// many decimals as the step needs; the x axis (log scale) is labelled at the measured `ef` values.
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
        let y_range = padded_range(points.iter().map(|p| p.1), false);
        let (y_ticks, decimals) = nice_ticks(&y_range, MAX_TICKS);
        let mut x_ticks: Vec<f64> = points.iter().map(|p| p.0 as f64).collect();
        x_ticks.sort_by(f64::total_cmp);
        x_ticks.dedup();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("HNSW recall@{k} against brute force"),
                ("sans-serif", 22),
            )
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(
                Ticked {
                    inner: LogCoord::from((x_min..x_max).log_scale()),
                    ticks: x_ticks,
                },
                Ticked {
                    inner: RangedCoordf64::from(y_range),
                    ticks: y_ticks,
                },
            )
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("ef (search width, log scale)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_desc(format!("recall@{k}"))
            .y_label_formatter(&|v| format!("{v:.decimals$}"))
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

/// Reads one metric of a run.
type Metric = fn(&super::history::HistoryPoint) -> f64;

/// The runs of a models directory over time (see [`super::history`]), as an SVG document: the
/// model's NDCG@K and Recall@K and MostPopular's NDCG@K per run, oldest left, each run labelled by
/// its start date; a run the promotion gate rejected is marked with a red cross on its NDCG.
///
/// # Errors
///
/// [`Error::Plot`] if plotters fails to draw.
pub fn history_svg(points: &[super::history::HistoryPoint]) -> Result<String> {
    const NAME: &str = "history";
    const REJECTED: RGBColor = RGBColor(214, 39, 40);
    let k = points.last().map_or(10, |p| p.k);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        let x_range = 0.5..(points.len().max(1) as f64 + 0.5);
        // Whole run numbers only, at most MAX_TICKS of them.
        let (mut x_ticks, _) = nice_ticks(&(1.0..points.len().max(1) as f64), MAX_TICKS);
        x_ticks.retain(|t| t.fract() == 0.0 && *t >= 1.0);
        let y_range = padded_range(
            points
                .iter()
                .flat_map(|p| [p.ndcg, p.recall, p.most_popular_ndcg]),
            true,
        );
        let (y_ticks, decimals) = nice_ticks(&y_range, MAX_TICKS);
        // `2026-12-03T03:00:00Z` is labelled `2026-12-03`.
        let dates: Vec<String> = points
            .iter()
            .map(|p| {
                p.created_at
                    .split('T')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Test metrics per run (K = {k})"),
                ("sans-serif", 22),
            )
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(
                Ticked {
                    inner: RangedCoordf64::from(x_range),
                    ticks: x_ticks,
                },
                Ticked {
                    inner: RangedCoordf64::from(y_range),
                    ticks: y_ticks,
                },
            )
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("run (start date)")
            .y_desc(format!("metric@{k} on the run's test split"))
            .x_label_formatter(&|v| {
                let run = v.round() as usize;
                dates
                    .get(run.wrapping_sub(1))
                    .map_or_else(String::new, |d| format!("#{run} {d}"))
            })
            .y_label_formatter(&|v| format!("{v:.decimals$}"))
            .draw()
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        let series: [(&str, RGBColor, Metric); 3] = [
            ("ALS NDCG", MODEL_COLOUR, |p| p.ndcg),
            ("ALS Recall", SERIES_COLOURS[0], |p| p.recall),
            ("MostPopular NDCG", SERIES_COLOURS[1], |p| {
                p.most_popular_ndcg
            }),
        ];
        for (name, colour, value) in series {
            let line: Vec<(f64, f64)> = points
                .iter()
                .enumerate()
                .map(|(i, p)| ((i + 1) as f64, value(p)))
                .filter(|(_, v)| v.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(
                    line.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(|e| plot_err(NAME)(e.to_string()))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(line.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                .map_err(|e| plot_err(NAME)(e.to_string()))?;
        }
        chart
            .draw_series(
                points
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| !p.accepted && p.ndcg.is_finite())
                    .map(|(i, p)| {
                        Cross::new(((i + 1) as f64, p.ndcg), 7, REJECTED.stroke_width(3))
                    }),
            )
            .map_err(|e| plot_err(NAME)(e.to_string()))?
            .label("rejected by the gate")
            .legend(|(x, y)| Cross::new((x + 10, y), 5, REJECTED.stroke_width(3)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| plot_err(NAME)(e.to_string()))?;
        root.present().map_err(|e| plot_err(NAME)(e.to_string()))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::history::HistoryPoint;

    fn run(day: u32, ndcg: f64, accepted: bool) -> HistoryPoint {
        HistoryPoint {
            version: format!("202612{day:02}T030000Z-abcdef12"),
            created_at: format!("2026-12-{day:02}T03:00:00Z"),
            k: 10,
            ndcg,
            recall: ndcg * 1.5,
            most_popular_ndcg: ndcg / 3.0,
            accepted,
        }
    }

    #[test]
    fn history_plot_draws_three_series_per_run_and_crosses_the_rejected_ones() {
        let points = [run(1, 0.30, true), run(2, 0.10, false), run(3, 0.32, true)];
        let svg = history_svg(&points).unwrap();
        assert!(svg.contains("Test metrics per run (K = 10)"));
        // A marker per run and series, plus one per legend entry is not drawn as a circle.
        assert_eq!(svg.matches("<circle").count(), 9);
        assert!(polyline_count(&svg) >= 3);
        let labels = texts(&svg);
        for want in [
            "#1 2026-12-01",
            "#2 2026-12-02",
            "#3 2026-12-03",
            "rejected by the gate",
        ] {
            assert!(
                labels.iter().any(|t| t == want),
                "{want} missing from {labels:?}"
            );
        }
        // One rejected run: its cross (two lines) and the legend's.
        let crosses = svg.matches("stroke=\"#D62728\"").count();
        assert!(crosses >= 2, "{crosses} red strokes in {svg}");
        assert_eq!(history_svg(&points).unwrap(), svg, "deterministic");
        // One run and no run still draw.
        assert!(history_svg(&points[..1]).unwrap().contains("#1 2026-12-01"));
        assert!(history_svg(&[]).unwrap().contains("</svg>"));
    }

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
        let svg = recall_curve_svg(&[("ALS", &model), ("MostPopular", &popular)]).unwrap();
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
        assert!(recall_curve_svg(&[]).unwrap().contains("</svg>"));
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

    /// The text of every `<text>` element, in document order.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = &t[t.find('>')? + 1..];
                Some(body[..body.find("</text>")?].trim().to_owned())
            })
            .collect()
    }

    #[test]
    fn nice_ticks_are_round_inside_the_range_and_print_distinctly() {
        for range in [
            0.0..1.05,
            0.9951..1.0024,
            0.9..0.99,
            0.4..0.9,
            0.0..0.3,
            12.0..9000.0,
        ] {
            let (ticks, decimals) = nice_ticks(&range, MAX_TICKS);
            assert!(
                ticks.len() >= 2 && ticks.len() <= MAX_TICKS + 1,
                "{range:?}: {ticks:?}"
            );
            assert!(
                ticks.iter().all(|t| (range.start..=range.end).contains(t)),
                "{range:?}: {ticks:?}"
            );
            let labels: Vec<String> = ticks.iter().map(|t| format!("{t:.decimals$}")).collect();
            let mut unique = labels.clone();
            unique.dedup();
            assert_eq!(unique, labels, "{range:?}");
        }
        let (ticks, decimals) = nice_ticks(&(0.9951..1.0024), 8);
        assert_eq!(decimals, 3);
        assert_eq!(ticks, [0.996, 0.997, 0.998, 0.999, 1.0, 1.001, 1.002]);
    }

    #[test]
    fn ann_plot_zooms_to_the_data_and_labels_ticks_once() {
        let points = [
            (16, 0.9712),
            (32, 0.9934),
            (64, 0.9987),
            (128, 1.0),
            (256, 1.0),
        ];
        let svg = ann_recall_svg(&points, 10).unwrap();
        let labels = texts(&svg);
        // The x axis is labelled at the measured ef values.
        for ef in ["16", "32", "64", "128", "256"] {
            assert_eq!(
                labels.iter().filter(|l| *l == ef).count(),
                1,
                "{ef}: {labels:?}"
            );
        }
        // The y labels: numbers within the padded data range, none repeated, none far below it.
        let y: Vec<f64> = labels
            .iter()
            .filter(|l| l.contains('.'))
            .filter_map(|l| l.parse().ok())
            .collect();
        assert!(y.len() >= 3, "{labels:?}");
        assert!(y.iter().all(|&v| (0.96..=1.01).contains(&v)), "{y:?}");
        let mut sorted = y.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        assert_eq!(sorted.len(), y.len(), "repeated y labels: {labels:?}");
    }

    #[test]
    fn a_flat_loss_curve_gets_distinct_y_labels() {
        // Losses that differ in the fourth significant digit, as a converged fit's do.
        let svg = objective_svg(&[0.040_63, 0.040_62, 0.040_615, 0.040_61]).unwrap();
        let y: Vec<String> = texts(&svg)
            .into_iter()
            .filter(|l| l.starts_with("0.0"))
            .collect();
        assert!(y.len() >= 3, "{y:?}");
        let mut unique = y.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), y.len(), "repeated labels: {y:?}");
    }

    #[test]
    fn plots_are_standalone_svg_documents() {
        for svg in [
            objective_svg(&[3.0, 2.0]).unwrap(),
            recall_curve_svg(&[("ALS", &[0.1, 0.2][..])]).unwrap(),
            ann_recall_svg(&[(16, 0.9), (64, 0.99)], 10).unwrap(),
            history_svg(&[run(1, 0.3, true)]).unwrap(),
        ] {
            let open = &svg[..svg.find('>').unwrap()];
            for attr in [
                "xmlns=\"http://www.w3.org/2000/svg\"",
                "width=\"800\"",
                "height=\"480\"",
                "viewBox=\"0 0 800 480\"",
            ] {
                assert!(open.contains(attr), "{attr} missing from {open}");
            }
            assert!(svg.trim_end().ends_with("</svg>"));
        }
    }
}
