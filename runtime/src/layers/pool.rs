//! Pooling layers (`maxpool`, `avgpool`, `global_avgpool`): PyTorch's `nn.MaxPool2d`,
//! `nn.MaxPool1d`, `nn.AvgPool2d`, `nn.AvgPool1d` and a global average.
//!
//! Samples are NCHW rows (`[C·H·W]`, or `[C·L]` in 1-D) and each channel is pooled on its
//! own. The per-sample shapes are const generics and the window a checked value, as for the
//! convolutions; the loops are generic only over the element type. Batches are split over
//! threads by samples, so results do not depend on the thread count.

use std::ops::Range;

use ndarray::{Array2, ArrayView2};

use super::window::{dims, Geometry, Window, Window1, Window2};
use crate::float::Float;
use crate::kernels::{slice_carver, Parts};
use crate::model::Mode;
use crate::scratch::{contiguous_rows, Scratch};

/// In the argmax buffer: the window read only padding, so nothing receives its gradient.
const NO_INPUT: u32 = u32::MAX;

/// What one window position costs in multiply-add flops of the products, for the thread
/// split: a load, a compare and a select, measured at about 0.9 ns per tap on LeNet-5's
/// first max pooling (one core), some 90 flops of the products at this machine's peak. (At
/// 2 per tap, the first guess, LeNet-5's poolings at batch 64 stayed on one thread: a fifth
/// of a two-thread training step.)
const FLOP_PER_TAP: usize = 64;

/// The samples of a batch split over threads: `f(sample, out_row, index_row)` for every
/// sample, where `out` has `out_width` elements per sample and `index` `index_width`
/// (possibly 0).
fn per_sample<F: Float, I: Send>(
    samples: usize,
    work: usize,
    out: &mut [F],
    out_width: usize,
    index: &mut [I],
    index_width: usize,
    f: impl Fn(usize, &mut [F], &mut [I]) + Sync,
) {
    let parts = Parts::new(samples, work, 1);
    let mut outs = slice_carver(out, out_width);
    let mut indices = slice_carver(index, index_width);
    parts.run(
        |range| (outs(range.clone()), indices(range)),
        |range, (out, index)| {
            let index_chunks = index.chunks_mut(index_width.max(1));
            for ((sample, out), index) in range
                .zip(out.chunks_exact_mut(out_width))
                .zip(index_chunks.chain(std::iter::repeat_with(|| &mut [][..])))
            {
                f(sample, out, index);
            }
        },
    );
}

/// Row `i` of `x` as a slice (`x` has contiguous rows, see `contiguous_rows`).
fn row<F>(x: ArrayView2<'_, F>, i: usize) -> &[F] {
    x.index_axis_move(ndarray::Axis(0), i)
        .to_slice()
        .expect("contiguous rows")
}

/// The rows of a scratch matrix as one slice.
fn all<F: Float>(s: &mut Scratch<F>) -> &mut [F] {
    s.view_mut()
        .into_slice()
        .expect("scratch rows are contiguous")
}

/// Checks PyTorch's limit on the padding of pooling, `pad ≤ span / 2` on every axis, where
/// span is the window's extent (dilated for max pooling).
fn check_pad<const D: usize>(layer: &str, window: &Window<D>, dilated: bool) {
    for axis in 0..D {
        let (k, d) = (window.kernel[axis], window.dilation[axis]);
        let span = if dilated {
            d.saturating_mul(k.saturating_sub(1)).saturating_add(1)
        } else {
            k
        };
        assert!(
            window.pad[axis] <= span / 2,
            "{layer}: padding {} is more than half the window ({}), so some windows would \
             see padding only; use a padding of at most {} (PyTorch's limit)",
            dims(&window.pad),
            dims(&window.kernel),
            span / 2
        );
    }
}

/// A pooling window's positions, worked out once at construction.
///
/// The loops run over an output row at a time: for each tap of the window in scan order
/// (row by row, left to right), one pass over the outputs of the row whose window has that
/// tap inside the input. Each output still sees its taps in scan order, and consecutive
/// outputs are independent, so the passes pipeline (one window at a time is a chain of
/// dependent compares: 7 ns per output of a 2×2 max pool).
#[derive(Clone, Debug)]
struct Windows {
    /// The window on the sample's planes.
    geometry: Geometry,
    /// Per output row: its window's first input row inside the input, and how many of
    /// its rows are inside.
    rows: Vec<(usize, usize)>,
    /// Per output column: how many of its window's columns are inside the input.
    cols: Vec<usize>,
    /// Per column tap `kw`: the output columns for which it is inside, and the input column
    /// it reads for the first of them.
    col_taps: Vec<(Range<usize>, usize)>,
    /// Every tap's offset in the channel's plane from its window's first input position,
    /// in scan order (used where there is no padding, so every window lies inside).
    inside_taps: Vec<usize>,
}

impl Windows {
    fn new(geometry: Geometry) -> Self {
        let g = &geometry;
        let rows = (0..g.output[0])
            .map(|o| {
                let taps = g.taps_of(0, o);
                let first = if taps.is_empty() {
                    0
                } else {
                    g.position(0, o, taps.start)
                };
                (first, taps.len())
            })
            .collect();
        let cols = (0..g.output[1]).map(|o| g.taps_of(1, o).len()).collect();
        let col_taps = (0..g.kernel[1])
            .map(|kw| {
                let outputs = g.valid(1, kw);
                let first = if outputs.is_empty() {
                    0
                } else {
                    g.position(1, outputs.start, kw)
                };
                (outputs, first)
            })
            .collect();
        let inside_taps = (0..g.kernel[0])
            .flat_map(|kh| {
                (0..g.kernel[1]).map(move |kw| kh * g.dilation[0] * g.input[1] + kw * g.dilation[1])
            })
            .collect();
        Windows {
            rows,
            cols,
            col_taps,
            inside_taps,
            geometry,
        }
    }

