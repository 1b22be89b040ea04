//! Register-blocked matrix products on contiguous row-major slices, compiled three times:
//! for AVX-512, for AVX2+FMA and for the portable baseline, and chosen at run time.
//!
//! The tiles are written once, generic over [`Lanes`]: a vector of [`L`] = 16 lanes with
//! load, store, splat and multiply-add. `Portable` implements it with plain arrays for any
//! `Float` (two roundings per multiply-add); for `f32` on x86-64, `Avx512` (one zmm per
//! accumulator) and `Avx2` (two ymm) implement it with `std::arch` intrinsics, and the tiles
//! are instantiated inside `#[target_feature]` functions chosen at run time. (Autovectorizing
//! the array version inside those functions was tried first: LLVM kept the accumulators
//! scalar, 3.7 GFLOP/s against 92–124 for the intrinsics on the 784→128 forward product.)
//! The portable path is what tests compare the fast paths with.
//!
//! Two shapes of tile cover the three products a dense layer needs:
//!
//! * *dot tiles* ([`nt_tile`]) for `C = A·Bᵀ`: `MR` rows of A against `NR` rows of B, both
//!   contiguous along k, with `MR·NR` vector accumulators summed across lanes at the end
//!   (small batches, narrow layers, one sample);
//! * *broadcast tiles* ([`bc_tile`]) for `C = Aᵀ·B` and `C = A·B`: one element of A (reached
//!   through arbitrary strides) times `NV` vectors of a contiguous row of B, accumulated
//!   into `MR × NV` vectors of C. The forward `x·Wᵀ` uses them too, on Wᵀ transposed block
//!   by block ([`bc_wt`]); a B whose rows alias in L1 is first copied into panels
//!   ([`with_panels`]).
//!
//! The broadcast tiles run on raw pointers; [`bc`] and [`bc_wt`] check every operand's
//! extent once per product, which is what their `SAFETY` comments rely on.
//!
//! Every sum runs in a fixed order that depends only on the shapes and the instruction
//! set (not on how a product is cut into tiles, panels or threads), so results are
//! bit-identical between runs on one machine.
#![allow(unsafe_code)]
// Tile loops index several register arrays with the same constant indices; indices read clearer.
#![allow(clippy::needless_range_loop)]

use ndarray::{ArrayViewMut2, ShapeBuilder};

use crate::float::Float;
use crate::kernels::transpose_columns;

/// Lanes per accumulator: 16 `f32` fill one 512-bit register.
const L: usize = 16;

/// Rows of the reduction dimension a broadcast tile consumes before moving on: a panel of
/// 64 rows × 64 floats = 16 KiB of B stays in L1 next to the rows of A. Measured on the
/// bench's MLP (one thread, AVX-512, quiet machine): 64 beats 32, 48, 128 and 256 by 2–12%
/// in training and inference samples/s (e.g. training at batch 256: 305k vs 272k with 128);
/// re-measured with the raw-pointer tiles, 32–1024 were within the noise of 64. It is also
/// the height of the blocks [`bc_wt`] transposes, and part of the summation order.
const KC: usize = 64;

/// Columns of B per contiguous panel, where B is rearranged: the blocks of Wᵀ that [`bc_wt`]
/// transposes at a time, and the panels [`with_panels`] copies B into. The widest broadcast
/// tile.
const PANEL: usize = 4 * L;

/// The instruction set a kernel is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// x86-64 with AVX-512F (and FMA).
    Avx512,
    /// x86-64 with AVX2 and FMA.
    Avx2,
    /// Any target: baseline instructions, no fused multiply-add.
    Portable,
}

impl Isa {
    /// The best instruction set of the running CPU (detected once by `std`, then cached).
    pub fn detect() -> Isa {
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// Whether the running CPU can execute kernels compiled for `self`.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
            Isa::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
            _ => false,
        }
    }
}

/// Vectors of [`L`] lanes and the few operations the tiles need, implemented once per
/// instruction set. A value of an implementing type is a proof that the CPU supports it:
/// the x86 ones can only be built after run-time detection.
trait Lanes<F: Float>: Copy {
    /// One accumulator: [`L`] lanes of `F`.
    type V: Copy;
    /// All lanes zero.
    fn zero(self) -> Self::V;
    /// All lanes `x`.
    fn splat(self, x: F) -> Self::V;
    /// Loads `L` consecutive elements.
    fn load(self, s: &[F; L]) -> Self::V;
    /// Stores `L` consecutive elements.
    fn store(self, v: Self::V, s: &mut [F; L]);
    /// Loads `L` consecutive elements from a raw pointer.
    ///
    /// # Safety
    /// `p .. p + L` must be valid for reads.
    unsafe fn load_ptr(self, p: *const F) -> Self::V;
    /// Stores `L` consecutive elements through a raw pointer.
    ///
    /// # Safety
    /// `p .. p + L` must be valid for writes.
    unsafe fn store_ptr(self, v: Self::V, p: *mut F);
    /// Hints the cache to fetch the line holding `p` (which need not be valid: a prefetch
    /// never faults); nothing on the portable path.
    #[inline(always)]
    fn prefetch(self, p: *const F) {
        let _ = p;
    }
    /// `acc + a·b` lane-wise (fused where the instruction set has FMA).
    fn madd(self, a: Self::V, b: Self::V, acc: Self::V) -> Self::V;
    /// `acc + a·b` on scalars, rounded the way `madd` rounds.
    fn madd1(self, a: F, b: F, acc: F) -> F;
    /// Sum of the lanes as a fixed pairwise tree.
    fn hsum(self, v: Self::V) -> F {
        let mut a = [F::zero(); L];
        self.store(v, &mut a);
        let h: [F; 8] = std::array::from_fn(|l| a[l] + a[l + 8]);
        let q = [h[0] + h[4], h[1] + h[5], h[2] + h[6], h[3] + h[7]];
        (q[0] + q[2]) + (q[1] + q[3])
    }
}

/// The portable path: arrays of lanes, two roundings per multiply-add, any `Float`.
#[derive(Clone, Copy)]
struct Portable;

