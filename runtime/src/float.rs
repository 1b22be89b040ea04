//! The element type of every network: `f32` (the default) or `f64` (gradient checks).

/// A floating-point element type the runtime can compute with.
///
/// It gathers every bound the layers, kernels and losses need, so generated code can
/// write `F: axonal::Float` once instead of a dozen `num_traits`/`ndarray` bounds.
pub trait Float:
    num_traits::Float
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::ops::DivAssign
    + std::iter::Sum
    + std::fmt::Debug
    + std::fmt::Display
    + Default
    + Send
    + Sync
    + 'static
{
    /// The safetensors dtype name of this type (`"F32"` / `"F64"`), used by checkpoints.
    const DTYPE: &'static str;

    /// Converts from `f64`, rounding to nearest; hyper-parameters and initializers are `f64`.
    fn from_f64(v: f64) -> Self;

    /// Widens to `f64`, exactly; losses and statistics are reported as `f64`.
    fn as_f64(self) -> f64;
}

impl Float for f32 {
    const DTYPE: &'static str = "F32";

    fn from_f64(v: f64) -> Self {
        v as f32
    }

    fn as_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Float for f64 {
    const DTYPE: &'static str = "F64";

    fn from_f64(v: f64) -> Self {
        v
    }

    fn as_f64(self) -> f64 {
        self
    }
}
