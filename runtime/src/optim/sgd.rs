//! Plain stochastic gradient descent.

use crate::float::Float;
use crate::kernels;
use crate::model::Model;
use crate::optim::Optimizer;

/// Plain SGD: p ← p − lr · ∂loss/∂p, as `torch.optim.SGD` with no momentum or decay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f64,
}

impl Sgd {
    /// SGD with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        Self { lr }
    }
}

impl<F: Float> Optimizer<F> for Sgd {
    fn step(&mut self, model: &mut dyn Model<F>) {
        let minus_lr = F::from_f64(-self.lr);
        model.visit_params(&mut |p| kernels::axpy_slices(minus_lr, p.grad, p.value));
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }
}
