//! Hostile files against the runtime's readers and checkpoints (issue 13): headers that
//! claim absurd sizes, gzip bombs, FIFOs and devices, oversized files, checkpoints with
//! thousands of stray tensors or NaN weights, byte-order marks and old Mac line endings,
//! symbolic links and stale temporary files. Each is an `Err` (or works), quickly, without
//! reading or allocating what the file merely claims.
//!
//! The large files are built small: gzip members of zeros concatenated (a 1 GiB bomb is about
//! 1 MB), sparse files (`set_len`) for sizes beyond a limit.

use std::cell::Cell;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use axonal::data::{csv, idx};
use axonal::io::{self, LoadOptions};
use axonal::{Error, Model, TargetsView};
use flate2::write::GzEncoder;
use flate2::Compression;

axonal::network! {
    /// A small network with parameters and buffers.
    Small { input 3; fc1: dense 4 relu; bn1: batchnorm; out: dense 2; softmax_ce }
}

/// A fresh, empty directory for one test under cargo's temporary directory.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("hostile_files")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The big-endian header of an IDX file: `magic`, then the dimensions.
fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    std::iter::once(magic)
        .chain(dims.iter().copied())
        .flat_map(u32::to_be_bytes)
        .collect()
}

/// `header` gzipped, then `mib` gzip members of 1 MiB of zeros each: a stream that
/// decompresses to `mib` MiB after the header, about 1 KB per MiB on disk.
fn gzip_bomb(header: &[u8], mib: usize) -> Vec<u8> {
    let member = gzip(&vec![0u8; 1 << 20]);
    let mut out = gzip(header);
    for _ in 0..mib {
        out.extend_from_slice(&member);
    }
    out
}

/// A reader that counts the bytes taken from it.
struct Counting<R> {
    inner: R,
    read: Cell<u64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

fn counting(bytes: &[u8]) -> Counting<&[u8]> {
    Counting {
        inner: bytes,
        read: Cell::new(0),
    }
}

/// Runs `f` on another thread and returns its result, or panics if it takes more than
/// `seconds` (a reader blocked on a FIFO would otherwise hang the test forever).
fn within<T: Send + 'static>(
    seconds: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(f());
    });
    receive
        .recv_timeout(Duration::from_secs(seconds))
        .unwrap_or_else(|_| panic!("{what} did not return within {seconds} s (blocked?)"))
}

// ---------------------------------------------------------------------------------------
// Item 5: zero images of (2^32 - 1) × (2^32 - 1) pixels.

#[test]
fn idx_zero_images_of_impossible_size_is_an_error_not_a_panic() {
    let dir = scratch_dir("zero_images");
    let header = idx_header(idx::IMAGES_MAGIC, &[0, u32::MAX, u32::MAX]);
    assert_eq!(header.len(), 16);
    let labels = write(&dir, "labels", &idx_header(idx::LABELS_MAGIC, &[0]));
    // Also zero rows of 2^32 - 1 columns in 2^32 - 1 images: the shape is impossible too.
    let other = idx_header(idx::IMAGES_MAGIC, &[u32::MAX, 0, u32::MAX]);
    for (name, bytes) in [
        ("raw", header.clone()),
        ("gz", gzip(&header)),
        ("rows", other.clone()),
    ] {
        let path = write(&dir, name, &bytes);
        for e in [
            idx::read_images::<f32>(&path).unwrap_err(),
            idx::read_images_u8(&path).unwrap_err(),
            idx::read_dataset::<f32>(&path, &labels).unwrap_err(),
            idx::read_images_from::<f64>(&bytes[..]).unwrap_err(),
        ] {
            let Error::InvalidFile {
                format: "IDX",
                message,
                ..
            } = &e
            else {
                panic!("{name}: {e:?}")
            };
            assert!(message.contains("impossibly large"), "{name}: {message}");
        }
    }
    // Through load_mnist, whose four files all have this header.
    let mnist = scratch_dir("zero_images_mnist");
    for (file, bytes) in
        idx::MNIST_FILES
            .iter()
            .zip([&header, &labels_of(0), &header, &labels_of(0)])
    {
        write(&mnist, file, bytes);
    }
    assert!(matches!(
        idx::load_mnist::<f32>(&mnist),
        Err(Error::InvalidFile { format: "IDX", .. })
    ));
}

fn labels_of(count: u32) -> Vec<u8> {
    let mut b = idx_header(idx::LABELS_MAGIC, &[count]);
    b.resize(8 + count as usize, 1);
    b
}

