//! Small plotting helpers for the examples, each writing a PNG: a grid of histograms
//! ([`HistogramGrid`]) and a grid of line charts ([`ChartGrid`]: training curves, optimizer
//! paths over the contour lines of a function, from [`contour_segments`]).
//!
//! Drawing uses `plotters` with its bitmap backend and the pure-Rust `ab_glyph` text
//! renderer, so nothing needs a system library at build time. `ab_glyph` has no font of its
//! own: [`register_font`] loads a TTF from well-known system paths at run time; without one,
//! the plots are drawn without any text rather than not at all.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

/// The colour type of [`Line`], re-exported so callers need not name `plotters`.
pub use plotters::style::RGBColor;

/// Font lookup is the runtime's, so plots from `History::plot` and from here look alike.
pub use axonal::train::plot::{register_font, FONT, FONT_PATHS};

/// Errors of the plotting helpers (I/O, drawing, encoding), boxed: the examples only report them.
pub type PlotError = Box<dyn Error + Send + Sync>;

/// One histogram of a grid: its title, the values to count and the x range of its bins.
#[derive(Clone, Debug)]
pub struct Panel {
    /// Drawn above the histogram.
    pub title: String,
    /// The samples; those outside `x_range` are not counted.
    pub values: Vec<f64>,
    /// Left edge of the first bin and right edge of the last (the last bin includes its right edge).
    pub x_range: (f64, f64),
}

/// A grid of histograms, filled row by row.
#[derive(Clone, Debug)]
pub struct HistogramGrid {
    /// Drawn above the grid.
    pub title: String,
    /// Panels per row.
    pub columns: usize,
    /// Equal-width bins per histogram.
    pub bins: usize,
    /// Size of one panel in pixels, (width, height).
    pub panel_size: (u32, u32),
    /// The panels, row-major.
    pub panels: Vec<Panel>,
}

/// What [`HistogramGrid::write_png`] drew.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    /// Width and height of the image in pixels.
    pub size: (u32, u32),
    /// Whether titles and axis labels were drawn (a font was found).
    pub text: bool,
}

/// Counts `values` into `bins` equal-width bins over `[lo, hi]`; values outside (and NaN) are skipped.
pub fn bin_counts(values: &[f64], (lo, hi): (f64, f64), bins: usize) -> Vec<usize> {
    let mut counts = vec![0; bins];
    let width = (hi - lo) / bins as f64;
    if bins == 0 || width.is_nan() || width <= 0.0 {
        return counts;
    }
    for &v in values {
        if v >= lo && v <= hi {
            let bin = (((v - lo) / width) as usize).min(bins - 1);
            counts[bin] += 1;
        }
    }
    counts
}

impl HistogramGrid {
    /// Height of the title strip above the panels, in pixels.
    const HEADER: u32 = 44;

    /// Draws the grid and writes it as a PNG to `path` (its directory is created if needed).
    /// The image goes to a temporary name next to `path` first and is then renamed, so an
    /// interrupted run never leaves half a file. With `text = false`, or if no font is found,
    /// the histograms are drawn without titles or labels.
    pub fn write_png(&self, path: &Path, text: bool) -> Result<Written, PlotError> {
        if self.columns == 0 || self.bins == 0 || self.panels.is_empty() {
            return Err("a histogram grid needs at least one column, bin and panel".into());
        }
        let text = text && register_font().is_some();
        let rows = self.panels.len().div_ceil(self.columns);
        let (pw, ph) = self.panel_size;
        let size = (
            pw * self.columns as u32,
            ph * rows as u32 + if text { Self::HEADER } else { 0 },
        );
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        // The backend picks the encoder from the extension, so the temporary name ends in .png.
        let tmp = path.with_extension("tmp.png");
        {
            let root = BitMapBackend::new(&tmp, size).into_drawing_area();
            root.fill(&WHITE)?;
            let body = if text {
                let (header, body) = root.split_vertically(Self::HEADER);
                header.draw_text(&self.title, &(FONT, 22).into_text_style(&header), (12, 12))?;
                body
            } else {
                root.clone()
            };
            let cells = body.split_evenly((rows, self.columns));
            for (panel, cell) in self.panels.iter().zip(&cells) {
                self.draw_panel(panel, cell, text)?;
            }
            root.present()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(Written { size, text })
    }

    /// Draws one histogram into `cell`: bars of counts, and with `text` a title and axis labels.
    fn draw_panel(
        &self,
        panel: &Panel,
        cell: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
        text: bool,
    ) -> Result<(), PlotError> {
        let (lo, hi) = panel.x_range;
        let counts = bin_counts(&panel.values, panel.x_range, self.bins);
        let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.08;
        let mut builder = ChartBuilder::on(cell);
        builder.margin(6).margin_right(14);
        if text {
            builder
                .caption(&panel.title, (FONT, 15))
                .x_label_area_size(22)
                .y_label_area_size(46);
        }
        let mut chart = builder.build_cartesian_2d(lo..hi, 0.0..top)?;
        if text {
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(5)
                .y_labels(4)
                .x_label_formatter(&|x| short(*x))
                .y_label_formatter(&|y| format!("{y:.0}"))
                .label_style((FONT, 11))
                .draw()?;
        } else {
            let frame = chart.plotting_area();
            let (w, h) = frame.dim_in_pixel();
            frame.strip_coord_spec().draw(&Rectangle::new(
                [(0, 0), (w as i32 - 1, h as i32 - 1)],
                BLACK.stroke_width(1),
            ))?;
        }
        let width = (hi - lo) / self.bins as f64;
        chart.draw_series(counts.iter().enumerate().map(|(i, &count)| {
            let x0 = lo + i as f64 * width;
            Rectangle::new(
                [(x0, 0.0), (x0 + width, count as f64)],
                BLUE.mix(0.55).filled(),
            )
        }))?;
        Ok(())
    }
}

/// An axis label short enough for a small panel: `0.5`, `2e-6`, `120`.
fn short(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-2..1e4).contains(&a) {
        format!("{x:.0e}")
    } else {
        format!("{}", (x * 1e3).round() / 1e3)
    }
}

