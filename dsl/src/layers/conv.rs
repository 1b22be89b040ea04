//! `conv2d 1->32 k=3 stride=1 pad=1 dilation=1 relu init=he`: a 2-D convolution on
//! `[C, H, W]` values followed by an optional activation, PyTorch's `nn.Conv2d` (weights
//! `[out, in, kh, kw]`); `conv1d` likewise on `[C, L]` values (`nn.Conv1d`). The input
//! channels can be left out (`conv2d 32 k=3`); `pad=same` keeps the size at stride 1.

use axonal_onnx::Graph;
use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::ast::{Arg, Number, Statement, Value};
use crate::check::Checker;
use crate::codegen::{init, int};
use crate::diagnostic::Code;
use crate::ir::{Activation, Init, Shape};
use crate::Diagnostic;

use super::activation::{
    activation_new, activation_source, activation_type, onnx as onnx_activation, sample_activation,
};
use super::dense::{affine_attrs, strip_final, trailing_activation, with_l2, Affine};
use super::window::{self, attr, attr_sizes, read_sizes, Sizes, Window};
use super::{
    attr as attr_spec, sample_init, spec_boilerplate, AttrSpec, Checked, Io, Kind, LayerSpec,
    Random, Role, Sample, Strip, Torch,
};

/// The `conv2d` and `conv1d` statements.
pub struct ConvKind;

/// A convolution as the checker resolved it.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv {
    /// Kernel, stride, padding and dilation: two axes for `conv2d`, one for `conv1d`.
    pub window: Window,
    /// The activation applied to the convolution's output (`Identity` when none).
    pub activation: Activation,
    /// How the weights start.
    pub weight_init: Init,
    /// How the biases start.
    pub bias_init: Init,
    /// L2 penalty on the weights (0 for none).
    pub l2: f64,
}

impl Kind for ConvKind {
    fn keywords(&self) -> &'static [&'static str] {
        &["conv2d", "conv1d"]
    }

    fn role(&self) -> Role {
        Role::Layer
    }

    fn attrs(&self) -> &'static [AttrSpec] {
        const ATTRS: &[AttrSpec] = &[
            attr_spec("k", None),
            attr_spec("stride", Some("1")),
            attr_spec("pad", Some("0")),
            attr_spec("dilation", Some("1")),
            attr_spec("init", None),
            attr_spec("bias", Some("zeros")),
            attr_spec("l2", Some("0")),
        ];
        ATTRS
    }

    fn summary(&self) -> &'static str {
        "`conv2d 1->32 k=3 pad=1 relu`: a 2-D convolution (`conv1d` on `[C, L]`) with an optional activation"
    }

    fn example(&self) -> &'static str {
        "input 1x4x4; conv2d 2 k=3 relu"
    }

    fn examples(&self) -> Vec<String> {
        vec![
            "input 1x4x4; conv2d 1->2 k=3 pad=same relu init=he bias=0.1 l2=0.01".to_string(),
            "input 2x5x4; conv2d 3 k=3x2 stride=2x1 pad=1x0 dilation=1x2".to_string(),
            "input 2x6; conv1d 3 k=3 stride=2 pad=1 leaky_relu 0.2".to_string(),
            "input 2x6; conv1d 2->1 k=2 dilation=2".to_string(),
        ]
    }

    fn check(&self, cx: &mut Checker<'_>, s: &Statement) -> Option<Checked> {
        let axes = if s.keyword.name == "conv1d" { 1 } else { 2 };
        let what = if axes == 2 {
            "an image [batch, C, H, W]"
        } else {
            "a sequence [batch, C, L]"
        };
        let incoming = cx.incoming(&s.keyword);
        let incoming = incoming.filter(|_| cx.needs_rank(&s.keyword, axes + 1, what));
        let from_span = cx.width_span();

        let (from, to) = match s.args.first() {
            Some(Arg::Arrow { from, to, .. }) => (Some(from), Some(to)),
            Some(Arg::Number(to)) => (None, Some(to)),
            other => {
                let span = other.map_or(s.keyword.span.clone(), Arg::span);
                cx.error(
                    Diagnostic::new(
                        Code::BadArgument,
                        span,
                        format!("`{}` needs its output channels", s.keyword.name),
                    )
                    .label("expected a number of channels here")
                    .help(format!(
                        "write `{k} 16 k=3` to infer the input channels, or `{k} 1->16 k=3`",
                        k = s.keyword.name
                    )),
                );
                (None, None)
            }
        };
        let out_channels = to.and_then(|n| channel_count(cx, n));
        let in_channels = from.and_then(|n| channel_count(cx, n));
        let activation = trailing_activation(cx, s).unwrap_or(Activation::Identity);
        if matches!(activation, Activation::Softmax | Activation::LogSoftmax) {
            softmax_on_channels(cx, s);
        }
        let window = read_window(cx, s, axes);
        let Affine {
            weight_init,
            bias_init,
            l2,
        } = affine_attrs(cx, s, activation, out_channels.unwrap_or(1));

        // The shape: channels checked against the incoming value, then the window.
        let fail = |cx: &mut Checker<'_>| {
            cx.unknown_width();
            None
        };
        let (Some(input), Some(out_channels), Some(window)) = (incoming, out_channels, window)
        else {
            return fail(cx);
        };
        let channels = input.dims()[0];
        if let (Some(declared), Some(from)) = (in_channels, from) {
            if declared != channels {
                channel_mismatch(cx, s, from, channels, from_span);
            }
        }
        let k_span = attr(s, "k").map_or(s.keyword.span.clone(), |a| a.value.span());
        let Some(spatial) = window.fit(cx, &input.dims()[1..], k_span, "kernel") else {
            return fail(cx);
        };
        let mut out = vec![out_channels];
        out.extend(spatial);
        let output = Shape::new(out);
        cx.flow(output.clone(), to?.span.clone());
        if matches!(activation, Activation::Softmax | Activation::LogSoftmax) {
            return None;
        }
        Some(Checked {
            spec: Box::new(Conv {
                window,
                activation,
                weight_init,
                bias_init,
                l2,
            }),
            input,
            output,
        })
    }

    fn sample_weight(&self) -> usize {
        4
    }

    fn sample(&self, rng: &mut dyn Random, input: Option<&Shape>) -> Option<Sample> {
        let input = input?;
        let keyword = match input.rank() {
            3 => "conv2d",
            2 => "conv1d",
            _ => return None,
        };
        let spatial = &input.dims()[1..];
        let w = window::sample(rng, spatial, false, true);
        let out_channels = rng.range(1, 3);
        let channels = if rng.chance(30) {
            format!("{}->{out_channels}", input.dims()[0])
        } else {
            out_channels.to_string()
        };
        let mut text = format!("{keyword} {channels} k={}", window::text(&w.kernel));
        text += &w.attrs_text(false);
        if rng.chance(70) {
            let a = loop {
                let a = sample_activation(rng);
                if !a.contains("softmax") {
                    break a;
                }
            };
            text += &format!(" {a}");
        }
        if rng.chance(50) {
            text += &format!(" init={}", sample_init(rng));
        }
        // Always a bias other than zero: a channel whose inputs are all exactly 0 (after a
        // `step`, or a window over padding) would otherwise sit on a ReLU's or ELU's kink,
        // where a gradient check cannot agree.
        text += &format!(" bias={}", rng.pick(&["0.1", "-0.2", "normal(0, 0.1)"]));
        if rng.chance(15) {
            text += " l2=0.01";
        }
        let mut out = vec![out_channels];
        out.extend(w.output(spatial)?);
        Some(Sample {
            text,
            output: Shape::new(out),
            freeze: false,
        })
    }
}

