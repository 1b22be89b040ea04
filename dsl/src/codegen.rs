//! [`ir::Program`](crate::ir::Program) → Rust tokens: one struct per network, with
//! its constructor, `predict`, and an `impl ::axonal::Model` whose forward and
//! backward passes are written out layer by layer.
//!
//! A layer kind's own code (its field type and constructor) lives with the kind in
//! [`crate::layers`]; this module writes the network around it, the same for every layer:
//! forward calls `forward(input, mode)`, backward calls `backward(input, grad,
//! need_input_grad)` in reverse. Generated code names the runtime only by absolute path
//! (`::axonal::…`).

pub(crate) mod blocks;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

use crate::ir::{Init, Layer, Loss, LossKind, Network, Program, Reduction, Visibility};
pub use crate::layers::activation::activation_source;

/// Generates the code of every network of a program.
pub fn generate(program: &Program) -> TokenStream {
    let mut names = blocks::Names::new(program.networks.iter().map(|n| n.name.as_str()));
    program
        .networks
        .iter()
        .map(|net| network(net, &mut names))
        .collect()
}

/// Generates and formats every network of a program, as `build.rs` and `axc emit` write it.
///
/// One network at a time: formatting parses the tokens into a syntax tree, which takes
/// about 25 KB per layer, so only one network's tree is ever alive (at most
/// [`MAX_LAYERS`](crate::check::MAX_LAYERS) layers), not the whole source's.
pub fn emit(program: &Program) -> String {
    let mut names = blocks::Names::new(program.networks.iter().map(|n| n.name.as_str()));
    program
        .networks
        .iter()
        .map(|net| format(network(net, &mut names)))
        .collect()
}

/// Formats generated tokens as Rust source text.
pub fn format(tokens: TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        // Unreachable for code we generate; keep the raw text rather than lose it.
        Err(_) => tokens.to_string(),
    }
}

