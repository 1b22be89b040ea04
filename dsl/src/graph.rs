//! Pictures of networks, for `axc graph`: Graphviz DOT text ([`dot`]) for people who
//! have Graphviz, and an SVG drawn by this module ([`svg`]) for everyone else.
//!
//! Both show the input at the top, one box per layer (its field and the statement it came
//! from, with its parameter count), arrows labelled with the shape that flows along them,
//! and the loss at the bottom. In DOT, blocks are opened: every part of a block is its own
//! path of boxes from the block's input to a join box (`+`, or `concat`), the identity
//! shortcut of a residual block an arrow that skips the body, and each copy of a `repeat`
//! is drawn, its boxes named by the copy's index (`stage1.0.conv1`). The SVG is laid out
//! by this module the same way: a chain is a column, a block's parts stand side by side
//! above their join box.
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
    /// The label of the arrows leaving it: the shape it outputs.
    out: String,
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

/// An arrow from one box to another (indices into the network's [`Node`]s), carrying the
/// shape `nodes[from].out`. In the SVG it leaves `from` downwards, runs down the column
/// centred at `lane` and enters `to` from above.
struct Edge {
    from: usize,
    to: usize,
    lane: f64,
}

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

/// The picture of a network with its blocks opened: its boxes, and how they are laid out.
fn graph(net: &Network) -> (Vec<Node>, Item) {
    let mut nodes = vec![Node {
        id: "input".into(),
        title: "input".into(),
        detail: net.input.batch(),
        out: arrow(&net.input),
        kind: NodeKind::Input,
    }];
    let mut items = vec![Item::Box(0)];
    chain(&net.nodes, "", &mut nodes, &mut items);
    if let Some(loss) = &net.loss {
        let fused = loss
            .fused
            .map(|a| format!(" (fused with {})", activation_source(a)))
            .unwrap_or_default();
        items.push(Item::Box(nodes.len()));
        nodes.push(Node {
            id: loss.field.clone(),
            title: format!("loss: {}", loss_name(loss.kind)),
            detail: format!("scalar{fused}"),
            out: String::new(),
            kind: NodeKind::Loss,
        });
    }
    (nodes, Item::Stack(items))
}

/// How boxes (indices into the network's [`Node`]s) are arranged: a box, boxes one below
/// the other joined by arrows, or parts side by side that all start from the arrow coming
/// in and meet in a join box below them.
enum Item {
    Box(usize),
    Stack(Vec<Item>),
    /// A residual, `add` or `concat` block. An empty part is an identity shortcut: an arrow
    /// from the block's input straight to the join.
    Split {
        parts: Vec<Item>,
        join: usize,
    },
}

/// Adds the boxes of `steps` (ids under `prefix`) to `nodes` and their arrangement to `items`.
fn chain(steps: &[crate::ir::Node], prefix: &str, nodes: &mut Vec<Node>, items: &mut Vec<Item>) {
    use crate::ir::{BlockKind, Node as IrNode};
    for step in steps {
        match step {
            IrNode::Layer(l) => {
                let id = format!("{prefix}{}", l.field);
                items.push(Item::Box(nodes.len()));
                nodes.push(Node {
                    title: format!("{id}: {}", describe(l)),
                    id,
                    detail: detail(&l.output, l.params(), l.buffers()),
                    out: arrow(&l.output),
                    kind: NodeKind::Layer,
                });
            }
            IrNode::Block(b) => {
                let path = format!("{prefix}{}", b.field);
                match b.kind {
                    BlockKind::Repeat(n) => {
                        for i in 0..n {
                            let copy = format!("{path}.{i}.");
                            match &b.parts[0].nodes[0] {
                                IrNode::Block(e) if e.kind == BlockKind::Sequence => {
                                    chain(&e.parts[0].nodes, &copy, nodes, items)
                                }
                                IrNode::Block(e) => items.push(joined(e, &copy, nodes)),
                                layer => chain(std::slice::from_ref(layer), &copy, nodes, items),
                            }
                        }
                    }
                    BlockKind::Sequence => {
                        chain(&b.parts[0].nodes, &format!("{path}."), nodes, items)
                    }
                    _ => items.push(joined(b, &format!("{path}."), nodes)),
                }
            }
        }
    }
}

