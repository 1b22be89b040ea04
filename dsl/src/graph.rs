//! Pictures of networks, for `axc graph`: Graphviz DOT text ([`dot`]) for people who
//! have Graphviz, and an SVG drawn by this module ([`svg`]) for everyone else.
//!
//! Both show the input at the top, one box per layer (its field and the statement it came
//! from, with its parameter count), arrows labelled with the shape that flows along them,
//! and the loss at the bottom. In DOT, blocks are opened: every part of a block is its own
//! path of boxes from the block's input to a join box (`+`, or `concat`), the identity
//! shortcut of a residual block an arrow that skips the body, and each copy of a `repeat`
//! is drawn, its boxes named by the copy's index (`stage1.0.conv1`). The SVG is a single
//! stack, one box per statement, a block as one box.
//!
//! ```
//! let program = axonal_dsl::check_source("Xor { input 2; hidden: dense 8 tanh; dense 1 sigmoid; mse }")
//!     .unwrap();
//! let dot = axonal_dsl::graph::dot(&program);
//! assert!(dot.contains(r#""Xor.hidden" -> "Xor.dense1" [label="8"]"#));
//! let svg = axonal_dsl::graph::svg(&program);
//! assert!(svg.starts_with("<svg") && svg.contains("hidden: dense 2-&gt;8 tanh"));
//! ```

use std::fmt::Write as _;

use crate::codegen::{activation_source, describe, loss_name};
use crate::ir::{Network, Program, Shape};
use crate::summary::thousands;

/// One box of the picture: its lines of text and its style.
struct Node {
    /// A unique id within the network (the field name, or `input` / `loss`).
    id: String,
    /// The first line: what the box is.
    title: String,
    /// The second line: its shape and parameter count.
    detail: String,
    kind: NodeKind,
}

#[derive(Clone, Copy, PartialEq)]
enum NodeKind {
    Input,
    Layer,
    /// Where a block's parts meet: `+` or `concat`.
    Join,
    Loss,
}

/// An arrow's label: the width of a vector (`64`), the shape of anything else (`[6, 14, 14]`).
fn arrow(shape: &Shape) -> String {
    if shape.rank() == 1 {
        shape.size().to_string()
    } else {
        shape.to_string()
    }
}

/// An arrow: from, to (node ids) and the shape it carries.
type Edge = (String, String, String);

/// The second line of a box: its output shape and parameter count.
fn detail(output: &Shape, params: usize, buffers: usize) -> String {
    let output = output.batch();
    match (params, buffers) {
        (0, _) => output,
        (n, 0) => format!("{output}, {} params", thousands(n)),
        (n, m) => format!(
            "{output}, {} params + {} running stats",
            thousands(n),
            thousands(m)
        ),
    }
}

/// The graph of a network with its blocks opened (for DOT): every box, and every arrow.
fn graph(net: &Network) -> (Vec<Node>, Vec<Edge>) {
    let mut nodes = vec![Node {
        id: "input".into(),
        title: "input".into(),
        detail: net.input.batch(),
        kind: NodeKind::Input,
    }];
    let mut edges = Vec::new();
    let last = chain(
        &net.nodes,
        "",
        ("input".to_string(), net.input.clone()),
        &mut nodes,
        &mut edges,
    );
    if let Some(loss) = &net.loss {
        let fused = loss
            .fused
            .map(|a| format!(" (fused with {})", activation_source(a)))
            .unwrap_or_default();
        edges.push((last.0, loss.field.clone(), arrow(&last.1)));
        nodes.push(Node {
            id: loss.field.clone(),
            title: format!("loss: {}", loss_name(loss.kind)),
            detail: format!("scalar{fused}"),
            kind: NodeKind::Loss,
        });
    }
    (nodes, edges)
}