// ---------------------------------------------------------------------------------------
// Item 6: gzip bombs.

#[test]
fn idx_gzip_bomb_claiming_more_than_the_limit_is_refused_before_decompressing() {
    let dir = scratch_dir("bomb_claim");
    // 3000 images of 1000 × 1000 pixels (3 GB) claimed; 1 GiB of zeros follow, in ~1 MB.
    let header = idx_header(idx::IMAGES_MAGIC, &[3000, 1000, 1000]);
    let bomb = gzip_bomb(&header, 1024);
    assert!(bomb.len() < 2 << 20, "{} bytes on disk", bomb.len());
    let path = write(&dir, "bomb.gz", &bomb);

    let start = Instant::now();
    let e = idx::read_images::<f32>(&path).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::FileTooLarge { path: p, what, size: Some(3_000_000_000), limit, .. }
                if *p == path && what == "the IDX reader" && *limit == idx::MAX_DATA_BYTES
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("too large for the IDX reader: 3000000000 bytes, more than the limit of 1073741824 bytes"),
        "{e}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );

    // Only the header was decompressed: a few buffers of the compressed stream were read.
    let mut reader = counting(&bomb);
    assert!(matches!(
        idx::read_images_u8_from(&mut reader),
        Err(Error::FileTooLarge { .. })
    ));
    assert!(
        reader.read.get() <= 64 << 10,
        "{} of {} bytes read",
        reader.read.get(),
        bomb.len()
    );
}

