//! Test support: a disk that fills up in the middle of a write.
//!
//! The test binary runs one test again in a child process that lowers its own
//! `RLIMIT_FSIZE` ([`limit_file_size`]): a write that would take a file past
//! the limit is cut short at the limit and the next one fails (`EFBIG`), as a
//! write to a full disk stops at the last free block and fails with `ENOSPC`.
//! The limit applies to the whole process, hence the child: the test harness
//! runs other tests in parallel threads.

use std::path::Path;
use std::path::PathBuf;
use std::process::Command;

const CHILD_DIR_ENV: &str = "D_ENGINE_TEST_FILE_SIZE_LIMIT_DIR";

/// In the child process: the directory the parent handed over with
/// [`run_in_child`]; `None` in the parent.
pub(crate) fn child_dir() -> Option<PathBuf> {
    std::env::var_os(CHILD_DIR_ENV).map(PathBuf::from)
}

/// Runs the test named `test` (`concat!(module_path!(), "::name")`) again in a
/// child process that finds `dir` through [`child_dir`]; panics unless the
/// child ran it and it passed.
pub(crate) fn run_in_child(
    test: &str,
    dir: &Path,
) {
    let test = test.split_once("::").map_or(test, |(_crate, path)| path);
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR_ENV, dir)
        .output()
        .expect("run the child test process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child process for {test} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// In the child: from now on no file can grow past `bytes`; a write across
/// the limit is cut short and fails instead of killing the process (SIGXFSZ
/// is ignored).
pub(crate) fn limit_file_size(bytes: u64) {
    assert!(
        child_dir().is_some(),
        "only in a child process: the limit applies to every thread"
    );
    set_file_size_limit(bytes as libc::rlim_t);
}

/// In the child: lifts the limit again (space was freed).
pub(crate) fn lift_file_size_limit() {
    set_file_size_limit(libc::RLIM_INFINITY);
}

fn set_file_size_limit(bytes: libc::rlim_t) {
    // SAFETY: plain libc calls on valid pointers; only the child process calls them.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit), 0);
        limit.rlim_cur = bytes.min(limit.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
}
