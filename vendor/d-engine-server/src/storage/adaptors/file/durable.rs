//! Crash-safe file writes shared by the file storage adaptors.

use std::fs::File;
use std::io;
use std::io::Write;
use std::path::Path;
use std::path::PathBuf;

/// Replaces the file at `path` with `bytes` so that a crash or a power cut at
/// any point leaves under `path` either the previous content or the new one,
/// complete, never a truncated or partly written file.
///
/// The bytes are written to `<path>.tmp`, which is fsynced and renamed over
/// `path`; the directory is then fsynced so that the rename itself is durable.
/// A `<path>.tmp` left by a crash before the rename is overwritten by the next
/// call; readers only ever open `path`. Concurrent calls for the same `path`
/// must be serialized by the caller (they share the temporary file).
pub(crate) fn replace_file(
    path: &Path,
    bytes: &[u8],
) -> io::Result<()> {
    let tmp = tmp_path(path);
    let written = File::create(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written {
        // Do not leave a partial file behind, e.g. on a full disk.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path)?;
    sync_parent_dir(path)
}

/// Creates `dir` and its missing parents, like `std::fs::create_dir_all`, and
/// fsyncs the parent of each directory it creates, so that they survive a
/// power cut (the files later created or renamed in them would be lost with
/// them).
pub(crate) fn create_dir_all(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        create_dir_all(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => sync_parent_dir(dir),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Fsyncs the directory holding `path`, so that a file created, renamed or
/// removed there survives a power cut.
pub(crate) fn sync_parent_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
        _ => sync_dir(Path::new(".")),
    }
}

/// Fsyncs the directory `dir` itself (its list of entries).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `<path>.tmp`: where [`replace_file`] writes before the rename.
pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}
