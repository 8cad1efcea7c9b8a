//! The `etcd` path: a 3-member etcd cluster (3.4, Debian `etcd-server`) on
//! loopback, driven through its v3 JSON gateway (`POST /v3/kv/put`,
//! `POST /v3/kv/range`) by the same load generator as the other paths.
//!
//! Each member gets free client and peer ports and its own scratch data
//! directory; [`EtcdCluster::start`] waits (with a deadline, polling) until
//! every member reports the same leader and a write through the leader
//! succeeds. Members are killed by PID when the cluster is dropped (also
//! while unwinding from a panic), and, on Linux, if the spawning thread's
//! process dies (`PR_SET_PDEATHSIG`).
//!
//! Setup traffic (status, health, preload checks) uses a tiny blocking
//! HTTP/1.0 client over `std::net`, so it needs no runtime.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kv_harness::{die_with_parent, free_ports};

use super::env::{tempfile_dir, CpuProbe};
use super::load::Route;

/// Where Debian's `etcd-server` puts the binary.
pub const DEFAULT_BINARY: &str = "/usr/bin/etcd";
/// How to get it.
pub const INSTALL_HINT: &str = "install it with `apt-get install -y etcd-server` (etcd 3.4)";

/// Settings of the etcd cluster.
#[derive(Clone, Debug)]
pub struct EtcdOptions {
    /// The `etcd` binary.
    pub binary: PathBuf,
    /// `--election-timeout` in ms (heartbeat: a tenth of it, at least 10 ms).
    pub election_ms: u64,
}

impl EtcdOptions {
    /// `--heartbeat-interval` in ms.
    pub fn heartbeat_ms(&self) -> u64 {
        (self.election_ms / 10).max(10)
    }
}

/// The etcd binary to use: `explicit`, else `/usr/bin/etcd`, else `etcd` on
/// `PATH`; `Err` carries the install hint.
pub fn find_binary(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_owned())
        } else {
            Err(format!("{} not found; {INSTALL_HINT}", p.display()))
        };
    }
    let default = Path::new(DEFAULT_BINARY);
    if default.is_file() {
        return Ok(default.to_owned());
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("etcd"))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("etcd not found in {DEFAULT_BINARY} or on PATH; {INSTALL_HINT}"))
}

/// `etcd --version`'s first line's version, e.g. `3.4.23`.
pub fn version(binary: &Path) -> Option<String> {
    let out = Command::new(binary).arg("--version").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("etcd Version:").map(|v| v.trim().to_owned()))
}

struct Member {
    name: String,
    client_url: String,
    child: Option<Child>,
}

