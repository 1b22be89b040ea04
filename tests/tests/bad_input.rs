//! Bad input to the runtime is an `axonal::Error`, never a panic: batches of the wrong width,
//! targets of the wrong kind or count, labels out of range, NaN and infinity, empty data,
//! broken checkpoints and data files. One test per kind of mistake.
//!
//! Non-finite inputs: `forward` and `predict` pass them through as PyTorch does (a NaN in
//! gives a NaN out: no error, no panic); `fit` rejects them with [`Error::Diverged`] naming
//! the dataset sample and column, before any parameter changes.

use std::path::{Path, PathBuf};

use axonal::data::{csv, idx};
use axonal::ndarray::Array2;
use axonal::optim::Sgd;
use axonal::{io, Dataset, Error, Fit, Mode, Model, Targets, TargetsView};

axonal::network! {
    Classifier { input 3; fc1: dense 4 tanh; bn: batchnorm; out: dense 3; softmax_ce }
    Regressor { input 3; fc1: dense 4 tanh; out: dense 2; mse }
    Wider { input 3; fc1: dense 5 tanh; bn: batchnorm; out: dense 3; softmax_ce }
}

fn x(rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |(i, j)| (i as f32 - j as f32) * 0.3)
}

fn weights<M: Model<f32>>(net: &mut M) -> Vec<f32> {
    let mut out = Vec::new();
    net.visit_params(&mut |p| out.extend_from_slice(p.value));
    out
}

/// A fresh, empty directory for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("axonal-bad-input-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_batch_of_the_wrong_width() {
    let mut net = Classifier::<f32>::seeded(0);
    let wide = x(2, 4);
    let is_width = |e: Error| {
        matches!(
            e,
            Error::InputWidth {
                expected: 3,
                found: 4,
                ..
            }
        )
    };
    assert!(is_width(net.forward(wide.view(), Mode::Train).unwrap_err()));
    assert!(is_width(net.forward(wide.view(), Mode::Eval).unwrap_err()));
    assert!(is_width(net.predict(wide.view()).unwrap_err()));
    let data = Dataset::new(wide.clone(), Targets::Labels(vec![0, 1])).unwrap();
    let fit = net.fit(&data, &mut Sgd::new(0.1), Fit::epochs(1).quiet());
    assert!(is_width(fit.unwrap_err()));
    assert!(is_width(net.evaluate(&data, 2).unwrap_err()));
    // backward with another batch than forward's
    net.forward_train(x(2, 3).view()).unwrap();
    net.loss(TargetsView::Labels(&[0, 1])).unwrap();
    assert!(matches!(
        net.backward(x(3, 3).view()),
        Err(Error::BatchMismatch { .. })
    ));
}

#[test]
fn targets_of_the_wrong_kind_count_or_width() {
    let mut clf = Classifier::<f32>::seeded(0);
    clf.forward_train(x(2, 3).view()).unwrap();
    // Class probabilities are fine for softmax_ce (as in PyTorch), but not of another width.
    let values = x(2, 5);
    assert!(matches!(
        clf.loss(TargetsView::Values(values.view())),
        Err(Error::TargetWidth {
            expected: 3,
            found: 5
        })
    ));
    assert!(matches!(
        clf.loss(TargetsView::Labels(&[0, 1, 2])),
        Err(Error::CountMismatch { .. })
    ));
    let mut reg = Regressor::<f32>::seeded(0);
    reg.forward_train(x(2, 3).view()).unwrap();
    assert!(matches!(
        reg.loss(TargetsView::Labels(&[0, 1])),
        Err(Error::TargetKind { .. })
    ));
    let wrong_width = x(2, 3);
    assert!(matches!(
        reg.loss(TargetsView::Values(wrong_width.view())),
        Err(Error::TargetWidth {
            expected: 2,
            found: 3
        })
    ));
    // A dataset whose targets do not match its inputs.
    assert!(matches!(
        Dataset::new(x(3, 3), Targets::Labels(vec![0, 1])),
        Err(Error::CountMismatch {
            inputs: 3,
            targets: 2
        })
    ));
    // fit with the wrong kind of targets for the loss.
    let data = Dataset::new(x(4, 3), Targets::Labels(vec![0, 1, 0, 1])).unwrap();
    let fit = reg.fit(&data, &mut Sgd::new(0.1), Fit::epochs(1).quiet());
    assert!(matches!(fit, Err(Error::TargetKind { .. })), "{fit:?}");
}

