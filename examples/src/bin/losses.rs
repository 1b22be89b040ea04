//! The course's worked example of the multiclass SVM loss and softmax cross-entropy.

use axonal::ndarray::array;
use axonal::{Mode, Model, TargetsView};
use axonal_examples::losses::{CeScores, SvmScores};

fn main() -> axonal::Result<()> {
    // Rows: three images; columns: scores for (cat, car, frog).
    let scores = array![[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]];
    let labels = [0, 1, 2]; // cat, car, frog
    let names = ["cat", "car", "frog"];

    let mut svm = SvmScores::<f64>::seeded(0);
    svm.forward(scores.view(), Mode::Eval)?;
    let total = svm.loss(TargetsView::Labels(&labels))?;
    let per_example = svm.loss.per_sample();
    println!("Multiclass SVM loss, L_i = Σ_(j≠y) max(0, s_j − s_y + 1):");
    for (i, loss) in per_example.iter().enumerate() {
        println!(
            "  example {} (true class {:<4}): {loss:.2}",
            i + 1,
            names[labels[i]]
        );
    }
    println!(
        "  mean over the examples: {:.2}  (sum {total:.1} / 3)",
        per_example.mean().unwrap_or(f64::NAN)
    );

    let mut ce = CeScores::<f64>::seeded(0);
    ce.forward(scores.view(), Mode::Eval)?;
    ce.loss(TargetsView::Labels(&labels))?;
    let first = ce.loss.per_sample()[0];
    println!("\nSoftmax cross-entropy of example 1, L = −ln softmax(s)_cat:");
    println!("  natural log: {first:.2}");
    println!(
        "  (a slide that shows {:.2} used log base 10: −log10 p = {first:.4} / ln 10)",
        first / std::f64::consts::LN_10
    );
    Ok(())
}
