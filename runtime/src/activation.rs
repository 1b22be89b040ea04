//! Activation functions, used inside [`Dense`](crate::layers::Dense) and as stand-alone
//! [`Activation`](crate::layers::Activation) layers.
//!
//! Each is a small value (a unit struct, or a struct of its parameters such as a slope), so
//! parameterised activations fit the same trait. Element-wise ones are written with two
//! helpers, [`map`] and [`map_backward`], so that each backward pass is one line: the
//! derivative, expressed with the input `x` and/or the output `y = f(x)`.

use ndarray::{s, ArrayView2, ArrayViewMut2, Axis, Zip};

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

/// What one element of an activation pass costs, in multiply-add flops of the products, for
/// the thread split, as for the optimizers (mostly memory traffic: LeNet-5's first ReLU is
/// 1.2 M values per batch of 256, so large passes go over all threads, like the products
/// around them).
const FLOP_PER_ELEMENT: usize = 16;

/// y = f(x) element-wise: the forward pass of element-wise activations. Large batches are
/// split by rows over [`kernels::threads`] (element-wise, so the bits do not change).
pub fn map<F: Float>(x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>, f: impl Fn(F) -> F + Sync) {
    let parts = kernels::Parts::new(y.nrows(), FLOP_PER_ELEMENT * y.len(), 1);
    parts.run(kernels::carver(y, Axis(0)), |range, y| {
        Zip::from(y)
            .and(x.slice(s![range, ..]))
            .for_each(|y, &x| *y = f(x));
    });
}

/// grad_x = grad_y · d(x, y) element-wise, where `d` is the derivative written with the
/// input `x` and the output `y`: the backward pass of element-wise activations (split over
/// threads as [`map`]).
pub fn map_backward<F: Float>(
    x: ArrayView2<'_, F>,
    y: ArrayView2<'_, F>,
    grad_y: ArrayView2<'_, F>,
    grad_x: ArrayViewMut2<'_, F>,
    d: impl Fn(F, F) -> F + Sync,
) {
    let parts = kernels::Parts::new(grad_x.nrows(), FLOP_PER_ELEMENT * grad_x.len(), 1);
    parts.run(kernels::carver(grad_x, Axis(0)), |range, grad_x| {
        Zip::from(grad_x)
            .and(x.slice(s![range.clone(), ..]))
            .and(y.slice(s![range.clone(), ..]))
            .and(grad_y.slice(s![range, ..]))
            .for_each(|gx, &x, &y, &gy| *gx = gy * d(x, y));
    });
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

/// Leaky ReLU: x if x > 0, else slope·x (`torch.nn.functional.leaky_relu`). Its derivative
/// at 0 is `slope`, as PyTorch's autograd gives.
///
/// The language's default slope, PyTorch's too, is 0.01 (`leaky_relu` means
/// `leaky_relu 0.01`); [`Default`] gives it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu<F> {
    /// Slope for x ≤ 0.
    pub slope: F,
}

impl<F: Float> LeakyRelu<F> {
    /// The default slope of the language and of PyTorch: 0.01.
    pub const DEFAULT_SLOPE: f64 = 0.01;

    /// Leaky ReLU with the given slope for x ≤ 0 (any value; the compiler rejects bad ones).
    pub fn new(slope: f64) -> Self {
        Self {
            slope: F::from_f64(slope),
        }
    }
}

impl<F: Float> Default for LeakyRelu<F> {
    /// Slope 0.01 ([`LeakyRelu::DEFAULT_SLOPE`]).
    fn default() -> Self {
        Self::new(Self::DEFAULT_SLOPE)
    }
}

impl<F: Float> ActivationFn<F> for LeakyRelu<F> {
    const NAME: &'static str = "leaky_relu";

    fn forward(&self, x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>) {
        let slope = self.slope;
        map(x, y, |x| if x > F::zero() { x } else { x * slope });
    }

    fn backward(
        &self,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        grad_x: ArrayViewMut2<'_, F>,
    ) {
        let slope = self.slope;
        map_backward(x, y, grad_y, grad_x, |x, _| {
            if x > F::zero() {
                F::one()
            } else {
                slope
            }
        });
    }
}

