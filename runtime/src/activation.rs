//! Activation functions, used inside [`Dense`](crate::layers::Dense) and as stand-alone
//! [`Activation`](crate::layers::Activation) layers.
//!
//! Each is a small value (a unit struct, or a struct of its parameters such as a slope), so
//! parameterised activations fit the same trait. Element-wise ones are written with two
//! helpers, [`map`] and [`map_backward`], so that each backward pass is one line: the
//! derivative, expressed with the input `x` and/or the output `y = f(x)`.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

use crate::float::Float;
use crate::kernels;

/// A function applied to a layer's output, with its derivative.
pub trait ActivationFn<F: Float>: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Name in the language (`"relu"`), for summaries and messages.
    const NAME: &'static str;

    /// True only for [`Identity`]: lets `Dense` skip the copy and the backward pass.
    const IS_IDENTITY: bool = false;

    /// y = f(x), row by row (row-wise functions such as softmax need the whole row).
    fn forward(&self, x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>);

    /// grad_x = grad_y · f'(x), given x and y = f(x).
    fn backward(
        &self,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        grad_x: ArrayViewMut2<'_, F>,
    );
}

/// y = f(x) element-wise: the forward pass of element-wise activations.
pub fn map<F: Float>(x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>, f: impl Fn(F) -> F) {
    Zip::from(y).and(x).for_each(|y, &x| *y = f(x));
}

/// grad_x = grad_y · d(x, y) element-wise, where `d` is the derivative written with the
/// input `x` and the output `y`: the backward pass of element-wise activations.
pub fn map_backward<F: Float>(
    x: ArrayView2<'_, F>,
    y: ArrayView2<'_, F>,
    grad_y: ArrayView2<'_, F>,
    grad_x: ArrayViewMut2<'_, F>,
    d: impl Fn(F, F) -> F,
) {
    Zip::from(grad_x)
        .and(x)
        .and(y)
        .and(grad_y)
        .for_each(|gx, &x, &y, &gy| *gx = gy * d(x, y));
}

/// f(x) = x: a dense layer with no activation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity;

impl<F: Float> ActivationFn<F> for Identity {
    const NAME: &'static str = "identity";
    const IS_IDENTITY: bool = true;

    fn forward(&self, x: ArrayView2<'_, F>, mut y: ArrayViewMut2<'_, F>) {
        y.assign(&x);
    }

    fn backward(
        &self,
        _x: ArrayView2<'_, F>,
        _y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        mut grad_x: ArrayViewMut2<'_, F>,
    ) {
        grad_x.assign(&grad_y);
    }
}

/// Heaviside step: 1 if x > 0 else 0 (the perceptron). Its derivative is taken as 0
/// everywhere, so nothing trains through it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Step;

impl<F: Float> ActivationFn<F> for Step {
    const NAME: &'static str = "step";

    fn forward(&self, x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>) {
        map(x, y, |x| if x > F::zero() { F::one() } else { F::zero() });
    }

    fn backward(
        &self,
        _x: ArrayView2<'_, F>,
        _y: ArrayView2<'_, F>,
        _grad_y: ArrayView2<'_, F>,
        mut grad_x: ArrayViewMut2<'_, F>,
    ) {
        grad_x.fill(F::zero());
    }
}

/// σ(x) = 1 / (1 + e^−x), evaluated without overflow for large |x|.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sigmoid;

