//! Checkpoints (`axonal::io`): round trips give bit-identical predictions; every mismatch of
//! names, shapes and dtype is listed in one error and leaves the network untouched; truncated
//! and corrupted files are errors, not panics; an interrupted save leaves the old checkpoint.
//!
//! `export_for_pytorch` also writes a checkpoint with inputs and predictions for
//! `scripts/load_in_pytorch.py`, which loads them into the equivalent PyTorch modules
//! (`nn.Sequential`s, and nested modules for the network of blocks).

use std::path::{Path, PathBuf};

use axonal::ndarray::{Array2, ArrayView2};
use axonal::{io, Error, Float, Mode, Model};

axonal::network! {
    /// The network `scripts/load_in_pytorch.py` rebuilds in PyTorch: keep the two in step.
    Classifier {
        input 6;
        fc1: dense 16 relu;
        bn1: batchnorm;
        dropout 0.25;
        fc2: dense 12 tanh;
        bn2: batchnorm momentum=0.2 eps=1e-3;
        fc3: dense 8 sigmoid;
        out: dense 3;
        softmax_ce
    }

    /// The convolutional network `scripts/load_in_pytorch.py` rebuilds in PyTorch (Conv2d,
    /// BatchNorm2d, MaxPool2d, AvgPool2d, Flatten, Linear): keep the two in step.
    Cnn {
        input 2x8x8;
        conv1: conv2d 2->4 k=3 pad=1 relu;
        bn1: batchnorm;
        maxpool 2;
        conv2: conv2d 6 k=3 pad=same tanh;
        avgpool 2;
        flatten;
        out: dense 3;
        softmax_ce
    }

    /// The residual network `scripts/load_in_pytorch.py` rebuilds in PyTorch as nested
    /// modules (a `repeat` as an nn.Sequential of residual modules, a residual module with
    /// `conv1`, `bn1`, …, `shortcut`, a concat module with its branches): keep the two in step.
    Res {
        input 2x8x8;
        stem: conv2d 4 k=3 pad=1;
        bn: batchnorm;
        relu;
        stage1: repeat 2 {
            residual relu {
                conv1: conv2d 4 k=3 pad=1; bn1: batchnorm; relu;
                conv2: conv2d 4 k=3 pad=1; bn2: batchnorm
            }
        }
        down: residual relu {
            conv1: conv2d 6 k=3 stride=2 pad=1; bn1: batchnorm; relu;
            conv2: conv2d 6 k=3 pad=1; bn2: batchnorm
        } shortcut: {
            conv2d 6 k=1 stride=2; batchnorm
        }
        towers: concat narrow: { conv2d 3 k=1 } wide: { conv2d 5 k=3 pad=1 tanh }
        global_avgpool;
        fc: dense 3;
        softmax_ce
    }

    /// Classifier with `fc2` one unit wider and `out` renamed `head`.
    Other {
        input 6;
        fc1: dense 16 relu;
        bn1: batchnorm;
        dropout 0.25;
        fc2: dense 13 tanh;
        bn2: batchnorm momentum=0.2 eps=1e-3;
        fc3: dense 8 sigmoid;
        head: dense 3;
        softmax_ce
    }
}

/// A fresh, empty directory for one test under cargo's temporary directory.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("checkpoints")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Deterministic inputs with varied signs and scales.
fn inputs<F: Float>(rows: usize) -> Array2<F> {
    Array2::from_shape_fn((rows, 6), |(i, j)| {
        F::from_f64(((i * 7 + j * 13) % 17) as f64 / 4.0 - 2.0 + 0.1 * j as f64)
    })
}

/// A network whose every parameter and buffer differs from a freshly built one: seeded,
/// parameters shifted, and a few training-mode forward passes to move the running statistics.
fn trained<F: Float>(seed: u64) -> Classifier<F> {
    let mut net = Classifier::<F>::seeded(seed);
    shift_and_run(&mut net, inputs::<F>);
    net
}

/// [`trained`] for [`Cnn`].
fn trained_cnn<F: Float>(seed: u64) -> Cnn<F> {
    let mut net = Cnn::<F>::seeded(seed);
    shift_and_run(&mut net, image_inputs::<F>);
    net
}

