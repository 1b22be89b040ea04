//! Checkpoints: a network's parameters and buffers in a [safetensors] file, named and laid out
//! as PyTorch's `state_dict` (`fc1.weight` of shape `[out, in]`, `fc1.bias`,
//! `bn1.running_mean`, …), so the file loads into an equivalent PyTorch `nn.Sequential`.
//!
//! - [`save`] writes every [`Param`](crate::Param) and [`Buffer`](crate::Buffer) of the
//!   network, in the network's dtype (`F32` or `F64`, [`Float::DTYPE`]), with the metadata
//!   `network` (the network's name), `dtype`, `format: pt` (what Hugging Face tools expect
//!   of a PyTorch checkpoint) and `crc32` (a checksum of the tensor data, which [`load`]
//!   verifies: safetensors checks the layout, not the values). The same weights always give
//!   the same bytes. It writes a new temporary file `PATH.<pid>.<n>.<random>.tmp` in the
//!   same directory (created exclusively, so it never overwrites another file), fsyncs it,
//!   renames it over `PATH` and fsyncs the directory: an interrupted save leaves the old
//!   checkpoint intact, never a partial one (a save killed midway may leave its temporary
//!   file, which can be deleted). The file keeps its permissions. If `PATH` is a symbolic
//!   link, the checkpoint is written to the file it points to (the temporary beside that
//!   file), and the link stays a link.
//! - [`load`] reads a checkpoint into a network and checks everything before changing
//!   anything: every tensor of the network missing from the file, every tensor of the file
//!   the network does not have, every wrong shape and every wrong dtype is listed in one
//!   [`Error::CheckpointMismatch`], and the network is left untouched. A truncated or corrupt
//!   file is an [`Error::InvalidFile`] (safetensors checks every offset of the header against
//!   the file's length before anything is read), as is one whose data fail the checksum.
//!   A NaN or infinite value is an [`Error::NonFiniteWeight`] naming the tensor and the
//!   position, unless [`LoadOptions::allow_non_finite`] allows it ([`load_with`]). Only
//!   regular files are read (not FIFOs or devices), and none larger than any checkpoint of
//!   the network can be (see [`load`]).
//!   The network's name in the metadata is not checked: a network renamed, but with the same
//!   layers, loads its old checkpoints; files without `crc32` (from PyTorch) load too.
//!
//! Loading into PyTorch: build an `nn.Sequential` from an `OrderedDict` whose keys are the
//! layer labels (`fc1`, `bn1`, …; an unlabelled layer is `dense0`, `batchnorm1`, … as the
//! generated struct's fields), with `nn.Linear`, `nn.BatchNorm1d(eps=…)` and the activations
//! in the same order, then `model.load_state_dict(safetensors.torch.load_file(path))` and
//! `model.eval()`. `scripts/load_in_pytorch.py` does this and compares predictions.
//!
//! ```no_run
//! axonal::network! { Net { input 4; fc1: dense 8 relu; bn1: batchnorm; out: dense 3; softmax_ce } }
//!
//! fn main() -> axonal::Result<()> {
//!     let mut net = Net::<f32>::seeded(0);
//!     // … train …
//!     axonal::io::save(&mut net, "net.safetensors")?;
//!     let mut restored = Net::<f32>::seeded(1);
//!     axonal::io::load(&mut restored, "net.safetensors")?; // now predicts exactly as `net`
//!     Ok(())
//! }
//! ```
//!
//! [safetensors]: https://huggingface.co/docs/safetensors

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};
use crate::float::Float;
use crate::model::Model;

/// The format named by this module's [`Error::InvalidFile`]s.
const FORMAT: &str = "safetensors checkpoint";

/// Saves the parameters and buffers of `model` to the safetensors file `path`, atomically
/// (see the [module docs](self)): `path` holds the old checkpoint or the new one, never a mix.
///
/// Errors (naming `path`): the directory does not exist or is not writable, the disk is
/// full, or (for a hand-written model) two tensors share a name.
pub fn save<F: Float, M: Model<F> + ?Sized>(model: &mut M, path: impl AsRef<Path>) -> Result<()> {
    let bytes = to_bytes(model)?;
    write_atomically(path.as_ref(), &bytes)
}

