//! The classic comparison of optimizers (deep-learning-from-scratch, ch. 6): the paths of SGD,
//! Momentum, Nesterov, AdaGrad, RMSprop and Adam on f(x, y) = x²/20 + y², a bowl 20 times
//! steeper along y than along x, from (−7, 2) in 30 steps each. Uses the runtime's optimizers
//! through `Optimizer::update`, without a network; writes the paths over the contour lines of
//! f as a PNG (the first argument, or `target/optimizers.png`).
//!
//! `cargo run --release -p axonal-examples --bin optimizers [out.png]`

use std::path::PathBuf;

use axonal::optim::{Adagrad, Adam, Optimizer, RmsProp, Sgd};
use axonal_examples::plot::{self, contour_segments, Chart, ChartGrid, Line, PALETTE};

/// Where every path starts.
const START: [f64; 2] = [-7.0, 2.0];
/// Updates per optimizer.
const STEPS: usize = 30;
/// The plotted window: x and y ranges (the book's).
const X_RANGE: (f64, f64) = (-10.0, 10.0);
const Y_RANGE: (f64, f64) = (-5.0, 5.0);

/// f(x, y) = x²/20 + y².
fn f(x: f64, y: f64) -> f64 {
    x * x / 20.0 + y * y
}

/// ∇f = (x/10, 2y).
fn grad(x: f64, y: f64) -> [f64; 2] {
    [x / 10.0, 2.0 * y]
}

/// One contestant: a name, its settings as text, and the optimizer.
struct Contestant {
    name: &'static str,
    settings: &'static str,
    optimizer: Box<dyn Optimizer<f64>>,
}

/// The six optimizers with the book's learning rates (SGD 0.95, Momentum 0.1, AdaGrad 1.5,
/// Adam 0.3). Nesterov takes Momentum's, so the two panels differ only in where the gradient
/// is taken: Nesterov's look-ahead damps Momentum's overshoot. RMSprop keeps PyTorch's
/// α = 0.99; its rate 0.15 shows its character: the gradient is divided by its own running
/// RMS, so the first step is the same size along both axes (lr/√(1 − α) = 1.5, a diagonal
/// step whatever the slopes), the steep y is then settled within three steps and x is
/// walked down at a pace set by the learning rate, not by the shallow slope.
fn contestants() -> Vec<Contestant> {
    vec![
        Contestant {
            name: "SGD",
            settings: "lr 0.95",
            optimizer: Box::new(Sgd::new(0.95)),
        },
        Contestant {
            name: "Momentum",
            settings: "lr 0.1, momentum 0.9",
            optimizer: Box::new(Sgd::new(0.1).momentum(0.9)),
        },
        Contestant {
            name: "Nesterov",
            settings: "lr 0.1, momentum 0.9",
            optimizer: Box::new(Sgd::new(0.1).momentum(0.9).nesterov(true)),
        },
        Contestant {
            name: "AdaGrad",
            settings: "lr 1.5",
            optimizer: Box::new(Adagrad::new(1.5)),
        },
        Contestant {
            name: "RMSprop",
            settings: "lr 0.15, alpha 0.99",
            optimizer: Box::new(RmsProp::new(0.15)),
        },
        Contestant {
            name: "Adam",
            settings: "lr 0.3",
            optimizer: Box::new(Adam::new(0.3)),
        },
    ]
}

/// The `STEPS + 1` points visited from [`START`]: (x, y) is one parameter of two values.
fn path(optimizer: &mut dyn Optimizer<f64>) -> axonal::Result<Vec<(f64, f64)>> {
    let mut p = START;
    let mut points = vec![(p[0], p[1])];
    for _ in 0..STEPS {
        let g = grad(p[0], p[1]);
        optimizer.update(0, &mut p, &g)?;
        points.push((p[0], p[1]));
    }
    Ok(points)
}

fn main() -> Result<(), plot::PlotError> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/optimizers.png"));
    // Contours at f = 0.25, 1, 2.25, 4, …: ellipses evenly spaced along the y axis.
    let levels: Vec<f64> = (1..=20).map(|k| (0.5 * k as f64).powi(2)).collect();
    let contours = contour_segments(f, X_RANGE, Y_RANGE, (160, 80), &levels);

    println!(
        "f(x, y) = x²/20 + y² from ({}, {}), {STEPS} steps; minimum f(0, 0) = 0\n",
        START[0], START[1]
    );
    println!(
        "{:<10} {:<22} {:>10} {:>10} {:>11}",
        "optimizer", "settings", "x", "y", "f(x, y)"
    );
    let mut charts = Vec::new();
    for (contestant, color) in contestants().into_iter().zip(PALETTE.iter().cycle()) {
        let Contestant {
            name,
            settings,
            mut optimizer,
        } = contestant;
        let points = path(optimizer.as_mut())?;
        let (x, y) = *points.last().expect("the start point is in the path");
        println!(
            "{name:<10} {settings:<22} {x:>10.4} {y:>10.4} {:>11.3e}",
            f(x, y)
        );
        let mut chart =
            Chart::new(format!("{name} ({settings})"), X_RANGE, Y_RANGE).labels("x", "y");
        chart.background = contours.clone();
        chart
            .lines
            .push(Line::new("", points, *color).with_markers());
        chart.crosses.push((0.0, 0.0));
        charts.push(chart);
    }
    let grid = ChartGrid {
        title: format!(
            "f(x, y) = x²/20 + y²: {STEPS} steps from ({}, {}), × marks the minimum",
            START[0], START[1]
        ),
        columns: 3,
        panel_size: (520, 310),
        charts,
    };
    let written = grid.write_png(&out, true)?;
    println!(
        "\nwrote {} ({}×{} px{})",
        out.display(),
        written.size.0,
        written.size.1,
        if written.text {
            ""
        } else {
            ", no font found: without text"
        }
    );
    Ok(())
}