/// Reads `k=` (required), `stride=`, `pad=` (sizes or `same`) and `dilation=`.
fn read_window(cx: &mut Checker<'_>, s: &Statement, axes: usize) -> Option<Window> {
    let kernel = match attr(s, "k") {
        Some(a) => match Sizes::of_value(&a.value) {
            Some(sizes) => read_sizes(cx, &sizes, axes, 1, "kernel size", Code::BadAttributeValue),
            None => {
                cx.bad_value(a, "a kernel size: `3`, or `5x3` for height × width");
                None
            }
        },
        None => {
            cx.error(
                Diagnostic::new(
                    Code::BadArgument,
                    s.keyword.span.clone(),
                    format!("`{}` needs a kernel size", s.keyword.name),
                )
                .label("no `k=` here")
                .help(format!(
                    "add the kernel's size, e.g. `{} 16 k=3`",
                    s.keyword.name
                )),
            );
            None
        }
    };
    let stride = attr_sizes(cx, s, "stride", axes, 1, "stride", vec![1; axes]);
    let dilation = attr_sizes(cx, s, "dilation", axes, 1, "dilation", vec![1; axes]);
    let pad_attr = attr(s, "pad");
    let same = pad_attr.filter(|a| matches!(&a.value, Value::Ident(i) if i.name == "same"));
    let pad = match same {
        Some(_) => Some(Vec::new()), // worked out below, from the kernel
        None => attr_sizes(cx, s, "pad", axes, 0, "padding", vec![0; axes]),
    };
    let (kernel, stride, dilation, mut pad) = (kernel?, stride?, dilation?, pad?);
    if let Some(a) = same {
        // PyTorch's `padding="same"`: total padding dilation·(kernel − 1) per axis, which
        // axonal splits equally between the two sides.
        if let Some(st) = stride.iter().find(|&&st| st != 1) {
            cx.error(
                Diagnostic::new(
                    Code::BadAttributeValue,
                    a.value.span(),
                    format!("`pad=same` needs stride 1, found stride {st}"),
                )
                .label("`same` keeps the size, which only stride 1 can")
                .help("write the padding as a number, e.g. `pad=1`, or use `stride=1`"),
            );
            return None;
        }
        for axis in 0..axes {
            let total = dilation[axis] * (kernel[axis] - 1);
            if total % 2 == 1 {
                cx.error(
                    Diagnostic::new(
                        Code::BadAttributeValue,
                        a.value.span(),
                        format!(
                            "`pad=same` needs an odd kernel, found k={}",
                            window::text(&kernel)
                        ),
                    )
                    .label(format!(
                        "a kernel of {} needs {total} padding in all, not the same on both sides",
                        kernel[axis]
                    ))
                    .help("use an odd kernel size (3, 5, 7), or write the padding as a number"),
                );
                return None;
            }
            pad.push(total / 2);
        }
    }
    Some(Window {
        kernel,
        stride,
        pad,
        dilation,
    })
}

