//! `axc`: the axonal compiler on the command line.
//!
//! Every subcommand goes through the same calls as `build.rs` and `network!`
//! ([`axonal_dsl::check_source`], [`axonal_dsl::emit`]); `axc` only reads files, prints and
//! sets the exit code: 0 when all is well, 1 when a source has mistakes (or would be
//! reformatted, for `fmt --check`), 2 when the command line itself is wrong.
//!
//! Sources are read with [`axonal_dsl::files::read_source`] (regular files of at most
//! 16 MiB; `-` is standard input, with the same limit), and every file `axc` writes is
//! replaced whole with [`axonal_dsl::files::replace`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use axonal_dsl::diagnostic::render_all;
use clap::{Parser, Subcommand, ValueEnum};

/// The axonal compiler: check, emit, summarize, draw and format `.nn` sources.
#[derive(Parser)]
#[command(
    name = "axc",
    version,
    after_help = "Examples:\n  axc check models/*.nn\n  axc emit models/mnist.nn --out src/mnist.rs\n  axc emit --torch models/mnist.nn --out mnist_torch.py\n  axc summary models/mnist.nn\n  axc graph models/mnist.nn --svg mnist.svg\n  axc fmt --check models/*.nn\n  axc export models/mnist.nn --weights mnist.safetensors -o mnist.onnx\n  axc import model.onnx -o model.nn --weights model.safetensors\n\nA source given as `-` is read from standard input. Source files must be regular files (not\ndevices or named pipes) of at most 16 MiB."
)]
struct Cli {
    /// When to colour diagnostics: `auto` colours only a terminal.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Report every mistake in the sources, rustc-style; exit 1 if there is one.
    #[command(
        after_help = "Example:\n  axc check models/*.nn\n\nEach error has a code (E0008); `docs/errors.md` explains it, with a fix."
    )]
    Check {
        /// The `.nn` files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the Rust code generated for a source (what `build.rs` writes), or with `--torch`
    /// the PyTorch modules of its networks.
    #[command(
        after_help = "Examples:\n  axc emit models/xor.nn\n  axc emit models/xor.nn --out src/xor.rs\n  axc emit --torch models/mnist.nn --out mnist_torch.py\n\nWith `--torch`, each network is a Python `nn.Module` class whose `state_dict` has the\nnames and shapes of the network's axonal checkpoint: a safetensors checkpoint loads into it\nwith `load_state_dict`, and its state saves back as one that axonal loads (the file's\ndocstring shows how). `forward` gives the logits, `predict` applies the loss's link as\naxonal's `predict` does."
    )]
    Emit {
        /// The `.nn` file to compile.
        file: PathBuf,
        /// Write the code to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Write Python: a PyTorch `nn.Module` per network, with axonal's checkpoint names.
        #[arg(long)]
        torch: bool,
    },
    /// Print a Keras-style table per network: layers, output shapes, parameter counts.
    #[command(after_help = "Example:\n  axc summary models/spiral.nn")]
    Summary {
        /// The `.nn` files to summarize.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Draw the networks of a source: Graphviz DOT on standard output, or an SVG file.
    #[command(
        after_help = "Examples:\n  axc graph models/spiral.nn | dot -Tpng -o spiral.png\n  axc graph models/spiral.nn --svg spiral.svg    (no Graphviz needed)"
    )]
    Graph {
        /// The `.nn` file to draw.
        file: PathBuf,
        /// Write an SVG picture to this file (drawn by axc itself) instead of printing DOT.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
    /// Rewrite sources in the canonical layout, keeping comments.
    #[command(
        after_help = "Examples:\n  axc fmt models/*.nn\n  axc fmt --check models/*.nn    (in CI: exit 1 if a file would change)\n  axc fmt - < model.nn           (standard input to standard output)\n\nA file is replaced whole (a new file renamed over it, keeping its permissions; a\nsymlink is written through), so a failed write leaves it as it was. A byte order mark\nand Windows (CRLF) line endings are kept."
    )]
    Fmt {
        /// The `.nn` files to format in place; `-` reads standard input and prints.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Change nothing: print what would change as a unified diff on standard output,
        /// name each such file on standard error, and exit 1 if there is any.
        #[arg(long)]
        check: bool,
    },
    /// Write a network with its trained weights as an ONNX model (opset 17) computing
    /// `predict`.
    #[command(
        after_help = "Example:\n  axc export models/mnist.nn --weights mnist.safetensors -o mnist.onnx\n\nThe model's input is `input` and its output `output`, with a symbolic batch; its weights\nkeep their checkpoint names (`fc1.weight`). The checkpoint is the network's safetensors\nfile (`Model::save`), f32 or f64; it must hold exactly the network's tensors."
    )]
    Export {
        /// The `.nn` file of the network.
        file: PathBuf,
        /// The network's checkpoint (safetensors).
        #[arg(long, value_name = "FILE")]
        weights: PathBuf,
        /// The ONNX file to write.
        #[arg(long, short, value_name = "FILE")]
        out: PathBuf,
        /// Which network of the source, if it has several.
        #[arg(long, value_name = "NAME")]
        network: Option<String>,
    },
    /// Turn an ONNX model (from `torch.onnx.export`, or `axc export`) into a `.nn` source and
    /// a safetensors checkpoint that loads into the network it compiles to.
    #[command(
        after_help = "Example:\n  axc import model.onnx -o models/model.nn --weights model.safetensors\n\nEvery operator must map onto a statement (Gemm/MatMul+Add, Conv, pooling, Flatten,\nBatchNormalization, LayerNormalization, the activations, Add/Sum/Concat for blocks, Dropout,\nIdentity, a final Softmax as the loss `softmax_ce`); otherwise nothing is written and every\nunsupported node is listed. A model axonal exported comes back as its source."
    )]
    Import {
        /// The ONNX model to read.
        file: PathBuf,
        /// The `.nn` source to write.
        #[arg(long, short, value_name = "FILE")]
        out: PathBuf,
        /// The checkpoint to write (safetensors, f32).
        #[arg(long, value_name = "FILE")]
        weights: PathBuf,
        /// The network's name (default: the source file's name in CamelCase).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = match cli.color {
        Color::Auto => std::io::stderr().is_terminal(),
        Color::Always => true,
        Color::Never => false,
    };
    // Every file is processed even after one fails, so one run shows every mistake.
    let mut ok = true;
    match cli.command {
        Command::Check { files } => {
            for file in &files {
                ok &= read(file)
                    .and_then(|source| {
                        axonal_dsl::check_source(&source)
                            .map_err(|d| report(&d, file, &source, color))
                    })
                    .is_ok();
            }
        }
        Command::Emit { file, out, torch } => {
            ok = emit(&file, out.as_deref(), torch, color).is_ok()
        }
        Command::Summary { files } => {
            let mut tables = Vec::new();
            for file in &files {
                let program = read(file).and_then(|source| {
                    axonal_dsl::check_source(&source).map_err(|d| report(&d, file, &source, color))
                });
                match program {
                    Ok(program) => {
                        tables.extend(program.networks.iter().map(axonal_dsl::summary::table))
                    }
                    Err(Reported) => ok = false,
                }
            }
            print!("{}", tables.join("\n"));
        }
        Command::Graph { file, svg } => ok = graph(&file, svg.as_deref(), color).is_ok(),
        Command::Export {
            file,
            weights,
            out,
            network,
        } => ok = export(&file, &weights, &out, network.as_deref(), color).is_ok(),
        Command::Import {
            file,
            out,
            weights,
            name,
        } => ok = import(&file, &out, &weights, name.as_deref()).is_ok(),
        Command::Fmt { files, check } => {
            for file in &files {
                ok &= fmt(file, check, color).is_ok();
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A failure already reported on stderr.
struct Reported;

fn read(file: &Path) -> Result<String, Reported> {
    let result = if file == Path::new("-") {
        axonal_dsl::files::read_capped(std::io::stdin().lock())
    } else {
        axonal_dsl::files::read_source(file)
    };
    result.map_err(|e| {
        eprintln!("error: cannot read `{}`: {e}", name(file));
        Reported
    })
}

/// How a file is named in messages: standard input is `<stdin>`.
fn name(file: &Path) -> String {
    if file == Path::new("-") {
        "<stdin>".to_string()
    } else {
        file.display().to_string()
    }
}

fn write(file: &Path, text: &str) -> Result<(), Reported> {
    axonal_dsl::files::replace(file, text.as_bytes()).map_err(|e| {
        eprintln!("error: cannot write `{}`: {e}", file.display());
        Reported
    })
}

fn report(diags: &[axonal_dsl::Diagnostic], file: &Path, source: &str, color: bool) -> Reported {
    eprint!("{}", render_all(diags, &name(file), source, color));
    Reported
}

fn emit(file: &Path, out: Option<&Path>, torch: bool, color: bool) -> Result<(), Reported> {
    let source = read(file)?;
    let text = if torch {
        let program =
            axonal_dsl::check_source(&source).map_err(|d| report(&d, file, &source, color))?;
        axonal_dsl::torch::emit(&program, &name(file))
    } else {
        let code = axonal_dsl::emit(&source).map_err(|d| report(&d, file, &source, color))?;
        format!("{}{code}", axonal_dsl::build::header(&name(file)))
    };
    match out {
        Some(out) => write(out, &text),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn graph(file: &Path, svg: Option<&Path>, color: bool) -> Result<(), Reported> {
    let source = read(file)?;
    let program =
        axonal_dsl::check_source(&source).map_err(|d| report(&d, file, &source, color))?;
    match svg {
        Some(out) => write(out, &axonal_dsl::graph::svg(&program)),
        None => {
            print!("{}", axonal_dsl::graph::dot(&program));
            Ok(())
        }
    }
}

fn export(
    file: &Path,
    weights: &Path,
    out: &Path,
    network: Option<&str>,
    color: bool,
) -> Result<(), Reported> {
    let source = read(file)?;
    let program =
        axonal_dsl::check_source(&source).map_err(|d| report(&d, file, &source, color))?;
    let fail = |message: String| {
        eprintln!("error: {message}");
        Reported
    };
    let names = || {
        let names: Vec<&str> = program.networks.iter().map(|n| n.name.as_str()).collect();
        names.join(", ")
    };
    let net = match network {
        Some(wanted) => program
            .networks
            .iter()
            .find(|n| n.name == wanted)
            .ok_or_else(|| {
                fail(format!(
                    "`{}` has no network `{wanted}`; it has: {}",
                    name(file),
                    names()
                ))
            })?,
        None => match program.networks.as_slice() {
            [net] => net,
            _ => {
                return Err(fail(format!(
                    "`{}` has {} networks: say which with `--network` ({})",
                    name(file),
                    program.networks.len(),
                    names()
                )))
            }
        },
    };
    let bytes = std::fs::read(weights)
        .map_err(|e| fail(format!("cannot read `{}`: {e}", weights.display())))?;
    let model = axonal_dsl::onnx::export_with_weights(net, &bytes)
        .map_err(|e| fail(format!("`{}`: {e}", weights.display())))?;
    axonal_dsl::files::replace(out, &model)
        .map_err(|e| fail(format!("cannot write `{}`: {e}", out.display())))
}

fn import(file: &Path, out: &Path, weights: &Path, name: Option<&str>) -> Result<(), Reported> {
    let fail = |message: String| {
        eprintln!("error: {message}");
        Reported
    };
    let name = match name {
        Some(name) => name.to_string(),
        None => camel_case(out),
    };
    // Sized before it is read: a model is at most protobuf's 2 GiB.
    let size = std::fs::metadata(file)
        .map_err(|e| fail(format!("cannot read `{}`: {e}", file.display())))?
        .len();
    if size > axonal_dsl::onnx::import::MAX_BYTES {
        return Err(fail(format!(
            "`{}` has {size} bytes, more than an ONNX model can hold",
            file.display()
        )));
    }
    let bytes =
        std::fs::read(file).map_err(|e| fail(format!("cannot read `{}`: {e}", file.display())))?;
    let imported = axonal_dsl::onnx::import::import(&bytes, &name).map_err(|e| {
        let problems: Vec<String> = e.0.iter().map(|p| format!("  {p}")).collect();
        fail(format!(
            "cannot import `{}`:\n{}",
            file.display(),
            problems.join("\n")
        ))
    })?;
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = imported
        .weights
        .iter()
        .map(|(name, shape, values)| {
            let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name.clone(), shape.clone(), bytes)
        })
        .collect();
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .map(|view| (name.as_str(), view))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("cannot write the checkpoint: {e}")))?;
    let checkpoint = safetensors::serialize(views, None)
        .map_err(|e| fail(format!("cannot write the checkpoint: {e}")))?;
    axonal_dsl::files::replace(weights, &checkpoint)
        .map_err(|e| fail(format!("cannot write `{}`: {e}", weights.display())))?;
    write(out, &imported.source)
}

/// `mnist_cnn.nn` → `MnistCnn`: a network name from a file name.
fn camel_case(file: &Path) -> String {
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let name: String = stem
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
        .collect();
    if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name
    } else {
        format!("Imported{name}")
    }
}

fn fmt(file: &Path, check: bool, color: bool) -> Result<(), Reported> {
    let source = read(file)?;
    let formatted =
        axonal_dsl::format::format(&source).map_err(|d| report(&d, file, &source, color))?;
    if check {
        if formatted == source {
            return Ok(());
        }
        // Say what would change, so a CI log shows what to fix (as `rustfmt --check` does).
        print!("{}", unified_diff(&name(file), &source, &formatted));
        let fix = if file == Path::new("-") {
            "run `axc fmt -` and use its output".to_string()
        } else {
            format!("run `axc fmt {}`", file.display())
        };
        eprintln!("{}: would reformat ({fix})", name(file));
        return Err(Reported);
    }
    if file == Path::new("-") {
        print!("{formatted}");
        Ok(())
    } else if formatted == source {
        Ok(())
    } else {
        write(file, &formatted)
    }
}

/// The changes from `old` to `new` as a unified diff (as `diff -u`, `git diff` and
/// `rustfmt --check` print them) with three lines of context; both sides are labelled
/// `name`, so `patch -p0` applies it from the directory `name` is relative to.
fn unified_diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(name, name)
        .to_string()
}