impl<F: Float> Lanes<F> for Portable {
    type V = [F; L];
    #[inline(always)]
    fn zero(self) -> [F; L] {
        [F::zero(); L]
    }
    #[inline(always)]
    fn splat(self, x: F) -> [F; L] {
        [x; L]
    }
    #[inline(always)]
    fn load(self, s: &[F; L]) -> [F; L] {
        *s
    }
    #[inline(always)]
    fn store(self, v: [F; L], s: &mut [F; L]) {
        *s = v;
    }
    #[inline(always)]
    unsafe fn load_ptr(self, p: *const F) -> [F; L] {
        // SAFETY: the caller guarantees `p .. p + L` is readable; unaligned read.
        unsafe { p.cast::<[F; L]>().read_unaligned() }
    }
    #[inline(always)]
    unsafe fn store_ptr(self, v: [F; L], p: *mut F) {
        // SAFETY: the caller guarantees `p .. p + L` is writable; unaligned write.
        unsafe { p.cast::<[F; L]>().write_unaligned(v) }
    }
    #[inline(always)]
    fn madd(self, a: [F; L], b: [F; L], acc: [F; L]) -> [F; L] {
        std::array::from_fn(|l| acc[l] + a[l] * b[l])
    }
    #[inline(always)]
    fn madd1(self, a: F, b: F, acc: F) -> F {
        acc + a * b
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The AVX-512 and AVX2 lanes for `f32`.
    use super::{Lanes, L};
    use std::arch::x86_64::*;

    /// AVX-512F lanes: one zmm register per accumulator. Built only by [`Avx512::new`].
    #[derive(Clone, Copy)]
    pub(super) struct Avx512(());

    impl Avx512 {
        /// `Some` if the running CPU has AVX-512F.
        pub(super) fn new() -> Option<Self> {
            is_x86_feature_detected!("avx512f").then_some(Avx512(()))
        }
    }

    // SAFETY (every block in this impl): a value of `Avx512` exists only after
    // `is_x86_feature_detected!("avx512f")` returned true, so the AVX-512F intrinsics may run;
    // loads and stores go through `&[f32; 16]` / `&mut [f32; 16]`, exactly one 512-bit
    // vector of valid, aligned-for-f32 memory (the `loadu`/`storeu` forms need no more).
    impl Lanes<f32> for Avx512 {
        type V = __m512;
        #[inline(always)]
        fn zero(self) -> __m512 {
            unsafe { _mm512_setzero_ps() }
        }
        #[inline(always)]
        fn splat(self, x: f32) -> __m512 {
            unsafe { _mm512_set1_ps(x) }
        }
        #[inline(always)]
        fn load(self, s: &[f32; L]) -> __m512 {
            unsafe { _mm512_loadu_ps(s.as_ptr()) }
        }
        #[inline(always)]
        fn store(self, v: __m512, s: &mut [f32; L]) {
            unsafe { _mm512_storeu_ps(s.as_mut_ptr(), v) }
        }
        #[inline(always)]
        unsafe fn load_ptr(self, p: *const f32) -> __m512 {
            // (and the caller guarantees `p .. p + 16` readable)
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store_ptr(self, v: __m512, p: *mut f32) {
            // (and the caller guarantees `p .. p + 16` writable)
            unsafe { _mm512_storeu_ps(p, v) }
        }
        #[inline(always)]
        fn prefetch(self, p: *const f32) {
            // (a prefetch hint: never faults, reads nothing architecturally)
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) }
        }
        #[inline(always)]
        fn madd(self, a: __m512, b: __m512, acc: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, acc) }
        }
        #[inline(always)]
        fn madd1(self, a: f32, b: f32, acc: f32) -> f32 {
            a.mul_add(b, acc)
        }
        /// The trait's pairwise tree (lane l + lane l+8, then l+4, l+2, l+1) in registers.
        #[inline(always)]
        fn hsum(self, v: __m512) -> f32 {
            // (and AVX, which `hsum8` needs, comes with AVX-512F)
            unsafe {
                let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
                hsum8(_mm256_add_ps(_mm512_castps512_ps256(v), hi))
            }
        }
    }

    /// Sum of 8 lanes as the tree of [`Lanes::hsum`] continues: lane l + lane l+4, then
    /// l + l+2, then the last pair.
    ///
    /// # Safety
    /// The CPU must have AVX.
    #[inline(always)]
    unsafe fn hsum8(h: __m256) -> f32 {
        // SAFETY: AVX (and so SSE) is available, by the contract.
        unsafe {
            let q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
            let r = _mm_add_ps(q, _mm_movehl_ps(q, q));
            _mm_cvtss_f32(_mm_add_ss(r, _mm_shuffle_ps::<1>(r, r)))
        }
    }

    /// AVX2 lanes: two ymm registers per accumulator. Built only by [`Avx2::new`].
    #[derive(Clone, Copy)]
    pub(super) struct Avx2(());

    impl Avx2 {
        /// `Some` if the running CPU has AVX2 and FMA.
        pub(super) fn new() -> Option<Self> {
            (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
                .then_some(Avx2(()))
        }
    }

    // SAFETY (every block in this impl): a value of `Avx2` exists only after AVX2 and FMA
    // were detected; loads and stores cover exactly the 16 floats of the array reference,
    // as two unaligned 256-bit halves.
    impl Lanes<f32> for Avx2 {
        type V = (__m256, __m256);
        #[inline(always)]
        fn zero(self) -> Self::V {
            unsafe { (_mm256_setzero_ps(), _mm256_setzero_ps()) }
        }
        #[inline(always)]
        fn splat(self, x: f32) -> Self::V {
            unsafe { (_mm256_set1_ps(x), _mm256_set1_ps(x)) }
        }
        #[inline(always)]
        fn load(self, s: &[f32; L]) -> Self::V {
            unsafe {
                (
                    _mm256_loadu_ps(s.as_ptr()),
                    _mm256_loadu_ps(s.as_ptr().add(8)),
                )
            }
        }
        #[inline(always)]
        fn store(self, v: Self::V, s: &mut [f32; L]) {
            unsafe {
                _mm256_storeu_ps(s.as_mut_ptr(), v.0);
                _mm256_storeu_ps(s.as_mut_ptr().add(8), v.1);
            }
        }
        #[inline(always)]
        unsafe fn load_ptr(self, p: *const f32) -> Self::V {
            // (and the caller guarantees `p .. p + 16` readable)
            unsafe { (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))) }
        }
        #[inline(always)]
        unsafe fn store_ptr(self, v: Self::V, p: *mut f32) {
            // (and the caller guarantees `p .. p + 16` writable)
            unsafe {
                _mm256_storeu_ps(p, v.0);
                _mm256_storeu_ps(p.add(8), v.1);
            }
        }
        #[inline(always)]
        fn prefetch(self, p: *const f32) {
            // (a prefetch hint: never faults, reads nothing architecturally)
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) }
        }
        #[inline(always)]
        fn madd(self, a: Self::V, b: Self::V, acc: Self::V) -> Self::V {
            unsafe {
                (
                    _mm256_fmadd_ps(a.0, b.0, acc.0),
                    _mm256_fmadd_ps(a.1, b.1, acc.1),
                )
            }
        }
        #[inline(always)]
        fn madd1(self, a: f32, b: f32, acc: f32) -> f32 {
            a.mul_add(b, acc)
        }
        /// The trait's pairwise tree in registers (see the AVX-512 one).
        #[inline(always)]
        fn hsum(self, v: Self::V) -> f32 {
            // (and AVX, which `hsum8` needs, comes with AVX2)
            unsafe { hsum8(_mm256_add_ps(v.0, v.1)) }
        }
    }
}