#[test]
fn labels_out_of_range() {
    let mut net = Classifier::<f32>::seeded(0);
    net.forward_train(x(2, 3).view()).unwrap();
    assert!(matches!(
        net.loss(TargetsView::Labels(&[0, 3])),
        Err(Error::LabelOutOfRange {
            index: 1,
            label: 3,
            classes: 3
        })
    ));
    assert!(matches!(
        net.loss(TargetsView::Labels(&[usize::MAX, 0])),
        Err(Error::LabelOutOfRange { index: 0, .. })
    ));
    assert!(matches!(
        Targets::<f32>::one_hot(&[0, 7], 3),
        Err(Error::LabelOutOfRange { label: 7, .. })
    ));
    let before = weights(&mut net);
    let data = Dataset::new(x(4, 3), Targets::Labels(vec![0, 1, 2, 9])).unwrap();
    let fit = net.fit(&data, &mut Sgd::new(0.1), Fit::epochs(1).batch(4).quiet());
    assert!(matches!(fit, Err(Error::LabelOutOfRange { .. })), "{fit:?}");
    assert_eq!(weights(&mut net), before, "no step was taken");
    assert!(net.evaluate(&data, 2).is_err());
}

#[test]
fn nan_and_infinity_in_the_inputs() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut net = Classifier::<f32>::seeded(0);
        let mut inputs = x(6, 3);
        inputs[[4, 2]] = bad;
        // forward and predict pass non-finite values through: no panic, no error.
        assert!(net.predict(inputs.view()).is_ok());
        assert!(net.forward(inputs.view(), Mode::Eval).is_ok());
        // fit refuses them, naming the sample and column, before changing any weight.
        let mut net = Classifier::<f32>::seeded(0);
        let before = weights(&mut net);
        let data = Dataset::new(inputs, Targets::Labels(vec![0, 1, 2, 0, 1, 2])).unwrap();
        let fit = net.fit(
            &data,
            &mut Sgd::new(0.1),
            Fit::epochs(1).batch(6).shuffle(false).quiet(),
        );
        match fit {
            Err(e @ Error::Diverged { .. }) => {
                let text = e.to_string();
                assert!(
                    text.contains("sample 4") && text.contains("column 2"),
                    "{text}"
                );
            }
            other => panic!("{bad} in the inputs: {other:?}"),
        }
        assert_eq!(weights(&mut net), before, "{bad}: weights changed");
    }
}

#[test]
fn empty_data() {
    assert!(matches!(
        Dataset::<f32>::new(Array2::zeros((0, 3)), Targets::Labels(vec![])),
        Err(Error::EmptyDataset)
    ));
    let mut net = Classifier::<f32>::seeded(0);
    let empty = Array2::<f32>::zeros((0, 3));
    assert!(matches!(net.predict(empty.view()), Err(Error::EmptyBatch)));
    assert!(matches!(
        net.forward(empty.view(), Mode::Train),
        Err(Error::EmptyBatch)
    ));
    // backward before any forward
    let mut fresh = Classifier::<f32>::seeded(0);
    assert!(fresh.backward(x(2, 3).view()).is_err());
}