/// [`trained`] for [`Res`].
fn trained_res<F: Float>(seed: u64) -> Res<F> {
    let mut net = Res::<F>::seeded(seed);
    shift_and_run(&mut net, image_inputs::<F>);
    net
}

/// Deterministic `[rows, 2·8·8]` images with varied signs and scales.
fn image_inputs<F: Float>(rows: usize) -> Array2<F> {
    Array2::from_shape_fn((rows, 128), |(i, j)| {
        F::from_f64(((i * 7 + j * 13) % 17) as f64 / 4.0 - 2.0 + 0.01 * j as f64)
    })
}

/// Shifts every parameter by a small, varied amount, then runs a few training-mode forward
/// passes on `inputs` to move the running statistics.
fn shift_and_run<F: Float, M: Model<F>>(net: &mut M, inputs: fn(usize) -> Array2<F>) {
    let mut k = 0.0;
    net.visit_params(&mut |p| {
        for v in p.value.iter_mut() {
            k += 1.0;
            *v += F::from_f64(0.01 * (k * 0.7f64).sin());
        }
    });
    for rows in [32, 20, 32] {
        net.forward(inputs(rows).view(), Mode::Train).unwrap();
    }
}

/// Every parameter and buffer value, in visiting order.
fn state<F: Float, M: Model<F>>(net: &mut M) -> Vec<F> {
    let mut all = Vec::new();
    net.visit_params(&mut |p| all.extend_from_slice(p.value));
    net.visit_buffers(&mut |b| all.extend_from_slice(b.value));
    all
}

/// The temporary files of saves to `path` in its directory (`NAME.*.tmp`).
fn temporaries(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(&format!("{name}.")) && n.ends_with(".tmp")
        })
        .collect()
}

fn bits<F: Float>(x: ArrayView2<'_, F>) -> Vec<u64> {
    x.iter().map(|v| v.as_f64().to_bits()).collect()
}

fn round_trip<F: Float>(test: &str) {
    let path = scratch_dir(test).join("classifier.safetensors");
    let x = inputs::<F>(9);
    let mut net = trained::<F>(1);
    let want = net.predict(x.view()).unwrap();
    io::save(&mut net, &path).unwrap();
    assert_eq!(
        temporaries(&path),
        Vec::<PathBuf>::new(),
        "no temporary file left"
    );

    let mut fresh = Classifier::<F>::seeded(2);
    assert_ne!(
        bits(fresh.predict(x.view()).unwrap().view()),
        bits(want.view())
    );
    io::load(&mut fresh, &path).unwrap();
    assert_eq!(
        bits(fresh.predict(x.view()).unwrap().view()),
        bits(want.view())
    );
    assert_eq!(state(&mut fresh), state(&mut net));
    assert_eq!(
        (
            fresh.bn2.running_mean.clone(),
            fresh.bn2.running_var.clone()
        ),
        (net.bn2.running_mean.clone(), net.bn2.running_var.clone())
    );

    // Through a trait object, and in memory.
    let dynamic: &mut dyn Model<F> = &mut fresh;
    io::save(dynamic, &path).unwrap();
    let bytes = io::to_bytes(&mut net).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "saving is deterministic"
    );
    let mut third = Classifier::<F>::seeded(3);
    io::from_bytes(&mut third, &bytes).unwrap();
    assert_eq!(
        bits(third.predict(x.view()).unwrap().view()),
        bits(want.view())
    );
}

#[test]
fn round_trip_f32_gives_bit_identical_predictions() {
    round_trip::<f32>("round_trip_f32");
}

#[test]
fn round_trip_f64_gives_bit_identical_predictions() {
    round_trip::<f64>("round_trip_f64");
}