/// One lane block of a slice: `s[q·L .. q·L + L]` as an array.
#[inline(always)]
fn block<F>(s: &[F], q: usize) -> &[F; L] {
    s[q * L..q * L + L].try_into().expect("block in bounds")
}

/// `C[i.., j..] = bias + A[i..i+MR, :]·B[j..j+NR, :]ᵀ` for `MR × NR` entries of C.
/// A is `? × k`, B is `? × k`, C has row length `n`; all row-major and contiguous.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn nt_tile<F: Float, S: Lanes<F>, R: BRows, const MR: usize, const NR: usize>(
    simd: S,
    a: &[F],
    b: &[F],
    rows: R,
    k: usize,
    i: usize,
    j: usize,
    bias: Option<&[F]>,
    c: &mut [F],
    n: usize,
) {
    let a_rows: [&[F]; MR] = std::array::from_fn(|r| &a[(i + r) * k..(i + r + 1) * k]);
    let b_rows: [&[F]; NR] = std::array::from_fn(|s| &b[rows.start(j + s)..][..k]);
    let nq = k / L;
    let mut acc = [[simd.zero(); NR]; MR];
    for q in 0..nq {
        let av: [S::V; MR] = std::array::from_fn(|r| simd.load(block(a_rows[r], q)));
        for s in 0..NR {
            let bv = simd.load(block(b_rows[s], q));
            for r in 0..MR {
                acc[r][s] = simd.madd(av[r], bv, acc[r][s]);
            }
        }
    }
    for r in 0..MR {
        for s in 0..NR {
            let mut sum = simd.hsum(acc[r][s]);
            for p in nq * L..k {
                sum = simd.madd1(a_rows[r][p], b_rows[s][p], sum);
            }
            let init = bias.map_or(F::zero(), |bias| bias[j + s]);
            c[(i + r) * n + j + s] = init + sum;
        }
    }
}

/// `C = A·Bᵀ (+ bias)`: A `m × k`, B `n × k`, C `m × n`, all contiguous row-major.
///
/// Rows of A are taken `MR` at a time (they stay in L1) against every group of `NR` rows
/// of B; edges fall back to one-row tiles (8 rows of B) and one-column tiles.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn nt<F: Float, S: Lanes<F>, R: BRows, const MR: usize, const NR: usize>(
    simd: S,
    a: &[F],
    b: &[F],
    rows: R,
    bias: Option<&[F]>,
    c: &mut [F],
    m: usize,
    n: usize,
    k: usize,
) {
    let (m_full, n_full) = (m - m % MR, n - n % NR);
    let mut i = 0;
    while i < m_full {
        let mut j = 0;
        while j < n_full {
            nt_tile::<F, S, R, MR, NR>(simd, a, b, rows, k, i, j, bias, c, n);
            j += NR;
        }
        for j in n_full..n {
            nt_tile::<F, S, R, MR, 1>(simd, a, b, rows, k, i, j, bias, c, n);
        }
        i += MR;
    }
    // Single rows (a one-sample forward is all edge): 8 rows of B at a time, as many
    // streams from L2 as its bandwidth wants (784→128: 4.84 µs with 4, 4.53 with 8).
    for i in m_full..m {
        let mut j = 0;
        while j + 8 <= n {
            nt_tile::<F, S, R, 1, 8>(simd, a, b, rows, k, i, j, bias, c, n);
            j += 8;
        }
        for j in j..n {
            nt_tile::<F, S, R, 1, 1>(simd, a, b, rows, k, i, j, bias, c, n);
        }
    }
}

/// Where each row of a broadcast product's B starts in its slice: `p·ld` ([`Ld`], a
/// row-major matrix) or a table ([`Offsets`]: a convolution's taps, which are shifted runs
/// of one zero-padded image, so its patch matrix need not be copied out).
trait BRows: Copy {
    /// Start of row `p`.
    fn start(self, p: usize) -> usize;
    /// The rows from `p0` on, renumbered from 0, and the element their starts count from.
    fn from(self, p0: usize) -> (usize, Self);
    /// Whether rows `0..k`, `n` elements each, lie inside a slice of `len`.
    fn cover(self, k: usize, n: usize, len: usize) -> bool;
}

/// Rows `ld` apart.
#[derive(Clone, Copy)]
struct Ld(usize);

impl BRows for Ld {
    #[inline(always)]
    fn start(self, p: usize) -> usize {
        p * self.0
    }
    #[inline(always)]
    fn from(self, p0: usize) -> (usize, Self) {
        (p0 * self.0, self)
    }
    fn cover(self, k: usize, n: usize, len: usize) -> bool {
        k == 0 || (self.0 >= n && (k - 1) * self.0 + n <= len)
    }
}

/// Rows at the starts of a table (which may overlap).
#[derive(Clone, Copy)]
struct Offsets<'a>(&'a [usize]);

impl BRows for Offsets<'_> {
    #[inline(always)]
    fn start(self, p: usize) -> usize {
        self.0[p]
    }
    #[inline(always)]
    fn from(self, p0: usize) -> (usize, Self) {
        (0, Offsets(&self.0[p0..]))
    }
    fn cover(self, k: usize, n: usize, len: usize) -> bool {
        self.0.len() >= k && self.0[..k].iter().all(|&s| s + n <= len)
    }
}

