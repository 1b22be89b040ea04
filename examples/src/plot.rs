//! Small plotting helpers for the examples: a grid of histograms written as a PNG.
//!
//! Drawing uses `plotters` with its bitmap backend and the pure-Rust `ab_glyph` text
//! renderer, so nothing needs a system library at build time. `ab_glyph` has no font of its
//! own: [`register_font`] loads a TTF from well-known system paths at run time; without one,
//! the plots are drawn without any text rather than not at all.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{register_font as plotters_register_font, FontStyle};

/// The family name every example's text is drawn in, once [`register_font`] found a font.
pub const FONT: &str = "sans-serif";

/// Where a TTF font is looked for, first match wins (Debian/Ubuntu, Fedora, Arch, macOS).
pub const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/usr/share/fonts/gnu-free/FreeSans.ttf",
    "/Library/Fonts/Arial.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// Errors of the plotting helpers (I/O, drawing, encoding), boxed: the examples only report them.
pub type PlotError = Box<dyn Error + Send + Sync>;

/// Registers the first readable font of [`FONT_PATHS`] as [`FONT`] and returns its path, or
/// `None` if there is none. The search runs once per process; the font's bytes are kept for
/// the life of the process, as `plotters` requires.
pub fn register_font() -> Option<&'static Path> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            FONT_PATHS.iter().map(PathBuf::from).find(|path| {
                let Ok(bytes) = std::fs::read(path) else {
                    return false;
                };
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters_register_font(FONT, FontStyle::Normal, bytes).is_ok()
            })
        })
        .as_deref()
}

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