/// A residual, `add` or `concat` block: its parts side by side above the join box
/// `<path>.join` (a residual with an identity shortcut has an empty part for it).
fn joined(block: &crate::ir::Block, path: &str, nodes: &mut Vec<Node>) -> Item {
    use crate::ir::BlockKind;
    let mut parts: Vec<Item> = block
        .parts
        .iter()
        .map(|part| {
            let prefix = if part.name.is_empty() {
                path.to_string()
            } else {
                format!("{path}{}.", part.name)
            };
            let mut items = Vec::new();
            chain(&part.nodes, &prefix, nodes, &mut items);
            Item::Stack(items)
        })
        .collect();
    if block.kind == BlockKind::Residual && block.parts.len() == 1 {
        parts.push(Item::Stack(Vec::new()));
    }
    let mut title = match block.kind {
        BlockKind::Concat => "concat".to_string(),
        _ => "+".to_string(),
    };
    if let Some(a) = block.activation {
        title = format!("{title}, {}", activation_source(a));
    }
    nodes.push(Node {
        id: format!("{path}join"),
        title,
        detail: block.output.batch(),
        out: arrow(&block.output),
        kind: NodeKind::Join,
    });
    Item::Split {
        parts,
        join: nodes.len() - 1,
    }
}

/// Where each box is (the centre of its top side) and how wide, and every arrow.
struct Layout {
    at: Vec<(f64, f64, f64)>,
    edges: Vec<Edge>,
    width: f64,
    height: f64,
}

/// Lays out a network's boxes from the top-left corner `(x, y)`.
fn layout(nodes: &[Node], item: &Item, x: f64, y: f64) -> Layout {
    let (width, height) = size(nodes, item, 0.0);
    let mut layout = Layout {
        at: vec![(0.0, 0.0, 0.0); nodes.len()],
        edges: Vec::new(),
        width,
        height,
    };
    place(nodes, item, x + width / 2.0, y, 0.0, None, &mut layout);
    layout
}

/// The natural width of a box: room for its longer line of text.
fn box_width(node: &Node) -> f64 {
    let longest = node.title.chars().count().max(node.detail.chars().count());
    (longest as f64 * CHAR_WIDTH + 28.0).max(120.0)
}

/// The width of the boxes of a column: one width for every box it stacks (and the join
/// boxes of its blocks), so that a chain reads as a straight column.
fn column_width(nodes: &[Node], items: &[Item]) -> f64 {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Box(i) | Item::Split { join: i, .. } => Some(box_width(&nodes[*i])),
            Item::Stack(_) => None,
        })
        .fold(0.0, f64::max)
}

/// The width and height `item` takes when its boxes are `boxes` wide.
fn size(nodes: &[Node], item: &Item, boxes: f64) -> (f64, f64) {
    match item {
        Item::Box(_) => (boxes, BOX_HEIGHT),
        Item::Stack(items) if items.is_empty() => (LANE, 0.0),
        Item::Stack(items) => {
            let boxes = column_width(nodes, items);
            items
                .iter()
                .map(|i| size(nodes, i, boxes))
                .fold((0.0, -GAP), |(w, h), (iw, ih)| (w.max(iw), h + GAP + ih))
        }
        Item::Split { parts, .. } => {
            let (w, h) = parts_size(nodes, parts);
            let above = if h > 0.0 { h + GAP } else { 0.0 };
            (w.max(boxes), above + BOX_HEIGHT)
        }
    }
}

/// The width of a block's parts side by side, and the height of the tallest.
fn parts_size(nodes: &[Node], parts: &[Item]) -> (f64, f64) {
    let sizes = parts.iter().map(|p| size(nodes, p, 0.0));
    let (w, h) = sizes.fold((-PART_GAP, 0.0f64), |(w, h), (pw, ph)| {
        (w + PART_GAP + pw, h.max(ph))
    });
    (w.max(0.0), h)
}