/// Loads the safetensors checkpoint `path` into `model`, after checking that its tensors are
/// exactly those of the network, with the same shapes and dtype, and that every value is
/// finite.
///
/// Errors: the file is missing, unreadable or not a regular file; it is larger than any
/// checkpoint of the network can be ([`Error::FileTooLarge`]: more than 8 bytes per value
/// of the network plus [`MAX_HEADER_BYTES`] of header, checked before it is read); it is not
/// a valid safetensors file (truncated, corrupt); it does not fit the network
/// ([`Error::CheckpointMismatch`], listing every problem); it holds a NaN or infinite value
/// ([`Error::NonFiniteWeight`]; [`load_with`] can allow them). On any error `model` is
/// unchanged.
pub fn load<F: Float, M: Model<F> + ?Sized>(model: &mut M, path: impl AsRef<Path>) -> Result<()> {
    load_with(model, path, LoadOptions::default())
}

/// How [`load_with`] and [`from_bytes_with`] check a checkpoint; the default is what [`load`]
/// does.
///
/// ```no_run
/// # axonal::network! { Net { input 4; out: dense 3; softmax_ce } }
/// use axonal::io::{self, LoadOptions};
///
/// // Inspect the weights of a run that diverged.
/// let mut net = Net::<f32>::seeded(0);
/// io::load_with(&mut net, "diverged.safetensors", LoadOptions::default().allow_non_finite(true))?;
/// # Ok::<(), axonal::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    allow_non_finite: bool,
}

impl LoadOptions {
    /// Whether NaN and infinite values load (`false`, the default: they are an
    /// [`Error::NonFiniteWeight`]). Allow them to inspect a checkpoint saved after training
    /// diverged; a network holding them predicts NaN.
    pub fn allow_non_finite(mut self, allow: bool) -> Self {
        self.allow_non_finite = allow;
        self
    }
}

/// [`load`] with options: `load(model, path)` is
/// `load_with(model, path, LoadOptions::default())`.
pub fn load_with<F: Float, M: Model<F> + ?Sized>(
    model: &mut M,
    path: impl AsRef<Path>,
    options: LoadOptions,
) -> Result<()> {
    let path = path.as_ref();
    let hint = "Checkpoints are written by `axonal::io::save`; check the path.";
    let (file, len) = crate::data::open_regular(path, hint)?;
    let limit = size_limit(model);
    if len > limit {
        return Err(too_large(model, path, Some(len), limit));
    }
    // `len` is at most `limit`, which the network's own values bound: it fits in usize.
    let capacity = usize::try_from(len).unwrap_or(0);
    let bytes = crate::data::read_at_most(file, limit, capacity)
        .map_err(|e| Error::io("read", path, &e))?
        .ok_or_else(|| too_large(model, path, None, limit))?;
    load_bytes(model, &bytes, path, options)
}

/// The most header a checkpoint may have: 100,000,000 bytes, the limit of the safetensors
/// format's reference implementation (which refuses longer headers).
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// The largest file that can be a checkpoint of `model`: the 8-byte length, the longest
/// header safetensors accepts and 8 bytes (the widest dtype) per value of the network.
fn size_limit<F: Float, M: Model<F> + ?Sized>(model: &mut M) -> u64 {
    let mut values = 0u64;
    model.visit_params(&mut |p| values = values.saturating_add(p.value.len() as u64));
    model.visit_buffers(&mut |b| values = values.saturating_add(b.value.len() as u64));
    values
        .saturating_mul(8)
        .saturating_add(8 + MAX_HEADER_BYTES)
}

/// The [`Error::FileTooLarge`] of a checkpoint too large for `model`.
fn too_large<F: Float, M: Model<F> + ?Sized>(
    model: &M,
    path: &Path,
    size: Option<u64>,
    limit: u64,
) -> Error {
    Error::FileTooLarge {
        path: path.to_path_buf(),
        what: format!("a checkpoint of network `{}`", model.name()),
        size,
        limit,
        hint: "No checkpoint of this network can be larger (8 bytes per value of the \
               network, plus safetensors' largest header): this is not its checkpoint.",
    }
}

