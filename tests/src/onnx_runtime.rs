//! Running networks exported to ONNX in ONNX Runtime: the tests collect cases (a network's
//! ONNX file, an input batch and what `predict` made of it) and `scripts/check_onnx.py`
//! checks them all in one Python process (`onnx.checker`, shape inference, ONNX Runtime).
//!
//! Python comes from `AXONAL_ONNX_PYTHON`, else the workspace's `.venv` (which `.ci/run`
//! creates from `scripts/requirements-onnx.txt`). Without it a test is skipped with a note on
//! a developer's machine and fails in CI (`CI` set).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use axonal::ndarray::ArrayView2;
use axonal::Model;

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// The Python that has `onnx` and `onnxruntime`, or `None` (with a note) when there is none
/// on a developer's machine.
///
/// # Panics
/// In CI (`CI` set) when there is none: the ONNX checks must run there.
pub fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("AXONAL_ONNX_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    let works = Command::new(&candidate)
        .args(["-c", "import onnx, onnxruntime"])
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Some(candidate);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "no Python with onnx and onnxruntime at {} in CI (.ci/run installs it)",
        candidate.display()
    );
    eprintln!(
        "skipped: no Python with onnx and onnxruntime at {} (run `python3 -m venv .venv && \
         .venv/bin/pip install -r scripts/requirements-onnx.txt`, or set AXONAL_ONNX_PYTHON)",
        candidate.display()
    );
    None
}

/// Cases for one run of `scripts/check_onnx.py`, written to a directory of their own.
pub struct Cases {
    dir: PathBuf,
    json: Vec<String>,
}

impl Cases {
    /// An empty set, its files under a new directory named after `name` in the system's
    /// temporary directory.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("axonal-onnx-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temporary directory");
        Cases {
            dir,
            json: Vec::new(),
        }
    }

    /// Exports `net`, runs `predict` on `x`, and adds the case: ONNX Runtime must agree
    /// with `predict` to `tol` (scaled: |ort − predict| ≤ tol·(1 + |predict|)).
    pub fn close<M: Model<f32>>(
        &mut self,
        name: &str,
        net: &mut M,
        output_shape: &[usize],
        x: ArrayView2<'_, f32>,
        tol: f64,
    ) {
        self.add(
            name,
            net,
            output_shape,
            x,
            format!("\"mode\": \"close\", \"tol\": {tol:e}"),
        );
    }

    /// As [`Cases::close`] with `tol` 1e-5, and ONNX Runtime must also give the same argmax
    /// on `agree` of the rows (a classifier on a whole test set).
    pub fn argmax<M: Model<f32>>(
        &mut self,
        name: &str,
        net: &mut M,
        output_shape: &[usize],
        x: ArrayView2<'_, f32>,
        agree: f64,
    ) {
        self.add(
            name,
            net,
            output_shape,
            x,
            format!("\"mode\": \"argmax\", \"agree\": {agree}, \"tol\": 1e-5"),
        );
    }

    fn add<M: Model<f32>>(
        &mut self,
        name: &str,
        net: &mut M,
        output_shape: &[usize],
        x: ArrayView2<'_, f32>,
        mode: String,
    ) {
        let i = self.json.len();
        let file = |ext: &str| self.dir.join(format!("{i}.{ext}"));
        let (onnx, input, expected) = (file("onnx"), file("input"), file("expected"));
        net.save_onnx(&onnx)
            .unwrap_or_else(|e| panic!("{name}: save_onnx: {e}"));
        let y = net
            .predict_batched(x, 256)
            .unwrap_or_else(|e| panic!("{name}: predict: {e}"));
        std::fs::write(&input, bytes(x.iter())).expect("write the input");
        std::fs::write(&expected, bytes(y.iter())).expect("write the prediction");
        let shape: Vec<String> = output_shape.iter().map(usize::to_string).collect();
        let mut case = String::new();
        write!(
            case,
            "{{\"name\": {name:?}, \"onnx\": {:?}, \"input\": {:?}, \"expected\": {:?}, \
             \"rows\": {}, \"output_shape\": [{}], {mode}}}",
            onnx.display().to_string(),
            input.display().to_string(),
            expected.display().to_string(),
            x.nrows(),
            shape.join(", ")
        )
        .expect("write to a String");
        self.json.push(case);
    }

    /// Runs `scripts/check_onnx.py` on the cases with `python`; returns its report, or the
    /// report as the error if a case failed. The files are removed when all is well, unless
    /// `AXONAL_ONNX_KEEP` is set.
    pub fn check(self, python: &Path) -> Result<String, String> {
        let manifest = self.dir.join("manifest.json");
        let text = format!("{{\"cases\": [\n{}\n]}}\n", self.json.join(",\n"));
        std::fs::write(&manifest, text).expect("write the manifest");
        let out = Command::new(python)
            .arg(workspace().join("scripts/check_onnx.py"))
            .arg(&manifest)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            // AXONAL_ONNX_KEEP keeps the models to look at (or to seed the import fuzzer).
            if std::env::var_os("AXONAL_ONNX_KEEP").is_none() {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
            Ok(report)
        } else {
            Err(report)
        }
    }
}

fn bytes<'a>(values: impl Iterator<Item = &'a f32>) -> Vec<u8> {
    values.flat_map(|v| v.to_le_bytes()).collect()
}
