//! The IDX and CSV readers: on small files each test writes itself (valid, truncated, wrong
//! magic, gzipped and raw, malformed CSV), and on the real MNIST, Fashion-MNIST and
//! scikit-learn files in `../shared/data` when that directory is present.

use std::io::Write;
use std::path::{Path, PathBuf};

use axonal::data::{csv, idx};
use axonal::ndarray::array;
use axonal::{Error, TargetsView};
use flate2::write::GzEncoder;
use flate2::Compression;

/// A fresh, empty directory for one test under cargo's temporary directory.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("data_readers")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The shared data directory (`../shared/data` from the repository root), if present; in CI
/// (`CI` set) it must be, so a missing directory fails there instead of skipping.
fn shared_data(sub: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is absent in CI: the tests on real data must run there",
            dir.display()
        );
        println!(
            "note: {} is absent; skipping the test on real data",
            dir.display()
        );
        None
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// An IDX images file with the given header fields and pixels (written as given: the header
/// may lie about the pixel count).
fn images_bytes(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0x0000_0803u32, count, rows, cols] {
        b.extend(v.to_be_bytes());
    }
    b.extend(pixels);
    b
}

fn labels_bytes(count: u32, labels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0x0000_0801u32, count] {
        b.extend(v.to_be_bytes());
    }
    b.extend(labels);
    b
}

/// Three 2×3 images: image i has pixels 100 i + j, except image 2 whose first pixel is 255.
fn three_images() -> Vec<u8> {
    let mut px: Vec<u8> = (0..3u8)
        .flat_map(|i| (0..6u8).map(move |j| 100 * i + j))
        .collect();
    px[12] = 255;
    images_bytes(3, 2, 3, &px)
}

#[test]
fn idx_raw_and_gz_read_the_same_whatever_the_file_name() {
    let dir = scratch_dir("raw_and_gz");
    let raw_images = three_images();
    let raw_labels = labels_bytes(3, &[7, 0, 9]);
    // Compression is detected from the content: a raw file named .gz and a gzipped file
    // without the suffix both read.
    let paths = [
        (
            write(&dir, "a-images", &raw_images),
            write(&dir, "a-labels", &raw_labels),
        ),
        (
            write(&dir, "b-images.gz", &gzip(&raw_images)),
            write(&dir, "b-labels.gz", &gzip(&raw_labels)),
        ),
        (
            write(&dir, "c-images.gz", &raw_images),
            write(&dir, "c-labels", &gzip(&raw_labels)),
        ),
    ];
    for (images, labels) in paths {
        let u8s = idx::read_images_u8(&images).unwrap();
        assert_eq!(u8s.dim(), (3, 2, 3));
        assert_eq!(u8s[[1, 1, 2]], 105);
        assert_eq!(u8s[[2, 0, 0]], 255);

        let x = idx::read_images::<f64>(&images).unwrap();
        assert_eq!(x.dim(), (3, 6));
        assert_eq!(
            x.row(0).to_vec(),
            [0., 1., 2., 3., 4., 5.].map(|p| p / 255.0)
        );
        assert_eq!(x[[1, 5]], 105.0 / 255.0);
        assert_eq!(x[[2, 0]], 1.0, "255 scales to exactly 1");
        assert_eq!(idx::read_labels(&labels).unwrap(), vec![7, 0, 9]);

        let data = idx::read_dataset::<f32>(&images, &labels).unwrap();
        assert_eq!((data.len(), data.input_width()), (3, 6));
        assert!(matches!(data.targets(), TargetsView::Labels(l) if l == [7, 0, 9]));
    }
}

#[test]
fn idx_wrong_magic_says_what_was_found_and_expected() {
    let dir = scratch_dir("magic");
    let labels = write(&dir, "labels", &labels_bytes(3, &[1, 2, 3]));
    let images = write(&dir, "images.gz", &gzip(&three_images()));
    let text = write(&dir, "notes.txt", b"hello, this is not an IDX file");

    let e = idx::read_images::<f32>(&labels).unwrap_err();
    assert_eq!(
        e,
        Error::BadMagic {
            path: labels.clone(),
            what: "images",
            expected: 0x803,
            found: 0x801
        }
    );
    let msg = e.to_string();
    assert!(
        msg.contains("0x00000801") && msg.contains("0x00000803") && msg.contains("labels file"),
        "{msg}"
    );

    // A gzipped images file given as labels: the magic is checked after decompression.
    assert!(matches!(
        idx::read_labels(&images),
        Err(Error::BadMagic {
            expected: 0x801,
            found: 0x803,
            ..
        })
    ));
    assert!(matches!(
        idx::read_labels(&text),
        Err(Error::BadMagic {
            found: 0x68656c6c,
            ..
        }) // "hell"
    ));
}

