//! The FUSE side of the power-cut filesystem: a passthrough over a backing
//! directory that remembers, per file, what a power cut would take back.
//!
//! Writes and truncates go straight to the backing file. Before one touches
//! bytes below the file's durable length (its length at the last fsync), the
//! original bytes are saved once in the file's [`Volatile`] record; bytes
//! past the durable length need nothing saved, so an append-only log costs
//! no copying. A fsync drops the record (everything now on the backing file
//! is durable); a power cut writes the saved bytes back and truncates to the
//! durable length. A file without a record has no volatile data.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, InitFlags,
    KernelConfig, LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow,
    WriteFlags,
};

/// Entries and attributes are never cached by the kernel: a power cut changes
/// file sizes behind its back.
const TTL: Duration = Duration::ZERO;

/// Injected faults, each set from the test through the handle.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// Errno for the next write, once.
    pub(crate) fail_write: Option<i32>,
    /// Errno for the next fsync (file or directory), once.
    pub(crate) fail_fsync: Option<i32>,
    /// While set, writes and fallocate answer ENOSPC.
    pub(crate) full: bool,
    /// How long each fsync takes before it is answered.
    pub(crate) fsync_delay: Duration,
}

/// What happened to one path, for [`super::FileActivity`].
#[derive(Debug, Default, Clone)]
pub(crate) struct Activity {
    pub(crate) writes: u64,
    pub(crate) bytes_written: u64,
    pub(crate) truncates: u64,
    pub(crate) fsyncs: u64,
}

/// The volatile layer of one file: what a power cut restores.
#[derive(Debug)]
struct Volatile {
    /// A read-write descriptor of the backing file (also after a rename).
    file: Arc<File>,
    /// Length at the last fsync (or when first touched since then).
    durable_len: u64,
    /// Original bytes of ranges below `durable_len` overwritten since then.
    undo: Vec<(u64, Vec<u8>)>,
    /// Sorted, disjoint `[start, end)` ranges already in `undo`.
    saved: Vec<(u64, u64)>,
}

impl Volatile {
    /// Save the durable content of `[start, end)` that is not saved yet.
    fn save(&mut self, start: u64, end: u64) -> io::Result<()> {
        let end = end.min(self.durable_len);
        let mut gaps = Vec::new();
        let mut at = start;
        for &(s, e) in &self.saved {
            if at >= end {
                break;
            }
            if e <= at {
                continue;
            }
            if s > at {
                gaps.push((at, s.min(end)));
            }
            at = at.max(e);
        }
        if at < end {
            gaps.push((at, end));
        }
        for (s, e) in gaps {
            let mut buf = vec![0u8; (e - s) as usize];
            read_full_at(&self.file, &mut buf, s)?;
            self.undo.push((s, buf));
            self.saved.push((s, e));
        }
        self.saved.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.saved.len());
        for (s, e) in self.saved.drain(..) {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.saved = merged;
        Ok(())
    }

    /// Put the file back as it was at its last fsync (a no-op once unlinked).
    fn revert(self) -> io::Result<()> {
        if self.file.metadata()?.nlink() == 0 {
            return Ok(());
        }
        for (offset, bytes) in &self.undo {
            self.file.write_all_at(bytes, *offset)?;
        }
        self.file.set_len(self.durable_len)
    }
}

/// Read `buf.len()` bytes at `offset`, zero-filling past the end of the file.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// An open file or directory of the mount.
#[derive(Debug)]
enum Handle {
    File(Arc<File>),
    /// Entries listed at opendir: (ino, kind, name).
    Dir(Vec<(u64, FileType, OsString)>),
}