/// A palette of distinct, print-friendly colours for lines (Tableau 10, first six).
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// One polyline of a [`Chart`]: a training curve or an optimizer's path.
#[derive(Clone, Debug)]
pub struct Line {
    /// Legend entry; empty for none.
    pub label: String,
    /// The points, joined in order.
    pub points: Vec<(f64, f64)>,
    /// Colour of the line and its markers.
    pub color: RGBColor,
    /// Whether every point also gets a dot (to show step sizes along a path).
    pub markers: bool,
}

impl Line {
    /// A line without markers.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>, color: RGBColor) -> Self {
        Self {
            label: label.into(),
            points,
            color,
            markers: false,
        }
    }

    /// The same line with a dot at every point.
    pub fn with_markers(self) -> Self {
        Self {
            markers: true,
            ..self
        }
    }
}

/// A line segment of a contour line, as [`contour_segments`] returns them.
pub type Segment = [(f64, f64); 2];

/// One panel of a [`ChartGrid`]: axes over fixed ranges, thin grey background segments
/// (contour lines of a function) and coloured lines on top.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Drawn above the panel.
    pub title: String,
    /// Label of the horizontal axis.
    pub x_label: String,
    /// Label of the vertical axis.
    pub y_label: String,
    /// Visible x interval, (left, right).
    pub x_range: (f64, f64),
    /// Visible y interval, (bottom, top).
    pub y_range: (f64, f64),
    /// Drawn first, thin and grey: e.g. the contour lines of a loss surface.
    pub background: Vec<Segment>,
    /// Drawn in order on top of the background.
    pub lines: Vec<Line>,
    /// Points marked with a black `×` (e.g. a minimum).
    pub crosses: Vec<(f64, f64)>,
    /// Where the legend of the labelled lines goes.
    pub legend: Corner,
}

/// A corner of a chart's plotting area, for its legend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Corner {
    /// Top left.
    UpperLeft,
    /// Top right.
    #[default]
    UpperRight,
    /// Bottom left.
    LowerLeft,
    /// Bottom right.
    LowerRight,
}

impl Corner {
    /// The corner as `plotters` names it.
    fn position(self) -> SeriesLabelPosition {
        match self {
            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            Corner::UpperRight => SeriesLabelPosition::UpperRight,
            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
            Corner::LowerRight => SeriesLabelPosition::LowerRight,
        }
    }
}

impl Chart {
    /// An empty chart over the given ranges, with a title and no axis labels.
    pub fn new(title: impl Into<String>, x_range: (f64, f64), y_range: (f64, f64)) -> Self {
        Self {
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            x_range,
            y_range,
            background: Vec::new(),
            lines: Vec::new(),
            crosses: Vec::new(),
            legend: Corner::UpperRight,
        }
    }

    /// Sets the axis labels.
    pub fn labels(self, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self {
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..self
        }
    }

    /// Puts the legend in another corner.
    pub fn legend(self, legend: Corner) -> Self {
        Self { legend, ..self }
    }
}

/// A grid of [`Chart`]s, filled row by row, written as one PNG.
#[derive(Clone, Debug)]
pub struct ChartGrid {
    /// Drawn above the grid.
    pub title: String,
    /// Panels per row.
    pub columns: usize,
    /// Size of one panel in pixels, (width, height).
    pub panel_size: (u32, u32),
    /// The panels, row-major.
    pub charts: Vec<Chart>,
}