#[test]
fn idx_truncated_or_overlong_files_say_how_many_bytes() {
    let dir = scratch_dir("truncated");
    let full = three_images(); // 16 + 18 bytes
    assert_eq!(full.len(), 34);
    for (name, bytes) in [("raw", full[..33].to_vec()), ("gz", gzip(&full[..33]))] {
        let path = write(&dir, name, &bytes);
        let e = idx::read_images::<f32>(&path).unwrap_err();
        assert_eq!(
            e,
            Error::FileLength {
                path: path.clone(),
                expected: 34,
                found: 33
            },
            "{name}"
        );
        assert!(e.to_string().contains("is truncated"), "{e}");
    }
    // Cut inside the header, and an empty file.
    let path = write(&dir, "header", &full[..10]);
    assert_eq!(
        idx::read_images::<f32>(&path),
        Err(Error::FileLength {
            path: path.clone(),
            expected: 16,
            found: 10
        })
    );
    let path = write(&dir, "empty", b"");
    assert_eq!(
        idx::read_labels(&path),
        Err(Error::FileLength {
            path: path.clone(),
            expected: 8,
            found: 0
        })
    );
    // Trailing bytes after the data the header describes.
    let mut long = full.clone();
    long.extend([1, 2, 3]);
    for (name, bytes) in [("long", long.clone()), ("long.gz", gzip(&long))] {
        let path = write(&dir, name, &bytes);
        let e = idx::read_images::<f32>(&path).unwrap_err();
        assert_eq!(
            e,
            Error::FileLength {
                path,
                expected: 34,
                found: 37
            }
        );
        assert!(e.to_string().contains("trailing bytes"), "{e}");
    }
}

#[test]
fn idx_corrupt_gzip_is_an_error() {
    let dir = scratch_dir("corrupt_gz");
    let gz = gzip(&three_images());
    // The compressed stream cut short (its CRC and length trailer and some data missing).
    let path = write(&dir, "cut.gz", &gz[..gz.len() - 10]);
    let e = idx::read_images::<f32>(&path).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::InvalidFile { format: "gzip", .. } | Error::FileLength { .. }
        ),
        "{e:?}"
    );
    // Bytes flipped inside the deflate data.
    let mut bad = gz.clone();
    for b in &mut bad[12..20] {
        *b ^= 0x5a;
    }
    let path = write(&dir, "flipped.gz", &bad);
    assert!(idx::read_images::<f32>(&path).is_err());
}

#[test]
fn idx_header_counts_are_not_trusted_beyond_the_file() {
    let dir = scratch_dir("huge_header");
    // 4 billion images of 65535 × 65535 pixels claimed by a 20-byte file: an error at once,
    // without trying to allocate (which would abort the test). The raw file's length is
    // compared first; a .gz's cannot be known without decompressing, so its claim is refused
    // as over the limit before anything is.
    let liar = images_bytes(u32::MAX, 65535, 65535, &[1, 2, 3, 4]);
    let claimed = u64::from(u32::MAX) * 65535 * 65535;
    let path = write(&dir, "liar", &liar);
    match idx::read_images::<f32>(&path) {
        Err(Error::FileLength {
            expected, found, ..
        }) => {
            assert_eq!(found, 20);
            assert_eq!(expected, 16 + claimed);
        }
        other => panic!("{other:?}"),
    }
    let path = write(&dir, "liar.gz", &gzip(&liar));
    match idx::read_images::<f32>(&path) {
        Err(Error::FileTooLarge { size, limit, .. }) => {
            assert_eq!((size, limit), (Some(claimed), idx::MAX_DATA_BYTES));
        }
        other => panic!("{other:?}"),
    }
    let path = write(&dir, "labels", &labels_bytes(u32::MAX, &[1, 2]));
    assert_eq!(
        idx::read_labels(&path),
        Err(Error::FileLength {
            path,
            expected: 8 + u64::from(u32::MAX),
            found: 10
        })
    );
}