/// A number of channels: a whole number of at least 1 (at most the widest layer).
fn channel_count(cx: &mut Checker<'_>, n: &Number) -> Option<usize> {
    if n.is_integer && n.value == 0.0 {
        cx.error(
            Diagnostic::new(
                Code::ZeroWidth,
                n.span.clone(),
                "a convolution cannot have 0 channels",
            )
            .label("zero channels")
            .help("every convolution reads and makes at least one channel"),
        );
        return None;
    }
    cx.width_number(n)
}

/// `conv2d 3->16` after a 1-channel value.
fn channel_mismatch(
    cx: &mut Checker<'_>,
    s: &Statement,
    from: &Number,
    channels: usize,
    from_span: Option<crate::ast::Span>,
) {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let declared = from.value as usize;
    let mut d = Diagnostic::new(
        Code::WidthMismatch,
        from.span.clone(),
        format!(
            "expected {channels} input channel{}, found {declared}",
            plural(channels)
        ),
    )
    .label(format!(
        "this layer takes {declared} channel{}",
        plural(declared)
    ));
    if let Some(span) = from_span {
        d = d.secondary(
            span,
            format!(
                "but the value has {channels} channel{} from here",
                plural(channels)
            ),
        );
    }
    let out = match s.args.first() {
        Some(Arg::Arrow { to, .. }) => to.text.clone(),
        _ => "16".to_string(),
    };
    cx.error(d.help(format!(
        "write `{k} {channels}->{out}`, or `{k} {out}` to infer the input channels",
        k = s.keyword.name
    )));
}

/// `conv2d 6 k=5 softmax`: a softmax runs along a vector, and a convolution's output is not one.
fn softmax_on_channels(cx: &mut Checker<'_>, s: &Statement) {
    let Some(Arg::Ident(name)) = s.args.get(1) else {
        return;
    };
    cx.error(
        Diagnostic::new(
            Code::RankMismatch,
            name.span.clone(),
            format!("`{}` takes a vector, not a convolution's output", name.name),
        )
        .label(format!(
            "`{}` runs along the features of a vector",
            name.name
        ))
        .help(format!(
            "apply it after `flatten;` (`flatten; {}`), or use an elementwise activation here",
            name.name
        )),
    );
}

impl LayerSpec for Conv {
    fn describe(&self, io: Io<'_>) -> String {
        let keyword = if self.window.kernel.len() == 2 {
            "conv2d"
        } else {
            "conv1d"
        };
        let mut text = format!(
            "{keyword} {}->{} k={}{}",
            io.input.dims()[0],
            io.output.dims()[0],
            window::text(&self.window.kernel),
            self.window.attrs_text(false)
        );
        if self.activation != Activation::Identity {
            text += &format!(" {}", activation_source(self.activation));
        }
        text
    }

    /// `out · in · kh · kw` weights and `out` biases.
    fn params(&self, io: Io<'_>) -> Option<u64> {
        let taps = self
            .window
            .kernel
            .iter()
            .try_fold(1u64, |n, &k| n.checked_mul(k as u64))?;
        let (ci, co) = (io.input.dims()[0] as u64, io.output.dims()[0] as u64);
        ci.checked_mul(co)?.checked_mul(taps)?.checked_add(co)
    }

