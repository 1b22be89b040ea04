//! The Keras-style table of a network that `axc summary` prints: one row per layer with
//! its field, the statement it came from, its output shape and its parameter count, then
//! the totals of trainable and non-trainable parameters.
//!
//! ```
//! let program = axonal_dsl::check_source(
//!     "Mnist { input 784; fc1: dense 128 relu; batchnorm; fc2: dense 10; softmax_ce }",
//! )
//! .unwrap();
//! let table = axonal_dsl::summary::table(&program.networks[0]);
//! let fc1 = table.lines().find(|l| l.starts_with("fc1")).unwrap();
//! assert!(fc1.contains("dense 784->128 relu") && fc1.ends_with("100,480"));
//! assert!(table.contains("Trainable params: 102,026"));
//! assert!(table.contains("Non-trainable params: 256"));
//! ```

use crate::codegen::{activation_source, describe, loss_name};
use crate::ir::{Block, BlockKind, Network, Node};

/// The rows of a scope's nodes; a block's row is followed by its parts', indented.
fn node_rows(nodes: &[Node], indent: &str, rows: &mut Vec<[String; 4]>) {
    for node in nodes {
        match node {
            Node::Layer(l) => rows.push([
                format!("{indent}{}", l.field),
                describe(l),
                l.output.batch(),
                thousands(l.params().saturating_add(l.buffers())),
            ]),
            Node::Block(b) => {
                rows.push([
                    format!("{indent}{}", b.field),
                    block_text(b),
                    b.output.batch(),
                    thousands(b.params().saturating_add(b.buffers())),
                ]);
                block_rows(b, &format!("{indent}  "), rows);
            }
        }
    }
}

/// The rows inside a block: a repeated element once, each named part under its name.
fn block_rows(block: &Block, indent: &str, rows: &mut Vec<[String; 4]>) {
    for part in &block.parts {
        match (&block.kind, part.nodes.as_slice()) {
            (BlockKind::Repeat(n), [Node::Block(element)]) => {
                rows.push([
                    format!("{indent}0..{}", n - 1),
                    format!("each: {}", block_text(element)),
                    element.output.batch(),
                    thousands(element.params().saturating_add(element.buffers())),
                ]);
                block_rows(element, &format!("{indent}  "), rows);
            }
            _ if part.name.is_empty() => node_rows(&part.nodes, indent, rows),
            _ => {
                let (params, buffers) = part.nodes.iter().fold((0usize, 0usize), |(p, b), n| {
                    (p.saturating_add(n.params()), b.saturating_add(n.buffers()))
                });
                let what = if block.kind == BlockKind::Residual {
                    "shortcut"
                } else {
                    "branch"
                };
                rows.push([
                    format!("{indent}{}", part.name),
                    what.to_string(),
                    part.nodes
                        .last()
                        .map_or(String::new(), |n| n.output().batch()),
                    thousands(params.saturating_add(buffers)),
                ]);
                node_rows(&part.nodes, &format!("{indent}  "), rows);
            }
        }
    }
}

/// A block as its statement's head: `residual relu`, `repeat 3`, `concat`.
pub(crate) fn block_text(block: &Block) -> String {
    let mut text = match block.kind {
        BlockKind::Repeat(n) => format!("repeat {n}"),
        BlockKind::Sequence => "sequence".to_string(),
        k => k.keyword().to_string(),
    };
    if let Some(a) = block.activation {
        text += " ";
        text += &activation_source(a);
    }
    text
}

/// The table of one network, ending in a newline.
///
/// Non-trainable parameters are state that training updates without a gradient: the
/// running mean and variance of each `batchnorm`. As in Keras, a row counts both kinds
/// (a `batchnorm` of width n shows 4n: scale, shift, mean, variance), so the column adds up
/// to the total. The numbers use `,` between thousands,
/// as Keras prints them, so a reader can tell 100,480 from 1,004,800 at a glance.
pub fn table(net: &Network) -> String {
    let header = ["Layer", "Kind", "Output shape", "Params"];
    let mut rows: Vec<[String; 4]> = vec![[
        "(input)".to_string(),
        format!("input {}", net.input.source()),
        net.input.batch(),
        "0".to_string(),
    ]];
    node_rows(&net.nodes, "", &mut rows);
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        let text = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
        text.trim_end().to_string() + "\n"
    };
    let total_width = widths.iter().sum::<usize>() + 6;
    let mut out = format!("Network: {}\n", net.name);
    out += &"=".repeat(total_width);
    out += "\n";
    out += &line(header);
    out += &"-".repeat(total_width);
    out += "\n";
    for row in &rows {
        out += &line([&row[0], &row[1], &row[2], &row[3]]);
    }
    out += &"=".repeat(total_width);
    out += "\n";
    let (trainable, frozen) = (net.params(), net.buffers());
    out += &format!(
        "Total params: {}\n",
        thousands(trainable.saturating_add(frozen))
    );
    out += &format!("Trainable params: {}\n", thousands(trainable));
    out += &format!("Non-trainable params: {}\n", thousands(frozen));
    match &net.loss {
        Some(loss) => {
            out += &format!("Loss: {}", loss_name(loss.kind));
            if let Some(a) = loss.fused {
                out += &format!(
                    " (fused with the {} before it: trained on logits)",
                    activation_source(a)
                );
            }
            out += "\n";
        }
        None => out += "Loss: none (inference only)\n",
    }
    out
}

/// A whole number with `,` between thousands: `101770` as `101,770`.
pub fn thousands(n: impl std::fmt::Display) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|group| std::str::from_utf8(group).unwrap_or_default())
        .collect();
    groups.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(101770), "101,770");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn table_reads_like_keras() {
        let program = crate::check_source(
            "M { input 784; fc1: dense 128 relu; dropout 0.5; dense 10; softmax_ce }",
        )
        .unwrap();
        let table = table(&program.networks[0]);
        insta::assert_snapshot!(table, @r"
        Network: M
        ====================================================
        Layer     Kind                 Output shape   Params
        ----------------------------------------------------
        (input)   input 784            [batch, 784]        0
        fc1       dense 784->128 relu  [batch, 128]  100,480
        dropout1  dropout 0.5          [batch, 128]        0
        dense2    dense 128->10        [batch, 10]     1,290
        ====================================================
        Total params: 101,770
        Trainable params: 101,770
        Non-trainable params: 0
        Loss: softmax_ce
        ");
    }
}
