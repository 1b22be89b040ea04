//! A checked program as PyTorch code, for `axc emit --torch`: a Python file with one
//! `nn.Module` class per network whose `state_dict` has exactly the names and shapes of the
//! network's axonal checkpoint, so that a checkpoint loads into it with `load_state_dict`
//! (strict) and its state saves back as a checkpoint axonal loads. A network can so be
//! trained with PyTorch's tools (DDP, FSDP) and come back, or the other way round.
//!
//! The mapping is the one `scripts/load_in_pytorch.py` describes; `scripts/check_torch.py`
//! (run by `tests/tests/torch.rs`) checks that the modules predict what axonal predicts.
//!
//! - A layer is what its kind's [`LayerSpec::torch`](crate::layers::LayerSpec::torch) says: a
//!   module held under the layer's key (`fc1`, or `dense0` unlabelled; `nn.Linear`,
//!   `nn.Conv2d`, `nn.BatchNorm1d`, …) and what `forward` computes with it; activations,
//!   `flatten` and `global_avgpool` are functions in `forward`, holding nothing.
//! - A block is a module of a class of its own, under the block's key. A `residual`'s body
//!   layers are its attributes and its shortcut, if written, the attribute `shortcut` (a
//!   class of the shortcut's layers); `add` and `concat` have one attribute per branch, by
//!   the branch's name (`branch0`, … unnamed), each a class of its layers; `repeat n` is an
//!   `nn.Sequential` of n copies (`0`, `1`, …) of its body, a class of the body's layers or,
//!   when the body is one unlabelled block, that block's class. So the keys nest as
//!   [`codegen::blocks::keys`](crate::codegen) writes them.
//! - `forward(x)` takes `[batch, *INPUT_SHAPE]` and writes the layers out in order, one line
//!   each; it is axonal's `forward` (the output before the loss's link: logits).
//!   `predict(x)` applies the link ([`Loss::link`](crate::ir::Loss::link)), as axonal's
//!   `predict` does (in eval mode).
//!
//! A key that cannot be a Python attribute of an `nn.Module` (a Python keyword, a name the
//! module has already, such as `train` or `forward`, or one starting with `_`) is set and read
//! through `self._modules["…"]`, which is where `nn.Module` keeps its submodules and what its
//! `state_dict` reads. Class names avoid Python's keywords and the names the file uses
//! (`torch`, `nn`, `F`, …), and never repeat.

use std::collections::HashSet;

use crate::codegen::blocks::camel;
use crate::ir::{Activation, Block, BlockKind, Network, Node, Part, Program, Shape};
use crate::layers::activation;

/// The Python file for `program`: a docstring naming `source_name` and saying how to load and
/// save checkpoints, the imports, then one class per block and network.
pub fn emit(program: &Program, source_name: &str) -> String {
    let mut e = Emitter {
        taken: HashSet::new(),
        classes: Vec::new(),
    };
    let names: Vec<String> = program.networks.iter().map(|n| e.fresh(&n.name)).collect();
    for (net, name) in program.networks.iter().zip(&names) {
        e.network(net, name);
    }
    let example = program
        .networks
        .first()
        .zip(names.first())
        .map(|(net, class)| (class.as_str(), net.name.as_str()));
    let mut out = docstring("", &preamble(source_name, example));
    out += "\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n";
    for class in &e.classes {
        out += "\n\n";
        out += class;
    }
    out
}

