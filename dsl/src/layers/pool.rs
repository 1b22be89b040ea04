//! Pooling: `maxpool 2` and `avgpool 3 stride=1 pad=1` (PyTorch's `nn.MaxPool2d`/`1d` and
//! `nn.AvgPool2d`/`1d`, 2-D on `[C, H, W]` values and 1-D on `[C, L]` ones, the stride
//! defaulting to the window), and `global_avgpool` (`[C, …]` → `[C]`, the mean of each
//! channel). No parameters.

use axonal_onnx::{attr as onnx_attr, Graph};
use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::ast::{Arg, Statement, Value};
use crate::check::Checker;
use crate::codegen::int;
use crate::diagnostic::Code;
use crate::ir::Shape;
use crate::Diagnostic;

use super::window::{self, attr, attr_sizes, read_sizes, Sizes, Window};
use super::{
    attr as attr_spec, spec_boilerplate, AttrSpec, Checked, Io, Kind, LayerSpec, Random, Role,
    Sample, Torch,
};

/// The `maxpool` statement.
pub struct MaxPoolKind;

/// The `avgpool` statement.
pub struct AvgPoolKind;

/// The `global_avgpool` statement.
pub struct GlobalAvgPoolKind;

/// Which pooling a [`Pool`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolOp {
    /// The maximum of each window (padding never wins).
    Max,
    /// The mean of each window, dividing by the whole window (padding included) when
    /// `count_include_pad`, else by the taps inside the input.
    Avg {
        /// PyTorch's `count_include_pad` (default `true`).
        count_include_pad: bool,
    },
}

/// A max or average pooling as the checker resolved it.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    /// Max or average.
    pub op: PoolOp,
    /// Window, stride and padding (and dilation for max pooling).
    pub window: Window,
}

/// A global average pooling as the checker resolved it.
#[derive(Clone, Debug, PartialEq)]
pub struct GlobalAvgPool;

impl Kind for MaxPoolKind {
    fn keywords(&self) -> &'static [&'static str] {
        &["maxpool"]
    }

    fn role(&self) -> Role {
        Role::Layer
    }

    fn attrs(&self) -> &'static [AttrSpec] {
        const ATTRS: &[AttrSpec] = &[
            attr_spec("stride", None),
            attr_spec("pad", Some("0")),
            attr_spec("dilation", Some("1")),
        ];
        ATTRS
    }

    fn summary(&self) -> &'static str {
        "`maxpool 2`: the maximum of each window (2-D on `[C, H, W]`, 1-D on `[C, L]`); stride = window"
    }

    fn example(&self) -> &'static str {
        "input 1x4x4; maxpool 2"
    }

    fn examples(&self) -> Vec<String> {
        vec![
            "input 1x4x4; maxpool 2".to_string(),
            "input 2x5x6; maxpool 3x2 stride=2x1 pad=1 dilation=1x2".to_string(),
            "input 2x7; maxpool 3 stride=2 pad=1".to_string(),
        ]
    }

    fn check(&self, cx: &mut Checker<'_>, s: &Statement) -> Option<Checked> {
        check_pool(cx, s, PoolOp::Max)
    }

    fn sample_weight(&self) -> usize {
        2
    }

    fn sample(&self, rng: &mut dyn Random, input: Option<&Shape>) -> Option<Sample> {
        sample_pool(rng, input, PoolOp::Max)
    }
}

