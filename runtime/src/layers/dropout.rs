//! Inverted dropout (`dropout P`): active only in training.

use ndarray::{Array2, ArrayView2, Zip};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::float::Float;
use crate::model::Mode;
use crate::scratch::Scratch;

/// Inverted dropout over `N` columns: in training each entry is kept with probability
/// 1 − `rate` and survivors are scaled by 1/(1 − `rate`), so the expected output equals the
/// input and eval mode can be the identity.
///
/// The layer owns its random generator, seeded from the model's generator at construction,
/// so a network built from a seed draws the same masks on every run. A fresh mask is drawn
/// at every training forward pass (unless [`Dropout::freeze_mask`] is on); backward uses the
/// mask of the last forward. It has no parameters.
#[derive(Clone, Debug)]
pub struct Dropout<F: Float, const N: usize> {
    /// Probability of zeroing an entry, in [0, 1].
    rate: f64,
    /// 1/(1 − rate): the value of a kept entry of the mask (0 when rate is 1).
    scale: F,
    /// The layer's own generator, seeded from the model's at construction.
    rng: StdRng,
    /// While true, training forwards reuse the last mask (for gradient checks).
    frozen: bool,
    /// Whether the last forward was in training mode (else backward is the identity).
    train: bool,
    /// Rows of the last drawn mask (0 if none): a frozen mask is reused only for this batch size.
    mask_rows: usize,
    /// 0 or `scale` per entry: the mask of the last training forward.
    mask: Scratch<F>,
    /// x ⊙ mask (training) or x (eval) of the last forward.
    out: Scratch<F>,
    /// d loss / d x of the last backward.
    grad_input: Scratch<F>,
}

impl<F: Float, const N: usize> Dropout<F, N> {
    /// Number of scalar parameters: none.
    pub const PARAMS: usize = 0;

    /// A dropout layer zeroing each entry with probability `rate` in training; its own
    /// generator is seeded by one `u64` drawn from `rng`. A rate of 0 is the identity; a rate
    /// of 1 zeroes everything (as PyTorch's `Dropout(1.0)`).
    ///
    /// # Panics
    /// If `rate` is not in [0, 1] (the compiler rejects such rates).
    pub fn new<R: Rng + ?Sized>(rate: f64, rng: &mut R) -> Self {
        assert!(
            (0.0..=1.0).contains(&rate),
            "Dropout: rate must be in [0, 1], got {rate}"
        );
        let scale = if rate < 1.0 {
            F::from_f64(1.0 / (1.0 - rate))
        } else {
            F::zero()
        };
        Self {
            rate,
            scale,
            rng: StdRng::seed_from_u64(rng.random()),
            frozen: false,
            train: false,
            mask_rows: 0,
            mask: Scratch::new(N),
            out: Scratch::new(N),
            grad_input: Scratch::new(N),
        }
    }

    /// The dropout probability.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// While `frozen`, training forwards reuse the last mask instead of drawing a new one
    /// (a mask is still drawn if there is none yet or the batch size changed). Gradient
    /// checks need this: the loss must be the same function of x at every evaluation.
    pub fn freeze_mask(&mut self, frozen: bool) {
        self.frozen = frozen;
    }

    /// The mask of the last training forward: 0 for dropped entries, 1/(1 − rate) for kept ones.
    pub fn mask(&self) -> ArrayView2<'_, F> {
        self.mask.view()
    }

    /// Training: out = x ⊙ mask with a fresh mask (see [`Dropout::freeze_mask`]).
    /// Eval: out = x.
    ///
    /// # Panics
    /// If `x` is not `N` wide (generated code guarantees it).
    pub fn forward(&mut self, x: ArrayView2<'_, F>, mode: Mode) {
        assert_eq!(x.ncols(), N, "Dropout: input width");
        let rows = x.nrows();
        self.out.resize(rows);
        self.grad_input.resize(rows);
        self.train = mode == Mode::Train;
        if !self.train {
            self.out.view_mut().assign(&x);
            return;
        }
        if !(self.frozen && self.mask_rows == rows) {
            self.draw_mask(rows);
        }
        Zip::from(self.out.view_mut())
            .and(x)
            .and(self.mask.view())
            .for_each(|o, &x, &m| *o = x * m);
    }

    /// Draws a new mask for `rows` rows: one uniform draw per entry, dropped if below `rate`.
    fn draw_mask(&mut self, rows: usize) {
        self.mask.resize(rows);
        self.mask_rows = rows;
        let (rate, scale, rng) = (self.rate, self.scale, &mut self.rng);
        if rate == 0.0 {
            self.mask.view_mut().fill(F::one());
            return;
        }
        self.mask.view_mut().mapv_inplace(|_| {
            if rng.random::<f64>() < rate {
                F::zero()
            } else {
                scale
            }
        });
    }

    /// The output of the last forward.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    /// d loss / d x = mask ⊙ `grad_out` after a training forward (the same mask), and
    /// `grad_out` itself after an eval forward. With no parameters there is nothing else to
    /// compute, so `input_grad = false` skips everything; `x` is only checked.
    ///
    /// # Panics
    /// If `x` or `grad_out` do not have the shape of the last forward.
    pub fn backward(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_out: ArrayView2<'_, F>,
        input_grad: bool,
    ) {
        if !input_grad {
            return;
        }
        let shape = (self.out.rows(), N);
        assert!(
            x.dim() == shape && grad_out.dim() == shape,
            "Dropout: backward on a different batch than forward"
        );
        if !self.train {
            self.grad_input.view_mut().assign(&grad_out);
            return;
        }
        Zip::from(self.grad_input.view_mut())
            .and(grad_out)
            .and(self.mask.view())
            .for_each(|d, &g, &m| *d = g * m);
    }

    /// d loss / d x of the last backward with `input_grad`.
    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_input.view()
    }

    /// Rows of the last forward batch (0 before any).
    pub fn rows(&self) -> usize {
        self.out.rows()
    }

    /// Eval-mode forward into a new array: a copy of `x`.
    ///
    /// # Panics
    /// If `x` is not `N` wide.
    pub fn predict(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        assert_eq!(x.ncols(), N, "Dropout: input width");
        x.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn rate_zero_is_identity_and_rate_one_zeroes() {
        let rng = &mut StdRng::seed_from_u64(0);
        let x = array![[1.0f64, -2.0, 3.0]];
        let mut d = Dropout::<f64, 3>::new(0.0, rng);
        d.forward(x.view(), Mode::Train);
        assert_eq!(d.output(), x);
        let mut d = Dropout::<f64, 3>::new(1.0, rng);
        d.forward(x.view(), Mode::Train);
        assert_eq!(d.output(), array![[0.0, 0.0, 0.0]]);
        d.backward(x.view(), array![[1.0, 1.0, 1.0]].view(), true);
        assert_eq!(d.grad_input(), array![[0.0, 0.0, 0.0]]);
    }

    #[test]
    #[should_panic(expected = "rate must be in [0, 1]")]
    fn rejects_rate_above_one() {
        Dropout::<f32, 2>::new(1.5, &mut StdRng::seed_from_u64(0));
    }

    #[test]
    fn eval_backward_is_identity() {
        let mut d = Dropout::<f64, 2>::new(0.5, &mut StdRng::seed_from_u64(0));
        let x = array![[1.0, 2.0]];
        d.forward(x.view(), Mode::Eval);
        assert_eq!(d.output(), x);
        d.backward(x.view(), array![[3.0, 4.0]].view(), true);
        assert_eq!(d.grad_input(), array![[3.0, 4.0]]);
    }
}