/// Strided view of the left operand of a broadcast product: element `(i, p)` is
/// `data[i·rs + p·cs]`.
#[derive(Clone, Copy)]
pub(crate) struct Strided<'a, F> {
    /// The elements.
    pub data: &'a [F],
    /// Step between rows (the output rows).
    pub rs: usize,
    /// Step along the reduction dimension.
    pub cs: usize,
}

/// `C[i..i+MR, j..j+NV·L] (+)= Σ_{p in p0..p1} A(i+r, p) · B[p, j..]`; overwrites C (with
/// `bias[j..]` added, if given) when `p0 == 0`, else accumulates. B's rows start where
/// `rows` says ([`BRows`]); C has row length `ldc`.
///
/// `UNIT` fixes one stride of A at compile time so that the broadcasts of a step are
/// addressed from one pointer: [`ROWS`] (`cs == 1`, rows of A contiguous) or [`COLS`]
/// (`rs == 1`); [`ANY`] reads both strides from `a`.
///
/// Raw pointers instead of slices: with bounds checks the inner loop carried eight
/// compares and spilled registers (141 GFLOP/s on the 784→128 forward); see
/// `runtime/benches/kernels.rs` for the figures without.
///
/// `b` is the slab: row `p − p0` of B (for `p` in `p0..p1`) starts at
/// `b[rows.start(p − p0)]`.
///
/// # Safety
/// The caller guarantees, as [`bc`] asserts once per product, that every element read or
/// written is inside its operand: `A(i+r, p)` for `r < MR`, `p < p1`;
/// `b[rows.start(p − p0) + j + NV·L − 1]` for `p < p1`; `bias[j + NV·L − 1]`; and
/// `c + (i+r)·ldc + j .. + NV·L` for `r < MR` is valid for reads and writes and not accessed
/// by anyone else meanwhile.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn bc_tile<
    F: Float,
    S: Lanes<F>,
    R: BRows,
    const MR: usize,
    const NV: usize,
    const UNIT: u8,
>(
    simd: S,
    a: Strided<'_, F>,
    b: &[F],
    bias: Option<&[F]>,
    rows: R,
    p0: usize,
    p1: usize,
    i: usize,
    j: usize,
    c: *mut F,
    ldc: usize,
) {
    let (rs, cs) = match UNIT {
        ROWS => (a.rs, 1),
        COLS => (1, a.cs),
        _ => (a.rs, a.cs),
    };
    let mut acc = [[simd.zero(); NV]; MR];
    // SAFETY (every pointer offset and access below): in bounds by the function's contract;
    // `a`, `b`, `bias` are only read and `c` is the only one written.
    unsafe {
        let c_ptr = c.add(i * ldc + j);
        if p0 > 0 {
            for r in 0..MR {
                for v in 0..NV {
                    acc[r][v] = simd.load_ptr(c_ptr.add(r * ldc + v * L));
                }
            }
        } else if let Some(bias) = bias {
            let bias = bias.as_ptr().add(j);
            for r in 0..MR {
                for v in 0..NV {
                    acc[r][v] = simd.load_ptr(bias.add(v * L));
                }
            }
        }
        let mut a_ptr = a.data.as_ptr().add(i * rs + p0 * cs);
        if UNIT == ROWS {
            // The next row block's part of this slab, while this tile computes: rows of a
            // batch fresh from memory are too many streams for the hardware prefetcher
            // (784→128 forward at batch 256 in training: about 10% faster). A prefetch never
            // faults, so the addresses may run past A.
            let next = a_ptr.wrapping_add(MR * rs);
            for r in 0..MR {
                let mut q = 0;
                while q < p1 - p0 {
                    simd.prefetch(next.wrapping_add(r * rs + q));
                    q += 64 / std::mem::size_of::<F>();
                }
            }
        }
        for q in 0..p1 - p0 {
            let b_ptr = b.as_ptr().add(rows.start(q) + j);
            let bv: [S::V; NV] = std::array::from_fn(|v| simd.load_ptr(b_ptr.add(v * L)));
            for r in 0..MR {
                let x = simd.splat(*a_ptr.add(r * rs));
                for v in 0..NV {
                    acc[r][v] = simd.madd(x, bv[v], acc[r][v]);
                }
            }
            a_ptr = a_ptr.add(cs);
        }
        for r in 0..MR {
            for v in 0..NV {
                simd.store_ptr(acc[r][v], c_ptr.add(r * ldc + v * L));
            }
        }
    }
}

/// The last `m − i < MR` rows of a column panel as one tile of that height (a tile per row
/// would reload the B panel for each).
///
/// # Safety
/// As for [`bc_tile`], for rows `i..m`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn bc_rest<F: Float, S: Lanes<F>, R: BRows, const NV: usize, const UNIT: u8>(
    simd: S,
    a: Strided<'_, F>,
    b: &[F],
    bias: Option<&[F]>,
    rows: R,
    p0: usize,
    p1: usize,
    i: usize,
    m: usize,
    j: usize,
    c: *mut F,
    ldc: usize,
) {
    // SAFETY: every call covers exactly rows `i..m`, which the caller guarantees.
    unsafe {
        match m - i {
            0 => {}
            1 => bc_tile::<F, S, R, 1, NV, UNIT>(simd, a, b, bias, rows, p0, p1, i, j, c, ldc),
            2 => bc_tile::<F, S, R, 2, NV, UNIT>(simd, a, b, bias, rows, p0, p1, i, j, c, ldc),
            3 => bc_tile::<F, S, R, 3, NV, UNIT>(simd, a, b, bias, rows, p0, p1, i, j, c, ldc),
            4 => bc_tile::<F, S, R, 4, NV, UNIT>(simd, a, b, bias, rows, p0, p1, i, j, c, ldc),
            5 => bc_tile::<F, S, R, 5, NV, UNIT>(simd, a, b, bias, rows, p0, p1, i, j, c, ldc),
            _ => {
                for i in i..m {
                    bc_tile::<F, S, R, 1, NV, UNIT>(simd, a, b, bias, rows, p0, p1, i, j, c, ldc);
                }
            }
        }
    }
}

/// [`bc_tile`] layout: A's strides both read at run time.
const ANY: u8 = 0;
/// [`bc_tile`] layout: rows of A contiguous (`cs == 1`): a forward `x·Wᵀ` or `g·W`.
const ROWS: u8 = 1;
/// [`bc_tile`] layout: columns of A contiguous (`rs == 1`): a weight gradient `gᵀ·x`.
const COLS: u8 = 2;

