//! Runs the six networks of `models/init.nn` on the same standard-normal inputs and
//! measures each layer's activations: the numbers and histograms of the course's lesson.

use axonal::init::Init;
use axonal::ndarray::{Array2, ArrayView2};
use axonal::{Mode, Model};

use crate::plot::{HistogramGrid, Panel};

/// Dense layers in each stack.
pub const LAYERS: usize = 5;
/// Units per layer, and the input width.
pub const WIDTH: usize = 100;
/// Input samples in the course's experiment.
pub const SAMPLES: usize = 1000;
/// An activation within this distance of 0 or 1 counts as saturated (sigmoid rows).
pub const SATURATION_MARGIN: f64 = 0.05;

/// One of the six initializations compared, each a network of `models/init.nn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// Sigmoid, weights N(0, 1): [`SigmoidStd1`](super::SigmoidStd1).
    SigmoidStd1,
    /// Sigmoid, weights N(0, 0.01²): [`SigmoidStd001`](super::SigmoidStd001).
    SigmoidStd001,
    /// Sigmoid, Xavier (Glorot normal) weights: [`SigmoidXavier`](super::SigmoidXavier).
    SigmoidXavier,
    /// ReLU, weights N(0, 0.01²): [`ReluStd001`](super::ReluStd001).
    ReluStd001,
    /// ReLU, Xavier weights: [`ReluXavier`](super::ReluXavier).
    ReluXavier,
    /// ReLU, He (Kaiming normal) weights: [`ReluHe`](super::ReluHe).
    ReluHe,
}

impl Setting {
    /// The six settings in the course's order (the rows of the plot).
    pub const ALL: [Setting; 6] = [
        Setting::SigmoidStd1,
        Setting::SigmoidStd001,
        Setting::SigmoidXavier,
        Setting::ReluStd001,
        Setting::ReluXavier,
        Setting::ReluHe,
    ];

    /// A short human-readable name, e.g. `sigmoid, std 1`.
    pub fn label(self) -> &'static str {
        match self {
            Setting::SigmoidStd1 => "sigmoid, std 1",
            Setting::SigmoidStd001 => "sigmoid, std 0.01",
            Setting::SigmoidXavier => "sigmoid, Xavier",
            Setting::ReluStd001 => "ReLU, std 0.01",
            Setting::ReluXavier => "ReLU, Xavier",
            Setting::ReluHe => "ReLU, He",
        }
    }

    /// Whether the layers' activation is the sigmoid (outputs in (0, 1)) rather than ReLU.
    pub fn is_sigmoid(self) -> bool {
        matches!(
            self,
            Setting::SigmoidStd1 | Setting::SigmoidStd001 | Setting::SigmoidXavier
        )
    }

    /// The standard deviation of the initial weights for a 100→100 layer.
    /// Xavier is Glorot normal √(2/(fan_in+fan_out)), which here equals the course's 1/√n = 0.1.
    pub fn weight_std(self) -> f64 {
        let n = WIDTH as f64;
        match self {
            Setting::SigmoidStd1 => 1.0,
            Setting::SigmoidStd001 | Setting::ReluStd001 => 0.01,
            Setting::SigmoidXavier | Setting::ReluXavier => (2.0 / (n + n)).sqrt(),
            Setting::ReluHe => (2.0 / n).sqrt(),
        }
    }

    /// Builds this setting's network from `seed`, runs `x` through it in eval mode and
    /// returns a copy of each layer's output, first layer first.
    pub fn activations(
        self,
        x: ArrayView2<'_, f64>,
        seed: u64,
    ) -> axonal::Result<Vec<Array2<f64>>> {
        /// The five layer outputs of one generated network type.
        macro_rules! outputs {
            ($net:ty) => {{
                let mut net = <$net>::seeded(seed);
                net.forward(x, Mode::Eval)?;
                vec![
                    net.dense0.output().to_owned(),
                    net.dense1.output().to_owned(),
                    net.dense2.output().to_owned(),
                    net.dense3.output().to_owned(),
                    net.dense4.output().to_owned(),
                ]
            }};
        }
        Ok(match self {
            Setting::SigmoidStd1 => outputs!(super::SigmoidStd1<f64>),
            Setting::SigmoidStd001 => outputs!(super::SigmoidStd001<f64>),
            Setting::SigmoidXavier => outputs!(super::SigmoidXavier<f64>),
            Setting::ReluStd001 => outputs!(super::ReluStd001<f64>),
            Setting::ReluXavier => outputs!(super::ReluXavier<f64>),
            Setting::ReluHe => outputs!(super::ReluHe<f64>),
        })
    }
}

