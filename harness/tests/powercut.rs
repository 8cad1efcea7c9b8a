//! The power-cut filesystem, checked with plain std::fs on a fresh mount per
//! test: what a power cut takes back, what it keeps, and the injected faults.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use kv_harness::powercut::{self, wait_unmounted};
use kv_harness::{wait_until, PowerCutFs};

/// A mount over a backing dir, both in one temp dir (the mount goes first).
struct Disk {
    fs: PowerCutFs,
    _dir: tempfile::TempDir,
}

impl Disk {
    fn path(&self, name: &str) -> PathBuf {
        self.fs.mountpoint().join(name)
    }
}

/// A fresh mount, or `None` when the test is skipped (see `powercut::require`).
fn disk() -> Option<Disk> {
    if !powercut::require() {
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let fs = PowerCutFs::mount(&dir.path().join("backing"), &dir.path().join("mnt"))
        .expect("mount a power-cut filesystem");
    Some(Disk { fs, _dir: dir })
}

fn write_synced(path: &PathBuf, data: &[u8]) {
    let mut f = File::create(path).expect("create");
    f.write_all(data).expect("write");
    f.sync_all().expect("fsync");
}

fn mounted(path: &std::path::Path) -> bool {
    let mounts = fs::read_to_string("/proc/mounts").expect("read /proc/mounts");
    let path = path.to_string_lossy();
    mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(&*path))
}

#[test]
fn a_file_never_fsynced_is_empty_after_a_power_cut() {
    let Some(d) = disk() else { return };
    let p = d.path("log");
    fs::write(&p, b"unsynced append").expect("write");
    assert_eq!(fs::read(&p).expect("read"), b"unsynced append");
    d.fs.power_cut();
    assert_eq!(fs::read(&p).expect("the file itself is durable"), b"");
}

#[test]
fn fsynced_data_survives_and_writes_after_the_fsync_do_not() {
    let Some(d) = disk() else { return };
    let p = d.path("log");
    write_synced(&p, b"hello world");
    let mut f = OpenOptions::new().append(true).open(&p).expect("open");
    f.write_all(b" and more").expect("append");
    // An overwrite below the durable length, from a second handle.
    use std::os::unix::fs::FileExt;
    let g = OpenOptions::new().write(true).open(&p).expect("open");
    g.write_all_at(b"HELLO", 0).expect("overwrite");
    assert_eq!(fs::read(&p).expect("read"), b"HELLO world and more");
    d.fs.power_cut();
    assert_eq!(fs::read(&p).expect("read"), b"hello world");
    // A fsync on any handle of the inode (here a read-only one) commits.
    g.write_all_at(b"J", 0).expect("overwrite");
    File::open(&p)
        .expect("open")
        .sync_data()
        .expect("fdatasync");
    d.fs.power_cut();
    assert_eq!(fs::read(&p).expect("read"), b"Jello world");
}

#[test]
fn rewriting_a_file_in_place_without_fsync_brings_the_old_content_back() {
    let Some(d) = disk() else { return };
    let p = d.path("state");
    write_synced(&p, b"old content");
    fs::write(&p, b"new").expect("File::create + write, no fsync");
    d.fs.power_cut();
    assert_eq!(fs::read(&p).expect("read"), b"old content");
}

#[test]
fn a_temp_file_renamed_over_a_target_needs_its_fsync() {
    let Some(d) = disk() else { return };
    let (target, tmp) = (d.path("state"), d.path("state.tmp"));
    write_synced(&target, b"good");
    fs::write(&tmp, b"better").expect("write tmp");
    fs::rename(&tmp, &target).expect("rename");
    d.fs.power_cut();
    assert_eq!(
        fs::read(&target).expect("read"),
        b"",
        "rename without fsync"
    );
    assert!(!tmp.exists(), "the rename itself is durable");

    write_synced(&tmp, b"best");
    fs::rename(&tmp, &target).expect("rename");
    d.fs.power_cut();
    assert_eq!(
        fs::read(&target).expect("read"),
        b"best",
        "fsync, then rename"
    );
}

#[test]
fn an_unsynced_truncate_is_reverted() {
    let Some(d) = disk() else { return };
    let p = d.path("log");
    write_synced(&p, b"0123456789");
    let f = OpenOptions::new().write(true).open(&p).expect("open");
    f.set_len(3).expect("truncate");
    f.set_len(6).expect("extend with zeros");
    assert_eq!(fs::read(&p).expect("read"), b"012\0\0\0");
    d.fs.power_cut();
    assert_eq!(fs::read(&p).expect("read"), b"0123456789");
}

#[test]
fn an_injected_fsync_error_reaches_the_caller_once_and_keeps_the_data_volatile() {
    let Some(d) = disk() else { return };
    let p = d.path("log");
    let mut f = File::create(&p).expect("create");
    f.write_all(b"data").expect("write");
    d.fs.fail_next_fsync(libc::EIO);
    let err = f.sync_all().expect_err("the injected fsync failure");
    assert_eq!(err.raw_os_error(), Some(libc::EIO));
    assert_eq!(d.fs.fsyncs(), 0);
    d.fs.power_cut();
    assert_eq!(
        fs::read(&p).expect("read"),
        b"",
        "a failed fsync commits nothing"
    );

    f.write_all(b"data").expect("write");
    f.sync_all().expect("the next fsync succeeds");
    assert_eq!(d.fs.fsyncs(), 1);
    d.fs.fail_next_write(libc::EIO);
    let err = f.write_all(b"x").expect_err("the injected write failure");
    assert_eq!(err.raw_os_error(), Some(libc::EIO));
    f.write_all(b"!").expect("the next write succeeds");
}