/// Columns `j0..n` of C (fewer than `L`): plain scalar loops, same overwrite/accumulate and
/// bias rule.
///
/// # Safety
/// As for [`bc_tile`], for rows `0..m` and columns `j0..n`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn bc_edge<F: Float, S: Lanes<F>, R: BRows>(
    simd: S,
    a: Strided<'_, F>,
    b: &[F],
    bias: Option<&[F]>,
    rows: R,
    p0: usize,
    p1: usize,
    m: usize,
    j0: usize,
    n: usize,
    c: *mut F,
    ldc: usize,
) {
    for i in 0..m {
        for j in j0..n {
            // SAFETY: row `i < m`, column `j < n`: inside C by the contract.
            let c_ij = unsafe { &mut *c.add(i * ldc + j) };
            let mut sum = match (p0 > 0, bias) {
                (true, _) => *c_ij,
                (false, Some(bias)) => bias[j],
                (false, None) => F::zero(),
            };
            for p in p0..p1 {
                sum = simd.madd1(a.data[i * a.rs + p * a.cs], b[rows.start(p - p0) + j], sum);
            }
            *c_ij = sum;
        }
    }
}

/// `C = A·B (+ bias)` with A strided (`m × k`), B `k × n` with its rows where `rows` says,
/// and C an `m × n` view whose rows are contiguous (a column window of a larger matrix
/// is fine: that is how a product is split over threads by columns).
///
/// The reduction dimension is cut into [`KC`]-row slabs so that a `KC × NV·L` panel of B
/// stays in L1 while every row block of A passes over it.
///
/// # Panics
/// If an operand is too short for the shapes, or the columns of C are not contiguous
/// (checked once, before any tile runs).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn bc<F: Float, S: Lanes<F>, R: BRows, const MR: usize, const NV: usize>(
    simd: S,
    a: Strided<'_, F>,
    b: &[F],
    rows: R,
    bias: Option<&[F]>,
    mut c: ArrayViewMut2<'_, F>,
    k: usize,
) {
    let (m, n) = c.dim();
    if m == 0 || n == 0 {
        return;
    }
    // The contract of `bc_tile`, for every tile below: rows < m, columns < n, p < k.
    assert!(
        k == 0 || (m - 1) * a.rs + (k - 1) * a.cs < a.data.len(),
        "gemm: A too short"
    );
    assert!(rows.cover(k, n, b.len()), "gemm: B too short");
    assert!(
        bias.is_none_or(|bias| bias.len() >= n),
        "gemm: bias too short"
    );
    let (c, ldc) = out_ptr(&mut c);
    // SAFETY: element (i, j) of C, i < m, j < n, sits at `c + i·ldc + j` in a uniquely
    // borrowed view (`out_ptr`); A, B and bias were checked to cover rows < m, p < k,
    // columns < n.
    unsafe {
        if a.cs == 1 {
            bc_slabs::<F, S, R, MR, NV, ROWS>(simd, a, b, rows, bias, c, ldc, m, n, k)
        } else if a.rs == 1 {
            bc_slabs::<F, S, R, MR, NV, COLS>(simd, a, b, rows, bias, c, ldc, m, n, k)
        } else {
            bc_slabs::<F, S, R, MR, NV, ANY>(simd, a, b, rows, bias, c, ldc, m, n, k)
        }
    }
}

/// Element (0, 0) of a non-empty output view and the distance between its rows: element
/// (i, j) is at `ptr + i·ldc + j`. The pointer is valid for reads and writes of exactly the
/// view's elements while `c` stays borrowed.
///
/// # Panics
/// If the view's rows are not contiguous (or overlap).
fn out_ptr<F>(c: &mut ArrayViewMut2<'_, F>) -> (*mut F, usize) {
    let ((m, n), strides) = (c.dim(), c.strides());
    assert!(
        (n == 1 || strides[1] == 1) && (m == 1 || strides[0] >= n as isize),
        "gemm: C needs contiguous rows"
    );
    let ldc = if m == 1 { n } else { strides[0] as usize };
    (c.as_mut_ptr(), ldc)
}

/// The loops of [`bc`] over slabs of k, then [`bc_panel`], after its checks.
///
/// # Safety
/// As for [`bc_tile`], for rows `0..m`, columns `0..n` and the whole reduction `0..k`, with
/// B's row `p` at `b[rows.start(p)]`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn bc_slabs<
    F: Float,
    S: Lanes<F>,
    R: BRows,
    const MR: usize,
    const NV: usize,
    const UNIT: u8,
>(
    simd: S,
    a: Strided<'_, F>,
    b: &[F],
    rows: R,
    bias: Option<&[F]>,
    c: *mut F,
    ldc: usize,
    m: usize,
    n: usize,
    k: usize,
) {
    for p0 in (0..k).step_by(KC) {
        let p1 = (p0 + KC).min(k);
        let (base, slab) = rows.from(p0);
        // SAFETY: the slab's rows of B start at `base`; the rest is this function's contract.
        unsafe {
            bc_panel::<F, S, R, MR, NV, UNIT>(simd, a, &b[base..], slab, bias, p0, p1, c, ldc, m, n)
        };
    }
}

/// One slab `p0..p1` of the reduction for columns `0..n` of C (at `c`, rows `ldc` apart):
/// wide column panels of tiles, then 16-column ones, then scalar edges; within each, row
/// blocks. `b` is the slab of B as in [`bc_tile`].
///
/// # Safety
/// As for [`bc_tile`], for rows `0..m` and columns `0..n`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn bc_panel<
    F: Float,
    S: Lanes<F>,
    R: BRows,
    const MR: usize,
    const NV: usize,
    const UNIT: u8,
>(
    simd: S,
    a: Strided<'_, F>,
    b: &[F],
    rows: R,
    bias: Option<&[F]>,
    p0: usize,
    p1: usize,
    c: *mut F,
    ldc: usize,
    m: usize,
    n: usize,
) {
    let (m_full, w) = (m - m % MR, NV * L);
    let n_wide = n - n % w;
    let n_vec = n - n % L;
    // SAFETY (the calls below): every tile stays in rows < m, columns ≤ n, p in p0..p1.
    unsafe {
        let mut j = 0;
        while j < n_wide {
            let mut i = 0;
            while i < m_full {
                bc_tile::<F, S, R, MR, NV, UNIT>(simd, a, b, bias, rows, p0, p1, i, j, c, ldc);
                i += MR;
            }
            bc_rest::<F, S, R, NV, UNIT>(simd, a, b, bias, rows, p0, p1, m_full, m, j, c, ldc);
            j += w;
        }
        while j < n_vec {
            let mut i = 0;
            while i < m_full {
                bc_tile::<F, S, R, MR, 1, UNIT>(simd, a, b, bias, rows, p0, p1, i, j, c, ldc);
                i += MR;
            }
            bc_rest::<F, S, R, 1, UNIT>(simd, a, b, bias, rows, p0, p1, m_full, m, j, c, ldc);
            j += L;
        }
        bc_edge(simd, a, b, bias, rows, p0, p1, m, n_vec, n, c, ldc);
    }
}