#[test]
fn load_mnist_reads_the_standard_names_and_checks_counts() {
    let dir = scratch_dir("mnist_like");
    let images = three_images();
    // Train gzipped, test raw: both forms are found.
    write(&dir, "train-images-idx3-ubyte.gz", &gzip(&images));
    write(
        &dir,
        "train-labels-idx1-ubyte.gz",
        &gzip(&labels_bytes(3, &[1, 2, 3])),
    );
    write(&dir, "t10k-images-idx3-ubyte", &images);
    write(&dir, "t10k-labels-idx1-ubyte", &labels_bytes(3, &[4, 5, 6]));
    let (train, test) = idx::load_mnist::<f32>(&dir).unwrap();
    assert!(matches!(train.targets(), TargetsView::Labels(l) if l == [1, 2, 3]));
    assert!(matches!(test.targets(), TargetsView::Labels(l) if l == [4, 5, 6]));
    assert_eq!(train.inputs(), test.inputs());

    // Two labels for three images.
    let labels = write(&dir, "t10k-labels-idx1-ubyte", &labels_bytes(2, &[4, 5]));
    let e = idx::load_mnist::<f32>(&dir).unwrap_err();
    assert_eq!(
        e,
        Error::SampleCountMismatch {
            images_path: dir.join("t10k-images-idx3-ubyte"),
            images: 3,
            labels_path: labels,
            labels: 2
        }
    );
    assert!(
        e.to_string().contains("3 images") && e.to_string().contains("2 labels"),
        "{e}"
    );

    // A missing file: its path and where to get MNIST.
    std::fs::remove_file(dir.join("train-labels-idx1-ubyte.gz")).unwrap();
    let e = idx::load_mnist::<f32>(&dir).unwrap_err();
    let Error::MissingFile { path, hint } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(path, &dir.join("train-labels-idx1-ubyte.gz"));
    assert!(
        hint.contains("MNIST") && hint.contains("AXONAL_DATA"),
        "{hint}"
    );
    // A missing directory.
    let e = idx::load_mnist::<f32>(dir.join("nope")).unwrap_err();
    assert!(matches!(e, Error::MissingFile { .. }), "{e:?}");
    assert!(matches!(
        idx::read_labels(dir.join("nope.gz")),
        Err(Error::MissingFile { .. })
    ));
}

/// Samples per class.
fn class_counts(labels: TargetsView<'_, f32>) -> Vec<usize> {
    let TargetsView::Labels(labels) = labels else {
        panic!("labels expected")
    };
    let mut counts = vec![0; 10];
    for &l in labels {
        counts[l] += 1;
    }
    counts
}

/// Mean pixel over a whole dataset (f64 sum).
fn mean_pixel(data: &axonal::Dataset<f32>) -> f64 {
    let x = data.inputs();
    x.iter().map(|&v| f64::from(v)).sum::<f64>() / x.len() as f64
}