    /// Input positions of a sample (C·H·W).
    fn input_width(&self) -> usize {
        self.geometry.channels * self.geometry.input_plane()
    }

    /// Output positions of a sample (C·OH·OW).
    fn output_width(&self) -> usize {
        self.geometry.channels * self.geometry.output_plane()
    }

    /// Work of pooling `rows` samples, for the thread split.
    fn work(&self, rows: usize) -> usize {
        FLOP_PER_TAP * rows * self.output_width() * self.geometry.taps()
    }

    /// For output row `oh`, every tap in scan order: `tap(line, outputs, first)` with `line`
    /// the offset of the tap's input row in the channel, `outputs` the output columns whose
    /// window has the tap inside the input, and `first` the input column the first of them
    /// reads (the next ones read every `stride` columns).
    #[inline(always)]
    fn row_taps(&self, oh: usize, mut tap: impl FnMut(usize, Range<usize>, usize)) {
        let g = &self.geometry;
        let (ih0, nh) = self.rows[oh];
        for i in 0..nh {
            let line = (ih0 + i * g.dilation[0]) * g.input[1];
            for (outputs, first) in &self.col_taps {
                if !outputs.is_empty() {
                    tap(line, outputs.clone(), *first);
                }
            }
        }
    }

    /// Taps of output `(oh, ow)`'s window that read inside the input.
    fn inside(&self, oh: usize, ow: usize) -> usize {
        self.rows[oh].1 * self.cols[ow]
    }
}

// -----------------------------------------------------------------------------------------
// Max pooling

/// The buffers of max pooling, shared by [`MaxPool2d`] and [`MaxPool1d`].
#[derive(Clone, Debug)]
struct MaxCore<F> {
    /// The window's positions.
    windows: Windows,
    /// The maxima of the last forward, `[N, C·OH·OW]`.
    out: Scratch<F>,
    /// d loss / d x of the last backward, `[N, C·H·W]`.
    grad_input: Scratch<F>,
    /// Per output of the last forward: the index in its input plane of the (first)
    /// maximum, or [`NO_INPUT`]. Grown, never shrunk.
    argmax: Vec<u32>,
    /// A copy of an input whose rows are not contiguous.
    staging: Scratch<F>,
}

impl<F: Float> MaxCore<F> {
    fn new<const D: usize>(
        layer: &str,
        window: &Window<D>,
        channels: usize,
        input: [usize; D],
        output: [usize; D],
    ) -> Self {
        let geometry = Geometry::new(layer, window, channels, input, output);
        check_pad(layer, window, true);
        assert!(
            u32::try_from(geometry.input_plane()).is_ok_and(|n| n < NO_INPUT),
            "{layer}: input planes of more than 2³² − 2 positions are not supported"
        );
        Self {
            out: Scratch::new(channels * geometry.output_plane()),
            grad_input: Scratch::new(channels * geometry.input_plane()),
            argmax: Vec::new(),
            staging: Scratch::new(channels * geometry.input_plane()),
            windows: Windows::new(geometry),
        }
    }

    fn forward(&mut self, layer: &str, x: ArrayView2<'_, F>) {
        let width = self.windows.input_width();
        assert_eq!(x.ncols(), width, "{layer}: input width");
        let rows = x.nrows();
        self.out.resize(rows);
        self.grad_input.resize(rows);
        let outputs = rows * self.out.cols();
        if self.argmax.len() < outputs {
            self.argmax.resize(outputs, NO_INPUT);
        }
        let x = contiguous_rows(x, &mut self.staging);
        max_forward(
            &self.windows,
            x,
            all(&mut self.out),
            &mut self.argmax[..outputs],
        );
    }

    fn backward(
        &mut self,
        layer: &str,
        x: ArrayView2<'_, F>,
        grad_out: ArrayView2<'_, F>,
        input_grad: bool,
    ) {
        if !input_grad {
            return;
        }
        let shape = (self.out.rows(), self.out.cols());
        assert!(
            x.dim() == (shape.0, self.grad_input.cols()) && grad_out.dim() == shape,
            "{layer}: backward on a different batch than forward"
        );
        let g = self.windows.geometry;
        let (plane, out_plane) = (g.input_plane(), g.output_plane());
        let argmax = &self.argmax[..shape.0 * shape.1];
        per_sample(
            shape.0,
            FLOP_PER_TAP * (grad_out.len() + x.len()),
            all(&mut self.grad_input),
            g.channels * plane,
            &mut [0u8; 0][..],
            0,
            |sample, dx, _| {
                dx.fill(F::zero());
                let grads = grad_out.row(sample);
                let at = &argmax[sample * shape.1..(sample + 1) * shape.1];
                for (c, dx) in dx.chunks_exact_mut(plane).enumerate() {
                    let range = c * out_plane..(c + 1) * out_plane;
                    for (&i, &grad) in at[range.clone()]
                        .iter()
                        .zip(grads.slice(ndarray::s![range]))
                    {
                        if i != NO_INPUT {
                            dx[i as usize] += grad;
                        }
                    }
                }
            },
        );
    }

