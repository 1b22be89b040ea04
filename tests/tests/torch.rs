//! `axc emit --torch`: the PyTorch modules written for networks (`axonal_dsl::torch`).
//!
//! - Snapshots pin the Python of the example networks (`mnist`, `lenet`, `resnet`) and of
//!   sources with every statement, every activation and every block kind, nested, and with
//!   names Python cannot take as they are. Review a change (`cargo insta review`) as you would
//!   a change to generated Rust.
//! - `every_network_predicts_the_same_in_pytorch` runs the modules under PyTorch through
//!   `scripts/check_torch.py`: each network's axonal checkpoint (f32 and f64) loads with
//!   `load_state_dict(strict=True)`, PyTorch's `predict` agrees with axonal's to
//!   |torch − axonal| ≤ tol·(1 + |axonal|) (1e-5 in f32, 1e-12 in f64); PyTorch then trains
//!   one step and saves its state dict, which axonal loads and predicts with as PyTorch does.
//!   PyTorch is a heavy install, so this test runs only when `AXONAL_TORCH_PYTHON` names a
//!   Python with `torch`, `numpy` and `safetensors` (the pins of `fixtures/requirements.txt`):
//!   `python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch==2.15.0 numpy==2.4.6
//!   safetensors==0.8.0`, then `AXONAL_TORCH_PYTHON=/tmp/torch/bin/python cargo test -p
//!   axonal-tests --test torch`. Without it the test is skipped with a note, in CI too.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use axonal::ndarray::Array2;
use axonal::rand::{rngs::StdRng, Rng, SeedableRng};
use axonal::{Float, Mode, Model};
use axonal_examples as ex;

#[macro_use]
mod networks;
use networks::*;

networks! { hostile:
    /// Names Python cannot take as they are: a class `nn` (the module's import), keys that
    /// are Python keywords or `nn.Module`'s own names, or start with `_`; a repeat of
    /// repeats; a max pooling with more padding than PyTorch's pooling takes.
    nn {
        input 2x9x9;
        train: conv2d 3 k=3 pad=1;
        forward: maxpool 3 stride=1 pad=2 dilation=2;
        _private: batchnorm;
        None: repeat 2 { repeat 2 { residual { lambda: conv2d 3 k=1; predict: batchnorm } } }
        global_avgpool;
        INPUT_SHAPE: dense 4;
        type: add float: { dense 4 } class: { dense 4 relu; training: dense 4 }
        dense 2;
        mse
    }
}

/// The Python for `source`, named `name` in its docstring.
fn emit(source: &str, name: &str) -> String {
    let program = axonal_dsl::check_source(source)
        .unwrap_or_else(|diags| panic!("{name} does not compile: {diags:#?}"));
    axonal_dsl::torch::emit(&program, name)
}

