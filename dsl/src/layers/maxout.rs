//! `maxout 128->64 k=2`: the maximum over k affine pieces per output unit.

use axonal_onnx::{attr as onnx_attr, Graph};
use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::ast::{Statement, Value};
use crate::check::{written, Checker};
use crate::codegen::{init, int};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Init, Shape};

use super::{
    attr, sample_init, spec_boilerplate, AttrSpec, Checked, Io, Kind, LayerSpec, Random, Role,
    Sample, Torch,
};

/// The `maxout` statement.
pub struct MaxoutKind;

/// A maxout layer as the checker resolved it.
#[derive(Clone, Debug, PartialEq)]
pub struct Maxout {
    /// Pieces per unit (at least 2).
    pub k: usize,
    /// How the weights start.
    pub weight_init: Init,
    /// How the biases start.
    pub bias_init: Init,
}

impl Kind for MaxoutKind {
    fn keywords(&self) -> &'static [&'static str] {
        &["maxout"]
    }

    fn role(&self) -> Role {
        Role::Layer
    }

    fn attrs(&self) -> &'static [AttrSpec] {
        const ATTRS: &[AttrSpec] = &[
            attr("k", None),
            attr("init", Some("xavier")),
            attr("bias", Some("zeros")),
        ];
        ATTRS
    }

    fn summary(&self) -> &'static str {
        "`maxout 128->64 k=2`: the maximum over k affine pieces"
    }

    fn example(&self) -> &'static str {
        "input 4; maxout 2 k=2"
    }

    fn check(&self, cx: &mut Checker<'_>, s: &Statement) -> Option<Checked> {
        let widths = cx.layer_widths(s, s.args.first());
        for arg in s.args.iter().skip(1) {
            cx.unexpected_arg(s, arg, "only `k=`");
        }
        let attr = |name: &str| s.attrs.iter().find(|a| a.name.name == name);
        let k = match attr("k") {
            Some(a) => match &a.value {
                Value::Number(n) if n.is_integer && n.value >= 2.0 && n.value <= 64.0 => {
                    Some(n.value as usize)
                }
                value => {
                    let (message, help) = match value {
                        Value::Number(n) if !n.is_integer => (
                            format!("the number of pieces must be a whole number, found {}", written(n)),
                            "write e.g. `k=2`".to_string(),
                        ),
                        Value::Number(n) if n.value < 2.0 => (
                            format!("maxout needs at least 2 pieces per unit, found {}", n.text),
                            "`k=2` is the usual maxout, max(w1ᵀx + b1, w2ᵀx + b2); k=1 would be a plain dense layer".to_string(),
                        ),
                        Value::Number(n) => (
                            format!("maxout takes at most 64 pieces per unit, found {}", n.text),
                            "each piece is a dense layer of its own: k pieces hold k times the weights; k=2 to k=5 is usual".to_string(),
                        ),
                        _ => (
                            "`k` is the number of pieces per unit".to_string(),
                            "write e.g. `k=2`".to_string(),
                        ),
                    };
                    cx.error(
                        Diagnostic::new(Code::BadAttributeValue, a.value.span(), message)
                            .label("expected a whole number from 2 to 64")
                            .help(help),
                    );
                    None
                }
            },
            None => {
                cx.error(
                    Diagnostic::new(
                        Code::BadArgument,
                        s.keyword.span.clone(),
                        "`maxout` needs the number of pieces",
                    )
                    .label("missing `k=`")
                    .help("write e.g. `maxout 128->64 k=2`"),
                );
                None
            }
        };
        let weight_init = match attr("init") {
            Some(a) => cx.init(a),
            None => Some(Init::XavierNormal),
        };
        let bias_init = match attr("bias") {
            Some(a) => cx.init(a),
            None => Some(Init::Zeros),
        };
        let (input, output, out_span) = widths?;
        cx.flow(Shape::vector(output), out_span);
        Some(Checked {
            spec: Box::new(Maxout {
                k: k?,
                weight_init: weight_init?,
                bias_init: bias_init?,
            }),
            input: Shape::vector(input),
            output: Shape::vector(output),
        })
    }

    fn sample_weight(&self) -> usize {
        2
    }

    fn sample(&self, rng: &mut dyn Random, input: Option<&Shape>) -> Option<Sample> {
        if input?.rank() > 1 {
            return None;
        }
        let out = rng.range(1, 5);
        // Random biases: with zero biases every piece ties at 0 wherever the input is 0
        // (after a step, a dropped unit), a kink no gradient check survives.
        let mut text = format!("maxout {out} k={} bias=normal(0, 0.5)", rng.range(2, 3));
        if rng.chance(40) {
            text += &format!(" init={}", sample_init(rng));
        }
        Some(Sample {
            text,
            output: Shape::vector(out),
            freeze: false,
        })
    }
}

impl LayerSpec for Maxout {
    fn describe(&self, io: Io<'_>) -> String {
        format!(
            "maxout {}->{} k={}",
            io.input.size(),
            io.output.size(),
            self.k
        )
    }

    fn params(&self, io: Io<'_>) -> Option<u64> {
        let (input, output) = (
            u64::try_from(io.input.size()).ok()?,
            u64::try_from(io.output.size()).ok()?,
        );
        let affine = input.checked_mul(output)?.checked_add(output)?;
        u64::try_from(self.k).ok()?.checked_mul(affine)
    }

    fn field_type(&self, f: &Ident, io: Io<'_>) -> TokenStream {
        let (i, o, k) = (int(io.input.size()), int(io.output.size()), int(self.k));
        quote!(::axonal::layers::Maxout<#f, #i, #o, #k>)
    }

    fn constructor(&self, _io: Io<'_>) -> TokenStream {
        let (w, b) = (init(&self.weight_init), init(&self.bias_init));
        quote!(::axonal::layers::Maxout::new(#w, #b, rng))
    }

    fn draws(&self) -> bool {
        true
    }

    /// `k` affine maps in one `Gemm` (`[out·k, in]`, each unit's pieces side by side, as the
    /// runtime stores them), then the maximum over each unit's pieces.
    fn onnx(&self, io: Io<'_>, g: &mut Graph, key: &str, x: &str) -> String {
        let out = io.output.size();
        let z = super::dense::gemm(g, key, x, io.input.size(), out * self.k);
        let shape = g.ints(&format!("{key}.pieces"), &[0, out as i64, self.k as i64]);
        let pieces = g.node("Reshape", key, &[&z, &shape], vec![]);
        g.node(
            "ReduceMax",
            key,
            &[&pieces],
            vec![onnx_attr::ints("axes", &[2]), onnx_attr::int("keepdims", 0)],
        )
    }

    /// `nn.Linear(in, out·k)`, whose rows o·k … o·k + k − 1 are unit o's pieces, then the
    /// maximum over each unit's pieces.
    fn torch(&self, io: Io<'_>) -> Torch {
        let (out, k) = (io.output.size(), self.k);
        Torch {
            module: Some(format!("nn.Linear({}, {})", io.input.size(), out * k)),
            expr: format!("{{x}}.unflatten(1, ({out}, {k})).amax(2)"),
        }
    }

    spec_boilerplate!();
}