    fn predict(&self, layer: &str, x: ArrayView2<'_, F>) -> Array2<F> {
        assert_eq!(
            x.ncols(),
            self.windows.input_width(),
            "{layer}: input width"
        );
        let mut staging = Scratch::new(x.ncols());
        let x = contiguous_rows(x, &mut staging);
        let mut out = Array2::zeros((x.nrows(), self.out.cols()));
        let mut argmax = vec![NO_INPUT; out.len()];
        let slice = out.as_slice_mut().expect("a new array is contiguous");
        max_forward(&self.windows, x, slice, &mut argmax);
        out
    }
}

/// Max pooling of a batch: `out` and `argmax` (`[N, C·OH·OW]` each) from `x`.
fn max_forward<F: Float>(
    windows: &Windows,
    x: ArrayView2<'_, F>,
    out: &mut [F],
    argmax: &mut [u32],
) {
    let width = windows.output_width();
    let (plane, out_plane) = (
        windows.geometry.input_plane(),
        windows.geometry.output_plane(),
    );
    per_sample(
        x.nrows(),
        windows.work(x.nrows()),
        out,
        width,
        argmax,
        width,
        |sample, out, argmax| {
            let channels = row(x, sample)
                .chunks_exact(plane)
                .zip(out.chunks_exact_mut(out_plane))
                .zip(argmax.chunks_exact_mut(out_plane));
            for ((x, out), argmax) in channels {
                max_channel(windows, x, out, argmax);
            }
        },
    );
}

/// One channel's max pooling. Each window's taps are seen in scan order (row by row, left
/// to right), and a value replaces the maximum only if it is larger (or NaN): ties go to
/// the first maximum, as in PyTorch's CPU kernel, and so does the gradient. A window that
/// reads only padding gives −∞ and [`NO_INPUT`].
///
/// Without padding every window lies inside the input, and each output is computed on its
/// own in registers ([`max_inside`], [`max_2x2`]); the tap-by-tap passes below, which keep
/// the running maxima in memory, handle padding (they cost 4 ns per tap, measured on
/// LeNet-5's first pooling: a store-to-load chain through `out` and `argmax`).
fn max_channel<F: Float>(windows: &Windows, x: &[F], out: &mut [F], argmax: &mut [u32]) {
    let g = &windows.geometry;
    if g.pad == [0, 0] {
        if g.kernel == [2, 2] && g.stride == [2, 2] && g.dilation == [1, 1] {
            return max_2x2(g, x, out, argmax);
        }
        return max_inside(windows, x, out, argmax);
    }
    max_passes(windows, x, out, argmax);
}

/// [`max_channel`] for any window: per output row, one pass over its outputs for each tap.
fn max_passes<F: Float>(windows: &Windows, x: &[F], out: &mut [F], argmax: &mut [u32]) {
    let stride = windows.geometry.stride[1];
    let ow_n = windows.cols.len();
    let rows = out
        .chunks_exact_mut(ow_n)
        .zip(argmax.chunks_exact_mut(ow_n));
    for (oh, (out, argmax)) in rows.enumerate() {
        out.fill(F::neg_infinity());
        argmax.fill(NO_INPUT);
        windows.row_taps(oh, |line, outputs, first| {
            let start = line + first;
            for (k, ow) in outputs.enumerate() {
                let i = start + k * stride;
                let (v, best, at) = (x[i], &mut out[ow], &mut argmax[ow]);
                // The first tap inside sets the index even if it is −∞ (PyTorch's start).
                // Selects rather than a branch, which mispredicts on every other value.
                let take = (v > *best) | v.is_nan() | (*at == NO_INPUT);
                *best = if take { v } else { *best };
                *at = if take { i as u32 } else { *at };
            }
        });
    }
}

/// Whether `v` replaces the running maximum `best`: larger, or NaN (PyTorch's rule: a NaN
/// wins, and a later NaN wins over an earlier one).
#[inline(always)]
fn takes<F: Float>(v: F, best: F) -> bool {
    (v > best) | v.is_nan()
}

/// [`max_channel`] for windows that lie inside the input (no padding): each output's taps
/// in scan order, from the offsets in [`Windows::inside_taps`].
fn max_inside<F: Float>(windows: &Windows, x: &[F], out: &mut [F], argmax: &mut [u32]) {
    let g = &windows.geometry;
    let ow_n = g.output[1];
    let (first, rest) = windows
        .inside_taps
        .split_first()
        .expect("a window has taps");
    let rows = out
        .chunks_exact_mut(ow_n)
        .zip(argmax.chunks_exact_mut(ow_n));
    for (oh, (out, argmax)) in rows.enumerate() {
        let line = oh * g.stride[0] * g.input[1];
        for (ow, (out, at)) in out.iter_mut().zip(argmax.iter_mut()).enumerate() {
            let base = line + ow * g.stride[1];
            let (mut best, mut index) = (x[base + first], base + first);
            for &tap in rest {
                let v = x[base + tap];
                if takes(v, best) {
                    (best, index) = (v, base + tap);
                }
            }
            *out = best;
            *at = index as u32;
        }
    }
}