/// Everything the filesystem knows, behind one lock.
#[derive(Debug)]
pub(crate) struct State {
    /// The backing directory.
    root: PathBuf,
    /// Backing inode of `root` (shown to the kernel as inode 1).
    root_ino: u64,
    /// Known inodes and their path relative to `root`.
    paths: HashMap<u64, PathBuf>,
    handles: HashMap<u64, Handle>,
    next_fh: u64,
    /// Files with data not yet fsynced, by inode.
    volatile: HashMap<u64, Volatile>,
    pub(crate) faults: Faults,
    /// False between power off and power on: every operation answers EIO.
    pub(crate) powered: bool,
    /// Bumped by each power cut, so a slow fsync that straddles one fails.
    epoch: u64,
    pub(crate) fsyncs: u64,
    /// Fsyncs accepted and waiting out the delay.
    pub(crate) fsyncs_pending: u64,
    pub(crate) bytes_written: u64,
    /// Per path (at the time of the operation), what was done to it.
    pub(crate) activity: BTreeMap<PathBuf, Activity>,
    /// Print every data and metadata operation to stderr.
    trace: bool,
}

/// State shared by the FUSE session, slow-fsync threads and the handle.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(root: &Path, trace: bool) -> io::Result<Arc<Self>> {
        let root_ino = fs::metadata(root)?.ino();
        let mut paths = HashMap::new();
        paths.insert(1, PathBuf::new());
        Ok(Arc::new(Self {
            state: Mutex::new(State {
                root: root.to_path_buf(),
                root_ino,
                paths,
                handles: HashMap::new(),
                next_fh: 1,
                volatile: HashMap::new(),
                faults: Faults::default(),
                powered: true,
                epoch: 0,
                fsyncs: 0,
                fsyncs_pending: 0,
                bytes_written: 0,
                activity: BTreeMap::new(),
                trace,
            }),
        }))
    }

    /// The state, also after a panic elsewhere poisoned the lock.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cut the power: revert every file to its last fsync and refuse every
    /// operation until [`Shared::power_on`]. Returns the reverted inodes (for
    /// the kernel's caches) and the errors met while reverting.
    pub(crate) fn power_off(&self) -> (Vec<u64>, Vec<String>) {
        let mut st = self.lock();
        st.powered = false;
        st.epoch += 1;
        let mut inos = Vec::new();
        let mut errors = Vec::new();
        for (ino, v) in std::mem::take(&mut st.volatile) {
            let path = st.rel_path(ino);
            if st.trace {
                eprintln!(
                    "powercut {}: revert {} to {} bytes",
                    st.root.display(),
                    path.display(),
                    v.durable_len
                );
            }
            if let Err(e) = v.revert() {
                errors.push(format!("revert {}: {e}", path.display()));
            }
            inos.push(ino);
        }
        (inos, errors)
    }

    /// Serve operations again after [`Shared::power_off`].
    pub(crate) fn power_on(&self) {
        self.lock().powered = true;
    }
}

impl State {
    /// Inode number shown to the kernel for a backing inode (root is 1).
    fn fuse_ino(&self, backing: u64) -> u64 {
        if backing == self.root_ino {
            1
        } else if backing == 1 {
            self.root_ino
        } else {
            backing
        }
    }

    /// Path of `ino` relative to the root ("?ino" if unknown).
    fn rel_path(&self, ino: u64) -> PathBuf {
        self.paths
            .get(&ino)
            .cloned()
            .unwrap_or_else(|| PathBuf::from(format!("?{ino}")))
    }

    /// Backing path of a known inode.
    fn path(&self, ino: u64) -> io::Result<PathBuf> {
        match self.paths.get(&ino) {
            Some(rel) => Ok(self.root.join(rel)),
            None => Err(io::Error::from_raw_os_error(libc::ENOENT)),
        }
    }

    /// Relative and backing path of `name` in directory `parent`.
    fn child(&self, parent: u64, name: &OsStr) -> io::Result<(PathBuf, PathBuf)> {
        let rel = match self.paths.get(&parent) {
            Some(dir) => dir.join(name),
            None => return Err(io::Error::from_raw_os_error(libc::ENOENT)),
        };
        let abs = self.root.join(&rel);
        Ok((rel, abs))
    }

