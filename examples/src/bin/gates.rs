//! Perceptron logic gates with fixed weights, and why XOR needs two layers.

use axonal::ndarray::{array, Array2};
use axonal::Model;
use axonal_examples::gates::{And, Nand, Or, Perceptron, Xor};

/// The four inputs of a two-input truth table.
fn inputs() -> Array2<f32> {
    array![[0., 0.], [1., 0.], [0., 1.], [1., 1.]]
}

fn truth_table(name: &str, net: &dyn Model<f32>) -> axonal::Result<()> {
    let x = inputs();
    let y = net.predict(x.view())?;
    println!("{name}\n  x1 x2 | y");
    for (row, out) in x.rows().into_iter().zip(y.column(0)) {
        println!("   {}  {} | {}", row[0], row[1], out);
    }
    println!();
    Ok(())
}

fn main() -> axonal::Result<()> {
    // Fixed weights need no random generator; any seed gives the same gates.
    truth_table("AND  (w1, w2, θ) = (0.5, 0.5, 0.7)", &And::<f32>::seeded(0))?;
    truth_table(
        "NAND (w1, w2, θ) = (-0.5, -0.5, -0.7)",
        &Nand::<f32>::seeded(0),
    )?;
    truth_table("OR   (w1, w2, θ) = (0.5, 0.5, 0.2)", &Or::<f32>::seeded(0))?;
    truth_table(
        "XOR = AND(NAND(x1, x2), OR(x1, x2)), two layers",
        &Xor::<f32>::seeded(0),
    )?;

    // No single perceptron computes XOR: try every (w1, w2, θ) on a grid.
    let x = inputs();
    let want = [0.0f32, 1.0, 1.0, 0.0];
    let mut p = Perceptron::<f32>::seeded(0);
    let grid: Vec<f32> = (-20..=20).map(|i| i as f32 * 0.1).collect();
    let (mut best, mut best_at) = (0, (0.0, 0.0, 0.0));
    for &w1 in &grid {
        for &w2 in &grid {
            for &theta in &grid {
                p.dense0.weight[[0, 0]] = w1;
                p.dense0.weight[[0, 1]] = w2;
                p.dense0.bias[0] = -theta;
                let y = p.predict(x.view())?;
                let right = y
                    .column(0)
                    .iter()
                    .zip(&want)
                    .filter(|(a, b)| a == b)
                    .count();
                if right > best {
                    (best, best_at) = (right, (w1, w2, theta));
                }
            }
        }
    }
    println!(
        "One perceptron and XOR: over {} weight settings on a grid from -2 to 2, the best gets {best}/4 right (w1, w2, θ) = ({:.1}, {:.1}, {:.1}).",
        grid.len().pow(3),
        best_at.0,
        best_at.1,
        best_at.2
    );
    println!("A single line cannot separate {{(0,1), (1,0)}} from {{(0,0), (1,1)}}: XOR needs a hidden layer.");
    Ok(())
}
