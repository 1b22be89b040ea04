//! Finite-difference gradient checking, public so users can check their own layers and
//! networks the way the runtime's are checked.
//!
//! Everything runs in `f64`: with central differences and a step around 1e-5 the numeric
//! derivative of a well-scaled loss is good to about 1e-10 absolute, so analytic gradients
//! that agree to a relative error below 1e-6 are right.

use ndarray::{Array2, ArrayView2};

use crate::data::TargetsView;
use crate::error::Result;
use crate::model::{Mode, Model};

/// Below this magnitude (|analytic| + |numeric|) [`relative_error`] stops dividing by the
/// gradient and becomes an absolute error scaled by it: central differences carry about
/// 1e-10 of absolute noise, so smaller gradients (exact zeros of dead ReLUs, say) would
/// otherwise show spurious relative errors.
pub const RELATIVE_ERROR_FLOOR: f64 = 1e-4;

/// Central differences of `f` at `x` with step `eps`: (f(x + eps·eᵢ) − f(x − eps·eᵢ)) / 2eps
/// for every coordinate i.
pub fn numeric_gradient(mut f: impl FnMut(&[f64]) -> f64, x: &[f64], eps: f64) -> Vec<f64> {
    let mut point = x.to_vec();
    (0..x.len())
        .map(|i| {
            point[i] = x[i] + eps;
            let plus = f(&point);
            point[i] = x[i] - eps;
            let minus = f(&point);
            point[i] = x[i];
            (plus - minus) / (2.0 * eps)
        })
        .collect()
}

/// |a − n| / max(|a| + |n|, [`RELATIVE_ERROR_FLOOR`]): 0 when equal, at most 1, and
/// insensitive to the noise of finite differences on tiny gradients.
pub fn relative_error(analytic: f64, numeric: f64) -> f64 {
    let diff = (analytic - numeric).abs();
    if diff == 0.0 {
        return 0.0;
    }
    diff / (analytic.abs() + numeric.abs()).max(RELATIVE_ERROR_FLOOR)
}

/// The outcome of a gradient check: the worst disagreement and where it was.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheck {
    /// The largest [`relative_error`] over all checked entries.
    pub max_relative_error: f64,
    /// Where it occurred: `"fc1.weight[3]"` (flat row-major index) or `"x[2, 1]"`.
    pub worst: String,
    /// The analytic gradient at the worst entry.
    pub worst_analytic: f64,
    /// The numeric gradient at the worst entry.
    pub worst_numeric: f64,
    /// Number of entries checked.
    pub checked: usize,
}

impl GradCheck {
    fn new() -> Self {
        Self {
            max_relative_error: 0.0,
            worst: String::new(),
            worst_analytic: 0.0,
            worst_numeric: 0.0,
            checked: 0,
        }
    }

    fn record(&mut self, analytic: f64, numeric: f64, place: impl FnOnce() -> String) {
        let error = relative_error(analytic, numeric);
        if self.checked == 0 || error > self.max_relative_error {
            self.max_relative_error = error;
            self.worst = place();
            self.worst_analytic = analytic;
            self.worst_numeric = numeric;
        }
        self.checked += 1;
    }
}

/// Loss of a train-mode forward pass.
fn loss_at<M: Model<f64> + ?Sized>(
    model: &mut M,
    x: ArrayView2<'_, f64>,
    targets: TargetsView<'_, f64>,
) -> Result<f64> {
    model.forward(x, Mode::Train)?;
    model.loss(targets)
}

/// Sets entry `index` of the `param`-th visited parameter to `value`.
fn set_param<M: Model<f64> + ?Sized>(model: &mut M, param: usize, index: usize, value: f64) {
    let mut i = 0;
    model.visit_params(&mut |p| {
        if i == param {
            p.value[index] = value;
        }
        i += 1;
    });
}