#[test]
fn a_network_of_blocks_round_trips_under_nested_names() {
    let path = scratch_dir("res_round_trip").join("res.safetensors");
    let x = image_inputs::<f32>(6);
    let mut net = trained_res::<f32>(1);
    let want = net.predict(x.view()).unwrap();
    io::save(&mut net, &path).unwrap();
    let mut fresh = Res::<f32>::seeded(2);
    assert_ne!(
        bits(fresh.predict(x.view()).unwrap().view()),
        bits(want.view())
    );
    io::load(&mut fresh, &path).unwrap();
    assert_eq!(
        bits(fresh.predict(x.view()).unwrap().view()),
        bits(want.view())
    );
    assert_eq!(state(&mut fresh), state(&mut net));

    let bytes = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    for (name, shape) in [
        ("stage1.0.conv1.weight", serde_json::json!([4, 4, 3, 3])),
        ("stage1.1.bn2.running_var", serde_json::json!([4])),
        (
            "down.shortcut.conv2d0.weight",
            serde_json::json!([6, 4, 1, 1]),
        ),
        (
            "down.shortcut.batchnorm1.running_mean",
            serde_json::json!([6]),
        ),
        (
            "towers.wide.conv2d0.weight",
            serde_json::json!([5, 6, 3, 3]),
        ),
        ("fc.weight", serde_json::json!([3, 8])),
    ] {
        assert_eq!(header[name]["shape"], shape, "{name}");
    }
}

#[test]
fn names_shapes_and_metadata_are_pytorch_style() {
    let bytes = io::to_bytes(&mut trained::<f32>(1)).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let shape = |name: &str| {
        assert_eq!(header[name]["dtype"], "F32", "{name}");
        header[name]["shape"].clone()
    };
    assert_eq!(
        shape("fc1.weight"),
        serde_json::json!([16, 6]),
        "[out, in] like nn.Linear"
    );
    assert_eq!(shape("fc1.bias"), serde_json::json!([16]));
    assert_eq!(shape("bn1.weight"), serde_json::json!([16]));
    assert_eq!(shape("bn1.running_mean"), serde_json::json!([16]));
    assert_eq!(shape("bn2.running_var"), serde_json::json!([12]));
    assert_eq!(shape("out.weight"), serde_json::json!([3, 8]));
    let meta = &header["__metadata__"];
    assert_eq!(meta["network"], "Classifier");
    assert_eq!(meta["dtype"], "F32");
    assert_eq!(meta["format"], "pt");
    // 4 dense layers and 2 batchnorms: 2 + 2 tensors each, plus 2 buffers per batchnorm.
    let names = header
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "__metadata__");
    assert_eq!(names.count(), 4 * 2 + 2 * 4);
    // The weights are stored row-major [out, in]: element (o, i) at (o · IN + i) · 4 bytes.
    let net = trained::<f32>(1);
    let start = 8 + n + header["fc1.weight"]["data_offsets"][0].as_u64().unwrap() as usize;
    let at = |o: usize, i: usize| {
        let k = start + 4 * (o * 6 + i);
        f32::from_le_bytes(bytes[k..k + 4].try_into().unwrap())
    };
    for (o, i) in [(0, 0), (2, 5), (15, 1)] {
        assert_eq!(at(o, i), net.fc1.weight[[o, i]], "({o}, {i})");
    }
}

