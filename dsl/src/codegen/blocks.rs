//! The code of blocks: one generated struct per block, beside the network's.
//!
//! A block's struct has the inherent methods a runtime layer has (`new`, `forward`,
//! `output`, `backward`, `grad_input`, `predict`, `penalty`), so the network (or the block
//! around it) calls it as it calls a layer; only `visit_params` and `visit_buffers` differ:
//! they take the checkpoint keys of the block's layers, in order, as the network knows them
//! (`stage1.0.conv1`), since one struct serves every copy of a repeated block.
//!
//! - `residual`: the body's layers are fields of the block (PyTorch's `BasicBlock`:
//!   `stage1.0.conv1.weight`), the shortcut a sequence struct in the field `shortcut`.
//! - `add`, `concat`: one sequence struct per branch, in a field named after the branch.
//! - `repeat`: a tuple struct of the copies (`stage1.0`, `stage1.1`, …).
//!
//! Every join keeps its output in a `Sum`/`Concat` of the runtime (`_join`), the gradient of
//! the block's input, read by several parts, is summed by a `Fork` (`_fork`), and the
//! activation after the join is an `Activation` layer (`_act`).

use std::collections::HashSet;

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::{allow_if, int, is_camel_case, is_snake_case, layer_doc, user_ident};
use crate::ir::{Block, BlockKind, Node, Part};
use crate::layers::activation::{activation_new, activation_type};

/// Generated type names in use, so that two blocks (or a block and a network) never share one.
pub(super) struct Names(HashSet<String>);

impl Names {
    /// Names taken before any block is named: the networks'.
    pub fn new<'a>(taken: impl IntoIterator<Item = &'a str>) -> Names {
        Names(taken.into_iter().map(str::to_string).collect())
    }

    /// `base`, or `base2`, `base3`, … if taken.
    fn fresh(&mut self, base: String) -> String {
        let mut name = base.clone();
        let mut n = 2;
        while !self.0.insert(name.clone()) {
            name = format!("{base}{n}");
            n += 1;
        }
        name
    }
}

/// `stage_1` → `Stage1`: how a block's struct (and its PyTorch class) is named.
pub(crate) fn camel(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// What the code around a node needs to call it.
pub(super) struct Field<'a> {
    pub ident: Ident,
    pub node: &'a Node,
    /// The block's generated type, for blocks.
    pub ty: Option<Ident>,
}

/// The nodes of a scope that are fields, with the types of their blocks generated into `out`.
pub(super) fn fields<'a>(
    nodes: &'a [Node],
    path: &str,
    vis: &TokenStream,
    names: &mut Names,
    out: &mut Vec<TokenStream>,
) -> Vec<Field<'a>> {
    nodes
        .iter()
        .filter(|n| n.has_field())
        .map(|node| {
            let ty = match node {
                Node::Block(b) => Some(block_struct(
                    b,
                    &format!("{path}{}", camel(&b.field)),
                    vis,
                    names,
                    out,
                )),
                Node::Layer(_) => None,
            };
            Field {
                ident: user_ident(node.field()),
                node,
                ty,
            }
        })
        .collect()
}