/// `C = A·Wᵀ (+ bias)` with A's rows contiguous (`m × k`), W `n × k` row-major (PyTorch's
/// layout) and C an `m × n` view with contiguous rows: the forward `x·Wᵀ + b`.
///
/// Like [`bc`] with B = Wᵀ, but each `KC × 64` block of Wᵀ is transposed into a buffer on
/// the stack right before the row blocks use it, so Wᵀ never exists whole: the transposed
/// values go to L1 instead of through L2 to a buffer as large as W and back. Blocks are
/// taken column panel by column panel (a panel's slabs in order), which keeps that panel
/// of C in cache. Every element of C gets the same operations in the same order as from
/// [`bc`]. (Measured against transposing all of W first, two threads: inference at batch
/// 256 +7%, 784→512→512→10 training equal, 784→128 training at batch 256 −3–5%.)
///
/// # Panics
/// If an operand is too short for the shapes, A's rows are not contiguous, or C's rows are
/// not (checked once, before any tile runs).
#[inline(always)]
fn bc_wt<F: Float, S: Lanes<F>, const MR: usize, const NV: usize>(
    simd: S,
    a: Strided<'_, F>,
    w: &[F],
    bias: Option<&[F]>,
    mut c: ArrayViewMut2<'_, F>,
    k: usize,
) {
    let (m, n) = c.dim();
    if m == 0 || n == 0 {
        return;
    }
    assert!(a.cs == 1, "gemm: A's rows must be contiguous");
    assert!(
        k == 0 || (m - 1) * a.rs + (k - 1) < a.data.len(),
        "gemm: A too short"
    );
    assert!(w.len() >= n * k, "gemm: W too short");
    assert!(
        bias.is_none_or(|bias| bias.len() >= n),
        "gemm: bias too short"
    );
    let (c, ldc) = out_ptr(&mut c);
    let mut block = [F::zero(); KC * PANEL];
    for q0 in (0..n).step_by(PANEL) {
        let width = PANEL.min(n - q0);
        for p0 in (0..k).step_by(KC) {
            let p1 = (p0 + KC).min(k);
            let block = &mut block[..(p1 - p0) * width];
            transpose_columns(&w[q0 * k..(q0 + width) * k], width, k, p0..p1, block);
            let bias = bias.map(|bias| &bias[q0..]);
            // SAFETY: element (i, j) of C, i < m, j < n, sits at `c + i·ldc + j` in a uniquely
            // borrowed view (`out_ptr`), so columns `q0 .. q0 + width` start at `c + q0`; A covers rows < m and p < k; the
            // block holds rows `p − p0` of `width` columns of Wᵀ; bias covers `q0 + width`.
            unsafe {
                bc_panel::<F, S, Ld, MR, NV, ROWS>(
                    simd,
                    a,
                    block,
                    Ld(width),
                    bias,
                    p0,
                    p1,
                    c.add(q0),
                    ldc,
                    m,
                    width,
                )
            };
        }
    }
}

/// `C = A·Wᵀ (+ bias)` as [`bc_wt`], with the kernels of `isa` (`f32` only; `f64` and
/// unavailable instruction sets take the portable path).
pub(crate) fn gemm_bc_wt<F: Float>(
    isa: Isa,
    a: Strided<'_, F>,
    w: &[F],
    bias: Option<&[F]>,
    mut c: ArrayViewMut2<'_, F>,
    k: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable {
        if let (Some(data), Some(w), Some(c)) = (as_f32(a.data), as_f32(w), as_f32_view(&mut c)) {
            let a = Strided {
                data,
                rs: a.rs,
                cs: a.cs,
            };
            let bias = bias.map(|bias| as_f32(bias).expect("bias has the type of A"));
            #[target_feature(enable = "avx512f,avx2,fma")]
            fn avx512(
                s: x86::Avx512,
                a: Strided<'_, f32>,
                w: &[f32],
                bias: Option<&[f32]>,
                c: ArrayViewMut2<'_, f32>,
                k: usize,
            ) {
                bc_wt::<f32, _, 6, 4>(s, a, w, bias, c, k)
            }
            // 6 × 1 as in `gemm_bc` (16 registers; 3 × 2 spilled).
            #[target_feature(enable = "avx2,fma")]
            fn avx2(
                s: x86::Avx2,
                a: Strided<'_, f32>,
                w: &[f32],
                bias: Option<&[f32]>,
                c: ArrayViewMut2<'_, f32>,
                k: usize,
            ) {
                bc_wt::<f32, _, 6, 1>(s, a, w, bias, c, k)
            }
            if let (Isa::Avx512, Some(s)) = (isa, x86::Avx512::new()) {
                // SAFETY: `s` exists, so AVX-512F (which implies AVX2 and FMA) was detected.
                return unsafe { avx512(s, a, w, bias, c, k) };
            }
            if let Some(s) = x86::Avx2::new() {
                // SAFETY: `s` exists, so AVX2 and FMA were detected.
                return unsafe { avx2(s, a, w, bias, c, k) };
            }
        }
    }
    let _ = isa;
    bc_wt::<F, _, 2, 2>(Portable, a, w, bias, c, k)
}

/// Reinterprets a slice of `F` as `f32` when `F` is `f32`.
fn as_f32<F: Float>(s: &[F]) -> Option<&[f32]> {
    (std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>()).then(|| {
        // SAFETY: `F` and `f32` are the same type (equal `TypeId`s), so the pointer, length
        // and lifetime describe the same valid, initialized `f32` elements.
        unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<f32>(), s.len()) }
    })
}

/// Reinterprets a mutable slice of `F` as `f32` when `F` is `f32`.
fn as_f32_mut<F: Float>(s: &mut [F]) -> Option<&mut [f32]> {
    (std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>()).then(|| {
        // SAFETY: as in `as_f32`; the unique borrow of `s` moves into the result.
        unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<f32>(), s.len()) }
    })
}

