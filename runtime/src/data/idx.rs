//! Reader for IDX files: MNIST and Fashion-MNIST, gzipped (`.gz`) or raw.
//!
//! IDX is big-endian: a magic number `0x0000_08NN` (`08` = unsigned bytes, `NN` = number of
//! dimensions), `NN` dimension sizes as `u32`, then the bytes row-major. Images files are
//! `0x0000_0803` (count, rows, columns), labels files `0x0000_0801` (count).
//!
//! Compression is detected from the file's first bytes (the gzip magic `1f 8b`), not from its
//! name. Nothing of the size a header claims is allocated before the data are there: a raw
//! file's length is compared with its header first, a `.gz` is decompressed into a buffer that
//! grows as the data arrive and only up to the end the header describes (a few bytes beyond,
//! to detect trailing data), and a header describing more than [`MAX_DATA_BYTES`] is refused
//! at once. A wrong magic number, a truncated file, trailing bytes or an oversized header are
//! each an [`Error`] naming the file and what was expected and found. Only regular files are
//! read (not FIFOs or devices); the `*_from` functions read from any [`Read`] instead.
//!
//! ```no_run
//! // The directory holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, … .
//! let (train, test) = axonal::data::idx::load_mnist::<f32>("data/mnist")?;
//! assert_eq!((train.len(), test.len(), train.input_width()), (60000, 10000, 784));
//! # Ok::<(), axonal::Error>(())
//! ```

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use ndarray::{Array2, Array3};

use crate::data::{open_regular, Dataset, Targets};
use crate::error::{Error, Result};
use crate::float::Float;

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;

/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The most data (pixels or labels, decompressed) an IDX file may hold: 1 GiB, about twice
/// EMNIST ByClass (547 MB of images), the largest IDX dataset in common use. A header
/// describing more is refused before any data are read, so a corrupt header or a gzip bomb
/// cannot make the reader allocate more.
pub const MAX_DATA_BYTES: u64 = 1 << 30;

/// How many bytes past the end of the data its header describes the reader reads, at most,
/// to tell trailing bytes from the end of the file (1 MiB): a file with more trailing data
/// is refused without being read (or decompressed) to its end.
pub const TRAILING_PROBE: u64 = 1 << 20;

/// The name errors give the data of the `*_from` readers, which have no path.
const READER: &str = "<reader>";

/// The standard file names of MNIST (and Fashion-MNIST, which uses the same), in the order
/// train images, train labels, test images, test labels; each may also end in `.gz`.
pub const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// What a [`Error::MissingFile`] for an IDX file tells the user.
const MNIST_HINT: &str = "MNIST (or Fashion-MNIST) is four IDX files, gzipped or not: \
    train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and \
    t10k-labels-idx1-ubyte.gz. Download them from Yann LeCun's MNIST page or a mirror (the \
    files torchvision and Keras fetch are the same), put them in one directory and point the \
    program at it (the examples take `--data DIR`, or the environment variable AXONAL_DATA for \
    MNIST and AXONAL_FASHION_DATA for Fashion-MNIST).";

/// Reads an IDX images file as one row per image with `rows × columns` pixels (784 for
/// MNIST), row-major, scaled from 0..=255 to [0, 1] (`pixel / 255`), the usual input scaling
/// for MNIST networks.
///
/// Errors: the file is missing, unreadable or not a regular file; it is not an images file
/// (wrong magic number), is truncated or has trailing bytes, is a corrupt `.gz`, or holds
/// more than [`MAX_DATA_BYTES`] of pixels.
pub fn read_images<F: Float>(path: impl AsRef<Path>) -> Result<Array2<F>> {
    let path = path.as_ref();
    scaled(read_file(path, "images", IMAGES_MAGIC)?, path)
}

/// Reads an IDX images file unscaled: shape (count, rows, columns), pixels 0..=255
/// (0 = background). For other scalings or to keep the image shape.
///
/// Errors as [`read_images`].
pub fn read_images_u8(path: impl AsRef<Path>) -> Result<Array3<u8>> {
    let path = path.as_ref();
    unscaled(read_file(path, "images", IMAGES_MAGIC)?, path)
}

