//! Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::float::Float;
use crate::kernels;
use crate::optim::{
    all_finite_of, check_update, each, finite, non_negative, Optimizer, ParamState, States,
};

/// SGD as `torch.optim.SGD`. With only a learning rate it is plain gradient descent,
/// p ← p − lr · g, and keeps no state. Otherwise, per step:
///
/// ```text
/// g ← g + weight_decay · p                                   (if weight_decay ≠ 0)
/// b ← g on the first step, else momentum · b + (1 − dampening) · g   (if momentum ≠ 0)
/// g ← g + momentum · b if nesterov, else b                   (if momentum ≠ 0)
/// p ← p − lr · g
/// ```
///
/// `Sgd::new(0.1).momentum(0.9).nesterov(true)`. `F` is the parameters' type; it is inferred
/// from the network the optimizer is used with.
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd<F = f32> {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (0: none).
    pub momentum: f64,
    /// Dampening of the gradient's contribution to the momentum buffer.
    pub dampening: f64,
    /// Nesterov momentum (needs momentum > 0 and no dampening).
    pub nesterov: bool,
    /// L2 penalty added to the gradient (coupled weight decay).
    pub weight_decay: f64,
    states: States<SgdState<F>>,
}

/// The momentum buffer of one parameter.
#[derive(Clone, Debug, PartialEq)]
struct SgdState<F> {
    momentum_buffer: Vec<F>,
    /// Whether the buffer holds a value yet (PyTorch's `buf is None`).
    started: bool,
}

impl<F> ParamState for SgdState<F> {
    fn len(&self) -> usize {
        self.momentum_buffer.len()
    }
}

