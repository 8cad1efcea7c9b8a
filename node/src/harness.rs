//! Test and demo harness: real multi-node clusters of `kv-node` processes.
//!
//! [`Cluster::start`] writes one config per node into a temp dir (free ports
//! for Raft, API and health), spawns the processes and returns at once;
//! [`Cluster::wait_for_leader`] waits, with a deadline, until every live node
//! agrees on a leader whose URL is published. Nodes can be killed (SIGKILL),
//! paused (SIGSTOP/SIGCONT), stopped (SIGTERM) and restarted on the same ports
//! and data. Every child is killed when the `Cluster` is dropped (also while a
//! test panics; node logs are then printed), and, on Linux, if the process
//! that spawned it dies.
//!
//! HTTP here is blocking (`ureq`): the nodes are separate processes, so waits
//! do not depend on the caller's runtime. From async code, wrap long waits in
//! `spawn_blocking` or use the `*_async` variants.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Knobs for a harness cluster.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Voters started by [`Cluster::start`].
    pub voters: u32,
    /// Raft election timeout range in ms (kept well above the heartbeat).
    pub election_timeout_ms: (u64, u64),
    /// Lease for lease reads (must be below the election minimum).
    pub lease_ms: u64,
    /// Extra `[node]` settings, as TOML lines (e.g. `max_value_bytes = 1024`).
    pub node_extra: Vec<String>,
    /// Labels per node id (default: `zone = "z{id}"`).
    pub labels: BTreeMap<u32, BTreeMap<String, String>>,
    /// Value of `RUST_LOG` for the nodes.
    pub log_filter: String,
    /// Explicit node binary; default: see [`node_binary`].
    pub binary: Option<PathBuf>,
    /// Ids of learners that will join later; each learner's config lists all of
    /// them (d-engine 0.2.4 needs a learner to know the others' metadata).
    pub learners: Vec<u32>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            voters: 3,
            election_timeout_ms: (300, 600),
            lease_ms: 200,
            node_extra: Vec::new(),
            labels: BTreeMap::new(),
            log_filter: "warn,kv_node=info".into(),
            binary: None,
            learners: Vec::new(),
        }
    }
}

/// One node process and its fixed ports, config and data.
#[derive(Debug)]
pub struct NodeProc {
    /// Raft id.
    pub id: u32,
    /// HTTP API port.
    pub api_port: u16,
    /// Health-check port.
    pub health_port: u16,
    /// Raft port.
    pub raft_port: u16,
    /// Config file path.
    pub config: PathBuf,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Log file (stdout and stderr, appended across restarts).
    pub log: PathBuf,
    child: Option<Child>,
    paused: bool,
}

impl NodeProc {
    /// Base URL of the API.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    /// Base URL of the health listener.
    pub fn health_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.health_port)
    }

    /// OS process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Whether a process is running (not killed or stopped; may be paused).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

/// A running cluster; dropping it kills every node.
pub struct Cluster {
    dir: tempfile::TempDir,
    opts: ClusterOptions,
    binary: PathBuf,
    nodes: BTreeMap<u32, NodeProc>,
    raft_ports: BTreeMap<u32, u16>,
}

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

/// Find the `kv-node` binary: `$KV_NODE_BIN`, else next to the running
/// executable (`target/<profile>/kv-node`, also from `target/<profile>/deps/`).
pub fn node_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("KV_NODE_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let mut dir = exe.parent()?.to_path_buf();
    for _ in 0..2 {
        let cand = dir.join("kv-node");
        if cand.is_file() {
            return Some(cand);
        }
        dir = dir.parent()?.to_path_buf();
    }
    None
}

/// Build `kv-node` with cargo (same profile as the running executable) and
/// return its path. For binaries like the demo; tests rely on `cargo test --workspace`.
pub fn build_node_binary() -> Result<PathBuf, String> {
    let release = !cfg!(debug_assertions);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace dir")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "-p", "kv-node", "--bin", "kv-node"]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build -p kv-node failed: {status}"));
    }
    node_binary().ok_or_else(|| "kv-node not found after building it".into())
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

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) with a pid of a child we spawned and still own.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