/// [`max_inside`] for 2×2 windows with stride 2 (the usual `maxpool 2`): pairs of
/// consecutive values of two input rows, compared in scan order with selects.
fn max_2x2<F: Float>(g: &Geometry, x: &[F], out: &mut [F], argmax: &mut [u32]) {
    let ([_, w], [_, ow_n]) = (g.input, g.output);
    let rows = out
        .chunks_exact_mut(ow_n)
        .zip(argmax.chunks_exact_mut(ow_n));
    for (oh, (out, argmax)) in rows.enumerate() {
        let top = 2 * oh * w;
        let (upper, lower) = (&x[top..top + 2 * ow_n], &x[top + w..top + w + 2 * ow_n]);
        let windows = upper.chunks_exact(2).zip(lower.chunks_exact(2));
        for (ow, ((out, at), (u, l))) in out
            .iter_mut()
            .zip(argmax.iter_mut())
            .zip(windows)
            .enumerate()
        {
            let i = (top + 2 * ow) as u32;
            let (mut best, mut index) = (u[0], i);
            for (v, j) in [
                (u[1], i + 1),
                (l[0], i + w as u32),
                (l[1], i + w as u32 + 1),
            ] {
                let take = takes(v, best);
                best = if take { v } else { best };
                index = if take { j } else { index };
            }
            *out = best;
            *at = index;
        }
    }
}

/// 2-D max pooling, `[C, H, W]` → `[C, OH, OW]` per sample: PyTorch's `nn.MaxPool2d(kernel,
/// stride, padding, dilation)` (`ceil_mode=False`).
///
/// Padding is −∞ (it never wins). The gradient of each output goes to the first maximal
/// input of its window in scan order (row by row, left to right), as PyTorch's CPU kernel
/// routes it when values tie exactly; the indices are kept from the forward pass. No
/// parameters.
#[derive(Clone, Debug)]
pub struct MaxPool2d<
    F: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
> {
    /// The window, as given to `new`.
    window: Window2,
    /// Buffers and geometry.
    core: MaxCore<F>,
}

impl<
        F: Float,
        const C: usize,
        const H: usize,
        const W: usize,
        const OH: usize,
        const OW: usize,
    > MaxPool2d<F, C, H, W, OH, OW>
{
    /// Number of scalar parameters: none.
    pub const PARAMS: usize = 0;

    /// Max pooling with `window` (for PyTorch's defaults, [`Window::pool`]: stride = kernel).
    ///
    /// # Panics
    /// If `window` does not map `H × W` to `OH × OW`, or pads more than half the (dilated)
    /// kernel, which PyTorch refuses too.
    pub fn new(window: Window2) -> Self {
        Self {
            window,
            core: MaxCore::new("MaxPool2d", &window, C, [H, W], [OH, OW]),
        }
    }

    /// The window the layer was built with.
    pub fn window(&self) -> Window2 {
        self.window
    }

    /// The maximum of each window; keeps where it was for backward.
    ///
    /// # Panics
    /// If `x` is not `C·H·W` wide.
    pub fn forward(&mut self, x: ArrayView2<'_, F>, _mode: Mode) {
        self.core.forward("MaxPool2d", x);
    }

    /// The output of the last forward, `[N, C·OH·OW]`.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.core.out.view()
    }

    /// d loss / d x: each output's gradient added at its window's first maximum, zero
    /// elsewhere. Nothing to do without `input_grad` (no parameters).
    ///
    /// # Panics
    /// If `x` or `grad_out` do not have the shape of the last forward.
    pub fn backward(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_out: ArrayView2<'_, F>,
        input_grad: bool,
    ) {
        self.core.backward("MaxPool2d", x, grad_out, input_grad);
    }

    /// d loss / d x of the last backward with `input_grad`.
    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.core.grad_input.view()
    }

    /// Rows of the last forward batch (0 before any).
    pub fn rows(&self) -> usize {
        self.core.out.rows()
    }

    /// Forward into a new array; the layer's buffers are left as they are.
    ///
    /// # Panics
    /// If `x` is not `C·H·W` wide.
    pub fn predict(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        self.core.predict("MaxPool2d", x)
    }
}

/// 1-D max pooling, `[C, L]` → `[C, OL]` per sample: PyTorch's `nn.MaxPool1d(kernel,
/// stride, padding, dilation)`; [`MaxPool2d`] with height 1 (same padding, ties and
/// gradient routing).
#[derive(Clone, Debug)]
pub struct MaxPool1d<F: Float, const C: usize, const L: usize, const OL: usize> {
    /// The window, as given to `new`.
    window: Window1,
    /// Buffers and geometry.
    core: MaxCore<F>,
}

impl<F: Float, const C: usize, const L: usize, const OL: usize> MaxPool1d<F, C, L, OL> {
    /// Number of scalar parameters: none.
    pub const PARAMS: usize = 0;

    /// Max pooling with `window` (for PyTorch's defaults, [`Window::pool`]: stride = kernel).
    ///
    /// # Panics
    /// If `window` does not map `L` to `OL`, or pads more than half the (dilated) kernel.
    pub fn new(window: Window1) -> Self {
        Self {
            window,
            core: MaxCore::new("MaxPool1d", &window, C, [L], [OL]),
        }
    }

    /// The window the layer was built with.
    pub fn window(&self) -> Window1 {
        self.window
    }

    /// The maximum of each window; keeps where it was for backward.
    ///
    /// # Panics
    /// If `x` is not `C·L` wide.
    pub fn forward(&mut self, x: ArrayView2<'_, F>, _mode: Mode) {
        self.core.forward("MaxPool1d", x);
    }