/// Reinterprets a mutable view of `F` as `f32` when `F` is `f32` (same shape and strides).
fn as_f32_view<'a, F: Float>(c: &'a mut ArrayViewMut2<'_, F>) -> Option<ArrayViewMut2<'a, f32>> {
    let same = std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>();
    let (dim, strides) = (c.dim(), c.strides());
    if !same || strides.iter().any(|&s| s < 0) {
        return None;
    }
    let strides = (strides[0] as usize, strides[1] as usize);
    let ptr = c.as_mut_ptr().cast::<f32>();
    // SAFETY: `F` is `f32` (equal `TypeId`s), so the view's elements are `f32`s at the same
    // addresses; the new view has the same dimensions and (non-negative) strides, so it
    // covers exactly the same elements, and it reborrows `c` uniquely for `'a`.
    Some(unsafe { ArrayViewMut2::from_shape_ptr(dim.strides(strides), ptr) })
}

/// `C = A·Bᵀ (+ bias)` on contiguous row-major slices with the kernels of `isa` (`f32`
/// only; `f64` and unavailable instruction sets take the portable path).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_nt<F: Float>(
    isa: Isa,
    a: &[F],
    b: &[F],
    bias: Option<&[F]>,
    c: &mut [F],
    m: usize,
    n: usize,
    k: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable {
        if let (Some(a), Some(b), Some(c)) = (as_f32(a), as_f32(b), as_f32_mut(&mut *c)) {
            let bias = bias.map(|bias| as_f32(bias).expect("bias has the type of A"));
            #[target_feature(enable = "avx512f,avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            fn avx512(
                s: x86::Avx512,
                a: &[f32],
                b: &[f32],
                bias: Option<&[f32]>,
                c: &mut [f32],
                m: usize,
                n: usize,
                k: usize,
            ) {
                nt::<f32, _, Ld, 4, 4>(s, a, b, Ld(k), bias, c, m, n, k)
            }
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            fn avx2(
                s: x86::Avx2,
                a: &[f32],
                b: &[f32],
                bias: Option<&[f32]>,
                c: &mut [f32],
                m: usize,
                n: usize,
                k: usize,
            ) {
                nt::<f32, _, Ld, 2, 3>(s, a, b, Ld(k), bias, c, m, n, k)
            }
            if let (Isa::Avx512, Some(s)) = (isa, x86::Avx512::new()) {
                // SAFETY: `s` exists, so AVX-512F (which implies AVX2 and FMA) was detected.
                return unsafe { avx512(s, a, b, bias, c, m, n, k) };
            }
            if let Some(s) = x86::Avx2::new() {
                // SAFETY: `s` exists, so AVX2 and FMA were detected.
                return unsafe { avx2(s, a, b, bias, c, m, n, k) };
            }
        }
    }
    let _ = isa;
    nt::<F, _, Ld, 2, 2>(Portable, a, b, Ld(k), bias, c, m, n, k)
}

/// Whether [`gemm_bc`] copies B into panels first: when B's rows are a multiple of 1 KiB
/// apart, the rows of a tile's panel fall into at most a quarter of the L1 sets and evict
/// each other (the 512 × 512 layer of 784→512→512→10 at batch 256, two threads: input
/// gradient 0.63 → 0.57 ms, weight gradient 0.61 → 0.53 ms per step), and when the product
/// is large enough to repay the copy.
fn packs_b(ldb: usize, m: usize, n: usize, k: usize) -> bool {
    ldb.is_multiple_of(256) && n >= PANEL && m >= 32 && k >= 32
}

