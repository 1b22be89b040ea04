//! Convolution of a batch in NCHW rows, on the matrix-product tiles of `gemm`.
//!
//! Each sample is lowered on its own: its patches are unfolded into a `[CI·KH·KW, OH·OW]`
//! matrix (`im2col`, Caffe's layout: one row per tap of the kernel, one column per output
//! position), and the sample's output, `[CO, OH·OW]`, is the product `W · patches` with
//! W `[CO, CI·KH·KW]` as stored: the sample's NCHW row, so no transpose of the batch is
//! needed. A sample's patch matrix is built into a buffer of the thread that uses it and
//! stays in its cache for the product (LeNet-5's are 60–80 KB), and the backward pass
//! rebuilds it rather than keeping the whole batch's (20 MB for LeNet-5's first layer at
//! batch 256).
//!
//! When the stride along the width is 1 (LeNet-5's layers, "same" 3×3 convolutions), the
//! patch matrix is *wide*: the sample is copied once into a zero-padded plane `[C, Hp, Wp]`,
//! and a tap's row of patches is then one contiguous run of that plane, `OH·Wp` long, in
//! which each output row has `Wp − OW` extra positions that read across the row's end. The
//! product computes them too and they are dropped (their gradient is set to 0 in backward,
//! so they add nothing). That costs `Wp / OW` more multiply-adds (1.14 for LeNet-5's first
//! layer, 1.4 for its second) and saves copying the patches in runs of `OW` values: the
//! second layer has 1500 runs of 10 values per sample, whose overhead took as long as its
//! product. Other strides use the *narrow* matrix, `[K, OH·OW]`, built run by run.
//!
//! With stride 1 along the height too ([`ConvShape::implicit`]), a tap's row of the wide
//! matrix is a plain run of the padded sample, so it is not copied at all: the products
//! read B's rows where [`ConvShape::tap_offsets`] says (`gemm_bc_rows`, `gemm_nt_rows`).
//! That is the forward, and the weight gradient on dot tiles (LeNet-5's first layer: a
//! 90 KB patch matrix per sample no longer written and read back); the transposed weight
//! gradient reads the patches as its left operand, which the tiles take at strides only,
//! so it still copies them out.
//!
//! The patch rows are padded to a multiple of 16 positions ([`ConvShape::stride`]): the
//! broadcast tiles then cover every column with whole vectors (LeNet-5's second layer has
//! 100 positions; the last 4 in scalar loops took about a third of its forward).
//!
//! Backward, per sample: `dW += G·patchesᵀ`, `d patches = Wᵀ·G` (broadcast tiles), then
//! `col2im` adds each patch gradient back onto the input positions it was read from. The
//! weight gradient is a short reduction (over a sample's positions) into a small matrix:
//! with a multiple of 16 output channels it is computed transposed, `dWᵀ += patches·Gᵀ`, on
//! the broadcast tiles (one vector of channels per row; LeNet-5's second layer at batch 64,
//! profiled: about two thirds of the time of dot tiles, which end every 4 × 4 block of dW
//! with 16 horizontal sums after only 9 vectors), else on dot tiles (LeNet-5's first layer:
//! 6 channels, 784 positions).
//!
//! Samples are split over threads ([`Parts`]). The weight gradient sums over samples, so
//! to stay bit-identical for every thread count the batch is cut into [`GROUPS`] groups of
//! consecutive samples that depend only on the batch size; each group's sum is built in
//! sample order by one thread, and the groups' sums are added in group order.

use ndarray::{ArrayView2, ArrayViewMut2, Axis};

use super::gemm::{self, Strided};
use super::{Isa, Parts};
use crate::float::Float;
use crate::layers::window::Geometry;
use crate::scratch::Scratch;

/// Groups of samples the weight gradient is summed in: a multiple of the default thread
/// counts 1, 2 and 4 (see `MAX_THREADS`), so they share the groups evenly.
const GROUPS: usize = 8;

/// Positions a patch row is padded to a multiple of: one vector of the tiles.
const ALIGN: usize = 16;

/// A convolution's shape: the window's geometry and the output channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvShape {
    /// Input channels, planes and the window.
    pub geometry: Geometry,
    /// Output channels.
    pub out_channels: usize,
}

impl ConvShape {
    /// Columns of an input row: CI·H·W.
    pub fn input_width(&self) -> usize {
        self.geometry.channels * self.geometry.input_plane()
    }

    /// Columns of an output row: CO·OH·OW.
    pub fn output_width(&self) -> usize {
        self.out_channels * self.geometry.output_plane()
    }

    /// Columns of W and rows of a patch matrix: CI·KH·KW.
    pub fn patch(&self) -> usize {
        self.geometry.channels * self.geometry.taps()
    }