    /// Record `rel` as the path of the backing inode in `meta`; its attributes.
    fn remember(&mut self, rel: PathBuf, meta: &fs::Metadata) -> FileAttr {
        let ino = self.fuse_ino(meta.ino());
        self.paths.insert(ino, rel);
        self.attr(meta)
    }

    fn attr(&self, meta: &fs::Metadata) -> FileAttr {
        let time = |secs: i64, nsecs: i64| {
            let d = Duration::new(secs.unsigned_abs(), nsecs as u32);
            if secs >= 0 {
                SystemTime::UNIX_EPOCH + d
            } else {
                SystemTime::UNIX_EPOCH - d
            }
        };
        FileAttr {
            ino: INodeNo(self.fuse_ino(meta.ino())),
            size: meta.size(),
            blocks: meta.blocks(),
            atime: time(meta.atime(), meta.atime_nsec()),
            mtime: time(meta.mtime(), meta.mtime_nsec()),
            ctime: time(meta.ctime(), meta.ctime_nsec()),
            crtime: SystemTime::UNIX_EPOCH,
            kind: FileType::from_std(meta.file_type()).unwrap_or(FileType::RegularFile),
            perm: (meta.mode() & 0o7777) as u16,
            nlink: meta.nlink() as u32,
            uid: meta.uid(),
            gid: meta.gid(),
            rdev: meta.rdev() as u32,
            blksize: meta.blksize() as u32,
            flags: 0,
        }
    }

    fn new_handle(&mut self, handle: Handle) -> u64 {
        let fh = self.next_fh;
        self.next_fh += 1;
        self.handles.insert(fh, handle);
        fh
    }

    fn file_of(&self, fh: u64) -> io::Result<Arc<File>> {
        match self.handles.get(&fh) {
            Some(Handle::File(file)) => Ok(file.clone()),
            _ => Err(io::Error::from_raw_os_error(libc::EBADF)),
        }
    }

    /// The volatile record of `ino`, created (durable = current length) if none.
    fn volatile_for(&mut self, ino: u64, file: &Arc<File>) -> io::Result<&mut Volatile> {
        Ok(match self.volatile.entry(ino) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(Volatile {
                file: file.clone(),
                durable_len: file.metadata()?.len(),
                undo: Vec::new(),
                saved: Vec::new(),
            }),
        })
    }

    /// Set the length of `ino` (open as `file`) to `size`, volatile.
    fn truncate(&mut self, ino: u64, file: &Arc<File>, size: u64) -> io::Result<()> {
        let current = file.metadata()?.len();
        if size == current {
            return Ok(());
        }
        let v = self.volatile_for(ino, file)?;
        if size < v.durable_len {
            v.save(size, current)?;
        }
        file.set_len(size)?;
        self.trace_op("truncate", ino, size);
        self.activity_of(ino).truncates += 1;
        Ok(())
    }

    fn activity_of(&mut self, ino: u64) -> &mut Activity {
        let path = self.rel_path(ino);
        self.activity.entry(path).or_default()
    }

    /// A fsync of `ino` completed: its data is durable now.
    fn commit(&mut self, ino: u64) {
        self.volatile.remove(&ino);
        self.fsyncs += 1;
        self.activity_of(ino).fsyncs += 1;
        self.trace_op("fsync", ino, 0);
    }

    /// Paths (relative to the root) of files with data a power cut would revert.
    pub(crate) fn volatile_paths(&self) -> Vec<PathBuf> {
        self.volatile
            .keys()
            .map(|ino| self.rel_path(*ino))
            .collect()
    }

    /// Forget the volatile data of a file whose last link is gone.
    fn forget_if_gone(&mut self, ino: u64) {
        let gone = match self.volatile.get(&ino) {
            Some(v) => v.file.metadata().is_ok_and(|m| m.nlink() == 0),
            None => false,
        };
        if gone {
            self.volatile.remove(&ino);
        }
    }

    fn trace_op(&self, op: &str, ino: u64, n: u64) {
        if self.trace {
            eprintln!(
                "powercut {}: {op} {} {n}",
                self.root.display(),
                self.rel_path(ino).display()
            );
        }
    }

    fn trace_path(&self, op: &str, rel: &Path) {
        if self.trace {
            eprintln!("powercut {}: {op} {}", self.root.display(), rel.display());
        }
    }
}