impl Kind for AvgPoolKind {
    fn keywords(&self) -> &'static [&'static str] {
        &["avgpool"]
    }

    fn role(&self) -> Role {
        Role::Layer
    }

    fn attrs(&self) -> &'static [AttrSpec] {
        const ATTRS: &[AttrSpec] = &[
            attr_spec("stride", None),
            attr_spec("pad", Some("0")),
            attr_spec("count_include_pad", Some("true")),
        ];
        ATTRS
    }

    fn summary(&self) -> &'static str {
        "`avgpool 2`: the mean of each window (2-D on `[C, H, W]`, 1-D on `[C, L]`); stride = window"
    }

    fn example(&self) -> &'static str {
        "input 1x4x4; avgpool 2"
    }

    fn examples(&self) -> Vec<String> {
        vec![
            "input 1x4x4; avgpool 2".to_string(),
            "input 2x5x6; avgpool 3x2 stride=1 pad=1 count_include_pad=false".to_string(),
            "input 2x7; avgpool 3 stride=2 pad=1".to_string(),
        ]
    }

    fn check(&self, cx: &mut Checker<'_>, s: &Statement) -> Option<Checked> {
        let count_include_pad = match attr(s, "count_include_pad") {
            None => Some(true),
            Some(a) => match &a.value {
                Value::Ident(i) if i.name == "true" => Some(true),
                Value::Ident(i) if i.name == "false" => Some(false),
                _ => {
                    cx.bad_value(a, "`true` or `false`");
                    None
                }
            },
        };
        let pool = check_pool(
            cx,
            s,
            PoolOp::Avg {
                count_include_pad: count_include_pad.unwrap_or(true),
            },
        );
        count_include_pad.and(pool)
    }

    fn sample_weight(&self) -> usize {
        2
    }

    fn sample(&self, rng: &mut dyn Random, input: Option<&Shape>) -> Option<Sample> {
        let count_include_pad = rng.chance(50);
        sample_pool(rng, input, PoolOp::Avg { count_include_pad })
    }
}

impl PoolOp {
    fn keyword(self) -> &'static str {
        match self {
            PoolOp::Max => "maxpool",
            PoolOp::Avg { .. } => "avgpool",
        }
    }
}

/// Checks a `maxpool` or `avgpool` statement: its window size, `stride=`, `pad=` (at most
/// half the window, PyTorch's limit), `dilation=` for max pooling, and the shape.
fn check_pool(cx: &mut Checker<'_>, s: &Statement, op: PoolOp) -> Option<Checked> {
    let incoming = cx.incoming(&s.keyword);
    let incoming = match incoming {
        Some(shape) if shape.rank() == 1 => {
            cx.needs_rank(
                &s.keyword,
                3,
                "an image [batch, C, H, W] or a sequence [batch, C, L]",
            );
            None
        }
        other => other,
    };
    let axes = incoming.as_ref().map_or(2, |s| s.rank() - 1);
    let mut args = s.args.iter();
    let kernel = match args.next() {
        Some(Arg::Number(n)) => read_sizes(
            cx,
            &Sizes::One(n),
            axes,
            1,
            "window size",
            Code::BadArgument,
        ),
        Some(Arg::Dims(d)) => read_sizes(
            cx,
            &Sizes::Each(d),
            axes,
            1,
            "window size",
            Code::BadArgument,
        ),
        other => {
            let span = other.map_or(s.keyword.span.clone(), Arg::span);
            cx.error(
                Diagnostic::new(
                    Code::BadArgument,
                    span,
                    format!("`{}` needs a window size", s.keyword.name),
                )
                .label("expected a size here")
                .help(format!(
                    "write `{k} 2` for 2×2 windows, or `{k} 3x2`",
                    k = s.keyword.name
                )),
            );
            None
        }
    };
    for extra in args {
        cx.unexpected_arg(s, extra, "nothing more");
    }
    let stride = match &kernel {
        Some(k) => attr_sizes(cx, s, "stride", axes, 1, "stride", k.clone()),
        None => None,
    };
    let pad = attr_sizes(cx, s, "pad", axes, 0, "padding", vec![0; axes]);
    let dilation = match op {
        PoolOp::Max => attr_sizes(cx, s, "dilation", axes, 1, "dilation", vec![1; axes]),
        PoolOp::Avg { .. } => Some(vec![1; axes]),
    };
    let (Some(kernel), Some(stride), Some(pad), Some(dilation)) = (kernel, stride, pad, dilation)
    else {
        cx.unknown_width();
        return None;
    };
    let window = Window {
        kernel,
        stride,
        pad,
        dilation,
    };
    // PyTorch's limit: a window that sees only padding has no maximum (or mean).
    for axis in 0..axes {
        let extent = window.dilation[axis] * (window.kernel[axis] - 1) + 1;
        if window.pad[axis] > extent / 2 {
            let a = attr(s, "pad").expect("padding other than 0 was written");
            cx.error(
                Diagnostic::new(
                    Code::BadAttributeValue,
                    a.value.span(),
                    format!(
                        "a padding of {} is more than half the window {}",
                        window.pad[axis],
                        window::text(&window.kernel)
                    ),
                )
                .label("some windows would see padding only")
                .help(format!(
                    "pad at most {} (half the window), as PyTorch requires",
                    extent / 2
                )),
            );
            cx.unknown_width();
            return None;
        }
    }
    let Some(input) = incoming else {
        cx.unknown_width();
        return None;
    };
    let size_span = s.args.first().map_or(s.keyword.span.clone(), Arg::span);
    let what = format!("`{}` window", op.keyword());
    let Some(spatial) = window.fit(cx, &input.dims()[1..], size_span.clone(), &what) else {
        cx.unknown_width();
        return None;
    };
    if op == PoolOp::Max && window.sees_only_padding(&input.dims()[1..], &spatial) {
        let a = attr(s, "dilation").expect("only a dilated window can miss the input");
        cx.error(
            Diagnostic::new(
                Code::WindowTooLarge,
                a.value.span(),
                format!(
                    "with dilation {}, some `maxpool` windows fall on the padding only",
                    window::text(&window.dilation)
                ),
            )
            .label("these gaps step over the input")
            .help("use less padding or dilation, or no dilation, for an input this short"),
        );
        cx.unknown_width();
        return None;
    }
    let mut out = vec![input.dims()[0]];
    out.extend(spatial);
    let output = Shape::new(out);
    cx.flow(output.clone(), size_span);
    Some(Checked {
        spec: Box::new(Pool { op, window }),
        input,
        output,
    })
}