#[test]
fn checkpoints_truncated_at_every_length() {
    let mut net = Classifier::<f32>::seeded(0);
    let bytes = io::to_bytes(&mut net).unwrap();
    let before = weights(&mut net);
    let mut other = Classifier::<f32>::seeded(1);
    let other_weights = weights(&mut other);
    for len in 0..bytes.len() {
        assert!(
            io::from_bytes(&mut other, &bytes[..len]).is_err(),
            "a checkpoint cut to {len} of {} bytes loaded",
            bytes.len()
        );
    }
    assert_eq!(
        weights(&mut other),
        other_weights,
        "a failed load changed nothing"
    );
    io::from_bytes(&mut other, &bytes).unwrap();
    assert_eq!(weights(&mut other), before);
}

#[test]
fn checkpoints_corrupted_anywhere() {
    let mut net = Classifier::<f32>::seeded(0);
    let bytes = io::to_bytes(&mut net).unwrap();
    let header = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut target = Classifier::<f32>::seeded(1);
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut broken = bytes.clone();
            broken[i] ^= flip;
            // In the data section the checksum catches every change; in the header a change
            // may still be valid JSON naming the same tensors (a space for a tab): then it
            // must load the same weights. Never a panic.
            if io::from_bytes(&mut target, &broken).is_ok() {
                assert!(i < header, "byte {i} (data) flipped by {flip:#x} loaded");
            }
        }
    }
    // A header length far beyond the file.
    let mut huge = bytes.clone();
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        io::from_bytes(&mut target, &huge),
        Err(Error::InvalidFile { .. })
    ));
    // A header that claims a tensor larger than the file.
    let text = String::from_utf8_lossy(&bytes[8..header]).into_owned();
    let mut lie = text.replacen("\"data_offsets\":[0,", "\"data_offsets\":[0,9999999", 1);
    lie.truncate(text.len());
    let mut lying = bytes[..8].to_vec();
    lying.extend_from_slice(lie.as_bytes());
    lying.extend_from_slice(&bytes[header..]);
    assert!(io::from_bytes(&mut target, &lying).is_err());
}

