//! Reader for IDX files: MNIST and Fashion-MNIST, gzipped (`.gz`) or raw.
//!
//! IDX is big-endian: a magic number `0x0000_08NN` (`08` = unsigned bytes, `NN` = number of
//! dimensions), `NN` dimension sizes as `u32`, then the bytes row-major. Images files are
//! `0x0000_0803` (count, rows, columns), labels files `0x0000_0801` (count).
//!
//! Compression is detected from the file's first bytes (the gzip magic `1f 8b`), not from its
//! name. The header is checked against the length of the data actually present before
//! anything of the header's size is allocated, so a corrupt header cannot trigger a huge
//! allocation: a wrong magic number, a truncated file or trailing bytes are each an
//! [`Error`] naming the file and what was expected and found.
//!
//! ```no_run
//! // The directory holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, … .
//! let (train, test) = axonal::data::idx::load_mnist::<f32>("data/mnist")?;
//! assert_eq!((train.len(), test.len(), train.input_width()), (60000, 10000, 784));
//! # Ok::<(), axonal::Error>(())
//! ```

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use ndarray::{Array2, Array3};

use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::float::Float;

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;

/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

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
    program at it (the examples take `--data DIR` or the AXONAL_DATA environment variable).";

/// Reads an IDX images file as one row per image with `rows × columns` pixels (784 for
/// MNIST), row-major, scaled from 0..=255 to [0, 1] (`pixel / 255`), the usual input scaling
/// for MNIST networks.
///
/// Errors: the file is missing or unreadable, is not an images file (wrong magic number), is
/// truncated or has trailing bytes, or is a corrupt `.gz`.
pub fn read_images<F: Float>(path: impl AsRef<Path>) -> Result<Array2<F>> {
    let raw = read_images_u8(path)?;
    let (count, rows, cols) = raw.dim();
    let scale = F::from_f64(1.0 / 255.0);
    let pixels = raw
        .iter()
        .map(|&p| F::from_f64(f64::from(p)) * scale)
        .collect();
    Ok(Array2::from_shape_vec((count, rows * cols), pixels)
        .expect("count × rows × cols pixels were read"))
}

/// Reads an IDX images file unscaled: shape (count, rows, columns), pixels 0..=255
/// (0 = background). For other scalings or to keep the image shape.
///
/// Errors as [`read_images`].
pub fn read_images_u8(path: impl AsRef<Path>) -> Result<Array3<u8>> {
    let idx = read_idx(path.as_ref(), "images", IMAGES_MAGIC)?;
    let [count, rows, cols] = [idx.dims[0], idx.dims[1], idx.dims[2]];
    Ok(Array3::from_shape_vec((count, rows, cols), idx.data)
        .expect("the payload length was checked against the dimensions"))
}

/// Reads an IDX labels file: one class index per sample (0..=9 for MNIST).
///
/// Errors: the file is missing or unreadable, is not a labels file (wrong magic number), is
/// truncated or has trailing bytes, or is a corrupt `.gz`.
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<usize>> {
    let idx = read_idx(path.as_ref(), "labels", LABELS_MAGIC)?;
    Ok(idx.data.into_iter().map(usize::from).collect())
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

/// Reads an IDX file whose magic number must be `magic`, checking its length against the
/// header. `what` ("images", "labels") is for messages.
fn read_idx(path: &Path, what: &'static str, magic: u32) -> Result<Idx> {
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::MissingFile {
            path: path.to_path_buf(),
            hint: MNIST_HINT.into(),
        },
        _ => Error::io("open", path, &e),
    })?;
    let file_len = file
        .metadata()
        .map_err(|e| Error::io("read", path, &e))?
        .len();
    let mut buffered = BufReader::new(file);
    let head = buffered
        .fill_buf()
        .map_err(|e| Error::io("read", path, &e))?;
    let gzipped = head.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn Read> = if gzipped {
        Box::new(MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
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
        return Err(Error::InvalidFile {
            path: path.to_path_buf(),
            format: "IDX",
            message: format!("the dimensions {dims:?} in its header are impossibly large"),
        });
    };

    let data = if gzipped {
        // The decompressed length is unknown until read: read at most one byte more than the
        // header promises (no allocation of the header's size up front).
        let mut data = Vec::new();
        reader
            .by_ref()
            .take(payload.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(read_error)?;
        if data.len() as u64 != payload {
            let mut found = header_len + data.len() as u64;
            if data.len() as u64 > payload {
                found += io::copy(&mut reader, &mut io::sink()).map_err(read_error)?;
            }
            return Err(Error::FileLength {
                path: path.to_path_buf(),
                expected,
                found,
            });
        }
        data
    } else {
        if file_len != expected {
            return Err(Error::FileLength {
                path: path.to_path_buf(),
                expected,
                found: file_len,
            });
        }
        // The file's length matches the header: allocating `payload` bytes is safe.
        let len = usize::try_from(payload).map_err(|_| Error::InvalidFile {
            path: path.to_path_buf(),
            format: "IDX",
            message: format!("{payload} bytes of data do not fit in memory"),
        })?;
        let mut data = vec![0u8; len];
        reader
            .read_exact(&mut data)
            .map_err(|e| Error::io("read", path, &e))?;
        data
    };
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
