//! Batch normalization (`batchnorm`) per feature or per channel, as PyTorch's
//! `BatchNorm1d` and `BatchNorm2d`.

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};

use crate::float::Float;
use crate::kernels;
use crate::model::{Buffer, Mode, Param};
use crate::scratch::{contiguous_rows, Scratch};

/// Batch normalization of `C` channels of `S` positions each: `out = γ ⊙ x̂ + β` with
/// `x̂ = (x − μ) / √(σ² + eps)`, μ, σ², γ and β per channel.
///
/// With `S = 1` (the default) a sample is `C` features and this is PyTorch's `BatchNorm1d(C)`
/// on `[batch, C]`; with `S > 1` a sample is `[C, S]` (channel-major: `S = H·W` for an image
/// `[C, H, W]`, `L` for a sequence `[C, L]`) and this is `BatchNorm2d(C)`, or `BatchNorm1d(C)`
/// on `[batch, C, L]`: the statistics of a channel are taken over the batch and its S
/// positions, B·S values.
///
/// In training μ and σ² are the batch's mean and biased variance per channel, and the running
/// estimates are updated as PyTorch does: `running = (1 − momentum)·running + momentum·stat`,
/// with the unbiased variance (÷ (B·S − 1)) for `running_var`. In eval mode (and `predict`)
/// μ and σ² are the running estimates. γ (`weight`) and β (`bias`) are parameters; the running
/// statistics are buffers (see [`BatchNorm::visit_buffers`]), named as in PyTorch's
/// `state_dict`; all four have shape `[C]`. PyTorch's `num_batches_tracked` is not stored: it
/// only matters for `momentum=None` (a cumulative average), which this layer does not offer.
///
/// A training batch of one value per channel (one row, `S = 1`) has no unbiased variance:
/// PyTorch raises an error; this layer normalizes it (x̂ = 0, so out = β) and leaves the
/// running statistics unchanged, so they never become NaN.
#[derive(Clone, Debug)]
pub struct BatchNorm<F: Float, const C: usize, const S: usize = 1> {
    /// γ, the per-channel scale, `[C]`; initialised to 1.
    pub weight: Array1<F>,
    /// β, the per-channel shift, `[C]`; initialised to 0.
    pub bias: Array1<F>,
    /// d loss / d γ of the last backward, `[C]`.
    pub weight_grad: Array1<F>,
    /// d loss / d β of the last backward, `[C]`.
    pub bias_grad: Array1<F>,
    /// Running estimate of the mean, `[C]`; initialised to 0, used in eval mode.
    pub running_mean: Array1<F>,
    /// Running estimate of the (unbiased) variance, `[C]`; initialised to 1, used in eval mode.
    pub running_var: Array1<F>,
    /// Weight of the new batch statistic in the running update (PyTorch's default 0.1).
    pub momentum: F,
    /// Added to the variance before the square root (PyTorch's default 1e-5).
    pub eps: F,
    /// 1/√(σ² + eps) per channel of the last forward (batch σ² in training, running in eval).
    inv_std: Array1<F>,
    /// Batch mean of the last training forward (scratch for the statistics).
    mean: Array1<F>,
    /// γ ⊙ inv_std, per channel (scratch for backward).
    gamma_inv_std: Array1<F>,
    /// Whether the last forward was in training mode (batch statistics).
    train: bool,
    /// x̂ of the last forward.
    x_hat: Scratch<F>,
    /// γ ⊙ x̂ + β of the last forward.
    out: Scratch<F>,
    /// d loss / d x of the last backward.
    grad_input: Scratch<F>,
    /// Copies of an input and an output gradient whose rows are not contiguous (`S > 1`
    /// only; empty otherwise).
    staging: [Scratch<F>; 2],
}

impl<F: Float, const C: usize, const S: usize> BatchNorm<F, C, S> {
    /// Number of scalar parameters: γ and β (the running statistics are buffers, not parameters).
    pub const PARAMS: usize = 2 * C;