/// Open a backing file read-write if allowed, else as the caller asked (reads
/// of the original bytes and reverts need a read-write descriptor; as root,
/// the usual case, that always works).
fn open_backing(path: &Path, flags: i32) -> io::Result<File> {
    match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => Ok(f),
        Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
            let mut o = OpenOptions::new();
            match flags & libc::O_ACCMODE {
                libc::O_WRONLY => o.write(true),
                libc::O_RDWR => o.read(true).write(true),
                _ => o.read(true),
            };
            o.open(path)
        }
        Err(e) => Err(e),
    }
}

fn errno(e: io::Error) -> Errno {
    Errno::from_i32(e.raw_os_error().unwrap_or(libc::EIO))
}

fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn timespec(t: Option<TimeOrNow>) -> libc::timespec {
    match t {
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        Some(TimeOrNow::Now) => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_NOW,
        },
        Some(TimeOrNow::SpecificTime(t)) => {
            let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
            libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: d.subsec_nanos() as libc::c_long,
            }
        }
    }
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The FUSE filesystem served by the background session.
#[derive(Debug)]
pub(crate) struct PowerCutFuse {
    pub(crate) shared: Arc<Shared>,
}

impl PowerCutFuse {
    /// The state, or `None` (answer EIO) while the power is off.
    fn powered(&self) -> Option<MutexGuard<'_, State>> {
        let st = self.shared.lock();
        st.powered.then_some(st)
    }

    /// Answer a fsync of `ino` (a file or a directory), after the configured
    /// delay on another thread so the session goes on meanwhile.
    fn fsync_ino(&self, ino: u64, reply: ReplyEmpty) {
        let Some(mut st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        if let Some(e) = st.faults.fail_fsync.take() {
            return reply.error(Errno::from_i32(e));
        }
        let delay = st.faults.fsync_delay;
        if delay.is_zero() {
            st.commit(ino);
            return reply.ok();
        }
        let epoch = st.epoch;
        st.fsyncs_pending += 1;
        drop(st);
        let shared = self.shared.clone();
        // If the thread cannot start, the dropped reply answers EIO.
        let spawned = std::thread::Builder::new()
            .name("powercut-fsync".into())
            .spawn(move || {
                std::thread::sleep(delay);
                let mut st = shared.lock();
                st.fsyncs_pending -= 1;
                // A power cut during the fsync: it never completed.
                if st.epoch != epoch || !st.powered {
                    return reply.error(Errno::EIO);
                }
                st.commit(ino);
                reply.ok();
            });
        if spawned.is_err() {
            self.shared.lock().fsyncs_pending -= 1;
        }
    }
}

