//! The command-line runner shared by the image-classification examples (`mnist`, `cnn`,
//! `fashion`): each binary states its network, its dataset and its training recipe, and
//! [`main`] does the rest — the flags, training with a per-epoch table, the checkpoint round
//! trip and the curves.
//!
//! The recipes live next to their networks (`mnist::RECIPE`, `lenet::RECIPE`,
//! `fashion::RECIPE`) so that the tests train with exactly the examples' settings.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use axonal::data::idx::load_mnist;
use axonal::optim::Adam;
use axonal::schedule::CosineAnnealing;
use axonal::{io, train, Control, Dataset, Fit, Model};

/// An IDX image dataset in MNIST's layout (four files, 60000 training and 10000 test
/// images of 28×28 pixels), and where to find it.
#[derive(Clone, Copy, Debug)]
pub struct Data {
    /// Its name in messages (`MNIST`).
    pub name: &'static str,
    /// The environment variable that may name its directory (`AXONAL_DATA`).
    pub env: &'static str,
    /// Its directory under the repository's shared data, `../shared/data` next to the
    /// workspace (`mnist`).
    pub shared: &'static str,
}

/// Handwritten digits: `AXONAL_DATA`, else `../shared/data/mnist`.
pub const MNIST: Data = Data {
    name: "MNIST",
    env: "AXONAL_DATA",
    shared: "mnist",
};

/// Zalando's clothing images, in MNIST's format: `AXONAL_FASHION_DATA`, else
/// `../shared/data/fashion-mnist` (a variable of its own, so that `AXONAL_DATA` pointing at
/// MNIST does not feed digits to the clothing network).
pub const FASHION_MNIST: Data = Data {
    name: "Fashion-MNIST",
    env: "AXONAL_FASHION_DATA",
    shared: "fashion-mnist",
};

impl Data {
    /// Where the data is read from unless a flag says otherwise: the directory named by
    /// [`Data::env`], else the repository's shared copy.
    pub fn default_dir(&self) -> PathBuf {
        std::env::var_os(self.env)
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../shared/data")
                    .join(self.shared)
            })
    }
}

/// How an example trains: Adam at `lr` for the first epoch, annealed to 0 by a cosine
/// schedule over `epochs` epochs, mini-batches of `batch`, everything seeded by `seed`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recipe {
    /// Passes over the training data.
    pub epochs: usize,
    /// Samples per Adam step.
    pub batch: usize,
    /// Adam's learning rate at the first epoch.
    pub lr: f64,
    /// Seed of the initial weights, the dropout masks and the shuffling.
    pub seed: u64,
}

impl Recipe {
    /// The optimizer, fresh.
    pub fn optimizer(&self) -> Adam {
        Adam::new(self.lr)
    }

    /// The training settings (epochs, batch, seed, schedule), to which a caller adds
    /// validation data, a callback or `quiet`.
    pub fn fit<'a>(&self) -> Fit<'a, f32> {
        Fit::epochs(self.epochs)
            .batch(self.batch)
            .seed(self.seed)
            .schedule(CosineAnnealing::new(self.epochs, 0.0))
    }
}

/// One example: what `main` of its binary hands to [`main`].
pub struct Example<N> {
    /// The binary's name, in the usage text and the default checkpoint path.
    pub name: &'static str,
    /// The data it trains and tests on.
    pub data: Data,
    /// Its default settings (the flags override them).
    pub recipe: Recipe,
    /// The network's summary table (`Net::<f32>::summary()`).
    pub summary: &'static str,
    /// Builds the network from a seed (`Net::<f32>::seeded`).
    pub build: fn(u64) -> N,
}

/// Samples per forward pass when evaluating (any size gives the same result).
const EVAL_BATCH: usize = 1000;

/// The command line: every flag is optional.
struct Args {
    data: Option<PathBuf>,
    recipe: Recipe,
    out: PathBuf,
}