    /// The output of the last forward, `[N, C·OL]`.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.core.out.view()
    }

    /// d loss / d x: each output's gradient added at its window's first maximum.
    ///
    /// # Panics
    /// If `x` or `grad_out` do not have the shape of the last forward.
    pub fn backward(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_out: ArrayView2<'_, F>,
        input_grad: bool,
    ) {
        self.core.backward("MaxPool1d", x, grad_out, input_grad);
    }

    /// d loss / d x of the last backward with `input_grad`.
    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.core.grad_input.view()
    }

    /// Rows of the last forward batch (0 before any).
    pub fn rows(&self) -> usize {
        self.core.out.rows()
    }

    /// Forward into a new array; the layer's buffers are left as they are.
    ///
    /// # Panics
    /// If `x` is not `C·L` wide.
    pub fn predict(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        self.core.predict("MaxPool1d", x)
    }
}

// -----------------------------------------------------------------------------------------
// Average pooling

/// The buffers of average pooling, shared by [`AvgPool2d`] and [`AvgPool1d`].
#[derive(Clone, Debug)]
struct AvgCore<F> {
    /// The window's positions.
    windows: Windows,
    /// Whether padding counts in the divisor.
    count_include_pad: bool,
    /// The averages of the last forward, `[N, C·OH·OW]`.
    out: Scratch<F>,
    /// d loss / d x of the last backward, `[N, C·H·W]`.
    grad_input: Scratch<F>,
    /// A copy of an input whose rows are not contiguous.
    staging: Scratch<F>,
}

impl<F: Float> AvgCore<F> {
    fn new<const D: usize>(
        layer: &str,
        window: &Window<D>,
        count_include_pad: bool,
        channels: usize,
        input: [usize; D],
        output: [usize; D],
    ) -> Self {
        assert!(
            window.dilation.iter().all(|&d| d == 1),
            "{layer}: average pooling has no dilation (PyTorch's neither), found dilation {}; \
             use dilation 1",
            dims(&window.dilation)
        );
        let geometry = Geometry::new(layer, window, channels, input, output);
        check_pad(layer, window, false);
        Self {
            count_include_pad,
            out: Scratch::new(channels * geometry.output_plane()),
            grad_input: Scratch::new(channels * geometry.input_plane()),
            staging: Scratch::new(channels * geometry.input_plane()),
            windows: Windows::new(geometry),
        }
    }

    fn forward(&mut self, layer: &str, x: ArrayView2<'_, F>) {
        assert_eq!(
            x.ncols(),
            self.windows.input_width(),
            "{layer}: input width"
        );
        self.out.resize(x.nrows());
        self.grad_input.resize(x.nrows());
        let x = contiguous_rows(x, &mut self.staging);
        avg_forward(&self.windows, self.count_include_pad, x, all(&mut self.out));
    }

    fn backward(
        &mut self,
        layer: &str,
        x: ArrayView2<'_, F>,
        grad_out: ArrayView2<'_, F>,
        input_grad: bool,
    ) {
        if !input_grad {
            return;
        }
        let shape = (self.out.rows(), self.out.cols());
        assert!(
            x.dim() == (shape.0, self.grad_input.cols()) && grad_out.dim() == shape,
            "{layer}: backward on a different batch than forward"
        );
        let windows = &self.windows;
        let include = self.count_include_pad;
        let (plane, out_plane) = (
            windows.geometry.input_plane(),
            windows.geometry.output_plane(),
        );
        per_sample(
            shape.0,
            windows.work(shape.0),
            all(&mut self.grad_input),
            windows.input_width(),
            &mut [0u8; 0][..],
            0,
            |sample, dx, _| {
                dx.fill(F::zero());
                let grads = grad_out.row(sample);
                let stride = windows.geometry.stride[1];
                let ow_n = windows.cols.len();
                for (c, dx) in dx.chunks_exact_mut(plane).enumerate() {
                    let grads = grads.slice(ndarray::s![c * out_plane..(c + 1) * out_plane]);
                    for (oh, grads) in grads.exact_chunks(ow_n).into_iter().enumerate() {
                        windows.row_taps(oh, |line, outputs, first| {
                            let inputs = dx[line + first..].iter_mut().step_by(stride);
                            for (ow, d) in outputs.zip(inputs) {
                                *d += grads[ow] / divisor(windows, include, oh, ow);
                            }
                        });
                    }
                }
            },
        );
    }

    fn predict(&self, layer: &str, x: ArrayView2<'_, F>) -> Array2<F> {
        assert_eq!(
            x.ncols(),
            self.windows.input_width(),
            "{layer}: input width"
        );
        let mut staging = Scratch::new(x.ncols());
        let x = contiguous_rows(x, &mut staging);
        let mut out = Array2::zeros((x.nrows(), self.out.cols()));
        let slice = out.as_slice_mut().expect("a new array is contiguous");
        avg_forward(&self.windows, self.count_include_pad, x, slice);
        out
    }
}

/// What output `(oh, ow)`'s window sum is divided by: the whole window with
/// `count_include_pad`, else the taps that read the input (1 if none, whose sum is 0:
/// PyTorch's output 0).
fn divisor<F: Float>(windows: &Windows, count_include_pad: bool, oh: usize, ow: usize) -> F {
    let count = if count_include_pad {
        windows.geometry.taps()
    } else {
        windows.inside(oh, ow).max(1)
    };
    F::from_f64(count as f64)
}