    /// Whether the patch matrix is wide (see the module's doc): stride 1 along the width,
    /// and at most twice as many positions as the narrow one (a long dilated kernel on a
    /// narrow image would make the product mostly dropped columns).
    pub fn wide(&self) -> bool {
        let g = &self.geometry;
        g.stride[1] == 1 && g.input[1] + 2 * g.pad[1] <= 2 * g.output[1]
    }

    /// Whether the patch matrix is never copied out ([`ConvShape::implicit`]): wide, and
    /// stride 1 along the height too, so each tap's row of patches is one run of the padded
    /// sample, which the products read in place through [`ConvShape::tap_offsets`].
    pub fn implicit(&self) -> bool {
        self.wide() && self.geometry.stride[0] == 1
    }

    /// Where each tap's run of patches starts in the zero-padded sample (`(c·KH + kh)·KW +
    /// kw` → `c·Hp·Wp + kh·dh·Wp + kw·dw`); empty unless [`ConvShape::implicit`]. Callers
    /// keep it (the layers build it once) and pass it to [`conv_forward`] and
    /// [`conv_backward`].
    pub fn tap_offsets(&self) -> Vec<usize> {
        if !self.implicit() {
            return Vec::new();
        }
        let g = &self.geometry;
        let [hp, wp] = self.padded_plane();
        let mut offsets = Vec::with_capacity(self.patch());
        for c in 0..g.channels {
            for kh in 0..g.kernel[0] {
                for kw in 0..g.kernel[1] {
                    offsets.push(c * hp * wp + kh * g.dilation[0] * wp + kw * g.dilation[1]);
                }
            }
        }
        offsets
    }

    /// Height and width of the zero-padded input plane of the wide lowering.
    fn padded_plane(&self) -> [usize; 2] {
        let g = &self.geometry;
        [g.input[0] + 2 * g.pad[0], g.input[1] + 2 * g.pad[1]]
    }

    /// Positions per output row in the patch matrix: `Wp` (wide) or `OW` (narrow).
    fn row_width(&self) -> usize {
        if self.wide() {
            self.padded_plane()[1]
        } else {
            self.geometry.output[1]
        }
    }

    /// Distance between the rows of a patch matrix: OH times [`ConvShape::row_width`],
    /// rounded up to a multiple of [`ALIGN`].
    pub fn stride(&self) -> usize {
        (self.geometry.output[0] * self.row_width()).next_multiple_of(ALIGN)
    }

    /// Elements of the zero-padded sample of the wide lowering (0 for the narrow one): the
    /// padded planes, and room for the last tap's run to read (or add) past their end.
    fn padded_len(&self) -> usize {
        if !self.wide() {
            return 0;
        }
        let [hp, wp] = self.padded_plane();
        let g = &self.geometry;
        g.channels * hp * wp + (g.kernel[1] - 1) * g.dilation[1] + self.stride()
    }

    /// Whether the weight gradient is computed transposed, `[K, CO]` (see the module's doc).
    fn transposed_weight_grad(&self) -> bool {
        self.out_channels.is_multiple_of(ALIGN)
    }

    /// Elements of one thread's work buffer: a patch matrix, its gradient, a sample's
    /// output (or output gradient) with padded rows and its transpose, a sample's weight
    /// gradient, and for the wide lowering the padded sample and its gradient.
    pub fn work_width(&self) -> usize {
        let (k, co, ld) = (self.patch(), self.out_channels, self.stride());
        2 * k * ld + 2 * co * ld + co * k + 2 * self.padded_len()
    }

    /// Elements of one group's partial sums: its weight and bias gradients.
    pub fn partial_width(&self) -> usize {
        self.out_channels * (self.patch() + 1)
    }

    /// Multiply-adds of one sample's forward product.
    fn sample_flop(&self) -> usize {
        2 * self.out_channels * self.patch() * self.geometry.output_plane()
    }
}

/// One thread's work buffer, cut into its parts (see [`ConvShape::work_width`]).
struct Work<'a, F> {
    /// The patch matrix, `[K, stride]`.
    cols: &'a mut [F],
    /// Its gradient, `[K, stride]`.
    dcols: &'a mut [F],
    /// A sample's output or output gradient, `[CO, stride]`.
    plane: &'a mut [F],
    /// `plane` transposed, `[stride, CO]`.
    plane_t: &'a mut [F],
    /// A sample's weight gradient, `[CO, K]` (or `[K, CO]`, transposed).
    dw: &'a mut [F],
    /// The zero-padded sample of the wide lowering (empty for the narrow one).
    padded: &'a mut [F],
    /// Its gradient.
    dpadded: &'a mut [F],
}

