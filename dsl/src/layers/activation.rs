//! Activations: as a statement of their own (`relu`, `leaky_relu 0.1`) and as the names a
//! `dense` layer's activation takes (`dense 128 relu`). Each is elementwise but `softmax` and
//! `log_softmax`, which work row-wise.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::ast::{Arg, Ident as AstIdent, Number, Statement};
use crate::check::{positive_in_f32, written, Checker};
use crate::codegen::{float, ident, int};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Activation, Shape};
use crate::vocab::did_you_mean;
use axonal_onnx::Graph;

use super::{
    spec_boilerplate, AttrSpec, Checked, Io, Kind, LayerSpec, Random, Role, Sample, Strip, Torch,
};

/// An activation function's name.
pub struct ActivationWord {
    /// The keyword.
    pub name: &'static str,
    /// The activation, given its parameter (or the default).
    pub make: fn(f64) -> Activation,
    /// The name and default of its one optional parameter (`leaky_relu 0.1`).
    pub param: Option<(&'static str, f64)>,
}

/// The activations.
pub const ACTIVATIONS: &[ActivationWord] = &[
    act("identity", |_| Activation::Identity, None),
    act("linear", |_| Activation::Identity, None),
    act("step", |_| Activation::Step, None),
    act("sigmoid", |_| Activation::Sigmoid, None),
    act("tanh", |_| Activation::Tanh, None),
    act("relu", |_| Activation::Relu, None),
    act("leaky_relu", Activation::LeakyRelu, Some(("slope", 0.01))),
    act("elu", Activation::Elu, Some(("alpha", 1.0))),
    act("selu", |_| Activation::Selu, None),
    act("gelu", |_| Activation::Gelu, None),
    act("gelu_tanh", |_| Activation::GeluTanh, None),
    act("silu", |_| Activation::Silu, None),
    act("swish", |_| Activation::Silu, None),
    act("softplus", |_| Activation::Softplus, None),
    act("mish", |_| Activation::Mish, None),
    act("hard_sigmoid", |_| Activation::HardSigmoid, None),
    act("softmax", |_| Activation::Softmax, None),
    act("log_softmax", |_| Activation::LogSoftmax, None),
];

/// The names of [`ACTIVATIONS`], in its order (a test keeps the two the same).
const NAMES: &[&str] = &[
    "identity",
    "linear",
    "step",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "gelu_tanh",
    "silu",
    "swish",
    "softplus",
    "mish",
    "hard_sigmoid",
    "softmax",
    "log_softmax",
];

const fn act(
    name: &'static str,
    make: fn(f64) -> Activation,
    param: Option<(&'static str, f64)>,
) -> ActivationWord {
    ActivationWord { name, make, param }
}

/// Looks up an activation by name.
pub fn word(name: &str) -> Option<&'static ActivationWord> {
    ACTIVATIONS.iter().find(|w| w.name == name)
}

/// An activation as a statement of its own.
pub struct ActivationKind;

/// A stand-alone activation layer as the checker resolved it.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivationLayer(pub Activation);

impl Kind for ActivationKind {
    fn keywords(&self) -> &'static [&'static str] {
        NAMES
    }

    fn role(&self) -> Role {
        Role::Activation
    }

    fn attrs(&self) -> &'static [AttrSpec] {
        &[]
    }

    fn summary(&self) -> &'static str {
        "`relu`, `leaky_relu 0.1`: an activation as a layer of its own"
    }

    fn example(&self) -> &'static str {
        "input 4; relu"
    }

    fn examples(&self) -> Vec<String> {
        ACTIVATIONS
            .iter()
            .map(|w| match w.param {
                Some(_) => format!("input 4; {} 0.5", w.name),
                None => format!("input 4; {}", w.name),
            })
            .collect()
    }

    fn check(&self, cx: &mut Checker<'_>, s: &Statement) -> Option<Checked> {
        let word = word(&s.keyword.name)?;
        let incoming = cx.incoming(&s.keyword);
        let mut args = s.args.iter();
        let mut param = None;
        if word.param.is_some() {
            match args.next() {
                Some(Arg::Number(n)) => param = Some(n),
                Some(arg) => cx.unexpected_arg(s, arg, "a number"),
                None => {}
            }
        }
        for arg in args {
            cx.unexpected_arg(s, arg, "nothing");
        }
        let activation = resolve(cx, &s.keyword, param);
        // Softmax and log-softmax work along a vector; every other activation elementwise.
        if matches!(
            activation,
            Some(Activation::Softmax | Activation::LogSoftmax)
        ) && !cx.needs_vector(&s.keyword)
        {
            return None;
        }
        let width = incoming?;
        Some(Checked {
            spec: Box::new(ActivationLayer(activation?)),
            input: width.clone(),
            output: width,
        })
    }

    fn sample_weight(&self) -> usize {
        1
    }

    fn sample(&self, rng: &mut dyn Random, input: Option<&Shape>) -> Option<Sample> {
        let width = input?.clone();
        let text = sample_activation(rng);
        if width.rank() > 1 && text.contains("softmax") {
            return None;
        }
        Some(Sample {
            text,
            output: width,
            freeze: false,
        })
    }
}