#[test]
fn idx_gzip_trailing_data_is_not_decompressed_to_its_end() {
    let dir = scratch_dir("bomb_trailing");
    // One image of 2 × 2 pixels, then 1 GiB of zeros.
    let header = idx_header(idx::IMAGES_MAGIC, &[1, 2, 2]);
    let bomb = gzip_bomb(&[header.as_slice(), &[1, 2, 3, 4]].concat(), 1024);
    let path = write(&dir, "trailing.gz", &bomb);

    let start = Instant::now();
    let e = idx::read_images::<f32>(&path).unwrap_err();
    let Error::InvalidFile {
        format: "IDX",
        message,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(
        message.contains("trailing data") && message.contains("20 bytes"),
        "{message}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );

    // At most TRAILING_PROBE (1 MiB) was decompressed past the data: about 1 KB of the
    // compressed stream and the decoder's buffer.
    let mut reader = counting(&bomb);
    assert!(idx::read_images_from::<f32>(&mut reader).is_err());
    assert!(
        reader.read.get() <= 128 << 10,
        "{} of {} bytes read",
        reader.read.get(),
        bomb.len()
    );

    // A few trailing bytes are still counted exactly.
    let short = gzip(&[header.as_slice(), &[1, 2, 3, 4, 5, 6]].concat());
    assert_eq!(
        idx::read_images_u8_from(&short[..]),
        Err(Error::FileLength {
            path: PathBuf::from("<reader>"),
            expected: 20,
            found: 22
        })
    );
}

#[test]
fn idx_header_within_the_limit_but_data_missing_reads_only_what_is_there() {
    // 1000 images of 1000 × 1000 pixels (1 GB, within the limit) claimed, 3 MiB present: the
    // reader grows its buffer with the data and reports the truncation.
    let header = idx_header(idx::IMAGES_MAGIC, &[1000, 1000, 1000]);
    let bomb = gzip_bomb(&header, 3);
    let start = Instant::now();
    assert_eq!(
        idx::read_images_u8_from(&bomb[..]),
        Err(Error::FileLength {
            path: PathBuf::from("<reader>"),
            expected: 16 + 1_000_000_000,
            found: 16 + 3 * (1 << 20)
        })
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // Raw, from a reader (no file length to compare with): the same.
    let mut raw = header.clone();
    raw.resize(16 + 1000, 7);
    assert!(matches!(
        idx::read_images_u8_from(&raw[..]),
        Err(Error::FileLength { found: 1016, .. })
    ));
    // Labels: 2 billion claimed (over the limit), none present.
    let e = idx::read_labels_from(&idx_header(idx::LABELS_MAGIC, &[2_000_000_000])[..]);
    assert!(
        matches!(
            e,
            Err(Error::FileTooLarge {
                size: Some(2_000_000_000),
                ..
            })
        ),
        "{e:?}"
    );
}

#[test]
fn idx_raw_file_over_the_limit_is_refused_without_reading() {
    let dir = scratch_dir("raw_over_limit");
    // 2048 images of 1024 × 1024 pixels: 2 GiB claimed, and a (sparse) file that long.
    let path = dir.join("huge");
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(&idx_header(idx::IMAGES_MAGIC, &[2048, 1024, 1024]))
        .unwrap();
    file.set_len(16 + (2 << 30)).unwrap();
    drop(file);
    let start = Instant::now();
    assert!(matches!(
        idx::read_images_u8(&path),
        Err(Error::FileTooLarge {
            size: Some(2147483648),
            ..
        })
    ));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// Item 10 (first half): Column::Index(usize::MAX).

#[test]
fn csv_target_column_usize_max_is_an_error_not_an_overflow() {
    let path = write(&scratch_dir("csv_index_max"), "data.csv", b"1,2,0\n");
    let e =
        csv::read::<f32>(&path, csv::Options::labels(csv::Column::Index(usize::MAX))).unwrap_err();
    let Error::Csv { message, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(
        message.contains("column is 18446744073709551616 (index 18446744073709551615)")
            && message.contains("only 3 fields"),
        "{message}"
    );
}

// ---------------------------------------------------------------------------------------
// Item 15: FIFOs, devices, directories and oversized files.

#[cfg(unix)]
#[test]
fn readers_refuse_a_fifo_without_blocking() {
    let dir = scratch_dir("fifo");
    let fifo = dir.join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !matches!(made, Ok(s) if s.success()) {
        println!("note: mkfifo is unavailable; skipping");
        return;
    }
    let is_fifo = |e: Error| {
        matches!(
            e,
            Error::NotAFile {
                kind: "a FIFO (named pipe)",
                ..
            }
        )
    };
    let p = fifo.clone();
    assert!(is_fifo(within(10, "io::load", move || {
        io::load(&mut Small::<f32>::seeded(0), &p).unwrap_err()
    })));
    let p = fifo.clone();
    assert!(is_fifo(within(10, "csv::read", move || {
        csv::read::<f32>(&p, csv::Options::default()).unwrap_err()
    })));
    let p = fifo.clone();
    assert!(is_fifo(within(10, "idx::read_images", move || {
        idx::read_images::<f32>(&p).unwrap_err()
    })));
    let p = fifo.clone();
    let e = within(10, "idx::read_labels", move || {
        idx::read_labels(&p).unwrap_err()
    });
    assert!(
        e.to_string()
            .contains("is a FIFO (named pipe), not a regular file"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn readers_refuse_dev_zero_and_directories() {
    let zero = Path::new("/dev/zero");
    if !zero.exists() {
        return;
    }
    let device = |e: Error| {
        matches!(
            e,
            Error::NotAFile {
                kind: "a character device",
                ..
            }
        )
    };
    assert!(device(within(10, "io::load", || {
        io::load(&mut Small::<f32>::seeded(0), "/dev/zero").unwrap_err()
    })));
    assert!(device(within(10, "csv::read", || {
        csv::read::<f32>("/dev/zero", csv::Options::default()).unwrap_err()
    })));
    assert!(device(within(10, "idx::read_images_u8", || {
        idx::read_images_u8("/dev/zero").unwrap_err()
    })));

    let dir = scratch_dir("directory");
    let e = io::load(&mut Small::<f32>::seeded(0), &dir).unwrap_err();
    assert_eq!(
        e,
        Error::NotAFile {
            path: dir.clone(),
            kind: "a directory"
        }
    );
    assert!(matches!(
        csv::read::<f32>(&dir, csv::Options::default()),
        Err(Error::NotAFile {
            kind: "a directory",
            ..
        })
    ));
    // A symbolic link to a regular file is followed.
    let real = write(&dir, "data.csv", b"1,2,0\n");
    let link = dir.join("link.csv");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert_eq!(
        csv::read::<f32>(&link, csv::Options::default())
            .unwrap()
            .len(),
        1
    );
}

/// A sparse file of `len` bytes (nothing written: instant, no disk used).
fn sparse(dir: &Path, name: &str, len: u64) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path).unwrap().set_len(len).unwrap();
    path
}

#[test]
fn oversized_csv_and_checkpoint_files_are_refused_before_reading() {
    let dir = scratch_dir("oversized");
    let path = sparse(&dir, "big.csv", csv::MAX_FILE_BYTES + 1);
    let start = Instant::now();
    let e = csv::read::<f32>(&path, csv::Options::default()).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::FileTooLarge { size: Some(s), limit, .. }
                if *s == csv::MAX_FILE_BYTES + 1 && *limit == csv::MAX_FILE_BYTES
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("too large for the CSV reader"),
        "{e}"
    );

    // A checkpoint of `Small` (61 values) cannot be 200 MB: refused from its length.
    let mut net = Small::<f32>::seeded(0);
    let path = sparse(&dir, "big.safetensors", 200_000_000);
    let e = io::load(&mut net, &path).unwrap_err();
    let Error::FileTooLarge {
        size, limit, what, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (*size, what.as_str()),
        (Some(200_000_000), "a checkpoint of network `Small`")
    );
    assert!(
        *limit < 200_000_000 && *limit > io::MAX_HEADER_BYTES,
        "{limit}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );

    // A stream is read up to the limit, not beyond.
    let mut endless = std::io::repeat(b'1').take(csv::MAX_FILE_BYTES + 10);
    let e = csv::read_from::<f32>(&mut endless, csv::Options::default()).unwrap_err();
    assert!(matches!(e, Error::FileTooLarge { size: None, .. }), "{e:?}");
    assert_eq!(endless.limit(), 9, "read exactly one byte past the limit");
}

// ---------------------------------------------------------------------------------------
// Item 16: 200,000 unexpected tensors.

/// The checkpoint of `net` with `extra` more (empty) tensors in its header.
fn with_extra_tensors(net: &mut Small<f32>, extra: usize) -> Vec<u8> {
    let bytes = io::to_bytes(net).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let end = bytes.len() - 8 - n;
    for i in 0..extra {
        header.insert(
            format!("stray{i:06}"),
            serde_json::json!({"dtype": "F32", "shape": [0], "data_offsets": [end, end]}),
        );
    }
    let mut text = serde_json::to_string(&header).unwrap();
    let padding = (8 - text.len() % 8) % 8;
    text.push_str(&" ".repeat(padding));
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text.as_bytes());
    out.extend(&bytes[8 + n..]);
    out
}

#[test]
fn a_checkpoint_with_200000_stray_tensors_gives_a_short_message() {
    let dir = scratch_dir("stray_tensors");
    let mut net = Small::<f32>::seeded(0);
    let path = write(
        &dir,
        "stray.safetensors",
        &with_extra_tensors(&mut net, 200_000),
    );
    let e = io::load(&mut Small::<f32>::seeded(1), &path).unwrap_err();
    let Error::CheckpointMismatch { problems, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        problems.len(),
        200_000,
        "every problem is kept for programs"
    );
    let msg = e.to_string();
    let lines: Vec<&str> = msg.lines().collect();
    assert!(msg.contains("(200000 problem(s))"), "{}", lines[0]);
    assert_eq!(
        lines.len(),
        1 + axonal::error::MISMATCHES_SHOWN + 1,
        "{msg}"
    );
    assert_eq!(
        lines[1],
        "  stray000000: in the checkpoint (shape [0], F32) but not in the network"
    );
    assert_eq!(*lines.last().unwrap(), "  … and 199,976 more");

    // A few problems are all listed, without a count.
    let path = write(&dir, "three.safetensors", &with_extra_tensors(&mut net, 3));
    let msg = io::load(&mut Small::<f32>::seeded(1), &path)
        .unwrap_err()
        .to_string();
    assert_eq!(msg.lines().count(), 4, "{msg}");
    assert!(!msg.contains("more"), "{msg}");
}

// ---------------------------------------------------------------------------------------
// Item 17: NaN and infinite weights.

/// Every parameter and buffer value, in visiting order.
fn state(net: &mut Small<f32>) -> Vec<u32> {
    let mut all = Vec::new();
    net.visit_params(&mut |p| all.extend(p.value.iter().map(|v| v.to_bits())));
    net.visit_buffers(&mut |b| all.extend(b.value.iter().map(|v| v.to_bits())));
    all
}

#[test]
fn non_finite_weights_are_refused_unless_allowed() {
    let dir = scratch_dir("non_finite");
    let path = dir.join("nan.safetensors");
    let mut bad = Small::<f32>::seeded(0);
    bad.fc1.weight[[2, 1]] = f32::NAN;
    bad.out.bias[1] = f32::INFINITY;
    io::save(&mut bad, &path).unwrap();

    let mut net = Small::<f32>::seeded(1);
    let before = state(&mut net);
    let e = io::load(&mut net, &path).unwrap_err();
    let Error::NonFiniteWeight {
        path: p,
        tensor,
        index,
        value,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (p, tensor.as_str(), index.as_slice()),
        (&path, "fc1.weight", &[2, 1][..])
    );
    assert!(value.is_nan());
    let msg = e.to_string();
    assert!(
        msg.contains("`fc1.weight`[2, 1] is NaN") && msg.contains("allow_non_finite"),
        "{msg}"
    );
    assert_eq!(state(&mut net), before, "the network is untouched");
    // In memory too, and in a buffer (batchnorm's running variance).
    let mut inf_var = Small::<f32>::seeded(0);
    inf_var.bn1.running_var[3] = f32::NEG_INFINITY;
    let bytes = io::to_bytes(&mut inf_var).unwrap();
    assert!(matches!(
        io::from_bytes(&mut net, &bytes),
        Err(Error::NonFiniteWeight { ref tensor, ref index, value, .. })
            if tensor == "bn1.running_var" && index == &[3] && value == f64::NEG_INFINITY
    ));
    assert_eq!(state(&mut net), before);

    // Allowed explicitly: loads as saved.
    let allow = LoadOptions::default().allow_non_finite(true);
    io::load_with(&mut net, &path, allow).unwrap();
    assert_eq!(state(&mut net), state(&mut bad));
    io::from_bytes_with(&mut net, &bytes, allow).unwrap();
    assert_eq!(net.bn1.running_var[3], f32::NEG_INFINITY);
    assert_eq!(
        LoadOptions::default(),
        LoadOptions::default().allow_non_finite(false)
    );
}

// ---------------------------------------------------------------------------------------
// Item 18 (CSV): byte-order mark, CR-only line endings.

fn labels(d: &axonal::Dataset<f64>) -> Vec<usize> {
    match d.targets() {
        TargetsView::Labels(l) => l.to_vec(),
        TargetsView::Values(_) => panic!("labels expected"),
    }
}

#[test]
fn csv_with_a_byte_order_mark_or_cr_line_endings_reads() {
    let dir = scratch_dir("csv_bom_cr");
    for (name, text) in [
        ("bom", "\u{feff}1,2,0\n3,4,1\n"),
        ("cr", "1,2,0\r3,4,1\r"),
        ("bom_cr", "\u{feff}1,2,0\r3,4,1"),
        ("crlf", "1,2,0\r\n3,4,1\r\n"),
        ("mixed", "1,2,0\r\n\r3,4,1\n"),
    ] {
        let path = write(&dir, name, text.as_bytes());
        let d = csv::read::<f64>(&path, csv::Options::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            d.inputs(),
            axonal::ndarray::array![[1.0, 2.0], [3.0, 4.0]],
            "{name}"
        );
        assert_eq!(labels(&d), [0, 1], "{name}");
    }
    // Line numbers count a lone CR, and CRLF, as one line ending each.
    for (name, text) in [
        ("cr_err", "h\r1,2,0\r\r3,x,1\r"),
        ("crlf_err", "h\r\n1,2,0\r\n\r\n3,x,1\r\n"),
    ] {
        let path = write(&dir, name, text.as_bytes());
        let e = csv::read::<f64>(&path, csv::Options::default().skip(1)).unwrap_err();
        assert!(
            matches!(&e, Error::Csv { line: 4, column: 2, message, .. } if message == "`x` is not a number"),
            "{name}: {e:?}"
        );
    }
    // A BOM is skipped only at the start: elsewhere it is a bad field.
    let path = write(&dir, "bom_inside", "1,2,0\n\u{feff}3,4,1\n".as_bytes());
    assert!(matches!(
        csv::read::<f64>(&path, csv::Options::default()),
        Err(Error::Csv {
            line: 2,
            column: 1,
            ..
        })
    ));
    // The same from a reader.
    let d = csv::read_from::<f64>("\u{feff}5,6,2\r".as_bytes(), csv::Options::default()).unwrap();
    assert_eq!(labels(&d), [2]);
}

// ---------------------------------------------------------------------------------------
// Item 19 (readers): the magic-number message; a failed save names the user's path.

#[test]
fn idx_magic_message_describes_the_found_value_as_found() {
    let path = write(&scratch_dir("magic"), "labels", &labels_of(3));
    let msg = idx::read_images::<f32>(&path).unwrap_err().to_string();
    assert!(
        msg.ends_with(
            "is not an IDX images file: its magic number is 0x00000801 (that of an IDX labels \
             file), but that of an IDX images file is 0x00000803"
        ),
        "{msg}"
    );
}

#[test]
fn a_failed_save_names_the_path_given() {
    let dir = scratch_dir("save_missing_dir");
    let path = dir.join("missing/m.st");
    let e = io::save(&mut Small::<f32>::seeded(0), &path).unwrap_err();
    assert!(
        matches!(&e, Error::Io { action: "write", path: p, .. } if *p == path),
        "{e:?}"
    );
    assert!(!e.to_string().contains(".tmp"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Item 21: symbolic links, existing temporary names, permissions.

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[cfg(unix)]
#[test]
fn save_writes_through_a_symbolic_link() {
    use std::os::unix::fs::symlink;
    let dir = scratch_dir("symlink");
    std::fs::create_dir(dir.join("store")).unwrap();
    let real = dir.join("store/real.st");
    let mut old = Small::<f32>::seeded(0);
    io::save(&mut old, &real).unwrap();
    // link.st -> store/real.st (relative), latest.st -> link.st: a chain of two links.
    symlink("store/real.st", dir.join("link.st")).unwrap();
    symlink("link.st", dir.join("latest.st")).unwrap();

    let mut new = Small::<f32>::seeded(1);
    io::save(&mut new, dir.join("latest.st")).unwrap();
    for link in ["link.st", "latest.st"] {
        let meta = std::fs::symlink_metadata(dir.join(link)).unwrap();
        assert!(meta.file_type().is_symlink(), "{link} is still a link");
    }
    assert_eq!(
        std::fs::read(&real).unwrap(),
        io::to_bytes(&mut new).unwrap()
    );
    assert_eq!(names(&dir), ["latest.st", "link.st", "store"]);
    assert_eq!(names(&dir.join("store")), ["real.st"], "no temporary left");

    // A dangling link: the file it names is created.
    symlink("store/fresh.st", dir.join("dangling.st")).unwrap();
    io::save(&mut new, dir.join("dangling.st")).unwrap();
    assert!(std::fs::symlink_metadata(dir.join("dangling.st"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(names(&dir.join("store")), ["fresh.st", "real.st"]);
    // A loop of links is an error, not a hang.
    symlink("loop_b", dir.join("loop_a")).unwrap();
    symlink("loop_a", dir.join("loop_b")).unwrap();
    assert!(matches!(
        io::save(&mut new, dir.join("loop_a")),
        Err(Error::Io {
            action: "write",
            ..
        })
    ));
}

#[test]
fn save_never_touches_an_existing_tmp_file() {
    let dir = scratch_dir("existing_tmp");
    let path = dir.join("m.st");
    let precious = write(&dir, "m.st.tmp", b"someone else's file");
    let mut net = Small::<f32>::seeded(0);
    io::save(&mut net, &path).unwrap();
    io::save(&mut net, &path).unwrap();
    assert_eq!(std::fs::read(&precious).unwrap(), b"someone else's file");
    assert_eq!(names(&dir), ["m.st", "m.st.tmp"]);
    let mut loaded = Small::<f32>::seeded(1);
    io::load(&mut loaded, &path).unwrap();
    assert_eq!(state(&mut loaded), state(&mut net));
}

#[test]
fn concurrent_saves_to_one_path_each_write_a_whole_file() {
    let dir = scratch_dir("concurrent");
    let path = dir.join("m.st");
    let versions: Vec<Vec<u8>> = (0..4)
        .map(|s| io::to_bytes(&mut Small::<f32>::seeded(s)).unwrap())
        .collect();
    std::thread::scope(|scope| {
        for s in 0..4u64 {
            let path = &path;
            scope.spawn(move || {
                let mut net = Small::<f32>::seeded(s);
                for _ in 0..20 {
                    io::save(&mut net, path).unwrap();
                }
            });
        }
    });
    assert!(versions.contains(&std::fs::read(&path).unwrap()));
    assert_eq!(names(&dir), ["m.st"]);
}

#[cfg(unix)]
#[test]
fn save_keeps_the_permissions_of_the_file_it_replaces() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch_dir("permissions");
    let path = dir.join("m.st");
    let mut net = Small::<f32>::seeded(0);
    io::save(&mut net, &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    io::save(&mut net, &path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}