impl ChartGrid {
    /// Draws the grid and writes it as a PNG to `path`, through a temporary file renamed at
    /// the end as [`HistogramGrid::write_png`] does. With `text = false`, or if no font is
    /// found, titles, tick labels and legends are left out and the lines are still drawn.
    pub fn write_png(&self, path: &Path, text: bool) -> Result<Written, PlotError> {
        if self.columns == 0 || self.charts.is_empty() {
            return Err("a chart grid needs at least one column and chart".into());
        }
        let text = text && register_font().is_some();
        let rows = self.charts.len().div_ceil(self.columns);
        let (pw, ph) = self.panel_size;
        let header = if text { HistogramGrid::HEADER } else { 0 };
        let size = (pw * self.columns as u32, ph * rows as u32 + header);
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp.png");
        {
            let root = BitMapBackend::new(&tmp, size).into_drawing_area();
            root.fill(&WHITE)?;
            let body = if text {
                let (top, body) = root.split_vertically(header);
                top.draw_text(&self.title, &(FONT, 22).into_text_style(&top), (12, 12))?;
                body
            } else {
                root.clone()
            };
            let cells = body.split_evenly((rows, self.columns));
            for (chart, cell) in self.charts.iter().zip(&cells) {
                draw_chart(chart, cell, text)?;
            }
            root.present()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(Written { size, text })
    }
}

/// Draws one chart into `cell`.
fn draw_chart(
    chart: &Chart,
    cell: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    text: bool,
) -> Result<(), PlotError> {
    let (x0, x1) = chart.x_range;
    let (y0, y1) = chart.y_range;
    let mut builder = ChartBuilder::on(cell);
    builder.margin(8).margin_right(16);
    if text {
        builder
            .caption(&chart.title, (FONT, 17))
            .x_label_area_size(if chart.x_label.is_empty() { 22 } else { 38 })
            .y_label_area_size(if chart.y_label.is_empty() { 40 } else { 58 });
    }
    let mut ctx = builder.build_cartesian_2d(x0..x1, y0..y1)?;
    if text {
        ctx.configure_mesh()
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.08))
            .x_labels(6)
            .y_labels(6)
            .x_desc(chart.x_label.as_str())
            .y_desc(chart.y_label.as_str())
            .x_label_formatter(&|x| short(*x))
            .y_label_formatter(&|y| short(*y))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()?;
    } else {
        let frame = ctx.plotting_area();
        let (w, h) = frame.dim_in_pixel();
        frame.strip_coord_spec().draw(&Rectangle::new(
            [(0, 0), (w as i32 - 1, h as i32 - 1)],
            BLACK.stroke_width(1),
        ))?;
    }
    let grey = RGBColor(150, 150, 150).stroke_width(1);
    ctx.draw_series(
        chart
            .background
            .iter()
            .map(|&[a, b]| PathElement::new(vec![a, b], grey)),
    )?;
    let mut labelled = false;
    for line in &chart.lines {
        let style = line.color.stroke_width(2);
        let series = ctx.draw_series(std::iter::once(PathElement::new(
            line.points.clone(),
            style,
        )))?;
        if !line.label.is_empty() {
            labelled = true;
            let color = line.color;
            series.label(line.label.as_str()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        }
        if line.markers {
            ctx.draw_series(
                line.points
                    .iter()
                    .map(|&p| Circle::new(p, 3, line.color.filled())),
            )?;
        }
    }
    let cross = BLACK.stroke_width(2);
    ctx.draw_series(chart.crosses.iter().map(|&p| Cross::new(p, 5, cross)))?;
    if text && labelled {
        ctx.configure_series_labels()
            .position(chart.legend.position())
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 13))
            .draw()?;
    }
    Ok(())
}