/// Places `item` centred at `x` from the height `top`, its boxes `boxes` wide, with an
/// arrow from the box `from` into it; returns the box its output leaves from.
fn place(
    nodes: &[Node],
    item: &Item,
    x: f64,
    top: f64,
    boxes: f64,
    from: Option<usize>,
    layout: &mut Layout,
) -> Option<usize> {
    match item {
        Item::Box(i) => {
            layout.at[*i] = (x, top, boxes);
            if let Some(from) = from {
                layout.edges.push(Edge {
                    from,
                    to: *i,
                    lane: x,
                });
            }
            Some(*i)
        }
        Item::Stack(items) => {
            let boxes = column_width(nodes, items);
            let (mut from, mut top) = (from, top);
            for item in items {
                from = place(nodes, item, x, top, boxes, from, layout);
                top += size(nodes, item, boxes).1 + GAP;
            }
            from
        }
        Item::Split { parts, join } => {
            let (width, height) = parts_size(nodes, parts);
            let join_top = if height > 0.0 {
                top + height + GAP
            } else {
                top
            };
            let mut left = x - width / 2.0;
            for part in parts {
                let part_width = size(nodes, part, 0.0).0;
                let lane = left + part_width / 2.0;
                let end = place(nodes, part, lane, top, 0.0, from, layout);
                if let Some(end) = end {
                    layout.edges.push(Edge {
                        from: end,
                        to: *join,
                        lane,
                    });
                }
                left += part_width + PART_GAP;
            }
            layout.at[*join] = (x, join_top, boxes.max(box_width(&nodes[*join])));
            Some(*join)
        }
    }
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
        let (nodes, item) = graph(net);
        let edges = layout(&nodes, &item, 0.0, 0.0).edges;
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
        for edge in &edges {
            let (from, to) = (&nodes[edge.from], &nodes[edge.to]);
            let _ = writeln!(
                out,
                "        \"{0}.{1}\" -> \"{0}.{2}\" [label=\"{3}\"];",
                dot_escape(&net.name),
                dot_escape(&from.id),
                dot_escape(&to.id),
                from.out
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
/// Room right of a network's column for the labels of its arrows.
const LABEL_ROOM: f64 = 90.0;
/// The space between two parts of a block, side by side.
const PART_GAP: f64 = 24.0;
/// The width of an identity shortcut's lane.
const LANE: f64 = 40.0;

/// A standalone SVG picture of every network of a program, side by side: no Graphviz
/// needed. Each network is drawn from the input at the top to the loss at the bottom, with
/// blocks opened as in [`dot`]: a block's parts side by side, meeting in a join box, an
/// identity shortcut an arrow of its own, every arrow labelled with the shape it carries.
pub fn svg(program: &Program) -> String {
    let mut x = MARGIN;
    let columns: Vec<(&Network, Vec<Node>, Layout)> = program
        .networks
        .iter()
        .map(|net| {
            let (nodes, item) = graph(net);
            let name = net.name.chars().count() as f64 * 9.0;
            let mut layout = layout(&nodes, &item, x, MARGIN + TITLE_HEIGHT);
            if layout.width < name {
                for at in &mut layout.at {
                    at.0 += (name - layout.width) / 2.0;
                }
                for edge in &mut layout.edges {
                    edge.lane += (name - layout.width) / 2.0;
                }
                layout.width = name;
            }
            // Room right of the column for the labels of its arrows.
            x += layout.width + COLUMN_GAP + LABEL_ROOM;
            (net, nodes, layout)
        })
        .collect();
    let width = x - COLUMN_GAP + MARGIN;
    let tallest = columns.iter().map(|c| c.2.height).fold(0.0, f64::max);
    let height = MARGIN * 2.0 + TITLE_HEIGHT + tallest;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="monospace" font-size="{FONT_SIZE}">"#
    );
    out += "  <title>axonal network graph</title>\n";
    out += "  <defs>\n    <marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">\n      <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#5f6368\"/>\n    </marker>\n  </defs>\n";
    out += "  <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    for (net, nodes, layout) in &columns {
        let _ = writeln!(
            out,
            "  <g class=\"network\" id=\"{}\">",
            xml_escape(&net.name)
        );
        let left = layout
            .at
            .iter()
            .map(|a| a.0 - a.2 / 2.0)
            .fold(f64::MAX, f64::min);
        let _ = writeln!(
            out,
            "    <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\" font-size=\"15\">{}</text>",
            left + layout.width / 2.0,
            MARGIN + 16.0,
            xml_escape(&net.name)
        );
        for (node, &(center, top, width)) in nodes.iter().zip(&layout.at) {
            let (fill, stroke, rx) = match node.kind {
                NodeKind::Input => ("#f1f3f4", "#80868b", 22.0),
                NodeKind::Layer => ("#e8f0fe", "#1a73e8", 6.0),
                NodeKind::Join => ("#fef7e0", "#f9ab00", 22.0),
                NodeKind::Loss => ("#fce8e6", "#d93025", 6.0),
            };
            let _ = writeln!(
                out,
                "    <g class=\"node\"><rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{width:.1}\" height=\"{BOX_HEIGHT}\" rx=\"{rx}\" fill=\"{fill}\" stroke=\"{stroke}\"/>",
                center - width / 2.0
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
        }
        for edge in &layout.edges {
            let (x1, top1, _) = layout.at[edge.from];
            let (x2, y2, _) = layout.at[edge.to];
            let (y1, lane, turn) = (top1 + BOX_HEIGHT, edge.lane, GAP / 2.0);
            // Down from the source, across to the lane, down the lane, across to the
            // target, down into it: a straight line when all three are one column.
            let points = [
                (x1, y1),
                (x1, y1 + turn),
                (lane, y1 + turn),
                (lane, y2 - turn),
                (x2, y2 - turn),
                (x2, y2 - 1.0),
            ];
            let mut path = String::new();
            for (i, (x, y)) in points.iter().enumerate() {
                let _ = write!(path, "{}{x:.1} {y:.1}", if i == 0 { "M " } else { " L " });
            }
            // The label beside a stretch of line that is the arrow's own: the last drop
            // into the target when the lane is the target's column (a chain, or a part's
            // first box), else the first drop out of the source when the lane is the
            // source's column (a part's last box into the join), else the lane (a shortcut).
            let (lx, ly) = if (lane - x2).abs() < 0.5 {
                (x2 + 6.0, y2 - turn / 2.0 + 4.0)
            } else if (lane - x1).abs() < 0.5 {
                (x1 + 6.0, y1 + turn / 2.0 + 4.0)
            } else {
                (lane + 6.0, (y1 + y2) / 2.0 + 4.0)
            };
            let _ = writeln!(
                out,
                "    <g class=\"edge\"><path d=\"{path}\" fill=\"none\" stroke=\"#5f6368\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>"
            );
            let _ = writeln!(
                out,
                "      <text x=\"{lx:.1}\" y=\"{ly:.1}\" fill=\"#5f6368\" font-size=\"11\">{}</text></g>",
                xml_escape(&nodes[edge.from].out)
            );
        }
        out += "  </g>\n";
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

    /// A drawn box: its title, left, top and width.
    type Drawn = (String, f64, f64, f64);

    /// The SVG's boxes and its arrows' paths, in document order.
    fn drawn(svg: &str) -> (Vec<Drawn>, Vec<String>) {
        let doc = roxmltree::Document::parse(svg).expect("well-formed XML");
        let class = |n: &roxmltree::Node, c: &str| n.attribute("class") == Some(c);
        let number = |n: &roxmltree::Node, a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
        let boxes = doc
            .descendants()
            .filter(|n| class(n, "node"))
            .map(|g| {
                let rect = g.children().find(|n| n.has_tag_name("rect")).unwrap();
                let title = g.children().find(|n| n.has_tag_name("text")).unwrap();
                (
                    title.text().unwrap().to_string(),
                    number(&rect, "x"),
                    number(&rect, "y"),
                    number(&rect, "width"),
                )
            })
            .collect();
        let paths = doc
            .descendants()
            .filter(|n| class(n, "edge"))
            .map(|g| {
                let path = g.children().find(|n| n.has_tag_name("path")).unwrap();
                path.attribute("d").unwrap().to_string()
            })
            .collect();
        (boxes, paths)
    }

    #[test]
    fn svg_opens_blocks_like_dot() {
        let program = program(
            "N { input 4; r: residual relu { fc: dense 4 tanh } ; \
             t: concat a: { dense 2 } b: { dense 3; dense 3 }; s: repeat 2 { dense 5 }; mse }",
        );
        let (boxes, paths) = drawn(&svg(&program));
        let dot = dot(&program);
        // The same boxes and arrows as the DOT picture.
        let dot_nodes = dot
            .lines()
            .filter(|l| l.contains("[label=") && !l.contains(" -> "));
        assert_eq!(boxes.len(), dot_nodes.count(), "{boxes:#?}");
        assert_eq!(paths.len(), dot.matches(" -> ").count(), "{paths:#?}");
        let find = |title: &str| {
            boxes
                .iter()
                .find(|b| b.0.starts_with(title))
                .unwrap_or_else(|| panic!("no box {title} in {boxes:#?}"))
        };
        // Parts side by side: both branches of the concat start at one height, a left of b,
        // and the join lies below b's longer path.
        let (a, b, b1, join) = (
            find("t.a.dense0"),
            find("t.b.dense0"),
            find("t.b.dense1"),
            find("concat"),
        );
        assert_eq!(a.2, b.2);
        assert!(a.1 + 100.0 < b.1, "{a:?} {b:?}");
        assert!(b1.2 > b.2 && join.2 > b1.2, "{b1:?} {join:?}");
        // The repeat's copies one below the other, in one column.
        let (s0, s1) = (find("s.0.dense0"), find("s.1.dense0"));
        assert!(s0.1 == s1.1 && s1.2 > s0.2);
        // Two arrows enter the residual's join: the body's, and the identity shortcut's,
        // which runs right of the body from the input.
        let (fc, plus) = (find("r.fc"), find("+, relu"));
        let points = |d: &str| -> Vec<(f64, f64)> {
            let numbers: Vec<f64> = d
                .split(|c: char| c == 'M' || c == 'L' || c.is_whitespace())
                .filter_map(|n| n.parse().ok())
                .collect();
            numbers.chunks(2).map(|p| (p[0], p[1])).collect()
        };
        let into_join: Vec<Vec<(f64, f64)>> = paths
            .iter()
            .map(|d| points(d))
            .filter(|p| p.last().unwrap().1 == plus.2 - 1.0)
            .collect();
        assert_eq!(into_join.len(), 2, "{paths:#?}");
        let shortcut: Vec<_> = into_join
            .iter()
            .filter(|p| p[0].1 < fc.2 && p.iter().any(|q| q.0 > fc.1 + fc.3))
            .collect();
        assert_eq!(shortcut.len(), 1, "{paths:#?}");
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