/// A random `maxpool` or `avgpool` after `input`, if it has a spatial shape.
fn sample_pool(rng: &mut dyn Random, input: Option<&Shape>, op: PoolOp) -> Option<Sample> {
    let input = input.filter(|s| s.rank() > 1)?;
    let spatial = &input.dims()[1..];
    // No dilation: with it, a window can fall on the padding only (an error). The examples
    // of `maxpool` cover dilation.
    let w = window::sample(rng, spatial, true, false);
    let mut text = format!("{} {}", op.keyword(), window::text(&w.kernel));
    text += &w.attrs_text(true);
    if let PoolOp::Avg {
        count_include_pad: false,
    } = op
    {
        text += " count_include_pad=false";
    }
    let mut out = vec![input.dims()[0]];
    out.extend(w.output(spatial)?);
    Some(Sample {
        text,
        output: Shape::new(out),
        freeze: false,
    })
}

impl LayerSpec for Pool {
    fn describe(&self, _io: Io<'_>) -> String {
        let mut text = format!(
            "{} {}{}",
            self.op.keyword(),
            window::text(&self.window.kernel),
            self.window.attrs_text(true)
        );
        if let PoolOp::Avg {
            count_include_pad: false,
        } = self.op
        {
            text += " count_include_pad=false";
        }
        text
    }

    fn params(&self, _io: Io<'_>) -> Option<u64> {
        Some(0)
    }

