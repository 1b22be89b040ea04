//! `batchnorm momentum=0.1 eps=1e-5`: batch normalization with a learned scale and shift, per
//! feature of a vector (PyTorch's `BatchNorm1d`) or per channel of a `[C, L]` or `[C, H, W]`
//! value (`BatchNorm1d`/`BatchNorm2d`): batch statistics in training, running ones in eval.

use axonal_onnx::{attr as onnx_attr, Graph};
use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::ast::{Statement, Value};
use crate::check::{positive_in_f32, Checker};
use crate::codegen::{float, int};

use super::{
    attr, spec_boilerplate, AttrSpec, Checked, Io, Kind, LayerSpec, Random, Role, Sample, Torch,
};
use crate::ir::Shape;

/// The `batchnorm` statement.
pub struct BatchNormKind;

/// A batch normalization layer as the checker resolved it.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm {
    /// Weight of the newest batch in the running statistics.
    pub momentum: f64,
    /// Added to the variance before the square root.
    pub eps: f64,
}

impl Kind for BatchNormKind {
    fn keywords(&self) -> &'static [&'static str] {
        &["batchnorm"]
    }

    fn role(&self) -> Role {
        Role::Layer
    }

    fn attrs(&self) -> &'static [AttrSpec] {
        const ATTRS: &[AttrSpec] = &[attr("momentum", Some("0.1")), attr("eps", Some("1e-5"))];
        ATTRS
    }

    fn summary(&self) -> &'static str {
        "`batchnorm momentum=0.1 eps=1e-5`: batch normalization"
    }

    fn example(&self) -> &'static str {
        "input 4; batchnorm"
    }

    fn examples(&self) -> Vec<String> {
        vec![
            "input 4; batchnorm momentum=0.5".to_string(),
            "input 2x3x3; batchnorm eps=1e-3".to_string(),
            "input 3x5; batchnorm".to_string(),
        ]
    }

    fn check(&self, cx: &mut Checker<'_>, s: &Statement) -> Option<Checked> {
        let incoming = cx.incoming(&s.keyword);
        for arg in &s.args {
            cx.unexpected_arg(s, arg, "only `momentum=` and `eps=`");
        }
        let (mut momentum, mut eps) = (Some(0.1), Some(1e-5));
        for attr in &s.attrs {
            let (slot, ok, expected): (_, fn(f64) -> bool, _) = match attr.name.name.as_str() {
                "momentum" => (
                    &mut momentum,
                    |v| (0.0..=1.0).contains(&v),
                    "a momentum in [0, 1]",
                ),
                "eps" => (
                    &mut eps,
                    positive_in_f32,
                    "an epsilon greater than 0 in f32",
                ),
                _ => continue,
            };
            match &attr.value {
                Value::Number(n) if ok(n.value) => *slot = Some(n.value),
                _ => {
                    *slot = None;
                    cx.bad_value(attr, expected);
                }
            }
        }
        let width = incoming?;
        Some(Checked {
            spec: Box::new(BatchNorm {
                momentum: momentum?,
                eps: eps?,
            }),
            input: width.clone(),
            output: width,
        })
    }

    fn sample_weight(&self) -> usize {
        2
    }

    fn sample(&self, rng: &mut dyn Random, input: Option<&Shape>) -> Option<Sample> {
        let width = input?.clone();
        let mut text = "batchnorm".to_string();
        if rng.chance(50) {
            text += &format!(" momentum={}", rng.pick(&["0.1", "0.5", "1"]));
        }
        if rng.chance(50) {
            text += &format!(" eps={}", rng.pick(&["1e-5", "1e-3", "0.1"]));
        }
        Some(Sample {
            text,
            output: width,
            freeze: false,
        })
    }
}

/// The channels a batch norm normalizes: the features of a vector, the first dimension of
/// anything else.
fn channels(io: Io<'_>) -> usize {
    io.output.dims().first().copied().unwrap_or(0)
}

impl LayerSpec for BatchNorm {
    fn describe(&self, _io: Io<'_>) -> String {
        format!("batchnorm momentum={} eps={:e}", self.momentum, self.eps)
    }

    /// γ and β, one each per channel (per feature of a vector).
    fn params(&self, io: Io<'_>) -> Option<u64> {
        u64::try_from(channels(io)).ok()?.checked_mul(2)
    }

    /// The running mean and variance, one each per channel.
    fn buffers(&self, io: Io<'_>) -> Option<u64> {
        u64::try_from(channels(io)).ok()?.checked_mul(2)
    }

    fn field_type(&self, f: &Ident, io: Io<'_>) -> TokenStream {
        let dims = io.output.dims();
        if dims.len() == 1 {
            let o = int(dims[0]);
            quote!(::axonal::layers::BatchNorm<#f, #o>)
        } else {
            // `[C, S]`: S the positions of a channel (L, or H·W).
            let c = int(dims[0]);
            let positions = int(dims[1..].iter().product());
            quote!(::axonal::layers::BatchNorm<#f, #c, #positions>)
        }
    }

    fn constructor(&self, _io: Io<'_>) -> TokenStream {
        let (m, e) = (float(self.momentum), float(self.eps));
        quote!(::axonal::layers::BatchNorm::new(#m, #e))
    }

    fn draws(&self) -> bool {
        false
    }

    /// `BatchNormalization` in inference mode, on the running statistics; ONNX's momentum is
    /// the weight of the old statistic, 1 − PyTorch's.
    fn onnx(&self, io: Io<'_>, g: &mut Graph, key: &str, x: &str) -> String {
        let c = io.input.dims()[0];
        let inputs: Vec<String> = ["weight", "bias", "running_mean", "running_var"]
            .iter()
            .map(|name| g.weight(&format!("{key}.{name}"), &[c]))
            .collect();
        let [w, b, m, v] = [&inputs[0], &inputs[1], &inputs[2], &inputs[3]];
        g.node(
            "BatchNormalization",
            key,
            &[x, w, b, m, v],
            vec![
                onnx_attr::float("epsilon", self.eps),
                onnx_attr::float("momentum", 1.0 - self.momentum),
            ],
        )
    }

    /// `nn.BatchNorm1d(C)` after a vector or a `[C, L]` value, `nn.BatchNorm2d(C)` after a
    /// `[C, H, W]` one, with `eps=` and `momentum=` when not PyTorch's defaults (which are the
    /// language's: 1e-5 and 0.1, the same update of the running statistics).
    fn torch(&self, io: Io<'_>) -> Torch {
        let dims = if io.input.rank() == 3 { 2 } else { 1 };
        let mut args = channels(io).to_string();
        if self.eps != 1e-5 {
            args += &format!(", eps={}", crate::torch::float(self.eps));
        }
        if self.momentum != 0.1 {
            args += &format!(", momentum={}", crate::torch::float(self.momentum));
        }
        Torch::module(format!("nn.BatchNorm{dims}d({args})"))
    }

    spec_boilerplate!();
}