/// ELU: x if x > 0, else alpha·(eˣ − 1) (`torch.nn.functional.elu`), with eˣ − 1 computed
/// by `exp_m1` as PyTorch does, so it keeps full precision near 0. Its derivative at 0 is
/// `alpha` (the x ≤ 0 branch, alpha·eˣ), as PyTorch's autograd gives.
///
/// The language's default alpha, PyTorch's too, is 1.0; [`Default`] gives it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elu<F> {
    /// Scale of the negative part: the value approached as x → −∞ is −alpha.
    pub alpha: F,
}

impl<F: Float> Elu<F> {
    /// The default alpha of the language and of PyTorch: 1.0.
    pub const DEFAULT_ALPHA: f64 = 1.0;

    /// ELU with the given alpha (any value; the compiler rejects bad ones).
    pub fn new(alpha: f64) -> Self {
        Self {
            alpha: F::from_f64(alpha),
        }
    }
}

impl<F: Float> Default for Elu<F> {
    /// Alpha 1.0 ([`Elu::DEFAULT_ALPHA`]).
    fn default() -> Self {
        Self::new(Self::DEFAULT_ALPHA)
    }
}

impl<F: Float> ActivationFn<F> for Elu<F> {
    const NAME: &'static str = "elu";

    fn forward(&self, x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>) {
        let alpha = self.alpha;
        map(x, y, |x| if x > F::zero() { x } else { x.exp_m1() * alpha });
    }

    fn backward(
        &self,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        grad_x: ArrayViewMut2<'_, F>,
    ) {
        let alpha = self.alpha;
        map_backward(x, y, grad_y, grad_x, |x, _| {
            if x > F::zero() {
                F::one()
            } else {
                alpha * x.exp()
            }
        });
    }
}

/// SELU: scale·x if x > 0, else scale·alpha·(eˣ − 1), with PyTorch's constants
/// ([`Selu::ALPHA`], [`Selu::SCALE`]) (`torch.nn.functional.selu`). Its derivative at 0 is
/// scale·alpha ≈ 1.758, as PyTorch's autograd gives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Selu;

impl Selu {
    /// α of Klambauer et al. (2017), as in PyTorch.
    pub const ALPHA: f64 = 1.673_263_242_354_377_284_817_042_991_671_7;
    /// λ (the scale) of Klambauer et al. (2017), as in PyTorch.
    pub const SCALE: f64 = 1.050_700_987_355_480_493_419_334_985_294_6;
}

impl<F: Float> ActivationFn<F> for Selu {
    const NAME: &'static str = "selu";

    fn forward(&self, x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>) {
        let (scale, scale_alpha) = (
            F::from_f64(Self::SCALE),
            F::from_f64(Self::SCALE * Self::ALPHA),
        );
        map(x, y, |x| {
            if x > F::zero() {
                x * scale
            } else {
                x.exp_m1() * scale_alpha
            }
        });
    }

    fn backward(
        &self,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        grad_x: ArrayViewMut2<'_, F>,
    ) {
        let (scale, scale_alpha) = (
            F::from_f64(Self::SCALE),
            F::from_f64(Self::SCALE * Self::ALPHA),
        );
        map_backward(x, y, grad_y, grad_x, |x, _| {
            if x > F::zero() {
                scale
            } else {
                scale_alpha * x.exp()
            }
        });
    }
}

/// Φ(x), the standard normal CDF, as ½·erfc(−x/√2) in `f64`: unlike ½·(1 + erf(x/√2)) it
/// does not cancel for negative x, and no intermediate overflows for any finite `f32`.
fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// φ(x) = e^(−x²/2) / √(2π), the standard normal density (0 when x² overflows).
fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp()
        * (0.5 * std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2)
}

/// GELU, exact: x·Φ(x) with Φ the standard normal CDF (`torch.nn.functional.gelu`,
/// approximate='none'). Φ is computed in `f64` with `libm::erfc`, so GELU stays accurate
/// for negative x where PyTorch's ½·(1 + erf) cancels; below x ≈ −8.3 PyTorch returns −0
/// where this returns the true value, under 1e-15 in magnitude.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gelu;