#[test]
fn real_mnist() {
    let Some(dir) = shared_data("mnist") else {
        return;
    };
    let (train, test) = idx::load_mnist::<f32>(&dir).unwrap();
    assert_eq!((train.len(), train.input_width()), (60000, 784));
    assert_eq!((test.len(), test.input_width()), (10000, 784));
    // Per-class counts from ../shared/data/README.md.
    assert_eq!(
        class_counts(train.targets()),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        class_counts(test.targets()),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    // The first training digit is a 5 and the first test digit a 7 (as every MNIST loader
    // shows); the mean pixel of the training set is the well-known normalisation constant
    // 0.1307 (torchvision's `Normalize((0.1307,), (0.3081,))`).
    assert!(matches!(train.targets(), TargetsView::Labels(l) if l[0] == 5));
    assert!(matches!(test.targets(), TargetsView::Labels(l) if l[0] == 7));
    let mean = mean_pixel(&train);
    assert!((mean - 0.1307).abs() < 5e-5, "mean pixel {mean}");
    let (lo, hi) = train
        .inputs()
        .iter()
        .fold((1.0f32, 0.0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    assert_eq!((lo, hi), (0.0, 1.0));
}

#[test]
fn real_fashion_mnist() {
    let Some(dir) = shared_data("fashion-mnist") else {
        return;
    };
    let (train, test) = idx::load_mnist::<f32>(&dir).unwrap();
    assert_eq!((train.len(), train.input_width()), (60000, 784));
    assert_eq!(class_counts(train.targets()), [6000; 10]);
    assert_eq!(class_counts(test.targets()), [1000; 10]);
    // Fashion-MNIST's commonly quoted mean pixel, 0.2860.
    let mean = mean_pixel(&train);
    assert!((mean - 0.2860).abs() < 5e-5, "mean pixel {mean}");
}

// ---------------------------------------------------------------------------------------
// CSV

fn csv_file(test: &str, text: &str) -> PathBuf {
    write(&scratch_dir(test), "data.csv", text.as_bytes())
}

#[test]
fn csv_labels_last_with_header_blank_lines_crlf_and_spaces() {
    let path = csv_file(
        "csv_basic",
        "3,2,a,b\r\n1.5, -2e-1 ,0\r\n\r\n3,4,2\n  \n-0.25,1e3,1.0\n",
    );
    let d = csv::read::<f64>(&path, csv::Options::labels(csv::Column::Last).skip(1)).unwrap();
    assert_eq!(d.inputs(), array![[1.5, -0.2], [3.0, 4.0], [-0.25, 1000.0]]);
    assert!(matches!(d.targets(), TargetsView::Labels(l) if l == [0, 2, 1]));
    // The default is the same (labels in the last column), apart from the skipped line.
    assert_eq!(
        csv::Options::default().skip(1),
        csv::Options::labels(csv::Column::Last).skip(1)
    );
}

#[test]
fn csv_values_and_other_target_columns() {
    let path = csv_file("csv_values", "0.5;1;2\n-1.5;3;4\n");
    let opts = csv::Options::values(csv::Column::First).delimiter(';');
    let d = csv::read::<f32>(&path, opts).unwrap();
    assert_eq!(d.inputs(), array![[1.0f32, 2.0], [3.0, 4.0]]);
    assert!(matches!(d.targets(), TargetsView::Values(v) if v == array![[0.5f32], [-1.5]]));

    let path = csv_file("csv_middle", "1,7,2\n3,8,4\n");
    let d = csv::read::<f64>(&path, csv::Options::labels(csv::Column::Index(1))).unwrap();
    assert_eq!(d.inputs(), array![[1.0, 2.0], [3.0, 4.0]]);
    assert!(matches!(d.targets(), TargetsView::Labels(l) if l == [7, 8]));
}

/// The error of reading `text` with labels in the last column, after `skip` lines.
fn csv_error(test: &str, text: &str, skip: usize) -> Error {
    let path = csv_file(test, text);
    csv::read::<f64>(&path, csv::Options::default().skip(skip)).unwrap_err()
}

/// Line, column and message of an `Error::Csv`.
fn at(e: Error) -> (usize, usize, String) {
    match e {
        Error::Csv {
            line,
            column,
            message,
            ..
        } => (line, column, message),
        other => panic!("a CSV error expected, got {other:?}"),
    }
}

#[test]
fn csv_errors_name_line_and_column() {
    let (line, column, msg) = at(csv_error("nan_text", "h\n1,2,0\n3,x4,1\n", 1));
    assert_eq!((line, column), (3, 2));
    assert!(msg.contains("`x4` is not a number"), "{msg}");

    let (line, column, msg) = at(csv_error("ragged", "1,2,0\n\n3,1\n", 0));
    assert_eq!((line, column), (3, 3));
    assert!(
        msg.contains("2 fields") && msg.contains("line 1") && msg.contains("has 3"),
        "{msg}"
    );
    let (line, column, _) = at(csv_error("ragged_long", "1,2,0\n3,1,1,9\n", 0));
    assert_eq!((line, column), (2, 4));

    let (line, column, msg) = at(csv_error("nonfinite", "1,2,0\nnan,1,1\n", 0));
    assert_eq!((line, column), (2, 1));
    assert!(msg.contains("not a finite number"), "{msg}");
    let (_, column, _) = at(csv_error("inf", "1,inf,0\n", 0));
    assert_eq!(column, 2);

    let (line, column, msg) = at(csv_error("empty_field", "1,,0\n", 0));
    assert_eq!((line, column), (1, 2));
    assert!(msg.contains("empty"), "{msg}");

    for (test, label) in [("fraction", "1.5"), ("negative", "-1")] {
        let (line, column, msg) = at(csv_error(test, &format!("1,2,0\n1,2,{label}\n"), 0));
        assert_eq!((line, column), (2, 3), "{label}");
        assert!(msg.contains("not a class label"), "{msg}");
    }

    let (line, _, msg) = at(csv_error("one_column", "1\n2\n", 0));
    assert_eq!(line, 1);
    assert!(msg.contains("at least two fields"), "{msg}");

    let path = csv_file("no_column", "1,2\n");
    let (_, _, msg) =
        at(csv::read::<f64>(&path, csv::Options::labels(csv::Column::Index(5))).unwrap_err());
    assert!(msg.contains("only 2 fields"), "{msg}");
}

#[test]
fn csv_empty_files_and_missing_files() {
    let path = csv_file("empty", "");
    assert_eq!(
        csv::read::<f32>(&path, csv::Options::default()),
        Err(Error::EmptyFile {
            path: path.clone(),
            skipped: 0
        })
    );
    let path = csv_file("only_header", "150,4,setosa,versicolor,virginica\n\n");
    let e = csv::read::<f32>(&path, csv::Options::default().skip(1)).unwrap_err();
    assert_eq!(
        e,
        Error::EmptyFile {
            path: path.clone(),
            skipped: 1
        }
    );
    assert!(
        e.to_string().contains("after the 1 skipped header line"),
        "{e}"
    );
    let e = csv::read::<f32>(path.with_file_name("absent.csv"), csv::Options::default());
    assert!(matches!(e, Err(Error::MissingFile { .. })), "{e:?}");
    let path = write(
        &scratch_dir("binary"),
        "data.csv",
        &[0xff, 0xfe, b',', b'1'],
    );
    assert!(matches!(
        csv::read::<f32>(&path, csv::Options::default()),
        Err(Error::InvalidFile { format: "CSV", .. })
    ));
}

#[test]
fn real_sklearn_iris_and_digits() {
    let Some(dir) = shared_data("sklearn") else {
        return;
    };
    // iris.csv starts with sklearn's meta header `150,4,setosa,versicolor,virginica`.
    let iris = csv::read::<f64>(dir.join("iris.csv"), csv::Options::default().skip(1)).unwrap();
    assert_eq!((iris.len(), iris.input_width()), (150, 4));
    assert_eq!(iris.inputs().row(0).to_vec(), [5.1, 3.5, 1.4, 0.2]);
    assert_eq!(iris.inputs().row(149).to_vec(), [5.9, 3.0, 5.1, 1.8]);
    let TargetsView::Labels(l) = iris.targets() else {
        panic!()
    };
    assert_eq!(
        (0..3)
            .map(|c| l.iter().filter(|&&x| x == c).count())
            .collect::<Vec<_>>(),
        [50, 50, 50]
    );
    // Column sums (numpy.loadtxt): sepal length 876.5, …
    let sums = iris.inputs().sum_axis(axonal::ndarray::Axis(0));
    for (s, want) in sums.iter().zip([876.5, 458.6, 563.7, 179.9]) {
        assert!((s - want).abs() < 1e-9, "{s} vs {want}");
    }

    // Without the header line skipped, the meta header's class names are not numbers.
    let (line, column, _) =
        at(csv::read::<f64>(dir.join("iris.csv"), csv::Options::default()).unwrap_err());
    assert_eq!((line, column), (1, 3));

    // digits.csv: no header, 64 pixels 0..=16 then the label.
    let digits = csv::read::<f32>(dir.join("digits.csv"), csv::Options::default()).unwrap();
    assert_eq!((digits.len(), digits.input_width()), (1797, 64));
    assert_eq!(
        class_counts(digits.targets()),
        [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    let total: f64 = digits.inputs().iter().map(|&v| f64::from(v)).sum();
    assert_eq!(total, 561718.0);
}
