//! Training curves: [`History::plot`] draws the loss (and accuracy) per epoch, training
//! against validation, as a PNG or an SVG (feature `plot`).
//!
//! Drawing uses `plotters` with pure-Rust backends (no system library at build time) and the
//! `ab_glyph` text renderer. `ab_glyph` has no font of its own: [`register_font`] loads a TTF
//! from well-known system paths at run time; without one, the curves are drawn without any
//! text (titles, axis labels, legend) rather than not at all.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font as plotters_register_font, FontStyle};

use super::{EpochStats, History};
use crate::error::{Error, Result};

/// The family name text is drawn in, once [`register_font`] found a font.
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

/// Registers the first readable font of [`FONT_PATHS`] as [`FONT`] with plotters and returns
/// its path, or `None` if there is none. The search runs once per process; the font's bytes
/// are kept for the life of the process, as plotters requires.
pub fn register_font() -> Option<&'static Path> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            FONT_PATHS.iter().map(PathBuf::from).find(|path| {
                let Ok(bytes) = fs::read(path) else {
                    return false;
                };
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters_register_font(FONT, FontStyle::Normal, bytes).is_ok()
            })
        })
        .as_deref()
}

/// Size of one panel (loss, or accuracy) in pixels.
const PANEL: (u32, u32) = (640, 420);