/// σ(x), computed through e^−|x| so that no intermediate overflows.
pub fn sigmoid<F: Float>(x: F) -> F {
    if x >= F::zero() {
        F::one() / (F::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (F::one() + e)
    }
}

impl<F: Float> ActivationFn<F> for Sigmoid {
    const NAME: &'static str = "sigmoid";

    fn forward(&self, x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>) {
        map(x, y, sigmoid);
    }

    fn backward(
        &self,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        grad_x: ArrayViewMut2<'_, F>,
    ) {
        map_backward(x, y, grad_y, grad_x, |_, y| y * (F::one() - y));
    }
}

/// tanh(x).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tanh;

impl<F: Float> ActivationFn<F> for Tanh {
    const NAME: &'static str = "tanh";

    fn forward(&self, x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>) {
        map(x, y, F::tanh);
    }

    fn backward(
        &self,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        grad_x: ArrayViewMut2<'_, F>,
    ) {
        map_backward(x, y, grad_y, grad_x, |_, y| F::one() - y * y);
    }
}

/// max(x, 0). Its derivative at 0 is taken as 0, as in PyTorch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relu;

impl<F: Float> ActivationFn<F> for Relu {
    const NAME: &'static str = "relu";

    fn forward(&self, x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>) {
        map(x, y, |x| x.max(F::zero()));
    }

    fn backward(
        &self,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        grad_x: ArrayViewMut2<'_, F>,
    ) {
        map_backward(x, y, grad_y, grad_x, |x, _| {
            if x > F::zero() {
                F::one()
            } else {
                F::zero()
            }
        });
    }
}

/// Row-wise softmax, yᵢ = e^xᵢ / Σⱼ e^xⱼ, stable for large logits (the row maximum is
/// subtracted first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Softmax;

impl<F: Float> ActivationFn<F> for Softmax {
    const NAME: &'static str = "softmax";

    fn forward(&self, x: ArrayView2<'_, F>, mut y: ArrayViewMut2<'_, F>) {
        y.assign(&x);
        for row in y.rows_mut() {
            kernels::softmax_in_place(row);
        }
    }

    /// grad_x = y ⊙ (grad_y − ⟨grad_y, y⟩), row by row (the Jacobian diag(y) − y·yᵀ applied).
    fn backward(
        &self,
        _x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        mut grad_x: ArrayViewMut2<'_, F>,
    ) {
        for ((y, gy), gx) in y
            .rows()
            .into_iter()
            .zip(grad_y.rows())
            .zip(grad_x.rows_mut())
        {
            let inner = kernels::dot(gy, y);
            Zip::from(gx)
                .and(y)
                .and(gy)
                .for_each(|gx, &y, &gy| *gx = y * (gy - inner));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    fn apply<A: ActivationFn<f64>>(a: A, x: Array2<f64>) -> Array2<f64> {
        let mut y = Array2::from_elem(x.dim(), f64::NAN);
        a.forward(x.view(), y.view_mut());
        y
    }

    fn assert_close(a: &Array2<f64>, b: &Array2<f64>, tol: f64) {
        assert_eq!(a.dim(), b.dim());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= tol, "{a} vs {b}");
        }
    }

    // Reference values: torch.sigmoid / torch.tanh / torch.softmax definitions, evaluated
    // independently (closed forms / published constants).
    #[test]
    fn known_values() {
        let x = array![[-2.0, 0.0, 0.5, 2.0]];
        assert_close(
            &apply(Sigmoid, x.clone()),
            &array![[
                0.11920292202211755,
                0.5,
                0.6224593312018546,
                0.8807970779778823
            ]],
            1e-15,
        );
        assert_close(
            &apply(Tanh, x.clone()),
            &array![[
                -0.9640275800758169,
                0.0,
                0.46211715726000974,
                0.9640275800758169
            ]],
            1e-15,
        );
        assert_eq!(apply(Relu, x.clone()), array![[0.0, 0.0, 0.5, 2.0]]);
        assert_eq!(apply(Step, x.clone()), array![[0.0, 0.0, 1.0, 1.0]]);
        assert_eq!(apply(Identity, x), array![[-2.0, 0.0, 0.5, 2.0]]);
        assert_close(
            &apply(Softmax, array![[1.0, 2.0, 3.0]]),
            &array![[0.09003057317038046, 0.24472847105479767, 0.6652409557748219]],
            1e-15,
        );
    }

    #[test]
    fn softmax_is_stable_for_huge_logits() {
        let y = apply(Softmax, array![[1000.0, 1000.0], [-1000.0, 0.0]]);
        assert!(y.iter().all(|v| v.is_finite()), "{y}");
        assert_close(&y, &array![[0.5, 0.5], [0.0, 1.0]], 1e-15);
        let y32 = {
            let mut y = Array2::<f32>::zeros((1, 2));
            Softmax.forward(array![[1000.0f32, 1000.0]].view(), y.view_mut());
            y
        };
        assert_eq!(y32, array![[0.5f32, 0.5]]);
    }

    #[test]
    fn sigmoid_is_finite_at_extremes() {
        let y = apply(Sigmoid, array![[-1000.0, 1000.0]]);
        assert_eq!(y, array![[0.0, 1.0]]);
        let mut y32 = Array2::<f32>::zeros((1, 2));
        Sigmoid.forward(array![[-1000.0f32, 1000.0]].view(), y32.view_mut());
        assert_eq!(y32, array![[0.0f32, 1.0]]);
    }

    #[test]
    fn derivatives_at_kinks_follow_pytorch() {
        // relu'(0) = 0 and step' = 0, as PyTorch's autograd gives for relu / heaviside.
        let x = array![[0.0, -1.0, 3.0]];
        let g = array![[5.0, 5.0, 5.0]];
        let mut gx = Array2::from_elem((1, 3), f64::NAN);
        Relu.backward(
            x.view(),
            apply(Relu, x.clone()).view(),
            g.view(),
            gx.view_mut(),
        );
        assert_eq!(gx, array![[0.0, 0.0, 5.0]]);
        Step.backward(
            x.view(),
            apply(Step, x.clone()).view(),
            g.view(),
            gx.view_mut(),
        );
        assert_eq!(gx, array![[0.0, 0.0, 0.0]]);
    }
}