    fn field_type(&self, f: &Ident, io: Io<'_>) -> TokenStream {
        let input: Vec<_> = io.input.dims().iter().map(|&d| int(d)).collect();
        let output: Vec<_> = io.output.dims().iter().map(|&d| int(d)).collect();
        let a = match self.activation {
            Activation::Identity => quote!(),
            a => {
                let a = activation_type(a, f);
                quote!(, #a)
            }
        };
        match (&input[..], &output[..]) {
            ([ci, h, w], [co, oh, ow]) => {
                quote!(::axonal::layers::Conv2d<#f, #ci, #h, #w, #co, #oh, #ow #a>)
            }
            ([ci, l], [co, ol]) => quote!(::axonal::layers::Conv1d<#f, #ci, #l, #co, #ol #a>),
            _ => unreachable!("the checker gives a convolution a [C, L] or [C, H, W] input"),
        }
    }

    fn constructor(&self, io: Io<'_>) -> TokenStream {
        let ty = if io.input.rank() == 3 {
            quote!(::axonal::layers::Conv2d)
        } else {
            quote!(::axonal::layers::Conv1d)
        };
        let window = self.window.tokens(false);
        let a = activation_new(self.activation);
        let (w, b) = (init(&self.weight_init), init(&self.bias_init));
        with_l2(quote!(#ty::new(#window, #a, #w, #b, rng)), self.l2)
    }

    fn draws(&self) -> bool {
        true
    }

    fn has_penalty(&self) -> bool {
        self.l2 > 0.0
    }

    fn strip_activation(&mut self, activation: Activation) -> Strip {
        strip_final(&mut self.activation, activation)
    }

    /// `Conv` with the window's kernel, strides, pads and dilations, then the activation.
    fn onnx(&self, io: Io<'_>, g: &mut Graph, key: &str, x: &str) -> String {
        let (c_in, c_out) = (io.input.dims()[0], io.output.dims()[0]);
        let w_dims: Vec<usize> = [c_out, c_in]
            .into_iter()
            .chain(self.window.kernel.iter().copied())
            .collect();
        let w = g.weight(&format!("{key}.weight"), &w_dims);
        let b = g.weight(&format!("{key}.bias"), &[c_out]);
        let y = g.node("Conv", key, &[x, &w, &b], self.window.onnx_attrs(true));
        onnx_activation(self.activation, g, key, &y)
    }

    /// `nn.Conv2d(in, out, kernel, stride=…, padding=…, dilation=…)` (`nn.Conv1d` on
    /// `[C, L]`), then the activation. `pad=same` is the padding it resolved to.
    fn torch(&self, io: Io<'_>) -> Torch {
        let (c_in, c_out) = (io.input.dims()[0], io.output.dims()[0]);
        let conv = format!(
            "nn.Conv{}d({c_in}, {c_out}, {})",
            self.window.kernel.len(),
            self.window.torch_args(false)
        );
        Torch::then(conv, self.activation)
    }

    spec_boilerplate!();
}

#[cfg(test)]
mod tests {
    use crate::ir::Shape;

    /// The shapes the checker gives each layer of `body`.
    fn shapes(body: &str) -> Vec<Shape> {
        let p = crate::check_source(&format!("N {{ {body} }}")).expect("compiles");
        p.networks[0]
            .layers()
            .iter()
            .map(|l| l.output.clone())
            .collect()
    }

    #[test]
    fn output_shapes_follow_pytorch() {
        // ⌊(in + 2·pad − dilation·(k − 1) − 1) / stride⌋ + 1 per axis.
        assert_eq!(
            shapes("input 3x32x32; conv2d 8 k=3 stride=2 pad=1"),
            [Shape::new(vec![8, 16, 16])]
        );
        assert_eq!(
            shapes("input 1x10x9; conv2d 2 k=5x3 stride=2x1 pad=2x1 dilation=1x2"),
            [Shape::new(vec![2, 5, 7])]
        );
        assert_eq!(
            shapes("input 2x100; conv1d 4 k=7 stride=3 dilation=2"),
            [Shape::new(vec![4, 30])]
        );
        // `same` keeps the size, dilation included.
        assert_eq!(
            shapes("input 1x7x6; conv2d 2 k=5x3 pad=same dilation=2"),
            [Shape::new(vec![2, 7, 6])]
        );
    }

    #[test]
    fn lenet_has_pytorchs_parameter_count() {
        let p = crate::check_source(
            "N { input 1x28x28; conv2d 1->6 k=5 pad=2 relu; maxpool 2; conv2d 16 k=5 relu; \
             maxpool 2; flatten; dense 120 relu; dense 84 relu; dense 10 }",
        )
        .expect("compiles");
        let params: u64 = p.networks[0]
            .layers()
            .iter()
            .map(|l| l.checked_params().unwrap())
            .sum();
        // sum(p.numel() for p in LeNet().parameters()) in PyTorch.
        assert_eq!(params, 61_706);
        let last = &p.networks[0].layers()[4];
        assert_eq!(last.output, Shape::vector(400));
    }

    #[test]
    fn inferred_and_declared_input_channels_agree() {
        let a = crate::check_source("N { input 3x8x8; conv2d 4 k=3 }").unwrap();
        let b = crate::check_source("N { input 3x8x8; conv2d 3->4 k=3 }").unwrap();
        assert_eq!(a, b);
    }
}
