//! A power-cut filesystem for tests, after Jepsen's LazyFS: proves that an
//! acknowledged write survives losing the power, not only a process crash.
//!
//! [`PowerCutFs::mount`] serves a FUSE passthrough over a backing directory
//! from a background session in the test process. Metadata operations
//! (create, mkdir, rename, unlink, rmdir, link, symlink) take effect at once
//! and are durable. File data (write, truncate, fallocate) is volatile until
//! the file is fsynced (fsync or fdatasync on any handle of that inode; a
//! fsync of a directory is accepted and counted). [`PowerCutFs::power_cut`]
//! drops the volatile layer: every file goes back to its content at its last
//! fsync (a file never fsynced becomes empty; a temp file renamed over a good
//! file without a fsync leaves the target empty).
//!
//! The kernel caches neither entries, attributes nor file data (direct I/O),
//! so a process started after a power cut reads the reverted content. The
//! backing files are never fsynced for real: durability is this model's,
//! which keeps the filesystem fast.
//!
//! Faults: [`PowerCutFs::fail_next_write`], [`PowerCutFs::fail_next_fsync`],
//! [`PowerCutFs::set_full`] (ENOSPC until cleared) and
//! [`PowerCutFs::set_fsync_delay`] (a slow disk: other operations go on while
//! a fsync waits). Counters and per-file [`PowerCutFs::files`] show what a
//! program fsyncs and what it never does.
//!
//! Mounting needs `/dev/fuse` and either root (mount(2), what the harness and
//! CI use) or the `fusermount3` helper (Debian's `fuse3`). Tests gate on
//! [`require`]. Set `KV_POWERCUT_TRACE=1` to print every operation's path.

mod fs;

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use fuser::{BackgroundSession, Config, INodeNo, MountOption, Notifier};

use self::fs::{PowerCutFuse, Shared};

/// A mounted power-cut filesystem; dropping it unmounts (lazily if a process
/// still has files open there).
pub struct PowerCutFs {
    shared: Arc<Shared>,
    session: Option<BackgroundSession>,
    notifier: Notifier,
    mountpoint: PathBuf,
    backing: PathBuf,
}

/// What was done to one path of the mount, to find files that a program
/// writes but never fsyncs (paths are those at the time of each operation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileActivity {
    /// Path relative to the mount point.
    pub path: PathBuf,
    /// Write operations answered.
    pub writes: u64,
    /// Bytes those writes carried.
    pub bytes_written: u64,
    /// Size changes (truncate, O_TRUNC).
    pub truncates: u64,
    /// Completed fsyncs (for a directory: directory fsyncs).
    pub fsyncs: u64,
    /// Whether it now holds data a power cut would take back.
    pub volatile: bool,
}

impl std::fmt::Debug for PowerCutFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerCutFs")
            .field("mountpoint", &self.mountpoint)
            .field("backing", &self.backing)
            .finish_non_exhaustive()
    }
}

impl PowerCutFs {
    /// Mount a power-cut filesystem at `mountpoint` over `backing` (both
    /// created if missing; what `backing` holds already counts as durable).
    pub fn mount(backing: &Path, mountpoint: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(backing)?;
        std::fs::create_dir_all(mountpoint)?;
        let backing = backing.canonicalize()?;
        let mountpoint = mountpoint.canonicalize()?;
        let trace = std::env::var_os("KV_POWERCUT_TRACE").is_some_and(|v| v != "0");
        let shared = Shared::new(&backing, trace)?;
        let mut config = Config::default();
        config.mount_options = vec![
            MountOption::FSName("powercut".into()),
            MountOption::Subtype("powercut".into()),
            MountOption::DefaultPermissions,
        ];
        let fuse = PowerCutFuse {
            shared: shared.clone(),
        };
        let session = fuser::spawn_mount(fuse, &mountpoint, &config)?;
        let notifier = session.notifier();
        Ok(Self {
            shared,
            session: Some(session),
            notifier,
            mountpoint,
            backing,
        })
    }

    /// Where the filesystem is mounted (use this path, not the backing one).
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// The backing directory: the durable and volatile data as one, unmodelled.
    pub fn backing(&self) -> &Path {
        &self.backing
    }

    /// Lose the power and get it back: every file returns to its content at
    /// its last fsync. Processes using the mount should be dead (see
    /// [`crate::Cluster::power_cut`]); their handles still work afterwards.
    pub fn power_cut(&self) {
        self.power_off();
        self.power_on();
    }

    /// First half of [`PowerCutFs::power_cut`]: revert every file to its last
    /// fsync and answer EIO to every operation (a slow fsync in flight fails)
    /// until [`PowerCutFs::power_on`], so a dying process changes nothing.
    pub fn power_off(&self) {
        let (inos, errors) = self.shared.power_off();
        for ino in inos {
            // The kernel keeps no data pages (direct I/O) but may keep sizes.
            let _ = self.notifier.inval_inode(INodeNo(ino), 0, 0);
        }
        assert!(
            errors.is_empty(),
            "power cut on {}: {errors:?}",
            self.mountpoint.display()
        );
    }

    /// Serve operations again after [`PowerCutFs::power_off`].
    pub fn power_on(&self) {
        self.shared.power_on();
    }