    fn field_type(&self, f: &Ident, io: Io<'_>) -> TokenStream {
        let input: Vec<_> = io.input.dims().iter().map(|&d| int(d)).collect();
        let output: Vec<_> = io.output.dims().iter().map(|&d| int(d)).collect();
        let two = input.len() == 3;
        let ty = match (self.op, two) {
            (PoolOp::Max, true) => quote!(MaxPool2d),
            (PoolOp::Max, false) => quote!(MaxPool1d),
            (PoolOp::Avg { .. }, true) => quote!(AvgPool2d),
            (PoolOp::Avg { .. }, false) => quote!(AvgPool1d),
        };
        let (c, spatial_in, spatial_out) = (&input[0], &input[1..], &output[1..]);
        quote!(::axonal::layers::#ty<#f, #c, #(#spatial_in,)* #(#spatial_out),*>)
    }

    fn constructor(&self, io: Io<'_>) -> TokenStream {
        let window = self.window.tokens(true);
        let two = io.input.rank() == 3;
        match (self.op, two) {
            (PoolOp::Max, true) => quote!(::axonal::layers::MaxPool2d::new(#window)),
            (PoolOp::Max, false) => quote!(::axonal::layers::MaxPool1d::new(#window)),
            (PoolOp::Avg { count_include_pad }, true) => {
                quote!(::axonal::layers::AvgPool2d::new(#window, #count_include_pad))
            }
            (PoolOp::Avg { count_include_pad }, false) => {
                quote!(::axonal::layers::AvgPool1d::new(#window, #count_include_pad))
            }
        }
    }

    fn draws(&self) -> bool {
        false
    }

    /// `MaxPool`, or `AveragePool` with the same `count_include_pad`.
    fn onnx(&self, _io: Io<'_>, g: &mut Graph, key: &str, x: &str) -> String {
        match self.op {
            PoolOp::Max => g.node("MaxPool", key, &[x], self.window.onnx_attrs(true)),
            PoolOp::Avg { count_include_pad } => {
                let mut attrs = self.window.onnx_attrs(false);
                attrs.push(onnx_attr::int(
                    "count_include_pad",
                    count_include_pad.into(),
                ));
                g.node("AveragePool", key, &[x], attrs)
            }
        }
    }

    /// `nn.MaxPool2d`/`nn.AvgPool2d` (`1d` on `[C, L]`) with the same window, stride and
    /// padding, and `count_include_pad=False` when so. PyTorch's max pooling takes at most
    /// half the kernel of padding, dilation aside, where the language allows half the dilated
    /// window: beyond it the padding is written out as −∞ (`nn.ConstantPad2d`), which a
    /// maximum ignores as the runtime's padding, before a pooling without padding.
    fn torch(&self, io: Io<'_>) -> Torch {
        let d = io.input.rank() - 1;
        let w = &self.window;
        match self.op {
            PoolOp::Max if w.pad.iter().zip(&w.kernel).any(|(&p, &k)| p > k / 2) => {
                // ConstantPadNd takes one size for every side, or (left, right) of the last
                // axis first.
                let sides = if w.pad.windows(2).all(|p| p[0] == p[1]) {
                    w.pad[0].to_string()
                } else {
                    let sides: Vec<String> = w
                        .pad
                        .iter()
                        .rev()
                        .flat_map(|p| [p, p])
                        .map(usize::to_string)
                        .collect();
                    format!("({})", sides.join(", "))
                };
                let unpadded = Window {
                    pad: vec![0; w.pad.len()],
                    ..w.clone()
                };
                Torch::module(format!(
                    "nn.Sequential(nn.ConstantPad{d}d({sides}, float(\"-inf\")), nn.MaxPool{d}d({}))",
                    unpadded.torch_args(true)
                ))
            }
            PoolOp::Max => Torch::module(format!("nn.MaxPool{d}d({})", w.torch_args(true))),
            PoolOp::Avg { count_include_pad } => {
                let exclude = if count_include_pad {
                    ""
                } else {
                    ", count_include_pad=False"
                };
                Torch::module(format!("nn.AvgPool{d}d({}{exclude})", w.torch_args(true)))
            }
        }
    }

    spec_boilerplate!();
}

impl Kind for GlobalAvgPoolKind {
    fn keywords(&self) -> &'static [&'static str] {
        &["global_avgpool"]
    }

    fn role(&self) -> Role {
        Role::Layer
    }

    fn attrs(&self) -> &'static [AttrSpec] {
        &[]
    }

    fn summary(&self) -> &'static str {
        "`global_avgpool`: the mean of each channel, `[C, H, W]` or `[C, L]` → `[C]`"
    }

    fn example(&self) -> &'static str {
        "input 2x3x3; global_avgpool"
    }

    fn examples(&self) -> Vec<String> {
        vec![
            "input 2x3x3; global_avgpool; dense 2".to_string(),
            "input 3x5; global_avgpool".to_string(),
        ]
    }

    fn check(&self, cx: &mut Checker<'_>, s: &Statement) -> Option<Checked> {
        let incoming = cx.incoming(&s.keyword);
        for arg in &s.args {
            cx.unexpected_arg(s, arg, "nothing");
        }
        let input = match incoming {
            Some(shape) if shape.rank() == 1 => {
                cx.needs_rank(
                    &s.keyword,
                    3,
                    "an image [batch, C, H, W] or a sequence [batch, C, L]",
                );
                return None;
            }
            Some(shape) => shape,
            None => return None,
        };
        let output = Shape::vector(input.dims()[0]);
        cx.flow(output.clone(), s.keyword.span.clone());
        Some(Checked {
            spec: Box::new(GlobalAvgPool),
            input,
            output,
        })
    }

    fn sample_weight(&self) -> usize {
        2
    }

    fn sample(&self, rng: &mut dyn Random, input: Option<&Shape>) -> Option<Sample> {
        let _ = rng;
        let input = input.filter(|s| s.rank() > 1)?;
        Some(Sample {
            text: "global_avgpool".to_string(),
            output: Shape::vector(input.dims()[0]),
            freeze: false,
        })
    }
}

impl LayerSpec for GlobalAvgPool {
    fn describe(&self, _io: Io<'_>) -> String {
        "global_avgpool".to_string()
    }

    fn params(&self, _io: Io<'_>) -> Option<u64> {
        Some(0)
    }

    fn field_type(&self, f: &Ident, io: Io<'_>) -> TokenStream {
        let c = int(io.input.dims()[0]);
        let positions = int(io.input.dims()[1..].iter().product());
        quote!(::axonal::layers::GlobalAvgPool<#f, #c, #positions>)
    }

    fn constructor(&self, _io: Io<'_>) -> TokenStream {
        quote!(::axonal::layers::GlobalAvgPool::new())
    }

    fn draws(&self) -> bool {
        false
    }

    /// `GlobalAveragePool` (`[C, 1, …]`), then `Flatten` to `[C]`.
    fn onnx(&self, _io: Io<'_>, g: &mut Graph, key: &str, x: &str) -> String {
        let pooled = g.node("GlobalAveragePool", key, &[x], vec![]);
        g.node("Flatten", key, &[&pooled], vec![onnx_attr::int("axis", 1)])
    }

    /// The mean over the positions: `x.mean((2, 3))` of an image, `x.mean(2)` of a sequence.
    fn torch(&self, io: Io<'_>) -> Torch {
        Torch::function(match io.input.rank() {
            3 => "{x}.mean((2, 3))".to_string(),
            _ => "{x}.mean(2)".to_string(),
        })
    }

    spec_boilerplate!();
}

#[cfg(test)]
mod tests {
    use crate::ir::Shape;

    fn output(body: &str) -> Shape {
        let p = crate::check_source(&format!("N {{ {body} }}")).expect("compiles");
        p.networks[0].layers().last().unwrap().output.clone()
    }

    #[test]
    fn pooling_shapes_follow_pytorch() {
        // The stride defaults to the window; the rank picks 2-D or 1-D.
        assert_eq!(
            output("input 6x28x28; maxpool 2"),
            Shape::new(vec![6, 14, 14])
        );
        assert_eq!(output("input 6x7x7; maxpool 2"), Shape::new(vec![6, 3, 3]));
        assert_eq!(
            output("input 1x9x8; avgpool 3x2 stride=2x1 pad=1"),
            Shape::new(vec![1, 5, 9])
        );
        assert_eq!(
            output("input 4x10; maxpool 3 stride=2"),
            Shape::new(vec![4, 4])
        );
        assert_eq!(output("input 16x5x5; global_avgpool"), Shape::vector(16));
        assert_eq!(output("input 3x7; global_avgpool"), Shape::vector(3));
    }

    #[test]
    fn a_dilated_window_over_padding_alone_is_refused() {
        let codes = |src: &str| -> Vec<&str> {
            crate::check_source(src)
                .err()
                .map(|d| d.iter().map(|d| d.code.as_str()).collect())
                .unwrap_or_default()
        };
        assert_eq!(
            codes("N { input 2x1; maxpool 2 pad=1 dilation=2 }"),
            ["E0024"]
        );
        assert!(codes("N { input 2x3; maxpool 2 pad=1 dilation=2 }").is_empty());
    }
}
