//! Handwritten digits: an MLP with batch normalization and dropout (`models/mnist.nn`) trained
//! with Adam and a cosine learning-rate schedule to ≥ 98% test accuracy on MNIST.
//!
//! `cargo run --release -p axonal-examples --bin mnist -- [--data DIR] [--epochs N] [--batch N] [--lr X] [--out FILE]`
//!
//! Prints a per-epoch table, saves a checkpoint (default `target/mnist.safetensors`), reloads
//! it into a freshly built network and checks that it scores exactly the same, and draws the
//! loss and accuracy curves next to the checkpoint (`target/mnist.png`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use axonal::data::idx::load_mnist;
use axonal::optim::Adam;
use axonal::schedule::CosineAnnealing;
use axonal::{io, train, Control, Dataset, Fit, Model};
use axonal_examples::mnist::Mnist;

/// Passes over the training data (`--epochs`).
const EPOCHS: usize = 4;
/// Samples per Adam step (`--batch`).
const BATCH: usize = 256;
/// Adam's learning rate at the first epoch (`--lr`); the cosine schedule lowers it toward 0.
/// Batchnorm keeps the large rate stable.
const LR: f64 = 5e-3;
/// Seed of the initial weights, the dropout masks and the shuffling.
const SEED: u64 = 1;
/// Samples per forward pass when evaluating (any size gives the same result).
const EVAL_BATCH: usize = 1000;

/// The command line: every flag is optional.
struct Args {
    data: Option<PathBuf>,
    epochs: usize,
    batch: usize,
    out: PathBuf,
    lr: f64,
}

/// What `--help` and a wrong flag print.
const USAGE: &str =
    "usage: mnist [--data DIR] [--epochs N] [--batch N] [--lr X] [--out FILE.safetensors]

  --data DIR    the four MNIST IDX files (default: $AXONAL_DATA, else ../shared/data/mnist
                next to the workspace)
  --epochs N    passes over the 60000 training images (default 4)
  --batch N     samples per Adam step (default 256)
  --lr X        Adam's learning rate at the first epoch (default 0.005), annealed to 0
  --out FILE    checkpoint to write (default target/mnist.safetensors); the curves go to
                FILE with the extension .png";

/// Parses `--flag value` pairs by hand (no argument-parser dependency for five flags).
fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        data: None,
        epochs: EPOCHS,
        batch: BATCH,
        out: PathBuf::from("target/mnist.safetensors"),
        lr: LR,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))?;
        let count = |v: &str| match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{flag} takes a whole number ≥ 1, got `{v}`")),
        };
        match flag.as_str() {
            "--data" => args.data = Some(PathBuf::from(value)),
            "--epochs" => args.epochs = count(&value)?,
            "--batch" => args.batch = count(&value)?,
            "--out" => args.out = PathBuf::from(value),
            "--lr" => {
                args.lr = match value.parse::<f64>() {
                    Ok(lr) if lr > 0.0 && lr.is_finite() => lr,
                    _ => return Err(format!("--lr takes a positive number, got `{value}`")),
                }
            }
            _ => return Err(format!("unknown flag `{flag}`\n\n{USAGE}")),
        }
    }
    Ok(args)
}

/// Where MNIST is read from: `--data`, else `AXONAL_DATA`, else the repository's shared copy.
fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("AXONAL_DATA").map(PathBuf::from))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist"))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let dir = data_dir(args.data.clone());
    let (train, test) = match load_mnist::<f32>(&dir) {
        Ok(data) => data,
        Err(err) => {
            // A missing directory or file is an error that names the four files and says
            // where to get them.
            eprintln!("cannot read MNIST from {}:\n{err}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    match run(&args, &train, &test) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Trains, reports, checks the checkpoint round trip and draws the curves.
fn run(
    args: &Args,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
) -> Result<(), Box<dyn std::error::Error>> {
    println!("{}", Mnist::<f32>::summary());
    let mut net = Mnist::<f32>::seeded(SEED);
    println!(
        "MNIST: {} training and {} test images of {} pixels; {} parameters",
        train.len(),
        test.len(),
        train.input_width(),
        net.param_count()
    );
    println!(
        "Adam lr {} with cosine annealing to 0 over {} epochs, batch {}\n",
        args.lr, args.epochs, args.batch
    );
    println!(
        "{:>5}  {:>8}  {:>10}  {:>9}  {:>9}  {:>8}  {:>7}  {:>9}",
        "epoch", "lr", "train loss", "train acc", "test loss", "test acc", "seconds", "samples/s"
    );
    let history = train::fit(
        &mut net,
        train,
        &mut Adam::new(args.lr),
        &Fit::epochs(args.epochs)
            .batch(args.batch)
            .seed(SEED)
            .schedule(CosineAnnealing::new(args.epochs, 0.0))
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
    // score exactly the same (same loss to the last bit, same accuracy).
    io::save(&mut net, &args.out)?;
    let mut restored = Mnist::<f32>::seeded(SEED + 1);
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

    let png = args.out.with_extension("png");
    history.plot(&png)?;
    println!("wrote the loss and accuracy curves to {}", png.display());
    Ok(())
}
