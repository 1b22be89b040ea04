//! Gradient clipping: bounding the gradients of the last backward pass before a step.

use crate::float::Float;
use crate::model::Model;

/// Scales all gradients of `model` down so that their global 2-norm (over every parameter,
/// as if concatenated) is at most `max_norm`; returns the norm before clipping, as
/// `torch.nn.utils.clip_grad_norm_` does.
///
/// Like PyTorch, the scale is `min(1, max_norm / (norm + 1e-6))`, so gradients within the
/// bound are left unchanged and a NaN norm makes every gradient NaN (training then stops on
/// the non-finite loss rather than silently skipping the problem). The norm is accumulated
/// in `f64`. Call it between `backward` and the optimizer's `step`; `max_norm` should be
/// positive.
pub fn clip_grad_norm<F: Float>(model: &mut dyn Model<F>, max_norm: f64) -> f64 {
    let mut sum_of_squares = 0.0f64;
    model.visit_params(&mut |p| {
        sum_of_squares += p.grad.iter().map(|g| g.as_f64() * g.as_f64()).sum::<f64>();
    });
    let norm = sum_of_squares.sqrt();
    let scale = max_norm / (norm + 1e-6);
    if scale < 1.0 || scale.is_nan() {
        let scale = F::from_f64(scale);
        model.visit_params(&mut |p| p.grad.iter_mut().for_each(|g| *g *= scale));
    }
    norm
}

/// Clamps every gradient element of `model` to `[−clip, clip]`, as
/// `torch.nn.utils.clip_grad_value_`. NaN elements stay NaN. `clip` should be positive.
pub fn clip_grad_value<F: Float>(model: &mut dyn Model<F>, clip: f64) {
    let (low, high) = (F::from_f64(-clip), F::from_f64(clip));
    model.visit_params(&mut |p| {
        for g in p.grad.iter_mut() {
            if *g < low {
                *g = low;
            } else if *g > high {
                *g = high;
            }
        }
    });
}