/// A running 3-member etcd cluster; dropping it kills every member.
pub struct EtcdCluster {
    members: Vec<Member>,
    _dir: tempfile_dir::Dir,
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(mut c) = m.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

impl EtcdCluster {
    /// Starts three members and waits until they agree on a leader that
    /// accepts writes (30 s deadline). Call from the main thread (the
    /// members die with the thread that spawned them).
    pub fn start(opts: EtcdOptions) -> Result<Self, String> {
        const N: usize = 3;
        let dir = tempfile_dir::Dir::new("kv-bench-etcd").map_err(|e| e.to_string())?;
        let ports = free_ports(2 * N);
        let token = format!(
            "kv-bench-{}-{}",
            std::process::id(),
            dir.path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let peer = |i: usize| format!("http://127.0.0.1:{}", ports[N + i]);
        let initial: Vec<String> = (0..N).map(|i| format!("e{}={}", i + 1, peer(i))).collect();
        let mut cluster = Self {
            members: Vec::with_capacity(N),
            _dir: dir,
        };
        for (i, client_port) in ports.iter().take(N).enumerate() {
            let name = format!("e{}", i + 1);
            let client_url = format!("http://127.0.0.1:{client_port}");
            let data = cluster._dir.path().join(&name);
            let log = std::fs::File::create(cluster._dir.path().join(format!("{name}.log")))
                .map_err(|e| e.to_string())?;
            let mut cmd = Command::new(&opts.binary);
            cmd.arg("--name")
                .arg(&name)
                .arg("--data-dir")
                .arg(&data)
                .arg("--listen-client-urls")
                .arg(&client_url)
                .arg("--advertise-client-urls")
                .arg(&client_url)
                .arg("--listen-peer-urls")
                .arg(peer(i))
                .arg("--initial-advertise-peer-urls")
                .arg(peer(i))
                .arg("--initial-cluster")
                .arg(initial.join(","))
                .arg("--initial-cluster-token")
                .arg(&token)
                .arg("--initial-cluster-state")
                .arg("new")
                .arg("--heartbeat-interval")
                .arg(opts.heartbeat_ms().to_string())
                .arg("--election-timeout")
                .arg(opts.election_ms.to_string())
                .arg("--logger")
                .arg("zap")
                .arg("--log-level")
                .arg("warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log));
            die_with_parent(&mut cmd);
            let child = cmd
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", opts.binary.display()))?;
            cluster.members.push(Member {
                name,
                client_url,
                child: Some(child),
            });
        }
        cluster.wait_ready(Duration::from_secs(30))?;
        Ok(cluster)
    }

    /// Polls until every live member names the same leader and a put through
    /// it succeeds.
    fn wait_ready(&self, deadline: Duration) -> Result<(), String> {
        let until = Instant::now() + deadline;
        let mut why = String::from("not polled");
        while Instant::now() < until {
            match self.leader_index() {
                Ok(l) => {
                    let url = format!("{}/v3/kv/put", self.members[l].client_url);
                    match post(&url, &put_body("__ready", "x")) {
                        Ok((200, _)) => return Ok(()),
                        Ok((s, b)) => why = format!("put: HTTP {s} {b}"),
                        Err(e) => why = format!("put: {e}"),
                    }
                }
                Err(e) => why = e,
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "etcd not ready within {deadline:?} (last: {why}){}",
            self.log_tails()
        ))
    }

    /// Index (0-based) of the member every live member names as leader
    /// (`header.member_id == leader` in `/v3/maintenance/status`).
    pub fn leader_index(&self) -> Result<usize, String> {
        let mut leader: Option<String> = None;
        let mut leader_idx = None;
        for (i, m) in self.members.iter().enumerate() {
            if m.child.is_none() {
                continue;
            }
            let (status, body) = post(&format!("{}/v3/maintenance/status", m.client_url), "{}")
                .map_err(|e| format!("{} status: {e}", m.name))?;
            if status != 200 {
                return Err(format!("{} status: HTTP {status}", m.name));
            }
            let v: serde_json::Value =
                serde_json::from_str(&body).map_err(|e| format!("{} status: {e}", m.name))?;
            let own = v["header"]["member_id"].as_str().unwrap_or_default();
            let named = v["leader"].as_str().unwrap_or_default();
            if named.is_empty() || named == "0" {
                return Err(format!("{} knows no leader", m.name));
            }
            if leader.as_deref().is_some_and(|l| l != named) {
                return Err("members disagree on the leader".into());
            }
            leader = Some(named.to_owned());
            if own == named {
                leader_idx = Some(i);
            }
        }
        leader_idx.ok_or_else(|| "the named leader did not answer".into())
    }

    /// Waits up to 30 s for an agreed leader; returns its 1-based member number.
    pub fn leader(&self) -> Result<u32, String> {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            match self.leader_index() {
                Ok(i) => return Ok(i as u32 + 1),
                Err(e) if Instant::now() > until => return Err(format!("etcd leader: {e}")),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Route for the load generator: writes and linearizable reads to the
    /// leader, serializable reads round-robin over every member.
    pub fn route(&self) -> Result<Route, String> {
        let leader = self.leader()? as usize - 1;
        Ok(Route::Etcd {
            members: self.members.iter().map(|m| m.client_url.clone()).collect(),
            leader,
        })
    }

    /// SIGKILL member `number` (1-based).
    pub fn kill(&mut self, number: u32) {
        if let Some(m) = self.members.get_mut(number as usize - 1) {
            if let Some(mut c) = m.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }

    /// PIDs of the running members.
    pub fn pids(&self) -> Vec<u32> {
        self.members
            .iter()
            .filter_map(|m| m.child.as_ref().map(Child::id))
            .collect()
    }

    /// CPU accounting with the etcd members as the "nodes".
    pub fn cpu_probe(&self) -> CpuProbe {
        CpuProbe::new(Some(self.pids()), None)
    }

    /// Waits until every live member serves `key` with a serializable read.
    pub fn wait_replicated(&self, key: &str, deadline: Duration) -> Result<(), String> {
        let body = format!(r#"{{"key":"{}","serializable":true}}"#, b64(key.as_bytes()));
        let until = Instant::now() + deadline;
        loop {
            let all = self.members.iter().filter(|m| m.child.is_some()).all(|m| {
                post(&format!("{}/v3/kv/range", m.client_url), &body)
                    .is_ok_and(|(s, b)| s == 200 && b.contains("\"kvs\""))
            });
            if all {
                return Ok(());
            }
            if Instant::now() > until {
                return Err(format!(
                    "etcd: {key} not on every member within {deadline:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tails(&self) -> String {
        let mut out = String::new();
        for m in &self.members {
            let p = self._dir.path().join(format!("{}.log", m.name));
            if let Ok(s) = std::fs::read_to_string(&p) {
                let lines: Vec<&str> = s.lines().collect();
                out.push_str(&format!("\n--- {} ---\n", m.name));
                for l in &lines[lines.len().saturating_sub(10)..] {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// `{"key": b64, "value": b64}` for `/v3/kv/put`.
pub fn put_body(key: &str, value: &str) -> String {
    format!(
        r#"{{"key":"{}","value":"{}"}}"#,
        b64(key.as_bytes()),
        b64(value.as_bytes())
    )
}

/// Standard base64 with padding (the gateway's encoding of `bytes` fields).
pub fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(A[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Blocking `POST url` with a JSON body over HTTP/1.0 (so the answer is
/// neither chunked nor kept alive); 2 s timeouts. Loopback URLs only.
pub fn post(url: &str, body: &str) -> Result<(u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http URL: {url}"))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let addr: std::net::SocketAddr = host.parse().map_err(|e| format!("{host}: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("{host} is not a loopback address"));
    }
    let t = Duration::from_secs(2);
    let mut s = TcpStream::connect_timeout(&addr, t).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(t)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(t)).map_err(|e| e.to_string())?;
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.take(16 << 20)
        .read_to_end(&mut raw)
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("truncated HTTP answer")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    Ok((status, body.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(b64(b""), "");
        assert_eq!(b64(b"f"), "Zg==");
        assert_eq!(b64(b"fo"), "Zm8=");
        assert_eq!(b64(b"foo"), "Zm9v");
        assert_eq!(b64(b"foobar"), "Zm9vYmFy");
        assert_eq!(b64(&[0xfb, 0xff]), "+/8=");
        assert_eq!(put_body("foo", "bar"), r#"{"key":"Zm9v","value":"YmFy"}"#);
    }

    #[test]
    fn heartbeat_is_a_tenth_of_the_election_timeout() {
        let o = EtcdOptions {
            binary: PathBuf::from(DEFAULT_BINARY),
            election_ms: 1000,
        };
        assert_eq!(o.heartbeat_ms(), 100);
    }
}