impl<F: Float> ActivationFn<F> for Gelu {
    const NAME: &'static str = "gelu";

    fn forward(&self, x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>) {
        map(x, y, |x| F::from_f64(x.as_f64() * normal_cdf(x.as_f64())));
    }

    /// gelu'(x) = Φ(x) + x·φ(x).
    fn backward(
        &self,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        grad_x: ArrayViewMut2<'_, F>,
    ) {
        map_backward(x, y, grad_y, grad_x, |x, _| {
            let x = x.as_f64();
            F::from_f64(normal_cdf(x) + x * normal_pdf(x))
        });
    }
}

/// GELU's tanh approximation, ½·x·(1 + tanh(u)) with u = √(2/π)·(x + 0.044715·x³)
/// (`torch.nn.functional.gelu`, approximate='tanh').
///
/// It is computed as x·σ(2u), the same function (½·(1 + tanh u) = σ(2u)) without the
/// cancellation of 1 + tanh u for negative x.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeluTanh;

impl GeluTanh {
    /// √(2/π), the factor of u.
    const BETA: f64 = std::f64::consts::SQRT_2 * std::f64::consts::FRAC_2_SQRT_PI * 0.5;
    /// The cubic coefficient of u.
    const KAPPA: f64 = 0.044715;
}

impl<F: Float> ActivationFn<F> for GeluTanh {
    const NAME: &'static str = "gelu_tanh";

    fn forward(&self, x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>) {
        let (beta, kappa, two) = (
            F::from_f64(Self::BETA),
            F::from_f64(Self::KAPPA),
            F::from_f64(2.0),
        );
        map(x, y, |x| x * sigmoid(two * beta * (x + kappa * x * x * x)));
    }

    /// With s = σ(2u): d/dx = s + 2x·s(1 − s)·√(2/π)(1 + 3·0.044715·x²); just s where
    /// s(1 − s) is 0 (|x| huge), so that 0·∞ never appears.
    fn backward(
        &self,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        grad_x: ArrayViewMut2<'_, F>,
    ) {
        let (beta, kappa, two, three) = (
            F::from_f64(Self::BETA),
            F::from_f64(Self::KAPPA),
            F::from_f64(2.0),
            F::from_f64(3.0),
        );
        map_backward(x, y, grad_y, grad_x, |x, _| {
            let s = sigmoid(two * beta * (x + kappa * x * x * x));
            let ds = s * (F::one() - s);
            if ds == F::zero() {
                s
            } else {
                s + two * x * ds * beta * (F::one() + three * kappa * x * x)
            }
        });
    }
}

/// SiLU (swish): x·σ(x) (`torch.nn.functional.silu`); the language's `swish` is this.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Silu;

impl<F: Float> ActivationFn<F> for Silu {
    const NAME: &'static str = "silu";

    fn forward(&self, x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>) {
        map(x, y, |x| x * sigmoid(x));
    }

    /// silu'(x) = σ(x)·(1 + x·(1 − σ(x))).
    fn backward(
        &self,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        grad_x: ArrayViewMut2<'_, F>,
    ) {
        map_backward(x, y, grad_y, grad_x, |x, _| {
            let s = sigmoid(x);
            s * (F::one() + x * (F::one() - s))
        });
    }
}

/// Above this input softplus is x itself (PyTorch's default `threshold=20`).
const SOFTPLUS_THRESHOLD: f64 = 20.0;

/// ln(1 + eˣ), or x above [`SOFTPLUS_THRESHOLD`] (where they agree to rounding), as PyTorch.
fn softplus<F: Float>(x: F) -> F {
    if x > F::from_f64(SOFTPLUS_THRESHOLD) {
        x
    } else {
        x.exp().ln_1p()
    }
}

/// Softplus: ln(1 + eˣ), and x itself above 20 (`torch.nn.functional.softplus` with its
/// defaults beta=1, threshold=20), so that eˣ never overflows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Softplus;

