//! The sliding window of convolutions and pooling: kernel, stride, padding and dilation.

use std::ops::Range;

/// The sliding window of a `D`-dimensional convolution or pooling layer, one entry per
/// spatial axis (`[height, width]` for 2-D, `[length]` for 1-D): PyTorch's `kernel_size`,
/// `stride`, `padding` and `dilation` arguments.
///
/// Padding is symmetric (the same number of positions before and after each axis), as
/// PyTorch's integer `padding`. The layers take the window as a value checked once at
/// construction rather than as const generics, so a network's generic code stays small; the
/// per-sample shapes stay const generics, so wrong shapes still do not compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window<const D: usize> {
    /// Extent of the window along each axis (`k`; PyTorch's `kernel_size`).
    pub kernel: [usize; D],
    /// Step between consecutive windows along each axis (PyTorch's `stride`).
    pub stride: [usize; D],
    /// Positions added before and after each axis: zeros for convolutions, −∞ for max
    /// pooling, zeros (counted or not) for average pooling (PyTorch's `padding`).
    pub pad: [usize; D],
    /// Distance between the taps of the window along each axis, 1 for a contiguous window
    /// (PyTorch's `dilation`).
    pub dilation: [usize; D],
}

/// The window of a 1-D layer (`conv1d`, 1-D pooling) on `[channels, length]` samples.
pub type Window1 = Window<1>;

/// The window of a 2-D layer (`conv2d`, 2-D pooling) on `[channels, height, width]` samples.
pub type Window2 = Window<2>;

impl<const D: usize> Window<D> {
    /// A window of extent `kernel` with stride 1, no padding and no dilation (PyTorch's
    /// defaults for convolutions).
    pub const fn new(kernel: [usize; D]) -> Self {
        Self {
            kernel,
            stride: [1; D],
            pad: [0; D],
            dilation: [1; D],
        }
    }

    /// A pooling window: extent `kernel`, stride equal to the kernel, no padding (PyTorch's
    /// defaults for `MaxPool2d(k)` and `AvgPool2d(k)`).
    pub const fn pool(kernel: [usize; D]) -> Self {
        Self {
            kernel,
            stride: kernel,
            pad: [0; D],
            dilation: [1; D],
        }
    }

    /// The same window with stride `stride`.
    pub const fn with_stride(mut self, stride: [usize; D]) -> Self {
        self.stride = stride;
        self
    }

    /// The same window with padding `pad` on both sides of each axis.
    pub const fn with_pad(mut self, pad: [usize; D]) -> Self {
        self.pad = pad;
        self
    }

    /// The same window with dilation `dilation`.
    pub const fn with_dilation(mut self, dilation: [usize; D]) -> Self {
        self.dilation = dilation;
        self
    }

    /// Output size along each axis for an input of size `input`, with PyTorch's formula
    /// `⌊(in + 2·pad − dilation·(kernel − 1) − 1) / stride⌋ + 1` (`ceil_mode=False`).
    ///
    /// `None` if some axis has no output: the dilated kernel is longer than the padded
    /// input, or a kernel, stride or dilation is 0.
    pub fn output(&self, input: [usize; D]) -> Option<[usize; D]> {
        let mut out = [0; D];
        for (axis, out) in out.iter_mut().enumerate() {
            *out = output_size(
                input[axis],
                self.kernel[axis],
                self.stride[axis],
                self.pad[axis],
                self.dilation[axis],
            )?;
        }
        Some(out)
    }

    /// `kernel`, `stride`, `pad` and `dilation` as text (`kernel 5x5, stride 1x1, pad 2x2,
    /// dilation 1x1`), for messages.
    pub fn describe(&self) -> String {
        format!(
            "kernel {}, stride {}, pad {}, dilation {}",
            dims(&self.kernel),
            dims(&self.stride),
            dims(&self.pad),
            dims(&self.dilation)
        )
    }
}

/// Output size along one axis (see [`Window::output`]).
fn output_size(
    input: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    dilation: usize,
) -> Option<usize> {
    if kernel == 0 || stride == 0 || dilation == 0 {
        return None;
    }
    let span = dilation.checked_mul(kernel - 1)?.checked_add(1)?;
    let padded = input.checked_add(pad.checked_mul(2)?)?;
    padded.checked_sub(span).map(|room| room / stride + 1)
}