impl Cluster {
    /// Start `opts.voters` voters on free ports; returns without waiting for a leader.
    pub fn start(opts: ClusterOptions) -> Self {
        let binary = opts
            .binary
            .clone()
            .or_else(node_binary)
            .expect("kv-node binary not found: run `cargo build -p kv-node` (or `cargo test --workspace`), or set KV_NODE_BIN");
        let dir = tempfile::Builder::new()
            .prefix("kv-cluster-")
            .tempdir()
            .expect("temp dir");
        let mut cluster = Self {
            dir,
            opts,
            binary,
            nodes: BTreeMap::new(),
            raft_ports: BTreeMap::new(),
        };
        for id in 1..=cluster.opts.voters {
            let p = free_ports(1)[0];
            cluster.raft_ports.insert(id, p);
        }
        for id in 1..=cluster.opts.voters {
            cluster.add_node(id, false);
        }
        for id in 1..=cluster.opts.voters {
            cluster.spawn(id);
        }
        cluster
    }

    /// Start 3 voters with default options and wait for a leader.
    pub fn three() -> Self {
        let c = Self::start(ClusterOptions::default());
        c.wait_for_leader(Duration::from_secs(30));
        c
    }

    /// The temp dir holding configs, data and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn add_node(&mut self, id: u32, learner: bool) {
        let ports = free_ports(2);
        let raft_port = *self
            .raft_ports
            .entry(id)
            .or_insert_with(|| free_ports(1)[0]);
        let data_dir = self.dir.path().join(format!("n{id}"));
        let config = self.dir.path().join(format!("n{id}.toml"));
        let log = self.dir.path().join(format!("n{id}.log"));
        let mut toml = String::new();
        let _ = writeln!(toml, "[node]");
        let _ = writeln!(toml, "api_addr = \"127.0.0.1:{}\"", ports[0]);
        let _ = writeln!(toml, "health_addr = \"127.0.0.1:{}\"", ports[1]);
        let labels = self
            .opts
            .labels
            .get(&id)
            .cloned()
            .unwrap_or_else(|| BTreeMap::from([("zone".to_string(), format!("z{id}"))]));
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
        let _ = writeln!(toml, "labels = {{ {} }}", labels.join(", "));
        for line in &self.opts.node_extra {
            let _ = writeln!(toml, "{line}");
        }
        let _ = writeln!(toml, "\n[cluster]\nnode_id = {id}");
        let _ = writeln!(toml, "listen_address = \"127.0.0.1:{raft_port}\"");
        let _ = writeln!(toml, "db_root_dir = {:?}", data_dir.to_string_lossy());
        let _ = writeln!(toml, "initial_cluster = [");
        for voter in 1..=self.opts.voters {
            let _ = writeln!(
                toml,
                "  {{ id = {voter}, address = \"127.0.0.1:{}\", role = 1, status = 3 }},",
                self.raft_ports[&voter]
            );
        }
        if learner {
            let mut learners = self.opts.learners.clone();
            if !learners.contains(&id) {
                learners.push(id);
            }
            for l in learners {
                let port = *self.raft_ports.entry(l).or_insert_with(|| free_ports(1)[0]);
                let _ = writeln!(
                    toml,
                    "  {{ id = {l}, address = \"127.0.0.1:{port}\", role = 4, status = 1 }},"
                );
            }
        }
        let _ = writeln!(toml, "]");
        let _ = writeln!(toml, "\n[raft]\ngeneral_raft_timeout_duration_in_ms = 3000");
        let (lo, hi) = self.opts.election_timeout_ms;
        let _ = writeln!(
            toml,
            "\n[raft.election]\nelection_timeout_min = {lo}\nelection_timeout_max = {hi}"
        );
        let _ = writeln!(
            toml,
            "\n[raft.read_consistency]\ndefault_policy = \"LeaseRead\"\nlease_duration_ms = {}",
            self.opts.lease_ms
        );
        let _ = writeln!(
            toml,
            "\n[retry.membership]\nbase_delay_ms = 200\nmax_delay_ms = 2000"
        );
        fs::write(&config, toml).expect("write node config");
        self.nodes.insert(
            id,
            NodeProc {
                id,
                api_port: ports[0],
                health_port: ports[1],
                raft_port,
                config,
                data_dir,
                log,
                child: None,
                paused: false,
            },
        );
    }

    fn spawn(&mut self, id: u32) {
        let binary = self.binary.clone();
        let filter = self.opts.log_filter.clone();
        let node = self.nodes.get_mut(&id).expect("known node");
        assert!(node.child.is_none(), "node {id} already running");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .expect("open node log");
        let log2 = log.try_clone().expect("clone log handle");
        let mut cmd = Command::new(&binary);
        cmd.arg("--config-path")
            .arg(&node.config)
            .env("RUST_LOG", filter)
            .env_remove("CONFIG_PATH")
            .env_remove("KV_ADMIN_TOKEN")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", binary.display()));
        node.child = Some(child);
        node.paused = false;
    }

    /// The node with `id`.
    pub fn node(&self, id: u32) -> &NodeProc {
        &self.nodes[&id]
    }

    /// All node ids (running or not).
    pub fn ids(&self) -> Vec<u32> {
        self.nodes.keys().copied().collect()
    }

    /// Ids of nodes with a running, unpaused process.
    pub fn live_ids(&self) -> Vec<u32> {
        self.nodes
            .values()
            .filter(|n| n.child.is_some() && !n.paused)
            .map(|n| n.id)
            .collect()
    }

    /// API URL of node `id`.
    pub fn api_url(&self, id: u32) -> String {
        self.nodes[&id].api_url()
    }

    /// API URLs of every node (seed list for clients).
    pub fn api_urls(&self) -> Vec<String> {
        self.nodes.values().map(|n| n.api_url()).collect()
    }

    /// SIGKILL node `id` and reap it.
    pub fn kill(&mut self, id: u32) {
        let node = self.nodes.get_mut(&id).expect("known node");
        if let Some(mut child) = node.child.take() {
            if node.paused {
                signal(child.id(), libc::SIGCONT);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        node.paused = false;
    }

    /// SIGSTOP node `id` (a frozen, "zombie" node).
    pub fn pause(&mut self, id: u32) {
        let node = self.nodes.get_mut(&id).expect("known node");
        if let Some(pid) = node.pid() {
            signal(pid, libc::SIGSTOP);
            node.paused = true;
        }
    }

    /// SIGCONT a paused node.
    pub fn resume(&mut self, id: u32) {
        let node = self.nodes.get_mut(&id).expect("known node");
        if let Some(pid) = node.pid() {
            signal(pid, libc::SIGCONT);
            node.paused = false;
        }
    }

    /// SIGTERM node `id` and wait up to `deadline` for it to exit; returns its status.
    pub fn stop(&mut self, id: u32, deadline: Duration) -> Option<ExitStatus> {
        let node = self.nodes.get_mut(&id).expect("known node");
        let mut child = node.child.take()?;
        signal(child.id(), libc::SIGTERM);
        let until = Instant::now() + deadline;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > until {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Start a stopped or killed node again, same ports and data.
    pub fn restart(&mut self, id: u32) {
        self.spawn(id);
    }

    /// Start node `id` as a learner joining the running cluster (config lists it with role 4).
    pub fn add_learner(&mut self, id: u32) {
        self.add_node(id, true);
        self.spawn(id);
    }

    /// GET `url` and parse JSON (any status); `None` on transport errors.
    pub fn get_json(url: &str) -> Option<(u16, Value)> {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(2))
            .build();
        match agent.get(url).call() {
            Ok(r) => {
                let status = r.status();
                r.into_json().ok().map(|v| (status, v))
            }
            Err(ureq::Error::Status(status, r)) => r.into_json().ok().map(|v| (status, v)),
            Err(_) => None,
        }
    }

    /// `/topology` of node `id`, if it answers.
    pub fn topology(&self, id: u32) -> Option<Value> {
        Self::get_json(&format!("{}/topology", self.api_url(id))).map(|(_, v)| v)
    }

    /// Leader that every node in `ids` reports, if they agree and list each other with published URLs.
    pub fn agreed_leader(&self, ids: &[u32]) -> Option<u32> {
        let mut agreed = None;
        for id in ids {
            let topo = self.topology(*id)?;
            let leader = topo["leader_id"].as_u64()? as u32;
            let members = topo["members"].as_array()?;
            // Every node in `ids` (and the leader) must be listed with its URL published.
            let published = |want: u32| {
                members
                    .iter()
                    .any(|m| m["id"] == want && m["api_url"].is_string())
            };
            if !published(leader)
                || !ids.iter().all(|i| published(*i))
                || agreed.is_some_and(|a| a != leader)
            {
                return None;
            }
            agreed = Some(leader);
        }
        agreed
    }

    /// Wait until every live node agrees on a leader; panics after `deadline`.
    pub fn wait_for_leader(&self, deadline: Duration) -> u32 {
        self.wait_for_leader_among(&self.live_ids(), deadline)
    }

    /// Wait until the nodes in `ids` agree on a leader; panics after `deadline`.
    pub fn wait_for_leader_among(&self, ids: &[u32], deadline: Duration) -> u32 {
        let leader = wait_until(deadline, || self.agreed_leader(ids));
        leader.unwrap_or_else(|| {
            panic!(
                "no agreed leader among {ids:?} within {deadline:?}\n{}",
                self.log_tails(40)
            )
        })
    }

    /// Async wrapper of [`Self::wait_for_leader`] that does not block the runtime.
    pub async fn wait_for_leader_async(&self, deadline: Duration) -> u32 {
        let until = Instant::now() + deadline;
        loop {
            if let Some(l) = self.agreed_leader(&self.live_ids()) {
                return l;
            }
            if Instant::now() > until {
                panic!(
                    "no agreed leader within {deadline:?}\n{}",
                    self.log_tails(40)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last `n` lines of every node's log, for failure messages.
    pub fn log_tails(&self, n: usize) -> String {
        let mut out = String::new();
        for node in self.nodes.values() {
            let _ = writeln!(
                out,
                "----- node {} log ({}) -----",
                node.id,
                node.log.display()
            );
            if let Ok(f) = fs::File::open(&node.log) {
                let lines: Vec<String> = BufReader::new(f).lines().map_while(Result::ok).collect();
                for l in lines.iter().skip(lines.len().saturating_sub(n)) {
                    let _ = writeln!(out, "{l}");
                }
            }
        }
        out
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

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_tails(40));
        }
        for node in self.nodes.values_mut() {
            if let Some(mut child) = node.child.take() {
                signal(child.id(), libc::SIGCONT);
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Where HAProxy is usually installed (Debian puts it in /usr/sbin).
pub fn haproxy_binary() -> Option<PathBuf> {
    [
        "/usr/sbin/haproxy",
        "/usr/bin/haproxy",
        "/usr/local/sbin/haproxy",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// The project's `config/haproxy.cfg` with its ports rewritten: the frontend
/// binds `frontend_port`, and node N's `127.0.0.1:808N` / `port 1000N` become
/// the given API and health ports. `nodes` is `(id, api_port, health_port)`.
pub fn haproxy_config(frontend_port: u16, nodes: &[(u32, u16, u16)]) -> Result<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/haproxy.cfg");
    let mut cfg = fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    cfg = cfg.replace(
        "bind 127.0.0.1:8080",
        &format!("bind 127.0.0.1:{frontend_port}"),
    );
    for (id, api, health) in nodes {
        cfg = cfg.replace(&format!("127.0.0.1:808{id} "), &format!("127.0.0.1:{api} "));
        cfg = cfg.replace(&format!("port 1000{id}"), &format!("port {health}"));
    }
    if cfg.contains(":808") || cfg.contains("port 1000") {
        return Err(format!(
            "{}: some server ports were not rewritten (expected nodes 1-3)",
            path.display()
        ));
    }
    Ok(cfg)
}