impl<F: Float> ActivationFn<F> for Softplus {
    const NAME: &'static str = "softplus";

    fn forward(&self, x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>) {
        map(x, y, softplus);
    }

    /// softplus'(x) = eˣ / (eˣ + 1) = σ(x), and 1 above the threshold, as PyTorch.
    fn backward(
        &self,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        grad_x: ArrayViewMut2<'_, F>,
    ) {
        let threshold = F::from_f64(SOFTPLUS_THRESHOLD);
        map_backward(x, y, grad_y, grad_x, |x, _| {
            if x > threshold {
                F::one()
            } else {
                let z = x.exp();
                z / (z + F::one())
            }
        });
    }
}

/// Mish: x·tanh(softplus(x)) (`torch.nn.functional.mish`); softplus as in [`Softplus`], so
/// nothing overflows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mish;

impl<F: Float> ActivationFn<F> for Mish {
    const NAME: &'static str = "mish";

    fn forward(&self, x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>) {
        map(x, y, |x| x * softplus(x).tanh());
    }

    /// With t = tanh(softplus(x)): mish'(x) = t + x·σ(x)·(1 − t²) (softplus' = σ).
    fn backward(
        &self,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        grad_x: ArrayViewMut2<'_, F>,
    ) {
        map_backward(x, y, grad_y, grad_x, |x, _| {
            let t = softplus(x).tanh();
            t + x * sigmoid(x) * (F::one() - t * t)
        });
    }
}

/// Hard sigmoid: relu6(x + 3) / 6 = min(max(x + 3, 0), 6) / 6 (`torch.nn.Hardsigmoid`).
/// Its derivative is 1/6 on the open interval (−3, 3) and 0 elsewhere, at ±3 included, as
/// PyTorch's autograd gives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HardSigmoid;

impl<F: Float> ActivationFn<F> for HardSigmoid {
    const NAME: &'static str = "hard_sigmoid";

    fn forward(&self, x: ArrayView2<'_, F>, y: ArrayViewMut2<'_, F>) {
        let (three, six) = (F::from_f64(3.0), F::from_f64(6.0));
        map(x, y, |x| (x + three).max(F::zero()).min(six) / six);
    }

    fn backward(
        &self,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        grad_y: ArrayView2<'_, F>,
        grad_x: ArrayViewMut2<'_, F>,
    ) {
        let (three, sixth) = (F::from_f64(3.0), F::from_f64(1.0 / 6.0));
        map_backward(x, y, grad_y, grad_x, |x, _| {
            if x > -three && x < three {
                sixth
            } else {
                F::zero()
            }
        });
    }
}

/// Row-wise log-softmax, yᵢ = xᵢ − ln Σⱼ e^xⱼ (`torch.log_softmax` over the last dimension),
/// computed as (xᵢ − m) − ln Σⱼ e^(xⱼ − m) with m the row maximum, as PyTorch: stable for
/// logits such as [1000, 1000] (→ −ln 2 each, exactly rounded) and [−1000, 0] (→ [−1000, 0]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogSoftmax;

impl<F: Float> ActivationFn<F> for LogSoftmax {
    const NAME: &'static str = "log_softmax";

    fn forward(&self, x: ArrayView2<'_, F>, mut y: ArrayViewMut2<'_, F>) {
        for (x, mut y) in x.rows().into_iter().zip(y.rows_mut()) {
            let max = x.fold(F::neg_infinity(), |m, &v| m.max(v));
            let log_sum = x.fold(F::zero(), |s, &v| s + (v - max).exp()).ln();
            Zip::from(&mut y)
                .and(x)
                .for_each(|y, &x| *y = (x - max) - log_sum);
        }
    }

    /// grad_x = grad_y − softmax(x)·Σ grad_y, row by row, with softmax(x) = e^y.
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
            let total = gy.sum();
            Zip::from(gx)
                .and(y)
                .and(gy)
                .for_each(|gx, &y, &gy| *gx = gy - y.exp() * total);
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