/// `samples` inputs of [`WIDTH`] values drawn from the standard normal distribution with `seed`.
pub fn inputs(samples: usize, seed: u64) -> Array2<f64> {
    let mut x = Array2::zeros((samples, WIDTH));
    let values = x.as_slice_mut().expect("a fresh array is contiguous");
    let standard_normal = Init::Normal {
        mean: 0.0,
        std: 1.0,
    };
    standard_normal.fill(values, WIDTH, WIDTH, &mut axonal::seeded_rng(seed));
    x
}

/// Summary of one layer's activations over all samples and units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerStats {
    /// Mean.
    pub mean: f64,
    /// Population standard deviation (as numpy's `std`).
    pub std: f64,
    /// Share within [`SATURATION_MARGIN`] of 0 or 1 (where the sigmoid's slope is < 0.05).
    pub saturated: f64,
    /// Share exactly 0 (dead ReLU units).
    pub zeros: f64,
}

impl LayerStats {
    /// Computes the statistics of `a` (all elements together).
    pub fn of(a: &Array2<f64>) -> LayerStats {
        let n = a.len() as f64;
        let mean = a.sum() / n;
        let var = a.iter().map(|&v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let share = |pred: &dyn Fn(f64) -> bool| a.iter().filter(|&&v| pred(v)).count() as f64 / n;
        LayerStats {
            mean,
            std: var.sqrt(),
            saturated: share(&|v| v <= SATURATION_MARGIN || v >= 1.0 - SATURATION_MARGIN),
            zeros: share(&|v| v == 0.0),
        }
    }
}

/// The activations of one setting's five layers and their statistics.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Which network.
    pub setting: Setting,
    /// Each layer's output, `[samples, WIDTH]`.
    pub activations: Vec<Array2<f64>>,
    /// Each layer's statistics.
    pub stats: Vec<LayerStats>,
}

impl Outcome {
    /// The per-layer standard deviations, first layer first.
    pub fn stds(&self) -> Vec<f64> {
        self.stats.iter().map(|s| s.std).collect()
    }
}

/// Runs all six settings on `samples` standard-normal inputs (seed `seed`); every network's
/// weights are drawn from the same seed too, so the settings differ only in their initializer.
pub fn run(samples: usize, seed: u64) -> axonal::Result<Vec<Outcome>> {
    let x = inputs(samples, seed);
    Setting::ALL
        .iter()
        .map(|&setting| {
            let activations = setting.activations(x.view(), seed)?;
            let stats = activations.iter().map(LayerStats::of).collect();
            Ok(Outcome {
                setting,
                activations,
                stats,
            })
        })
        .collect()
}

/// The plot of the experiment: one row per setting, one 30-bin histogram per layer.
/// Sigmoid rows span [0, 1]. ReLU rows leave out the exact zeros (about half of all
/// outputs, which would dwarf everything else) and share one x range per row, from 0 to the
/// row's 99.9th percentile of nonzero outputs (a few far outliers would otherwise squeeze the
/// bulk into the first bars), so a collapse toward 0 shows as bars crowding the left edge.
pub fn histogram_grid(outcomes: &[Outcome]) -> HistogramGrid {
    let mut panels = Vec::new();
    for outcome in outcomes {
        let sigmoid = outcome.setting.is_sigmoid();
        let x_range = if sigmoid {
            (0.0, 1.0)
        } else {
            let mut nonzero: Vec<f64> = outcome
                .activations
                .iter()
                .flat_map(|a| a.iter().copied())
                .filter(|&v| v != 0.0)
                .collect();
            let top = if nonzero.is_empty() {
                1.0
            } else {
                let k = (nonzero.len() - 1) * 999 / 1000;
                *nonzero.select_nth_unstable_by(k, f64::total_cmp).1
            };
            (0.0, top)
        };
        for (layer, (a, stats)) in outcome.activations.iter().zip(&outcome.stats).enumerate() {
            let values = a.iter().copied().filter(|&v| sigmoid || v != 0.0).collect();
            panels.push(Panel {
                title: format!(
                    "{}: layer {}, std {}",
                    outcome.setting.label(),
                    layer + 1,
                    format_std(stats.std)
                ),
                values,
                x_range,
            });
        }
    }
    HistogramGrid {
        title: "Activations of 5 dense layers of 100 units, 1000 standard-normal inputs \
                (ReLU rows: zeros not shown, x up to the row's 99.9th percentile)"
            .into(),
        columns: LAYERS,
        bins: 30,
        panel_size: (330, 230),
        panels,
    }
}

/// A standard deviation in 3 significant digits, in scientific notation when small.
pub fn format_std(std: f64) -> String {
    if std != 0.0 && std.abs() < 1e-3 {
        format!("{std:.2e}")
    } else {
        format!("{std:.3}")
    }
}