/// Average pooling of a batch into `out` (`[N, C·OH·OW]`): each window's sum in scan
/// order, divided by its divisor.
fn avg_forward<F: Float>(
    windows: &Windows,
    count_include_pad: bool,
    x: ArrayView2<'_, F>,
    out: &mut [F],
) {
    let (plane, out_plane) = (
        windows.geometry.input_plane(),
        windows.geometry.output_plane(),
    );
    per_sample(
        x.nrows(),
        windows.work(x.nrows()),
        out,
        windows.output_width(),
        &mut [0u8; 0][..],
        0,
        |sample, out, _| {
            let channels = row(x, sample)
                .chunks_exact(plane)
                .zip(out.chunks_exact_mut(out_plane));
            let stride = windows.geometry.stride[1];
            let ow_n = windows.cols.len();
            for (x, out) in channels {
                for (oh, out) in out.chunks_exact_mut(ow_n).enumerate() {
                    out.fill(F::zero());
                    windows.row_taps(oh, |line, outputs, first| {
                        let inputs = x[line + first..].iter().step_by(stride);
                        for (sum, &v) in out[outputs].iter_mut().zip(inputs) {
                            *sum += v;
                        }
                    });
                    for (ow, v) in out.iter_mut().enumerate() {
                        *v /= divisor(windows, count_include_pad, oh, ow);
                    }
                }
            }
        },
    );
}

/// 2-D average pooling, `[C, H, W]` → `[C, OH, OW]` per sample: PyTorch's
/// `nn.AvgPool2d(kernel, stride, padding, count_include_pad=…)` (`ceil_mode=False`, no
/// divisor override).
///
/// Padding adds zeros. With `count_include_pad` (PyTorch's default) every window's sum is
/// divided by KH·KW; without, by the number of its taps that read the input. Average
/// pooling has no dilation. No parameters.
#[derive(Clone, Debug)]
pub struct AvgPool2d<
    F: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
> {
    /// The window, as given to `new`.
    window: Window2,
    /// Buffers, geometry and `count_include_pad`.
    core: AvgCore<F>,
}

impl<
        F: Float,
        const C: usize,
        const H: usize,
        const W: usize,
        const OH: usize,
        const OW: usize,
    > AvgPool2d<F, C, H, W, OH, OW>
{
    /// Number of scalar parameters: none.
    pub const PARAMS: usize = 0;

    /// Average pooling with `window` (for PyTorch's defaults, [`Window::pool`] and
    /// `count_include_pad = true`).
    ///
    /// # Panics
    /// If `window` does not map `H × W` to `OH × OW`, has a dilation other than 1, or pads
    /// more than half the kernel (which PyTorch refuses too).
    pub fn new(window: Window2, count_include_pad: bool) -> Self {
        Self {
            window,
            core: AvgCore::new("AvgPool2d", &window, count_include_pad, C, [H, W], [OH, OW]),
        }
    }

    /// The window the layer was built with.
    pub fn window(&self) -> Window2 {
        self.window
    }

    /// Whether padding counts in the divisor.
    pub fn count_include_pad(&self) -> bool {
        self.core.count_include_pad
    }

    /// The average of each window.
    ///
    /// # Panics
    /// If `x` is not `C·H·W` wide.
    pub fn forward(&mut self, x: ArrayView2<'_, F>, _mode: Mode) {
        self.core.forward("AvgPool2d", x);
    }

    /// The output of the last forward, `[N, C·OH·OW]`.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.core.out.view()
    }

    /// d loss / d x: each output's gradient divided by its window's divisor and added to
    /// every input its window read. Nothing to do without `input_grad` (no parameters).
    ///
    /// # Panics
    /// If `x` or `grad_out` do not have the shape of the last forward.
    pub fn backward(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_out: ArrayView2<'_, F>,
        input_grad: bool,
    ) {
        self.core.backward("AvgPool2d", x, grad_out, input_grad);
    }

    /// d loss / d x of the last backward with `input_grad`.
    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.core.grad_input.view()
    }

    /// Rows of the last forward batch (0 before any).
    pub fn rows(&self) -> usize {
        self.core.out.rows()
    }

    /// Forward into a new array; the layer's buffers are left as they are.
    ///
    /// # Panics
    /// If `x` is not `C·H·W` wide.
    pub fn predict(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        self.core.predict("AvgPool2d", x)
    }
}

/// 1-D average pooling, `[C, L]` → `[C, OL]` per sample: PyTorch's `nn.AvgPool1d(kernel,
/// stride, padding, count_include_pad=…)`; [`AvgPool2d`] with height 1.
#[derive(Clone, Debug)]
pub struct AvgPool1d<F: Float, const C: usize, const L: usize, const OL: usize> {
    /// The window, as given to `new`.
    window: Window1,
    /// Buffers, geometry and `count_include_pad`.
    core: AvgCore<F>,
}

impl<F: Float, const C: usize, const L: usize, const OL: usize> AvgPool1d<F, C, L, OL> {
    /// Number of scalar parameters: none.
    pub const PARAMS: usize = 0;

    /// Average pooling with `window` (for PyTorch's defaults, [`Window::pool`] and
    /// `count_include_pad = true`).
    ///
    /// # Panics
    /// If `window` does not map `L` to `OL`, has a dilation other than 1, or pads more than
    /// half the kernel.
    pub fn new(window: Window1, count_include_pad: bool) -> Self {
        Self {
            window,
            core: AvgCore::new("AvgPool1d", &window, count_include_pad, C, [L], [OL]),
        }
    }

