//! A scratch directory removed on drop (the demo has no `tempfile`).

use std::path::{Path, PathBuf};

/// The directory; removed with everything in it when dropped.
pub struct Dir(PathBuf);

impl Dir {
    /// Creates `<tmp>/<prefix>-<pid>-<nanos>`.
    pub fn new(prefix: &str) -> std::io::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let p = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p)?;
        Ok(Self(p))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