/// The file's docstring: where it comes from, what the classes are, and how to load and save
/// checkpoints, shown with the first network (`class`, axonal's `name`).
fn preamble(source_name: &str, example: Option<(&str, &str)>) -> Vec<String> {
    let mut paragraphs = vec![
        format!("PyTorch modules of the axonal networks of {source_name}."),
        "Written by `axc emit --torch`. Do not edit: edit the .nn file and emit again.".to_string(),
        "Each network is an `nn.Module` whose `state_dict` has exactly the names and shapes of the \
         network's axonal checkpoint (`fc1.weight` [out, in], `bn1.running_mean`, …). \
         `forward(x)` takes a batch `[batch, *INPUT_SHAPE]` and gives what axonal's `forward` \
         gives: the output before the loss's link (the logits a PyTorch loss trains on). \
         `predict(x)` applies the link (softmax, sigmoid), as axonal's `predict` does in eval \
         mode."
            .to_string(),
    ];
    if let Some((class, name)) = example {
        let file = name.to_ascii_lowercase();
        paragraphs.extend([
            format!(
                "Load an axonal checkpoint (`Model::save`; an f64 one into `{class}().double()`):"
            ),
            format!(
                "    import safetensors.torch
    model = {class}()
    model.load_state_dict(safetensors.torch.load_file(\"{file}.safetensors\"))
    model.eval()  # batchnorm's running statistics, no dropout, as axonal's predict
    probabilities = model.predict(x)  # x: [batch, *{class}.INPUT_SHAPE]"
            ),
            "`load_state_dict` is strict: every name and shape must match. BatchNorm's \
             `num_batches_tracked`, which axonal does not keep, is not in the file: PyTorch keeps \
             the module's own (0 in a new module), as for a state dict from before the buffer \
             existed."
                .to_string(),
            "Save a checkpoint that axonal loads:".to_string(),
            format!(
                "    state = {{
        k: v for k, v in model.state_dict().items() if not k.endswith(\"num_batches_tracked\")
    }}
    safetensors.torch.save_file(state, \"{file}.safetensors\")"
            ),
            format!(
                "axonal's `load` takes a file holding exactly the network's tensors, each of its \
                 shape, of the network's dtype (F32 for `{name}<f32>`, F64 for `{name}<f64>`) and \
                 finite. It refuses any other file, listing every mismatch and leaving the network \
                 unchanged: a tensor more (`num_batches_tracked`, hence the filter), one missing, \
                 another shape or dtype. Under DDP, save `model.module.state_dict()` (without \
                 DDP's `module.` prefix); under FSDP, the full state dict gathered on one rank."
            ),
        ]);
    }
    let mut lines = Vec::new();
    for (i, paragraph) in paragraphs.iter().enumerate() {
        if i > 0 {
            lines.push(String::new());
        }
        if paragraph.starts_with("    ") {
            lines.extend(paragraph.lines().map(str::to_string));
        } else {
            lines.extend(wrap(paragraph, MAX_LINE - 8));
        }
    }
    lines
}

/// `text` in lines of at most `width` characters, broken at spaces (a longer word alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line += word;
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The classes written so far and the names they took.
struct Emitter {
    taken: HashSet<String>,
    classes: Vec<String>,
}

/// A class as it is written.
struct Class {
    name: String,
    doc: Vec<String>,
    consts: Vec<String>,
    init: Vec<String>,
    forward: Vec<String>,
    predict: Option<Vec<String>>,
}

impl Emitter {
    /// A class name from `base`, which no other class and nothing the file uses has.
    fn fresh(&mut self, base: &str) -> String {
        let base = if KEYWORDS.contains(&base) || GLOBALS.contains(&base) || is_dunder(base) {
            format!("{base}_")
        } else {
            base.to_string()
        };
        let mut name = base.clone();
        let mut n = 2;
        while !self.taken.insert(name.clone()) {
            name = format!("{base}{n}");
            n += 1;
        }
        name
    }

    fn network(&mut self, net: &Network, name: &str) {
        let mut init = Vec::new();
        let mut forward = Vec::new();
        let y = self.sequence(&net.nodes, name, "x", "x", &mut init, &mut forward);
        forward.push(format!("return {y}"));
        let link = net.loss.as_ref().and_then(|l| l.link());
        let mut doc: Vec<String> = source_docs(&net.docs);
        if !doc.is_empty() {
            doc.push(String::new());
        }
        doc.push(format!(
            "`forward` maps {} to {}{}.",
            net.input.batch(),
            net.output().batch(),
            match link {
                Some(_) => ", the logits",
                None => "",
            }
        ));
        let predict = match link {
            Some(a) => vec![
                format!(
                    "\"\"\"axonal's `predict`: `forward` then the loss's link, {}.\"\"\"",
                    activation::activation_source(a)
                ),
                format!("return {}", activation::torch(a, "self(x)")),
            ],
            None => vec![
                "\"\"\"axonal's `predict`: `forward` (the loss has no link).\"\"\"".to_string(),
                "return self(x)".to_string(),
            ],
        };
        let class = Class {
            name: name.to_string(),
            doc,
            consts: vec![
                format!("INPUT_SHAPE = {}", tuple(net.input.dims())),
                format!("OUTPUT_SHAPE = {}", tuple(net.output().dims())),
            ],
            init,
            forward,
            predict: Some(predict),
        };
        self.classes.push(class.render());
    }

    /// Writes `nodes` applied in order to the Python value `input`: their modules into `init`
    /// and a line per layer (`var = …`) into `forward`; returns the result's expression.
    /// Nested blocks' classes are named from `path`.
    fn sequence(
        &mut self,
        nodes: &[Node],
        path: &str,
        input: &str,
        var: &str,
        init: &mut Vec<String>,
        forward: &mut Vec<String>,
    ) -> String {
        let mut current = input.to_string();
        for node in nodes {
            let expr = match node {
                Node::Layer(layer) => {
                    let torch = layer.spec.torch(layer.io());
                    let arg = match torch.module {
                        Some(module) => {
                            for doc in source_docs(&layer.docs) {
                                init.push(format!("# {doc}").trim_end().to_string());
                            }
                            init.push(format!("{} = {module}", attr(&layer.field)));
                            format!("{}({current})", attr(&layer.field))
                        }
                        None => current.clone(),
                    };
                    torch.expr.replace("{x}", &arg)
                }
                Node::Block(block) => {
                    let base = format!("{path}{}", camel(&block.field));
                    let new = self.block(block, &base, None);
                    init.push(format!("{} = {new}", attr(&block.field)));
                    format!("{}({current})", attr(&block.field))
                }
            };
            if expr != current {
                forward.push(format!("{var} = {expr}"));
                current = var.to_string();
            }
        }
        current
    }

    /// The expression that builds `block` (a class written under a name from `base`, or an
    /// `nn.Sequential` of copies for `repeat`); `copy_of` names the `repeat` whose body it is.
    fn block(&mut self, block: &Block, base: &str, copy_of: Option<&str>) -> String {
        match block.kind {
            BlockKind::Repeat(n) => {
                let element = &block.parts[0].nodes[0];
                let base = format!("{base}Block");
                let new = match element {
                    Node::Block(inner) => self.block(inner, &base, Some(&block.field)),
                    Node::Layer(_) => {
                        let name = self.part_class(
                            &block.parts[0],
                            &base,
                            format!("A copy of `{}`'s body", block.field),
                            &block.input,
                        );
                        format!("{name}()")
                    }
                };
                format!("nn.Sequential(*({new} for _ in range({n})))")
            }
            _ => format!("{}()", self.block_class(block, base, copy_of)),
        }
    }

    /// A class of the parts of a `residual`, `add`, `concat` block, or of a sequence.
    fn block_class(&mut self, block: &Block, base: &str, copy_of: Option<&str>) -> String {
        let name = self.fresh(base);
        let mut doc = source_docs(&block.docs);
        if !doc.is_empty() {
            doc.push(String::new());
        }
        let keyword = match (block.kind, block.activation) {
            (BlockKind::Sequence, _) => String::new(),
            (kind, Some(a)) => {
                format!(" `{} {}`", kind.keyword(), activation::activation_source(a))
            }
            (kind, None) => format!(" `{}`", kind.keyword()),
        };
        let what = match (block.kind, copy_of) {
            (BlockKind::Sequence, Some(of)) => format!("A copy of `{of}`'s body"),
            (_, Some(of)) => format!(
                "A copy of `{of}`'s body, the{keyword} block `{}`",
                block.field
            ),
            (_, None) => format!("The{keyword} block `{}`", block.field),
        };
        doc.extend(shapes_doc(&what, &block.input, &block.output));
        let mut init = Vec::new();
        let mut forward = Vec::new();
        let act = |x: &str| activation::torch(block.activation.unwrap_or(Activation::Identity), x);
        match block.kind {
            BlockKind::Residual => {
                let body = &block.parts[0];
                let y = self.sequence(&body.nodes, &name, "x", "y", &mut init, &mut forward);
                let shortcut = match block.parts.get(1) {
                    Some(part) => {
                        let class = self.part_class(
                            part,
                            &format!("{name}Shortcut"),
                            format!("The shortcut of `{}`", block.field),
                            &block.input,
                        );
                        init.push(format!("{} = {class}()", attr(&part.name)));
                        format!("{}(x)", attr(&part.name))
                    }
                    None => "x".to_string(),
                };
                forward.push(format!("return {}", act(&format!("{y} + {shortcut}"))));
            }
            BlockKind::Sum | BlockKind::Concat => {
                let mut terms = Vec::new();
                for part in &block.parts {
                    let class = self.part_class(
                        part,
                        &format!("{name}{}", camel(&part.name)),
                        format!("The branch `{}` of `{}`", part.name, block.field),
                        &block.input,
                    );
                    init.push(format!("{} = {class}()", attr(&part.name)));
                    terms.push(format!("{}(x)", attr(&part.name)));
                }
                forward.extend(join(block.kind, &terms, block.activation));
            }
            BlockKind::Sequence | BlockKind::Repeat(_) => {
                let nodes: Vec<Node> = block.parts.iter().flat_map(|p| p.nodes.clone()).collect();
                let y = self.sequence(&nodes, &name, "x", "x", &mut init, &mut forward);
                forward.push(format!("return {}", act(&y)));
            }
        }
        let class = Class {
            name: name.clone(),
            doc,
            consts: Vec::new(),
            init,
            forward,
            predict: None,
        };
        self.classes.push(class.render());
        name
    }

    /// A class of one part's layers in order (a branch, a shortcut, a repeated body).
    fn part_class(&mut self, part: &Part, base: &str, what: String, input: &Shape) -> String {
        let name = self.fresh(base);
        let output = part.nodes.last().map_or(input, Node::output);
        let mut init = Vec::new();
        let mut forward = Vec::new();
        let y = self.sequence(&part.nodes, &name, "x", "x", &mut init, &mut forward);
        forward.push(format!("return {y}"));
        let class = Class {
            name: name.clone(),
            doc: shapes_doc(&what, input, output),
            consts: Vec::new(),
            init,
            forward,
            predict: None,
        };
        self.classes.push(class.render());
        name
    }
}

/// The lines that join the branches `terms` of an `add` (a sum) or a `concat` (along
/// dimension 1: channels, or features) and apply `activation`: one `return` if it fits in a
/// line, else the join spread over lines, then the `return`.
fn join(kind: BlockKind, terms: &[String], activation: Option<Activation>) -> Vec<String> {
    let act = |x: &str| activation::torch(activation.unwrap_or(Activation::Identity), x);
    let one = match kind {
        BlockKind::Sum => terms.join(" + "),
        _ => format!("torch.cat([{}], dim=1)", terms.join(", ")),
    };
    let line = format!("return {}", act(&one));
    if line.len() + 8 <= MAX_LINE {
        return vec![line];
    }
    let mut lines = Vec::new();
    match kind {
        BlockKind::Sum => {
            lines.push("y = (".to_string());
            for (i, t) in terms.iter().enumerate() {
                let plus = if i == 0 { "" } else { "+ " };
                lines.push(format!("    {plus}{t}"));
            }
            lines.push(")".to_string());
        }
        _ => {
            lines.push("y = torch.cat(".to_string());
            lines.push("    [".to_string());
            lines.extend(terms.iter().map(|t| format!("        {t},")));
            lines.push("    ],".to_string());
            lines.push("    dim=1,".to_string());
            lines.push(")".to_string());
        }
    }
    lines.push(format!("return {}", act("y")));
    lines
}

/// The width of the docstrings the file writes itself, indented in a class.
const DOC_WIDTH: usize = MAX_LINE - 8;

/// `what: [batch, …] → [batch, …].`, the shapes on a line of their own if too long.
fn shapes_doc(what: &str, input: &Shape, output: &Shape) -> Vec<String> {
    let shapes = format!("{} → {}.", input.batch(), output.batch());
    let line = format!("{what}: {shapes}");
    if line.chars().count() <= DOC_WIDTH {
        vec![line]
    } else {
        vec![format!("{what}:"), shapes]
    }
}

/// `line` at `indent`; an assignment of a call too long for a line gets its arguments on a
/// line of their own, as black writes it: `x = f(\n    args\n)`.
fn statement(indent: &str, line: &str) -> String {
    let one = format!("{indent}{line}\n");
    if one.chars().count() <= MAX_LINE + 1 {
        return one;
    }
    let split = line.find(" = ").and_then(|eq| {
        let open = eq + line[eq..].find('(')?;
        let args = line[open + 1..].strip_suffix(')')?;
        Some((&line[..=open], args))
    });
    match split {
        Some((head, args)) => format!("{indent}{head}\n{indent}    {args}\n{indent})\n"),
        None => one,
    }
}

/// The longest line the file tries to keep to (what `ruff format` and black accept with a
/// line length of 100).
const MAX_LINE: usize = 100;

impl Class {
    fn render(&self) -> String {
        let mut out = format!("class {}(nn.Module):\n", self.name);
        out += &docstring("    ", &self.doc);
        if !self.consts.is_empty() {
            out += "\n";
            for c in &self.consts {
                out += &format!("    {c}\n");
            }
        }
        out += "\n    def __init__(self):\n        super().__init__()\n";
        for line in &self.init {
            out += &statement("        ", line);
        }
        if self
            .init
            .iter()
            .any(|l| l.starts_with("self._modules[\"training\"] ="))
        {
            out += TRAIN;
        }
        out += "\n    def forward(self, x):\n";
        for line in &self.forward {
            out += &format!("        {line}\n");
        }
        if let Some(predict) = &self.predict {
            out += "\n    def predict(self, x):\n";
            for line in predict {
                out += &format!("        {line}\n");
            }
        }
        out
    }
}

/// `nn.Module.train` for a class with a submodule `training`, whose `nn.Module.train` would
/// set the flag `training` through `__setattr__`, which refuses a flag of a submodule's name.
const TRAIN: &str = "
    def train(self, mode=True):
        # A submodule is named `training`: the flag is set beside it, not through __setattr__.
        object.__setattr__(self, \"training\", mode)
        for module in self.children():
            module.train(mode)
        return self
";

/// A docstring of `lines` at `indent`, escaped.
fn docstring(indent: &str, lines: &[String]) -> String {
    let text = lines.join("\n");
    let text = text.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"");
    let text = text.trim_end();
    if !text.contains('\n') {
        // A quote just before the closing ones would end the string early.
        let text = match text.strip_suffix('"') {
            Some(head) => format!("{head}\\\""),
            None => text.to_string(),
        };
        return format!("{indent}\"\"\"{text}\"\"\"\n");
    }
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out += &format!("{indent}\"\"\"{line}\n");
        } else if line.is_empty() {
            out += "\n";
        } else {
            out += &format!("{indent}{line}\n");
        }
    }
    out += &format!("{indent}\"\"\"\n");
    out
}