#[test]
fn a_full_disk_answers_enospc_until_space_is_freed() {
    let Some(d) = disk() else { return };
    let p = d.path("log");
    let mut f = File::create(&p).expect("create");
    d.fs.set_full(true);
    let err = f.write_all(b"data").expect_err("the disk is full");
    assert_eq!(err.raw_os_error(), Some(28), "ENOSPC");
    d.fs.set_full(false);
    f.write_all(b"data").expect("space was freed");
    assert_eq!(d.fs.bytes_written(), 4);
    assert_eq!(fs::read(&p).expect("read"), b"data");
}

#[test]
fn a_slow_fsync_does_not_hold_up_other_operations() {
    let Some(d) = disk() else { return };
    let delay = Duration::from_millis(800);
    d.fs.set_fsync_delay(delay);
    let slow = d.path("slow");
    fs::write(&slow, b"x").expect("write");
    let syncer = std::thread::spawn(move || {
        let start = Instant::now();
        File::open(&slow).expect("open").sync_all().expect("fsync");
        start.elapsed()
    });
    wait_until(Duration::from_secs(10), || {
        (d.fs.fsyncs_pending() == 1).then_some(())
    })
    .expect("the fsync reaches the filesystem");
    let start = Instant::now();
    fs::write(d.path("other"), b"y").expect("write another file");
    let write_took = start.elapsed();
    assert_eq!(d.fs.fsyncs_pending(), 1, "the fsync was still waiting");
    assert!(
        write_took < delay / 4,
        "a write took {write_took:?} during a fsync"
    );
    let fsync_took = syncer.join().expect("fsync thread");
    assert!(fsync_took >= delay, "the fsync took only {fsync_took:?}");
    assert_eq!(d.fs.fsyncs(), 1);
}

#[test]
fn a_power_cut_during_a_slow_fsync_fails_it_and_loses_the_data() {
    let Some(d) = disk() else { return };
    d.fs.set_fsync_delay(Duration::from_millis(500));
    let p = d.path("log");
    let mut f = File::create(&p).expect("create");
    f.write_all(b"data").expect("write");
    let syncer = std::thread::spawn(move || f.sync_all().map_err(|e| e.raw_os_error()));
    wait_until(Duration::from_secs(10), || {
        (d.fs.fsyncs_pending() == 1).then_some(())
    })
    .expect("the fsync reaches the filesystem");
    d.fs.power_cut();
    assert_eq!(syncer.join().expect("fsync thread"), Err(Some(libc::EIO)));
    assert_eq!(fs::read(&p).expect("read"), b"");
}

#[test]
fn dropping_the_handle_unmounts_also_with_a_file_still_open() {
    let Some(d) = disk() else { return };
    let mnt = d.fs.mountpoint().to_path_buf();
    assert!(mounted(&mnt));
    let open = File::create(d.path("held")).expect("create");
    drop(d.fs);
    assert!(
        wait_unmounted(&mnt, Duration::from_secs(5)),
        "still mounted"
    );
    drop(open);

    let Some(d) = disk() else { return };
    let mnt = d.fs.mountpoint().to_path_buf();
    drop(d);
    assert!(!mounted(&mnt));
}

#[test]
fn files_lists_what_was_written_and_what_was_fsynced() {
    let Some(d) = disk() else { return };
    fs::create_dir(d.path("dir")).expect("mkdir");
    write_synced(&d.path("dir/synced"), b"abc");
    fs::write(d.path("dir/unsynced"), b"de").expect("write");
    File::open(d.path("dir"))
        .expect("open dir")
        .sync_all()
        .expect("fsync dir");
    let files = d.fs.files();
    let summary: Vec<(String, u64, u64, bool)> = files
        .iter()
        .map(|f| {
            (
                f.path.display().to_string(),
                f.bytes_written,
                f.fsyncs,
                f.volatile,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("dir".into(), 0, 1, false),
            ("dir/synced".into(), 3, 1, false),
            ("dir/unsynced".into(), 2, 0, true),
        ]
    );
    assert_eq!(d.fs.fsyncs(), 2);
}

#[test]
fn a_shared_read_only_mmap_works_as_d_engine_uses_for_snapshots() {
    use std::os::fd::AsRawFd;
    let Some(d) = disk() else { return };
    let p = d.path("snapshot");
    write_synced(&p, b"snapshot bytes");
    let f = File::open(&p).expect("open");
    // SAFETY: a read-only shared mapping of 14 bytes of a file we keep open,
    // read and unmapped below.
    let bytes = unsafe {
        let map = libc::mmap(
            std::ptr::null_mut(),
            14,
            libc::PROT_READ,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        );
        assert_ne!(map, libc::MAP_FAILED, "{}", std::io::Error::last_os_error());
        let bytes = std::slice::from_raw_parts(map as *const u8, 14).to_vec();
        libc::munmap(map, 14);
        bytes
    };
    assert_eq!(bytes, b"snapshot bytes");
}

#[test]
fn a_test_that_panics_leaves_no_mount_behind() {
    if !powercut::require() {
        return;
    }
    let mnt = std::sync::Mutex::new(None);
    let result = std::panic::catch_unwind(|| {
        let d = disk().expect("available");
        *mnt.lock().expect("lock") = Some(d.fs.mountpoint().to_path_buf());
        panic!("a failing test");
    });
    assert!(result.is_err());
    let mnt = mnt
        .lock()
        .expect("lock")
        .clone()
        .expect("mounted before the panic");
    assert!(!mounted(&mnt), "{} still mounted", mnt.display());
}