thread_local! {
    /// Each thread's copy of B in panels (grown, never shrunk, so steady state allocates
    /// nothing).
    static PANELS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Copies B (`k × n`, rows `ldb` apart) into this thread's buffer as consecutive panels of
/// [`PANEL`] columns, each `k × PANEL` row-major (the last one narrower), and lends it to
/// `f`.
fn with_panels<R>(b: &[f32], ldb: usize, n: usize, k: usize, f: impl FnOnce(&[f32]) -> R) -> R {
    PANELS.with_borrow_mut(|buf| {
        if buf.len() < n * k {
            buf.resize(n * k, 0.0);
        }
        for q0 in (0..n).step_by(PANEL) {
            let pw = PANEL.min(n - q0);
            let panel = &mut buf[q0 * k..(q0 + pw) * k];
            for (p, row) in panel.chunks_exact_mut(pw).enumerate() {
                row.copy_from_slice(&b[p * ldb + q0..][..pw]);
            }
        }
        f(&buf[..n * k])
    })
}

/// `C = A·B (+ bias)` with A strided, B row-major with row length `ldb`, C a view with
/// contiguous rows, with the kernels of `isa` (`f32` only; `f64` and unavailable
/// instruction sets take the portable path). `k` is the reduction length.
pub(crate) fn gemm_bc<F: Float>(
    isa: Isa,
    a: Strided<'_, F>,
    b: &[F],
    ldb: usize,
    bias: Option<&[F]>,
    mut c: ArrayViewMut2<'_, F>,
    k: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable {
        if let (Some(data), Some(b), Some(c)) = (as_f32(a.data), as_f32(b), as_f32_view(&mut c)) {
            let a = Strided {
                data,
                rs: a.rs,
                cs: a.cs,
            };
            let bias = bias.map(|bias| as_f32(bias).expect("bias has the type of A"));
            let (m, n) = c.dim();
            if packs_b(ldb, m, n, k) {
                return with_panels(b, ldb, n, k, |panels| {
                    let mut c = c;
                    for q0 in (0..n).step_by(PANEL) {
                        let pw = PANEL.min(n - q0);
                        let panel = &panels[q0 * k..(q0 + pw) * k];
                        let bias = bias.map(|bias| &bias[q0..q0 + pw]);
                        let c = c.slice_mut(ndarray::s![.., q0..q0 + pw]);
                        gemm_bc(isa, a, panel, pw, bias, c, k);
                    }
                });
            }
            #[target_feature(enable = "avx512f,avx2,fma")]
            fn avx512(
                s: x86::Avx512,
                a: Strided<'_, f32>,
                b: &[f32],
                ldb: usize,
                bias: Option<&[f32]>,
                c: ArrayViewMut2<'_, f32>,
                k: usize,
            ) {
                bc::<f32, _, Ld, 6, 4>(s, a, b, Ld(ldb), bias, c, k)
            }
            // 6 rows × 1 vector: 12 ymm accumulators, 2 for the row of B and 1 for the
            // broadcast fill the 16 registers. The 3 × 2 tile before (like AVX-512's 6 × 4
            // in halves) needed 17 and kept two accumulators on the stack, a store-to-load
            // chain in every step: 40–45 → 72–81 GFLOP/s on the dense products of
            // `benches/kernels.rs` (one thread, AVX2 at a 102 GFLOP/s peak).
            #[target_feature(enable = "avx2,fma")]
            fn avx2(
                s: x86::Avx2,
                a: Strided<'_, f32>,
                b: &[f32],
                ldb: usize,
                bias: Option<&[f32]>,
                c: ArrayViewMut2<'_, f32>,
                k: usize,
            ) {
                bc::<f32, _, Ld, 6, 1>(s, a, b, Ld(ldb), bias, c, k)
            }
            if let (Isa::Avx512, Some(s)) = (isa, x86::Avx512::new()) {
                // SAFETY: `s` exists, so AVX-512F (which implies AVX2 and FMA) was detected.
                return unsafe { avx512(s, a, b, ldb, bias, c, k) };
            }
            if let Some(s) = x86::Avx2::new() {
                // SAFETY: `s` exists, so AVX2 and FMA were detected.
                return unsafe { avx2(s, a, b, ldb, bias, c, k) };
            }
        }
    }
    let _ = isa;
    bc::<F, _, Ld, 2, 2>(Portable, a, b, Ld(ldb), bias, c, k)
}

/// `C = A·B` with A strided, row `p` of B starting at `b[rows[p]]` (rows may overlap: the
/// taps of a convolution read shifted runs of one padded image, see `kernels::conv`), and
/// C a view with contiguous rows, with the kernels of `isa` (`f32` only; `f64` and
/// unavailable instruction sets take the portable path). `k` is the reduction length. The
/// same tiles and summation order as [`gemm_bc`] on the copied-out rows.
///
/// # Panics
/// If `rows` has fewer than `k` starts, a row runs past `b`, or an operand is too short.
pub(crate) fn gemm_bc_rows<F: Float>(
    isa: Isa,
    a: Strided<'_, F>,
    b: &[F],
    rows: &[usize],
    mut c: ArrayViewMut2<'_, F>,
    k: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable {
        if let (Some(data), Some(b), Some(c)) = (as_f32(a.data), as_f32(b), as_f32_view(&mut c)) {
            let a = Strided {
                data,
                rs: a.rs,
                cs: a.cs,
            };
            #[target_feature(enable = "avx512f,avx2,fma")]
            fn avx512(
                s: x86::Avx512,
                a: Strided<'_, f32>,
                b: &[f32],
                rows: Offsets<'_>,
                c: ArrayViewMut2<'_, f32>,
                k: usize,
            ) {
                bc::<f32, _, Offsets<'_>, 6, 4>(s, a, b, rows, None, c, k)
            }
            #[target_feature(enable = "avx2,fma")]
            fn avx2(
                s: x86::Avx2,
                a: Strided<'_, f32>,
                b: &[f32],
                rows: Offsets<'_>,
                c: ArrayViewMut2<'_, f32>,
                k: usize,
            ) {
                bc::<f32, _, Offsets<'_>, 6, 1>(s, a, b, rows, None, c, k)
            }
            let rows = Offsets(rows);
            if let (Isa::Avx512, Some(s)) = (isa, x86::Avx512::new()) {
                // SAFETY: `s` exists, so AVX-512F (which implies AVX2 and FMA) was detected.
                return unsafe { avx512(s, a, b, rows, c, k) };
            }
            if let Some(s) = x86::Avx2::new() {
                // SAFETY: `s` exists, so AVX2 and FMA were detected.
                return unsafe { avx2(s, a, b, rows, c, k) };
            }
        }
    }
    let _ = isa;
    bc::<F, _, Offsets<'_>, 2, 2>(Portable, a, b, Offsets(rows), None, c, k)
}

/// `C = A·Bᵀ` as [`gemm_nt`], with row `j` of B (`k` long) starting at `b[rows[j]]` (rows
/// may overlap, as in [`gemm_bc_rows`]): the same tiles and summation order as on the
/// copied-out rows. C is `m × n`, contiguous.
///
/// # Panics
/// If `rows` has fewer than `n` starts or an operand is too short.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_nt_rows<F: Float>(
    isa: Isa,
    a: &[F],
    b: &[F],
    rows: &[usize],
    c: &mut [F],
    m: usize,
    n: usize,
    k: usize,
) {
    assert!(
        a.len() >= m * k && c.len() >= m * n && Offsets(rows).cover(n, k, b.len()),
        "gemm_nt_rows: shapes"
    );
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Portable {
        if let (Some(a), Some(b), Some(c)) = (as_f32(a), as_f32(b), as_f32_mut(&mut *c)) {
            #[target_feature(enable = "avx512f,avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            fn avx512(
                s: x86::Avx512,
                a: &[f32],
                b: &[f32],
                rows: Offsets<'_>,
                c: &mut [f32],
                m: usize,
                n: usize,
                k: usize,
            ) {
                nt::<f32, _, Offsets<'_>, 4, 4>(s, a, b, rows, None, c, m, n, k)
            }
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            fn avx2(
                s: x86::Avx2,
                a: &[f32],
                b: &[f32],
                rows: Offsets<'_>,
                c: &mut [f32],
                m: usize,
                n: usize,
                k: usize,
            ) {
                nt::<f32, _, Offsets<'_>, 2, 3>(s, a, b, rows, None, c, m, n, k)
            }
            let rows = Offsets(rows);
            if let (Isa::Avx512, Some(s)) = (isa, x86::Avx512::new()) {
                // SAFETY: `s` exists, so AVX-512F (which implies AVX2 and FMA) was detected.
                return unsafe { avx512(s, a, b, rows, c, m, n, k) };
            }
            if let Some(s) = x86::Avx2::new() {
                // SAFETY: `s` exists, so AVX2 and FMA were detected.
                return unsafe { avx2(s, a, b, rows, c, m, n, k) };
            }
        }
    }
    let _ = isa;
    nt::<F, _, Offsets<'_>, 2, 2>(Portable, a, b, Offsets(rows), None, c, m, n, k)
}