/// An identifier at the call site.
pub(crate) fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// An integer literal without a type suffix: `784`, not `784usize`.
pub(crate) fn int(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

/// A float literal that survives the round trip through text, sign included.
pub(crate) fn float(v: f64) -> TokenStream {
    let lit = Literal::f64_unsuffixed(v.abs());
    if v.is_sign_negative() && v != 0.0 {
        quote!(-#lit)
    } else {
        quote!(#lit)
    }
}

/// A raw string literal, so multi-line text reads as itself in generated code.
fn raw_string(text: &str) -> Literal {
    let mut hashes = String::from("#");
    while text.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{text}\"{hashes}")
        .parse()
        .unwrap_or_else(|_| Literal::string(text))
}

/// Every word that is a keyword, strict or reserved, in some edition of Rust (2015 to 2024),
/// except the path keywords that no raw identifier can stand for (the checker refuses those,
/// see [`crate::check::RESERVED`]). A user's name among these is written raw: `r#type`.
#[rustfmt::skip]
pub const KEYWORDS: &[&str] = &[
    // strict, every edition
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while",
    // strict since 2018
    "async", "await", "dyn",
    // reserved
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof",
    "unsized", "virtual", "yield", "try", "gen",
];

/// A user's name (a network or a label) as a Rust identifier: raw if it is a keyword in any
/// edition, so `type` becomes the field `r#type` (its checkpoint keys stay `type.weight`).
fn user_ident(name: &str) -> Ident {
    if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        ident(name)
    }
}

/// Whether rustc's `non_camel_case_types` lint accepts `name` as a type name (its own rule:
/// no leading lowercase letter, no `__`, no `_` next to a letter, surrounding `_` ignored).
pub fn is_camel_case(name: &str) -> bool {
    let name = name.trim_matches('_');
    let chars: Vec<char> = name.chars().collect();
    let has_case = |c: char| c.is_lowercase() || c.is_uppercase();
    name.is_empty()
        || (!chars[0].is_lowercase()
            && !name.contains("__")
            && !chars.windows(2).any(|pair| {
                (has_case(pair[0]) && pair[1] == '_') || (has_case(pair[1]) && pair[0] == '_')
            }))
}

/// Whether rustc's `non_snake_case` lint accepts `name` as a field name (its own rule: no
/// uppercase letter, no `__` inside, surrounding `_` ignored).
pub fn is_snake_case(name: &str) -> bool {
    let name = name.trim_matches('_');
    !name.contains("__") && !name.chars().any(char::is_uppercase)
}

/// `#[allow(lint)]` if `conventional` is false: generated items keep the user's names, and a
/// network called `mlp` or a label called `Ok` must not make the user's crate warn.
fn allow_if(conventional: bool, lint: &str) -> TokenStream {
    if conventional {
        quote!()
    } else {
        let lint = ident(lint);
        quote!(#[allow(#lint)])
    }
}

/// The generic parameters of a network's code: the float type and, in `new`, the random
/// generator's type. `F` and `R`, unless the network has that name (then `T` or `G`).
///
/// Renamed rather than refused: `F` is a fine name for a network, and users never write the
/// parameter's name (they write `F::<f64>`); only rustdoc shows it.
fn type_params(net: &Network) -> (Ident, Ident) {
    let pick = |usual: &str, other: &str| ident(if net.name == usual { other } else { usual });
    (pick("F", "T"), pick("R", "G"))
}

/// The code of one network: its struct, the inherent impl and the `Model` impl.
///
/// Generated code must compile in any module of any crate, whatever the user named things.
/// So it names every item it uses by absolute path (`::core::option::Option`,
/// `::core::primitive::usize`, `::axonal::Model`), binds locals only to names of its own
/// (`x`, never a label, which could be a constant or a unit struct and make a pattern), picks
/// its type parameters to differ from the network's name, writes keywords raw, and allows
/// the case lints on exactly the names that break their conventions. Nor does it warn about
/// what it adds unasked: `dead_code` is allowed on the inherent impl (`INPUT`, `PARAMS`,
/// `summary`, …), though not on the struct, so a network that is never built still warns.
fn network(net: &Network, names: &mut blocks::Names) -> TokenStream {
    let name = user_ident(&net.name);
    let (float, rng_type) = type_params(net);
    let vis = match net.vis {
        Visibility::Private => quote!(),
        Visibility::Pub => quote!(pub),
        Visibility::PubCrate => quote!(pub(crate)),
    };
    let docs = if net.docs.is_empty() {
        let line = format!(" The network `{}`, compiled by axonal.", net.name);
        quote!(#[doc = #line])
    } else {
        let lines = &net.docs;
        quote!(#(#[doc = #lines])*)
    };
    let allow_case = allow_if(is_camel_case(&net.name), "non_camel_case_types");
    // rustc reads the level of `non_snake_case` for fields at the struct, not at the field.
    let snake_fields = net
        .nodes
        .iter()
        .filter(|n| n.has_field())
        .map(|n| n.field())
        .chain(net.loss.iter().map(|l| l.field.as_str()))
        .all(is_snake_case);
    let allow_snake = allow_if(snake_fields, "non_snake_case");
    let (input, output, params) = (
        int(net.input.size()),
        int(net.output().size()),
        int(net.params()),
    );
    let dims = |shape: &crate::ir::Shape| {
        let dims = shape.dims().iter().map(|&d| int(d));
        quote!(&[#(#dims),*])
    };
    let (input_shape, output_shape) = (dims(&net.input), dims(net.output()));
    // `flatten` has no field: the next layer reads the previous layer's output as it is.
    // Blocks are fields whose structs are generated beside the network's.
    let mut block_structs = Vec::new();
    let runtime = blocks::fields(&net.nodes, &net.name, &vis, names, &mut block_structs);
    // The same table as `axc summary`, computed once at compile time.
    let summary = raw_string(&crate::summary::table(net));
    let fields = runtime.iter().map(|f| blocks::declaration(f, &float));
    let inits = runtime.iter().map(blocks::constructor);
    // Fixed networks (activations only) draw nothing: say so instead of warning.
    let draws = net.nodes.iter().any(blocks::draws);
    let unused_rng = if draws {
        quote!()
    } else {
        quote!(let _ = rng;)
    };
    let (loss_field, loss_init) = match &net.loss {
        Some(loss) => {
            let field = user_ident(&loss.field);
            let ty = loss_type(loss.kind);
            let doc = loss_doc(loss);
            let new = loss_new(loss);
            (
                quote! {
                    #[doc = #doc]
                    pub #field: ::axonal::loss::Loss<#float, #ty, #output>,
                },
                quote! { #field: #new, },
            )
        }
        None => (quote!(), quote!()),
    };
    let model_impl = model_impl(net, &runtime, &name, &float);
    let onnx = proc_macro2::Literal::byte_string(&crate::onnx::export_bytes(net));
    quote! {
        #(#block_structs)*

        #docs
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #allow_case
        #allow_snake
        #vis struct #name<#float: ::axonal::Float = ::core::primitive::f32> {
            #(#fields)*
            #loss_field
        }

        // Helpers a user may not call: unused, they are no mistake of theirs.
        #[allow(dead_code)]
        impl<#float: ::axonal::Float> #name<#float> {
            /// Width of one input sample: the values of [`Self::INPUT_SHAPE`].
            pub const INPUT: ::core::primitive::usize = #input;
            /// Width of one output sample: the values of [`Self::OUTPUT_SHAPE`].
            pub const OUTPUT: ::core::primitive::usize = #output;
            /// Shape of one input sample (`[C, H, W]`, `[C, L]` or `[F]`); a batch is a
            /// `[batch, INPUT]` matrix, each row a sample in this order.
            pub const INPUT_SHAPE: &'static [::core::primitive::usize] = #input_shape;
            /// Shape of one output sample.
            pub const OUTPUT_SHAPE: &'static [::core::primitive::usize] = #output_shape;
            /// Number of trainable parameters.
            pub const PARAMS: ::core::primitive::usize = #params;
            /// The ONNX graph (opset 17) of what `predict` computes, its weights declared by
            /// their checkpoint names but not filled: [`::axonal::Model::save_onnx`] fills them.
            pub const ONNX: &'static [::core::primitive::u8] = #onnx;

            /// A network with parameters drawn from the initializers of its source.
            pub fn new<#rng_type: ::axonal::rand::Rng + ?::core::marker::Sized>(
                rng: &mut #rng_type,
            ) -> Self {
                #unused_rng
                Self {
                    #(#inits)*
                    #loss_init
                }
            }

            /// A network initialized from a seeded random generator: same seed, same network.
            pub fn seeded(seed: ::core::primitive::u64) -> Self {
                Self::new(&mut ::axonal::seeded_rng(seed))
            }

            /// A table of the layers, their output shapes and parameter counts.
            pub fn summary() -> &'static ::core::primitive::str {
                #summary
            }
        }

        #model_impl
    }
}

fn model_impl(
    net: &Network,
    runtime: &[blocks::Field<'_>],
    name: &Ident,
    float: &Ident,
) -> TokenStream {
    let name_str = &net.name;
    let fields: Vec<Ident> = runtime.iter().map(|f| f.ident.clone()).collect();
    let first = &fields[0];
    let last = &fields[fields.len() - 1];
    let ok = quote!(::core::result::Result::Ok);
    let err = quote!(::core::result::Result::Err);
    let option = quote!(::core::option::Option);

    // forward: each field reads the previous one's output.
    let forward = blocks::chain_forward(runtime, &quote!(x));

    // predict: the same chain, eval mode, with owned intermediates, each bound to `x` (a
    // label could name a constant in the user's module, and `let` would take it as a pattern).
    let predict = fields.iter().enumerate().map(|(i, f)| {
        let input = if i == 0 { quote!(x) } else { quote!(x.view()) };
        quote! { let x = self.#f.predict(#input); }
    });
    let predict_out = match &net.loss {
        Some(loss) => {
            let l = user_ident(&loss.field);
            quote!(self.#l.link(x))
        }
        None => quote!(x),
    };

    // backward: the same chain in reverse; each field gets the gradient of the one after it.
    let backward = blocks::chain_backward(runtime, &quote!(x), &quote!(grad), &quote!(input_grad));

    let visits = blocks::network_visits(runtime, true);
    let visits = if visits.is_empty() {
        quote! { let _ = f; }
    } else {
        quote! { #(#visits)* }
    };

    let buffer_visits = blocks::network_visits(runtime, false);
    let visit_buffers = if buffer_visits.is_empty() {
        quote!()
    } else {
        quote! {
            fn visit_buffers(
                &mut self,
                f: &mut dyn ::core::ops::FnMut(::axonal::model::Buffer<'_, #float>),
            ) {
                #(#buffer_visits)*
            }
        }
    };

    // Layers with an L2 penalty add it to the loss (their backward adds its gradient).
    let penalties = blocks::penalties(runtime);
    let (loss_fn, seed_grad) = match &net.loss {
        Some(loss) if !penalties.is_empty() => {
            let l = user_ident(&loss.field);
            (
                quote! { #ok(self.#l.forward(self.#last.output(), targets)? #(#penalties)*) },
                quote! { #option::None => self.#l.grad_input(), },
            )
        }
        Some(loss) => {
            let l = user_ident(&loss.field);
            (
                quote! { self.#l.forward(self.#last.output(), targets) },
                quote! { #option::None => self.#l.grad_input(), },
            )
        }
        None => (
            quote! {
                let _ = targets;
                #err(::axonal::Error::NoLoss { network: #name_str })
            },
            quote! { #option::None => return #err(::axonal::Error::NoLoss { network: #name_str }), },
        ),
    };

    let usize = quote!(::core::primitive::usize);
    quote! {
        impl<#float: ::axonal::Float> ::axonal::Model<#float> for #name<#float> {
            fn name(&self) -> &'static ::core::primitive::str {
                #name_str
            }

            fn input_width(&self) -> #usize {
                Self::INPUT
            }

            fn output_width(&self) -> #usize {
                Self::OUTPUT
            }

            fn onnx_graph(&self) -> #option<&'static [::core::primitive::u8]> {
                #option::Some(Self::ONNX)
            }

            fn forward(
                &mut self,
                x: ::axonal::ndarray::ArrayView2<'_, #float>,
                mode: ::axonal::Mode,
            ) -> ::axonal::Result<::axonal::ndarray::ArrayView2<'_, #float>> {
                ::axonal::model::check_input(#name_str, &x, Self::INPUT)?;
                #(#forward)*
                #ok(self.#last.output())
            }

            fn output(&self) -> ::axonal::ndarray::ArrayView2<'_, #float> {
                self.#last.output()
            }

            fn loss(&mut self, targets: ::axonal::TargetsView<'_, #float>) -> ::axonal::Result<#float> {
                #loss_fn
            }

            fn backward_with(
                &mut self,
                x: ::axonal::ndarray::ArrayView2<'_, #float>,
                grad_output: #option<::axonal::ndarray::ArrayView2<'_, #float>>,
                input_grad: ::core::primitive::bool,
            ) -> ::axonal::Result<()> {
                ::axonal::model::check_backward(#name_str, &x, grad_output.as_ref(), self.#last.output().dim())?;
                let grad = match grad_output {
                    #option::Some(grad) => grad.reborrow(),
                    #seed_grad
                };
                #(#backward)*
                #ok(())
            }

            fn input_grad(&self) -> ::axonal::ndarray::ArrayView2<'_, #float> {
                self.#first.grad_input()
            }

            fn visit_params(&mut self, f: &mut dyn ::core::ops::FnMut(::axonal::Param<'_, #float>)) {
                #visits
            }

            #visit_buffers


            fn predict(
                &self,
                x: ::axonal::ndarray::ArrayView2<'_, #float>,
            ) -> ::axonal::Result<::axonal::ndarray::Array2<#float>> {
                ::axonal::model::check_input(#name_str, &x, Self::INPUT)?;
                #(#predict)*
                #ok(#predict_out)
            }
        }
    }
}

/// The runtime value of an initializer: `::axonal::init::Init::HeNormal`.
pub(crate) fn init(init: &Init) -> TokenStream {
    let path = quote!(::axonal::init::Init);
    match init {
        Init::Zeros => quote!(#path::Zeros),
        Init::Ones => quote!(#path::Ones),
        Init::Constant(v) => {
            let v = float(*v);
            quote!(#path::Constant(#v))
        }
        Init::Normal { mean, std } => {
            let (mean, std) = (float(*mean), float(*std));
            quote!(#path::Normal { mean: #mean, std: #std })
        }
        Init::Uniform { low, high } => {
            let (low, high) = (float(*low), float(*high));
            quote!(#path::Uniform { low: #low, high: #high })
        }
        Init::XavierNormal => quote!(#path::XavierNormal),
        Init::XavierUniform => quote!(#path::XavierUniform),
        Init::HeNormal => quote!(#path::HeNormal),
        Init::HeUniform => quote!(#path::HeUniform),
        Init::KaimingNormal { a } => {
            let a = float(*a);
            quote!(#path::KaimingNormal { a: #a })
        }
        Init::KaimingUniform { a } => {
            let a = float(*a);
            quote!(#path::KaimingUniform { a: #a })
        }
        Init::LecunNormal => quote!(#path::LecunNormal),
        Init::LecunUniform => quote!(#path::LecunUniform),
        Init::Values(values) => {
            let values = values.iter().map(|v| float(*v));
            quote!(#path::Values(&[#(#values),*]))
        }
    }
}

fn loss_struct(kind: LossKind) -> &'static str {
    match kind {
        LossKind::SoftmaxCe => "SoftmaxCrossEntropy",
        LossKind::MulticlassHinge { .. } => "MulticlassHinge",
        LossKind::Mse => "Mse",
        LossKind::SseHalf => "SseHalf",
        LossKind::CrossEntropy => "CrossEntropy",
        LossKind::BinaryCrossentropy { .. } => "BinaryCrossentropy",
        LossKind::CategoricalCrossentropy { .. } => "CategoricalCrossentropy",
        LossKind::SparseCategoricalCrossentropy { .. } => "SparseCategoricalCrossentropy",
        LossKind::Poisson => "Poisson",
        LossKind::KlDivergence => "KlDivergence",
        LossKind::MeanAbsoluteError => "MeanAbsoluteError",
        LossKind::MeanAbsolutePercentageError => "MeanAbsolutePercentageError",
        LossKind::MeanSquaredLogarithmicError => "MeanSquaredLogarithmicError",
        LossKind::CosineSimilarity => "CosineSimilarity",
        LossKind::Huber { .. } => "Huber",
        LossKind::LogCosh => "LogCosh",
        LossKind::Hinge => "Hinge",
        LossKind::SquaredHinge => "SquaredHinge",
        LossKind::CategoricalHinge => "CategoricalHinge",
    }
}

fn loss_type(kind: LossKind) -> TokenStream {
    let name = ident(loss_struct(kind));
    quote!(::axonal::loss::#name)
}

/// The loss function's value: a unit struct, or a struct literal of its parameters.
fn loss_value(kind: LossKind) -> TokenStream {
    let ty = loss_type(kind);
    match kind {
        LossKind::MulticlassHinge { margin } => {
            let margin = float(margin);
            quote!(#ty { margin: #margin })
        }
        LossKind::Huber { delta } => {
            let delta = float(delta);
            quote!(#ty { delta: #delta })
        }
        LossKind::BinaryCrossentropy { from_logits }
        | LossKind::CategoricalCrossentropy { from_logits }
        | LossKind::SparseCategoricalCrossentropy { from_logits } => {
            quote!(#ty { from_logits: #from_logits })
        }
        _ => ty,
    }
}

fn loss_new(loss: &Loss) -> TokenStream {
    let value = loss_value(loss.kind);
    match loss.reduction {
        Reduction::Mean => quote!(::axonal::loss::Loss::new(#value)),
        Reduction::Sum => {
            quote!(::axonal::loss::Loss::with_reduction(#value, ::axonal::loss::Reduction::Sum))
        }
        Reduction::None => {
            quote!(::axonal::loss::Loss::with_reduction(#value, ::axonal::loss::Reduction::None))
        }
    }
}

/// The loss's name in the language.
pub fn loss_name(kind: LossKind) -> &'static str {
    match kind {
        LossKind::SoftmaxCe => "softmax_ce",
        LossKind::MulticlassHinge { .. } => "multiclass_hinge",
        LossKind::Mse => "mse",
        LossKind::SseHalf => "sse_half",
        LossKind::CrossEntropy => "cross_entropy",
        LossKind::BinaryCrossentropy { .. } => "binary_crossentropy",
        LossKind::CategoricalCrossentropy { .. } => "categorical_crossentropy",
        LossKind::SparseCategoricalCrossentropy { .. } => "sparse_categorical_crossentropy",
        LossKind::Poisson => "poisson",
        LossKind::KlDivergence => "kl_divergence",
        LossKind::MeanAbsoluteError => "mean_absolute_error",
        LossKind::MeanAbsolutePercentageError => "mean_absolute_percentage_error",
        LossKind::MeanSquaredLogarithmicError => "mean_squared_logarithmic_error",
        LossKind::CosineSimilarity => "cosine_similarity",
        LossKind::Huber { .. } => "huber",
        LossKind::LogCosh => "log_cosh",
        LossKind::Hinge => "hinge",
        LossKind::SquaredHinge => "squared_hinge",
        LossKind::CategoricalHinge => "categorical_hinge",
    }
}

/// The loss field's doc comment, saying what was fused into it.
fn loss_doc(loss: &Loss) -> String {
    let reduction = match loss.reduction {
        Reduction::Mean => "mean over the batch",
        Reduction::Sum => "sum over the batch",
        Reduction::None => "per sample, training on their sum",
    };
    match loss.fused {
        Some(a) => format!(
            " The loss: `{}` ({reduction}), fused with the `{}` before it: computed from logits, and `predict` applies the `{}`.",
            loss_name(loss.kind),
            activation_source(a),
            activation_source(a)
        ),
        None => format!(" The loss: `{}` ({reduction}).", loss_name(loss.kind)),
    }
}

/// The layer as a statement of the language: `dense 784->128 relu`.
pub fn describe(layer: &Layer) -> String {
    layer.describe()
}

/// The field's doc comment: the source's docs, or the statement it came from.
fn layer_doc(layer: &Layer) -> Vec<String> {
    if layer.docs.is_empty() {
        vec![format!(" `{}`: {}", describe(layer), layer.output.batch())]
    } else {
        layer.docs.clone()
    }
}

#[cfg(test)]
mod tests {
    fn emit(src: &str) -> String {
        crate::emit(src).unwrap_or_else(|d| panic!("{d:#?}"))
    }

    #[test]
    fn dense_with_activation_is_one_field() {
        let code = emit("N { dense 2->3 relu; dense 1; mse }");
        insta::assert_snapshot!(code.lines().filter(|l| l.contains("pub dense")).collect::<Vec<_>>().join("\n"), @r"
        pub dense0: ::axonal::layers::Dense<F, 2, 3, ::axonal::activation::Relu>,
        pub dense1: ::axonal::layers::Dense<F, 3, 1>,
        ");
    }

    #[test]
    fn fixed_weights_keep_their_sign() {
        let code = emit("G { dense 2->1 step weights=[0.5, -0.5] bias=-0.7 }");
        assert!(code.contains("Init::Values(&[0.5, -0.5])"), "{code}");
        assert!(code.contains("Init::Constant(-0.7)"), "{code}");
    }

    #[test]
    fn backward_runs_in_reverse_and_skips_nothing() {
        let code = emit("N { input 4; dense 3 tanh; sigmoid; dense 2; softmax_ce }");
        let calls: Vec<&str> = code
            .lines()
            .map(str::trim)
            .filter(|l| l.contains(".backward("))
            .collect();
        insta::assert_snapshot!(calls.join("\n"), @r"
        self.dense2.backward(self.sigmoid1.output(), grad, true);
        self.sigmoid1.backward(self.dense0.output(), self.dense2.grad_input(), true);
        self.dense0.backward(x, self.sigmoid1.grad_input(), input_grad);
        ");
    }

    #[test]
    fn emit_formats_one_network_at_a_time_as_the_whole_file_would() {
        let src =
            "pub(crate) A { input 3; dense 2 relu } B { dense 2->2; mse } pub C { input 1; relu }";
        let program = crate::check_source(src).unwrap();
        let whole = super::format(super::generate(&program));
        assert_eq!(super::emit(&program), whole);
        assert_eq!(whole.matches("struct").count(), 3);
    }

    #[test]
    fn names_become_identifiers_that_cannot_clash() {
        let code = emit(
            "pub F { input 2; type: dense 2; None: relu; Ok: mse } mlp { input 1; R: dense 1 }",
        );
        // The float parameter is not `F` in the network called `F`, the rng's not `R` in `R`.
        assert!(
            code.contains("pub struct F<T: ::axonal::Float = ::core::primitive::f32>"),
            "{code}"
        );
        assert!(
            code.contains("pub r#type: ::axonal::layers::Dense<T, 2, 2>"),
            "{code}"
        );
        assert!(
            code.contains("self.r#type.visit_params(\"type\", f);"),
            "{code}"
        );
        // No local is named after a label; `None` and `Ok` are fields, never patterns.
        assert!(
            code.contains("let x = self.None.predict(x.view());"),
            "{code}"
        );
        assert!(
            code.contains("::core::option::Option::None => self.Ok.grad_input(),"),
            "{code}"
        );
        // The case lints are allowed where the names break them (labels `None`, `R`; the
        // network `mlp`), and only there.
        assert_eq!(
            code.matches("#[allow(non_snake_case)]").count(),
            2,
            "{code}"
        );
        assert_eq!(
            code.matches("#[allow(non_camel_case_types)]").count(),
            1,
            "{code}"
        );
        assert!(
            code.contains("#[allow(non_camel_case_types)]\n#[allow(non_snake_case)]\nstruct mlp<F"),
            "{code}"
        );
        assert!(!emit("Mlp { input 1; fc1: dense 1 }").contains("#[allow(non_"));
    }

    #[test]
    fn case_conventions_follow_rustc() {
        for (name, camel, snake) in [
            ("Mnist", true, false),
            ("mlp", false, true),
            ("XOR", true, false),
            ("Net_2", false, false),
            ("Net_b", false, false),
            ("fc1", false, true),
            ("fc__1", false, false),
            ("_private", false, true),
            ("__", true, true),
            ("F", true, false),
            ("r2d2", false, true),
            ("R2D2", true, false),
        ] {
            assert_eq!(super::is_camel_case(name), camel, "{name}");
            assert_eq!(super::is_snake_case(name), snake, "{name}");
        }
    }

    #[test]
    fn summary_is_the_axc_table() {
        let src = "M { dense 784->128 relu; dense 10; softmax_ce }";
        let program = crate::check_source(src).unwrap();
        let table = crate::summary::table(&program.networks[0]);
        assert!(table.contains("Trainable params: 101,770"), "{table}");
        assert!(emit(src).contains(table.lines().nth(4).unwrap()));
    }
}