/// What `--help` and a wrong flag print.
fn usage<N>(example: &Example<N>) -> String {
    let Example {
        name, data, recipe, ..
    } = example;
    format!(
        "usage: {name} [--data DIR] [--epochs N] [--batch N] [--lr X] [--seed N] [--out FILE.safetensors]

  --data DIR    the four {data} IDX files (default: ${env}, else ../shared/data/{shared}
                next to the workspace)
  --epochs N    passes over the 60000 training images (default {epochs})
  --batch N     samples per Adam step (default {batch})
  --lr X        Adam's learning rate at the first epoch (default {lr}), annealed to 0
  --seed N      seed of the initial weights, the dropout masks and the shuffling (default {seed})
  --out FILE    checkpoint to write (default target/{name}.safetensors); the curves go to
                FILE with the extension .png, the ONNX model to FILE with .onnx",
        data = data.name,
        env = data.env,
        shared = data.shared,
        epochs = recipe.epochs,
        batch = recipe.batch,
        lr = recipe.lr,
        seed = recipe.seed,
    )
}

/// Parses `--flag value` pairs by hand (no argument-parser dependency for six flags).
fn parse_args<N>(example: &Example<N>, args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        data: None,
        recipe: example.recipe,
        out: PathBuf::from(format!("target/{}.safetensors", example.name)),
    };
    let mut it = args;
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(usage(example));
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n\n{}", usage(example)))?;
        let count = |v: &str| match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{flag} takes a whole number ≥ 1, got `{v}`")),
        };
        match flag.as_str() {
            "--data" => parsed.data = Some(PathBuf::from(value)),
            "--epochs" => parsed.recipe.epochs = count(&value)?,
            "--batch" => parsed.recipe.batch = count(&value)?,
            "--out" => parsed.out = PathBuf::from(value),
            "--seed" => {
                parsed.recipe.seed = value
                    .parse::<u64>()
                    .map_err(|_| format!("--seed takes a whole number ≥ 0, got `{value}`"))?
            }
            "--lr" => {
                parsed.recipe.lr = match value.parse::<f64>() {
                    Ok(lr) if lr > 0.0 && lr.is_finite() => lr,
                    _ => return Err(format!("--lr takes a positive number, got `{value}`")),
                }
            }
            _ => return Err(format!("unknown flag `{flag}`\n\n{}", usage(example))),
        }
    }
    Ok(parsed)
}

