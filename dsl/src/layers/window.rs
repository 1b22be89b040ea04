//! The sliding window that `conv2d`, `conv1d`, `maxpool` and `avgpool` share: reading its
//! sizes (`k=5`, `k=5x3`, `stride=2`, `pad=same`, …) along one or two axes, PyTorch's rule
//! for the output size, and the runtime `Window1`/`Window2` it becomes. Not a kind of its own.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::{Attr, Dims, Number, Span, Statement, Value};
use crate::check::{Checker, MAX_WIDTH};
use crate::codegen::int;
use crate::diagnostic::Code;
use crate::Diagnostic;

/// A window as the checker resolved it: one entry per axis (height then width, or length).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Extent of the kernel.
    pub kernel: Vec<usize>,
    /// Step between windows.
    pub stride: Vec<usize>,
    /// Zeros (or −∞ for max pooling) added on both sides.
    pub pad: Vec<usize>,
    /// Spacing between the kernel's taps.
    pub dilation: Vec<usize>,
}

/// Sizes written as one number for every axis (`5`) or one per axis (`5x3`).
pub(super) enum Sizes<'a> {
    /// `5`
    One(&'a Number),
    /// `5x3`
    Each(&'a Dims),
}

impl<'a> Sizes<'a> {
    /// The sizes of an attribute's value, if it is a number or dims.
    pub fn of_value(value: &'a Value) -> Option<Self> {
        match value {
            Value::Number(n) => Some(Sizes::One(n)),
            Value::Dims(d) => Some(Sizes::Each(d)),
            _ => None,
        }
    }
}

/// Reads `sizes` for a window of `axes` axes, each a whole number of at least `min` (0 for a
/// padding, 1 otherwise). `what` names them in messages (`kernel size`), `code` is the error
/// code of a bad one.
pub(super) fn read_sizes(
    cx: &mut Checker<'_>,
    sizes: &Sizes<'_>,
    axes: usize,
    min: usize,
    what: &str,
    code: Code,
) -> Option<Vec<usize>> {
    let numbers: Vec<&Number> = match sizes {
        Sizes::One(n) => vec![n],
        Sizes::Each(d) if d.dims.len() == axes => d.dims.iter().collect(),
        Sizes::Each(d) => {
            let example = if axes == 1 { "`3`" } else { "`3` or `5x3`" };
            cx.error(
                Diagnostic::new(
                    code,
                    d.span.clone(),
                    format!(
                        "expected {axes} {what}{}, found `{}`",
                        if axes == 1 { "" } else { "s" },
                        d.text
                    ),
                )
                .label(format!("a {axes}-D window has {axes} axes"))
                .help(format!("write {example}")),
            );
            return None;
        }
    };
    let mut out = Vec::with_capacity(axes);
    for n in &numbers {
        let whole = n.is_integer && n.value >= min as f64 && n.value <= MAX_WIDTH as f64;
        if !whole {
            let range = if min == 0 { "0 or more" } else { "1 or more" };
            cx.error(
                Diagnostic::new(
                    code,
                    n.span.clone(),
                    format!("expected a {what}, found `{}`", n.text),
                )
                .label(format!("a {what} is a whole number, {range}"))
                .help(if n.value > MAX_WIDTH as f64 {
                    format!("a size is at most {MAX_WIDTH}")
                } else {
                    format!("for example `{}`", min.max(1) + 1)
                }),
            );
            return None;
        }
        out.push(n.value as usize);
    }
    if out.len() == 1 {
        out = vec![out[0]; axes];
    }
    Some(out)
}

/// The attribute `name` of `s`, if given.
pub(super) fn attr<'s>(s: &'s Statement, name: &str) -> Option<&'s Attr> {
    s.attrs.iter().find(|a| a.name.name == name)
}

/// Reads the attribute `name` as sizes (`stride=2`, `pad=1x0`), `default` when absent; `None`
/// after reporting a bad value.
pub(super) fn attr_sizes(
    cx: &mut Checker<'_>,
    s: &Statement,
    name: &str,
    axes: usize,
    min: usize,
    what: &str,
    default: Vec<usize>,
) -> Option<Vec<usize>> {
    let Some(a) = attr(s, name) else {
        return Some(default);
    };
    match Sizes::of_value(&a.value) {
        Some(sizes) => read_sizes(cx, &sizes, axes, min, what, Code::BadAttributeValue),
        None => {
            let example = if axes == 1 { "`2`" } else { "`2` or `2x1`" };
            cx.bad_value(a, &format!("a {what}: {example}"));
            None
        }
    }
}

