//! Layer normalization (`layernorm`), as PyTorch's `nn.LayerNorm` over the whole sample.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, Zip};

use crate::float::Float;
use crate::model::{Mode, Param};
use crate::scratch::Scratch;

/// Layer normalization over all `N` values of a sample: `out = γ ⊙ x̂ + β` with
/// `x̂ = (x − μ) / √(σ² + eps)`, where μ and σ² are the mean and biased variance of the
/// sample's own values — PyTorch's `nn.LayerNorm(shape, eps)` with `shape` the whole
/// per-sample shape (`[C, H, W]`, `[C, L]` or `[F]`) and elementwise affine parameters.
///
/// The statistics come from each sample alone, so training and eval compute the same thing
/// and there are no running statistics. γ (`weight`, initialised to 1) and β (`bias`, 0) have
/// one entry per value; checkpoints name and shape them as PyTorch does (`weight`, `bias`,
/// both with the per-sample shape).
#[derive(Clone, Debug)]
pub struct LayerNorm<F: Float, const N: usize> {
    /// γ, the per-value scale, `[N]` (the per-sample shape, flattened); initialised to 1.
    pub weight: Array1<F>,
    /// β, the per-value shift, `[N]`; initialised to 0.
    pub bias: Array1<F>,
    /// d loss / d γ of the last backward, `[N]`.
    pub weight_grad: Array1<F>,
    /// d loss / d β of the last backward, `[N]`.
    pub bias_grad: Array1<F>,
    /// Added to the variance before the square root (PyTorch's default 1e-5).
    pub eps: F,
    /// The per-sample shape the parameters are visited with.
    shape: &'static [usize],
    /// x̂ of the last forward.
    x_hat: Scratch<F>,
    /// 1/√(σ² + eps) per sample of the last forward (one column).
    inv_std: Scratch<F>,
    /// γ ⊙ x̂ + β of the last forward.
    out: Scratch<F>,
    /// d loss / d x of the last backward.
    grad_input: Scratch<F>,
}

impl<F: Float, const N: usize> LayerNorm<F, N> {
    /// Number of scalar parameters: γ and β.
    pub const PARAMS: usize = 2 * N;

    /// A layer with γ = 1 and β = 0 over samples of shape `shape` (whose elements number
    /// `N`), as PyTorch's `nn.LayerNorm(shape, eps)`; PyTorch's default `eps` is 1e-5.
    ///
    /// # Panics
    /// If the product of `shape` is not `N`, or `eps` is not a finite positive number (the
    /// compiler guarantees both).
    pub fn new(shape: &'static [usize], eps: f64) -> Self {
        assert!(
            shape.iter().product::<usize>() == N && !shape.is_empty(),
            "LayerNorm: a shape of {shape:?} has {} values, not the layer's {N}; give the \
             per-sample shape",
            shape.iter().product::<usize>()
        );
        assert!(
            eps > 0.0 && eps.is_finite(),
            "LayerNorm: eps must be finite and > 0, got {eps}"
        );
        Self {
            weight: Array1::ones(N),
            bias: Array1::zeros(N),
            weight_grad: Array1::zeros(N),
            bias_grad: Array1::zeros(N),
            eps: F::from_f64(eps),
            shape,
            x_hat: Scratch::new(N),
            inv_std: Scratch::new(1),
            out: Scratch::new(N),
            grad_input: Scratch::new(N),
        }
    }