/// The checkpoint of `model` as the bytes of a safetensors file (what [`save`] writes): for
/// keeping one in memory, e.g. the best weights seen during training.
///
/// The bytes depend only on the network's tensors and name: the same weights give the same
/// file. Tensors are stored in the network's visiting order (parameters, then buffers).
pub fn to_bytes<F: Float, M: Model<F> + ?Sized>(model: &mut M) -> Result<Vec<u8>> {
    let dtype = dtype::<F>()?;
    let mut tensors: Vec<(String, Vec<usize>, usize)> = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    let mut add = |name: String, shape: &[usize], values: &[F]| {
        tensors.push((name, shape.to_vec(), values.len() * dtype.bitsize() / 8));
        encode(values, dtype, &mut data);
    };
    model.visit_params(&mut |p| add(p.full_name(), p.shape, p.value));
    model.visit_buffers(&mut |b| add(b.full_name(), b.shape, b.value));
    let mut seen = HashSet::new();
    if let Some((name, ..)) = tensors
        .iter()
        .find(|(name, ..)| !seen.insert(name.as_str()))
    {
        return Err(Error::Config(format!(
            "network `{}` has two tensors named `{name}`; checkpoint names must be unique",
            model.name()
        )));
    }

    // The header, as the safetensors crate writes it but in a fixed order: metadata first,
    // then the tensors with their byte ranges in the data section, padded with spaces to a
    // multiple of 8 bytes.
    let metadata = [
        ("network", model.name().to_string()),
        ("dtype", F::DTYPE.to_string()),
        ("format", "pt".to_string()),
        (CRC_KEY, format!("{:08x}", crc32(&data))),
    ];
    let mut header = String::from("{\"__metadata__\":{");
    for (i, (key, value)) in metadata.iter().enumerate() {
        let comma = if i == 0 { "" } else { "," };
        header += &format!("{comma}{}:{}", json_string(key), json_string(value));
    }
    header.push('}');
    let mut offset = 0;
    for (name, shape, len) in &tensors {
        header += &format!(
            ",{}:{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{offset},{}]}}",
            json_string(name),
            offset + len
        );
        offset += len;
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }

    let mut bytes = Vec::with_capacity(8 + header.len() + data.len());
    bytes.extend((header.len() as u64).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    Ok(bytes)
}

/// `s` as a JSON string literal, quoted and escaped.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out += &format!("\\u{:04x}", u32::from(c)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Loads a checkpoint held in memory (the bytes of a safetensors file, as from [`to_bytes`])
/// into `model`; checks and errors as [`load`], whose messages name the file `<memory>`.
pub fn from_bytes<F: Float, M: Model<F> + ?Sized>(model: &mut M, bytes: &[u8]) -> Result<()> {
    from_bytes_with(model, bytes, LoadOptions::default())
}

/// [`from_bytes`] with options, as [`load_with`].
pub fn from_bytes_with<F: Float, M: Model<F> + ?Sized>(
    model: &mut M,
    bytes: &[u8],
    options: LoadOptions,
) -> Result<()> {
    load_bytes(model, bytes, Path::new("<memory>"), options)
}

/// Checks `bytes` (the file `path`) against `model`, then, only if everything fits, copies
/// the tensors into it.
fn load_bytes<F: Float, M: Model<F> + ?Sized>(
    model: &mut M,
    bytes: &[u8],
    path: &Path,
    options: LoadOptions,
) -> Result<()> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| Error::InvalidFile {
        path: path.to_path_buf(),
        format: FORMAT,
        message: e.to_string(),
    })?;
    check_crc(bytes, path)?;
    let dtype = dtype::<F>()?;

    // What the network has, in its visiting order.
    let mut wanted: Vec<(String, Vec<usize>)> = Vec::new();
    model.visit_params(&mut |p| wanted.push((p.full_name(), p.shape.to_vec())));
    model.visit_buffers(&mut |b| wanted.push((b.full_name(), b.shape.to_vec())));

    let mut problems = Vec::new();
    let mut decoded: HashMap<&str, Vec<F>> = HashMap::new();
    for (name, shape) in &wanted {
        let Ok(tensor) = file.tensor(name) else {
            problems.push(format!(
                "{name}: missing from the checkpoint (the network's has shape {shape:?})"
            ));
            continue;
        };
        let mut fits = true;
        if tensor.shape() != shape.as_slice() {
            problems.push(format!(
                "{name}: shape {:?} in the checkpoint, {shape:?} in the network",
                tensor.shape()
            ));
            fits = false;
        }
        if tensor.dtype() != dtype {
            problems.push(format!(
                "{name}: dtype {} in the checkpoint, {} in the network",
                tensor.dtype(),
                F::DTYPE
            ));
            fits = false;
        }
        if fits {
            decoded.insert(name, decode(tensor.data(), dtype));
        }
    }
    let known: HashSet<&str> = wanted.iter().map(|(n, _)| n.as_str()).collect();
    let mut extra: Vec<_> = file.iter().filter(|(n, _)| !known.contains(n)).collect();
    extra.sort_by_key(|(n, _)| *n);
    for (name, tensor) in extra {
        problems.push(format!(
            "{name}: in the checkpoint (shape {:?}, {}) but not in the network",
            tensor.shape(),
            tensor.dtype()
        ));
    }
    if !problems.is_empty() {
        return Err(Error::CheckpointMismatch {
            path: path.to_path_buf(),
            network: model.name(),
            problems,
        });
    }
    if !options.allow_non_finite {
        for (name, shape) in &wanted {
            let values = decoded.get(name.as_str()).map_or(&[][..], Vec::as_slice);
            if let Some(flat) = values.iter().position(|v| !v.as_f64().is_finite()) {
                return Err(Error::NonFiniteWeight {
                    path: path.to_path_buf(),
                    tensor: name.clone(),
                    index: unravel(flat, shape),
                    value: values[flat].as_f64(),
                });
            }
        }
    }

    // Everything fits: shapes equal, so each decoded tensor has the length of its slot.
    model.visit_params(&mut |p| {
        if let Some(v) = decoded.get(p.full_name().as_str()) {
            p.value.copy_from_slice(v);
        }
    });
    model.visit_buffers(&mut |b| {
        if let Some(v) = decoded.get(b.full_name().as_str()) {
            b.value.copy_from_slice(v);
        }
    });
    Ok(())
}