fn example(file: &str) -> String {
    let path = axonal_tests::onnx_runtime::workspace()
        .join("examples/models")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn mnist() {
    insta::assert_snapshot!(emit(&example("mnist.nn"), "examples/models/mnist.nn"));
}

#[test]
fn lenet() {
    insta::assert_snapshot!(emit(&example("lenet.nn"), "examples/models/lenet.nn"));
}

#[test]
fn resnet() {
    insta::assert_snapshot!(emit(&example("resnet.nn"), "examples/models/resnet.nn"));
}

/// Every statement and activation of the language, every block kind, nested.
#[test]
fn every_statement_and_block() {
    let source = [everything(), activations(), images(), blocks()].join("\n");
    insta::assert_snapshot!(emit(&source, "every.nn"));
}

#[test]
fn hostile_names_and_fused_links() {
    let source = [hostile(), fused()].join("\n");
    insta::assert_snapshot!(emit(&source, "hostile.nn"));
}

/// The Python that has `torch`, `numpy` and `safetensors`, from `AXONAL_TORCH_PYTHON`, or
/// `None` (with a note) when that is not set.
///
/// # Panics
/// When it is set but that Python cannot import them.
fn python() -> Option<PathBuf> {
    let Some(python) = std::env::var_os("AXONAL_TORCH_PYTHON").map(PathBuf::from) else {
        eprintln!(
            "skipped: AXONAL_TORCH_PYTHON is not set (a Python with torch, numpy and \
             safetensors: see the doc comment of tests/tests/torch.rs)"
        );
        return None;
    };
    let out = Command::new(&python)
        .args(["-c", "import torch, numpy, safetensors"])
        .output();
    match out {
        Ok(o) if o.status.success() => Some(python),
        Ok(o) => panic!(
            "AXONAL_TORCH_PYTHON={} cannot import torch, numpy and safetensors:\n{}",
            python.display(),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("AXONAL_TORCH_PYTHON={}: {e}", python.display()),
    }
}

/// Checks the other way round, after the script ran: axonal loads what PyTorch saved and
/// predicts as PyTorch did. Returns the worst scaled error.
type Back = Box<dyn FnOnce() -> Result<f64, String>>;

/// The cases of one run of `scripts/check_torch.py`.
struct Cases {
    dir: PathBuf,
    json: Vec<String>,
    back: Vec<(String, f64, Back)>,
}

impl Cases {
    fn new() -> Cases {
        let dir = std::env::temp_dir().join(format!("axonal-torch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temporary directory");
        Cases {
            dir,
            json: Vec::new(),
            back: Vec::new(),
        }
    }

    /// Adds the network `class` of `source`, built by `make`: after a training pass on a
    /// random batch (so that batchnorm's statistics are not 0 and 1) its checkpoint, a batch
    /// and its `predict` go to the script, which must agree to `tol`.
    fn add<F: Float, M: Model<F> + 'static>(
        &mut self,
        source: &str,
        class: &str,
        make: fn(u64) -> M,
        tol: f64,
        rng: &mut StdRng,
    ) {
        let i = self.json.len();
        let name = format!("{class} {}", F::DTYPE.to_ascii_lowercase());
        let file = |ext: &str| self.dir.join(format!("{i}.{ext}"));
        let (module, checkpoint, input, expected, back, back_predict) = (
            file("py"),
            file("safetensors"),
            file("input"),
            file("expected"),
            file("back.safetensors"),
            file("back.predict"),
        );
        let mut net = make(rng.random());
        let batch = |rows: usize, rng: &mut StdRng| {
            Array2::from_shape_fn((rows, net.input_width()), |_| {
                F::from_f64(rng.random_range(-1.5..1.5))
            })
        };
        let (warm, x) = (batch(16, rng), batch(7, rng));
        net.forward(warm.view(), Mode::Train)
            .expect("a training pass");
        net.save(&checkpoint).expect("save");
        let y = net.predict(x.view()).expect("predict");
        std::fs::write(&module, emit(source, &format!("{class}'s source"))).expect("write");
        std::fs::write(&input, bytes(x.iter())).expect("write the input");
        std::fs::write(&expected, bytes(y.iter())).expect("write the prediction");
        let mut case = String::new();
        write!(
            case,
            "{{\"name\": {name:?}, \"module\": {:?}, \"class\": {class:?}, \"dtype\": {:?}, \
             \"checkpoint\": {:?}, \"input\": {:?}, \"expected\": {:?}, \"rows\": {}, \
             \"tol\": {tol:e}, \"back\": {:?}, \"back_predict\": {:?}}}",
            path(&module),
            F::DTYPE,
            path(&checkpoint),
            path(&input),
            path(&expected),
            x.nrows(),
            path(&back),
            path(&back_predict),
        )
        .expect("write to a String");
        self.json.push(case);
        let check = move || {
            let mut fresh = make(1);
            fresh
                .load(&back)
                .map_err(|e| format!("axonal cannot load PyTorch's state dict: {e}"))?;
            let ours = fresh.predict(x.view()).map_err(|e| e.to_string())?;
            let theirs = read(&back_predict, F::DTYPE);
            if theirs.len() != ours.len() {
                return Err(format!(
                    "{} values from PyTorch, {} from axonal",
                    theirs.len(),
                    ours.len()
                ));
            }
            let worst = ours
                .iter()
                .zip(&theirs)
                .map(|(a, &t)| (a.as_f64() - t).abs() / (1.0 + t.abs()))
                .fold(0.0, f64::max);
            if worst <= tol {
                Ok(worst)
            } else {
                Err(format!("worst scaled error {worst:.2e} > {tol:e}"))
            }
        };
        self.back.push((name, tol, Box::new(check)));
    }

    /// Runs the script on the cases, then loads into axonal what PyTorch saved; returns the
    /// report, or it as the error if anything disagrees.
    fn check(self, python: &Path) -> Result<String, String> {
        let manifest = self.dir.join("manifest.json");
        let text = format!("{{\"cases\": [\n{}\n]}}\n", self.json.join(",\n"));
        std::fs::write(&manifest, text).expect("write the manifest");
        let script = axonal_tests::onnx_runtime::workspace().join("scripts/check_torch.py");
        let out = Command::new(python)
            .arg(script)
            .arg(&manifest)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
        let mut report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            return Err(report);
        }
        let mut failed = false;
        for (name, tol, check) in self.back {
            match check() {
                Ok(worst) => writeln!(
                    report,
                    "ok   {name}: axonal loads PyTorch's state dict and predicts as PyTorch, \
                     worst scaled error {worst:.2e} (tol {tol:e})"
                ),
                Err(problem) => {
                    failed = true;
                    writeln!(report, "FAIL {name}: {problem}")
                }
            }
            .expect("write to a String");
        }
        if failed {
            return Err(report);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(report)
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Little-endian bytes of `values` in their dtype.
fn bytes<'a, F: Float>(values: impl Iterator<Item = &'a F>) -> Vec<u8> {
    values
        .flat_map(|v| match F::DTYPE {
            "F32" => (v.as_f64() as f32).to_le_bytes().to_vec(),
            _ => v.as_f64().to_le_bytes().to_vec(),
        })
        .collect()
}

/// The little-endian values of `dtype` in `file`.
fn read(file: &Path, dtype: &str) -> Vec<f64> {
    let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    match dtype {
        "F32" => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64)
            .collect(),
        _ => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect(),
    }
}

#[test]
fn every_network_predicts_the_same_in_pytorch() {
    let Some(python) = python() else { return };
    let rng = &mut StdRng::seed_from_u64(11);
    let mut cases = Cases::new();
    macro_rules! case {
        ($source:expr, $class:literal, $ty:ident $(:: $path:ident)*) => {
            cases.add::<f32, _>(&$source, $class, $ty$(::$path)*::<f32>::seeded, 1e-5, rng);
            cases.add::<f64, _>(&$source, $class, $ty$(::$path)*::<f64>::seeded, 1e-12, rng);
        };
    }
    case!(example("mnist.nn"), "Mnist", ex::mnist::Mnist);
    case!(example("lenet.nn"), "Lenet", ex::lenet::Lenet);
    case!(example("resnet.nn"), "ResNet", ex::resnet::ResNet);
    case!(everything(), "Everything", Everything);
    case!(activations(), "Activations", Activations);
    case!(images(), "Images", Images);
    case!(images(), "Signals", Signals);
    case!(blocks(), "Res", Res);
    case!(blocks(), "Nested", Nested);
    case!(hostile(), "nn_", nn);
    case!(fused(), "Categorical", Categorical);
    case!(fused(), "Binary", Binary);
    case!(fused(), "Logits", Logits);
    match cases.check(&python) {
        Ok(report) => eprintln!("{report}"),
        Err(report) => panic!("PyTorch and axonal disagree:\n{report}"),
    }
}