#[test]
fn a_checkpoint_of_another_network_lists_every_mismatch_and_changes_nothing() {
    let path = scratch_dir("mismatch").join("classifier.safetensors");
    io::save(&mut trained::<f32>(1), &path).unwrap();
    let mut other = Other::<f32>::seeded(5);
    let before = state(&mut other);
    let e = io::load(&mut other, &path).unwrap_err();
    let Error::CheckpointMismatch {
        path: p,
        network,
        problems,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!((p, *network), (&path, "Other"));
    assert_eq!(
        problems,
        &[
            "fc2.weight: shape [12, 16] in the checkpoint, [13, 16] in the network",
            "fc2.bias: shape [12] in the checkpoint, [13] in the network",
            "bn2.weight: shape [12] in the checkpoint, [13] in the network",
            "bn2.bias: shape [12] in the checkpoint, [13] in the network",
            "fc3.weight: shape [8, 12] in the checkpoint, [8, 13] in the network",
            "head.weight: missing from the checkpoint (the network's has shape [3, 8])",
            "head.bias: missing from the checkpoint (the network's has shape [3])",
            "bn2.running_mean: shape [12] in the checkpoint, [13] in the network",
            "bn2.running_var: shape [12] in the checkpoint, [13] in the network",
            "out.bias: in the checkpoint (shape [3], F32) but not in the network",
            "out.weight: in the checkpoint (shape [3, 8], F32) but not in the network",
        ]
        .map(String::from)
    );
    let msg = e.to_string();
    assert!(
        msg.contains("11 problem(s)") && msg.contains("not changed"),
        "{msg}"
    );
    assert_eq!(state(&mut other), before, "the network is untouched");
}

#[test]
fn a_checkpoint_of_another_dtype_is_an_error() {
    let path = scratch_dir("dtype").join("classifier_f64.safetensors");
    io::save(&mut trained::<f64>(1), &path).unwrap();
    let mut net = Classifier::<f32>::seeded(4);
    let before = state(&mut net);
    match io::load(&mut net, &path) {
        Err(Error::CheckpointMismatch { problems, .. }) => {
            assert_eq!(problems.len(), 16, "{problems:#?}");
            assert!(problems
                .iter()
                .all(|p| p.contains("dtype F64 in the checkpoint, F32 in the network")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(state(&mut net), before);
}

#[test]
fn truncated_and_corrupted_files_are_errors_not_panics() {
    let dir = scratch_dir("corrupt");
    let good = io::to_bytes(&mut trained::<f32>(1)).unwrap();
    let header_end = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let mut net = Classifier::<f32>::seeded(6);
    let mut before = state(&mut net);
    let path = dir.join("bad.safetensors");

    // Every truncation.
    for len in 0..good.len() {
        let e = io::from_bytes(&mut net, &good[..len]).unwrap_err();
        assert!(
            matches!(e, Error::InvalidFile { .. }),
            "cut at {len}: {e:?}"
        );
    }
    // Every single-byte corruption: never a panic; in the length prefix and the tensor data
    // always an error (the data by the checksum). A flip inside the header's metadata (the
    // network's name, say) may leave a valid file.
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x24;
        let result = io::from_bytes(&mut net, &bad);
        if i < 8 || i >= header_end {
            assert!(
                matches!(result, Err(Error::InvalidFile { .. })),
                "byte {i}: {result:?}"
            );
        }
        if result.is_err() {
            assert_eq!(
                state(&mut net),
                before,
                "byte {i}: the network is untouched"
            );
        } else {
            before = state(&mut net);
        }
    }
    // The same through files: a truncated one, garbage, a huge header length, a missing file.
    std::fs::write(&path, &good[..good.len() - 1]).unwrap();
    assert!(matches!(
        io::load(&mut net, &path),
        Err(Error::InvalidFile { .. })
    ));
    std::fs::write(&path, b"not a checkpoint at all").unwrap();
    assert!(matches!(
        io::load(&mut net, &path),
        Err(Error::InvalidFile { .. })
    ));
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend(b"{}");
    std::fs::write(&path, &huge).unwrap();
    assert!(matches!(
        io::load(&mut net, &path),
        Err(Error::InvalidFile { .. })
    ));
    let e = io::load(&mut net, dir.join("absent.safetensors")).unwrap_err();
    assert!(matches!(e, Error::MissingFile { .. }), "{e:?}");
    assert!(io::from_bytes(&mut net, &good[..100]).is_err());
}

#[test]
fn an_interrupted_save_leaves_the_old_checkpoint() {
    let dir = scratch_dir("interrupted");
    let path = dir.join("model.safetensors");
    let x = inputs::<f32>(5);
    let mut old = trained::<f32>(1);
    io::save(&mut old, &path).unwrap();
    let old_bytes = std::fs::read(&path).unwrap();

    // A save killed while writing leaves a partial temporary file beside the old file.
    let mut new = trained::<f32>(2);
    let new_bytes = io::to_bytes(&mut new).unwrap();
    let stale = dir.join("model.safetensors.12345.0.0badcafe.tmp");
    std::fs::write(&stale, &new_bytes[..new_bytes.len() / 2]).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), old_bytes);
    let mut loaded = Classifier::<f32>::seeded(9);
    io::load(&mut loaded, &path).unwrap();
    assert_eq!(
        bits(loaded.predict(x.view()).unwrap().view()),
        bits(old.predict(x.view()).unwrap().view())
    );

    // The next save replaces the old checkpoint, and leaves the stale temporary alone (it
    // cannot know that no other save is still writing it).
    io::save(&mut new, &path).unwrap();
    assert_eq!(temporaries(&path), [stale]);
    assert_eq!(std::fs::read(&path).unwrap(), new_bytes);

    // A save that cannot write (no such directory) is an error and touches nothing.
    let e = io::save(&mut new, dir.join("missing/model.safetensors")).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Io {
                action: "write",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), new_bytes);
}

/// Writes `classifier_f32.safetensors`, `classifier_f64.safetensors`, the same for `Cnn`
/// (`cnn_f32`, `cnn_f64`) and `Res` (`res_f32`, `res_f64`), and `predictions.json` (inputs
/// and our eval-mode predictions for each) into `$AXONAL_EXPORT_DIR`, or cargo's
/// temporary directory. `scripts/load_in_pytorch.py` runs this test and checks that PyTorch
/// predicts the same from our checkpoints.
#[test]
fn export_for_pytorch() {
    let dir = match std::env::var_os("AXONAL_EXPORT_DIR") {
        Some(d) => PathBuf::from(d),
        None => scratch_dir("export_for_pytorch"),
    };
    std::fs::create_dir_all(&dir).unwrap();
    let x64 = inputs::<f64>(11);
    let mut net64 = trained::<f64>(11);
    let mut net32 = trained::<f32>(11);
    io::save(&mut net64, dir.join("classifier_f64.safetensors")).unwrap();
    io::save(&mut net32, dir.join("classifier_f32.safetensors")).unwrap();
    let rows = |a: Array2<f64>| a.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    let p32 = net32.predict(x64.mapv(|v| v as f32).view()).unwrap();
    // The CNN: checkpoint tensors with PyTorch's shapes (`conv1.weight` [4, 2, 3, 3]).
    let images = image_inputs::<f64>(7);
    let mut cnn64 = trained_cnn::<f64>(12);
    let mut cnn32 = trained_cnn::<f32>(12);
    io::save(&mut cnn64, dir.join("cnn_f64.safetensors")).unwrap();
    io::save(&mut cnn32, dir.join("cnn_f32.safetensors")).unwrap();
    let c32 = cnn32.predict(images.mapv(|v| v as f32).view()).unwrap();
    let cnn = serde_json::json!({
        "network": "Cnn (runtime/tests/checkpoints.rs)",
        "inputs": rows(images.clone()),
        "predictions_f64": rows(cnn64.predict(images.view()).unwrap()),
        "predictions_f32": rows(c32.mapv(f64::from)),
    });
    // The residual network: nested names (`stage1.0.conv1.weight`).
    let mut res64 = trained_res::<f64>(13);
    let mut res32 = trained_res::<f32>(13);
    io::save(&mut res64, dir.join("res_f64.safetensors")).unwrap();
    io::save(&mut res32, dir.join("res_f32.safetensors")).unwrap();
    let r32 = res32.predict(images.mapv(|v| v as f32).view()).unwrap();
    let res = serde_json::json!({
        "network": "Res (runtime/tests/checkpoints.rs)",
        "inputs": rows(images.clone()),
        "predictions_f64": rows(res64.predict(images.view()).unwrap()),
        "predictions_f32": rows(r32.mapv(f64::from)),
    });
    let json = serde_json::json!({
        "network": "Classifier (runtime/tests/checkpoints.rs)",
        "inputs": rows(x64.clone()),
        "predictions_f64": rows(net64.predict(x64.view()).unwrap()),
        "predictions_f32": rows(p32.mapv(f64::from)),
        "cnn": cnn,
        "res": res,
    });
    std::fs::write(dir.join("predictions.json"), json.to_string()).unwrap();
}