/// Adds the boxes of `steps` (ids under `prefix`) after the box `from` (its id and output
/// shape); returns the last box and its output.
fn chain(
    steps: &[crate::ir::Node],
    prefix: &str,
    mut from: (String, Shape),
    nodes: &mut Vec<Node>,
    edges: &mut Vec<Edge>,
) -> (String, Shape) {
    use crate::ir::{BlockKind, Node as IrNode};
    for step in steps {
        match step {
            IrNode::Layer(l) => {
                let id = format!("{prefix}{}", l.field);
                nodes.push(Node {
                    id: id.clone(),
                    title: format!("{id}: {}", describe(l)),
                    detail: detail(&l.output, l.params(), l.buffers()),
                    kind: NodeKind::Layer,
                });
                edges.push((from.0, id.clone(), arrow(&from.1)));
                from = (id, l.output.clone());
            }
            IrNode::Block(b) => {
                let path = format!("{prefix}{}", b.field);
                from = match b.kind {
                    BlockKind::Repeat(n) => {
                        for i in 0..n {
                            let copy = format!("{path}.{i}.");
                            from = match &b.parts[0].nodes[0] {
                                IrNode::Block(e) if e.kind == BlockKind::Sequence => {
                                    chain(&e.parts[0].nodes, &copy, from, nodes, edges)
                                }
                                IrNode::Block(e) => joined(e, &copy, from, nodes, edges),
                                layer => {
                                    chain(std::slice::from_ref(layer), &copy, from, nodes, edges)
                                }
                            };
                        }
                        from
                    }
                    BlockKind::Sequence => {
                        chain(&b.parts[0].nodes, &format!("{path}."), from, nodes, edges)
                    }
                    _ => joined(b, &format!("{path}."), from, nodes, edges),
                };
            }
        }
    }
    from
}

/// A residual, `add` or `concat` block: each part from `from` to the join box `<path>.join`.
fn joined(
    block: &crate::ir::Block,
    path: &str,
    from: (String, Shape),
    nodes: &mut Vec<Node>,
    edges: &mut Vec<Edge>,
) -> (String, Shape) {
    use crate::ir::BlockKind;
    let ends: Vec<(String, Shape)> = block
        .parts
        .iter()
        .map(|part| {
            let prefix = if part.name.is_empty() {
                path.to_string()
            } else {
                format!("{path}{}.", part.name)
            };
            chain(&part.nodes, &prefix, from.clone(), nodes, edges)
        })
        .collect();
    let id = format!("{path}join");
    let mut title = match block.kind {
        BlockKind::Concat => "concat".to_string(),
        _ => "+".to_string(),
    };
    if let Some(a) = block.activation {
        title = format!("{title}, {}", activation_source(a));
    }
    nodes.push(Node {
        id: id.clone(),
        title,
        detail: block.output.batch(),
        kind: NodeKind::Join,
    });
    for (end, shape) in &ends {
        edges.push((end.clone(), id.clone(), arrow(shape)));
    }
    if block.kind == BlockKind::Residual && block.parts.len() == 1 {
        edges.push((from.0, id.clone(), arrow(&from.1)));
    }
    (id, block.output.clone())
}

/// The boxes of a network from input to loss, and the width on each arrow between
/// consecutive boxes (`widths[i]` flows from `nodes[i]` to `nodes[i + 1]`).
fn nodes(net: &Network) -> (Vec<Node>, Vec<String>) {
    let mut nodes = vec![Node {
        id: "input".into(),
        title: "input".into(),
        detail: net.input.batch(),
        kind: NodeKind::Input,
    }];
    let mut widths = Vec::new();
    for node in &net.nodes {
        widths.push(arrow(node.input()));
        let (title, params, buffers) = match node {
            crate::ir::Node::Layer(l) => (
                format!("{}: {}", l.field, describe(l)),
                l.params(),
                l.buffers(),
            ),
            crate::ir::Node::Block(b) => (
                format!("{}: {}", b.field, crate::summary::block_text(b)),
                b.params(),
                b.buffers(),
            ),
        };
        let output = node.output().batch();
        nodes.push(Node {
            id: node.field().to_string(),
            title,
            detail: match (params, buffers) {
                (0, _) => output,
                (n, 0) => format!("{output}, {} params", thousands(n)),
                (n, m) => format!(
                    "{output}, {} params + {} running stats",
                    thousands(n),
                    thousands(m)
                ),
            },
            kind: NodeKind::Layer,
        });
    }
    if let Some(loss) = &net.loss {
        widths.push(arrow(net.output()));
        let fused = loss
            .fused
            .map(|a| format!(" (fused with {})", activation_source(a)))
            .unwrap_or_default();
        nodes.push(Node {
            id: loss.field.clone(),
            title: format!("loss: {}", loss_name(loss.kind)),
            detail: format!("scalar{fused}"),
            kind: NodeKind::Loss,
        });
    }
    (nodes, widths)
}