    /// A layer with γ = 1, β = 0, running mean 0 and running variance 1, as PyTorch's.
    /// The language's defaults are PyTorch's: `momentum` 0.1, `eps` 1e-5.
    ///
    /// # Panics
    /// If `momentum` is not in [0, 1] or `eps` is not a finite positive number (the compiler
    /// rejects such values; PyTorch accepts eps = 0, but then a constant channel gives
    /// 0/0 = NaN), or `S` is 0.
    pub fn new(momentum: f64, eps: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&momentum),
            "BatchNorm: momentum must be in [0, 1], got {momentum}"
        );
        assert!(
            eps > 0.0 && eps.is_finite(),
            "BatchNorm: eps must be finite and > 0, got {eps}"
        );
        assert!(S > 0, "BatchNorm: a channel needs at least one position");
        Self {
            weight: Array1::ones(C),
            bias: Array1::zeros(C),
            weight_grad: Array1::zeros(C),
            bias_grad: Array1::zeros(C),
            running_mean: Array1::zeros(C),
            running_var: Array1::ones(C),
            momentum: F::from_f64(momentum),
            eps: F::from_f64(eps),
            inv_std: Array1::zeros(C),
            mean: Array1::zeros(C),
            gamma_inv_std: Array1::zeros(C),
            train: false,
            x_hat: Scratch::new(C * S),
            out: Scratch::new(C * S),
            grad_input: Scratch::new(C * S),
            staging: [Scratch::new(C * S), Scratch::new(C * S)],
        }
    }

    /// Normalizes `x` and keeps x̂ for backward. Training: batch mean and biased variance,
    /// and the running statistics are updated (unless there is one value per channel). Eval:
    /// the running statistics, which are left unchanged.
    ///
    /// # Panics
    /// If `x` is not `C·S` wide or has no rows (generated code guarantees both).
    pub fn forward(&mut self, x: ArrayView2<'_, F>, mode: Mode) {
        assert_eq!(x.ncols(), C * S, "BatchNorm: input width");
        let rows = x.nrows();
        assert!(rows > 0, "BatchNorm: empty batch");
        self.x_hat.resize(rows);
        self.out.resize(rows);
        self.grad_input.resize(rows);
        self.train = mode == Mode::Train;
        let x = if S == 1 {
            x.reborrow()
        } else {
            contiguous_rows(x, &mut self.staging[0])
        };
        let mean = if self.train {
            batch_statistics(
                x,
                S,
                &mut self.mean,
                &mut self.inv_std,
                &mut self.running_mean,
                &mut self.running_var,
                self.momentum,
                self.eps,
            );
            &self.mean
        } else {
            let eps = self.eps;
            Zip::from(&mut self.inv_std)
                .and(&self.running_var)
                .for_each(|s, &v| *s = (v + eps).sqrt().recip());
            &self.running_mean
        };
        if S > 1 {
            normalize_channels(
                x,
                S,
                mean,
                &self.inv_std,
                &self.weight,
                &self.bias,
                self.x_hat.view_mut(),
                self.out.view_mut(),
            );
            return;
        }
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

    /// The output of the last forward.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    /// Gradients from `grad_out` = g, given `x`, the input of the last forward, with sums
    /// Σ over the batch and a channel's positions (M = B·S values): dβ = Σ g, dγ = Σ g ⊙ x̂
    /// (overwritten), and if `input_grad`, after a training forward (μ and σ² depend on x)
    /// dx = γ·inv_std / M · (M·g − dβ − x̂ ⊙ dγ), after an eval forward (constant
    /// statistics) dx = γ·inv_std ⊙ g.
    ///
    /// # Panics
    /// If `x` or `grad_out` do not have the shape of the last forward.
    pub fn backward(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_out: ArrayView2<'_, F>,
        input_grad: bool,
    ) {
        let shape = (self.out.rows(), C * S);
        assert!(
            x.dim() == shape && grad_out.dim() == shape,
            "BatchNorm: backward on a different batch than forward"
        );
        Zip::from(&mut self.gamma_inv_std)
            .and(&self.weight)
            .and(&self.inv_std)
            .for_each(|c, &g, &s| *c = g * s);
        if S > 1 {
            let grad_out = contiguous_rows(grad_out, &mut self.staging[1]);
            channel_gradients(
                grad_out,
                S,
                self.x_hat.view(),
                &mut self.weight_grad,
                &mut self.bias_grad,
            );
            if input_grad {
                channel_input_gradient(
                    grad_out,
                    S,
                    self.x_hat.view(),
                    &self.gamma_inv_std,
                    &self.weight_grad,
                    &self.bias_grad,
                    self.train,
                    self.grad_input.view_mut(),
                );
            }
            return;
        }
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
    /// If `x` is not `C·S` wide.
    pub fn predict(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        assert_eq!(x.ncols(), C * S, "BatchNorm: input width");
        let mut out = x.to_owned();
        for mut row in out.rows_mut() {
            for (mut channel, ((&mu, &var), (&g, &b))) in row.exact_chunks_mut(S).into_iter().zip(
                self.running_mean
                    .iter()
                    .zip(&self.running_var)
                    .zip(self.weight.iter().zip(&self.bias)),
            ) {
                // The same operations as `forward`, so both give identical results.
                let inv_std = (var + self.eps).sqrt().recip();
                channel.mapv_inplace(|v| g * ((v - mu) * inv_std) + b);
            }
        }
        out
    }

    /// Lends `weight` (γ) then `bias` (β), with their gradients, to `f`, under the label `layer`.
    pub fn visit_params(&mut self, layer: &str, f: &mut dyn FnMut(Param<'_, F>)) {
        f(Param {
            layer,
            name: "weight",
            shape: &[C],
            value: contiguous(&mut self.weight),
            grad: self
                .weight_grad
                .as_slice_mut()
                .expect("BatchNorm: weight_grad must be standard layout"),
        });
        f(Param {
            layer,
            name: "bias",
            shape: &[C],
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
            shape: &[C],
            value: contiguous(&mut self.running_mean),
        });
        f(Buffer {
            layer,
            name: "running_var",
            shape: &[C],
            value: contiguous(&mut self.running_var),
        });
    }
}

/// Sets `mean` and `inv_std` from the batch `x` (`[B, C·S]`, contiguous rows if `S > 1`;
/// two passes, for accuracy) and updates the running statistics if a channel has more than
/// one value.
#[allow(clippy::too_many_arguments)]
fn batch_statistics<F: Float>(
    x: ArrayView2<'_, F>,
    positions: usize,
    mean: &mut Array1<F>,
    inv_std: &mut Array1<F>,
    running_mean: &mut Array1<F>,
    running_var: &mut Array1<F>,
    momentum: F,
    eps: F,
) {
    let count = x.nrows() * positions;
    let n = F::from_f64(count as f64);
    // Σ (x − μ)², accumulated in inv_std before it becomes 1/√(σ² + eps).
    inv_std.fill(F::zero());
    if positions == 1 {
        kernels::column_sums(x, mean.view_mut());
        mean.mapv_inplace(|s| s / n);
        for x_row in x.axis_iter(Axis(0)) {
            Zip::from(&mut *inv_std)
                .and(x_row)
                .and(&*mean)
                .for_each(|ss, &x, &mu| *ss += (x - mu) * (x - mu));
        }
    } else {
        // Per row, each channel's S values are summed first, then added to the channel's
        // total: the rounding error grows with B + S rather than B·S.
        mean.fill(F::zero());
        for x_row in x.rows() {
            let x_row = x_row.to_slice().expect("contiguous rows");
            for (m, channel) in mean.iter_mut().zip(x_row.chunks_exact(positions)) {
                *m += lane_sum(channel, |v| v);
            }
        }
        mean.mapv_inplace(|s| s / n);
        for x_row in x.rows() {
            let x_row = x_row.to_slice().expect("contiguous rows");
            for ((ss, &mu), channel) in inv_std
                .iter_mut()
                .zip(&*mean)
                .zip(x_row.chunks_exact(positions))
            {
                *ss += lane_sum(channel, |v| (v - mu) * (v - mu));
            }
        }
    }
    let keep = F::one() - momentum;
    let update = count > 1;
    let unbiased = F::from_f64(count as f64 - 1.0);
    Zip::from(inv_std)
        .and(&*mean)
        .and(running_mean)
        .and(running_var)
        .for_each(|s, &mu, rm, rv| {
            if update {
                *rm = keep * *rm + momentum * mu;
                *rv = keep * *rv + momentum * (*s / unbiased);
            }
            *s = (*s / n + eps).sqrt().recip();
        });
}

/// x̂ = (x − μ)·inv_std and out = γ x̂ + β, per channel of S positions (`S > 1`; `x` has
/// contiguous rows, the outputs are scratch views).
#[allow(clippy::too_many_arguments)]
fn normalize_channels<F: Float>(
    x: ArrayView2<'_, F>,
    positions: usize,
    mean: &Array1<F>,
    inv_std: &Array1<F>,
    gamma: &Array1<F>,
    beta: &Array1<F>,
    mut x_hat: ndarray::ArrayViewMut2<'_, F>,
    mut out: ndarray::ArrayViewMut2<'_, F>,
) {
    let per_channel = mean.iter().zip(inv_std).zip(gamma.iter().zip(beta));
    for ((x, mut h), mut o) in x
        .rows()
        .into_iter()
        .zip(x_hat.rows_mut())
        .zip(out.rows_mut())
    {
        let x = x.to_slice().expect("contiguous rows");
        let h = h.as_slice_mut().expect("scratch rows are contiguous");
        let o = o.as_slice_mut().expect("scratch rows are contiguous");
        let channels = x
            .chunks_exact(positions)
            .zip(h.chunks_exact_mut(positions))
            .zip(o.chunks_exact_mut(positions));
        for (((x, h), o), ((&mu, &s), (&g, &b))) in channels.zip(per_channel.clone()) {
            for ((&x, h), o) in x.iter().zip(h.iter_mut()).zip(o.iter_mut()) {
                *h = (x - mu) * s;
                *o = g * *h + b;
            }
        }
    }
}

/// dβ = Σ g and dγ = Σ g ⊙ x̂ per channel of S positions (`S > 1`).
fn channel_gradients<F: Float>(
    grad: ArrayView2<'_, F>,
    positions: usize,
    x_hat: ArrayView2<'_, F>,
    weight_grad: &mut Array1<F>,
    bias_grad: &mut Array1<F>,
) {
    weight_grad.fill(F::zero());
    bias_grad.fill(F::zero());
    for (g, h) in grad.rows().into_iter().zip(x_hat.rows()) {
        let g = g.to_slice().expect("contiguous rows");
        let h = h.to_slice().expect("scratch rows are contiguous");
        let channels = g.chunks_exact(positions).zip(h.chunks_exact(positions));
        for ((g, h), (dg, db)) in channels.zip(weight_grad.iter_mut().zip(bias_grad.iter_mut())) {
            *db += lane_sum(g, |g| g);
            *dg += lane_dot(g, h);
        }
    }
}

/// dx per channel of S positions (`S > 1`), from dβ and dγ: see [`BatchNorm::backward`].
#[allow(clippy::too_many_arguments)]
fn channel_input_gradient<F: Float>(
    grad: ArrayView2<'_, F>,
    positions: usize,
    x_hat: ArrayView2<'_, F>,
    gamma_inv_std: &Array1<F>,
    weight_grad: &Array1<F>,
    bias_grad: &Array1<F>,
    train: bool,
    mut grad_input: ndarray::ArrayViewMut2<'_, F>,
) {
    let n = F::from_f64((grad.nrows() * positions) as f64);
    let per_channel = gamma_inv_std.iter().zip(bias_grad.iter().zip(weight_grad));
    for ((g, h), mut dx) in grad
        .rows()
        .into_iter()
        .zip(x_hat.rows())
        .zip(grad_input.rows_mut())
    {
        let g = g.to_slice().expect("contiguous rows");
        let h = h.to_slice().expect("scratch rows are contiguous");
        let dx = dx.as_slice_mut().expect("scratch rows are contiguous");
        let channels = g
            .chunks_exact(positions)
            .zip(h.chunks_exact(positions))
            .zip(dx.chunks_exact_mut(positions));
        for (((g, h), dx), (&c, (&db, &dg))) in channels.zip(per_channel.clone()) {
            for ((&g, &h), dx) in g.iter().zip(h).zip(dx.iter_mut()) {
                *dx = if train {
                    c / n * (n * g - db - h * dg)
                } else {
                    c * g
                };
            }
        }
    }
}

/// Partial sums of [`lane_sum`] and [`lane_dot`]: enough for a 512-bit vector of `f32`.
const LANES: usize = 16;

/// Σ f(v) over `values`, in [`LANES`] interleaved partial sums so that it vectorizes (a
/// plain fold is a chain of dependent additions: 1.5 ns per value of a LeNet-5 batch
/// normalization). The order depends on the length alone.
#[inline(always)]
fn lane_sum<F: Float>(values: &[F], f: impl Fn(F) -> F) -> F {
    let mut acc = [F::zero(); LANES];
    let blocks = values.chunks_exact(LANES);
    let tail = blocks.remainder().iter().fold(F::zero(), |s, &v| s + f(v));
    for block in blocks {
        for (a, &v) in acc.iter_mut().zip(block) {
            *a += f(v);
        }
    }
    acc.iter().fold(F::zero(), |s, &a| s + a) + tail
}

/// Σ a ⊙ b, as [`lane_sum`].
#[inline(always)]
fn lane_dot<F: Float>(a: &[F], b: &[F]) -> F {
    let mut acc = [F::zero(); LANES];
    let (blocks, others) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail = blocks
        .remainder()
        .iter()
        .zip(others.remainder())
        .fold(F::zero(), |s, (&a, &b)| s + a * b);
    for (block, other) in blocks.zip(others) {
        for ((acc, &a), &b) in acc.iter_mut().zip(block).zip(other) {
            *acc += a * b;
        }
    }
    acc.iter().fold(F::zero(), |s, &a| s + a) + tail
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
