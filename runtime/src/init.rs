//! Parameter initializers, with the same standard deviations and bounds as PyTorch's
//! `torch.nn.init` for the same fan-in and fan-out.
//!
//! For a dense layer `IN->OUT` (weight `[OUT, IN]`, PyTorch's layout) fan-in is `IN` and
//! fan-out is `OUT`, as `torch.nn.init._calculate_fan_in_and_fan_out` gives.
//! `fixtures/init.py` records PyTorch's numbers (and Keras's, for LeCun) for a 784→128
//! layer; `tests/init_reference.rs` compares [`Init::std`] and [`Init::bound`] with them.

use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::float::Float;

/// How a parameter's initial values are chosen.
///
/// Random initializers sample in `f64` from the given `Rng` (one draw per element, in
/// row-major order) and then convert, so a seed gives the same weights for `f32` and `f64`
/// up to rounding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// All zeros (the default for biases).
    Zeros,
    /// All ones.
    Ones,
    /// Every value equal to the constant.
    Constant(f64),
    /// Normal distribution with the given mean and standard deviation.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation (≥ 0).
        std: f64,
    },
    /// Uniform distribution on [low, high).
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound (≥ low).
        high: f64,
    },
    /// Glorot normal: std = √(2 / (fan_in + fan_out)) (`torch.nn.init.xavier_normal_`).
    XavierNormal,
    /// Glorot uniform: bound = √(6 / (fan_in + fan_out)) (`torch.nn.init.xavier_uniform_`).
    XavierUniform,
    /// Kaiming normal, fan-in mode, ReLU gain √2: std = √(2 / fan_in)
    /// (`kaiming_normal_(w, nonlinearity='relu')`); the same as `KaimingNormal { a: 0.0 }`.
    HeNormal,
    /// Kaiming uniform, fan-in mode, ReLU gain √2: bound = √(6 / fan_in)
    /// (`kaiming_uniform_(w, nonlinearity='relu')`); the same as `KaimingUniform { a: 0.0 }`.
    HeUniform,
    /// Kaiming normal for a leaky ReLU of negative slope `a`, fan-in mode: gain
    /// √(2 / (1 + a²)), std = gain / √fan_in
    /// (`kaiming_normal_(w, a, mode='fan_in', nonlinearity='leaky_relu')`).
    KaimingNormal {
        /// Negative slope of the leaky ReLU that follows (0 for ReLU).
        a: f64,
    },
    /// Kaiming uniform for a leaky ReLU of negative slope `a`, fan-in mode: gain
    /// √(2 / (1 + a²)), bound = gain·√(3 / fan_in)
    /// (`kaiming_uniform_(w, a, mode='fan_in', nonlinearity='leaky_relu')`). With a = √5 it is
    /// PyTorch's default for `nn.Linear` weights, bound 1/√fan_in.
    KaimingUniform {
        /// Negative slope of the leaky ReLU that follows (0 for ReLU).
        a: f64,
    },
    /// LeCun normal: std = √(1 / fan_in). PyTorch has no `lecun_*`; this is Keras's
    /// `VarianceScaling(scale=1, mode='fan_in')` formula, but drawn from an untruncated normal,
    /// whereas Keras's `LecunNormal` draws a normal truncated at ±2σ' with σ' = std / 0.8796,
    /// so that its standard deviation is the same std.
    LecunNormal,
    /// LeCun uniform: bound = √(3 / fan_in), so std = √(1 / fan_in) (Keras's `LecunUniform`,
    /// the same formula and distribution; PyTorch has no `lecun_*`).
    LecunUniform,
    /// Exact values, row-major in the parameter's shape (dense weight [out, in]); length checked by the compiler.
    Values(&'static [f64]),
}

/// Kaiming's gain for a leaky ReLU of negative slope `a`: √(2 / (1 + a²))
/// (`torch.nn.init.calculate_gain('leaky_relu', a)`; √2 for ReLU, a = 0).
pub fn leaky_relu_gain(a: f64) -> f64 {
    (2.0 / (1.0 + a * a)).sqrt()
}