/// The position (one index per axis, row-major) of element `flat` of a tensor of `shape`.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (i, &n) in index.iter_mut().zip(shape).rev() {
        if n > 0 {
            *i = flat % n;
            flat /= n;
        }
    }
    index
}

/// Metadata key of the CRC-32 of the data section, written by [`save`] and checked by [`load`]
/// when present: safetensors itself checks the layout but not the values, so without it a
/// flipped bit in a weight would load silently. Files without it (from PyTorch) load too.
const CRC_KEY: &str = "crc32";

/// The tensor data of a safetensors file: everything after the 8-byte header length and the
/// header. Empty if the file is too short (only called on well-formed files).
fn data_section(bytes: &[u8]) -> &[u8] {
    let len = bytes
        .get(..8)
        .map_or(0, |b| u64::from_le_bytes(std::array::from_fn(|i| b[i])));
    usize::try_from(len)
        .ok()
        .and_then(|n| n.checked_add(8))
        .and_then(|start| bytes.get(start..))
        .unwrap_or(&[])
}

/// CRC-32 (as gzip computes it) of `bytes`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

/// Checks the data of `bytes` (the file `path`, already parsed without error) against the
/// checksum in its metadata, if there is one.
fn check_crc(bytes: &[u8], path: &Path) -> Result<()> {
    let Ok((_, header)) = SafeTensors::read_metadata(bytes) else {
        return Ok(()); // unreachable: the caller parsed these bytes
    };
    let Some(stored) = header.metadata().as_ref().and_then(|m| m.get(CRC_KEY)) else {
        return Ok(());
    };
    let computed = crc32(data_section(bytes));
    if u32::from_str_radix(stored, 16).ok() == Some(computed) {
        return Ok(());
    }
    Err(Error::InvalidFile {
        path: path.to_path_buf(),
        format: FORMAT,
        message: format!(
            "its tensor data do not match the checksum in its header ({CRC_KEY} {stored}, \
             computed {computed:08x}): the file is corrupt"
        ),
    })
}