/// Doc comment lines of the source, without the space after `///`; nothing but blanks is
/// nothing.
fn source_docs(docs: &[String]) -> Vec<String> {
    let lines: Vec<String> = docs
        .iter()
        .map(|d| d.strip_prefix(' ').unwrap_or(d).trim_end().to_string())
        .collect();
    if lines.iter().all(|l| l.is_empty()) {
        Vec::new()
    } else {
        lines
    }
}

/// A float as Python reads it back to the same `f64`: `0.1`, `1e-5`, `1.0`.
pub fn float(value: f64) -> String {
    format!("{value:?}")
}

/// A Python tuple of sizes: `(1, 28, 28)`, `(10,)`.
fn tuple(dims: &[usize]) -> String {
    match dims {
        [one] => format!("({one},)"),
        _ => {
            let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
            format!("({})", dims.join(", "))
        }
    }
}

/// How `self`'s submodule `key` is written: `self.fc1`, or `self._modules["train"]` for a key
/// that cannot be an attribute (a keyword, a name `nn.Module` or the generated classes have
/// already, or one starting with `_`).
fn attr(key: &str) -> String {
    let plain = !key.starts_with('_')
        && !KEYWORDS.contains(&key)
        && !MODULE_NAMES.contains(&key)
        && !CLASS_NAMES.contains(&key);
    if plain {
        format!("self.{key}")
    } else {
        format!("self._modules[\"{key}\"]")
    }
}

fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

/// Python's keywords (soft keywords such as `match` and `type` can be names).
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// The global names the generated file uses, which no class may take.
const GLOBALS: &[&str] = &["torch", "nn", "F", "super", "range", "float"];

/// The names the generated classes define besides their submodules.
const CLASS_NAMES: &[&str] = &["INPUT_SHAPE", "OUTPUT_SHAPE", "predict"];

/// The public attributes of an `nn.Module` (PyTorch 2.15's `dir(nn.Module())`), which a
/// submodule's key must not shadow.
const MODULE_NAMES: &[&str] = &[
    "T_destination",
    "add_module",
    "apply",
    "bfloat16",
    "buffers",
    "call_super_init",
    "children",
    "compile",
    "cpu",
    "cuda",
    "double",
    "dump_patches",
    "eval",
    "extra_repr",
    "float",
    "forward",
    "get_buffer",
    "get_extra_state",
    "get_parameter",
    "get_submodule",
    "half",
    "ipu",
    "load_state_dict",
    "modules",
    "mtia",
    "named_buffers",
    "named_children",
    "named_modules",
    "named_parameters",
    "parameters",
    "register_backward_hook",
    "register_buffer",
    "register_forward_hook",
    "register_forward_pre_hook",
    "register_full_backward_hook",
    "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook",
    "register_module",
    "register_parameter",
    "register_state_dict_post_hook",
    "register_state_dict_pre_hook",
    "requires_grad_",
    "set_extra_state",
    "set_submodule",
    "share_memory",
    "state_dict",
    "to",
    "to_empty",
    "train",
    "training",
    "type",
    "xpu",
    "zero_grad",
];

