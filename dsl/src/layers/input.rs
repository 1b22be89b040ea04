//! `input 784`: the width of one input sample. It makes no layer: it starts the width flow.

use crate::ast::{Arg, Statement};
use crate::check::Checker;
use crate::diagnostic::{Code, Diagnostic};

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
        "`input 784`: the width of one input sample"
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
                Some(value) => cx.flow(value, n.span.clone()),
                // The error just given is why later layers cannot know their input width.
                None => cx.width_unknown_explained(),
            },
            _ => {
                cx.width_unknown_explained();
                cx.error(
                    Diagnostic::new(Code::BadArgument, s.span.clone(), "`input` takes one width")
                        .label("expected `input N`")
                        .help("for 28×28 images write `input 784`"),
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

    fn sample(&self, rng: &mut dyn Random, input: Option<usize>) -> Option<Sample> {
        let _ = rng;
        let _ = input;
        None
    }
}
