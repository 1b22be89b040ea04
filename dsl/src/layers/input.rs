//! `input 784`: the width of one input sample. It makes no layer: it starts the width flow.

use crate::ast::{Arg, Statement};
use crate::check::Checker;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Shape;

use super::{AttrSpec, Checked, Kind, Random, Role, Sample};

/// The `input` statement.
pub struct Input;

impl Kind for Input {
    fn keywords(&self) -> &'static [&'static str] {
        &["input"]
    }

    fn role(&self) -> Role {
        Role::Input
    }

    fn attrs(&self) -> &'static [AttrSpec] {
        &[]
    }

    fn summary(&self) -> &'static str {
        "`input 784`, `input 1x28x28`: the shape of one input sample"
    }

    fn example(&self) -> &'static str {
        "input 4; relu"
    }

    fn check(&self, cx: &mut Checker<'_>, s: &Statement) -> Option<Checked> {
        if cx.has_layers() || cx.width().is_some() {
            cx.error(
                Diagnostic::new(
                    Code::BadArgument,
                    s.keyword.span.clone(),
                    "`input` must be the first statement",
                )
                .label("the input width is already known here")
                .help("move `input` to the top of the network, or remove it"),
            );
            return None;
        }
        let mut args = s.args.iter();
        match args.next() {
            Some(Arg::Number(n)) => match cx.width_number(n) {
                Some(value) => cx.flow(Shape::vector(value), n.span.clone()),
                // The error just given is why later layers cannot know their input width.
                None => cx.width_unknown_explained(),
            },
            Some(Arg::Dims(d)) => match cx.shape(d) {
                Some(shape) => cx.flow(shape, d.span.clone()),
                None => cx.width_unknown_explained(),
            },
            _ => {
                cx.width_unknown_explained();
                cx.error(
                    Diagnostic::new(
                        Code::BadArgument,
                        s.span.clone(),
                        "`input` takes one shape",
                    )
                    .label("expected `input N` or `input CxHxW`")
                    .help("for 28×28 grey images write `input 1x28x28`, or `input 784` for a vector"),
                )
            }
        }
        for extra in args {
            cx.unexpected_arg(s, extra, "nothing more");
        }
        None
    }

    fn sample_weight(&self) -> usize {
        0
    }

    fn sample(&self, rng: &mut dyn Random, input: Option<&Shape>) -> Option<Sample> {
        let _ = rng;
        let _ = input;
        None
    }
}