impl Window {
    /// The window as ONNX attributes: `kernel_shape`, `strides`, `pads` (begin then end of
    /// every axis: the same padding on both sides), and `dilations` if `dilations` (ONNX's
    /// `AveragePool` takes none before opset 19, and the language has none for it).
    pub fn onnx_attrs(&self, dilations: bool) -> Vec<axonal_onnx::proto::AttributeProto> {
        use axonal_onnx::attr::ints;
        let pads: Vec<usize> = self.pad.iter().chain(&self.pad).copied().collect();
        let mut attrs = vec![
            ints("kernel_shape", &self.kernel),
            ints("strides", &self.stride),
            ints("pads", &pads),
        ];
        if dilations {
            attrs.push(ints("dilations", &self.dilation));
        }
        attrs
    }

    /// The window as the arguments of a PyTorch convolution or pooling module: the kernel,
    /// then `stride=`, `padding=` and `dilation=` where they are not PyTorch's defaults (a
    /// stride of 1 for a convolution, of the kernel for a pooling): `3, padding=1`,
    /// `(5, 3), stride=(2, 1)`.
    pub fn torch_args(&self, pool: bool) -> String {
        let mut args = torch_sizes(&self.kernel);
        let default_stride = if pool {
            self.kernel.clone()
        } else {
            vec![1; self.kernel.len()]
        };
        if self.stride != default_stride {
            args += &format!(", stride={}", torch_sizes(&self.stride));
        }
        if self.pad.iter().any(|&p| p != 0) {
            args += &format!(", padding={}", torch_sizes(&self.pad));
        }
        if self.dilation.iter().any(|&d| d != 1) {
            args += &format!(", dilation={}", torch_sizes(&self.dilation));
        }
        args
    }

    /// Output size of each axis for an input of `input`, by PyTorch's rule
    /// `⌊(in + 2·pad − dilation·(kernel − 1) − 1) / stride⌋ + 1`; `None` for an axis the
    /// window does not fit.
    pub fn output(&self, input: &[usize]) -> Option<Vec<usize>> {
        (0..self.kernel.len())
            .map(|a| {
                let span = self.dilation[a]
                    .checked_mul(self.kernel[a] - 1)?
                    .checked_add(1)?;
                let padded = input[a].checked_add(self.pad[a].checked_mul(2)?)?;
                Some(padded.checked_sub(span)? / self.stride[a] + 1)
            })
            .collect()
    }

    /// The window's output for `input` (the spatial part of a shape), or a
    /// [`Code::WindowTooLarge`] error at `at` (the size as written) that says the padded
    /// input and where it came from. `what` names the window in the message: `kernel` or
    /// `` `maxpool` window ``.
    pub fn fit(
        &self,
        cx: &mut Checker<'_>,
        input: &[usize],
        at: Span,
        what: &str,
    ) -> Option<Vec<usize>> {
        if let Some(out) = self.output(input) {
            return Some(out);
        }
        let padded: Vec<usize> = (0..input.len())
            .map(|a| input[a].saturating_add(self.pad[a].saturating_mul(2)))
            .collect();
        let extent: Vec<usize> = (0..input.len())
            .map(|a| {
                self.dilation[a]
                    .saturating_mul(self.kernel[a] - 1)
                    .saturating_add(1)
            })
            .collect();
        let dilated = self.dilation.iter().any(|&d| d > 1);
        let window = if dilated {
            format!("{} (dilated to {})", all(&self.kernel), all(&extent))
        } else {
            all(&self.kernel)
        };
        let input_text = if self.pad.iter().any(|&p| p > 0) {
            format!("the padded input {}", all(&padded))
        } else {
            format!("the input {}", all(&padded))
        };
        let mut d = Diagnostic::new(
            Code::WindowTooLarge,
            at,
            format!("the {what} {window} is larger than {input_text}"),
        )
        .label(format!("no output: the {what} does not fit"));
        if let Some(from) = cx.width_span() {
            d = d.secondary(from, format!("the input is {} from here", all(input)));
        }
        let fix = if what == "kernel" {
            "use a smaller kernel, pad the input (`pad=…`), or pool less before this layer"
        } else {
            "remove this pooling, use a smaller window, or pool less before it"
        };
        cx.error(d.help(fix));
        None
    }

    /// Whether some window of the output for `input` (whose output is `output`) has all its
    /// taps in the padding: possible only with dilation, whose gaps can step over a short
    /// input. Such a window has no maximum.
    pub fn sees_only_padding(&self, input: &[usize], output: &[usize]) -> bool {
        (0..self.kernel.len()).any(|a| {
            let (s, p, d, k) = (
                self.stride[a],
                self.pad[a],
                self.dilation[a],
                self.kernel[a],
            );
            d > 1
                && (0..output[a]).any(|o| {
                    (0..k).all(|j| {
                        let at = o * s + j * d;
                        at < p || at - p >= input[a]
                    })
                })
        })
    }