/// Checks every parameter of a model: analytic grads from forward(Train)+loss+backward vs
/// central differences of the loss with step `eps` (1e-5 is a good choice).
///
/// Parameters are restored exactly afterwards. Layers that draw randomness in train mode
/// (dropout) must be made deterministic first.
///
/// ```
/// use axonal::gradcheck::check_model;
/// use axonal::ndarray::array;
/// use axonal::TargetsView;
///
/// axonal::network! { Net { input 3; dense 4 tanh; dense 2; mse } }
///
/// let mut net = Net::<f64>::seeded(0);
/// let x = array![[0.1, -0.4, 0.3], [1.0, 0.2, -0.5]];
/// let t = array![[0.5, -1.0], [0.0, 2.0]];
/// let report = check_model(&mut net, x.view(), TargetsView::Values(t.view()), 1e-5)?;
/// assert!(report.max_relative_error < 1e-6, "{report:?}");
/// assert_eq!(report.checked, Net::<f64>::PARAMS);
/// # Ok::<(), axonal::Error>(())
/// ```
pub fn check_model<M: Model<f64> + ?Sized>(
    model: &mut M,
    x: ArrayView2<'_, f64>,
    targets: TargetsView<'_, f64>,
    eps: f64,
) -> Result<GradCheck> {
    loss_at(model, x, targets)?;
    model.backward(x)?;
    let mut params: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    model.visit_params(&mut |p| params.push((p.full_name(), p.value.to_vec(), p.grad.to_vec())));

    let mut check = GradCheck::new();
    for (k, (name, values, grads)) in params.iter().enumerate() {
        for (i, (&value, &analytic)) in values.iter().zip(grads).enumerate() {
            set_param(model, k, i, value + eps);
            let plus = loss_at(model, x, targets)?;
            set_param(model, k, i, value - eps);
            let minus = loss_at(model, x, targets)?;
            set_param(model, k, i, value);
            check.record(analytic, (plus - minus) / (2.0 * eps), || {
                format!("{name}[{i}]")
            });
        }
    }
    Ok(check)
}

/// Checks a model's input gradient the same way: `backward_with(x, None, true)` vs central
/// differences of the loss in every entry of `x`.
pub fn check_input_grad<M: Model<f64> + ?Sized>(
    model: &mut M,
    x: ArrayView2<'_, f64>,
    targets: TargetsView<'_, f64>,
    eps: f64,
) -> Result<GradCheck> {
    loss_at(model, x, targets)?;
    model.backward_with(x, None, true)?;
    let analytic = model.input_grad().to_owned();

    let mut point: Array2<f64> = x.to_owned();
    let mut check = GradCheck::new();
    for ((r, c), &value) in x.indexed_iter() {
        point[[r, c]] = value + eps;
        let plus = loss_at(model, point.view(), targets)?;
        point[[r, c]] = value - eps;
        let minus = loss_at(model, point.view(), targets)?;
        point[[r, c]] = value;
        check.record(analytic[[r, c]], (plus - minus) / (2.0 * eps), || {
            format!("x[{r}, {c}]")
        });
    }
    Ok(check)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_gradient_of_known_functions() {
        // f(a, b) = a²b + sin b: ∇f = (2ab, a² + cos b).
        let f = |v: &[f64]| v[0] * v[0] * v[1] + v[1].sin();
        let g = numeric_gradient(f, &[1.5, -0.3], 1e-5);
        let expected = [2.0 * 1.5 * -0.3, 1.5 * 1.5 + (-0.3f64).cos()];
        for (g, e) in g.iter().zip(expected) {
            assert!((g - e).abs() < 1e-9, "{g} vs {e}");
        }
    }

    #[test]
    fn relative_error_scales_and_floors() {
        assert_eq!(relative_error(2.0, 2.0), 0.0);
        assert!((relative_error(1.0, 1.1) - 0.1 / 2.1).abs() < 1e-15);
        assert_eq!(relative_error(1.0, -1.0), 1.0);
        // Tiny gradients: noise of 1e-12 on a zero gradient is 1e-8, not 1.
        assert!((relative_error(0.0, 1e-12) - 1e-8).abs() < 1e-20);
    }
}