impl<'a, F: Float> Work<'a, F> {
    fn new(shape: &ConvShape, work: &'a mut [F]) -> Self {
        let (k, co, ld) = (shape.patch(), shape.out_channels, shape.stride());
        let (cols, rest) = work.split_at_mut(k * ld);
        let (dcols, rest) = rest.split_at_mut(k * ld);
        let (plane, rest) = rest.split_at_mut(co * ld);
        let (plane_t, rest) = rest.split_at_mut(co * ld);
        let (dw, rest) = rest.split_at_mut(co * k);
        let (padded, dpadded) = rest.split_at_mut(shape.padded_len());
        Work {
            cols,
            dcols,
            plane,
            plane_t,
            dw,
            padded,
            dpadded: &mut dpadded[..shape.padded_len()],
        }
    }

    /// The patch matrix of sample `x` into `cols`.
    fn unfold(&mut self, shape: &ConvShape, x: &[F]) {
        if shape.wide() {
            pad_sample(shape, x, self.padded);
            wide_im2col(shape, self.padded, self.cols);
        } else {
            im2col(&shape.geometry, x, self.cols, shape.stride());
        }
    }

    /// The input gradient `dx` of a sample from the patches' gradient in `dcols`.
    fn fold(&mut self, shape: &ConvShape, dx: &mut [F]) {
        if shape.wide() {
            wide_col2im(shape, self.dcols, self.dpadded, dx);
        } else {
            col2im(&shape.geometry, self.dcols, shape.stride(), dx);
        }
    }
}

/// Copies sample `x` (`[C, H, W]`) into `padded` (`[C, Hp, Wp]` and the room after it,
/// see [`ConvShape::padded_len`]), zeros around.
fn pad_sample<F: Float>(shape: &ConvShape, x: &[F], padded: &mut [F]) {
    let g = &shape.geometry;
    let ([h, w], [hp, wp]) = (g.input, shape.padded_plane());
    padded.fill(F::zero());
    let planes = padded.chunks_exact_mut(hp * wp).zip(x.chunks_exact(h * w));
    for (padded, x) in planes.take(g.channels) {
        let rows = padded[g.pad[0] * wp..]
            .chunks_exact_mut(wp)
            .zip(x.chunks_exact(w));
        for (padded, x) in rows {
            copy_row(&mut padded[g.pad[1]..g.pad[1] + w], x);
        }
    }
}

/// The wide patch matrix (see the module's doc) of a padded sample: row `(c·KH + kh)·KW +
/// kw`, column `oh·Wp + j` holds `padded[c, oh·sh + kh·dh, j + kw·dw]` (reading into the
/// next row where `j + kw·dw ≥ Wp`); columns `oh·Wp + j` with `j ≥ OW` are dropped later.
fn wide_im2col<F: Float>(shape: &ConvShape, padded: &[F], cols: &mut [F]) {
    let g = &shape.geometry;
    let ([hp, wp], ld) = (shape.padded_plane(), shape.stride());
    let run = g.output[0] * wp;
    let mut rows = cols[..shape.patch() * ld].chunks_exact_mut(ld);
    for c in 0..g.channels {
        for kh in 0..g.kernel[0] {
            for kw in 0..g.kernel[1] {
                let row = rows.next().expect("one row per tap");
                let start = c * hp * wp + kh * g.dilation[0] * wp + kw * g.dilation[1];
                if g.stride[0] == 1 {
                    // One run; its end past OH·Wp is dropped too.
                    row.copy_from_slice(&padded[start..start + ld]);
                } else {
                    let step = g.stride[0] * wp;
                    for (oh, out) in row[..run].chunks_exact_mut(wp).enumerate() {
                        out.copy_from_slice(&padded[start + oh * step..][..wp]);
                    }
                    row[run..].fill(F::zero());
                }
            }
        }
    }
}