/// A field's declaration: `pub conv1: Conv2d<…>,` or `pub stage1: NetStage1<F>,`.
pub(super) fn declaration(field: &Field<'_>, float: &Ident) -> TokenStream {
    let ident = &field.ident;
    match (field.node, &field.ty) {
        (Node::Layer(layer), _) => {
            let ty = layer.spec.field_type(float, layer.io());
            let doc = layer_doc(layer);
            quote! { #(#[doc = #doc])* pub #ident: #ty, }
        }
        (Node::Block(block), Some(ty)) => {
            let doc = block_doc(block);
            quote! { #(#[doc = #doc])* pub #ident: #ty<#float>, }
        }
        (Node::Block(_), None) => quote!(),
    }
}

/// A field's constructor: `conv1: Conv2d::new(…),` or `stage1: NetStage1::new(rng),`.
pub(super) fn constructor(field: &Field<'_>) -> TokenStream {
    let ident = &field.ident;
    match (field.node, &field.ty) {
        (Node::Layer(layer), _) => {
            let new = layer.spec.constructor(layer.io());
            quote! { #ident: #new, }
        }
        (_, Some(ty)) => quote! { #ident: #ty::new(rng), },
        _ => quote!(),
    }
}

fn block_doc(block: &Block) -> Vec<String> {
    if block.kind == BlockKind::Sequence {
        vec![format!(
            " `{}`: {} → {}",
            block.field,
            block.input.batch(),
            block.output.batch()
        )]
    } else if block.docs.is_empty() {
        vec![format!(
            " `{}` block: {} → {}",
            block.kind.keyword(),
            block.input.batch(),
            block.output.batch()
        )]
    } else {
        block.docs.clone()
    }
}

/// Whether a node draws from the random generator when built.
pub(super) fn draws(node: &Node) -> bool {
    match node {
        Node::Layer(l) => l.spec.draws(),
        Node::Block(b) => b.parts.iter().flat_map(|p| &p.nodes).any(draws),
    }
}

/// Whether a node adds an L2 penalty to the loss.
pub(super) fn has_penalty(node: &Node) -> bool {
    match node {
        Node::Layer(l) => l.spec.has_field() && l.spec.has_penalty(),
        Node::Block(b) => b.parts.iter().flat_map(|p| &p.nodes).any(has_penalty),
    }
}

/// The checkpoint prefixes of a node's layers that have parameters (`params`) or buffers,
/// in the order the node visits them, under `prefix` (`stage1.`).
pub(super) fn keys(node: &Node, prefix: &str, params: bool, out: &mut Vec<String>) {
    match node {
        Node::Layer(l) => {
            let count = if params { l.params() } else { l.buffers() };
            if l.spec.has_field() && count > 0 {
                out.push(format!("{prefix}{}", l.field));
            }
        }
        Node::Block(b) => block_keys(b, &format!("{prefix}{}.", b.field), params, out),
    }
}

/// The keys of a block's own layers under `prefix` (the block's path and a dot).
fn block_keys(block: &Block, prefix: &str, params: bool, out: &mut Vec<String>) {
    match block.kind {
        BlockKind::Repeat(n) => {
            for i in 0..n {
                element_keys(
                    &block.parts[0].nodes[0],
                    &format!("{prefix}{i}."),
                    params,
                    out,
                );
            }
        }
        _ => {
            for part in &block.parts {
                let prefix = if part.name.is_empty() {
                    prefix.to_string()
                } else {
                    format!("{prefix}{}.", part.name)
                };
                for node in &part.nodes {
                    keys(node, &prefix, params, out);
                }
            }
        }
    }
}

/// A repeated element's keys: its own layers directly under the copy's index.
fn element_keys(element: &Node, prefix: &str, params: bool, out: &mut Vec<String>) {
    match element {
        Node::Block(b) => block_keys(b, prefix, params, out),
        Node::Layer(_) => keys(element, prefix, params, out),
    }
}

/// How many keys a node consumes.
fn key_count(node: &Node, params: bool) -> usize {
    let mut out = Vec::new();
    keys(node, "", params, &mut out);
    out.len()
}

/// The visits of a scope's fields, taking their keys from the slice `keys` in order.
fn visits(fields: &[Field<'_>], params: bool, keys_start: usize) -> (Vec<TokenStream>, usize) {
    let mut at = keys_start;
    let mut out = Vec::new();
    for field in fields {
        let ident = &field.ident;
        let n = key_count(field.node, params);
        if n == 0 {
            continue;
        }
        let end = at + n;
        let (a, e) = (int(at), int(end));
        out.push(match (field.node, params) {
            (Node::Layer(_), true) => quote! { self.#ident.visit_params(keys[#a], f); },
            (Node::Layer(_), false) => quote! { self.#ident.visit_buffers(keys[#a], f); },
            (Node::Block(_), true) => quote! { self.#ident.visit_params(&keys[#a..#e], f); },
            (Node::Block(_), false) => quote! { self.#ident.visit_buffers(&keys[#a..#e], f); },
        });
        at = end;
    }
    (out, at)
}

/// What field `i` of a chain reads: `input` for the first, the previous one's output after.
fn input_of(fields: &[Field<'_>], i: usize, input: &TokenStream) -> TokenStream {
    match i.checked_sub(1) {
        None => input.clone(),
        Some(prev) => {
            let prev = &fields[prev].ident;
            quote!(self.#prev.output())
        }
    }
}

/// The forward chain of a scope's fields from `input`: each reads the previous one's output.
pub(super) fn chain_forward(fields: &[Field<'_>], input: &TokenStream) -> Vec<TokenStream> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let ident = &f.ident;
            let from = input_of(fields, i, input);
            quote! { self.#ident.forward(#from, mode); }
        })
        .collect()
}

/// The backward chain in reverse: the last field gets `grad`, the first `input_grad`.
pub(super) fn chain_backward(
    fields: &[Field<'_>],
    input: &TokenStream,
    grad: &TokenStream,
    input_grad: &TokenStream,
) -> Vec<TokenStream> {
    fields
        .iter()
        .enumerate()
        .rev()
        .map(|(i, f)| {
            let ident = &f.ident;
            let from = input_of(fields, i, input);
            let g = if i + 1 == fields.len() {
                grad.clone()
            } else {
                let next = &fields[i + 1].ident;
                quote!(self.#next.grad_input())
            };
            let need = if i == 0 {
                input_grad.clone()
            } else {
                quote!(true)
            };
            quote! { self.#ident.backward(#from, #g, #need); }
        })
        .collect()
}

/// The `predict` calls along a scope's fields from the view `input`, each reading the one
/// before as `y` (see [`bind`]).
fn chain_predict(fields: &[Field<'_>], input: &TokenStream) -> Vec<TokenStream> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let ident = &f.ident;
            let from = if i == 0 {
                input.clone()
            } else {
                quote!(y.view())
            };
            quote!(self.#ident.predict(#from))
        })
        .collect()
}

/// Steps that each read the one before as `y`: `let y = a; let y = b; c` (the last is the
/// value, so no `let y = …; y` for clippy to flag in a user's crate).
fn bind(steps: Vec<TokenStream>) -> TokenStream {
    let Some((last, init)) = steps.split_last() else {
        return quote!();
    };
    quote! { #(let y = #init;)* #last }
}

/// The penalty terms of a scope's fields: `+ self.fc.penalty()`.
pub(super) fn penalties(fields: &[Field<'_>]) -> Vec<TokenStream> {
    fields
        .iter()
        .filter(|f| has_penalty(f.node))
        .map(|f| {
            let ident = &f.ident;
            quote!(+ self.#ident.penalty())
        })
        .collect()
}

/// The visits of a network's fields, with every key written out.
pub(super) fn network_visits(fields: &[Field<'_>], params: bool) -> Vec<TokenStream> {
    fields
        .iter()
        .filter_map(|field| {
            let ident = &field.ident;
            let mut names = Vec::new();
            keys(field.node, "", params, &mut names);
            if names.is_empty() {
                return None;
            }
            Some(match (field.node, params) {
                (Node::Layer(_), true) => {
                    let key = &names[0];
                    quote! { self.#ident.visit_params(#key, f); }
                }
                (Node::Layer(_), false) => {
                    let key = &names[0];
                    quote! { self.#ident.visit_buffers(#key, f); }
                }
                (Node::Block(_), true) => quote! { self.#ident.visit_params(&[#(#names),*], f); },
                (Node::Block(_), false) => quote! { self.#ident.visit_buffers(&[#(#names),*], f); },
            })
        })
        .collect()
}

/// Generates a block's struct (and those of the blocks inside it) into `out`; returns its
/// type name.
fn block_struct(
    block: &Block,
    base: &str,
    vis: &TokenStream,
    names: &mut Names,
    out: &mut Vec<TokenStream>,
) -> Ident {
    let name = names.fresh(base.to_string());
    let ty = user_ident(&name);
    let code = match block.kind {
        BlockKind::Repeat(n) => repeat(block, n, &ty, &name, vis, names, out),
        _ => joined(block, &ty, &name, vis, names, out),
    };
    out.push(code);
    ty
}

/// The common impl of a block struct around its method bodies.
struct Methods {
    forward: TokenStream,
    output: TokenStream,
    backward: TokenStream,
    grad_input: TokenStream,
    predict: TokenStream,
    visit_params: Vec<TokenStream>,
    visit_buffers: Vec<TokenStream>,
    penalty: Vec<TokenStream>,
    draws: bool,
}

fn methods(ty: &Ident, inits: TokenStream, m: Methods) -> TokenStream {
    let Methods {
        forward,
        output,
        backward,
        grad_input,
        predict,
        visit_params,
        visit_buffers,
        penalty,
        draws,
    } = m;
    let unused_rng = if draws {
        quote!()
    } else {
        quote!(let _ = rng;)
    };
    let view = quote!(::axonal::ndarray::ArrayView2);
    let params = if visit_params.is_empty() {
        quote!(let _ = (keys, f);)
    } else {
        quote!(#(#visit_params)*)
    };
    let buffers = if visit_buffers.is_empty() {
        quote!(let _ = (keys, f);)
    } else {
        quote!(#(#visit_buffers)*)
    };
    quote! {
        #[allow(dead_code)]
        impl<F: ::axonal::Float> #ty<F> {
            /// The block with parameters drawn from the initializers of its source.
            pub fn new<R: ::axonal::rand::Rng + ?::core::marker::Sized>(rng: &mut R) -> Self {
                #unused_rng
                #inits
            }

            /// Forward pass of a batch, keeping what backward needs.
            pub fn forward(&mut self, x: #view<'_, F>, mode: ::axonal::Mode) {
                #forward
            }

            /// The output of the last forward.
            pub fn output(&self) -> #view<'_, F> {
                #output
            }

            /// Gradients from `grad` = d loss / d output, given `x`, the input of the last
            /// forward; the input's gradient only if `input_grad`.
            pub fn backward(
                &mut self,
                x: #view<'_, F>,
                grad: #view<'_, F>,
                input_grad: ::core::primitive::bool,
            ) {
                #backward
            }

            /// d loss / d input of the last backward.
            pub fn grad_input(&self) -> #view<'_, F> {
                #grad_input
            }

            /// Eval-mode forward of `x`, keeping nothing.
            pub fn predict(&self, x: #view<'_, F>) -> ::axonal::ndarray::Array2<F> {
                #predict
            }

            /// Visits the parameters; `keys` are the checkpoint prefixes of the block's
            /// layers with parameters, in order.
            pub fn visit_params(
                &mut self,
                keys: &[&'static ::core::primitive::str],
                f: &mut dyn ::core::ops::FnMut(::axonal::Param<'_, F>),
            ) {
                #params
            }

            /// Visits the non-trainable buffers; `keys` as for `visit_params`.
            pub fn visit_buffers(
                &mut self,
                keys: &[&'static ::core::primitive::str],
                f: &mut dyn ::core::ops::FnMut(::axonal::model::Buffer<'_, F>),
            ) {
                #buffers
            }

            /// The L2 penalty of the block's layers.
            pub fn penalty(&self) -> F {
                F::zero() #(#penalty)*
            }
        }
    }
}

/// The struct's attributes and declaration.
fn declare(
    ty: &Ident,
    name: &str,
    vis: &TokenStream,
    doc: &str,
    body: TokenStream,
    snake: bool,
) -> TokenStream {
    let allow_case = allow_if(is_camel_case(name), "non_camel_case_types");
    let allow_snake = allow_if(snake, "non_snake_case");
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #allow_case
        #allow_snake
        #vis struct #ty<F: ::axonal::Float = ::core::primitive::f32> #body
    }
}

/// `repeat n`: a tuple struct of the copies.
fn repeat(
    block: &Block,
    n: usize,
    ty: &Ident,
    name: &str,
    vis: &TokenStream,
    names: &mut Names,
    out: &mut Vec<TokenStream>,
) -> TokenStream {
    let element = &block.parts[0].nodes[0];
    let Node::Block(inner) = element else {
        return quote!();
    };
    let elem = block_struct(inner, &format!("{name}Block"), vis, names, out);
    let index = |i: usize| syn::Index::from(i);
    let copies = (0..n).map(|_| quote!(pub #elem<F>));
    let doc = format!(" `repeat {n}` block: {n} copies of [`{elem}`] in a row.");
    let decl = declare(ty, name, vis, &doc, quote!((#(#copies),*);), true);
    let inits = (0..n).map(|_| quote!(#elem::new(rng)));
    let inits = quote!(Self(#(#inits),*));
    let forward = (0..n).map(|i| {
        let me = index(i);
        if i == 0 {
            quote!(self.0.forward(x, mode);)
        } else {
            let prev = index(i - 1);
            quote!(self.#me.forward(self.#prev.output(), mode);)
        }
    });
    let last = index(n - 1);
    let backward = (0..n).rev().map(|i| {
        let me = index(i);
        let from = if i == 0 {
            quote!(x)
        } else {
            let prev = index(i - 1);
            quote!(self.#prev.output())
        };
        let g = if i + 1 == n {
            quote!(grad)
        } else {
            let next = index(i + 1);
            quote!(self.#next.grad_input())
        };
        let need = if i == 0 {
            quote!(input_grad)
        } else {
            quote!(true)
        };
        quote!(self.#me.backward(#from, #g, #need);)
    });
    let predict = (0..n)
        .map(|i| {
            let me = index(i);
            if i == 0 {
                quote!(self.0.predict(x))
            } else {
                quote!(self.#me.predict(y.view()))
            }
        })
        .collect();
    let per = |params: bool| key_count(element, params);
    let visit = |params: bool| -> Vec<TokenStream> {
        let k = per(params);
        if k == 0 {
            return Vec::new();
        }
        (0..n)
            .map(|i| {
                let me = index(i);
                let (a, e) = (int(i * k), int((i + 1) * k));
                if params {
                    quote!(self.#me.visit_params(&keys[#a..#e], f);)
                } else {
                    quote!(self.#me.visit_buffers(&keys[#a..#e], f);)
                }
            })
            .collect()
    };
    let penalty = if has_penalty(element) {
        (0..n)
            .map(|i| {
                let me = index(i);
                quote!(+ self.#me.penalty())
            })
            .collect()
    } else {
        Vec::new()
    };
    let m = Methods {
        forward: quote!(#(#forward)*),
        output: quote!(self.#last.output()),
        backward: quote!(#(#backward)*),
        grad_input: quote!(self.0.grad_input()),
        predict: bind(predict),
        visit_params: visit(true),
        visit_buffers: visit(false),
        penalty,
        draws: draws(element),
    };
    let imp = methods(ty, inits, m);
    quote!(#decl #imp)
}

/// `residual`, `add`, `concat` and plain sequences.
fn joined(
    block: &Block,
    ty: &Ident,
    name: &str,
    vis: &TokenStream,
    names: &mut Names,
    out: &mut Vec<TokenStream>,
) -> TokenStream {
    let f = quote!(F);
    let float = Ident::new("F", proc_macro2::Span::call_site());
    let (width_in, width_out) = (int(block.input.size()), int(block.output.size()));
    // The fields: a sequence's or residual body's nodes, then named parts as sub-structs.
    let (inline, named): (Vec<&Part>, Vec<&Part>) = match block.kind {
        BlockKind::Sequence | BlockKind::Residual => {
            block.parts.iter().partition(|p| p.name.is_empty())
        }
        _ => (Vec::new(), block.parts.iter().collect()),
    };
    let body: Vec<Field<'_>> = inline
        .iter()
        .flat_map(|p| fields(&p.nodes, name, vis, names, out))
        .collect();
    // Named parts become sequence structs, wrapped as nodes for the helpers above.
    let part_nodes: Vec<Node> = named
        .iter()
        .map(|p| {
            Node::Block(Block {
                field: p.name.clone(),
                docs: Vec::new(),
                kind: BlockKind::Sequence,
                parts: vec![Part {
                    name: String::new(),
                    nodes: p.nodes.clone(),
                }],
                activation: None,
                input: block.input.clone(),
                output: part_output(p).unwrap_or_else(|| block.input.clone()),
            })
        })
        .collect();
    let parts = fields(&part_nodes, name, vis, names, out);
    let sequence = block.kind == BlockKind::Sequence;
    let join_ty = match block.kind {
        BlockKind::Concat => quote!(::axonal::layers::Concat<#f, #width_out>),
        _ => quote!(::axonal::layers::Sum<#f, #width_out>),
    };
    let act = block.activation.map(|a| {
        let a_ty = activation_type(a, &float);
        (
            quote!(::axonal::layers::Activation<#f, #a_ty, #width_out>),
            activation_new(a),
        )
    });
    let all: Vec<&Field<'_>> = body.iter().chain(parts.iter()).collect();
    let mut decls: Vec<TokenStream> = all.iter().map(|fl| declaration(fl, &float)).collect();
    let mut inits: Vec<TokenStream> = all.iter().map(|fl| constructor(fl)).collect();
    if !sequence {
        decls.push(quote! {
            /// The join of the parts' outputs.
            _join: #join_ty,
            /// The gradient of the input, summed over the parts that read it.
            _fork: ::axonal::layers::Fork<#f, #width_in>,
        });
        inits.push(quote! { _join: ::core::default::Default::default(), _fork: ::core::default::Default::default(), });
    }
    if let Some((a_ty, a_new)) = &act {
        decls.push(quote! {
            /// The activation after the join.
            _act: #a_ty,
        });
        inits.push(quote! { _act: ::axonal::layers::Activation::new(#a_new), });
    }
    let snake = all.iter().all(|fl| is_snake_case(fl.node.field()));
    let doc = match block.kind {
        BlockKind::Sequence => format!(
            " A sequence of layers: {} → {}.",
            block.input.batch(),
            block.output.batch()
        ),
        k => format!(
            " `{}` block: {} → {}.",
            k.keyword(),
            block.input.batch(),
            block.output.batch()
        ),
    };
    let decl = declare(ty, name, vis, &doc, quote!({ #(#decls)* }), snake);
    let inits = quote!(Self { #(#inits)* });

    let x = quote!(x);
    let joined_out = if act.is_some() {
        quote!(self._act.output())
    } else {
        quote!(self._join.output())
    };
    let (forward, output, backward, grad_input, predict) = if sequence {
        let last = &body[body.len() - 1].ident;
        let first = &body[0].ident;
        let fwd = chain_forward(&body, &x);
        let bwd = chain_backward(&body, &x, &quote!(grad), &quote!(input_grad));
        (
            quote!(#(#fwd)*),
            quote!(self.#last.output()),
            quote!(#(#bwd)*),
            quote!(self.#first.grad_input()),
            bind(chain_predict(&body, &x)),
        )
    } else {
        // The outputs of the parts, in order; the residual body's and the identity shortcut.
        let mut fwd = Vec::new();
        let mut outs = Vec::new();
        let mut pred = Vec::new();
        let mut pred_outs = Vec::new();
        if !body.is_empty() {
            fwd.extend(chain_forward(&body, &x));
            let last = &body[body.len() - 1].ident;
            outs.push(quote!(self.#last.output()));
            let steps = chain_predict(&body, &x);
            let value = if steps.len() == 1 {
                steps[0].clone()
            } else {
                let chain = bind(steps);
                quote!({ #chain })
            };
            pred.push(quote!(let y = #value;));
            pred_outs.push(quote!(y.view()));
        }
        for (i, p) in parts.iter().enumerate() {
            let ident = &p.ident;
            fwd.push(quote!(self.#ident.forward(x, mode);));
            outs.push(quote!(self.#ident.output()));
            let var = Ident::new(&format!("p{i}"), proc_macro2::Span::call_site());
            pred.push(quote!(let #var = self.#ident.predict(x);));
            pred_outs.push(quote!(#var.view()));
        }
        if block.kind == BlockKind::Residual && parts.is_empty() {
            outs.push(quote!(x.view()));
            pred_outs.push(quote!(x.view()));
        }
        fwd.push(quote!(self._join.forward(&[#(#outs),*]);));
        let mut last = vec![quote!(self._join.predict(&[#(#pred_outs),*]))];
        if act.is_some() {
            fwd.push(quote!(self._act.forward(self._join.output(), mode);));
            last.push(quote!(self._act.predict(y.view())));
        }
        let last = bind(last);
        pred.push(quote!(#last));
        // Backward: through the activation, then every part from the join's gradient.
        let mut bwd = Vec::new();
        let g = if act.is_some() {
            bwd.push(quote!(self._act.backward(self._join.output(), grad, true);));
            quote!(self._act.grad_input())
        } else {
            quote!(grad)
        };
        let mut grads = Vec::new();
        if !body.is_empty() {
            bwd.extend(chain_backward(&body, &x, &g, &quote!(input_grad)));
            let first = &body[0].ident;
            grads.push(quote!(self.#first.grad_input()));
        }
        let mut start = 0;
        for (p, node) in parts.iter().zip(&part_nodes) {
            let ident = &p.ident;
            let width = node.output().size();
            let part_grad = if block.kind == BlockKind::Concat {
                let (s, w) = (int(start), int(width));
                quote!(::axonal::layers::Concat::<#f, #width_out>::part(#g, #s, #w))
            } else {
                g.clone()
            };
            start += width;
            bwd.push(quote!(self.#ident.backward(x, #part_grad, input_grad);));
            grads.push(quote!(self.#ident.grad_input()));
        }
        if block.kind == BlockKind::Residual && parts.is_empty() {
            grads.push(quote!(#g.view()));
        }
        bwd.push(quote! {
            if input_grad {
                self._fork.backward(&[#(#grads),*]);
            }
        });
        (
            quote!(#(#fwd)*),
            joined_out,
            quote!(#(#bwd)*),
            quote!(self._fork.grad_input()),
            quote!(#(#pred)*),
        )
    };
    let all_owned: Vec<Field<'_>> = body
        .iter()
        .chain(parts.iter())
        .map(|fl| Field {
            ident: fl.ident.clone(),
            node: fl.node,
            ty: fl.ty.clone(),
        })
        .collect();
    let m = Methods {
        forward,
        output,
        backward,
        grad_input,
        predict,
        visit_params: visits(&all_owned, true, 0).0,
        visit_buffers: visits(&all_owned, false, 0).0,
        penalty: penalties(&all_owned),
        draws: block.parts.iter().flat_map(|p| &p.nodes).any(draws),
    };
    let imp = methods(ty, inits, m);
    quote!(#decl #imp)
}

/// The output shape of a part: its last node's.
fn part_output(part: &Part) -> Option<crate::ir::Shape> {
    part.nodes.last().map(|n| n.output().clone())
}
