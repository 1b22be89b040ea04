//! Optimizers: how parameters move given their gradients.

mod sgd;

pub use sgd::Sgd;

use crate::float::Float;
use crate::model::Model;

/// Updates a model's parameters from the gradients of its last backward pass.
///
/// An optimizer sees parameters through [`Model::visit_params`], always in the same order,
/// so optimizers with per-parameter state (momentum, Adam's moments) keep one buffer per
/// visited parameter, indexed by visit order and allocated on the first step only.
pub trait Optimizer<F: Float> {
    /// One update of every parameter of the model from its current gradient.
    fn step(&mut self, model: &mut dyn Model<F>);

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Changes the learning rate (for schedules).
    fn set_learning_rate(&mut self, lr: f64);
}