    /// Make the next write fail with `errno` (e.g. `libc::EIO`), once.
    pub fn fail_next_write(&self, errno: i32) {
        self.shared.lock().faults.fail_write = Some(errno);
    }

    /// Make the next fsync (file or directory) fail with `errno`, once; the
    /// data stays volatile.
    pub fn fail_next_fsync(&self, errno: i32) {
        self.shared.lock().faults.fail_fsync = Some(errno);
    }

    /// A full disk: while set, every write of data and every fallocate
    /// answers ENOSPC; clearing it is freeing space.
    pub fn set_full(&self, full: bool) {
        self.shared.lock().faults.full = full;
    }

    /// A slow disk: each fsync is answered only after `delay` (zero: at
    /// once), while other operations are served meanwhile.
    pub fn set_fsync_delay(&self, delay: Duration) {
        self.shared.lock().faults.fsync_delay = delay;
    }

    /// Fsyncs (of files and directories) completed since the mount.
    pub fn fsyncs(&self) -> u64 {
        self.shared.lock().fsyncs
    }

    /// Fsyncs accepted and still waiting out [`PowerCutFs::set_fsync_delay`].
    pub fn fsyncs_pending(&self) -> u64 {
        self.shared.lock().fsyncs_pending
    }

    /// Bytes written through the mount since it was mounted.
    pub fn bytes_written(&self) -> u64 {
        self.shared.lock().bytes_written
    }

    /// Every path written, truncated or fsynced since the mount, sorted.
    pub fn files(&self) -> Vec<FileActivity> {
        let st = self.shared.lock();
        let volatile = st.volatile_paths();
        st.activity
            .iter()
            .map(|(path, a)| FileActivity {
                path: path.clone(),
                writes: a.writes,
                bytes_written: a.bytes_written,
                truncates: a.truncates,
                fsyncs: a.fsyncs,
                volatile: volatile.contains(path),
            })
            .collect()
    }
}

impl Drop for PowerCutFs {
    fn drop(&mut self) {
        // A process stopped while the power was off must be able to exit.
        self.shared.power_on();
        let Some(session) = self.session.take() else {
            return;
        };
        if unmount(&self.mountpoint) {
            // The kernel ends the connection; the session thread sees it.
            let until = Instant::now() + Duration::from_secs(5);
            while !session.guard.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            if session.guard.is_finished() {
                let _ = session.join();
            }
        } else {
            // Detached but alive until its last file closes: fuser must not
            // unmount the path again later (something else may be mounted
            // there by then), so its session handle is leaked on purpose.
            std::mem::forget(session);
        }
    }
}

/// Unmount `mountpoint`: true if it is gone, false if it was busy (a
/// process still has files open there) and was detached lazily instead: it
/// left the tree and goes away when the last file closes.
fn unmount(mountpoint: &Path) -> bool {
    if !is_mounted(mountpoint) {
        return true;
    }
    let Ok(c) = CString::new(mountpoint.as_os_str().as_bytes()) else {
        return true;
    };
    // SAFETY: umount2 with a valid C path.
    if unsafe { libc::umount2(c.as_ptr(), 0) } == 0 {
        return true;
    }
    // SAFETY: as above.
    unsafe {
        libc::umount2(c.as_ptr(), libc::MNT_DETACH);
    }
    false
}

/// Whether `/proc/mounts` lists a mount at `mountpoint`.
fn is_mounted(mountpoint: &Path) -> bool {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let target = mountpoint.to_string_lossy();
    mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(&*target))
}

/// Whether a power-cut filesystem can be mounted here; the reason if not.
/// Checked once per process, by mounting one in a temp dir.
pub fn available() -> Result<(), String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE.get_or_init(probe).clone()
}

fn probe() -> Result<(), String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
        .map_err(|e| format!("cannot open /dev/fuse: {e}"))?;
    let dir = tempfile::Builder::new()
        .prefix("powercut-probe-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let mnt = dir.path().join("mnt");
    let fs = PowerCutFs::mount(&dir.path().join("backing"), &mnt).map_err(|e| {
        format!(
            "cannot mount a FUSE filesystem (needs root or fusermount3 from Debian's fuse3): {e}"
        )
    })?;
    let file = mnt.join("probe");
    let written = std::fs::write(&file, b"probe").and_then(|()| std::fs::read(&file));
    drop(fs);
    match written {
        Ok(bytes) if bytes == b"probe" => Ok(()),
        Ok(bytes) => Err(format!("FUSE probe read back {bytes:?}")),
        Err(e) => Err(format!("FUSE probe write failed: {e}")),
    }
}

/// The one gate for tests that need a power-cut filesystem: `true` when one
/// can be mounted; otherwise prints `skipped: <reason>` and returns `false`,
/// except under `CI=true`, where it panics (CI must provide FUSE).
pub fn require() -> bool {
    match available() {
        Ok(()) => true,
        Err(reason) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(!ci, "power-cut filesystem unavailable under CI: {reason}");
            println!("skipped: {reason}");
            false
        }
    }
}

/// Wait until nothing is mounted at `mountpoint` (unmounts can lag a little
/// behind a lazy detach); true if it is gone within `deadline`.
pub fn wait_unmounted(mountpoint: &Path, deadline: Duration) -> bool {
    let until = Instant::now() + deadline;
    loop {
        if !is_mounted(mountpoint) {
            return true;
        }
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
