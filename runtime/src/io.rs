//! Checkpoints: a network's parameters and buffers in a [safetensors] file, named and laid out
//! as PyTorch's `state_dict` (`fc1.weight` of shape `[out, in]`, `fc1.bias`,
//! `bn1.running_mean`, …), so the file loads into an equivalent PyTorch `nn.Sequential`.
//!
//! - [`save`] writes every [`Param`](crate::Param) and [`Buffer`](crate::Buffer) of the
//!   network, in the network's dtype (`F32` or `F64`, [`Float::DTYPE`]), with the metadata
//!   `network` (the network's name), `dtype`, `format: pt` (what Hugging Face tools expect
//!   of a PyTorch checkpoint) and `crc32` (a checksum of the tensor data, which [`load`]
//!   verifies: safetensors checks the layout, not the values). The same weights always give
//!   the same bytes. It writes `PATH.tmp` in the same directory, fsyncs it, renames
//!   it over `PATH` and fsyncs the directory: an interrupted save leaves the old checkpoint
//!   intact, never a partial one. (Two processes saving to the same path at once share that
//!   temporary name: don't.)
//! - [`load`] reads a checkpoint into a network and checks everything before changing
//!   anything: every tensor of the network missing from the file, every tensor of the file
//!   the network does not have, every wrong shape and every wrong dtype is listed in one
//!   [`Error::CheckpointMismatch`], and the network is left untouched. A truncated or corrupt
//!   file is an [`Error::InvalidFile`] (safetensors checks every offset of the header against
//!   the file's length before anything is read), as is one whose data fail the checksum.
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
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};
use crate::float::Float;
use crate::model::Model;

/// The format named by this module's [`Error::InvalidFile`]s.
const FORMAT: &str = "safetensors checkpoint";

/// Saves the parameters and buffers of `model` to the safetensors file `path`, atomically
/// (see the [module docs](self)): `path` holds the old checkpoint or the new one, never a mix.
///
/// Errors: the directory does not exist or is not writable, the disk is full, or (for a
/// hand-written model) two tensors share a name.
pub fn save<F: Float, M: Model<F> + ?Sized>(model: &mut M, path: impl AsRef<Path>) -> Result<()> {
    let bytes = to_bytes(model)?;
    write_atomically(path.as_ref(), &bytes)
}

/// Loads the safetensors checkpoint `path` into `model`, after checking that its tensors are
/// exactly those of the network, with the same shapes and dtype.
///
/// Errors: the file is missing or unreadable; it is not a valid safetensors file (truncated,
/// corrupt); it does not fit the network ([`Error::CheckpointMismatch`], listing every
/// problem). On any error `model` is unchanged.
pub fn load<F: Float, M: Model<F> + ?Sized>(model: &mut M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::MissingFile {
            path: path.to_path_buf(),
            hint: "Checkpoints are written by `axonal::io::save`; check the path.".into(),
        },
        _ => Error::io("read", path, &e),
    })?;
    load_bytes(model, &bytes, path)
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
    load_bytes(model, bytes, Path::new("<memory>"))
}

/// Checks `bytes` (the file `path`) against `model`, then, only if everything fits, copies
/// the tensors into it.
fn load_bytes<F: Float, M: Model<F> + ?Sized>(
    model: &mut M,
    bytes: &[u8],
    path: &Path,
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

/// `path` with `.tmp` appended (`model.safetensors.tmp`): where [`save`] writes first.
pub fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Writes `bytes` to `path.tmp`, fsyncs it, renames it over `path`, then fsyncs the directory
/// (where the platform allows) so that the rename itself survives a crash.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_path(path);
    let written = File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("write", &tmp, &e));
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("rename the new checkpoint over", path, &e));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // Directories can be opened and fsynced on Unix; elsewhere this fails and is skipped.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