/// Graphviz DOT text for every network of a program: one cluster per network, boxes
/// from top to bottom, arrows labelled with widths. Render it with
/// `axc graph model.nn | dot -Tpng -o model.png`.
pub fn dot(program: &Program) -> String {
    let mut out = String::from("digraph axonal {\n");
    out += "    rankdir=TB;\n";
    out += "    node [shape=box, style=\"rounded,filled\", fillcolor=\"#e8f0fe\", fontname=\"monospace\"];\n";
    out += "    edge [fontname=\"monospace\", fontsize=10];\n";
    for net in &program.networks {
        let (nodes, edges) = graph(net);
        let _ = writeln!(out, "    subgraph \"cluster_{}\" {{", dot_escape(&net.name));
        let _ = writeln!(out, "        label=\"{}\";", dot_escape(&net.name));
        for node in &nodes {
            let style = match node.kind {
                NodeKind::Input => ", shape=oval, fillcolor=\"#f1f3f4\"",
                NodeKind::Layer => "",
                NodeKind::Join => ", shape=circle, fillcolor=\"#fef7e0\"",
                NodeKind::Loss => ", shape=note, fillcolor=\"#fce8e6\"",
            };
            let _ = writeln!(
                out,
                "        \"{}.{}\" [label=\"{}\\n{}\"{style}];",
                dot_escape(&net.name),
                dot_escape(&node.id),
                dot_escape(&node.title),
                dot_escape(&node.detail)
            );
        }
        for (from, to, width) in &edges {
            let _ = writeln!(
                out,
                "        \"{0}.{1}\" -> \"{0}.{2}\" [label=\"{width}\"];",
                dot_escape(&net.name),
                dot_escape(from),
                dot_escape(to)
            );
        }
        out += "    }\n";
    }
    out += "}\n";
    out
}

/// A string safe inside a DOT double-quoted string.
fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

// Layout of the SVG, in pixels. Text is monospace, so its width is known from its length.
const CHAR_WIDTH: f64 = 7.8;
const FONT_SIZE: f64 = 13.0;
const BOX_HEIGHT: f64 = 44.0;
const GAP: f64 = 38.0;
const MARGIN: f64 = 20.0;
const TITLE_HEIGHT: f64 = 34.0;
const COLUMN_GAP: f64 = 40.0;

/// A standalone SVG picture of every network of a program, side by side: no Graphviz
/// needed. Each network is a vertical stack of labelled boxes joined by arrows that carry
/// the width flowing between them.
pub fn svg(program: &Program) -> String {
    let columns: Vec<(&Network, Vec<Node>, Vec<String>)> = program
        .networks
        .iter()
        .map(|net| {
            let (nodes, widths) = nodes(net);
            (net, nodes, widths)
        })
        .collect();
    let column_width = |net: &Network, nodes: &[Node]| {
        let longest = nodes
            .iter()
            .flat_map(|n| [n.title.chars().count(), n.detail.chars().count()])
            .chain([net.name.chars().count()])
            .max()
            .unwrap_or(0);
        (longest as f64 * CHAR_WIDTH + 28.0).max(180.0)
    };
    let widths: Vec<f64> = columns
        .iter()
        .map(|(net, nodes, _)| column_width(net, nodes))
        .collect();
    let tallest = columns.iter().map(|(_, n, _)| n.len()).max().unwrap_or(0) as f64;
    let width = MARGIN * 2.0
        + widths.iter().sum::<f64>()
        + COLUMN_GAP * (widths.len().saturating_sub(1)) as f64
        + 40.0; // room for the width labels right of the last column's arrows
    let height =
        MARGIN * 2.0 + TITLE_HEIGHT + tallest * BOX_HEIGHT + (tallest - 1.0).max(0.0) * GAP;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="monospace" font-size="{FONT_SIZE}">"#
    );
    out += "  <title>axonal network graph</title>\n";
    out += "  <defs>\n    <marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">\n      <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#5f6368\"/>\n    </marker>\n  </defs>\n";
    out += "  <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    let mut x = MARGIN;
    for ((net, nodes, arrows), column) in columns.iter().zip(&widths) {
        let center = x + column / 2.0;
        let _ = writeln!(
            out,
            "  <g class=\"network\" id=\"{}\">",
            xml_escape(&net.name)
        );
        let _ = writeln!(
            out,
            "    <text x=\"{center:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\" font-size=\"15\">{}</text>",
            MARGIN + 16.0,
            xml_escape(&net.name)
        );
        for (i, node) in nodes.iter().enumerate() {
            let top = MARGIN + TITLE_HEIGHT + i as f64 * (BOX_HEIGHT + GAP);
            let (fill, stroke, rx) = match node.kind {
                NodeKind::Input => ("#f1f3f4", "#80868b", 22.0),
                NodeKind::Layer | NodeKind::Join => ("#e8f0fe", "#1a73e8", 6.0),
                NodeKind::Loss => ("#fce8e6", "#d93025", 6.0),
            };
            let _ = writeln!(
                out,
                "    <g class=\"node\"><rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{column:.1}\" height=\"{BOX_HEIGHT}\" rx=\"{rx}\" fill=\"{fill}\" stroke=\"{stroke}\"/>"
            );
            let _ = writeln!(
                out,
                "      <text x=\"{center:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                top + 18.0,
                xml_escape(&node.title)
            );
            let _ = writeln!(
                out,
                "      <text x=\"{center:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#5f6368\" font-size=\"11\">{}</text></g>",
                top + 35.0,
                xml_escape(&node.detail)
            );
            if let Some(width) = arrows.get(i) {
                let (from, to) = (top + BOX_HEIGHT, top + BOX_HEIGHT + GAP);
                let _ = writeln!(
                    out,
                    "    <g class=\"edge\"><line x1=\"{center:.1}\" y1=\"{from:.1}\" x2=\"{center:.1}\" y2=\"{:.1}\" stroke=\"#5f6368\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>",
                    to - 1.0
                );
                let _ = writeln!(
                    out,
                    "      <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#5f6368\" font-size=\"11\">{width}</text></g>",
                    center + 8.0,
                    from + GAP / 2.0 + 4.0
                );
            }
        }
        out += "  </g>\n";
        x += column + COLUMN_GAP;
    }
    out += "</svg>\n";
    out
}

