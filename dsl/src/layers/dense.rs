//! `dense 784->128 relu init=he bias=0.1 l2=1e-4`: an affine layer `y = f(x·Wᵀ + b)` with an
//! optional activation, W stored `[out, in]` as PyTorch's `Linear`.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::ast::{Arg, Statement, Value};
use crate::check::{default_init, fits_f32, Checker};
use crate::codegen::{float, init, int};
use crate::diagnostic::Code;
use crate::ir::{Activation, Init, Shape};
use crate::Diagnostic;

use super::activation::{
    activation_new, activation_source, activation_type, onnx as onnx_activation, sample_activation,
};
use super::{
    attr, plural, sample_init, spec_boilerplate, AttrSpec, Checked, Io, Kind, LayerSpec, Random,
    Role, Sample, Strip, Torch,
};
use axonal_onnx::Graph;

/// The `dense` statement.
pub struct DenseKind;

/// A dense layer as the checker resolved it.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    /// The activation applied to the affine output (`Identity` when none).
    pub activation: Activation,
    /// How the weights start.
    pub weight_init: Init,
    /// How the biases start.
    pub bias_init: Init,
    /// L2 penalty on the weights: the loss gains `l2 · Σ W²` (0 for none).
    pub l2: f64,
}

impl Kind for DenseKind {
    fn keywords(&self) -> &'static [&'static str] {
        &["dense"]
    }

    fn role(&self) -> Role {
        Role::Layer
    }

    fn attrs(&self) -> &'static [AttrSpec] {
        const ATTRS: &[AttrSpec] = &[
            attr("init", None),
            attr("bias", Some("zeros")),
            attr("weights", None),
            attr("l2", Some("0")),
        ];
        ATTRS
    }

    fn summary(&self) -> &'static str {
        "`dense 784->128 relu`: an affine layer with an optional activation"
    }

    fn example(&self) -> &'static str {
        "input 4; dense 3 relu"
    }

    fn examples(&self) -> Vec<String> {
        vec![
            "input 4; dense 3 relu init=he bias=0.1 l2=0.01".to_string(),
            "dense 2->1 step weights=[0.5, 0.5] bias=-0.7".to_string(),
            "input 4; dense 2 leaky_relu 0.2".to_string(),
            "input 4; dense 2".to_string(),
        ]
    }

    fn check(&self, cx: &mut Checker<'_>, s: &Statement) -> Option<Checked> {
        let widths = cx.layer_widths(s, s.args.first());
        let activation = trailing_activation(cx, s);
        let (input, output, out_span) = widths?;
        cx.flow(Shape::vector(output), out_span);
        let attr = |name: &str| s.attrs.iter().find(|a| a.name.name == name);
        let activation = activation.unwrap_or(Activation::Identity);
        let Affine {
            mut weight_init,
            bias_init,
            l2,
        } = affine_attrs(cx, s, activation, output);
        if let Some(a) = attr("weights") {
            if attr("init").is_some() {
                cx.error(
                    Diagnostic::new(
                        Code::BadAttributeValue,
                        a.name.span.clone(),
                        "`weights` and `init` both set the weights",
                    )
                    .label("exact weights here")
                    .help("keep `weights=[…]` for fixed values or `init=…` for random ones"),
                );
            }
            if let Some(values) = cx.number_list(a, input * output, || {
                format!(
                    "{output} output{} × {input} input{}, one row per output",
                    plural(output),
                    plural(input)
                )
            }) {
                weight_init = Init::Values(values);
            }
        }
        Some(Checked {
            spec: Box::new(Dense {
                activation,
                weight_init,
                bias_init,
                l2,
            }),
            input: Shape::vector(input),
            output: Shape::vector(output),
        })
    }

    fn sample_weight(&self) -> usize {
        6
    }

    fn sample(&self, rng: &mut dyn Random, input: Option<&Shape>) -> Option<Sample> {
        if input.is_some_and(|s| s.rank() > 1) {
            return None;
        }
        let out = rng.range(1, 7);
        let arrow = match input.map(Shape::size) {
            Some(width) if rng.chance(30) => format!("{width}->{out}"),
            Some(_) => out.to_string(),
            None => format!("{}->{out}", rng.range(1, 6)),
        };
        let mut text = format!("dense {arrow}");
        if rng.chance(70) {
            text += &format!(" {}", sample_activation(rng));
        }
        if rng.chance(60) {
            text += &format!(" init={}", sample_init(rng));
        }
        // Always a bias other than zero, as the convolutions' sampler does: after a `step`
        // whose outputs are all 0, a zero bias puts the pre-activations exactly on a ReLU's
        // or ELU's kink, where a gradient check cannot agree. (The default and `zeros` are
        // covered by every other test.)
        let bias = rng.pick(&["0.1", "-0.2", "ones", "normal(0, 0.1)"]);
        text += &format!(" bias={bias}");
        if rng.chance(20) {
            text += &format!(" l2={}", rng.pick(&["0.01", "0.5"]));
        }
        Some(Sample {
            text,
            output: Shape::vector(out),
            freeze: false,
        })
    }
}

