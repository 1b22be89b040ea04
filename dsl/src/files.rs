//! Reading sources and replacing files, for `axc` and build scripts alike.
//!
//! - A source is read only from a regular file (a symlink to one is fine) or from a reader
//!   such as standard input, and only up to [`MAX_SOURCE_BYTES`]: a device such as
//!   `/dev/zero`, a directory or a named pipe is refused before it is opened, so nothing
//!   reads forever or waits for a writer that never comes.
//! - A file is never rewritten in place: [`replace`] writes a temporary file beside it,
//!   flushes it to disk and renames it over the old one, so a full disk, a file-size limit
//!   or a crash leaves either the old file or the new one, never half of one.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The largest source axonal reads: 16 MiB. The largest example model is about 4 KB;
/// a source this big is a mistake (a wrong path, a data file) rather than a network.
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads the source at `path`: a regular file of at most [`MAX_SOURCE_BYTES`] of UTF-8.
///
/// The error says what was found and what to do, ready to follow
/// ``cannot read `PATH`: ``.
pub fn read_source(path: &Path) -> io::Result<String> {
    // Look before opening: opening a named pipe blocks until something writes to it.
    let metadata = fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(not_a_regular_file(&metadata));
    }
    if metadata.len() > MAX_SOURCE_BYTES {
        return Err(too_large(Some(metadata.len())));
    }
    let file = File::open(path)?;
    // The path may have been replaced between the look and the open.
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(not_a_regular_file(&metadata));
    }
    read_capped(file)
}

/// Reads a source from `reader` (standard input, say), refusing more than
/// [`MAX_SOURCE_BYTES`] or text that is not UTF-8. It stops reading at the limit, so an
/// endless stream costs no more than that.
pub fn read_capped(reader: impl Read) -> io::Result<String> {
    let mut bytes = Vec::new();
    reader.take(MAX_SOURCE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(too_large(None));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // `valid` is UTF-8 up to here, so the column counts characters.
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = String::from_utf8_lossy(&valid[line_start..])
            .chars()
            .count()
            + 1;
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "expected UTF-8 text, found the byte 0x{:02x} at line {line}, column {column}: \
                 save the file as UTF-8",
                e.as_bytes()[valid.len()]
            ),
        )
    })
}

fn not_a_regular_file(metadata: &fs::Metadata) -> io::Error {
    let file_type = metadata.file_type();
    let found = if file_type.is_dir() {
        "a directory"
    } else {
        special_file_kind(&file_type)
    };
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("expected a regular file, found {found}: give the path of a `.nn` file"),
    )
}

#[cfg(unix)]
fn special_file_kind(file_type: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if file_type.is_fifo() {
        "a named pipe (FIFO)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_file_kind(_: &fs::FileType) -> &'static str {
    "a special file"
}

fn too_large(size: Option<u64>) -> io::Error {
    let found = match size {
        Some(bytes) => format!("{bytes} bytes ({:.1} MiB)", bytes as f64 / 1048576.0),
        None => format!("more than {MAX_SOURCE_BYTES} bytes"),
    };
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!(
            "expected a source of at most {MAX_SOURCE_BYTES} bytes (16 MiB), found {found}: \
             check the path, or split the networks over several files"
        ),
    )
}

/// Replaces the file at `path` with `contents`, or creates it, without ever leaving half a
/// file: the text goes to a new temporary file in the same directory (a fresh name that
/// collides with no existing file), is flushed to disk, and is renamed over `path`. If
/// anything fails the temporary file is removed and `path` is as it was.
///
/// - A symlink is written through: its target gets the new text, the link stays a link.
/// - An existing file keeps its permissions (and, where allowed, its owner and group);
///   a file that may not be written (read-only to this user) is refused as a direct write
///   would be.
/// - Other names of the file (hard links) keep the old text, as with most editors.
/// - A device or a named pipe (`--out /dev/stdout`) is written directly: there is no file
///   to replace.
pub fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    let target = resolve_symlinks(path)?;
    let existing = match fs::metadata(&target) {
        Ok(metadata) => Some(metadata),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(metadata) = &existing {
        if metadata.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "expected a file to write, found a directory: give the path of a file",
            ));
        }
        if !metadata.is_file() {
            // A device (`/dev/stdout`, `/dev/null`) or a named pipe: nothing to replace and
            // nothing to lose, so it gets the text directly.
            return OpenOptions::new()
                .write(true)
                .open(&target)?
                .write_all(contents);
        }
        // Writing in place needed permission to write the file: keep that rule, so a
        // read-only file is not replaced behind its owner's back.
        OpenOptions::new().write(true).open(&target)?;
    }
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let (tmp, mut file) = create_temporary(dir, name)?;
    let written = (|| {
        file.write_all(contents)?;
        if let Some(metadata) = &existing {
            keep_owner(&file, metadata);
            file.set_permissions(metadata.permissions())?;
        }
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, &target)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // Make the rename itself durable; not every platform can open a directory.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Follows `path` through symlinks to the file they name (which may not exist yet).
fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    // As many as Linux follows before it gives up with ELOOP.
    for _ in 0..40 {
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let link = fs::read_link(&path)?;
                // A relative link is relative to the link's directory; `join` keeps an
                // absolute one as it is.
                path = match path.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                };
            }
            _ => return Ok(path),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "expected a file, found a chain of more than 40 symbolic links (a loop?)",
    ))
}