#[test]
fn checkpoints_of_another_network_or_dtype() {
    let dir = scratch("checkpoints");
    let path = dir.join("net.safetensors");
    io::save(&mut Wider::<f32>::seeded(0), &path).unwrap();
    let mut net = Classifier::<f32>::seeded(0);
    let before = weights(&mut net);
    assert!(matches!(
        io::load(&mut net, &path),
        Err(Error::CheckpointMismatch { .. })
    ));
    io::save(&mut Regressor::<f32>::seeded(0), &path).unwrap();
    assert!(matches!(
        io::load(&mut net, &path),
        Err(Error::CheckpointMismatch { .. })
    ));
    io::save(&mut Classifier::<f64>::seeded(0), &path).unwrap();
    let err = io::load(&mut net, &path).unwrap_err();
    assert!(
        matches!(&err, Error::CheckpointMismatch { problems, .. } if problems.iter().any(|p| p.contains("F64") || p.contains("f64") || p.contains("dtype"))),
        "{err}"
    );
    assert_eq!(weights(&mut net), before, "the network was not changed");
    // Not a checkpoint at all, an empty file, a missing file.
    std::fs::write(&path, b"hello").unwrap();
    assert!(matches!(
        io::load(&mut net, &path),
        Err(Error::InvalidFile { .. })
    ));
    std::fs::write(&path, b"").unwrap();
    assert!(io::load(&mut net, &path).is_err());
    assert!(matches!(
        io::load(&mut net, dir.join("missing.safetensors")),
        Err(Error::MissingFile { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An IDX file: magic, big-endian dimensions, then the bytes.
fn idx_file(path: &Path, magic: u32, dims: &[u32], data: &[u8]) {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn idx_files_truncated_or_with_a_wrong_header() {
    let dir = scratch("idx");
    let images = dir.join("images.idx");
    let labels = dir.join("labels.idx");
    idx_file(&images, 0x0803, &[2, 2, 2], &[0, 64, 128, 255, 1, 2, 3, 4]);
    idx_file(&labels, 0x0801, &[2], &[3, 7]);
    assert_eq!(idx::read_images::<f32>(&images).unwrap().dim(), (2, 4));
    assert_eq!(idx::read_labels(&labels).unwrap(), [3, 7]);

    // Truncated at every length: an error each time.
    let full = std::fs::read(&images).unwrap();
    let cut = dir.join("cut.idx");
    for len in 0..full.len() {
        std::fs::write(&cut, &full[..len]).unwrap();
        assert!(idx::read_images::<f32>(&cut).is_err(), "cut to {len}");
    }
    // Labels given where images are expected, and the other way round.
    assert!(matches!(
        idx::read_images::<f32>(&labels),
        Err(Error::BadMagic { .. })
    ));
    assert!(matches!(
        idx::read_labels(&images),
        Err(Error::BadMagic { .. })
    ));
    // Dimensions that promise more than the file has, including ones whose product overflows.
    idx_file(&cut, 0x0803, &[u32::MAX, u32::MAX, u32::MAX], &[0; 8]);
    assert!(idx::read_images::<f32>(&cut).is_err());
    idx_file(&cut, 0x0803, &[3, 2, 2], &[0; 8]);
    assert!(matches!(
        idx::read_images::<f32>(&cut),
        Err(Error::FileLength { .. })
    ));
    idx_file(&cut, 0x0801, &[5], &[1, 2]);
    assert!(matches!(
        idx::read_labels(&cut),
        Err(Error::FileLength { .. })
    ));
    // Images and labels of different counts.
    idx_file(&cut, 0x0801, &[3], &[1, 2, 3]);
    assert!(matches!(
        idx::read_dataset::<f32>(&images, &cut),
        Err(Error::SampleCountMismatch { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn csv_files_truncated_or_with_a_wrong_header() {
    let dir = scratch("csv");
    let path = dir.join("data.csv");
    let good = "x,y,label\n0.5,1.5,0\n-1,2,1\n";
    std::fs::write(&path, good).unwrap();
    let options = || csv::Options::labels(csv::Column::Last);
    let data = csv::read::<f32>(&path, options().skip(1)).unwrap();
    assert_eq!(data.len(), 2);
    // The header read as data: an error at line 1, column 1.
    assert!(matches!(
        csv::read::<f32>(&path, options()),
        Err(Error::Csv {
            line: 1,
            column: 1,
            ..
        })
    ));
    // Truncated at every byte: an error or fewer rows, never a panic.
    for len in 0..good.len() {
        std::fs::write(&path, &good.as_bytes()[..len]).unwrap();
        if let Ok(data) = csv::read::<f32>(&path, options().skip(1)) {
            assert!(data.len() <= 2);
        }
    }
    // A row cut short, a row too long, a label that is not a class number, NaN targets.
    for (text, line) in [
        ("x,y,label\n0.5,1.5,0\n-1,2\n", 3),
        ("x,y,label\n0.5,1.5,0\n1,2,3,4\n", 3),
        ("x,y,label\n0.5,1.5,-1\n", 2),
        ("x,y,label\n0.5,1.5,abc\n", 2),
    ] {
        std::fs::write(&path, text).unwrap();
        match csv::read::<f32>(&path, options().skip(1)) {
            Err(Error::Csv { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
    // Only a header: no data rows. Invalid UTF-8 and an empty file: errors.
    std::fs::write(&path, "x,y,label\n").unwrap();
    assert!(matches!(
        csv::read::<f32>(&path, options().skip(1)),
        Err(Error::EmptyFile { .. })
    ));
    std::fs::write(&path, b"x,y\xff\n1,2,3\n").unwrap();
    let _ = csv::read::<f32>(&path, options().skip(1)); // either way, no panic
    std::fs::write(&path, "").unwrap();
    assert!(csv::read::<f32>(&path, options()).is_err());
    // A target column beyond the row.
    std::fs::write(&path, "1,2,0\n").unwrap();
    assert!(csv::read::<f32>(&path, csv::Options::labels(csv::Column::Index(9))).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