/// The contour lines of `f` at each of `levels` over a rectangle, as line segments, by
/// marching squares on a grid of `cells.0 × cells.1` cells: in every cell whose corners lie
/// on both sides of a level, the crossings of its edges (linearly interpolated) are joined.
/// A cell crossed on all four edges (a saddle) is resolved by the value at its centre.
pub fn contour_segments(
    f: impl Fn(f64, f64) -> f64,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    (nx, ny): (usize, usize),
    levels: &[f64],
) -> Vec<Segment> {
    let (nx, ny) = (nx.max(1), ny.max(1));
    let x = |i: usize| x0 + (x1 - x0) * i as f64 / nx as f64;
    let y = |j: usize| y0 + (y1 - y0) * j as f64 / ny as f64;
    let values: Vec<Vec<f64>> = (0..=ny)
        .map(|j| (0..=nx).map(|i| f(x(i), y(j))).collect())
        .collect();
    let mut segments = Vec::new();
    for &level in levels {
        for j in 0..ny {
            for i in 0..nx {
                // Corners counter-clockwise from the bottom left, and the edges between them.
                let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
                let mut crossings = Vec::with_capacity(4);
                for k in 0..4 {
                    let (a, b) = (corners[k], corners[(k + 1) % 4]);
                    let (fa, fb) = (values[a.1][a.0], values[b.1][b.0]);
                    if (fa >= level) != (fb >= level) {
                        let t = (level - fa) / (fb - fa);
                        let (xa, ya, xb, yb) = (x(a.0), y(a.1), x(b.0), y(b.1));
                        crossings.push((xa + t * (xb - xa), ya + t * (yb - ya)));
                    }
                }
                match crossings[..] {
                    [p, q] => segments.push([p, q]),
                    [p, q, r, s] => {
                        // Edges 0-1 and 2-3 bound the corners 1 and 3; join them around the
                        // corners on the centre's side.
                        let centre = f((x(i) + x(i + 1)) / 2.0, (y(j) + y(j + 1)) / 2.0);
                        let corner1_high = values[j][i + 1] >= level;
                        if (centre >= level) == corner1_high {
                            segments.extend([[p, s], [q, r]]);
                        } else {
                            segments.extend([[p, q], [r, s]]);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    segments
}

/// The range of `values` (NaN skipped) widened by `pad` of its width on each side, so lines
/// do not touch the frame; a single value gets a range of ±`pad` (or ±1 at 0) around it.
pub fn padded_range(values: impl IntoIterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| !v.is_nan())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    let width = hi - lo;
    let margin = if width > 0.0 {
        width * pad
    } else if lo != 0.0 {
        lo.abs() * pad.max(1e-3)
    } else {
        1.0
    };
    (lo - margin, hi + margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contour_of_a_plane_is_exact() {
        // Linear interpolation is exact for a linear function: every end point is on the level.
        let segments =
            contour_segments(|x, y| x + 2.0 * y, (-1.0, 1.0), (-1.0, 1.0), (7, 5), &[0.3]);
        assert!(segments.len() >= 5, "{} segments", segments.len());
        for (x, y) in segments.iter().flatten() {
            assert!(
                (x + 2.0 * y - 0.3).abs() < 1e-12,
                "({x}, {y}) is off the level"
            );
        }
    }

    #[test]
    fn contour_of_a_bowl_is_a_closed_circle() {
        let r = 0.7;
        let segments = contour_segments(
            |x, y| x * x + y * y,
            (-1.0, 1.0),
            (-1.0, 1.0),
            (80, 80),
            &[r * r],
        );
        for (x, y) in segments.iter().flatten() {
            assert!(((x * x + y * y).sqrt() - r).abs() < 1e-3);
        }
        // Closed: the segments' lengths add up to the circumference.
        let length: f64 = segments
            .iter()
            .map(|[a, b]| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt())
            .sum();
        assert!(
            (length - 2.0 * std::f64::consts::PI * r).abs() < 0.01,
            "{length}"
        );
        // A level the function never reaches has no contour.
        assert!(contour_segments(
            |x, y| x * x + y * y,
            (-1.0, 1.0),
            (-1.0, 1.0),
            (8, 8),
            &[-1.0]
        )
        .is_empty());
    }

    #[test]
    fn padded_range_widens_and_handles_degenerate_input() {
        assert_eq!(padded_range([1.0, 3.0, f64::NAN], 0.25), (0.5, 3.5));
        assert_eq!(padded_range([0.0], 0.1), (-1.0, 1.0));
        assert_eq!(padded_range([], 0.1), (0.0, 1.0));
        let (lo, hi) = padded_range([2.0, 2.0], 0.1);
        assert!(lo < 2.0 && hi > 2.0);
    }

    #[test]
    fn chart_grid_writes_a_png_of_the_grid_size() {
        let mut chart = Chart::new("t", (0.0, 1.0), (0.0, 1.0));
        chart
            .lines
            .push(Line::new("a", vec![(0.0, 0.0), (1.0, 1.0)], PALETTE[0]).with_markers());
        chart.crosses.push((0.5, 0.5));
        let grid = ChartGrid {
            title: "grid".into(),
            columns: 2,
            panel_size: (120, 80),
            charts: vec![chart.clone(), chart.clone(), chart],
        };
        let path = std::env::temp_dir().join(format!("axonal-chart-{}.png", std::process::id()));
        let written = grid.write_png(&path, false).unwrap();
        assert_eq!(
            written,
            Written {
                size: (240, 160),
                text: false
            }
        );
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // The PNG header's width and height (IHDR, big-endian) are the grid's.
        assert_eq!(&bytes[16..24], [0, 0, 0, 240, 0, 0, 0, 160]);
        let empty = ChartGrid {
            charts: vec![],
            ..grid
        };
        assert!(empty.write_png(&path, false).is_err());
    }
}