    /// The window the layer was built with.
    pub fn window(&self) -> Window1 {
        self.window
    }

    /// Whether padding counts in the divisor.
    pub fn count_include_pad(&self) -> bool {
        self.core.count_include_pad
    }

    /// The average of each window.
    ///
    /// # Panics
    /// If `x` is not `C·L` wide.
    pub fn forward(&mut self, x: ArrayView2<'_, F>, _mode: Mode) {
        self.core.forward("AvgPool1d", x);
    }

    /// The output of the last forward, `[N, C·OL]`.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.core.out.view()
    }

    /// d loss / d x: each output's gradient divided by its window's divisor and added to
    /// every input its window read.
    ///
    /// # Panics
    /// If `x` or `grad_out` do not have the shape of the last forward.
    pub fn backward(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_out: ArrayView2<'_, F>,
        input_grad: bool,
    ) {
        self.core.backward("AvgPool1d", x, grad_out, input_grad);
    }

    /// d loss / d x of the last backward with `input_grad`.
    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.core.grad_input.view()
    }

    /// Rows of the last forward batch (0 before any).
    pub fn rows(&self) -> usize {
        self.core.out.rows()
    }

    /// Forward into a new array; the layer's buffers are left as they are.
    ///
    /// # Panics
    /// If `x` is not `C·L` wide.
    pub fn predict(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        self.core.predict("AvgPool1d", x)
    }
}

// -----------------------------------------------------------------------------------------
// Global average pooling

/// Global average pooling, `[C, S]` → `[C]` per sample: the mean of each channel over its S
/// positions (S = H·W for images, L for sequences). PyTorch's `nn.AdaptiveAvgPool2d(1)`
/// followed by `flatten`, or `x.mean(dim=(2, 3))`. No parameters.
#[derive(Clone, Debug)]
pub struct GlobalAvgPool<F: Float, const C: usize, const S: usize> {
    /// The means of the last forward, `[N, C]`.
    out: Scratch<F>,
    /// d loss / d x of the last backward, `[N, C·S]`.
    grad_input: Scratch<F>,
}

impl<F: Float, const C: usize, const S: usize> Default for GlobalAvgPool<F, C, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float, const C: usize, const S: usize> GlobalAvgPool<F, C, S> {
    /// Number of scalar parameters: none.
    pub const PARAMS: usize = 0;

    /// The layer.
    ///
    /// # Panics
    /// If `S` is 0.
    pub fn new() -> Self {
        assert!(
            S > 0,
            "GlobalAvgPool: a channel needs at least one position"
        );
        Self {
            out: Scratch::new(C),
            grad_input: Scratch::new(C * S),
        }
    }

    /// `out[c] = Σₛ x[c, s] / S`.
    ///
    /// # Panics
    /// If `x` is not `C·S` wide.
    pub fn forward(&mut self, x: ArrayView2<'_, F>, _mode: Mode) {
        self.out.resize(x.nrows());
        self.grad_input.resize(x.nrows());
        global_avg(C, S, x, self.out.view_mut());
    }

    /// The output of the last forward, `[N, C]`.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    /// `d loss / d x[c, s] = grad_out[c] / S`. Nothing to do without `input_grad`.
    ///
    /// # Panics
    /// If `x` or `grad_out` do not have the shape of the last forward.
    pub fn backward(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_out: ArrayView2<'_, F>,
        input_grad: bool,
    ) {
        if !input_grad {
            return;
        }
        let rows = self.out.rows();
        assert!(
            x.dim() == (rows, C * S) && grad_out.dim() == (rows, C),
            "GlobalAvgPool: backward on a different batch than forward"
        );
        global_avg_backward(S, grad_out, self.grad_input.view_mut());
    }

    /// d loss / d x of the last backward with `input_grad`.
    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_input.view()
    }

    /// Rows of the last forward batch (0 before any).
    pub fn rows(&self) -> usize {
        self.out.rows()
    }

    /// Forward into a new array; the layer's buffers are left as they are.
    ///
    /// # Panics
    /// If `x` is not `C·S` wide.
    pub fn predict(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        let mut out = Array2::zeros((x.nrows(), C));
        global_avg(C, S, x, out.view_mut());
        out
    }
}

/// `out[n, c]` = mean of `x[n, c·S .. (c+1)·S]`.
fn global_avg<F: Float>(
    channels: usize,
    positions: usize,
    x: ArrayView2<'_, F>,
    mut out: ndarray::ArrayViewMut2<'_, F>,
) {
    assert_eq!(
        x.ncols(),
        channels * positions,
        "GlobalAvgPool: input width"
    );
    let s = F::from_f64(positions as f64);
    for (x, mut out) in x.rows().into_iter().zip(out.rows_mut()) {
        for (c, o) in out.iter_mut().enumerate() {
            let channel = x.slice(ndarray::s![c * positions..(c + 1) * positions]);
            *o = channel.fold(F::zero(), |sum, &v| sum + v) / s;
        }
    }
}