/// Reads an IDX labels file: one class index per sample (0..=9 for MNIST).
///
/// Errors: the file is missing, unreadable or not a regular file; it is not a labels file
/// (wrong magic number), is truncated or has trailing bytes, is a corrupt `.gz`, or holds
/// more than [`MAX_DATA_BYTES`] of labels.
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<usize>> {
    let idx = read_file(path.as_ref(), "labels", LABELS_MAGIC)?;
    Ok(idx.data.into_iter().map(usize::from).collect())
}

/// [`read_images`] from any reader (an HTTP response, an archive entry, bytes in memory),
/// gzipped or raw: the same checks and limit, with errors naming the file `<reader>`.
///
/// The reader is read up to the end of the data its header describes, and at most
/// [`TRAILING_PROBE`] bytes beyond to detect trailing data; memory grows with the data
/// actually read, never to the size a header merely claims.
///
/// ```
/// // A 16-byte header (1 image of 2 × 2 pixels), then the pixels.
/// let mut file = vec![0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2];
/// file.extend([0, 51, 204, 255]);
/// let x = axonal::data::idx::read_images_from::<f32>(&file[..])?;
/// assert_eq!((x.dim(), x[[0, 0]], x[[0, 3]]), ((1, 4), 0.0, 1.0));
/// # Ok::<(), axonal::Error>(())
/// ```
pub fn read_images_from<F: Float>(reader: impl Read) -> Result<Array2<F>> {
    let path = Path::new(READER);
    scaled(read_idx(reader, None, path, "images", IMAGES_MAGIC)?, path)
}

/// [`read_images_u8`] from any reader, as [`read_images_from`].
pub fn read_images_u8_from(reader: impl Read) -> Result<Array3<u8>> {
    let path = Path::new(READER);
    unscaled(read_idx(reader, None, path, "images", IMAGES_MAGIC)?, path)
}

/// [`read_labels`] from any reader, as [`read_images_from`].
pub fn read_labels_from(reader: impl Read) -> Result<Vec<usize>> {
    let idx = read_idx(reader, None, Path::new(READER), "labels", LABELS_MAGIC)?;
    Ok(idx.data.into_iter().map(usize::from).collect())
}

/// The pixels of an images file, one row per image, scaled to [0, 1].
fn scaled<F: Float>(idx: Idx, path: &Path) -> Result<Array2<F>> {
    // rows × cols is at most MAX_DATA_BYTES (checked by `read_idx`), so it cannot overflow.
    let shape = (idx.dims[0], idx.dims[1] * idx.dims[2]);
    let scale = F::from_f64(1.0 / 255.0);
    let pixels = idx
        .data
        .iter()
        .map(|&p| F::from_f64(f64::from(p)) * scale)
        .collect();
    Array2::from_shape_vec(shape, pixels).map_err(|e| shape_error(path, &e))
}

/// The pixels of an images file as (count, rows, columns).
fn unscaled(idx: Idx, path: &Path) -> Result<Array3<u8>> {
    let shape = (idx.dims[0], idx.dims[1], idx.dims[2]);
    Array3::from_shape_vec(shape, idx.data).map_err(|e| shape_error(path, &e))
}

/// Unreachable after the checks of `read_idx`; an error rather than a panic all the same.
fn shape_error(path: &Path, e: &ndarray::ShapeError) -> Error {
    Error::InvalidFile {
        path: path.to_path_buf(),
        format: "IDX",
        message: format!("its dimensions do not fit in memory ({e})"),
    }
}

/// Reads an images file and its labels file as one dataset (inputs scaled to [0, 1] as by
/// [`read_images`], targets class labels), checking that they hold as many samples.
pub fn read_dataset<F: Float>(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
) -> Result<Dataset<F>> {
    let (images_path, labels_path) = (images.as_ref(), labels.as_ref());
    let x = read_images::<F>(images_path)?;
    let y = read_labels(labels_path)?;
    if x.nrows() != y.len() {
        return Err(Error::SampleCountMismatch {
            images_path: images_path.to_path_buf(),
            images: x.nrows(),
            labels_path: labels_path.to_path_buf(),
            labels: y.len(),
        });
    }
    Dataset::new(x, Targets::Labels(y))
}

