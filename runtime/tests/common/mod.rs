//! A two-layer network written by hand the way `network!` generates one, so that the
//! runtime's `Model`-level machinery (fit, evaluate, gradcheck, optimizers) can be tested
//! without the compiler.
#![allow(dead_code)]

use axonal::activation::ActivationFn;
use axonal::init::Init;
use axonal::layers::Dense;
use axonal::loss::{Loss, LossFn};
use axonal::model::{check_backward, check_input};
use axonal::ndarray::{Array2, ArrayView2};
use axonal::{Float, Mode, Model, Param, Result, TargetsView};
use rand::Rng;

/// `input I; fc1: dense I->H A; fc2: dense H->O; L`
pub struct Mlp<
    F: Float,
    const I: usize,
    const H: usize,
    const O: usize,
    A: ActivationFn<F>,
    L: LossFn<F>,
> {
    pub fc1: Dense<F, I, H, A>,
    pub fc2: Dense<F, H, O>,
    pub loss: Loss<F, L, O>,
}

impl<
        F: Float,
        const I: usize,
        const H: usize,
        const O: usize,
        A: ActivationFn<F>,
        L: LossFn<F>,
    > Mlp<F, I, H, O, A, L>
{
    pub fn new<R: Rng + ?Sized>(activation: A, loss: L, rng: &mut R) -> Self {
        Self {
            fc1: Dense::new(
                activation,
                Init::XavierNormal,
                Init::Normal {
                    mean: 0.0,
                    std: 0.1,
                },
                rng,
            ),
            fc2: Dense::new(
                axonal::activation::Identity,
                Init::XavierNormal,
                Init::Normal {
                    mean: 0.0,
                    std: 0.1,
                },
                rng,
            ),
            loss: Loss::new(loss),
        }
    }
}

impl<
        F: Float,
        const I: usize,
        const H: usize,
        const O: usize,
        A: ActivationFn<F>,
        L: LossFn<F>,
    > Model<F> for Mlp<F, I, H, O, A, L>
{
    fn name(&self) -> &'static str {
        "Mlp"
    }

    fn input_width(&self) -> usize {
        I
    }

    fn output_width(&self) -> usize {
        O
    }

    fn forward(&mut self, x: ArrayView2<'_, F>, mode: Mode) -> Result<ArrayView2<'_, F>> {
        check_input(self.name(), &x, I)?;
        self.fc1.forward(x, mode);
        self.fc2.forward(self.fc1.output(), mode);
        Ok(self.fc2.output())
    }

    fn output(&self) -> ArrayView2<'_, F> {
        self.fc2.output()
    }

    fn loss(&mut self, targets: TargetsView<'_, F>) -> Result<F> {
        self.loss.forward(self.fc2.output(), targets)
    }

    fn backward_with(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_output: Option<ArrayView2<'_, F>>,
        input_grad: bool,
    ) -> Result<()> {
        check_backward(
            self.name(),
            &x,
            grad_output.as_ref(),
            self.fc2.output().dim(),
        )?;
        // ArrayView is invariant in its lifetime, hence `reborrow` rather than `unwrap_or`.
        let grad = match grad_output {
            Some(g) => g.reborrow(),
            None => self.loss.grad_input(),
        };
        self.fc2.backward(self.fc1.output(), grad, true);
        self.fc1.backward(x, self.fc2.grad_input(), input_grad);
        Ok(())
    }

    fn input_grad(&self) -> ArrayView2<'_, F> {
        self.fc1.grad_input()
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_, F>)) {
        self.fc1.visit_params("fc1", f);
        self.fc2.visit_params("fc2", f);
    }

    fn predict(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        check_input(self.name(), &x, I)?;
        let h = self.fc1.predict(x);
        Ok(self.loss.link(self.fc2.predict(h.view())))
    }
}

/// A deterministic pseudo-random matrix with entries in (−1, 1), independent of the code
/// under test.
pub fn matrix(rows: usize, cols: usize, seed: f64) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        ((i * cols + j) as f64 * 1.618 + seed).sin()
    })
}
