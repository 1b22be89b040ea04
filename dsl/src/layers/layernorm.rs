//! `layernorm eps=1e-5`: layer normalization over the whole per-sample shape with a learned
//! elementwise scale and shift, PyTorch's `nn.LayerNorm(shape, eps)`.

use axonal_onnx::Graph;
use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::ast::{Statement, Value};
use crate::check::{positive_in_f32, Checker};
use crate::codegen::{float, int};
use crate::ir::Shape;

use super::{
    attr, spec_boilerplate, AttrSpec, Checked, Io, Kind, LayerSpec, Random, Role, Sample, Torch,
};

/// The `layernorm` statement.
pub struct LayerNormKind;

/// A layer normalization as the checker resolved it.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNorm {
    /// Added to the variance before the square root.
    pub eps: f64,
}

impl Kind for LayerNormKind {
    fn keywords(&self) -> &'static [&'static str] {
        &["layernorm"]
    }

    fn role(&self) -> Role {
        Role::Layer
    }

    fn attrs(&self) -> &'static [AttrSpec] {
        const ATTRS: &[AttrSpec] = &[attr("eps", Some("1e-5"))];
        ATTRS
    }

    fn summary(&self) -> &'static str {
        "`layernorm eps=1e-5`: layer normalization over the whole sample"
    }

    fn example(&self) -> &'static str {
        "input 4; layernorm"
    }

    fn examples(&self) -> Vec<String> {
        vec![
            "input 4; layernorm".to_string(),
            "input 2x3x3; layernorm eps=1e-3".to_string(),
        ]
    }

    fn check(&self, cx: &mut Checker<'_>, s: &Statement) -> Option<Checked> {
        let incoming = cx.incoming(&s.keyword);
        for arg in &s.args {
            cx.unexpected_arg(s, arg, "only `eps=`");
        }
        let mut eps = Some(1e-5);
        for a in s.attrs.iter().filter(|a| a.name.name == "eps") {
            match &a.value {
                Value::Number(n) if positive_in_f32(n.value) => eps = Some(n.value),
                _ => {
                    eps = None;
                    cx.bad_value(a, "an epsilon greater than 0 in f32");
                }
            }
        }
        let shape = incoming?;
        Some(Checked {
            spec: Box::new(LayerNorm { eps: eps? }),
            input: shape.clone(),
            output: shape,
        })
    }

    fn sample_weight(&self) -> usize {
        1
    }

    fn sample(&self, rng: &mut dyn Random, input: Option<&Shape>) -> Option<Sample> {
        let shape = input?.clone();
        let text = if rng.chance(50) {
            format!("layernorm eps={}", rng.pick(&["1e-5", "1e-3", "0.1"]))
        } else {
            "layernorm".to_string()
        };
        Some(Sample {
            text,
            output: shape,
            freeze: false,
        })
    }
}

impl LayerSpec for LayerNorm {
    fn describe(&self, _io: Io<'_>) -> String {
        format!("layernorm eps={:e}", self.eps)
    }

    /// γ and β, one each per value of a sample.
    fn params(&self, io: Io<'_>) -> Option<u64> {
        io.output.checked_size()?.checked_mul(2)
    }

    fn field_type(&self, f: &Ident, io: Io<'_>) -> TokenStream {
        let n = int(io.output.size());
        quote!(::axonal::layers::LayerNorm<#f, #n>)
    }

    fn constructor(&self, io: Io<'_>) -> TokenStream {
        let dims = io.output.dims().iter().map(|&d| int(d));
        let eps = float(self.eps);
        quote!(::axonal::layers::LayerNorm::new(&[#(#dims),*], #eps))
    }

    fn draws(&self) -> bool {
        false
    }

    /// `LayerNormalization` over every axis but the batch, with the `[shape]` weight and bias.
    fn onnx(&self, io: Io<'_>, g: &mut Graph, key: &str, x: &str) -> String {
        let w = g.weight(&format!("{key}.weight"), io.input.dims());
        let b = g.weight(&format!("{key}.bias"), io.input.dims());
        g.node(
            "LayerNormalization",
            key,
            &[x, &w, &b],
            vec![
                axonal_onnx::attr::int("axis", 1),
                axonal_onnx::attr::float("epsilon", self.eps),
            ],
        )
    }

    /// `nn.LayerNorm(shape)` over the whole sample (its weight and bias of the sample's
    /// shape), with `eps=` when not 1e-5.
    fn torch(&self, io: Io<'_>) -> Torch {
        let dims = io.input.dims();
        let mut args = match dims {
            [n] => n.to_string(),
            _ => format!("{dims:?}"),
        };
        if self.eps != 1e-5 {
            args += &format!(", eps={}", crate::torch::float(self.eps));
        }
        Torch::module(format!("nn.LayerNorm({args})"))
    }

    spec_boilerplate!();
}