/// Reads MNIST from `dir`: the (train, test) datasets of 60000 and 10000 samples, inputs of
/// 784 pixels scaled to [0, 1], targets labels 0..=9.
///
/// Looks for the standard names ([`MNIST_FILES`]), each raw or with `.gz` (the raw file is
/// taken if both exist). Fashion-MNIST uses the same names and format, so this reads it too.
/// A missing directory or file is an [`Error::MissingFile`] saying where to get MNIST.
pub fn load_mnist<F: Float>(dir: impl AsRef<Path>) -> Result<(Dataset<F>, Dataset<F>)> {
    let dir = dir.as_ref();
    if !dir.is_dir() {
        return Err(Error::MissingFile {
            path: dir.to_path_buf(),
            hint: MNIST_HINT.into(),
        });
    }
    let [train_x, train_y, test_x, test_y] = MNIST_FILES.map(|name| find(dir, name));
    let train = read_dataset(train_x?, train_y?)?;
    let test = read_dataset(test_x?, test_y?)?;
    Ok((train, test))
}

/// `dir/name` if it exists, else `dir/name.gz` if that exists, else a missing-file error.
fn find(dir: &Path, name: &str) -> Result<PathBuf> {
    let raw = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    if raw.is_file() {
        Ok(raw)
    } else if gz.is_file() {
        Ok(gz)
    } else {
        Err(Error::MissingFile {
            path: gz,
            hint: MNIST_HINT.into(),
        })
    }
}

/// The dimensions and payload of an IDX file of unsigned bytes.
struct Idx {
    dims: Vec<usize>,
    data: Vec<u8>,
}

/// Opens the IDX file `path` (a regular file) and reads it as [`read_idx`] does.
fn read_file(path: &Path, what: &'static str, magic: u32) -> Result<Idx> {
    let (file, len) = open_regular(path, MNIST_HINT)?;
    read_idx(file, Some(len), path, what, magic)
}