impl<F: Float> Sgd<F> {
    /// Plain SGD with learning rate `lr`: no momentum, no weight decay.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            states: States::default(),
        }
    }

    /// Sets the momentum factor (PyTorch's `momentum`, default 0).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Sets the dampening (PyTorch's `dampening`, default 0).
    pub fn dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }

    /// Switches Nesterov momentum on or off (PyTorch's `nesterov`, default off).
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Sets the L2 penalty (PyTorch's `weight_decay`, default 0).
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

/// PyTorch's default learning rate, 1e-3.
impl<F: Float> Default for Sgd<F> {
    fn default() -> Self {
        Self::new(1e-3)
    }
}

impl<F: Float> Sgd<F> {
    /// One update of the parameter that is `index`-th in visit order, copying the values it
    /// replaces into `before` with `BACKUP`; whether the updated values are all finite (known
    /// only with `BACKUP`, checked by the threads that updated them).
    fn apply<const BACKUP: bool>(
        &mut self,
        index: usize,
        value: &mut [F],
        grad: &[F],
        before: &mut [F],
    ) -> Result<bool> {
        Optimizer::<F>::validate(self)?;
        check_update::<F, BACKUP>("Sgd", value, grad, before)?;
        let n = value.len();
        let finite = AtomicBool::new(true);
        let (minus_lr, decay, weight_decay) = self.plain_step();
        // Large tensors are updated by the kernels' threads, each on the rows it computes.
        let parts = kernels::elementwise_parts(n, 16);
        let mut backups = kernels::slice_carver(before, usize::from(BACKUP));
        let mut values = kernels::slice_carver(value, 1);
        if self.momentum == 0.0 {
            parts.run(
                |range| (values(range.clone()), backups(range)),
                |range, (value, before)| {
                    // Scalars copied into locals and one loop per case, so the loop
                    // vectorizes (read through the closure's references, they were reloaded
                    // every element).
                    let (minus_lr, weight_decay) = (minus_lr, weight_decay);
                    let grad = &grad[range];
                    let part_finite = if decay {
                        each::<F, BACKUP>(value, grad, before, |_, p, g| {
                            *p += minus_lr * (g + weight_decay * *p);
                        })
                    } else {
                        each::<F, BACKUP>(value, grad, before, |_, p, g| *p += minus_lr * g)
                    };
                    if !part_finite {
                        finite.store(false, Ordering::Relaxed);
                    }
                },
            );
            return Ok(finite.into_inner());
        }
        let momentum = F::from_f64(self.momentum);
        let keep = F::from_f64(1.0 - self.dampening);
        let state = self.states.get(index, n, |n| SgdState {
            momentum_buffer: vec![F::zero(); n],
            started: false,
        });
        let first = !state.started;
        state.started = true;
        let nesterov = self.nesterov;
        let mut buffers = kernels::slice_carver(&mut state.momentum_buffer, 1);
        parts.run(
            |range| {
                (
                    values(range.clone()),
                    buffers(range.clone()),
                    backups(range),
                )
            },
            |range, (value, buffer, before)| {
                let (minus_lr, weight_decay, momentum, keep) =
                    (minus_lr, weight_decay, momentum, keep);
                let (decay, first, nesterov) = (decay, first, nesterov);
                let buffer = &mut buffer[..value.len()];
                let part_finite = each::<F, BACKUP>(value, &grad[range], before, |i, p, g| {
                    let b = &mut buffer[i];
                    let g = if decay { g + weight_decay * *p } else { g };
                    *b = if first { g } else { *b * momentum + keep * g };
                    let direction = if nesterov { g + momentum * *b } else { *b };
                    *p += minus_lr * direction;
                });
                if !part_finite {
                    finite.store(false, Ordering::Relaxed);
                }
            },
        );
        Ok(finite.into_inner())
    }

    /// The step's scalars in `F`: −lr, whether there is weight decay, and its factor.
    fn plain_step(&self) -> (F, bool, F) {
        let decay = self.weight_decay != 0.0;
        (F::from_f64(-self.lr), decay, F::from_f64(self.weight_decay))
    }
}

impl<F: Float> Optimizer<F> for Sgd<F> {
    fn update(&mut self, index: usize, value: &mut [F], grad: &[F]) -> Result<()> {
        self.apply::<false>(index, value, grad, &mut []).map(|_| ())
    }

    fn update_with_backup(
        &mut self,
        index: usize,
        value: &mut [F],
        grad: &[F],
        before: &mut [F],
    ) -> Result<bool> {
        self.apply::<true>(index, value, grad, before)
    }

    /// Without momentum, the update is p + (−lr)·(g + weight_decay·p) with nothing else
    /// changed, so it is computed here, in the same order (hence to the same bits), only to
    /// see whether it is finite: one read of the parameter and its gradient, split over the
    /// kernels' threads as the update is.
    fn update_stays_finite(&self, _index: usize, value: &[F], grad: &[F]) -> Option<bool> {
        if self.momentum != 0.0
            || value.len() != grad.len()
            || Optimizer::<F>::validate(self).is_err()
        {
            return None;
        }
        let (minus_lr, decay, weight_decay) = self.plain_step();
        let finite = AtomicBool::new(true);
        kernels::elementwise_parts(value.len(), 16).run(
            |_| (),
            |range, ()| {
                let (minus_lr, weight_decay) = (minus_lr, weight_decay);
                let (value, grad) = (&value[range.clone()], &grad[range]);
                let part_finite = if decay {
                    all_finite_of(value, grad, move |p, g| {
                        p + minus_lr * (g + weight_decay * p)
                    })
                } else {
                    all_finite_of(value, grad, move |p, g| p + minus_lr * g)
                };
                if !part_finite {
                    finite.store(false, Ordering::Relaxed);
                }
            },
        );
        Some(finite.into_inner())
    }

    fn validate(&self) -> Result<()> {
        non_negative::<F>("Sgd", "lr", self.lr)?;
        non_negative::<F>("Sgd", "momentum", self.momentum)?;
        non_negative::<F>("Sgd", "weight_decay", self.weight_decay)?;
        finite::<F>("Sgd", "dampening", self.dampening)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::Config(format!(
                "Sgd: Nesterov momentum needs momentum > 0 and dampening 0, got momentum {} and dampening {}",
                self.momentum, self.dampening
            )));
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.states.clear();
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two steps by hand: b₁ = g₁, b₂ = 0.9·b₁ + 0.5·g₂ (dampening 0.5), p −= lr·b.
    #[test]
    fn momentum_with_dampening_by_hand() {
        let mut sgd = Sgd::new(0.1).momentum(0.9).dampening(0.5);
        let mut p = [1.0f64];
        sgd.update(0, &mut p, &[2.0]).unwrap();
        assert_eq!(p, [1.0 - 0.1 * 2.0]);
        sgd.update(0, &mut p, &[4.0]).unwrap();
        let b2 = 0.9 * 2.0 + 0.5 * 4.0;
        assert!((p[0] - (0.8 - 0.1 * b2)).abs() < 1e-15);
    }

    #[test]
    fn plain_sgd_keeps_no_state() {
        let mut sgd = Sgd::new(0.5);
        let mut p = [1.0f32, -1.0];
        sgd.update(0, &mut p, &[1.0, 2.0]).unwrap();
        assert_eq!(p, [0.5, -2.0]);
        assert_eq!(sgd.states, States::default());
    }

    #[test]
    fn invalid_settings_are_errors() {
        let mut p = [1.0f64];
        for sgd in [
            Sgd::new(-0.1),
            Sgd::new(0.1).momentum(-0.5),
            Sgd::new(0.1).weight_decay(-1.0),
            Sgd::new(0.1).nesterov(true),
            Sgd::new(0.1).momentum(0.9).dampening(0.1).nesterov(true),
        ] {
            let mut sgd = sgd;
            assert!(matches!(
                sgd.update(0, &mut p, &[1.0]),
                Err(Error::Config(_))
            ));
        }
        assert_eq!(p, [1.0], "a refused update leaves the parameter alone");
        assert!(Sgd::<f64>::new(0.1).update(0, &mut p, &[1.0, 2.0]).is_err());
    }

    /// A tensor large enough to be updated on the kernel threads: every element gets the
    /// formula with its own gradient (plain with weight decay; then momentum, two steps),
    /// the same on all threads as on one.
    #[test]
    fn large_tensors_split_over_threads_update_every_element_by_the_formula() {
        let n = 1 << 17;
        let grad: Vec<f64> = (0..n).map(|i| (i % 97) as f64 * 0.01 - 0.4).collect();
        let start: Vec<f64> = (0..n).map(|i| (i % 31) as f64 * 0.1).collect();
        let run = |threads: usize| {
            crate::kernels::set_threads(threads);
            let mut plain = start.clone();
            Sgd::new(0.1)
                .weight_decay(0.01)
                .update(0, &mut plain, &grad)
                .unwrap();
            let mut moving = start.clone();
            let mut sgd = Sgd::new(0.1).momentum(0.9);
            sgd.update(0, &mut moving, &grad).unwrap();
            sgd.update(0, &mut moving, &grad).unwrap();
            (plain, moving)
        };
        let all = crate::kernels::threads();
        let (one, split) = (run(1), run(all.max(2)));
        crate::kernels::set_threads(all);
        assert_eq!(one, split);
        for i in 0..n {
            let (p, g) = (start[i], grad[i]);
            assert_eq!(one.0[i], p + -0.1 * (g + 0.01 * p), "plain, element {i}");
            // b₁ = g, p₁ = p − 0.1·g; b₂ = 0.9·g + g, p₂ = p₁ − 0.1·b₂.
            let p1 = p + -0.1 * g;
            let b2 = g * 0.9 + 1.0 * g;
            assert_eq!(one.1[i], p1 + -0.1 * b2, "momentum, element {i}");
        }
    }
}