    /// The per-sample shape the parameters have.
    pub fn shape(&self) -> &'static [usize] {
        self.shape
    }

    /// Normalizes each sample; keeps x̂ and 1/√(σ² + eps) for backward. Training and eval
    /// are the same.
    ///
    /// # Panics
    /// If `x` is not `N` wide.
    pub fn forward(&mut self, x: ArrayView2<'_, F>, _mode: Mode) {
        assert_eq!(x.ncols(), N, "LayerNorm: input width");
        let rows = x.nrows();
        for buffer in [&mut self.x_hat, &mut self.out, &mut self.grad_input] {
            buffer.resize(rows);
        }
        self.inv_std.resize(rows);
        let mut x_hat = self.x_hat.view_mut();
        let mut out = self.out.view_mut();
        let mut inv_std = self.inv_std.view_mut();
        for (((x, x_hat), out), inv_std) in x
            .rows()
            .into_iter()
            .zip(x_hat.rows_mut())
            .zip(out.rows_mut())
            .zip(inv_std.iter_mut())
        {
            *inv_std = normalize(x, x_hat, out, &self.weight, &self.bias, self.eps);
        }
    }

    /// The output of the last forward.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    /// Gradients from `grad_out` = g: dβ = Σ_rows g, dγ = Σ_rows g ⊙ x̂ (overwritten), and if
    /// `input_grad`, per sample with ĝ = g ⊙ γ:
    /// dx = inv_std / N · (N·ĝ − Σ ĝ − x̂ · Σ (ĝ ⊙ x̂)).
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
            "LayerNorm: backward on a different batch than forward"
        );
        self.bias_grad.fill(F::zero());
        self.weight_grad.fill(F::zero());
        for (g, x_hat) in grad_out.rows().into_iter().zip(self.x_hat.view().rows()) {
            Zip::from(&mut self.bias_grad)
                .and(&mut self.weight_grad)
                .and(g)
                .and(x_hat)
                .for_each(|db, dg, &g, &h| {
                    *db += g;
                    *dg += g * h;
                });
        }
        if !input_grad {
            return;
        }
        let n = F::from_f64(N as f64);
        let x_hat = self.x_hat.view();
        let inv_std = self.inv_std.view();
        let mut grad_input = self.grad_input.view_mut();
        for (((g, x_hat), &inv_std), mut dx) in grad_out
            .rows()
            .into_iter()
            .zip(x_hat.rows())
            .zip(inv_std.iter())
            .zip(grad_input.rows_mut())
        {
            // Σ ĝ and Σ ĝ ⊙ x̂, with ĝ = g ⊙ γ.
            let (mut sum, mut dot) = (F::zero(), F::zero());
            Zip::from(g)
                .and(x_hat)
                .and(&self.weight)
                .for_each(|&g, &h, &gamma| {
                    let gh = g * gamma;
                    sum += gh;
                    dot += gh * h;
                });
            let scale = inv_std / n;
            Zip::from(&mut dx)
                .and(g)
                .and(x_hat)
                .and(&self.weight)
                .for_each(|dx, &g, &h, &gamma| {
                    *dx = scale * (n * g * gamma - sum - h * dot);
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

    /// Forward into a new array; the layer is left as it is.
    ///
    /// # Panics
    /// If `x` is not `N` wide.
    pub fn predict(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        assert_eq!(x.ncols(), N, "LayerNorm: input width");
        let mut x_hat = Array1::zeros(N);
        let mut out = Array2::zeros(x.raw_dim());
        for (x, out) in x.rows().into_iter().zip(out.rows_mut()) {
            normalize(x, x_hat.view_mut(), out, &self.weight, &self.bias, self.eps);
        }
        out
    }

    /// Lends `weight` (γ) then `bias` (β), with their gradients and the per-sample shape,
    /// to `f`, under the label `layer`.
    pub fn visit_params(&mut self, layer: &str, f: &mut dyn FnMut(Param<'_, F>)) {
        f(Param {
            layer,
            name: "weight",
            shape: self.shape,
            value: contiguous(&mut self.weight),
            grad: contiguous(&mut self.weight_grad),
        });
        f(Param {
            layer,
            name: "bias",
            shape: self.shape,
            value: contiguous(&mut self.bias),
            grad: contiguous(&mut self.bias_grad),
        });
    }
}

/// One sample: x̂ = (x − μ)·inv_std and out = γ x̂ + β, with μ and the biased variance
/// computed in two passes (for accuracy); returns inv_std = 1/√(σ² + eps).
fn normalize<F: Float>(
    x: ArrayView1<'_, F>,
    mut x_hat: ArrayViewMut1<'_, F>,
    mut out: ArrayViewMut1<'_, F>,
    gamma: &Array1<F>,
    beta: &Array1<F>,
    eps: F,
) -> F {
    let n = F::from_f64(x.len() as f64);
    let mean = x.fold(F::zero(), |s, &v| s + v) / n;
    let var = x.fold(F::zero(), |s, &v| s + (v - mean) * (v - mean)) / n;
    let inv_std = (var + eps).sqrt().recip();
    Zip::from(&mut x_hat)
        .and(x)
        .for_each(|h, &v| *h = (v - mean) * inv_std);
    Zip::from(&mut out)
        .and(&x_hat)
        .and(gamma)
        .and(beta)
        .for_each(|o, &h, &g, &b| *o = g * h + b);
    inv_std
}

/// The elements of a vector in order.
///
/// # Panics
/// If the array is not contiguous — only possible if a user replaced a pub field.
fn contiguous<F>(a: &mut Array1<F>) -> &mut [F] {
    a.as_slice_mut()
        .expect("LayerNorm: parameters must be contiguous")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn normalizes_each_sample_on_its_own() {
        // Row 0: [1, 3, 5, 7] → μ 4, σ² 5; row 1 constant → x̂ 0, out = β.
        let mut ln = LayerNorm::<f64, 4>::new(&[1, 2, 2], 1e-5);
        ln.bias = array![0.5, 0.5, 0.5, 0.5];
        let x = array![[1.0, 3.0, 5.0, 7.0], [2.0, 2.0, 2.0, 2.0]];
        ln.forward(x.view(), Mode::Train);
        let s = 1.0 / (5.0f64 + 1e-5).sqrt();
        let expected = array![
            [0.5 - 3.0 * s, 0.5 - s, 0.5 + s, 0.5 + 3.0 * s],
            [0.5, 0.5, 0.5, 0.5]
        ];
        assert!((&ln.output() - &expected).iter().all(|d| d.abs() < 1e-15));
        assert_eq!(ln.predict(x.view()), ln.output());
        ln.forward(x.view(), Mode::Eval);
        assert_eq!(ln.predict(x.view()), ln.output(), "eval is the same");
    }

    #[test]
    fn params_have_the_sample_shape() {
        let mut ln = LayerNorm::<f32, 12>::new(&[3, 2, 2], 1e-5);
        assert_eq!(LayerNorm::<f32, 12>::PARAMS, 24);
        let mut seen = Vec::new();
        ln.visit_params("ln", &mut |p| {
            seen.push((p.full_name(), p.shape.to_vec(), p.value.len()))
        });
        assert_eq!(
            seen,
            vec![
                ("ln.weight".into(), vec![3, 2, 2], 12),
                ("ln.bias".into(), vec![3, 2, 2], 12)
            ]
        );
    }

    #[test]
    #[should_panic(expected = "a shape of [3, 2] has 6 values, not the layer's 12")]
    fn a_shape_of_the_wrong_size_is_refused() {
        LayerNorm::<f32, 12>::new(&[3, 2], 1e-5);
    }
}