/// A string safe as XML text or inside a double-quoted attribute.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(src: &str) -> Program {
        crate::check_source(src).unwrap_or_else(|d| panic!("{d:#?}"))
    }

    #[test]
    fn dot_is_a_chain_with_widths() {
        let dot = dot(&program(
            "N { input 4; fc: dense 3 relu; dropout 0.5; dense 2; mse }",
        ));
        let edges: Vec<&str> = dot
            .lines()
            .filter(|l| l.contains("\" -> \""))
            .map(str::trim)
            .collect();
        assert_eq!(
            edges,
            [
                r#""N.input" -> "N.fc" [label="4"];"#,
                r#""N.fc" -> "N.dropout1" [label="3"];"#,
                r#""N.dropout1" -> "N.dense2" [label="3"];"#,
                r#""N.dense2" -> "N.loss" [label="2"];"#,
            ]
        );
        assert!(
            dot.contains(r#"label="fc: dense 4->3 relu\n[batch, 3], 15 params""#),
            "{dot}"
        );
    }

    #[test]
    fn dot_opens_blocks_into_branches_and_joins() {
        let dot = dot(&program(
            "N { input 4; r: residual relu { fc: dense 4 tanh } ; \
             t: concat a: { dense 2 } b: { dense 3 }; s: repeat 2 { dense 5 }; mse }",
        ));
        let edges: Vec<&str> = dot
            .lines()
            .filter(|l| l.contains("\" -> \""))
            .map(str::trim)
            .collect();
        for edge in [
            r#""N.input" -> "N.r.fc" [label="4"];"#,
            r#""N.r.fc" -> "N.r.join" [label="4"];"#,
            // The identity shortcut skips the body.
            r#""N.input" -> "N.r.join" [label="4"];"#,
            r#""N.r.join" -> "N.t.a.dense0" [label="4"];"#,
            r#""N.r.join" -> "N.t.b.dense0" [label="4"];"#,
            r#""N.t.a.dense0" -> "N.t.join" [label="2"];"#,
            r#""N.t.b.dense0" -> "N.t.join" [label="3"];"#,
            r#""N.t.join" -> "N.s.0.dense0" [label="5"];"#,
            r#""N.s.0.dense0" -> "N.s.1.dense0" [label="5"];"#,
            r#""N.s.1.dense0" -> "N.loss" [label="5"];"#,
        ] {
            assert!(edges.contains(&edge), "{edge} not in {edges:#?}");
        }
        assert_eq!(edges.len(), 10, "{edges:#?}");
        assert!(dot.contains(r#"label="+, relu\n[batch, 4]""#), "{dot}");
    }

    #[test]
    fn svg_escapes_text_and_has_one_box_per_node() {
        let svg = svg(&program(
            "A { dense 2->1 }\nB { input 3; dense 2; softmax; cross_entropy }",
        ));
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        let boxes = doc
            .descendants()
            .filter(|n| {
                n.has_tag_name("rect")
                    && n.parent()
                        .is_some_and(|p| p.attribute("class") == Some("node"))
            })
            .count();
        // A: input, dense. B: input, dense, loss (the softmax is fused into it).
        assert_eq!(boxes, 5);
        assert!(svg.contains("scalar (fused with softmax)"), "{svg}");
        assert!(svg.contains("dense0: dense 2-&gt;1"), "{svg}");
        assert!(!svg.contains("->"), "unescaped arrow in {svg}");
    }
}