/// `[5, 3]` as `5x3`.
pub(crate) fn dims(values: &[usize]) -> String {
    values
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("x")
}

/// A window applied to a `[channels, height, width]` sample, checked: the form the
/// convolution and pooling kernels work with. A 1-D layer is the 2-D case with height 1
/// (kernel 1, stride 1, no padding along the height).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Channels of the input.
    pub channels: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Output height and width.
    pub output: [usize; 2],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Padding along height and width.
    pub pad: [usize; 2],
    /// Dilation along height and width.
    pub dilation: [usize; 2],
}

impl Geometry {
    /// The geometry of `window` on `[channels, input]` samples, for layer `layer` (named in
    /// messages), after checking that the window maps `input` to `output`.
    ///
    /// # Panics
    /// If it does not (the window leaves no output, or another size than `output`).
    pub fn new<const D: usize>(
        layer: &str,
        window: &Window<D>,
        channels: usize,
        input: [usize; D],
        output: [usize; D],
    ) -> Geometry {
        assert!(D == 1 || D == 2, "{layer}: windows are 1-D or 2-D");
        match window.output(input) {
            Some(found) if found == output => {}
            Some(found) => panic!(
                "{layer}: the window ({}) maps an input of {} to {}, not to the declared {}; \
                 declare an output of {} or change the window",
                window.describe(),
                dims(&input),
                dims(&found),
                dims(&output),
                dims(&found)
            ),
            None => panic!(
                "{layer}: the window ({}) leaves no output for an input of {} (the dilated \
                 kernel is longer than the padded input, or a size is 0); use a smaller \
                 kernel or more padding",
                window.describe(),
                dims(&input)
            ),
        }
        // 1-D: height 1, and the window along it the identity.
        let axis = |values: &[usize; D], one: usize| -> [usize; 2] {
            if D == 1 {
                [one, values[0]]
            } else {
                [values[0], values[1]]
            }
        };
        Geometry {
            channels,
            input: axis(&input, 1),
            output: axis(&output, 1),
            kernel: axis(&window.kernel, 1),
            stride: axis(&window.stride, 1),
            pad: axis(&window.pad, 0),
            dilation: axis(&window.dilation, 1),
        }
    }

    /// Elements of one input channel: H·W.
    pub fn input_plane(&self) -> usize {
        self.input[0] * self.input[1]
    }