/// Resolves an activation name and its optional parameter, reporting an unknown name or a
/// parameter out of range.
pub(crate) fn resolve(
    cx: &mut Checker<'_>,
    name: &AstIdent,
    param: Option<&Number>,
) -> Option<Activation> {
    let Some(word) = word(&name.name) else {
        let mut d = Diagnostic::new(
            Code::UnknownActivation,
            name.span.clone(),
            format!("unknown activation `{}`", name.name),
        )
        .label("not an activation");
        d = match did_you_mean(&name.name, NAMES.iter().copied()) {
            Some(best) => d.help(format!("did you mean `{best}`?")),
            None => d.help("activations include `relu`, `sigmoid`, `tanh`, `softmax`, `step`"),
        };
        cx.error(d);
        return None;
    };
    let value = match (word.param, param) {
        (Some((_, default)), None) => default,
        (Some((what, _)), Some(n)) => {
            let ok = match what {
                "slope" => (0.0..1.0).contains(&n.value),
                _ => positive_in_f32(n.value),
            };
            if !ok {
                let (range, example) = match what {
                    "slope" => ("in [0, 1)", "`leaky_relu 0.01`"),
                    _ => ("greater than 0 in f32", "`elu 1.0`"),
                };
                cx.error(
                    Diagnostic::new(
                        Code::BadArgument,
                        n.span.clone(),
                        format!(
                            "the {what} of `{}` must be {range}, found {}",
                            word.name,
                            written(n)
                        ),
                    )
                    .label(format!("the {what}"))
                    .help(format!("for example {example}")),
                );
                return None;
            }
            n.value
        }
        (None, _) => 0.0,
    };
    Some((word.make)(value))
}

/// One random activation, with its parameter sometimes (`leaky_relu 0.2`, `elu 0.7`).
pub fn sample_activation(rng: &mut dyn Random) -> String {
    let name = rng.pick(NAMES);
    match name {
        "leaky_relu" if rng.chance(60) => {
            format!("leaky_relu {}", rng.pick(&["0.1", "0.3", "0.9"]))
        }
        "elu" if rng.chance(60) => format!("elu {}", rng.pick(&["0.5", "1", "1.5"])),
        _ => name.to_string(),
    }
}

impl LayerSpec for ActivationLayer {
    fn describe(&self, _io: Io<'_>) -> String {
        activation_source(self.0)
    }

    fn params(&self, _io: Io<'_>) -> Option<u64> {
        Some(0)
    }