/// Reads an IDX file, gzipped or raw, whose magic number must be `magic`, checking its
/// length against the header. `file_len` is the length of the (possibly compressed) file
/// when known; `path` and `what` ("images", "labels") are for messages.
///
/// Nothing of the header's size is allocated: the data are read into a buffer that grows
/// as they arrive, up to the size the header describes (at most [`MAX_DATA_BYTES`]), and at
/// most [`TRAILING_PROBE`] bytes are read beyond it.
fn read_idx(
    mut reader: impl Read,
    file_len: Option<u64>,
    path: &Path,
    what: &'static str,
    magic: u32,
) -> Result<Idx> {
    // Compression is detected from the first two bytes, which are then read again.
    let mut start = [0u8; 2];
    let got = read_up_to(&mut reader, &mut start).map_err(|e| Error::io("read", path, &e))?;
    let gzipped = start[..got] == [0x1f, 0x8b];
    let reader = (&start[..got]).chain(reader);
    let mut reader: Box<dyn Read> = if gzipped {
        Box::new(MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    // Errors while reading: for a .gz these are mostly corrupt or truncated compressed data.
    let read_error = |e: io::Error| {
        if gzipped {
            Error::InvalidFile {
                path: path.to_path_buf(),
                format: "gzip",
                message: e.to_string(),
            }
        } else {
            Error::io("read", path, &e)
        }
    };
    let invalid = |message: String| Error::InvalidFile {
        path: path.to_path_buf(),
        format: "IDX",
        message,
    };

    let ndim = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndim as u64;
    let mut header = vec![0u8; 4 + 4 * ndim];
    let got = read_up_to(&mut reader, &mut header[..4]).map_err(read_error)?;
    let short = |found: usize| Error::FileLength {
        path: path.to_path_buf(),
        expected: header_len,
        found: found as u64,
    };
    if got < 4 {
        return Err(short(got));
    }
    let found_magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    if found_magic != magic {
        return Err(Error::BadMagic {
            path: path.to_path_buf(),
            what,
            expected: magic,
            found: found_magic,
        });
    }
    let got = read_up_to(&mut reader, &mut header[4..]).map_err(read_error)?;
    if got < 4 * ndim {
        return Err(short(4 + got));
    }
    let dims: Vec<u64> = header[4..]
        .chunks_exact(4)
        .map(|b| u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
        .collect();
    // At most 3 factors below 2^32: the product may overflow u64, never silently.
    let payload = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
    let expected = payload.and_then(|p| p.checked_add(header_len));
    let (Some(payload), Some(expected)) = (payload, expected) else {
        return Err(invalid(format!(
            "the dimensions {dims:?} in its header are impossibly large"
        )));
    };
    // A raw file's length is known: compare it before reading anything more.
    if let (false, Some(file_len)) = (gzipped, file_len) {
        if file_len != expected {
            return Err(Error::FileLength {
                path: path.to_path_buf(),
                expected,
                found: file_len,
            });
        }
    }
    if payload > MAX_DATA_BYTES {
        return Err(Error::FileTooLarge {
            path: path.to_path_buf(),
            what: "the IDX reader".into(),
            size: Some(payload),
            limit: MAX_DATA_BYTES,
            hint: "That is the size of the data its header describes: the header is corrupt, \
                   or the dataset must be split into smaller files.",
        });
    }
    // With a zero among them, the other dimensions could still be absurd (zero images of
    // 2^32 - 1 × 2^32 - 1 pixels): the array's shape must be representable too.
    let extent = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d.max(1)));
    if !matches!(extent, Some(e) if e <= MAX_DATA_BYTES) {
        return Err(invalid(format!(
            "the dimensions {dims:?} in its header are impossibly large: without the zero \
             among them, they describe more than {MAX_DATA_BYTES} bytes"
        )));
    }

    // `payload` is at most MAX_DATA_BYTES, so it fits in usize (a u64 conversion rather
    // than a cast, for 32-bit platforms); a raw file's length matches it, so it can be
    // reserved at once; a stream's buffer grows only as its data arrive.
    let len = usize::try_from(payload)
        .map_err(|_| invalid(format!("{payload} bytes of data do not fit in memory")))?;
    let capacity = if gzipped || file_len.is_none() {
        0
    } else {
        len
    };
    let mut data = Vec::new();
    data.try_reserve_exact(capacity).map_err(|e| {
        invalid(format!(
            "{payload} bytes of data do not fit in memory ({e})"
        ))
    })?;
    reader
        .by_ref()
        .take(payload)
        .read_to_end(&mut data)
        .map_err(read_error)?;
    if data.len() < len {
        return Err(Error::FileLength {
            path: path.to_path_buf(),
            expected,
            found: header_len + data.len() as u64,
        });
    }
    // Trailing data: counted up to TRAILING_PROBE bytes, not decompressed to the end. (For a
    // .gz this read also reaches the end of the stream, where its checksum is verified.)
    let trailing = io::copy(
        &mut reader.by_ref().take(TRAILING_PROBE + 1),
        &mut io::sink(),
    )
    .map_err(read_error)?;
    if trailing > TRAILING_PROBE {
        return Err(invalid(format!(
            "it has trailing data: its header describes {expected} bytes{}, but more than \
             {TRAILING_PROBE} bytes follow them",
            if gzipped { " (decompressed)" } else { "" }
        )));
    }
    if trailing > 0 {
        return Err(Error::FileLength {
            path: path.to_path_buf(),
            expected,
            found: expected + trailing,
        });
    }
    let dims = dims.into_iter().map(|d| d as usize).collect();
    Ok(Idx { dims, data })
}

/// Fills `buf` as far as the reader allows; returns the number of bytes read (less than
/// `buf.len()` only at the end of the data).
fn read_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