impl Filesystem for PowerCutFuse {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        // Shared mmap of a direct-I/O file (d-engine maps snapshot files to
        // send them) needs this (Linux 6.6+); without it such an mmap fails.
        let _ = config.add_capabilities(InitFlags::FUSE_DIRECT_IO_ALLOW_MMAP);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let Some(mut st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let found = st
            .child(parent.0, name)
            .and_then(|(rel, abs)| Ok((rel, fs::symlink_metadata(abs)?)));
        match found {
            Ok((rel, meta)) => {
                let attr = st.remember(rel, &meta);
                reply.entry(&TTL, &attr, Generation(0));
            }
            Err(e) => reply.error(errno(e)),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        let Some(st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let meta = match fh.map(|fh| st.file_of(fh.0)) {
            Some(Ok(file)) => file.metadata(),
            _ => st.path(ino.0).and_then(fs::symlink_metadata),
        };
        match meta {
            Ok(meta) => reply.attr(&TTL, &st.attr(&meta)),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let Some(mut st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let result = (|| -> io::Result<fs::Metadata> {
            let path = st.path(ino.0)?;
            if let Some(size) = size {
                let file = match fh.map(|fh| st.file_of(fh.0)) {
                    Some(Ok(f)) => f,
                    _ => Arc::new(open_backing(&path, libc::O_WRONLY)?),
                };
                st.truncate(ino.0, &file, size)?;
            }
            if let Some(mode) = mode {
                fs::set_permissions(&path, fs::Permissions::from_mode(mode & 0o7777))?;
            }
            if uid.is_some() || gid.is_some() {
                std::os::unix::fs::lchown(&path, uid, gid)?;
            }
            if atime.is_some() || mtime.is_some() {
                let c = cstring(&path)?;
                let times = [timespec(atime), timespec(mtime)];
                // SAFETY: a valid C path and two timespecs, as utimensat wants.
                check(unsafe {
                    libc::utimensat(
                        libc::AT_FDCWD,
                        c.as_ptr(),
                        times.as_ptr(),
                        libc::AT_SYMLINK_NOFOLLOW,
                    )
                })?;
            }
            fs::symlink_metadata(&path)
        })();
        match result {
            Ok(meta) => reply.attr(&TTL, &st.attr(&meta)),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let Some(st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        match st.path(ino.0).and_then(fs::read_link) {
            Ok(target) => reply.data(target.as_os_str().as_bytes()),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let Some(mut st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let made = st.child(parent.0, name).and_then(|(rel, abs)| {
            fs::create_dir(&abs)?;
            fs::set_permissions(&abs, fs::Permissions::from_mode(mode & !umask & 0o7777))?;
            Ok((rel, fs::symlink_metadata(&abs)?))
        });
        match made {
            Ok((rel, meta)) => {
                st.trace_path("mkdir", &rel);
                let attr = st.remember(rel, &meta);
                reply.entry(&TTL, &attr, Generation(0));
            }
            Err(e) => reply.error(errno(e)),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let Some(mut st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let removed = st.child(parent.0, name).and_then(|(rel, abs)| {
            let meta = fs::symlink_metadata(&abs)?;
            fs::remove_file(&abs)?;
            Ok((rel, meta))
        });
        match removed {
            Ok((rel, meta)) => {
                st.trace_path("unlink", &rel);
                let ino = st.fuse_ino(meta.ino());
                st.forget_if_gone(ino);
                if st.paths.get(&ino) == Some(&rel) {
                    st.paths.remove(&ino);
                }
                reply.ok();
            }
            Err(e) => reply.error(errno(e)),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let Some(mut st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let removed = st.child(parent.0, name).and_then(|(rel, abs)| {
            let meta = fs::symlink_metadata(&abs)?;
            fs::remove_dir(&abs)?;
            Ok((rel, meta))
        });
        match removed {
            Ok((rel, meta)) => {
                st.trace_path("rmdir", &rel);
                let ino = st.fuse_ino(meta.ino());
                st.paths.remove(&ino);
                reply.ok();
            }
            Err(e) => reply.error(errno(e)),
        }
    }

    fn symlink(
        &self,
        _req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let Some(mut st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let made = st.child(parent.0, link_name).and_then(|(rel, abs)| {
            std::os::unix::fs::symlink(target, &abs)?;
            Ok((rel, fs::symlink_metadata(&abs)?))
        });
        match made {
            Ok((rel, meta)) => {
                let attr = st.remember(rel, &meta);
                reply.entry(&TTL, &attr, Generation(0));
            }
            Err(e) => reply.error(errno(e)),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let Some(mut st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let renamed = (|| -> io::Result<(PathBuf, PathBuf, Option<fs::Metadata>)> {
            let (from_rel, from) = st.child(parent.0, name)?;
            let (to_rel, to) = st.child(newparent.0, newname)?;
            let replaced = fs::symlink_metadata(&to).ok();
            let (from_c, to_c) = (cstring(&from)?, cstring(&to)?);
            // SAFETY: two valid C paths; renameat2 only reads them.
            check(unsafe {
                libc::renameat2(
                    libc::AT_FDCWD,
                    from_c.as_ptr(),
                    libc::AT_FDCWD,
                    to_c.as_ptr(),
                    flags.bits(),
                )
            })?;
            Ok((from_rel, to_rel, replaced))
        })();
        match renamed {
            Ok((from_rel, to_rel, replaced)) => {
                if st.trace {
                    eprintln!(
                        "powercut {}: rename {} -> {}",
                        st.root.display(),
                        from_rel.display(),
                        to_rel.display()
                    );
                }
                let exchange = flags.contains(RenameFlags::RENAME_EXCHANGE);
                if let (Some(meta), false) = (&replaced, exchange) {
                    let ino = st.fuse_ino(meta.ino());
                    st.forget_if_gone(ino);
                    if st.paths.get(&ino) == Some(&to_rel) {
                        st.paths.remove(&ino);
                    }
                }
                // Path::join("") would add a trailing slash: keep paths canonical.
                let moved = |to: &Path, rest: &Path| match rest.as_os_str().is_empty() {
                    true => to.to_path_buf(),
                    false => to.join(rest),
                };
                for rel in st.paths.values_mut() {
                    if let Ok(rest) = rel.strip_prefix(&from_rel) {
                        *rel = moved(&to_rel, rest);
                    } else if let (true, Ok(rest)) = (exchange, rel.strip_prefix(&to_rel)) {
                        *rel = moved(&from_rel, rest);
                    }
                }
                reply.ok();
            }
            Err(e) => reply.error(errno(e)),
        }
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let Some(mut st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let made = (|| -> io::Result<(PathBuf, fs::Metadata)> {
            let from = st.path(ino.0)?;
            let (rel, abs) = st.child(newparent.0, newname)?;
            fs::hard_link(&from, &abs)?;
            Ok((rel, fs::symlink_metadata(&abs)?))
        })();
        match made {
            Ok((rel, meta)) => {
                let attr = st.remember(rel, &meta);
                reply.entry(&TTL, &attr, Generation(0));
            }
            Err(e) => reply.error(errno(e)),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let Some(mut st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let opened = (|| -> io::Result<u64> {
            let file = Arc::new(open_backing(&st.path(ino.0)?, flags.0)?);
            if flags.0 & libc::O_TRUNC != 0 {
                st.truncate(ino.0, &file, 0)?;
            }
            Ok(st.new_handle(Handle::File(file)))
        })();
        match opened {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::FOPEN_DIRECT_IO),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let Some(st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let read = st.file_of(fh.0).and_then(|file| {
            let mut buf = vec![0u8; size as usize];
            let n = read_full_at(&file, &mut buf, offset)?;
            buf.truncate(n);
            Ok(buf)
        });
        match read {
            Ok(buf) => reply.data(&buf),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let Some(mut st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        if let Some(e) = st.faults.fail_write.take() {
            return reply.error(Errno::from_i32(e));
        }
        if st.faults.full && !data.is_empty() {
            return reply.error(Errno::ENOSPC);
        }
        let written = (|| -> io::Result<()> {
            let file = st.file_of(fh.0)?;
            let v = st.volatile_for(ino.0, &file)?;
            if offset < v.durable_len {
                v.save(offset, offset + data.len() as u64)?;
            }
            file.write_all_at(data, offset)
        })();
        match written {
            Ok(()) => {
                let n = data.len() as u64;
                st.bytes_written += n;
                let a = st.activity_of(ino.0);
                a.writes += 1;
                a.bytes_written += n;
                st.trace_op("write", ino.0, n);
                reply.written(data.len() as u32);
            }
            Err(e) => reply.error(errno(e)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        // Also while the power is off: the kernel closes a dead process's files.
        self.shared.lock().handles.remove(&fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.fsync_ino(ino.0, reply);
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let Some(mut st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let listed = (|| -> io::Result<Vec<(u64, FileType, OsString)>> {
            let dir = st.path(ino.0)?;
            let mut entries = vec![
                (ino.0, FileType::Directory, OsString::from(".")),
                (ino.0, FileType::Directory, OsString::from("..")),
            ];
            for entry in fs::read_dir(&dir)? {
                let entry = entry?;
                let meta = entry.metadata()?;
                let kind = FileType::from_std(meta.file_type()).unwrap_or(FileType::RegularFile);
                entries.push((st.fuse_ino(meta.ino()), kind, entry.file_name()));
            }
            Ok(entries)
        })();
        match listed {
            Ok(entries) => {
                let fh = st.new_handle(Handle::Dir(entries));
                reply.opened(FileHandle(fh), FopenFlags::empty());
            }
            Err(e) => reply.error(errno(e)),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let Some(st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let Some(Handle::Dir(entries)) = st.handles.get(&fh.0) else {
            return reply.error(Errno::EBADF);
        };
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(*ino), i as u64 + 1, *kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        self.shared.lock().handles.remove(&fh.0);
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.fsync_ino(ino.0, reply);
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let Some(st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let stat = cstring(&st.root).and_then(|c| {
            // SAFETY: statvfs fills the zeroed struct from a valid C path.
            let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
            check(unsafe { libc::statvfs(c.as_ptr(), &mut s) })?;
            Ok(s)
        });
        match stat {
            Ok(s) => {
                let (bfree, bavail) = if st.faults.full {
                    (0, 0)
                } else {
                    (s.f_bfree, s.f_bavail)
                };
                reply.statfs(
                    s.f_blocks,
                    bfree,
                    bavail,
                    s.f_files,
                    s.f_ffree,
                    s.f_bsize as u32,
                    s.f_namemax as u32,
                    s.f_frsize as u32,
                );
            }
            Err(e) => reply.error(errno(e)),
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let Some(mut st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        let created = (|| -> io::Result<(FileAttr, u64)> {
            let (rel, abs) = st.child(parent.0, name)?;
            let existed = fs::symlink_metadata(&abs).is_ok();
            let mut o = OpenOptions::new();
            o.read(true)
                .write(true)
                .create(true)
                .mode(mode & !umask & 0o7777);
            if flags & libc::O_EXCL != 0 {
                o.create_new(true);
            }
            let file = Arc::new(o.open(&abs)?);
            let meta = file.metadata()?;
            st.trace_path(if existed { "open" } else { "create" }, &rel);
            let attr = st.remember(rel, &meta);
            let ino = attr.ino.0;
            if existed && flags & libc::O_TRUNC != 0 {
                st.truncate(ino, &file, 0)?;
            }
            Ok((attr, st.new_handle(Handle::File(file))))
        })();
        match created {
            Ok((attr, fh)) => reply.created(
                &TTL,
                &attr,
                Generation(0),
                FileHandle(fh),
                FopenFlags::FOPEN_DIRECT_IO,
            ),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn fallocate(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let Some(mut st) = self.powered() else {
            return reply.error(Errno::EIO);
        };
        if st.faults.full {
            return reply.error(Errno::ENOSPC);
        }
        // Hole punching and friends would need their bytes saved: not used.
        if mode & !libc::FALLOC_FL_KEEP_SIZE != 0 {
            return reply.error(Errno::EOPNOTSUPP);
        }
        let done = (|| -> io::Result<()> {
            let file = st.file_of(fh.0)?;
            if mode == 0 && offset + length > file.metadata()?.len() {
                st.volatile_for(ino.0, &file)?;
            }
            use std::os::fd::AsRawFd;
            // SAFETY: fallocate on a descriptor we own, plain integers.
            check(unsafe {
                libc::fallocate(
                    file.as_raw_fd(),
                    mode,
                    offset as libc::off_t,
                    length as libc::off_t,
                )
            })
        })();
        match done {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(e)),
        }
    }
}