/// The transpose of [`wide_im2col`] and [`pad_sample`]: `dx` (`[C, H, W]`) from the wide
/// patches' gradient `dcols`, through `dpadded`. The dropped columns' gradients are 0, so
/// what they add (past a padded row's end) changes nothing.
fn wide_col2im<F: Float>(shape: &ConvShape, dcols: &[F], dpadded: &mut [F], dx: &mut [F]) {
    let g = &shape.geometry;
    let ([h, w], [hp, wp], ld) = (g.input, shape.padded_plane(), shape.stride());
    let run = g.output[0] * wp;
    dpadded.fill(F::zero());
    let mut rows = dcols[..shape.patch() * ld].chunks_exact(ld);
    for c in 0..g.channels {
        for kh in 0..g.kernel[0] {
            for kw in 0..g.kernel[1] {
                let row = rows.next().expect("one row per tap");
                let start = c * hp * wp + kh * g.dilation[0] * wp + kw * g.dilation[1];
                if g.stride[0] == 1 {
                    for (d, &v) in dpadded[start..start + run].iter_mut().zip(&row[..run]) {
                        *d += v;
                    }
                } else {
                    let step = g.stride[0] * wp;
                    for (oh, grads) in row[..run].chunks_exact(wp).enumerate() {
                        let line = &mut dpadded[start + oh * step..][..wp];
                        for (d, &v) in line.iter_mut().zip(grads) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
    let planes = dpadded
        .chunks_exact(hp * wp)
        .zip(dx.chunks_exact_mut(h * w));
    for (dpadded, dx) in planes.take(g.channels) {
        let rows = dpadded[g.pad[0] * wp..]
            .chunks_exact(wp)
            .zip(dx.chunks_exact_mut(w));
        for (dpadded, dx) in rows {
            copy_row(dx, &dpadded[g.pad[1]..g.pad[1] + w]);
        }
    }
}

/// `dst = src` for short rows: whole fixed-size blocks (moved inline) rather than a call to
/// `memcpy`, which costs more than the copy for the 10-value rows of a small image.
#[inline(always)]
fn copy_row<F: Copy>(dst: &mut [F], src: &[F]) {
    let src = &src[..dst.len()];
    let mut blocks = dst.chunks_exact_mut(8);
    let mut from = src.chunks_exact(8);
    for (d, s) in (&mut blocks).zip(&mut from) {
        let d: &mut [F; 8] = d.try_into().expect("8 values");
        *d = s.try_into().expect("8 values");
    }
    for (d, &s) in blocks.into_remainder().iter_mut().zip(from.remainder()) {
        *d = s;
    }
}

/// Unfolds one sample `x` (`[C, H, W]`) into `cols` (`[C·KH·KW, OH·OW]`, rows `ld` apart):
/// row `(c·KH + kh)·KW + kw`, column `oh·OW + ow` holds `x[c, oh·sh + kh·dh − ph, ow·sw +
/// kw·dw − pw]`, or 0 where that is padding. Columns from OH·OW to `ld` are set to 0.
///
/// A tap's valid output rows and columns are worked out once, so the loop over output rows
/// is a copy of a run of the input row (small images have thousands of 10-value runs per
/// sample, so their overhead matters as much as the copy).
pub(crate) fn im2col<F: Float>(g: &Geometry, x: &[F], cols: &mut [F], ld: usize) {
    let [h, w] = g.input;
    let [oh_n, ow_n] = g.output;
    let (p, sw) = (oh_n * ow_n, g.stride[1]);
    let step = g.stride[0] * w;
    let mut rows = cols[..g.channels * g.taps() * ld].chunks_exact_mut(ld);
    for plane in x[..g.channels * h * w].chunks_exact(h * w) {
        for kh in 0..g.kernel[0] {
            let valid_h = g.valid(0, kh);
            for kw in 0..g.kernel[1] {
                let valid_w = g.valid(1, kw);
                let (row, padding) = rows.next().expect("one row per tap").split_at_mut(p);
                padding.fill(F::zero());
                if valid_h.is_empty() || valid_w.is_empty() {
                    row.fill(F::zero());
                    continue;
                }
                let (top, rest) = row.split_at_mut(valid_h.start * ow_n);
                let (inside, bottom) = rest.split_at_mut(valid_h.len() * ow_n);
                top.fill(F::zero());
                bottom.fill(F::zero());
                let (lo, hi) = (valid_w.start, valid_w.end);
                let mut src = g.position(0, valid_h.start, kh) * w + g.position(1, lo, kw);
                let outs = inside.chunks_exact_mut(ow_n);
                if sw == 1 && lo == 0 && hi == ow_n {
                    for out in outs {
                        copy_row(out, &plane[src..src + ow_n]);
                        src += step;
                    }
                } else if sw == 1 {
                    for out in outs {
                        out[..lo].fill(F::zero());
                        out[hi..].fill(F::zero());
                        copy_row(&mut out[lo..hi], &plane[src..src + (hi - lo)]);
                        src += step;
                    }
                } else {
                    for out in outs {
                        out[..lo].fill(F::zero());
                        out[hi..].fill(F::zero());
                        let taps = plane[src..].iter().step_by(sw);
                        for (o, &v) in out[lo..hi].iter_mut().zip(taps) {
                            *o = v;
                        }
                        src += step;
                    }
                }
            }
        }
    }
}

/// The transpose of [`im2col`]: `dx` (`[C, H, W]`) is set to the sum, over the patch
/// entries that read each input position, of their gradients in `dcols` (rows `ld` apart).
pub(crate) fn col2im<F: Float>(g: &Geometry, dcols: &[F], ld: usize, dx: &mut [F]) {
    let [h, w] = g.input;
    let ow_n = g.output[1];
    let sw = g.stride[1];
    let step = g.stride[0] * w;
    dx[..g.channels * h * w].fill(F::zero());
    let mut rows = dcols[..g.channels * g.taps() * ld].chunks_exact(ld);
    for plane in dx[..g.channels * h * w].chunks_exact_mut(h * w) {
        for kh in 0..g.kernel[0] {
            let valid_h = g.valid(0, kh);
            for kw in 0..g.kernel[1] {
                let valid_w = g.valid(1, kw);
                let row = rows.next().expect("one row per tap");
                if valid_h.is_empty() || valid_w.is_empty() {
                    continue;
                }
                let (lo, hi) = (valid_w.start, valid_w.end);
                let mut dst = g.position(0, valid_h.start, kh) * w + g.position(1, lo, kw);
                let grads = row[valid_h.start * ow_n..valid_h.end * ow_n].chunks_exact(ow_n);
                if sw == 1 {
                    for grads in grads {
                        let line = &mut plane[dst..dst + (hi - lo)];
                        for (d, &v) in line.iter_mut().zip(&grads[lo..hi]) {
                            *d += v;
                        }
                        dst += step;
                    }
                } else {
                    for grads in grads {
                        let taps = plane[dst..].iter_mut().step_by(sw);
                        for (d, &v) in taps.zip(&grads[lo..hi]) {
                            *d += v;
                        }
                        dst += step;
                    }
                }
            }
        }
    }
}

/// Σ of a slice whose length is a multiple of [`ALIGN`], in [`ALIGN`] interleaved partial
/// sums (so it vectorizes; the order is fixed by the length alone).
fn sum<F: Float>(values: &[F]) -> F {
    let mut acc = [F::zero(); ALIGN];
    for block in values.chunks_exact(ALIGN) {
        for (a, &v) in acc.iter_mut().zip(block) {
            *a += v;
        }
    }
    acc.iter().fold(F::zero(), |s, &a| s + a)
}

/// `pre = conv(x, W) + b` for a batch: `x` is `[N, CI·H·W]`, `pre` `[N, CO·OH·OW]` (NCHW
/// rows, contiguous), `weight` `[CO, CI·KH·KW]` and `bias` `[CO]` contiguous. `work` is
/// resized to one row of [`ConvShape::work_width`] per thread.
///
/// # Panics
/// If a shape does not fit, or `x`'s rows are not contiguous.
pub(crate) fn conv_forward<F: Float>(
    shape: &ConvShape,
    taps: &[usize],
    x: ArrayView2<'_, F>,
    weight: &[F],
    bias: &[F],
    pre: ArrayViewMut2<'_, F>,
    work: &mut Scratch<F>,
) {
    let (n, k, p, co, ld) = (
        x.nrows(),
        shape.patch(),
        shape.geometry.output_plane(),
        shape.out_channels,
        shape.stride(),
    );
    assert!(
        x.ncols() == shape.input_width()
            && pre.dim() == (n, shape.output_width())
            && weight.len() == co * k
            && bias.len() == co
            && work.cols() == shape.work_width()
            && taps.len() == if shape.implicit() { k } else { 0 },
        "conv_forward: shapes"
    );
    let isa = Isa::detect();
    let parts = Parts::new(n, n * shape.sample_flop(), 1);
    work.resize(parts.count());
    let width = work.cols();
    let mut work_rows = work_slice(work).chunks_exact_mut(width);
    let mut pre_rows = Some(pre);
    parts.run(
        |range| {
            let (mine, rest) = pre_rows
                .take()
                .expect("carved in order")
                .split_at(Axis(0), range.len());
            pre_rows = Some(rest);
            (mine, work_rows.next().expect("one work row per part"))
        },
        |range, (mut pre, work)| {
            let mut work = Work::new(shape, work);
            let w = Strided {
                data: weight,
                rs: k,
                cs: 1,
            };
            let (ow, rw) = (shape.geometry.output[1], shape.row_width());
            for (i, sample) in range.enumerate() {
                if shape.implicit() {
                    pad_sample(shape, row_slice(x, sample), work.padded);
                } else {
                    work.unfold(shape, row_slice(x, sample));
                }
                let c = ArrayViewMut2::from_shape((co, ld), &mut *work.plane).expect("CO × ld");
                if shape.implicit() {
                    gemm::gemm_bc_rows(isa, w, work.padded, taps, c, k);
                } else {
                    gemm::gemm_bc(isa, w, work.cols, ld, None, c, k);
                }
                // The output positions of each channel, plus its bias.
                let mut out = pre.row_mut(i);
                let out = out.as_slice_mut().expect("contiguous output rows");
                let planes = out.chunks_exact_mut(p).zip(work.plane.chunks_exact(ld));
                for ((out, plane), &b) in planes.zip(bias) {
                    for (out, plane) in out.chunks_exact_mut(ow).zip(plane.chunks(rw)) {
                        for (o, &v) in out.iter_mut().zip(plane) {
                            *o = v + b;
                        }
                    }
                }
            }
        },
    );
}

/// The gradients of [`conv_forward`] from `grad` = d loss / d pre (`[N, CO·OH·OW]`,
/// contiguous rows): `weight_grad` (`[CO, CI·KH·KW]`) and `bias_grad` (`[CO]`) are
/// overwritten, and `grad_input` (`[N, CI·H·W]`) too if given. `work` and `partials` are
/// resized as needed.
///
/// # Panics
/// If a shape does not fit, or `x`'s or `grad`'s rows are not contiguous.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_backward<F: Float>(
    shape: &ConvShape,
    taps: &[usize],
    x: ArrayView2<'_, F>,
    grad: ArrayView2<'_, F>,
    weight: &[F],
    weight_grad: &mut [F],
    bias_grad: &mut [F],
    grad_input: Option<ArrayViewMut2<'_, F>>,
    work: &mut Scratch<F>,
    partials: &mut Scratch<F>,
) {
    let g = &shape.geometry;
    let (n, k, p, co, ld) = (
        x.nrows(),
        shape.patch(),
        g.output_plane(),
        shape.out_channels,
        shape.stride(),
    );
    assert!(
        x.ncols() == shape.input_width()
            && grad.dim() == (n, shape.output_width())
            && weight.len() == co * k
            && weight_grad.len() == co * k
            && bias_grad.len() == co
            && grad_input
                .as_ref()
                .is_none_or(|d| d.dim() == (n, shape.input_width()))
            && work.cols() == shape.work_width()
            && partials.cols() == shape.partial_width()
            && taps.len() == if shape.implicit() { k } else { 0 },
        "conv_backward: shapes"
    );
    let groups = GROUPS.min(n);
    let first = |group: usize| group * n / groups;
    let isa = Isa::detect();
    let flop = if grad_input.is_some() { 2 } else { 1 } * n * shape.sample_flop();
    let parts = Parts::new(groups, flop, 1);
    work.resize(parts.count());
    partials.resize(groups);
    let width = work.cols();
    let mut work_rows = work_slice(work).chunks_exact_mut(width);
    let mut partial_rows = Some(work_slice(partials));
    let mut dx_rows = grad_input;
    let partial_width = shape.partial_width();
    parts.run(
        |range| {
            let (mine, rest) = partial_rows
                .take()
                .expect("carved in order")
                .split_at_mut(range.len() * partial_width);
            partial_rows = Some(rest);
            let samples = first(range.end) - first(range.start);
            let dx = dx_rows.take().map(|dx| {
                let (mine, rest) = dx.split_at(Axis(0), samples);
                dx_rows = Some(rest);
                mine
            });
            let work = work_rows.next().expect("one work row per part");
            (mine, dx, work)
        },
        |range, (partials, mut dx, work)| {
            let mut work = Work::new(shape, work);
            let (ow, rw) = (g.output[1], shape.row_width());
            let transposed = shape.transposed_weight_grad();
            let w_t = Strided {
                data: weight,
                rs: 1,
                cs: k,
            };
            let base = first(range.start);
            for (group, partial) in range.zip(partials.chunks_exact_mut(partial_width)) {
                let (dw, db) = partial.split_at_mut(co * k);
                for (i, sample) in (first(group)..first(group + 1)).enumerate() {
                    // G laid out as the patches' columns, 0 at the columns dropped.
                    let gs = row_slice(grad, sample);
                    work.plane.fill(F::zero());
                    let planes = work.plane.chunks_exact_mut(ld).zip(gs.chunks_exact(p));
                    for (padded, plane) in planes {
                        for (padded, row) in padded.chunks_mut(rw).zip(plane.chunks_exact(ow)) {
                            copy_row(&mut padded[..ow], row);
                        }
                    }
                    // The patches: in place in the padded sample where the non-transposed
                    // product can read them so, else copied out.
                    let in_place = shape.implicit() && !transposed;
                    if in_place {
                        pad_sample(shape, row_slice(x, sample), work.padded);
                    } else {
                        work.unfold(shape, row_slice(x, sample));
                    }
                    // dW (+)= G·patchesᵀ ;  db (+)= Σ over positions of G
                    let target = if i == 0 { &mut *dw } else { &mut *work.dw };
                    if transposed {
                        // dWᵀ = patches·Gᵀ
                        for (q, row) in work.plane_t.chunks_exact_mut(co).enumerate() {
                            for (t, plane) in row.iter_mut().zip(work.plane.chunks_exact(ld)) {
                                *t = plane[q];
                            }
                        }
                        let patches = Strided {
                            data: &*work.cols,
                            rs: ld,
                            cs: 1,
                        };
                        let c = ArrayViewMut2::from_shape((k, co), target).expect("K × CO");
                        gemm::gemm_bc(isa, patches, work.plane_t, co, None, c, ld);
                    } else if in_place {
                        let (plane, padded) = (&*work.plane, &*work.padded);
                        gemm::gemm_nt_rows(isa, plane, padded, taps, target, co, k, ld);
                    } else {
                        gemm::gemm_nt(isa, work.plane, work.cols, None, target, co, k, ld);
                    }
                    if i > 0 {
                        for (d, &s) in dw.iter_mut().zip(&*work.dw) {
                            *d += s;
                        }
                    }
                    for (d, plane) in db.iter_mut().zip(work.plane.chunks_exact(ld)) {
                        let total = sum(plane);
                        *d = if i == 0 { total } else { *d + total };
                    }
                    // d patches = Wᵀ·G, added back onto the input positions.
                    if let Some(dx) = dx.as_mut() {
                        let mut row = dx.row_mut(sample - base);
                        let row = row.as_slice_mut().expect("contiguous input-gradient rows");
                        let c =
                            ArrayViewMut2::from_shape((k, ld), &mut *work.dcols).expect("K × ld");
                        gemm::gemm_bc(isa, w_t, work.plane, ld, None, c, co);
                        work.fold(shape, row);
                    }
                }
            }
        },
    );
    // The groups' sums, in group order (transposing dWᵀ back).
    let transposed = shape.transposed_weight_grad();
    let partials = partials.view();
    for (group, partial) in partials.rows().into_iter().enumerate() {
        let partial = partial.to_slice().expect("contiguous partial rows");
        let (dw, db) = partial.split_at(co * k);
        if group == 0 {
            bias_grad.copy_from_slice(db);
        } else {
            for (d, &s) in bias_grad.iter_mut().zip(db) {
                *d += s;
            }
        }
        for (o, row) in weight_grad.chunks_exact_mut(k).enumerate() {
            for (t, d) in row.iter_mut().enumerate() {
                let s = if transposed {
                    dw[t * co + o]
                } else {
                    dw[o * k + t]
                };
                *d = if group == 0 { s } else { *d + s };
            }
        }
    }
}

/// The rows of a scratch matrix as one slice.
fn work_slice<F: Float>(work: &mut Scratch<F>) -> &mut [F] {
    work.view_mut()
        .into_slice()
        .expect("scratch rows are contiguous")
}

/// Row `i` of `a` as a slice.
///
/// # Panics
/// If its elements are not contiguous (callers copy such inputs first).
fn row_slice<'a, F>(a: ArrayView2<'a, F>, i: usize) -> &'a [F] {
    a.index_axis_move(Axis(0), i)
        .to_slice()
        .expect("contiguous rows")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::window::{Window1, Window2};

    /// im2col by its definition, one entry at a time.
    fn naive_im2col(g: &Geometry, x: &[f64]) -> Vec<f64> {
        let [h, w] = g.input;
        let [oh_n, ow_n] = g.output;
        let mut cols = Vec::new();
        for c in 0..g.channels {
            for kh in 0..g.kernel[0] {
                for kw in 0..g.kernel[1] {
                    for oh in 0..oh_n {
                        for ow in 0..ow_n {
                            let ih = (oh * g.stride[0] + kh * g.dilation[0]) as isize
                                - g.pad[0] as isize;
                            let iw = (ow * g.stride[1] + kw * g.dilation[1]) as isize
                                - g.pad[1] as isize;
                            let inside =
                                (0..h as isize).contains(&ih) && (0..w as isize).contains(&iw);
                            cols.push(if inside {
                                x[c * h * w + ih as usize * w + iw as usize]
                            } else {
                                0.0
                            });
                        }
                    }
                }
            }
        }
        cols
    }

    fn geometries() -> Vec<Geometry> {
        let w = |k: [usize; 2], s: [usize; 2], p: [usize; 2], d: [usize; 2]| Window2 {
            kernel: k,
            stride: s,
            pad: p,
            dilation: d,
        };
        let mut out = Vec::new();
        for (window, c, input) in [
            (w([5, 5], [1, 1], [2, 2], [1, 1]), 1, [8, 8]),
            (w([3, 2], [2, 1], [1, 0], [1, 1]), 2, [7, 5]),
            (w([2, 3], [1, 3], [0, 2], [2, 1]), 3, [6, 7]),
            (w([1, 1], [1, 1], [0, 0], [1, 1]), 2, [3, 4]),
            (w([3, 3], [2, 2], [4, 4], [1, 1]), 1, [2, 3]),
            // Stride 1 and dilation: wide, with a dilated width.
            (w([2, 3], [1, 1], [1, 2], [3, 2]), 2, [5, 9]),
            // Stride 1, but the narrow matrix: a 5-wide kernel leaves 2 of 6 columns.
            (w([5, 5], [1, 1], [0, 0], [1, 1]), 1, [6, 6]),
        ] {
            let out_size = window.output(input).unwrap();
            out.push(Geometry::new("test", &window, c, input, out_size));
        }
        let w1 = Window1::new([3])
            .with_stride([2])
            .with_pad([2])
            .with_dilation([2]);
        out.push(Geometry::new("test", &w1, 2, [9], w1.output([9]).unwrap()));
        let w1 = Window1::new([3]).with_pad([1]);
        out.push(Geometry::new("test", &w1, 3, [7], [7]));
        out
    }

    #[test]
    fn im2col_matches_its_definition() {
        for g in geometries() {
            let x: Vec<f64> = (0..g.channels * g.input_plane())
                .map(|i| i as f64 + 1.0)
                .collect();
            let expected = naive_im2col(&g, &x);
            // Rows padded to a multiple of 16 positions, with zeros.
            let (p, ld) = (g.output_plane(), g.output_plane().next_multiple_of(16));
            let mut cols = vec![f64::NAN; expected.len() / p * ld];
            im2col(&g, &x, &mut cols, ld);
            for (row, expected) in cols.chunks_exact(ld).zip(expected.chunks_exact(p)) {
                assert_eq!(&row[..p], expected, "{g:?}");
                assert!(row[p..].iter().all(|&v| v == 0.0), "{g:?}: padding");
            }
        }
    }

    /// The wide patch matrix holds the patches at columns `oh·Wp + ow` (`ow < OW`), and its
    /// fold is the transpose of its unfold, for every geometry with stride 1 along the width
    /// (strided heights included).
    #[test]
    fn wide_unfolding_matches_the_definition() {
        let mut wide = 0;
        for g in geometries() {
            let shape = ConvShape {
                geometry: g,
                out_channels: 1,
            };
            if !shape.wide() {
                continue;
            }
            wide += 1;
            let (p, ld, rw) = (g.output_plane(), shape.stride(), shape.row_width());
            let [oh_n, ow_n] = g.output;
            let column = |q: usize| (q / ow_n) * rw + q % ow_n;
            let len = g.channels * g.input_plane();
            let x: Vec<f64> = (0..len).map(|i| i as f64 + 1.0).collect();
            let mut buffer = vec![f64::NAN; shape.work_width()];
            let mut work = Work::new(&shape, &mut buffer);
            work.unfold(&shape, &x);
            let expected = naive_im2col(&g, &x);
            for (row, expected) in work.cols.chunks_exact(ld).zip(expected.chunks_exact(p)) {
                let got: Vec<f64> = (0..p).map(|q| row[column(q)]).collect();
                assert_eq!(got, expected, "{g:?}");
                assert!(row.iter().all(|v| v.is_finite()), "{g:?}: dropped columns");
            }
            // Gradients at the kept columns, 0 at the dropped ones (as backward sets them).
            let taps = g.channels * g.taps();
            let d: Vec<f64> = (0..taps * p).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
            work.dcols.fill(0.0);
            for (row, d) in work.dcols.chunks_exact_mut(ld).zip(d.chunks_exact(p)) {
                for (q, &v) in d.iter().enumerate() {
                    row[column(q)] = v;
                }
            }
            let mut dx = vec![f64::NAN; len];
            work.fold(&shape, &mut dx);
            for i in 0..len {
                let mut one_hot = vec![0.0; len];
                one_hot[i] = 1.0;
                let cols = naive_im2col(&g, &one_hot);
                let expected: f64 = cols.iter().zip(&d).map(|(a, b)| a * b).sum();
                assert_eq!(dx[i], expected, "{g:?} entry {i}");
            }
            assert!(oh_n * rw <= ld);
        }
        assert!(wide >= 3, "{wide} wide geometries tested");
    }

    /// col2im is im2col's transpose: ⟨im2col(x), d⟩ = ⟨x, col2im(d)⟩ for any x and d, and
    /// entry by entry (with a one-hot x).
    #[test]
    fn col2im_is_the_transpose_of_im2col() {
        for g in geometries() {
            let len = g.channels * g.input_plane();
            let cols_len = g.channels * g.taps() * g.output_plane();
            let d: Vec<f64> = (0..cols_len).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
            // The same gradients in rows 3 positions longer, whose ends must be ignored.
            let (p, ld) = (g.output_plane(), g.output_plane() + 3);
            let mut padded = vec![f64::NAN; cols_len / p * ld];
            for (row, d) in padded.chunks_exact_mut(ld).zip(d.chunks_exact(p)) {
                row[..p].copy_from_slice(d);
            }
            let mut dx = vec![f64::NAN; len];
            col2im(&g, &padded, ld, &mut dx);
            for i in 0..len {
                let mut x = vec![0.0; len];
                x[i] = 1.0;
                let cols = naive_im2col(&g, &x);
                let expected: f64 = cols.iter().zip(&d).map(|(a, b)| a * b).sum();
                assert_eq!(dx[i], expected, "{g:?} entry {i}");
            }
        }
    }
}