impl Init {
    /// The standard deviation of the values `fill` gives a parameter of this fan-in and
    /// fan-out: the formula, as PyTorch's `torch.nn.init` has it.
    ///
    /// xavier_normal std = √(2/(fan_in+fan_out)); he_normal (kaiming, fan_in, relu gain √2)
    /// std = √(2/fan_in); kaiming_normal with slope a std = √(2/(1+a²))/√fan_in;
    /// lecun_normal std = √(1/fan_in); uniform ones: bound/√3 (see [`Init::bound`]);
    /// `Normal` its std, `Uniform` (high − low)/√12; 0 for constants. `None` for `Values`.
    pub fn std(&self, fan_in: usize, fan_out: usize) -> Option<f64> {
        let (n_in, n_sum) = (fan_in as f64, (fan_in + fan_out) as f64);
        match *self {
            Init::Zeros | Init::Ones | Init::Constant(_) => Some(0.0),
            Init::Normal { std, .. } => Some(std),
            Init::XavierNormal => Some((2.0 / n_sum).sqrt()),
            Init::HeNormal => Some((2.0 / n_in).sqrt()),
            Init::KaimingNormal { a } => Some(leaky_relu_gain(a) / n_in.sqrt()),
            Init::LecunNormal => Some((1.0 / n_in).sqrt()),
            Init::Uniform { low, high } => Some((high - low) / 12f64.sqrt()),
            Init::XavierUniform
            | Init::HeUniform
            | Init::KaimingUniform { .. }
            | Init::LecunUniform => self.bound(fan_in, fan_out).map(|b| b / 3f64.sqrt()),
            Init::Values(_) => None,
        }
    }

    /// The bound b of the symmetric uniform initializers, which draw from U[−b, b):
    /// xavier_uniform b = √(6/(fan_in+fan_out)); he_uniform (kaiming, fan_in, relu gain √2)
    /// b = √(6/fan_in); kaiming_uniform with slope a b = √(2/(1+a²))·√(3/fan_in);
    /// lecun_uniform b = √(3/fan_in). `None` for every other initializer.
    pub fn bound(&self, fan_in: usize, fan_out: usize) -> Option<f64> {
        let (n_in, n_sum) = (fan_in as f64, (fan_in + fan_out) as f64);
        match *self {
            Init::XavierUniform => Some((6.0 / n_sum).sqrt()),
            Init::HeUniform => Some((6.0 / n_in).sqrt()),
            Init::KaimingUniform { a } => Some(leaky_relu_gain(a) * (3.0 / n_in).sqrt()),
            Init::LecunUniform => Some((3.0 / n_in).sqrt()),
            _ => None,
        }
    }

    /// Fills `values` (a parameter of the given fan-in/out) with the std or bound of
    /// [`Init::std`] / [`Init::bound`] — the same as PyTorch's for the same fans.
    ///
    /// # Panics
    /// On a broken invariant the compiler checks: `Values` of the wrong length, a negative or
    /// non-finite std (or slope `a`), `low > high`.
    pub fn fill<F: Float, R: Rng + ?Sized>(
        &self,
        values: &mut [F],
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) {
        if values.is_empty() {
            return;
        }
        let std = || self.std(fan_in, fan_out).unwrap_or(f64::NAN);
        let bound = || self.bound(fan_in, fan_out).unwrap_or(f64::NAN);
        match *self {
            Init::Zeros => values.fill(F::zero()),
            Init::Ones => values.fill(F::one()),
            Init::Constant(c) => values.fill(F::from_f64(c)),
            Init::Normal { mean, std } => normal(values, mean, std, rng),
            Init::Uniform { low, high } => uniform(values, low, high, rng),
            Init::XavierNormal
            | Init::HeNormal
            | Init::KaimingNormal { .. }
            | Init::LecunNormal => normal(values, 0.0, std(), rng),
            Init::XavierUniform
            | Init::HeUniform
            | Init::KaimingUniform { .. }
            | Init::LecunUniform => symmetric(values, bound(), rng),
            Init::Values(exact) => {
                assert_eq!(
                    exact.len(),
                    values.len(),
                    "Init::Values has {} numbers for a parameter of {}",
                    exact.len(),
                    values.len()
                );
                for (v, &e) in values.iter_mut().zip(exact) {
                    *v = F::from_f64(e);
                }
            }
        }
    }
}