/// `dx[n, c·S + s] = grad[n, c] / S`.
fn global_avg_backward<F: Float>(
    positions: usize,
    grad: ArrayView2<'_, F>,
    mut dx: ndarray::ArrayViewMut2<'_, F>,
) {
    let s = F::from_f64(positions as f64);
    for (g, mut dx) in grad.rows().into_iter().zip(dx.rows_mut()) {
        for (c, &g) in g.iter().enumerate() {
            dx.slice_mut(ndarray::s![c * positions..(c + 1) * positions])
                .fill(g / s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn max_pool_ties_go_to_the_first_maximum() {
        // One 2×4 channel, 2×2 windows: [[1 3 | 2 2] [3 0 | 2 1]]: the first window's 3s
        // tie (the top one comes first), the second's 2s tie three ways.
        let mut pool = MaxPool2d::<f64, 1, 2, 4, 1, 2>::new(Window2::pool([2, 2]));
        let x = array![[1.0, 3.0, 2.0, 2.0, 3.0, 0.0, 2.0, 1.0]];
        pool.forward(x.view(), Mode::Train);
        assert_eq!(pool.output(), array![[3.0, 2.0]]);
        assert_eq!(pool.predict(x.view()), pool.output());
        pool.backward(x.view(), array![[10.0, 20.0]].view(), true);
        assert_eq!(
            pool.grad_input(),
            array![[0.0, 10.0, 20.0, 0.0, 0.0, 0.0, 0.0, 0.0]]
        );
    }

    /// The in-register paths (2×2 stride 2, and any window without padding) give the maxima
    /// and indices of the tap-by-tap passes, bit for bit, on values with ties, NaNs and −∞.
    #[test]
    fn max_pool_fast_paths_match_the_passes() {
        let cases = [
            (Window2::pool([2, 2]), [6, 8]),
            (Window2::pool([2, 2]), [7, 5]),
            (Window2::new([3, 2]).with_stride([2, 1]), [7, 6]),
            (Window2::new([2, 3]).with_dilation([2, 1]), [5, 7]),
            (Window2::new([3, 3]), [4, 4]),
        ];
        let special = [f32::NAN, f32::NEG_INFINITY, 1.0, 1.0, -2.0, f32::NAN, 0.5];
        for (window, input) in cases {
            let output = window.output(input).expect("an output");
            let g = Geometry::new("test", &window, 1, input, output);
            let windows = Windows::new(g);
            let x: Vec<f32> = (0..g.input_plane())
                .map(|i| special[(i * 5 + i / 3) % special.len()])
                .collect();
            let n = g.output_plane();
            let (mut out, mut at) = (vec![0.0f32; n], vec![0u32; n]);
            let (mut want, mut want_at) = (vec![0.0f32; n], vec![0u32; n]);
            max_channel(&windows, &x, &mut out, &mut at);
            max_passes(&windows, &x, &mut want, &mut want_at);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&out), bits(&want), "{window:?} on {input:?}");
            assert_eq!(at, want_at, "{window:?} on {input:?}");
        }
    }

    #[test]
    fn max_pool_padding_never_wins_and_overlapping_windows_add_up() {
        // All-negative input, k=3 s=1 pad=1 on length 3: padding (−∞) loses to −5.
        let mut pool = MaxPool1d::<f64, 1, 3, 3>::new(Window1::new([3]).with_pad([1]));
        let x = array![[-5.0, -1.0, -7.0]];
        pool.forward(x.view(), Mode::Train);
        assert_eq!(pool.output(), array![[-1.0, -1.0, -1.0]]);
        pool.backward(x.view(), array![[1.0, 2.0, 4.0]].view(), true);
        assert_eq!(pool.grad_input(), array![[0.0, 7.0, 0.0]]);
    }

    #[test]
    fn avg_pool_divisors_with_and_without_padding() {
        // Length 4, k=3 s=2 pad=1: windows [pad, 1, 2] and [2, 3, 4].
        let x = array![[1.0, 2.0, 3.0, 4.0]];
        let window = Window1::new([3]).with_stride([2]).with_pad([1]);
        let mut with = AvgPool1d::<f64, 1, 4, 2>::new(window, true);
        with.forward(x.view(), Mode::Train);
        assert_eq!(with.output(), array![[1.0, 3.0]]);
        let mut without = AvgPool1d::<f64, 1, 4, 2>::new(window, false);
        without.forward(x.view(), Mode::Train);
        assert_eq!(without.output(), array![[1.5, 3.0]]);
        without.backward(x.view(), array![[2.0, 3.0]].view(), true);
        assert_eq!(without.grad_input(), array![[1.0, 2.0, 1.0, 1.0]]);
    }

    #[test]
    fn global_average() {
        let mut pool = GlobalAvgPool::<f64, 2, 3>::new();
        let x = array![[1.0, 2.0, 6.0, -1.0, 0.0, 4.0]];
        pool.forward(x.view(), Mode::Train);
        assert_eq!(pool.output(), array![[3.0, 1.0]]);
        pool.backward(x.view(), array![[3.0, -6.0]].view(), true);
        assert_eq!(pool.grad_input(), array![[1.0, 1.0, 1.0, -2.0, -2.0, -2.0]]);
    }

    #[test]
    #[should_panic(expected = "padding 2 is more than half the window (3)")]
    fn padding_beyond_half_the_window_is_refused() {
        MaxPool1d::<f32, 1, 8, 10>::new(Window1::new([3]).with_pad([2]));
    }

    #[test]
    #[should_panic(expected = "average pooling has no dilation")]
    fn average_pooling_refuses_dilation() {
        AvgPool1d::<f32, 1, 8, 3>::new(Window1::pool([2]).with_dilation([2]), true);
    }
}
