//! `flatten`: a `[C, H, W]` or `[C, L]` value as a vector of `C·H·W` features, in the order
//! of PyTorch's `nn.Flatten` (channels outermost). A batch is a `[batch, C·H·W]` matrix in that
//! order whatever the shape, so `flatten` changes only the shape the checker sees: it has no
//! runtime field, and the next layer reads the previous layer's output.

use axonal_onnx::Graph;
use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::ast::Statement;
use crate::check::Checker;
use crate::ir::Shape;

use super::{
    spec_boilerplate, AttrSpec, Checked, Io, Kind, LayerSpec, Random, Role, Sample, Torch,
};

/// The `flatten` statement.
pub struct FlattenKind;

/// A flatten as the checker resolved it.
#[derive(Clone, Debug, PartialEq)]
pub struct Flatten;

impl Kind for FlattenKind {
    fn keywords(&self) -> &'static [&'static str] {
        &["flatten"]
    }

    fn role(&self) -> Role {
        Role::Layer
    }

    fn attrs(&self) -> &'static [AttrSpec] {
        &[]
    }

    fn summary(&self) -> &'static str {
        "`flatten`: a `[C, H, W]` or `[C, L]` value as a vector of C·H·W features"
    }

    fn example(&self) -> &'static str {
        "input 2x3x3; relu; flatten; dense 2"
    }

    fn check(&self, cx: &mut Checker<'_>, s: &Statement) -> Option<Checked> {
        let incoming = cx.incoming(&s.keyword);
        for arg in &s.args {
            cx.unexpected_arg(s, arg, "nothing");
        }
        let input = incoming?;
        let output = Shape::vector(input.size());
        cx.flow(output.clone(), s.keyword.span.clone());
        Some(Checked {
            spec: Box::new(Flatten),
            input,
            output,
        })
    }

    fn sample_weight(&self) -> usize {
        2
    }

    fn sample(&self, rng: &mut dyn Random, input: Option<&Shape>) -> Option<Sample> {
        let _ = rng;
        let input = input?;
        (input.rank() > 1).then(|| Sample {
            text: "flatten".to_string(),
            output: Shape::vector(input.size()),
            freeze: false,
        })
    }
}

impl LayerSpec for Flatten {
    fn describe(&self, _io: Io<'_>) -> String {
        "flatten".to_string()
    }

    fn params(&self, _io: Io<'_>) -> Option<u64> {
        Some(0)
    }

    fn field_type(&self, _f: &Ident, _io: Io<'_>) -> TokenStream {
        quote!(())
    }

    fn constructor(&self, _io: Io<'_>) -> TokenStream {
        quote!(())
    }

    fn draws(&self) -> bool {
        false
    }

    fn has_field(&self) -> bool {
        false
    }

    /// `Flatten` from axis 1: `[batch, C·H·W]`.
    fn onnx(&self, _io: Io<'_>, g: &mut Graph, key: &str, x: &str) -> String {
        g.node(
            "Flatten",
            key,
            &[x],
            vec![axonal_onnx::attr::int("axis", 1)],
        )
    }

    /// `x.flatten(1)`: channels outermost, as axonal's rows.
    fn torch(&self, _io: Io<'_>) -> Torch {
        Torch::function("{x}.flatten(1)".to_string())
    }

    spec_boilerplate!();
}
