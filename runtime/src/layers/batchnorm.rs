//! Batch normalization over features (`batchnorm`), as PyTorch's `BatchNorm1d`.

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};

use crate::float::Float;
use crate::kernels;
use crate::model::{Buffer, Mode, Param};
use crate::scratch::Scratch;

/// Batch normalization of `N` features: `out = γ ⊙ x̂ + β` with `x̂ = (x − μ) / √(σ² + eps)`.
///
/// In training μ and σ² are the batch's mean and biased variance per column, and the running
/// estimates are updated as PyTorch does: `running = (1 − momentum)·running + momentum·stat`,
/// with the unbiased variance (÷ (B − 1)) for `running_var`. In eval mode (and `predict`)
/// μ and σ² are the running estimates. γ (`weight`) and β (`bias`) are parameters; the running
/// statistics are buffers (see [`BatchNorm::visit_buffers`]), named as in PyTorch's
/// `state_dict`. PyTorch's `num_batches_tracked` is not stored: it only matters for
/// `momentum=None` (a cumulative average), which this layer does not offer.
///
/// A training batch of one row has no unbiased variance: PyTorch raises an error; this layer
/// normalizes it (x̂ = 0, so out = β) and leaves the running statistics unchanged, so they
/// never become NaN.
#[derive(Clone, Debug)]
pub struct BatchNorm<F: Float, const N: usize> {
    /// γ, the per-feature scale, `[N]`; initialised to 1.
    pub weight: Array1<F>,
    /// β, the per-feature shift, `[N]`; initialised to 0.
    pub bias: Array1<F>,
    /// d loss / d γ of the last backward, `[N]`.
    pub weight_grad: Array1<F>,
    /// d loss / d β of the last backward, `[N]`.
    pub bias_grad: Array1<F>,
    /// Running estimate of the mean, `[N]`; initialised to 0, used in eval mode.
    pub running_mean: Array1<F>,
    /// Running estimate of the (unbiased) variance, `[N]`; initialised to 1, used in eval mode.
    pub running_var: Array1<F>,
    /// Weight of the new batch statistic in the running update (PyTorch's default 0.1).
    pub momentum: F,
    /// Added to the variance before the square root (PyTorch's default 1e-5).
    pub eps: F,
    /// 1/√(σ² + eps) per feature of the last forward (batch σ² in training, running in eval).
    inv_std: Array1<F>,
    /// Batch mean of the last training forward (scratch for the statistics).
    mean: Array1<F>,
    /// γ ⊙ inv_std, per feature (scratch for backward).
    gamma_inv_std: Array1<F>,
    /// Whether the last forward was in training mode (batch statistics).
    train: bool,
    /// x̂ of the last forward.
    x_hat: Scratch<F>,
    /// γ ⊙ x̂ + β of the last forward.
    out: Scratch<F>,
    /// d loss / d x of the last backward.
    grad_input: Scratch<F>,
}

impl<F: Float, const N: usize> BatchNorm<F, N> {
    /// Number of scalar parameters: γ and β (the running statistics are buffers, not parameters).
    pub const PARAMS: usize = 2 * N;