/// How an affine layer (`dense`, `conv2d`, `conv1d`) starts and is penalized: its `init=`,
/// `bias=` and `l2=` attributes.
pub(super) struct Affine {
    /// How the weights start: `init=`, or the activation's default.
    pub weight_init: Init,
    /// How the biases start: `bias=` (a number, a list of one per output, or an initializer).
    pub bias_init: Init,
    /// `l2=`, 0 for none.
    pub l2: f64,
}

/// Reads `init=`, `bias=` and `l2=` of an affine layer with `outputs` biases whose activation
/// is `activation`, reporting bad values.
pub(super) fn affine_attrs(
    cx: &mut Checker<'_>,
    s: &Statement,
    activation: Activation,
    outputs: usize,
) -> Affine {
    let attr = |name: &str| s.attrs.iter().find(|a| a.name.name == name);
    let mut weight_init = default_init(activation);
    if let Some(a) = attr("init") {
        if let Some(init) = cx.init(a) {
            weight_init = fit_init_to(activation, init);
        }
    }
    let mut bias_init = Init::Zeros;
    if let Some(a) = attr("bias") {
        let init = match &a.value {
            Value::Number(n) => cx.constant(a, n.value),
            Value::List { .. } => cx
                .number_list(a, outputs, || "one per output".to_string())
                .map(Init::Values),
            _ => cx.init(a),
        };
        if let Some(init) = init {
            bias_init = init;
        }
    }
    let mut l2 = 0.0;
    if let Some(a) = attr("l2") {
        match &a.value {
            Value::Number(n) if n.value >= 0.0 && fits_f32(n.value) => l2 = n.value,
            _ => cx.bad_value(a, "a penalty of 0 or more, finite in f32, e.g. `l2=1e-4`"),
        }
    }
    Affine {
        weight_init,
        bias_init,
        l2,
    }
}

/// The optional activation after an affine layer's width (`dense 3 relu`, `conv2d 6 k=5
/// leaky_relu 0.1`), with its optional parameter.
pub(super) fn trailing_activation(cx: &mut Checker<'_>, s: &Statement) -> Option<Activation> {
    let mut rest = s.args.iter().skip(1);
    let first = rest.next()?;
    let Arg::Ident(name) = first else {
        cx.unexpected_arg(s, first, "an activation such as `relu`");
        return None;
    };
    let word = super::activation::word(&name.name);
    if word.is_none() && crate::vocab::statement_names().any(|n| n == name.name) {
        // `dense 3 mse`: a loss or layer where the activation goes, most likely a
        // missing `;` (unexpected_arg says so), not a misspelt activation.
        cx.unexpected_arg(s, first, "an activation such as `relu`");
        return None;
    }
    let takes_param = word.is_some_and(|w| w.param.is_some());
    let param = match rest.next() {
        Some(Arg::Number(n)) if takes_param => Some(n),
        Some(extra) => {
            cx.unexpected_arg(s, extra, "nothing more");
            None
        }
        None => None,
    };
    if let Some(extra) = rest.next() {
        cx.unexpected_arg(s, extra, "nothing more");
    }
    super::activation::resolve(cx, name, param)
}