/// Runs an example from the command line: reads the flags and the data, trains, reports,
/// checks the checkpoint round trip and draws the curves. Every failure is a message on
/// stderr and a failing exit code.
pub fn main<N: Model<f32>>(example: &Example<N>) -> ExitCode {
    let args = match parse_args(example, std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let dir = args
        .data
        .clone()
        .unwrap_or_else(|| example.data.default_dir());
    let (train, test) = match load_mnist::<f32>(&dir) {
        Ok(data) => data,
        Err(err) => {
            // A missing directory or file is an error that names the four files and says
            // where to get them.
            eprintln!(
                "cannot read {} from {}:\n{err}",
                example.data.name,
                dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    match run(example, &args, &train, &test) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Trains, reports, checks the checkpoint round trip and draws the curves.
fn run<N: Model<f32>>(
    example: &Example<N>,
    args: &Args,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
) -> Result<(), Box<dyn Error>> {
    let recipe = &args.recipe;
    println!("{}", example.summary);
    let mut net = (example.build)(recipe.seed);
    println!(
        "{}: {} training and {} test images of {} pixels; {} parameters",
        example.data.name,
        train.len(),
        test.len(),
        train.input_width(),
        net.param_count()
    );
    println!(
        "Adam lr {} with cosine annealing to 0 over {} epochs, batch {}\n",
        recipe.lr, recipe.epochs, recipe.batch
    );
    println!(
        "{:>5}  {:>8}  {:>10}  {:>9}  {:>9}  {:>8}  {:>7}  {:>9}",
        "epoch", "lr", "train loss", "train acc", "test loss", "test acc", "seconds", "samples/s"
    );
    let history = train::fit(
        &mut net,
        train,
        &mut recipe.optimizer(),
        &recipe
            .fit()
            .validation(test)
            .on_epoch(|s| {
                println!(
                    "{:>5}  {:>8.2e}  {:>10.4}  {:>8.2}%  {:>9.4}  {:>7.2}%  {:>7.1}  {:>9.0}",
                    s.epoch,
                    s.lr,
                    s.loss,
                    100.0 * s.accuracy.unwrap_or(f64::NAN),
                    s.val_loss.unwrap_or(f64::NAN),
                    100.0 * s.val_accuracy.unwrap_or(f64::NAN),
                    s.seconds,
                    s.samples_per_second
                );
                Control::Continue
            })
            .quiet(),
    )?;

    // Training time without the per-epoch test evaluation.
    let train_seconds: f64 = history
        .epochs
        .iter()
        .map(|s| train.len() as f64 / s.samples_per_second)
        .sum();
    let epochs = history.epochs.len();
    let eval = train::evaluate(&mut net, test, EVAL_BATCH)?;
    let accuracy = eval.accuracy.unwrap_or(f64::NAN);
    println!(
        "\ntest accuracy {:.2}% ({} of {} wrong) after {epochs} epochs: {:.1} s of training, {:.1} s per epoch",
        100.0 * accuracy,
        ((1.0 - accuracy) * test.len() as f64).round(),
        test.len(),
        train_seconds,
        train_seconds / epochs as f64,
    );

    // Checkpoint round trip: a network built from another seed, loaded from the file, must
    // score exactly the same (same loss to the last bit, same accuracy). The default
    // `target/` need not exist: `CARGO_TARGET_DIR` may put the build elsewhere.
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    io::save(&mut net, &args.out)?;
    let mut restored = (example.build)(recipe.seed.wrapping_add(1));
    io::load(&mut restored, &args.out)?;
    let again = train::evaluate(&mut restored, test, EVAL_BATCH)?;
    if again != eval {
        return Err(format!(
            "the network reloaded from {} scores {again:?}, the trained one {eval:?}",
            args.out.display()
        )
        .into());
    }
    println!(
        "saved {}, reloaded it into a fresh network: test accuracy {:.2}%, loss {:.6} (identical)",
        args.out.display(),
        100.0 * again.accuracy.unwrap_or(f64::NAN),
        again.loss
    );

    // The same network for ONNX Runtime, tract, Triton…: it computes what `predict` does.
    let onnx = args.out.with_extension("onnx");
    net.save_onnx(&onnx)?;
    println!(
        "wrote the ONNX model (opset 17) to {}: input `input` [batch, {}], output `output` \
         (class probabilities)",
        onnx.display(),
        net.input_width()
    );

    let png = args.out.with_extension("png");
    history.plot(&png)?;
    println!("wrote the loss and accuracy curves to {}", png.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in network type: parsing never builds one.
    fn example() -> Example<()> {
        Example {
            name: "demo",
            data: FASHION_MNIST,
            recipe: Recipe {
                epochs: 3,
                batch: 64,
                lr: 2e-3,
                seed: 7,
            },
            summary: "",
            build: |_| (),
        }
    }

    fn parse(flags: &[&str]) -> Result<Args, String> {
        parse_args(&example(), flags.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags_override_the_recipe_and_the_rest_keeps_its_defaults() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.recipe, example().recipe);
        assert_eq!(args.out, PathBuf::from("target/demo.safetensors"));
        assert!(args.data.is_none());

        let args = parse(&["--epochs", "9", "--lr", "0.1", "--seed", "0", "--data", "d"]).unwrap();
        assert_eq!(
            (args.recipe.epochs, args.recipe.lr, args.recipe.seed),
            (9, 0.1, 0)
        );
        assert_eq!(args.recipe.batch, 64);
        assert_eq!(args.data, Some(PathBuf::from("d")));
    }

    #[test]
    fn mistakes_say_what_was_expected() {
        let err = |flags: &[&str]| parse(flags).err().unwrap();
        assert!(err(&["--epochs", "0"]).contains("whole number ≥ 1, got `0`"));
        assert!(err(&["--lr", "-1"]).contains("positive number"));
        assert!(err(&["--seed", "x"]).contains("--seed takes a whole number"));
        assert!(err(&["--batch"]).contains("--batch needs a value"));
        assert!(err(&["--bogus", "1"]).contains("unknown flag `--bogus`"));
    }

    #[test]
    fn usage_states_this_examples_data_and_defaults() {
        let text = parse(&["--help"]).err().unwrap();
        assert!(text.starts_with("usage: demo "));
        assert!(text.contains("the four Fashion-MNIST IDX files"));
        assert!(text.contains("$AXONAL_FASHION_DATA, else ../shared/data/fashion-mnist"));
        assert!(text.contains("(default 3)") && text.contains("(default 0.002)"));
        assert!(text.contains("(default 7)") && text.contains("target/demo.safetensors"));
    }
}
