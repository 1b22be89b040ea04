//! `dropout 0.5`: inverted dropout of a fraction of the units, active only in training.

use axonal_onnx::Graph;
use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::ast::{Arg, Statement};
use crate::check::{written, Checker};
use crate::codegen::{float, int};
use crate::diagnostic::{Code, Diagnostic};

use super::{
    spec_boilerplate, AttrSpec, Checked, Io, Kind, LayerSpec, Random, Role, Sample, Torch,
};
use crate::ir::Shape;

/// The `dropout` statement.
pub struct DropoutKind;

/// A dropout layer as the checker resolved it.
#[derive(Clone, Debug, PartialEq)]
pub struct Dropout {
    /// The fraction of units dropped, in [0, 1).
    pub rate: f64,
}

impl Kind for DropoutKind {
    fn keywords(&self) -> &'static [&'static str] {
        &["dropout"]
    }

    fn role(&self) -> Role {
        Role::Layer
    }

    fn attrs(&self) -> &'static [AttrSpec] {
        &[]
    }

    fn summary(&self) -> &'static str {
        "`dropout 0.5`: inverted dropout, active only in training"
    }

    fn example(&self) -> &'static str {
        "input 4; dropout 0.5"
    }

    fn check(&self, cx: &mut Checker<'_>, s: &Statement) -> Option<Checked> {
        let incoming = cx.incoming(&s.keyword);
        let rate = match s.args.as_slice() {
            [Arg::Number(p)] if (0.0..1.0).contains(&p.value) => Some(p.value),
            [Arg::Number(p)] => {
                cx.error(
                    Diagnostic::new(
                        Code::DropoutRate,
                        p.span.clone(),
                        format!("a dropout rate must be in [0, 1), found {}", written(p)),
                    )
                    .label("the fraction of units dropped in training")
                    .help("`dropout 0.5` drops half the units; 1 would drop them all"),
                );
                None
            }
            _ => {
                cx.error(
                    Diagnostic::new(
                        Code::BadArgument,
                        s.span.clone(),
                        "`dropout` takes one rate",
                    )
                    .label("expected `dropout P`")
                    .help("write e.g. `dropout 0.5`"),
                );
                None
            }
        };
        let width = incoming?;
        Some(Checked {
            spec: Box::new(Dropout { rate: rate? }),
            input: width.clone(),
            output: width,
        })
    }

    fn sample_weight(&self) -> usize {
        1
    }

    fn sample(&self, rng: &mut dyn Random, input: Option<&Shape>) -> Option<Sample> {
        let width = input?.clone();
        Some(Sample {
            text: format!("dropout {}", rng.pick(&["0", "0.2", "0.5"])),
            output: width,
            freeze: true,
        })
    }
}

impl LayerSpec for Dropout {
    fn describe(&self, _io: Io<'_>) -> String {
        format!("dropout {}", self.rate)
    }

    fn params(&self, _io: Io<'_>) -> Option<u64> {
        Some(0)
    }

    fn field_type(&self, f: &Ident, io: Io<'_>) -> TokenStream {
        let o = int(io.output.size());
        quote!(::axonal::layers::Dropout<#f, #o>)
    }

    fn constructor(&self, _io: Io<'_>) -> TokenStream {
        let p = float(self.rate);
        quote!(::axonal::layers::Dropout::new(#p, rng))
    }

    fn draws(&self) -> bool {
        true
    }

    /// `Dropout` with its ratio: the identity in inference, kept so the model says it.
    fn onnx(&self, _io: Io<'_>, g: &mut Graph, key: &str, x: &str) -> String {
        let ratio = g.scalar(&format!("{key}.ratio"), self.rate);
        g.node("Dropout", key, &[x, &ratio], vec![])
    }

    /// `nn.Dropout(p)`: inverted dropout in training, nothing in eval mode.
    fn torch(&self, _io: Io<'_>) -> Torch {
        Torch::module(format!("nn.Dropout({})", crate::torch::float(self.rate)))
    }

    spec_boilerplate!();
}