/// The `N` of the next temporary file's name.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// Creates `dir/.NAME.PID-N.tmp` with a name no file has yet.
fn create_temporary(dir: &Path, name: &std::ffi::OsStr) -> io::Result<(PathBuf, File)> {
    // Enough of the name to tell whose temporary file it is, short enough for any file system.
    let name: String = name.to_string_lossy().chars().take(64).collect();
    let mut last_error = None;
    for _ in 0..100 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = OsString::from(".");
        tmp_name.push(format!("{name}.{}-{n}.tmp", std::process::id()));
        let tmp = dir.join(tmp_name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no free temporary file name")))
}

#[cfg(unix)]
fn keep_owner(file: &File, metadata: &fs::Metadata) {
    use std::os::unix::fs::MetadataExt as _;
    // Only root may give a file away; for anyone else this keeps what it can (the group,
    // if they belong to it) and otherwise fails harmlessly.
    if std::os::unix::fs::fchown(file, Some(metadata.uid()), Some(metadata.gid())).is_err() {
        let _ = std::os::unix::fs::fchown(file, None, Some(metadata.gid()));
    }
}

#[cfg(not(unix))]
fn keep_owner(_: &File, _: &fs::Metadata) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("axonal-files-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn read_capped_stops_at_the_limit() {
        let endless = io::repeat(b'a');
        let err = read_capped(endless).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert!(
            err.to_string()
                .contains("at most 16777216 bytes (16 MiB), found more than 16777216 bytes"),
            "{err}"
        );
        let exact = vec![b' '; MAX_SOURCE_BYTES as usize];
        assert_eq!(read_capped(&exact[..]).unwrap().len(), exact.len());
    }

    #[test]
    fn read_capped_says_where_the_text_is_not_utf8() {
        let err = read_capped(&b"N {\n  input 4;\xff }"[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.to_string()
                .contains("found the byte 0xff at line 2, column 11"),
            "{err}"
        );
    }

    #[test]
    fn read_source_refuses_directories_and_large_files_before_reading() {
        let dir = scratch("read");
        let err = read_source(&dir).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a regular file, found a directory"),
            "{err}"
        );
        let big = dir.join("big.nn");
        let file = File::create(&big).unwrap();
        file.set_len(MAX_SOURCE_BYTES + 1).unwrap(); // sparse: no 16 MiB written
        let err = read_source(&big).unwrap_err();
        assert!(
            err.to_string().contains("found 16777217 bytes (16.0 MiB)"),
            "{err}"
        );
        fs::write(&big, "N { input 1 }").unwrap();
        assert_eq!(read_source(&big).unwrap(), "N { input 1 }");
    }

    #[cfg(unix)]
    #[test]
    fn read_source_refuses_devices() {
        let err = read_source(Path::new("/dev/zero")).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a regular file, found a character device"),
            "{err}"
        );
    }

    #[test]
    fn replace_creates_and_replaces_leaving_no_temporary_file() {
        let dir = scratch("replace");
        let file = dir.join("net.nn");
        replace(&file, b"one").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"one");
        replace(&file, b"two").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"two");
        assert_eq!(entries(&dir), ["net.nn"]);
    }

    #[cfg(unix)]
    #[test]
    fn replace_keeps_permissions_and_writes_through_symlinks() {
        use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
        let dir = scratch("replace_link");
        let target = dir.join("real.nn");
        fs::write(&target, "old").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.join("link.nn");
        std::os::unix::fs::symlink("real.nn", &link).unwrap();
        replace(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"new");
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        assert_eq!(entries(&dir), ["link.nn", "real.nn"]);
        // A device is written directly, not replaced.
        replace(Path::new("/dev/null"), b"gone").unwrap();
        assert!(fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
        let err = replace(&dir, b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::IsADirectory);
        // A dangling link gets its target created.
        std::os::unix::fs::symlink("later.nn", dir.join("dangling.nn")).unwrap();
        replace(&dir.join("dangling.nn"), b"x").unwrap();
        assert_eq!(fs::read(dir.join("later.nn")).unwrap(), b"x");
    }

    #[test]
    fn replace_never_reuses_an_existing_name() {
        let dir = scratch("replace_names");
        let file = dir.join("net.nn");
        fs::write(&file, "old").unwrap();
        // Occupy the next temporary names this process would pick.
        let n = NEXT.load(Ordering::Relaxed);
        let pid = std::process::id();
        let taken: Vec<PathBuf> = (n..n + 5)
            .map(|i| dir.join(format!(".net.nn.{pid}-{i}.tmp")))
            .collect();
        for path in &taken {
            fs::write(path, "someone else's").unwrap();
        }
        replace(&file, b"new").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"new");
        for path in &taken {
            assert_eq!(fs::read(path).unwrap(), b"someone else's");
        }
    }
}