/// The safetensors dtype of `F`.
fn dtype<F: Float>() -> Result<Dtype> {
    match F::DTYPE {
        "F32" => Ok(Dtype::F32),
        "F64" => Ok(Dtype::F64),
        other => Err(Error::Config(format!(
            "checkpoints support F32 and F64, not {other}"
        ))),
    }
}

/// Appends the little-endian bytes of `values` as `dtype` (F32 or F64) to `out`. Exact: `F`
/// is that type, and the round trip through `f64` is lossless for both.
fn encode<F: Float>(values: &[F], dtype: Dtype, out: &mut Vec<u8>) {
    if dtype == Dtype::F32 {
        out.extend(
            values
                .iter()
                .flat_map(|v| (v.as_f64() as f32).to_le_bytes()),
        );
    } else {
        out.extend(values.iter().flat_map(|v| v.as_f64().to_le_bytes()));
    }
}

/// The values of little-endian `bytes` of `dtype` (F32 or F64), the inverse of [`encode`].
fn decode<F: Float>(bytes: &[u8], dtype: Dtype) -> Vec<F> {
    if dtype == Dtype::F32 {
        let f = |b: &[u8]| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        bytes.chunks_exact(4).map(|b| F::from_f64(f(b))).collect()
    } else {
        let f = |b: &[u8]| f64::from_le_bytes(std::array::from_fn(|i| b[i]));
        bytes.chunks_exact(8).map(|b| F::from_f64(f(b))).collect()
    }
}

/// Writes `bytes` to `path` atomically: to a new temporary file in the directory of the file
/// `path` names (through any symbolic links), fsynced, given the permissions of the file it
/// replaces, then renamed over it; then fsyncs the directory (where the platform allows) so
/// that the rename itself survives a crash. Errors name `path` as the user gave it.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = follow_links(path).map_err(|e| Error::io("write", path, &e))?;
    let (tmp, mut file) = create_temporary(&target).map_err(|e| Error::io("write", path, &e))?;
    let written = (|| {
        if let Ok(old) = fs::metadata(&target) {
            file.set_permissions(old.permissions())?;
        }
        file.write_all(bytes)?;
        file.sync_all()
    })();
    drop(file);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("write", path, &e));
    }
    if let Err(e) = fs::rename(&tmp, &target) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("rename the new checkpoint over", path, &e));
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // Directories can be opened and fsynced on Unix; elsewhere this fails and is skipped.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The file `path` names: `path` itself, or, if it is a symbolic link, the path it points
/// to, followed to the end (a relative target is relative to the link's directory). The
/// file need not exist: a link to a missing file names where the file is to be created.
fn follow_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    // As many links as Linux follows before giving up (ELOOP).
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(std::io::Error::other(
        "too many levels of symbolic links (a loop?)",
    ))
}

/// Creates a new file beside `target` for [`write_atomically`], named
/// `NAME.<pid>.<n>.<random>.tmp`, exclusively (`create_new`): it never opens or overwrites an
/// existing file, whatever other processes or saves do at the same time.
fn create_temporary(target: &Path) -> std::io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let Some(name) = target.file_name() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path does not end in a file name",
        ));
    };
    let mut last = None;
    for _ in 0..100 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let suffix = format!(
            ".{}.{n}.{:08x}.tmp",
            std::process::id(),
            rand::random::<u32>()
        );
        let mut tmp_name = name.to_os_string();
        tmp_name.push(suffix);
        let tmp = target.with_file_name(tmp_name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}
