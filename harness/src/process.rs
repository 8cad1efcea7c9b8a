//! Child processes: free ports, signals, dying with the parent, polling waits.

use std::net::TcpListener;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static PORTS_HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());

/// Ports that were free a moment ago, never handed out twice by this
/// process, and outside the kernel's ephemeral range.
///
/// A port from the ephemeral range (what binding port 0 gives) can be taken
/// before the node binds it: as the local port of any outgoing connection,
/// e.g. a peer's Raft client. A node then cannot listen there (it refuses to
/// start: seen in the robustness suite). Ports below the range are never
/// handed out for outgoing connections.
pub fn free_ports(n: usize) -> Vec<u16> {
    let mut handed = PORTS_HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let (low, high) = candidate_range();
    let span = u64::from(high - low);
    // A small xorshift over pid and time: no shared seed between test processes.
    let mut x = u64::from(std::process::id())
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
        | 1;
    let mut listeners = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..100_000 {
        if ports.len() == n {
            return ports;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let port = low + (x % span) as u16;
        if handed.contains(&port) {
            continue;
        }
        // Held until all are chosen, so one call never returns a port twice.
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
            handed.push(port);
            ports.push(port);
            listeners.push(l);
        }
    }
    panic!("no {n} free ports in {low}..{high}");
}

/// Ports to choose from: 10000 up to the start of the ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`, 32768 60999 by default), or
/// above its end when it starts lower.
fn candidate_range() -> (u16, u16) {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range");
    range_below_ephemeral(&text.unwrap_or_default())
}

/// [`candidate_range`] for the file's text.
fn range_below_ephemeral(text: &str) -> (u16, u16) {
    let range: Vec<u16> = text
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    match range[..] {
        [start, _] if start > 12_000 => (10_000, start),
        [_, end] if end < 63_000 => (end + 1, 65_535),
        _ => (10_000, 32_768),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_come_from_outside_the_ephemeral_range() {
        assert_eq!(range_below_ephemeral("32768\t60999\n"), (10_000, 32_768));
        assert_eq!(range_below_ephemeral("1024 40000"), (40_001, 65_535));
        assert_eq!(range_below_ephemeral(""), (10_000, 32_768));
        let ports = free_ports(20);
        let (low, high) = candidate_range();
        assert!(ports.iter().all(|p| (low..high).contains(p)), "{ports:?}");
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 20);
        assert!(free_ports(5).iter().all(|p| !ports.contains(p)));
    }
}