    fn field_type(&self, f: &Ident, io: Io<'_>) -> TokenStream {
        let a = activation_type(self.0, f);
        let o = int(io.output.size());
        quote!(::axonal::layers::Activation<#f, #a, #o>)
    }

    fn constructor(&self, _io: Io<'_>) -> TokenStream {
        let a = activation_new(self.0);
        quote!(::axonal::layers::Activation::new(#a))
    }

    fn draws(&self) -> bool {
        false
    }

    fn onnx(&self, _io: Io<'_>, g: &mut Graph, key: &str, x: &str) -> String {
        match self.0 {
            // Kept as a node, so that `axc import` gives the statement back.
            Activation::Identity => g.node("Identity", &format!("{key}.identity"), &[x], vec![]),
            a => onnx(a, g, key, x),
        }
    }

    fn torch(&self, _io: Io<'_>) -> Torch {
        Torch::function(torch(self.0, "{x}"))
    }

    fn strip_activation(&mut self, activation: Activation) -> Strip {
        if self.0 == activation {
            Strip::Whole
        } else {
            Strip::No
        }
    }

    spec_boilerplate!();
}

/// Writes activation `a` on the value `x` (per-sample shape `shape`) into `g`, its nodes named
/// after `base`; returns the output's name (`x` itself for the identity). Activations without
/// an operator at opset 17 are written out exactly: gelu by `Erf`, gelu_tanh by its formula,
/// silu as `Sigmoid`·x, mish as `Tanh(Softplus)`·x, step as `Cast(Greater(x, 0))`.
pub fn onnx(a: Activation, g: &mut Graph, base: &str, x: &str) -> String {
    use axonal_onnx::attr;
    let source = activation_source(a);
    let name = format!("{base}.{}", source.split(' ').next().unwrap_or_default());
    let unary = |g: &mut Graph, op: &str, x: &str| g.node(op, &name, &[x], vec![]);
    match a {
        Activation::Identity => x.to_string(),
        Activation::Sigmoid => unary(g, "Sigmoid", x),
        Activation::Tanh => unary(g, "Tanh", x),
        Activation::Relu => unary(g, "Relu", x),
        Activation::Softplus => unary(g, "Softplus", x),
        Activation::LeakyRelu(slope) => {
            g.node("LeakyRelu", &name, &[x], vec![attr::float("alpha", slope)])
        }
        Activation::Elu(alpha) => g.node("Elu", &name, &[x], vec![attr::float("alpha", alpha)]),
        Activation::Selu => g.node(
            "Selu",
            &name,
            &[x],
            vec![
                attr::float("alpha", SELU_ALPHA),
                attr::float("gamma", SELU_SCALE),
            ],
        ),
        Activation::HardSigmoid => g.node(
            "HardSigmoid",
            &name,
            &[x],
            vec![attr::float("alpha", 1.0 / 6.0), attr::float("beta", 0.5)],
        ),
        Activation::Step => {
            let zero = g.scalar(&format!("{name}.zero"), 0.0);
            let positive = g.node("Greater", &name, &[x, &zero], vec![]);
            g.node("Cast", &name, &[&positive], vec![attr::int("to", 1)])
        }
        Activation::Silu => {
            let s = unary(g, "Sigmoid", x);
            g.node("Mul", &name, &[x, &s], vec![])
        }
        Activation::Mish => {
            let sp = unary(g, "Softplus", x);
            let t = unary(g, "Tanh", &sp);
            g.node("Mul", &name, &[x, &t], vec![])
        }
        Activation::Gelu => {
            // 0.5 · x · (1 + erf(x / √2))
            let c = g.scalar(&format!("{name}.sqrt2"), std::f64::consts::SQRT_2);
            let scaled = g.node("Div", &name, &[x, &c], vec![]);
            let erf = g.node("Erf", &name, &[&scaled], vec![]);
            half_x_one_plus(g, &name, x, &erf)
        }
        Activation::GeluTanh => {
            // 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))
            let kappa = g.scalar(&format!("{name}.kappa"), 0.044715);
            let beta = g.scalar(&format!("{name}.beta"), (2.0 / std::f64::consts::PI).sqrt());
            let x2 = g.node("Mul", &name, &[x, x], vec![]);
            let x3 = g.node("Mul", &name, &[&x2, x], vec![]);
            let k = g.node("Mul", &name, &[&x3, &kappa], vec![]);
            let inner = g.node("Add", &name, &[x, &k], vec![]);
            let scaled = g.node("Mul", &name, &[&inner, &beta], vec![]);
            let t = g.node("Tanh", &name, &[&scaled], vec![]);
            half_x_one_plus(g, &name, x, &t)
        }
        Activation::Softmax | Activation::LogSoftmax => {
            let op = if a == Activation::Softmax {
                "Softmax"
            } else {
                "LogSoftmax"
            };
            // The checker gives softmax only vectors: `[batch, N]`.
            g.node(op, &name, &[x], vec![attr::int("axis", 1)])
        }
    }
}

/// Activation `a` of the Python expression `x`, as PyTorch writes it (`F.relu(x)`; `x` itself
/// for the identity). Each is the function the runtime's activation reproduces: `step` is
/// `(x > 0)` as a float of `x`'s dtype (the name `x` must be a tensor of that dtype in scope,
/// as `forward`'s argument is), softplus has PyTorch's default threshold 20, gelu is exact
/// (erf) and gelu_tanh its tanh approximation, softmax and log_softmax work along dimension 1
/// (the checker gives them vectors only).
pub fn torch(a: Activation, x: &str) -> String {
    use crate::torch::float;
    match a {
        Activation::Identity => x.to_string(),
        Activation::Step => format!("({x} > 0).to(x.dtype)"),
        Activation::Sigmoid => format!("torch.sigmoid({x})"),
        Activation::Tanh => format!("torch.tanh({x})"),
        Activation::Relu => format!("F.relu({x})"),
        Activation::LeakyRelu(0.01) => format!("F.leaky_relu({x})"),
        Activation::LeakyRelu(slope) => format!("F.leaky_relu({x}, {})", float(slope)),
        Activation::Elu(1.0) => format!("F.elu({x})"),
        Activation::Elu(alpha) => format!("F.elu({x}, {})", float(alpha)),
        Activation::Selu => format!("F.selu({x})"),
        Activation::Gelu => format!("F.gelu({x})"),
        Activation::GeluTanh => format!("F.gelu({x}, approximate=\"tanh\")"),
        Activation::Silu => format!("F.silu({x})"),
        Activation::Softplus => format!("F.softplus({x})"),
        Activation::Mish => format!("F.mish({x})"),
        Activation::HardSigmoid => format!("F.hardsigmoid({x})"),
        Activation::Softmax => format!("F.softmax({x}, dim=1)"),
        Activation::LogSoftmax => format!("F.log_softmax({x}, dim=1)"),
    }
}

/// SELU's constants, as the runtime's `Selu` (PyTorch's).
const SELU_ALPHA: f64 = 1.673_263_242_354_377_284_817_042_991_671_7;
const SELU_SCALE: f64 = 1.050_700_987_355_480_493_419_334_985_294_6;

/// 0.5 · x · (1 + t), the end of both gelus.
fn half_x_one_plus(g: &mut Graph, name: &str, x: &str, t: &str) -> String {
    let one = g.scalar(&format!("{name}.one"), 1.0);
    let half = g.scalar(&format!("{name}.half"), 0.5);
    let t1 = g.node("Add", name, &[t, &one], vec![]);
    let xt = g.node("Mul", name, &[x, &t1], vec![]);
    g.node("Mul", name, &[&xt, &half], vec![])
}

/// The runtime type of an activation (generic over the float type `f` when it has a
/// parameter).
pub fn activation_type(a: Activation, f: &Ident) -> TokenStream {
    let name = ident(activation_struct(a));
    match a {
        Activation::LeakyRelu(_) | Activation::Elu(_) => quote!(::axonal::activation::#name<#f>),
        _ => quote!(::axonal::activation::#name),
    }
}

/// The expression that builds an activation.
pub fn activation_new(a: Activation) -> TokenStream {
    let name = ident(activation_struct(a));
    match a {
        Activation::LeakyRelu(p) | Activation::Elu(p) => {
            let p = float(p);
            quote!(::axonal::activation::#name::new(#p))
        }
        _ => quote!(::axonal::activation::#name),
    }
}

/// The name of an activation's runtime type in `::axonal::activation`.
fn activation_struct(a: Activation) -> &'static str {
    match a {
        Activation::Identity => "Identity",
        Activation::Step => "Step",
        Activation::Sigmoid => "Sigmoid",
        Activation::Tanh => "Tanh",
        Activation::Relu => "Relu",
        Activation::LeakyRelu(_) => "LeakyRelu",
        Activation::Elu(_) => "Elu",
        Activation::Selu => "Selu",
        Activation::Gelu => "Gelu",
        Activation::GeluTanh => "GeluTanh",
        Activation::Silu => "Silu",
        Activation::Softplus => "Softplus",
        Activation::Mish => "Mish",
        Activation::HardSigmoid => "HardSigmoid",
        Activation::Softmax => "Softmax",
        Activation::LogSoftmax => "LogSoftmax",
    }
}

/// The activation as written in the language (`leaky_relu 0.1`).
pub fn activation_source(a: Activation) -> String {
    match a {
        Activation::Identity => "identity".into(),
        Activation::Step => "step".into(),
        Activation::Sigmoid => "sigmoid".into(),
        Activation::Tanh => "tanh".into(),
        Activation::Relu => "relu".into(),
        Activation::LeakyRelu(p) => format!("leaky_relu {p}"),
        Activation::Elu(p) => format!("elu {p}"),
        Activation::Selu => "selu".into(),
        Activation::Gelu => "gelu".into(),
        Activation::GeluTanh => "gelu_tanh".into(),
        Activation::Silu => "silu".into(),
        Activation::Softplus => "softplus".into(),
        Activation::Mish => "mish".into(),
        Activation::HardSigmoid => "hard_sigmoid".into(),
        Activation::Softmax => "softmax".into(),
        Activation::LogSoftmax => "log_softmax".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_keywords_are_the_table_s_names() {
        let names: Vec<&str> = super::ACTIVATIONS.iter().map(|w| w.name).collect();
        assert_eq!(names, super::NAMES);
    }
}