/// Fills with draws from N(mean, std²).
fn normal<F: Float, R: Rng + ?Sized>(values: &mut [F], mean: f64, std: f64, rng: &mut R) {
    let dist = Normal::new(mean, std).unwrap_or_else(|e| panic!("normal init with std {std}: {e}"));
    sample(values, dist, rng);
}

/// Fills with draws from U[−bound, bound).
fn symmetric<F: Float, R: Rng + ?Sized>(values: &mut [F], bound: f64, rng: &mut R) {
    uniform(values, -bound, bound, rng);
}

/// Fills with draws from U[low, high); `low == high` gives that constant.
fn uniform<F: Float, R: Rng + ?Sized>(values: &mut [F], low: f64, high: f64, rng: &mut R) {
    if low == high {
        values.fill(F::from_f64(low));
        return;
    }
    let dist =
        Uniform::new(low, high).unwrap_or_else(|e| panic!("uniform init on [{low}, {high}): {e}"));
    sample(values, dist, rng);
}

/// One `f64` draw per element, in order, converted to `F`.
fn sample<F: Float, R: Rng + ?Sized>(values: &mut [F], dist: impl Distribution<f64>, rng: &mut R) {
    for v in values {
        *v = F::from_f64(dist.sample(rng));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// Mean and (population) standard deviation of a draw of `n` values for a
    /// 784×128 layer (fan_in 784, fan_out 128).
    fn draw(init: Init, n: usize) -> (f64, f64, Vec<f64>) {
        let mut v = vec![0.0f64; n];
        init.fill(&mut v, 784, 128, &mut StdRng::seed_from_u64(7));
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        (mean, var.sqrt(), v)
    }

    // Expected std for fan_in = 784, fan_out = 128, written out as numbers (they are what
    // torch.nn.init gives: e.g. xavier_uniform_ bound √(6/912) = 0.0811107,
    // kaiming_normal_(nonlinearity='relu') std √2/28 = 0.0505076).
    #[test]
    fn random_inits_match_pytorch_formulas() {
        let cases = [
            (Init::XavierNormal, 0.046829290579, None),
            (
                Init::XavierUniform,
                0.081110710565 / 3f64.sqrt(),
                Some(0.081110710565),
            ),
            (Init::HeNormal, 0.050507627228, None),
            (
                Init::HeUniform,
                0.087481776528 / 3f64.sqrt(),
                Some(0.087481776528),
            ),
            (Init::LecunNormal, 0.035714285714, None),
            (
                Init::LecunUniform,
                0.061858957413 / 3f64.sqrt(),
                Some(0.061858957413),
            ),
            (
                Init::Normal {
                    mean: 0.0,
                    std: 0.01,
                },
                0.01,
                None,
            ),
            // kaiming_normal_(a=0.1): √(2/1.01)/28; kaiming_uniform_(a=0.1): √(2/1.01)·√(3/784);
            // kaiming_uniform_(a=√5), nn.Linear's default: 1/√784 = 1/28.
            (Init::KaimingNormal { a: 0.1 }, 0.050256967481, None),
            (Init::KaimingNormal { a: 0.0 }, 0.050507627228, None),
            (
                Init::KaimingUniform { a: 0.1 },
                0.087047621111 / 3f64.sqrt(),
                Some(0.087047621111),
            ),
            (
                Init::KaimingUniform { a: 5f64.sqrt() },
                0.035714285714 / 3f64.sqrt(),
                Some(0.035714285714),
            ),
        ];
        for (init, std, bound) in cases {
            // The formulas themselves, to the 12 digits written above.
            let formula = init.std(784, 128).unwrap();
            assert!(
                (formula / std - 1.0).abs() < 1e-10,
                "{init:?}: std formula {formula}"
            );
            if let Some(b) = bound {
                let formula = init.bound(784, 128).unwrap();
                assert!(
                    (formula / b - 1.0).abs() < 1e-10,
                    "{init:?}: bound formula {formula}"
                );
            }
            let (mean, got, v) = draw(init, 200_000);
            assert!(mean.abs() < 0.02 * std, "{init:?}: mean {mean}");
            assert!(
                (got / std - 1.0).abs() < 0.02,
                "{init:?}: std {got}, expected {std}"
            );
            if let Some(b) = bound {
                // (The 12-digit `b` may round below the true bound: allow for it.)
                let b = b * (1.0 + 1e-11);
                assert!(v.iter().all(|x| x.abs() <= b), "{init:?}: beyond ±{b}");
                assert!(
                    v.iter().any(|x| x.abs() > 0.99 * b),
                    "{init:?}: never near ±{b}"
                );
            }
        }
    }

    #[test]
    fn shifted_normal_and_uniform() {
        let (mean, std, _) = draw(
            Init::Normal {
                mean: 3.0,
                std: 0.5,
            },
            100_000,
        );
        assert!(
            (mean - 3.0).abs() < 0.01 && (std - 0.5).abs() < 0.01,
            "{mean} {std}"
        );
        let (mean, std, v) = draw(
            Init::Uniform {
                low: 1.0,
                high: 3.0,
            },
            100_000,
        );
        assert!((mean - 2.0).abs() < 0.01, "{mean}");
        assert!((std - 1.0 / 3f64.sqrt()).abs() < 0.01, "{std}");
        assert!(v.iter().all(|&x| (1.0..3.0).contains(&x)));
    }

    #[test]
    fn constants_and_values_are_exact() {
        let mut rng = StdRng::seed_from_u64(0);
        let mut v = [9.0f32; 3];
        Init::Zeros.fill(&mut v, 3, 1, &mut rng);
        assert_eq!(v, [0.0; 3]);
        Init::Ones.fill(&mut v, 3, 1, &mut rng);
        assert_eq!(v, [1.0; 3]);
        Init::Constant(-0.7).fill(&mut v, 3, 1, &mut rng);
        assert_eq!(v, [-0.7f32; 3]);
        Init::Values(&[0.5, -0.5, 0.25]).fill(&mut v, 3, 1, &mut rng);
        assert_eq!(v, [0.5, -0.5, 0.25]);
    }

    #[test]
    fn kaiming_with_slope_zero_is_he() {
        for (kaiming, he) in [
            (Init::KaimingNormal { a: 0.0 }, Init::HeNormal),
            (Init::KaimingUniform { a: 0.0 }, Init::HeUniform),
        ] {
            let (k, h) = (kaiming.std(784, 128).unwrap(), he.std(784, 128).unwrap());
            assert!((k / h - 1.0).abs() < 1e-15, "{kaiming:?} {k} vs {he:?} {h}");
        }
        assert_eq!(Init::HeNormal.bound(784, 128), None);
        assert_eq!(Init::Values(&[1.0]).std(1, 1), None);
        assert_eq!(Init::Constant(3.0).std(1, 1), Some(0.0));
    }

    #[test]
    #[should_panic(expected = "normal init")]
    fn non_finite_slope_panics() {
        let mut v = [0.0f64; 2];
        Init::KaimingNormal { a: f64::NAN }.fill(&mut v, 2, 1, &mut StdRng::seed_from_u64(0));
    }

    #[test]
    fn same_seed_same_values() {
        assert_eq!(draw(Init::HeNormal, 100).2, draw(Init::HeNormal, 100).2);
    }

    #[test]
    #[should_panic(expected = "Init::Values")]
    fn values_of_the_wrong_length_panic() {
        let mut v = [0.0f64; 2];
        Init::Values(&[1.0]).fill(&mut v, 2, 1, &mut StdRng::seed_from_u64(0));
    }
}
