//! Child processes: free ports, signals, dying with the parent, polling waits.

use std::net::TcpListener;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static PORTS_HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());

/// Ports that were free a moment ago, never handed out twice by this process.
pub fn free_ports(n: usize) -> Vec<u16> {
    let mut handed = PORTS_HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let mut listeners = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < n {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
        let port = l.local_addr().expect("local addr").port();
        if !handed.contains(&port) {
            handed.push(port);
            ports.push(port);
        }
        listeners.push(l);
    }
    ports
}

/// Make the child `cmd` spawns get SIGKILL when the spawning thread dies, so
/// processes started by a test or the benchmark never outlive a crash of it.
pub fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe and touches no parent state.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// Send `sig` to `pid` (a child this process spawned and still owns).
pub(crate) fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) with a pid of a child we spawned and still own.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// Poll `f` every 20 ms until it returns `Some`, or `deadline` passes.
pub fn wait_until<T>(deadline: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let until = Instant::now() + deadline;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