    /// A layer with γ = 1, β = 0, running mean 0 and running variance 1, as PyTorch's.
    /// The language's defaults are PyTorch's: `momentum` 0.1, `eps` 1e-5.
    ///
    /// # Panics
    /// If `momentum` is not in [0, 1] or `eps` is not a finite positive number (the compiler
    /// rejects such values). PyTorch accepts eps = 0, but then a constant feature gives 0/0 = NaN.
    pub fn new(momentum: f64, eps: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&momentum),
            "BatchNorm: momentum must be in [0, 1], got {momentum}"
        );
        assert!(
            eps > 0.0 && eps.is_finite(),
            "BatchNorm: eps must be finite and > 0, got {eps}"
        );
        Self {
            weight: Array1::ones(N),
            bias: Array1::zeros(N),
            weight_grad: Array1::zeros(N),
            bias_grad: Array1::zeros(N),
            running_mean: Array1::zeros(N),
            running_var: Array1::ones(N),
            momentum: F::from_f64(momentum),
            eps: F::from_f64(eps),
            inv_std: Array1::zeros(N),
            mean: Array1::zeros(N),
            gamma_inv_std: Array1::zeros(N),
            train: false,
            x_hat: Scratch::new(N),
            out: Scratch::new(N),
            grad_input: Scratch::new(N),
        }
    }

    /// Normalizes `x` and keeps x̂ for backward. Training: batch mean and biased variance,
    /// and the running statistics are updated (not for a batch of one row). Eval: the
    /// running statistics, which are left unchanged.
    ///
    /// # Panics
    /// If `x` is not `N` wide or has no rows (generated code guarantees both).
    pub fn forward(&mut self, x: ArrayView2<'_, F>, mode: Mode) {
        assert_eq!(x.ncols(), N, "BatchNorm: input width");
        let rows = x.nrows();
        assert!(rows > 0, "BatchNorm: empty batch");
        self.x_hat.resize(rows);
        self.out.resize(rows);
        self.grad_input.resize(rows);
        self.train = mode == Mode::Train;
        let mean = if self.train {
            self.batch_statistics(x);
            &self.mean
        } else {
            let eps = self.eps;
            Zip::from(&mut self.inv_std)
                .and(&self.running_var)
                .for_each(|s, &v| *s = (v + eps).sqrt().recip());
            &self.running_mean
        };
        // x̂ = (x − μ)·inv_std ;  out = γ x̂ + β
        for ((x_row, mut x_hat_row), mut out_row) in x
            .rows()
            .into_iter()
            .zip(self.x_hat.view_mut().rows_mut())
            .zip(self.out.view_mut().rows_mut())
        {
            Zip::from(&mut x_hat_row)
                .and(x_row)
                .and(mean)
                .and(&self.inv_std)
                .for_each(|h, &x, &mu, &s| *h = (x - mu) * s);
            Zip::from(&mut out_row)
                .and(&x_hat_row)
                .and(&self.weight)
                .and(&self.bias)
                .for_each(|o, &h, &g, &b| *o = g * h + b);
        }
    }

    /// Sets `mean` and `inv_std` from the batch (two passes, for accuracy) and updates the
    /// running statistics if the batch has more than one row.
    fn batch_statistics(&mut self, x: ArrayView2<'_, F>) {
        let rows = x.nrows();
        let n = F::from_f64(rows as f64);
        kernels::column_sums(x, self.mean.view_mut());
        self.mean.mapv_inplace(|s| s / n);
        // Σ (x − μ)², accumulated in inv_std before it becomes 1/√(σ² + eps).
        self.inv_std.fill(F::zero());
        for x_row in x.axis_iter(Axis(0)) {
            Zip::from(&mut self.inv_std)
                .and(x_row)
                .and(&self.mean)
                .for_each(|ss, &x, &mu| *ss += (x - mu) * (x - mu));
        }
        let (m, eps) = (self.momentum, self.eps);
        let keep = F::one() - m;
        let update = rows > 1;
        let unbiased = F::from_f64(rows as f64 - 1.0);
        Zip::from(&mut self.inv_std)
            .and(&self.mean)
            .and(&mut self.running_mean)
            .and(&mut self.running_var)
            .for_each(|s, &mu, rm, rv| {
                if update {
                    *rm = keep * *rm + m * mu;
                    *rv = keep * *rv + m * (*s / unbiased);
                }
                *s = (*s / n + eps).sqrt().recip();
            });
    }

    /// The output of the last forward.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    /// Gradients from `grad_out` = g, given `x`, the input of the last forward:
    /// dβ = Σᵢ g, dγ = Σᵢ g ⊙ x̂ (overwritten), and if `input_grad`, after a training forward
    /// (μ and σ² depend on x) dx = γ·inv_std / B · (B·g − dβ − x̂ ⊙ dγ), after an eval
    /// forward (constant statistics) dx = γ·inv_std ⊙ g.
    ///
    /// # Panics
    /// If `x` or `grad_out` do not have the shape of the last forward.
    pub fn backward(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_out: ArrayView2<'_, F>,
        input_grad: bool,
    ) {
        let shape = (self.out.rows(), N);
        assert!(
            x.dim() == shape && grad_out.dim() == shape,
            "BatchNorm: backward on a different batch than forward"
        );
        kernels::column_sums(grad_out, self.bias_grad.view_mut());
        self.weight_grad.fill(F::zero());
        for (g_row, x_hat_row) in grad_out.rows().into_iter().zip(self.x_hat.view().rows()) {
            Zip::from(&mut self.weight_grad)
                .and(g_row)
                .and(x_hat_row)
                .for_each(|dg, &g, &h| *dg += g * h);
        }
        if !input_grad {
            return;
        }
        let n = F::from_f64(shape.0 as f64);
        let train = self.train;
        Zip::from(&mut self.gamma_inv_std)
            .and(&self.weight)
            .and(&self.inv_std)
            .for_each(|c, &g, &s| *c = g * s);
        for ((g_row, x_hat_row), mut dx_row) in grad_out
            .rows()
            .into_iter()
            .zip(self.x_hat.view().rows())
            .zip(self.grad_input.view_mut().rows_mut())
        {
            Zip::from(&mut dx_row)
                .and(g_row)
                .and(x_hat_row)
                .and(&self.gamma_inv_std)
                .and(&self.bias_grad)
                .and(&self.weight_grad)
                .for_each(|dx, &g, &h, &c, &db, &dg| {
                    *dx = if train {
                        c / n * (n * g - db - h * dg)
                    } else {
                        c * g
                    };
                });
        }
    }

    /// d loss / d x of the last backward with `input_grad`.
    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_input.view()
    }

    /// Rows of the last forward batch (0 before any).
    pub fn rows(&self) -> usize {
        self.out.rows()
    }

    /// Eval-mode forward into a new array, with the running statistics; the layer is left as
    /// it is.
    ///
    /// # Panics
    /// If `x` is not `N` wide.
    pub fn predict(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        assert_eq!(x.ncols(), N, "BatchNorm: input width");
        let mut out = x.to_owned();
        for mut row in out.rows_mut() {
            Zip::from(&mut row)
                .and(&self.running_mean)
                .and(&self.running_var)
                .and(&self.weight)
                .and(&self.bias)
                .for_each(|v, &mu, &var, &g, &b| {
                    // The same operations as `forward`, so both give identical results.
                    let x_hat = (*v - mu) * (var + self.eps).sqrt().recip();
                    *v = g * x_hat + b;
                });
        }
        out
    }

    /// Lends `weight` (γ) then `bias` (β), with their gradients, to `f`, under the label `layer`.
    pub fn visit_params(&mut self, layer: &str, f: &mut dyn FnMut(Param<'_, F>)) {
        f(Param {
            layer,
            name: "weight",
            shape: &[N],
            value: contiguous(&mut self.weight),
            grad: self
                .weight_grad
                .as_slice_mut()
                .expect("BatchNorm: weight_grad must be standard layout"),
        });
        f(Param {
            layer,
            name: "bias",
            shape: &[N],
            value: contiguous(&mut self.bias),
            grad: self
                .bias_grad
                .as_slice_mut()
                .expect("BatchNorm: bias_grad must be standard layout"),
        });
    }

    /// Lends `running_mean` then `running_var` to `f`, under the label `layer`.
    pub fn visit_buffers(&mut self, layer: &str, f: &mut dyn FnMut(Buffer<'_, F>)) {
        f(Buffer {
            layer,
            name: "running_mean",
            shape: &[N],
            value: contiguous(&mut self.running_mean),
        });
        f(Buffer {
            layer,
            name: "running_var",
            shape: &[N],
            value: contiguous(&mut self.running_var),
        });
    }
}

/// The elements of a vector in order.
///
/// # Panics
/// If the array is not contiguous — only possible if a user replaced a pub field with a
/// strided view's copy in a non-standard layout.
fn contiguous<F>(a: &mut Array1<F>) -> &mut [F] {
    a.as_slice_mut()
        .expect("BatchNorm: parameters and buffers must be contiguous")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn normalizes_a_known_batch() {
        // Column 0: [1, 3] → μ 2, σ² 1 → x̂ ∓1/√(1 + eps); column 1 constant → x̂ 0.
        let mut bn = BatchNorm::<f64, 2>::new(0.5, 1e-5);
        bn.weight = array![2.0, 1.0];
        bn.bias = array![0.5, -1.0];
        let x = array![[1.0, 4.0], [3.0, 4.0]];
        bn.forward(x.view(), Mode::Train);
        let h = 1.0 / (1.0f64 + 1e-5).sqrt();
        let expected = array![[0.5 - 2.0 * h, -1.0], [0.5 + 2.0 * h, -1.0]];
        assert!((&bn.output() - &expected).iter().all(|d| d.abs() < 1e-15));
        // Running: mean 0.5·0 + 0.5·[2, 4]; var 0.5·1 + 0.5·[2, 0] (unbiased).
        assert_eq!(bn.running_mean, array![1.0, 2.0]);
        assert_eq!(bn.running_var, array![1.5, 0.5]);
    }

    #[test]
    fn batch_of_one_leaves_running_statistics_and_is_finite() {
        let mut bn = BatchNorm::<f32, 3>::new(0.1, 1e-5);
        let x = array![[1.0f32, -2.0, 1e30]];
        bn.forward(x.view(), Mode::Train);
        assert_eq!(bn.output(), array![[0.0, 0.0, 0.0]]);
        assert_eq!(bn.running_mean, array![0.0, 0.0, 0.0]);
        assert_eq!(bn.running_var, array![1.0, 1.0, 1.0]);
        bn.backward(x.view(), array![[1.0, 2.0, 3.0]].view(), true);
        assert!(bn.grad_input().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn eval_uses_running_statistics_and_predict_agrees() {
        let mut bn = BatchNorm::<f64, 2>::new(0.1, 1e-5);
        bn.running_mean = array![1.0, -1.0];
        bn.running_var = array![4.0, 0.25];
        let x = array![[3.0, 0.0], [1.0, -1.0]];
        bn.forward(x.view(), Mode::Eval);
        let expected = bn.predict(x.view());
        assert!((expected[[0, 0]] - 2.0 / (4.0f64 + 1e-5).sqrt()).abs() < 1e-15);
        assert_eq!(bn.output(), expected);
        assert_eq!(bn.running_mean, array![1.0, -1.0], "eval must not update");
    }

    #[test]
    fn params_and_buffers_have_pytorch_names() {
        let mut bn = BatchNorm::<f32, 4>::new(0.1, 1e-5);
        assert_eq!(BatchNorm::<f32, 4>::PARAMS, 8);
        let mut names = Vec::new();
        bn.visit_params("bn1", &mut |p| {
            names.push((p.full_name(), p.shape.to_vec()))
        });
        bn.visit_buffers("bn1", &mut |b| {
            names.push((b.full_name(), b.shape.to_vec()))
        });
        let expected: Vec<(String, Vec<usize>)> = ["weight", "bias", "running_mean", "running_var"]
            .iter()
            .map(|n| (format!("bn1.{n}"), vec![4]))
            .collect();
        assert_eq!(names, expected);
    }
}