/// `he` before a leaky ReLU means Kaiming with the ReLU's own slope, as in PyTorch's
/// `kaiming_normal_(w, a=slope, nonlinearity="leaky_relu")`.
pub(super) fn fit_init_to(activation: Activation, init: Init) -> Init {
    match (activation, init) {
        (Activation::LeakyRelu(a), Init::HeNormal) => Init::KaimingNormal { a },
        (Activation::LeakyRelu(a), Init::HeUniform) => Init::KaimingUniform { a },
        (_, init) => init,
    }
}

impl LayerSpec for Dense {
    fn describe(&self, io: Io<'_>) -> String {
        let (i, o) = (io.input.size(), io.output.size());
        match self.activation {
            Activation::Identity => format!("dense {i}->{o}"),
            a => format!("dense {i}->{o} {}", activation_source(a)),
        }
    }

    fn params(&self, io: Io<'_>) -> Option<u64> {
        let (input, output) = (
            u64::try_from(io.input.size()).ok()?,
            u64::try_from(io.output.size()).ok()?,
        );
        input.checked_mul(output)?.checked_add(output)
    }

    fn field_type(&self, f: &Ident, io: Io<'_>) -> TokenStream {
        let (i, o) = (int(io.input.size()), int(io.output.size()));
        match self.activation {
            Activation::Identity => quote!(::axonal::layers::Dense<#f, #i, #o>),
            a => {
                let a = activation_type(a, f);
                quote!(::axonal::layers::Dense<#f, #i, #o, #a>)
            }
        }
    }

    fn constructor(&self, _io: Io<'_>) -> TokenStream {
        let a = activation_new(self.activation);
        let (w, b) = (init(&self.weight_init), init(&self.bias_init));
        with_l2(
            quote!(::axonal::layers::Dense::new(#a, #w, #b, rng)),
            self.l2,
        )
    }

    fn draws(&self) -> bool {
        true
    }

    /// `Gemm(x, weight, bias, transB=1)`, then the activation.
    fn onnx(&self, io: Io<'_>, g: &mut Graph, key: &str, x: &str) -> String {
        let y = gemm(g, key, x, io.input.size(), io.output.size());
        onnx_activation(self.activation, g, key, &y)
    }

    /// `nn.Linear(in, out)`, then the activation.
    fn torch(&self, io: Io<'_>) -> Torch {
        let linear = format!("nn.Linear({}, {})", io.input.size(), io.output.size());
        Torch::then(linear, self.activation)
    }

    fn has_penalty(&self) -> bool {
        self.l2 > 0.0
    }

    fn strip_activation(&mut self, activation: Activation) -> Strip {
        strip_final(&mut self.activation, activation)
    }

    spec_boilerplate!();
}

/// `x · weightᵀ + bias` for the `[out, in]` weight and `[out]` bias under `key` (PyTorch's
/// `nn.Linear` as `torch.onnx.export` writes it).
pub(super) fn gemm(g: &mut Graph, key: &str, x: &str, inputs: usize, outputs: usize) -> String {
    let w = g.weight(&format!("{key}.weight"), &[outputs, inputs]);
    let b = g.weight(&format!("{key}.bias"), &[outputs]);
    g.node(
        "Gemm",
        key,
        &[x, &w, &b],
        vec![axonal_onnx::attr::int("transB", 1)],
    )
}

/// A layer that ends in `own` (`dense 3 softmax`, `conv2d 6 k=5 sigmoid`) without the
/// `wanted` activation that the loss after it fuses.
pub(super) fn strip_final(own: &mut Activation, wanted: Activation) -> Strip {
    if *own == wanted {
        *own = Activation::Identity;
        Strip::Stripped
    } else {
        Strip::No
    }
}

/// An affine layer's constructor `new`, with `.with_l2(λ)` for a penalty λ > 0.
pub(super) fn with_l2(new: TokenStream, l2: f64) -> TokenStream {
    if l2 > 0.0 {
        let l2 = float(l2);
        quote!(#new.with_l2(#l2))
    } else {
        new
    }
}