    /// The runtime window: `::axonal::layers::Window2::new([5, 5]).with_pad([2, 2])`, with
    /// only what differs from `Window::new` (stride 1) or, for `pool`, from `Window::pool`
    /// (stride = kernel).
    pub fn tokens(&self, pool: bool) -> TokenStream {
        let ty = match self.kernel.len() {
            1 => quote!(::axonal::layers::Window1),
            _ => quote!(::axonal::layers::Window2),
        };
        let array = |v: &[usize]| {
            let v = v.iter().map(|&n| int(n));
            quote!([#(#v),*])
        };
        let kernel = array(&self.kernel);
        let mut t = if pool {
            quote!(#ty::pool(#kernel))
        } else {
            quote!(#ty::new(#kernel))
        };
        let default_stride = if pool {
            self.kernel.clone()
        } else {
            vec![1; self.kernel.len()]
        };
        if self.stride != default_stride {
            let v = array(&self.stride);
            t = quote!(#t.with_stride(#v));
        }
        if self.pad.iter().any(|&p| p != 0) {
            let v = array(&self.pad);
            t = quote!(#t.with_pad(#v));
        }
        if self.dilation.iter().any(|&d| d != 1) {
            let v = array(&self.dilation);
            t = quote!(#t.with_dilation(#v));
        }
        t
    }

    /// The attributes as the language writes them, after `prefix` (`k=5` or the pool's
    /// size): ` stride=2 pad=1`, each only if it differs from the default (stride 1, or the
    /// kernel for `pool`).
    pub fn attrs_text(&self, pool: bool) -> String {
        let mut out = String::new();
        let default_stride = if pool {
            self.kernel.clone()
        } else {
            vec![1; self.kernel.len()]
        };
        if self.stride != default_stride {
            out += &format!(" stride={}", text(&self.stride));
        }
        if self.pad.iter().any(|&p| p != 0) {
            out += &format!(" pad={}", text(&self.pad));
        }
        if self.dilation.iter().any(|&d| d != 1) {
            out += &format!(" dilation={}", text(&self.dilation));
        }
        out
    }
}

/// Sizes as PyTorch takes them: `3` for the same on every axis, `(5, 3)` per axis.
pub fn torch_sizes(values: &[usize]) -> String {
    if values.windows(2).all(|w| w[0] == w[1]) && !values.is_empty() {
        values[0].to_string()
    } else {
        let values: Vec<String> = values.iter().map(usize::to_string).collect();
        format!("({})", values.join(", "))
    }
}

/// Sizes as the language writes them: `5` when every axis has it, else `5x3`.
pub fn text(values: &[usize]) -> String {
    if values.windows(2).all(|w| w[0] == w[1]) && !values.is_empty() {
        values[0].to_string()
    } else {
        values
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("x")
    }
}

/// Sizes with every axis written: `5x5`, `28x28`, `7`.
fn all(values: &[usize]) -> String {
    values
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("x")
}

/// The random window of a sampled statement for a `spatial` input: a kernel, stride,
/// padding and (if `dilation`) dilation whose output is at least 1 along every axis.
pub(super) fn sample(
    rng: &mut dyn super::Random,
    spatial: &[usize],
    pool: bool,
    dilation: bool,
) -> Window {
    let axes = spatial.len();
    let mut w = Window {
        kernel: vec![1; axes],
        stride: vec![1; axes],
        pad: vec![0; axes],
        dilation: vec![1; axes],
    };
    for (a, &size) in spatial.iter().enumerate() {
        let k = rng.range(1, 3);
        let d = if dilation && rng.chance(20) { 2 } else { 1 };
        let extent = d * (k - 1) + 1;
        // Pooling pads at most half the window (PyTorch's limit). A convolution pads less
        // than its extent: a window over padding alone outputs the bias, which the default
        // zero bias puts on the kink of a ReLU, where a gradient check cannot agree.
        let max_pad = if pool { extent / 2 } else { 1.min(extent - 1) };
        let pad = if rng.chance(40) {
            rng.range(0, max_pad)
        } else {
            0
        };
        if size + 2 * pad < extent {
            continue; // the 1-tap window fits anything
        }
        w.kernel[a] = k;
        w.dilation[a] = d;
        w.pad[a] = pad;
        w.stride[a] = if pool && rng.chance(60) {
            k
        } else {
            rng.range(1, 2)
        };
    }
    w
}