#[cfg(test)]
mod tests {
    fn emit(src: &str) -> String {
        let program = crate::check_source(src).unwrap_or_else(|d| panic!("{d:#?}"));
        super::emit(&program, "test.nn")
    }

    #[test]
    fn layers_are_modules_under_their_keys_and_activations_functions() {
        let py = emit("N { input 4; fc1: dense 3 relu; batchnorm; out: dense 2; softmax_ce }");
        assert!(py.contains("        self.fc1 = nn.Linear(4, 3)\n"), "{py}");
        assert!(
            py.contains("        self.batchnorm1 = nn.BatchNorm1d(3)\n"),
            "{py}"
        );
        assert!(py.contains("        x = F.relu(self.fc1(x))\n"), "{py}");
        assert!(
            py.contains("        return F.softmax(self(x), dim=1)\n"),
            "{py}"
        );
        assert!(py.contains("    INPUT_SHAPE = (4,)\n"), "{py}");
    }

    #[test]
    fn keys_that_cannot_be_attributes_go_through_modules() {
        let py = emit("if { input 4; train: dense 3; _x: dense 2; lambda: dense 2; ok: dense 1 }");
        assert!(py.contains("class if_(nn.Module):"), "{py}");
        assert!(
            py.contains("self._modules[\"train\"] = nn.Linear(4, 3)"),
            "{py}"
        );
        assert!(py.contains("x = self._modules[\"_x\"](x)"), "{py}");
        assert!(
            py.contains("self._modules[\"lambda\"] = nn.Linear(2, 2)"),
            "{py}"
        );
        assert!(py.contains("self.ok = nn.Linear(2, 1)"), "{py}");
    }

    #[test]
    fn docstrings_are_escaped() {
        let py = emit("/// A \"\"\" and a \\ here.\nN { input 4; dense 3 }");
        assert!(py.contains(r#"A \"\"\" and a \\ here."#), "{py}");
        let doc = super::docstring("", &["say \"hi\"".to_string()]);
        assert_eq!(doc, "\"\"\"say \"hi\\\"\"\"\"\n");
    }
}