    /// Elements of one output channel: OH·OW.
    pub fn output_plane(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// Taps of one window over one channel: KH·KW.
    pub fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// Outputs `o` along `axis` whose tap `k` reads inside the input, i.e. with
    /// `o·stride + k·dilation − pad` in `0..input`.
    #[inline]
    pub fn valid(&self, axis: usize, k: usize) -> Range<usize> {
        let offset = (k * self.dilation[axis]) as isize - self.pad[axis] as isize;
        valid_outputs(
            self.output[axis],
            self.input[axis],
            self.stride[axis],
            offset,
        )
    }

    /// Taps `k` of output `o`'s window along `axis` that read inside the input (the others
    /// read padding), in scan order.
    #[inline]
    pub fn taps_of(&self, axis: usize, o: usize) -> Range<usize> {
        let start = (o * self.stride[axis]) as isize - self.pad[axis] as isize;
        valid_outputs(
            self.kernel[axis],
            self.input[axis],
            self.dilation[axis],
            start,
        )
    }

    /// The input position of output `o`'s tap `k` along `axis` (`o·stride + k·dilation −
    /// pad`); only meaningful for `o` in [`Geometry::valid`]`(axis, k)`.
    #[inline]
    pub fn position(&self, axis: usize, o: usize, k: usize) -> usize {
        (o * self.stride[axis] + k * self.dilation[axis]) - self.pad[axis]
    }
}

/// The `o` in `0..out` with `o·stride + offset` in `0..input`.
#[inline]
fn valid_outputs(out: usize, input: usize, stride: usize, offset: isize) -> Range<usize> {
    // o·stride + offset ≥ 0  ⇔  o ≥ ⌈−offset / stride⌉
    let lo = if offset >= 0 {
        0
    } else {
        offset.unsigned_abs().div_ceil(stride)
    };
    // o·stride + offset ≤ input − 1  ⇔  o ≤ ⌊(input − 1 − offset) / stride⌋
    let last = input as isize - 1 - offset;
    let hi = if last < 0 {
        0
    } else {
        (last as usize / stride + 1).min(out)
    };
    lo.min(hi)..hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_follow_pytorch() {
        // LeNet: 28 → 28 with k=5 pad=2; 28 → 14 by 2x2 pooling; 14 → 10 with k=5.
        assert_eq!(
            Window2::new([5, 5]).with_pad([2, 2]).output([28, 28]),
            Some([28, 28])
        );
        assert_eq!(Window2::pool([2, 2]).output([28, 28]), Some([14, 14]));
        assert_eq!(Window2::new([5, 5]).output([14, 14]), Some([10, 10]));
        // floor: 7 with k=2 s=2 → 3; dilation 2 makes k=3 span 5: 7 → 3.
        assert_eq!(Window1::pool([2]).output([7]), Some([3]));
        assert_eq!(Window1::new([3]).with_dilation([2]).output([7]), Some([3]));
        // Non-square everything: (10 + 2 − 2·2 − 1)/3 + 1 = 3, (9 + 0 − 1·4 − 1)/1 + 1 = 5.
        let w = Window2 {
            kernel: [3, 5],
            stride: [3, 1],
            pad: [1, 0],
            dilation: [2, 1],
        };
        assert_eq!(w.output([10, 9]), Some([3, 5]));
        // No output: kernel longer than the padded input; zero sizes.
        assert_eq!(Window2::new([5, 5]).output([4, 9]), None);
        assert_eq!(Window1::new([0]).output([4]), None);
        assert_eq!(Window1::new([1]).with_stride([0]).output([4]), None);
        assert_eq!(Window1::new([2]).with_dilation([0]).output([4]), None);
        assert_eq!(Window1::new([usize::MAX]).output([4]), None);
    }

    #[test]
    fn valid_ranges_match_a_scan() {
        for (out, input, stride, offset) in [
            (5, 5, 1, -2isize),
            (3, 7, 2, 1),
            (4, 4, 3, -5),
            (6, 3, 1, 0),
            (2, 1, 2, 3),
        ] {
            let expected: Vec<usize> = (0..out)
                .filter(|&o| (0..input as isize).contains(&(o as isize * stride as isize + offset)))
                .collect();
            let got: Vec<usize> = valid_outputs(out, input, stride, offset).collect();
            assert_eq!(got, expected, "{out} {input} {stride} {offset}");
        }
    }

    #[test]
    #[should_panic(expected = "maps an input of 28x28 to 28x28, not to the declared 27x27")]
    fn a_wrong_declared_output_is_refused_with_the_right_one() {
        Geometry::new(
            "Conv2d",
            &Window2::new([5, 5]).with_pad([2, 2]),
            1,
            [28, 28],
            [27, 27],
        );
    }

    #[test]
    #[should_panic(expected = "leaves no output for an input of 3")]
    fn a_window_without_output_is_refused() {
        Geometry::new("MaxPool1d", &Window1::pool([4]), 2, [3], [1]);
    }

    #[test]
    fn one_d_is_two_d_with_height_one() {
        let g = Geometry::new(
            "Conv1d",
            &Window1::new([3]).with_stride([2]).with_pad([1]),
            4,
            [9],
            [5],
        );
        assert_eq!(
            (g.input, g.output, g.kernel, g.stride, g.pad, g.dilation),
            ([1, 9], [1, 5], [1, 3], [1, 2], [0, 1], [1, 1])
        );
        assert_eq!(g.valid(0, 0), 0..1);
        assert_eq!(g.valid(1, 0), 1..5);
        assert_eq!(g.position(1, 1, 0), 1);
        // Output 0 starts at −1: tap 0 is padding; output 4 starts at 7: taps 0 and 1.
        assert_eq!(g.taps_of(1, 0), 1..3);
        assert_eq!(g.taps_of(1, 4), 0..2);
        assert_eq!(g.taps_of(0, 0), 0..1);
    }
}