/// One curve: its legend name, colour and points (epoch, value).
struct Series {
    name: &'static str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

impl Series {
    /// The curve of `metric` over the epochs that have it; `None` if none has.
    fn of(
        name: &'static str,
        color: RGBColor,
        epochs: &[EpochStats],
        metric: impl Fn(&EpochStats) -> Option<f64>,
    ) -> Option<Self> {
        let points: Vec<(f64, f64)> = epochs
            .iter()
            .filter_map(|e| {
                metric(e)
                    .filter(|v| v.is_finite())
                    .map(|v| (e.epoch as f64, v))
            })
            .collect();
        (!points.is_empty()).then_some(Self {
            name,
            color,
            points,
        })
    }
}

/// One chart: a title and its curves.
struct Panel {
    title: &'static str,
    series: Vec<Series>,
}

const TRAIN: RGBColor = RGBColor(31, 119, 180);
const VALIDATION: RGBColor = RGBColor(214, 39, 40);
const TRAIN_TOP_K: RGBColor = RGBColor(44, 160, 44);
const VALIDATION_TOP_K: RGBColor = RGBColor(255, 127, 14);

impl History {
    /// Draws the training curves to `path`: a PNG for `.png`, an SVG for `.svg`.
    ///
    /// The image has a "loss" panel (series `loss` and, with validation data, `val_loss`; a
    /// grey vertical line marks [`History::best_epoch`]) and, for label targets, an
    /// "accuracy" panel (`accuracy`, `val_accuracy`, and `top_k`, `val_top_k` when asked
    /// for). Text needs a system font ([`register_font`]); without one the curves are drawn
    /// without titles, labels or legend. An SVG always lists its series in its `<desc>`.
    /// The file is written to a temporary name next to `path` and renamed; the directory is
    /// created if needed.
    ///
    /// # Errors
    /// [`Error::Plot`] for an empty history, another extension, or a drawing error;
    /// [`Error::Io`] if the file cannot be written.
    pub fn plot(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let fail = |message: String| Error::Plot {
            path: path.to_path_buf(),
            message,
        };
        if self.epochs.is_empty() {
            return Err(fail("the history has no epochs".into()));
        }
        let panels = self.panels();
        let size = (PANEL.0 * panels.len() as u32, PANEL.1);
        let text = register_font().is_some();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| Error::io("create the directory of", path, &e))?;
        }
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("png") => {
                // The bitmap backend picks its encoder from the extension: keep `.png` last.
                let tmp = path.with_extension("tmp.png");
                let root = BitMapBackend::new(&tmp, size).into_drawing_area();
                self.draw(&root, &panels, text).map_err(fail)?;
                root.present().map_err(|e| fail(e.to_string()))?;
                drop(root);
                fs::rename(&tmp, path).map_err(|e| Error::io("rename", &tmp, &e))
            }
            Some("svg") => {
                let mut svg = String::new();
                {
                    let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                    self.draw(&root, &panels, text).map_err(fail)?;
                    root.present().map_err(|e| fail(e.to_string()))?;
                }
                let svg = with_description(svg, &panels);
                let tmp = path.with_extension("svg.tmp");
                fs::write(&tmp, svg).map_err(|e| Error::io("write", &tmp, &e))?;
                fs::rename(&tmp, path).map_err(|e| Error::io("rename", &tmp, &e))
            }
            _ => Err(fail(
                "unknown image format: the file name must end in .png or .svg".into(),
            )),
        }
    }

    /// The loss panel and, if there are accuracies, the accuracy panel.
    fn panels(&self) -> Vec<Panel> {
        let e = &self.epochs;
        let loss = [
            Series::of("loss", TRAIN, e, |s| Some(s.loss)),
            Series::of("val_loss", VALIDATION, e, |s| s.val_loss),
        ];
        let accuracy = [
            Series::of("accuracy", TRAIN, e, |s| s.accuracy),
            Series::of("val_accuracy", VALIDATION, e, |s| s.val_accuracy),
            Series::of("top_k", TRAIN_TOP_K, e, |s| s.top_k),
            Series::of("val_top_k", VALIDATION_TOP_K, e, |s| s.val_top_k),
        ];
        [("loss", Vec::from(loss)), ("accuracy", Vec::from(accuracy))]
            .into_iter()
            .map(|(title, series)| Panel {
                title,
                series: series.into_iter().flatten().collect(),
            })
            .filter(|p| p.title == "loss" || !p.series.is_empty())
            .collect()
    }

    /// Draws `panels` side by side on `root`.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        panels: &[Panel],
        text: bool,
    ) -> std::result::Result<(), String> {
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let epochs = self.epochs.len() as f64;
        let x_range = if self.epochs.len() == 1 {
            0.5..1.5
        } else {
            1.0..epochs
        };
        for (panel, area) in panels.iter().zip(root.split_evenly((1, panels.len()))) {
            let best = self.best_epoch.filter(|_| panel.title == "loss");
            draw_panel(&area, panel, x_range.clone(), best, text).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Draws one panel: its curves, and with `text` its title, axes' labels and legend.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    x_range: std::ops::Range<f64>,
    best: Option<usize>,
    text: bool,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let values = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let pad = if hi > lo {
        0.05 * (hi - lo)
    } else {
        0.05 * hi.abs().max(1e-3)
    };
    let (mut lo, mut hi) = (lo - pad, hi + pad);
    if panel.title == "accuracy" {
        (lo, hi) = (lo.max(0.0), hi.min(1.0));
    }
    let mut builder = ChartBuilder::on(area);
    builder.margin(12).margin_right(20);
    if text {
        builder
            .caption(panel.title, (FONT, 20))
            .x_label_area_size(36)
            .y_label_area_size(56);
    }
    // One tick per whole epoch (at most 11), and no label on a fractional tick.
    let ticks = ((x_range.end - x_range.start).round() as usize + 1).clamp(2, 11);
    let mut chart = builder.build_cartesian_2d(x_range, lo..hi)?;
    if text {
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(panel.title)
            .x_labels(ticks)
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-9 {
                    format!("{x:.0}")
                } else {
                    String::new()
                }
            })
            .label_style((FONT, 13))
            .draw()?;
    } else {
        let frame = chart.plotting_area();
        let (w, h) = frame.dim_in_pixel();
        frame.strip_coord_spec().draw(&Rectangle::new(
            [(0, 0), (w as i32 - 1, h as i32 - 1)],
            BLACK.stroke_width(1),
        ))?;
    }
    if let Some(best) = best {
        let x = best as f64;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x, lo), (x, hi)],
            RGBColor(160, 160, 160).stroke_width(1),
        )))?;
    }
    for series in &panel.series {
        let color = series.color;
        let drawn = chart.draw_series(LineSeries::new(
            series.points.iter().copied(),
            color.stroke_width(2),
        ))?;
        if text {
            drawn.label(series.name).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
        if series.points.len() <= 40 {
            chart.draw_series(
                series
                    .points
                    .iter()
                    .map(|&p| Circle::new(p, 3, color.filled())),
            )?;
        }
    }
    if text {
        chart
            .configure_series_labels()
            .position(if panel.title == "loss" {
                SeriesLabelPosition::UpperRight
            } else {
                SeriesLabelPosition::LowerRight
            })
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    Ok(())
}

/// `svg` with a `<desc>` after its opening tag naming the panels and series, so that the
/// file says what it shows even when it was drawn without text.
fn with_description(svg: String, panels: &[Panel]) -> String {
    let description: Vec<String> = panels
        .iter()
        .map(|p| {
            let names: Vec<&str> = p.series.iter().map(|s| s.name).collect();
            format!("{}: {}", p.title, names.join(", "))
        })
        .collect();
    let desc = format!(
        "\n<desc>training history; {}</desc>",
        description.join("; ")
    );
    match svg
        .find("<svg")
        .and_then(|start| svg[start..].find('>').map(|end| start + end + 1))
    {
        Some(at) => format!("{}{desc}{}", &svg[..at], &svg[at..]),
        None => svg,
    }
}
